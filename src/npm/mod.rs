//! The npm helpers' shell (wasm32, feature `js`): JavaScript values in, the
//! core's rules applied, JavaScript values out. JS-value semantics (truthiness,
//! `String(value)`, lone surrogates) are translated here; every rule about
//! URLs, handles and phones lives in the core modules. Options and result
//! objects cross the boundary through serde-wasm-bindgen (boundary.rs);
//! `signInUrl` has a faster path for string-only options (packed.rs).

use crate::sdk::agent::AgentHandle;
use crate::sdk::configure_error::ConfigureError;
use crate::sdk::phone::{self, PhoneError, E164_HINT};
use crate::sdk::redirect::{self, SsoRedirectError, UrlParts, NOT_A_URL_SUFFIX};
use crate::sdk::sign_in_url::{self, SignInUrlOptions, DEFAULT_SIGN_IN_ORIGIN, ORIGIN_NOT_ABSOLUTE};
use js_sys::{Array, JsString, Object, Reflect};
use wasm_bindgen::prelude::*;

mod boundary;
mod packed;
use boundary::{Refused, Resolved, SignInUrlInput, SsoInput, SsoOutcome};

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
/// `None` is a property the options object does not have.
fn param(value: Option<JsValue>) -> Option<String> {
    let value = value?;
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
fn aliased(first: Option<JsValue>, second: Option<JsValue>) -> Option<String> {
    match first {
        Some(first) if first.is_truthy() => param(Some(first)),
        _ => param(second),
    }
}

/// The SDK's `normalizeList`: arrays item by item (falsy items are empty),
/// strings as one item, anything else absent.
fn connector_items(value: Option<JsValue>) -> Vec<String> {
    let Some(value) = value else {
        return Vec::new();
    };
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
    if let Some(packed) = packed::pack_sign_in_options(&options) {
        if let Some(result) = packed::sign_in_url_packed(&packed) {
            return result;
        }
    }
    sign_in_url_of_object(options)
}

/// The general path of `signInUrl`: any options value, its fields read
/// through serde-wasm-bindgen and coerced as the SDK coerces them.
fn sign_in_url_of_object(options: JsValue) -> Result<String, JsValue> {
    let Some(input) = SignInUrlInput::read(options)? else {
        return Err(throw(ConfigureError::invalid_input(crate::sdk::agent::AGENT_REQUIRED)));
    };
    // `options.agent ?? ""`: null and undefined are the empty handle.
    let agent = agent_handle(&input.agent.unwrap_or_default())?;
    // `options.signInOrigin || default`, parsed by the runtime's URL.
    let origin = match input.sign_in_origin {
        Some(origin) if origin.is_truthy() => text_of(&origin),
        _ => DEFAULT_SIGN_IN_ORIGIN.to_owned(),
    };
    let base = base_url(&origin, &agent)?;
    let options = SignInUrlOptions {
        sign_in_origin: None,
        publishable_key: param(input.publishable_key),
        return_to: param(input.return_to),
        state: param(input.state),
        journey_id: param(input.journey_id),
        display_name: aliased(input.display_name, input.agent_name),
        agent_name: None,
        agent_logo: param(input.agent_logo),
        delivery: param(input.delivery),
        message_line_phone: aliased(input.message_line_phone, input.agent_phone),
        agent_phone: None,
        message_body: param(input.message_body),
        message_complete_url: param(input.message_complete_url),
        connectors: connector_items(input.connectors),
        theme: param(input.theme),
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

/// `resolveSsoRedirectUri(input)`: `{redirectUri}` or `{error}`, never thrown.
#[wasm_bindgen(js_name = resolveSsoRedirectUri, skip_typescript)]
pub fn resolve_sso_redirect_uri_js(input: JsValue) -> Object {
    let SsoInput { redirect_uri, app_url, callback_path } = SsoInput::read(input);
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
    let outcome = match outcome {
        Ok(raw) => SsoOutcome::Resolved(Resolved { redirect_uri: raw }),
        Err(SsoRedirectError::NotAUrl { .. }) => {
            let raw = raw.unwrap_or_else(|| JsString::from(""));
            let message = JsString::from("\"")
                .concat(&raw.into())
                .concat(&JsString::from(format!("\"{NOT_A_URL_SUFFIX}")).into());
            SsoOutcome::Refused(Refused { error: message })
        }
        Err(other) => SsoOutcome::Refused(Refused { error: JsString::from(other.message()) }),
    };
    outcome.into_object()
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
    fn both_paths_agree_on_string_options() {
        let shapes = [
            object(&[("agent", "my-agent".into())]),
            object(&[
                ("agent", "my-agent".into()),
                ("publishableKey", "pk_test_1".into()),
                ("delivery", "message".into()),
                ("displayName", "".into()),
                ("agentName", "Your Agent".into()),
                ("agentPhone", "+1 (415) 555-1234".into()),
                ("connectors", Array::of3(&"gmail".into(), &JsValue::NULL, &" calendar ".into()).into()),
            ]),
            object(&[
                ("agent", "ab".into()),
                ("signInOrigin", "HTTP://Example.COM:80/a?b#c".into()),
                ("returnTo", "https://app.example/cb?x=1".into()),
                ("state", "s t*~".into()),
                ("journeyId", JsValue::UNDEFINED),
                ("theme", JsValue::NULL),
                ("connectors", " notion ".into()),
            ]),
            object(&[("agent", "api".into())]),
            object(&[("agent", "ab".into()), ("signInOrigin", "nope".into())]),
        ];
        for options in shapes {
            assert!(packed::pack_sign_in_options(&options).is_some());
            let fast = sign_in_url_js(options.clone()).map_err(|e| error_parts(&e));
            let general = sign_in_url_of_object(options).map_err(|e| error_parts(&e));
            assert_eq!(fast, general);
        }
    }

    #[wasm_bindgen_test]
    fn missing_undefined_null_and_empty_options_are_absent() {
        let options = object(&[
            ("agent", "ab".into()),
            ("state", JsValue::UNDEFINED),
            ("returnTo", JsValue::NULL),
            ("journeyId", "".into()),
            ("displayName", JsValue::UNDEFINED),
            ("agentName", JsValue::NULL),
            ("connectors", JsValue::NULL),
        ]);
        assert_eq!(sign_in_url_of_object(options).unwrap(), "https://sign-in.me/ab");
    }

    #[wasm_bindgen_test]
    fn sign_in_url_reads_inherited_function_and_primitive_options() {
        // Inherited properties are read, as `options.state` reads them.
        let prototype = object(&[("agent", "ab".into()), ("state", "s".into())]);
        let options = Object::create(prototype.unchecked_ref::<Object>());
        Reflect::set(&options, &"theme".into(), &"dark".into()).unwrap();
        assert_eq!(sign_in_url_js(options.into()).unwrap(), "https://sign-in.me/ab?state=s&theme=dark");
        // A function's properties too.
        let function = js_sys::Function::new_no_args("");
        Reflect::set(&function, &"agent".into(), &"ab".into()).unwrap();
        Reflect::set(&function, &"state".into(), &JsValue::from(7)).unwrap();
        assert_eq!(sign_in_url_js(function.into()).unwrap(), "https://sign-in.me/ab?state=7");
        // A primitive has no agent.
        for options in [JsValue::from("ab"), JsValue::from(5), JsValue::TRUE] {
            assert_eq!(error_parts(&sign_in_url_js(options).unwrap_err()).2, "agent handle is required");
        }
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
        assert_eq!(Object::keys(&ok).to_vec(), vec![JsValue::from("redirectUri")]);
        assert_eq!(
            Reflect::get(&ok, &"redirectUri".into()).unwrap().as_string().unwrap(),
            "https://a.example/auth/configure/callback"
        );
        let bad = resolve_sso_redirect_uri_js(object(&[("redirectUri", "x y".into())]));
        assert_eq!(Object::keys(&bad).to_vec(), vec![JsValue::from("error")]);
        assert_eq!(
            Reflect::get(&bad, &"error".into()).unwrap().as_string().unwrap(),
            "\"x y\" is not a valid URL"
        );
    }

    #[wasm_bindgen_test]
    fn resolve_sso_redirect_uri_reads_what_it_can() {
        let error = |input: JsValue| {
            let answer = resolve_sso_redirect_uri_js(input);
            Reflect::get(&answer, &"error".into()).unwrap().as_string()
        };
        let none = Some("no app URL or redirect URI configured".to_owned());
        for input in [JsValue::UNDEFINED, JsValue::NULL, JsValue::from("https://a.example"), JsValue::from(1)]
        {
            assert_eq!(error(input), none);
        }
        assert_eq!(error(object(&[("redirectUri", JsValue::NULL), ("appUrl", "".into())])), none);
        // A given but falsy redirectUri wins over appUrl, and is "none".
        assert_eq!(
            error(object(&[("redirectUri", "".into()), ("appUrl", "https://a.example".into())])),
            none
        );
        let function = js_sys::Function::new_no_args("");
        Reflect::set(&function, &"appUrl".into(), &"http://localhost:3000//".into()).unwrap();
        Reflect::set(&function, &"callbackPath".into(), &"/cb".into()).unwrap();
        let ok = resolve_sso_redirect_uri_js(function.into());
        assert_eq!(
            Reflect::get(&ok, &"redirectUri".into()).unwrap().as_string().unwrap(),
            "http://localhost:3000/cb"
        );
    }

    #[wasm_bindgen_test]
    fn resolve_sso_redirect_uri_keeps_lone_surrogates() {
        let raw = JsString::from("https://a.example/").concat(&JsString::from_char_code(&[0xD800]).into());
        let answer = resolve_sso_redirect_uri_js(object(&[("redirectUri", raw.clone().into())]));
        let uri: JsString = Reflect::get(&answer, &"redirectUri".into()).unwrap().unchecked_into();
        assert_eq!(uri.iter().collect::<Vec<u16>>(), raw.iter().collect::<Vec<u16>>());
        let raw = JsString::from_char_code(&[0x61, 0xDFFF]);
        let answer = resolve_sso_redirect_uri_js(object(&[("redirectUri", raw.into())]));
        let error: JsString = Reflect::get(&answer, &"error".into()).unwrap().unchecked_into();
        let expected = JsString::from("\"a")
            .concat(&JsString::from_char_code(&[0xDFFF]).into())
            .concat(&JsString::from("\" is not a valid URL").into());
        assert_eq!(error.iter().collect::<Vec<u16>>(), expected.iter().collect::<Vec<u16>>());
    }
}
