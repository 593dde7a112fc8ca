//! The npm helpers' shell (wasm32, feature `js`): JavaScript values in, the
//! core's rules applied, JavaScript values out. JS-value semantics (truthiness,
//! `String(value)`, lone surrogates) are translated here; every rule about
//! URLs, handles and phones lives in the core modules.

use crate::sdk::agent::AgentHandle;
use crate::sdk::configure_error::ConfigureError;
use crate::sdk::phone::{self, PhoneError, E164_HINT};
use crate::sdk::redirect::{self, SsoRedirectError, UrlParts, NOT_A_URL_SUFFIX};
use crate::sdk::sign_in_url::{self, SignInUrlOptions, DEFAULT_SIGN_IN_ORIGIN, ORIGIN_NOT_ABSOLUTE};
use js_sys::{Array, JsString, Object, Reflect};
use wasm_bindgen::prelude::*;

// The fast path of `signInUrl`: when every option is a string (or absent)
// and connectors are strings, the options cross the wasm boundary as one
// string, fields separated by U+0000, instead of one call per property.
// For string options the SDK treats "" exactly like an absent value, so
// absent is sent as "". Connectors: "" (absent), the string itself, or
// U+0002 then the items separated by U+0001. Anything else (numbers,
// objects, separators inside values) takes the general path below, so the
// result is the same either way.
#[wasm_bindgen(inline_js = r#"
export function pack_sign_in_options(o) {
  if (o === null || typeof o !== "object") return undefined;
  const v = [o.agent, o.signInOrigin, o.publishableKey, o.returnTo, o.state, o.journeyId, o.displayName,
    o.agentName, o.agentLogo, o.delivery, o.messageLinePhone, o.agentPhone, o.messageBody, o.messageCompleteUrl, o.theme];
  for (let i = 0; i < 15; i++) {
    const x = v[i];
    if (x === undefined || x === null) v[i] = "";
    else if (typeof x !== "string") return undefined;
  }
  const c = o.connectors;
  if (c === undefined || c === null) v.push("");
  else if (Array.isArray(c)) {
    const items = new Array(c.length);
    for (let i = 0; i < c.length; i++) {
      const x = c[i];
      if (typeof x === "string") {
        if (x.includes("\u0001")) return undefined;
        items[i] = x;
      } else if (x === undefined || x === null) items[i] = "";
      else return undefined;
    }
    v.push("\u0002" + items.join("\u0001"));
  } else if (typeof c === "string") {
    if (c.charCodeAt(0) === 2) return undefined;
    v.push(c);
  } else v.push("");
  return v.join("\u0000");
}
"#)]
extern "C" {
    fn pack_sign_in_options(options: &JsValue) -> Option<String>;
}

/// The SDK's rules on string-only options, from the packed form: "" is
/// absent; aliases take the first non-empty; a connectors string is a
/// one-item list. `None` when the packing does not have 16 fields (a value
/// held a separator): the caller takes the general path.
fn sign_in_url_packed(packed: &str) -> Option<Result<String, JsValue>> {
    let fields: Vec<&str> = packed.split('\0').collect();
    if fields.len() != 16 {
        return None;
    }
    let text = |i: usize| Some(fields[i].to_owned()).filter(|s| !s.is_empty());
    let agent = match AgentHandle::parse(fields[0]) {
        Ok(agent) => agent,
        Err(error) => return Some(Err(throw(error))),
    };
    let origin = if fields[1].is_empty() { DEFAULT_SIGN_IN_ORIGIN } else { fields[1] };
    let base = match base_url(origin, &agent) {
        Ok(base) => base,
        Err(error) => return Some(Err(error)),
    };
    let connectors = match fields[15].strip_prefix('\u{2}') {
        Some(items) => items.split('\u{1}').map(str::to_owned).collect(),
        None if fields[15].is_empty() => Vec::new(),
        None => vec![fields[15].to_owned()],
    };
    let options = SignInUrlOptions {
        sign_in_origin: None,
        publishable_key: text(2),
        return_to: text(3),
        state: text(4),
        journey_id: text(5),
        display_name: text(6).or_else(|| text(7)),
        agent_name: None,
        agent_logo: text(8),
        delivery: text(9),
        message_line_phone: text(10).or_else(|| text(11)),
        agent_phone: None,
        message_body: text(12),
        message_complete_url: text(13),
        connectors,
        theme: text(14),
    };
    Some(Ok(sign_in_url::with_query(&base, &sign_in_url::query_string(&options))))
}

#[wasm_bindgen]
extern "C" {
    /// The global `String(value)`: JS's own stringification (numbers,
    /// symbols, objects with `toString`), exactly as the SDK applies it.
    #[wasm_bindgen(js_name = String)]
    fn js_string(value: &JsValue) -> JsString;

    /// The runtime's WHATWG `URL`: the parser the SDK uses wherever it runs
    /// (Node's, a browser's, workerd's), so origins and redirect URIs parse
    /// here exactly as they do there, IDNA and all.
    #[wasm_bindgen(js_name = URL)]
    type JsUrl;
    #[wasm_bindgen(constructor, js_class = "URL", catch)]
    fn new(input: &JsValue) -> Result<JsUrl, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn href(this: &JsUrl) -> String;
    #[wasm_bindgen(method, setter)]
    fn set_pathname(this: &JsUrl, value: &str);
    #[wasm_bindgen(method, setter)]
    fn set_search(this: &JsUrl, value: &str);
    #[wasm_bindgen(method, setter)]
    fn set_hash(this: &JsUrl, value: &str);
    #[wasm_bindgen(method, getter)]
    fn protocol(this: &JsUrl) -> String;
    #[wasm_bindgen(method, getter)]
    fn hostname(this: &JsUrl) -> String;
    #[wasm_bindgen(method, getter)]
    fn hash(this: &JsUrl) -> String;
    #[wasm_bindgen(method, getter)]
    fn username(this: &JsUrl) -> String;
    #[wasm_bindgen(method, getter)]
    fn password(this: &JsUrl) -> String;

    /// The options object of `signInUrl`, read through plain property gets.
    type SignInUrlInput;
    #[wasm_bindgen(method, getter, structural)]
    fn agent(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = signInOrigin)]
    fn sign_in_origin(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = publishableKey)]
    fn publishable_key(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = returnTo)]
    fn return_to(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural)]
    fn state(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = journeyId)]
    fn journey_id(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = displayName)]
    fn display_name(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = agentName)]
    fn agent_name(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = agentLogo)]
    fn agent_logo(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural)]
    fn delivery(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = messageLinePhone)]
    fn message_line_phone(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = agentPhone)]
    fn agent_phone(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = messageBody)]
    fn message_body(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural, js_name = messageCompleteUrl)]
    fn message_complete_url(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural)]
    fn connectors(this: &SignInUrlInput) -> JsValue;
    #[wasm_bindgen(method, getter, structural)]
    fn theme(this: &SignInUrlInput) -> JsValue;
}

/// A thrown `Error` shaped like the SDK's `ConfigureError`: `name`, `code`,
/// `message`, and `statusCode` (undefined for local validation).
fn configure_error(code: &str, message: &JsValue) -> JsValue {
    let error = js_sys::Error::new("");
    error.set_name("ConfigureError");
    // Setting properties on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &"message".into(), message);
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    let _ = Reflect::set(&error, &"statusCode".into(), &JsValue::UNDEFINED);
    error.into()
}

fn throw(err: ConfigureError) -> JsValue {
    configure_error(err.code.as_str(), &JsValue::from_str(&err.message))
}

/// `String(value)` as a Rust string (lone surrogates become U+FFFD, which is
/// what URL serialization does with them anyway).
fn text_of(value: &JsValue) -> String {
    match value.as_string() {
        Some(text) => text,
        None => String::from(js_string(value)),
    }
}

/// The SDK's `appendSearchParam` rule: absent when undefined, null or the
/// empty string (checked before stringifying); otherwise `String(value)`.
fn param(value: JsValue) -> Option<String> {
    // Strings first (one conversion): the common case.
    if let Some(text) = value.as_string() {
        return (!text.is_empty()).then_some(text);
    }
    if value.is_undefined() || value.is_null() {
        None
    } else {
        Some(String::from(js_string(&value)))
    }
}

/// `first || second`, then the absent rule: JS truthiness picks the value.
fn aliased(first: JsValue, second: JsValue) -> Option<String> {
    if first.is_truthy() {
        param(first)
    } else {
        param(second)
    }
}

/// The SDK's `normalizeList`: arrays item by item (falsy items are empty),
/// strings as one item, anything else absent.
fn connector_items(value: JsValue) -> Vec<String> {
    if Array::is_array(&value) {
        Array::from(&value)
            .iter()
            .map(|item| if item.is_truthy() { text_of(&item) } else { String::new() })
            .collect()
    } else if let Some(text) = value.as_string() {
        vec![text]
    } else {
        Vec::new()
    }
}

/// Validates an agent the way `new Configure({agent})` does: falsy is
/// missing; the shape is checked on `String(agent)`; only strings can be
/// reserved.
fn agent_handle(agent: &JsValue) -> Result<AgentHandle, JsValue> {
    if agent.is_falsy() {
        return AgentHandle::parse("").map_err(throw);
    }
    match agent.as_string() {
        Some(text) => AgentHandle::parse(&text),
        // A truthy non-string (`[]`, `{}`) is never "missing", even when it
        // stringifies to "": the SDK tests its shape.
        None => match text_of(agent) {
            text if text.is_empty() => Err(ConfigureError::invalid_input(crate::sdk::agent::AGENT_PATTERN)),
            text => AgentHandle::parse_unreserved(&text),
        },
    }
    .map_err(throw)
}

/// `signInUrl(options)`: the SDK's `new Configure({agent}).auth.signInUrl(options)`.
#[wasm_bindgen(js_name = signInUrl, skip_typescript)]
pub fn sign_in_url_js(options: JsValue) -> Result<String, JsValue> {
    if let Some(packed) = pack_sign_in_options(&options) {
        if let Some(result) = sign_in_url_packed(&packed) {
            return result;
        }
    }
    if options.is_undefined() || options.is_null() {
        return Err(throw(ConfigureError::invalid_input(crate::sdk::agent::AGENT_REQUIRED)));
    }
    let input: SignInUrlInput = options.unchecked_into();
    let agent = input.agent();
    // `options.agent ?? ""`: null and undefined are the empty handle.
    let agent = agent_handle(&agent)?;
    // `options.signInOrigin || default`, parsed by the runtime's URL.
    let origin = input.sign_in_origin();
    let origin = if origin.is_truthy() { text_of(&origin) } else { DEFAULT_SIGN_IN_ORIGIN.to_owned() };
    let base = base_url(&origin, &agent)?;
    let options = SignInUrlOptions {
        sign_in_origin: None,
        publishable_key: param(input.publishable_key()),
        return_to: param(input.return_to()),
        state: param(input.state()),
        journey_id: param(input.journey_id()),
        display_name: aliased(input.display_name(), input.agent_name()),
        agent_name: None,
        agent_logo: param(input.agent_logo()),
        delivery: param(input.delivery()),
        message_line_phone: aliased(input.message_line_phone(), input.agent_phone()),
        agent_phone: None,
        message_body: param(input.message_body()),
        message_complete_url: param(input.message_complete_url()),
        connectors: connector_items(input.connectors()),
        theme: param(input.theme()),
    };
    Ok(sign_in_url::with_query(&base, &sign_in_url::query_string(&options)))
}

thread_local! {
    /// The last origin and agent and their base URL: most callers build many
    /// URLs for one origin and agent, and parsing the origin with the
    /// runtime's URL is the costliest step.
    static LAST_BASE: std::cell::RefCell<Option<(String, String, String)>> = const { std::cell::RefCell::new(None) };
}

/// The origin with its path set to the agent and its query and fragment
/// cleared, as the SDK's `URL` setters leave it (`new URL(String(origin))`
/// is `new URL(origin)`: the constructor stringifies).
fn base_url(origin: &str, agent: &AgentHandle) -> Result<String, JsValue> {
    let cached = LAST_BASE.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(o, a, _)| o == origin && a == agent.as_str())
            .map(|(_, _, base)| base.clone())
    });
    if let Some(base) = cached {
        return Ok(base);
    }
    let url = JsUrl::new(&JsValue::from_str(origin))
        .map_err(|_| throw(ConfigureError::invalid_input(ORIGIN_NOT_ABSOLUTE)))?;
    url.set_pathname(&sign_in_url::agent_path(agent));
    url.set_search("");
    url.set_hash("");
    let base = url.href();
    LAST_BASE
        .with(|last| *last.borrow_mut() = Some((origin.to_owned(), agent.as_str().to_owned(), base.clone())));
    Ok(base)
}

/// `validateAgentHandle(agent)`: the handle as given, or the SDK's error.
#[wasm_bindgen(js_name = validateAgentHandle, skip_typescript)]
pub fn validate_agent_handle_js(agent: JsValue) -> Result<JsValue, JsValue> {
    agent_handle(&agent)?;
    Ok(agent)
}

/// `normalizePhoneCandidates(value)`: the list the SDK's recognizePhone sends.
#[wasm_bindgen(js_name = normalizePhoneCandidates, skip_typescript)]
pub fn normalize_phone_candidates_js(value: JsValue) -> Array {
    let items: Vec<JsValue> = if Array::is_array(&value) {
        Array::from(&value).iter().collect()
    } else if value.is_truthy() {
        vec![value]
    } else {
        Vec::new()
    };
    let strings: Vec<JsString> = items
        .iter()
        .map(|item| if item.is_truthy() { js_string(item) } else { JsString::from("") })
        .collect();
    let out = Array::new();
    if strings.iter().all(JsString::is_valid_utf16) {
        let texts: Vec<String> = strings.iter().map(String::from).collect();
        for candidate in phone::normalize_candidates(&texts) {
            out.push(&JsValue::from_str(&candidate));
        }
    } else {
        // Lone surrogates: work on code units and slice the originals, so
        // the strings come back exactly as JS would keep them.
        let units: Vec<Vec<u16>> = strings.iter().map(|s| s.iter().collect()).collect();
        for (index, range) in phone::normalize_candidates_utf16(&units) {
            out.push(&strings[index].slice(range.start as u32, range.end as u32));
        }
    }
    out
}

/// `validatePhone(phone)`: the E.164 form, or the SDK's error quoting the
/// input exactly as given.
#[wasm_bindgen(js_name = validatePhone, skip_typescript)]
pub fn validate_phone_js(phone: JsValue) -> Result<String, JsValue> {
    if phone.is_falsy() {
        return Err(throw(PhoneError::Required.to_configure_error("")));
    }
    let original = js_string(&phone);
    match phone::normalize_e164(&String::from(&original)) {
        Ok(normalized) => Ok(normalized),
        Err(PhoneError::Required) => Err(throw(PhoneError::Required.to_configure_error(""))),
        Err(PhoneError::NotE164) => {
            let message = JsString::from("Invalid phone number \"")
                .concat(&original)
                .concat(&JsString::from(format!("\". {E164_HINT}")).into());
            Err(configure_error("INVALID_INPUT", &message.into()))
        }
    }
}

fn field(input: &JsValue, name: &str) -> JsValue {
    if input.is_undefined() || input.is_null() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(input, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `resolveSsoRedirectUri(input)`: `{redirectUri}` or `{error}`, never thrown.
#[wasm_bindgen(js_name = resolveSsoRedirectUri, skip_typescript)]
pub fn resolve_sso_redirect_uri_js(input: JsValue) -> Object {
    let redirect_uri = field(&input, "redirectUri");
    let app_url = field(&input, "appUrl");
    let callback_path = field(&input, "callbackPath");
    let given = |value: &JsValue| !(value.is_undefined() || value.is_null());

    // The candidate as a JS string, so that what is returned or quoted is
    // exactly the caller's text (lone surrogates included).
    let raw: Option<JsString> = if given(&redirect_uri) {
        // `redirectUri ?? ...` keeps any given value; a falsy one is "none".
        redirect_uri.is_truthy().then(|| js_string(&redirect_uri))
    } else if app_url.is_truthy() {
        let app = js_string(&app_url);
        let app_text = String::from(&app);
        // U+FFFD stands in for a lone surrogate unit for unit, so UTF-16
        // lengths measured on the Rust copy hold for the original.
        let kept = app_text.trim_end_matches('/').encode_utf16().count();
        let path = if given(&callback_path) {
            js_string(&callback_path)
        } else {
            JsString::from(redirect::DEFAULT_SSO_CALLBACK_PATH)
        };
        Some(app.slice(0, kept as u32).concat(&path.into()))
    } else {
        None
    };

    let result = Object::new();
    let outcome = match &raw {
        Some(raw) if raw.length() > 0 => match JsUrl::new(raw) {
            Ok(url) => {
                let parts = UrlParts {
                    protocol: url.protocol(),
                    hostname: url.hostname(),
                    has_fragment: !url.hash().is_empty(),
                    has_credentials: !url.username().is_empty() || !url.password().is_empty(),
                };
                redirect::check_parts(&String::from(raw), &parts).map(|()| raw.clone())
            }
            Err(_) => Err(SsoRedirectError::NotAUrl { raw: String::new() }),
        },
        _ => Err(SsoRedirectError::NotConfigured),
    };
    let _ = match outcome {
        Ok(raw) => Reflect::set(&result, &"redirectUri".into(), &raw.into()),
        Err(SsoRedirectError::NotAUrl { .. }) => {
            let raw = raw.unwrap_or_else(|| JsString::from(""));
            let message = JsString::from("\"")
                .concat(&raw.into())
                .concat(&JsString::from(format!("\"{NOT_A_URL_SUFFIX}")).into());
            Reflect::set(&result, &"error".into(), &message.into())
        }
        Err(other) => Reflect::set(&result, &"error".into(), &other.message().into()),
    };
    result
}

#[cfg(test)]
mod tests {
    //! Run in Node by `cargo test --target wasm32-unknown-unknown --features js`.
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn object(pairs: &[(&str, JsValue)]) -> JsValue {
        let object = Object::new();
        for (key, value) in pairs {
            Reflect::set(&object, &(*key).into(), value).unwrap();
        }
        object.into()
    }

    fn error_parts(error: &JsValue) -> (String, String, String) {
        let get = |name: &str| Reflect::get(error, &name.into()).unwrap().as_string().unwrap_or_default();
        (get("name"), get("code"), get("message"))
    }

    #[wasm_bindgen_test]
    fn sign_in_url_reads_js_options() {
        let connectors = Array::of3(&" gmail ".into(), &JsValue::NULL, &"calendar".into());
        let options = object(&[
            ("agent", "my-agent".into()),
            ("publishableKey", "pk_1".into()),
            ("displayName", JsValue::from(0)),
            ("agentName", "Bot".into()),
            ("state", JsValue::from(42)),
            ("connectors", connectors.into()),
            ("theme", JsValue::from(false)),
        ]);
        assert_eq!(
            sign_in_url_js(options).unwrap(),
            "https://sign-in.me/my-agent?pk=pk_1&state=42&agent_name=Bot&connectors=gmail%2Ccalendar&theme=false"
        );
    }

    #[wasm_bindgen_test]
    fn sign_in_url_throws_configure_errors() {
        let error = sign_in_url_js(object(&[("agent", "api".into())])).unwrap_err();
        assert!(error.is_instance_of::<js_sys::Error>());
        assert_eq!(
            error_parts(&error),
            ("ConfigureError".into(), "INVALID_INPUT".into(), "agent handle \"api\" is reserved".into())
        );
        let error = sign_in_url_js(JsValue::UNDEFINED).unwrap_err();
        assert_eq!(error_parts(&error).2, "agent handle is required");
        let error =
            sign_in_url_js(object(&[("agent", "ab".into()), ("signInOrigin", "nope".into())])).unwrap_err();
        assert_eq!(error_parts(&error).2, "signInOrigin must be an absolute URL");
    }

    #[wasm_bindgen_test]
    fn validate_agent_handle_returns_the_value() {
        assert_eq!(validate_agent_handle_js("ab".into()).unwrap().as_string().unwrap(), "ab");
        let error = validate_agent_handle_js("A".into()).unwrap_err();
        assert_eq!(error_parts(&error).1, "INVALID_INPUT");
    }

    #[wasm_bindgen_test]
    fn phone_candidates_keep_lone_surrogates() {
        let lone = JsString::from_char_code(&[0x20, 0xD800, 0x20]);
        let list = Array::of4(&lone.clone().into(), &" +1 ".into(), &"+1".into(), &JsValue::from(5));
        let out = normalize_phone_candidates_js(list.into());
        assert_eq!(out.length(), 3);
        let first: JsString = out.get(0).unchecked_into();
        assert_eq!(first.iter().collect::<Vec<u16>>(), vec![0xD800]);
        assert_eq!(out.get(1).as_string().unwrap(), "+1");
        assert_eq!(out.get(2).as_string().unwrap(), "5");
        assert_eq!(normalize_phone_candidates_js(JsValue::NULL).length(), 0);
    }

    #[wasm_bindgen_test]
    fn validate_phone_quotes_the_input() {
        assert_eq!(validate_phone_js("(415) 555-1234".into()).unwrap(), "+4155551234");
        let error = validate_phone_js("12".into()).unwrap_err();
        assert_eq!(
            error_parts(&error).2,
            "Invalid phone number \"12\". Must be in E.164 format (e.g., \"+14155551234\")."
        );
        assert_eq!(error_parts(&validate_phone_js("".into()).unwrap_err()).2, "phone is required");
    }

    #[wasm_bindgen_test]
    fn resolve_sso_redirect_uri_answers_objects() {
        let ok = resolve_sso_redirect_uri_js(object(&[("appUrl", "https://a.example/".into())]));
        assert_eq!(
            Reflect::get(&ok, &"redirectUri".into()).unwrap().as_string().unwrap(),
            "https://a.example/auth/configure/callback"
        );
        let bad = resolve_sso_redirect_uri_js(object(&[("redirectUri", "x y".into())]));
        assert_eq!(
            Reflect::get(&bad, &"error".into()).unwrap().as_string().unwrap(),
            "\"x y\" is not a valid URL"
        );
    }
}
