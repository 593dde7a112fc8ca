//! Typed reads of a parsed JSON object's fields, for the records the Worker
//! itself wrote (KV records, the session cookie's payload).
//!
//! Why not serde's derived `Deserialize`: its error paths format the
//! unexpected value, floats included, which pulled float formatting and the
//! typed-deserializer machinery into the Worker's wasm (about 25 KB gzip).
//! Reading a `serde_json::Value` by hand keeps the same rules: unknown
//! fields are ignored, a missing or mistyped required field rejects the
//! whole record, an optional field may be missing or null.

use serde_json::{Map, Value};

/// The fields of one JSON object.
#[derive(Clone, Copy)]
pub struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// The object's fields; None when `value` is not an object.
    pub fn of(value: &'a Value) -> Option<Fields<'a>> {
        value.as_object().map(Fields)
    }

    /// A required string.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name)?.as_str().map(str::to_owned)
    }

    /// A required non-negative integer.
    pub fn number(&self, name: &str) -> Option<u64> {
        self.0.get(name)?.as_u64()
    }

    /// A required boolean.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.0.get(name)?.as_bool()
    }

    /// A required object.
    pub fn object(&self, name: &str) -> Option<Fields<'a>> {
        Fields::of(self.0.get(name)?)
    }

    /// An optional string: `Some(None)` when missing or null, `None` (the
    /// record is invalid) when present with another type.
    pub fn optional_text(&self, name: &str) -> Option<Option<String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(text)) => Some(Some(text.clone())),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_by_type_and_rejects_mistyped_fields() {
        let value = json!({"s": "x", "n": 7, "f": 1.5, "neg": -1, "b": true, "o": {"s": "y"}, "null": null});
        let fields = Fields::of(&value).unwrap();
        assert_eq!(fields.text("s").as_deref(), Some("x"));
        assert_eq!(fields.text("n"), None);
        assert_eq!(fields.text("missing"), None);
        assert_eq!(fields.number("n"), Some(7));
        assert_eq!(fields.number("f"), None);
        assert_eq!(fields.number("neg"), None);
        assert_eq!(fields.flag("b"), Some(true));
        assert_eq!(fields.flag("s"), None);
        assert_eq!(fields.object("o").and_then(|o| o.text("s")).as_deref(), Some("y"));
        assert!(fields.object("s").is_none());
        assert_eq!(fields.optional_text("s"), Some(Some("x".to_owned())));
        assert_eq!(fields.optional_text("missing"), Some(None));
        assert_eq!(fields.optional_text("null"), Some(None));
        assert_eq!(fields.optional_text("n"), None);
        assert!(Fields::of(&json!([1])).is_none());
    }
}
