//! Reading request bodies and fields: JSON only (415), capped (413),
//! malformed or missing fields are 400 naming the field.

use crate::error::EdgeError;
use crate::http::HttpRequest;
use serde_json::{Map, Value};

/// The longest subject the agent API takes, in a body or a link path.
pub const MAX_SUBJECT_LEN: usize = 1024;

/// A JSON object body, or the error for it. `limit` is in bytes.
pub fn json_object(request: &HttpRequest, limit: usize) -> Result<Map<String, Value>, EdgeError> {
    let content_type = request.header("content-type").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(EdgeError::UnsupportedMediaType);
    }
    let declared = request.header("content-length").and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) || request.body.len() > limit {
        return Err(EdgeError::PayloadTooLarge { limit });
    }
    // serde_json refuses nesting deeper than 128 levels: a deeply nested body
    // is a 400 like any other malformed one, never a stack overflow.
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(EdgeError::malformed("The body must be a JSON object.")),
        Err(_) => Err(EdgeError::malformed("The body is not valid JSON.")),
    }
}

/// A required, non-blank string field of at most `max_len` bytes.
pub fn required_string(
    object: &Map<String, Value>,
    field: &str,
    max_len: usize,
) -> Result<String, EdgeError> {
    optional_string(object, field, max_len)?
        .ok_or_else(|| EdgeError::bad_request(field, format!("{field} is required")))
}

/// An optional string field: absent, null or blank is `None`; another type
/// or an over-long value is a 400.
pub fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    max_len: usize,
) -> Result<Option<String>, EdgeError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let trimmed = crate::sdk::js_text::trim(text);
            if trimmed.is_empty() {
                Ok(None)
            } else if trimmed.len() > max_len {
                Err(EdgeError::bad_request(field, format!("{field} must be at most {max_len} bytes")))
            } else {
                Ok(Some(trimmed.to_owned()))
            }
        }
        Some(_) => Err(EdgeError::bad_request(field, format!("{field} must be a string"))),
    }
}

/// An optional boolean field (absent or null is `false`).
pub fn optional_bool(object: &Map<String, Value>, field: &str) -> Result<bool, EdgeError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(EdgeError::bad_request(field, format!("{field} must be true or false"))),
    }
}

/// An optional list of strings (a single string is a list of one), at most
/// `max_items` items of at most `max_len` bytes each.
pub fn optional_string_list(
    object: &Map<String, Value>,
    field: &str,
    max_items: usize,
    max_len: usize,
) -> Result<Vec<String>, EdgeError> {
    let items: Vec<&Value> = match object.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::String(_)) => vec![single],
        Some(_) => return Err(EdgeError::bad_request(field, format!("{field} must be a list of strings"))),
    };
    if items.len() > max_items {
        return Err(EdgeError::bad_request(field, format!("{field} must have at most {max_items} items")));
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::String(text) if text.len() <= max_len => Ok(text.clone()),
            Value::String(_) => {
                Err(EdgeError::bad_request(field, format!("{field} items must be at most {max_len} bytes")))
            }
            _ => Err(EdgeError::bad_request(field, format!("{field} must be a list of strings"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(content_type: &str, body: &str) -> HttpRequest {
        HttpRequest::new("POST", "http://h/x")
            .unwrap()
            .with_header("content-type", content_type)
            .with_body(body)
    }

    #[test]
    fn content_type_size_and_shape() {
        assert!(json_object(&post("application/json; charset=utf-8", "{}"), 10).is_ok());
        assert_eq!(json_object(&post("text/plain", "{}"), 10), Err(EdgeError::UnsupportedMediaType));
        assert_eq!(
            json_object(&post("application/json", "{\"a\":\"0123456789\"}"), 10),
            Err(EdgeError::PayloadTooLarge { limit: 10 })
        );
        assert_eq!(json_object(&post("application/json", "[1]"), 10).unwrap_err().status(), 400);
        assert_eq!(json_object(&post("application/json", "{"), 10).unwrap_err().status(), 400);
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        assert_eq!(json_object(&post("application/json", &deep), 100_000).unwrap_err().status(), 400);
    }

    #[test]
    fn fields_name_themselves() {
        let object: Map<String, Value> =
            serde_json::from_str(r#"{"a":" x ","b":5,"c":"  ","d":["p",1],"e":"one"}"#).unwrap();
        assert_eq!(required_string(&object, "a", 10).unwrap(), "x");
        let EdgeError::BadRequest { field, .. } = required_string(&object, "b", 10).unwrap_err() else {
            panic!()
        };
        assert_eq!(field.as_deref(), Some("b"));
        assert_eq!(
            required_string(&object, "c", 10).unwrap_err(),
            EdgeError::bad_request("c", "c is required")
        );
        assert!(required_string(&object, "a", 0).is_err());
        assert!(optional_string_list(&object, "d", 5, 10).is_err());
        assert_eq!(optional_string_list(&object, "e", 5, 10).unwrap(), vec!["one"]);
        assert!(optional_bool(&object, "a").is_err());
        assert!(!optional_bool(&object, "zz").unwrap());
    }
}
