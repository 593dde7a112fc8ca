//! What crosses the npm boundary as objects, through serde-wasm-bindgen:
//! the options objects of `signInUrl` and `resolveSsoRedirectUri` in, the
//! `{redirectUri}` / `{error}` object of `resolveSsoRedirectUri` out.
//!
//! Every option is kept as the caller's raw `JsValue`
//! (`serde_wasm_bindgen::preserve`): the SDK takes any value where a string
//! is expected and applies JS rules to it (truthiness, `String(value)`,
//! `undefined`/`null`/`""` as absent, arrays for connectors), which plain
//! serde data cannot express. (Typed fields with a raw fallback would not
//! do either: a type mismatch formats the value, through `JSON.stringify`
//! for objects, which runs the caller's getters.) mod.rs coerces each field
//! the SDK's way. A property get that throws (a getter, a revoked Proxy)
//! propagates, as it does from the SDK.
//! Results carry `JsString`s, so that what is returned or quoted is exactly
//! the caller's text, lone surrogates included.

use js_sys::{JsString, Object};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The global `Object(value)`: a primitive's wrapper object, whose
    /// properties are the ones a property get on the primitive finds.
    #[wasm_bindgen(js_name = Object)]
    fn to_object(value: &JsValue) -> JsValue;
}

/// The options object of `signInUrl`, the agent included: one property get
/// per field (as `options.field` reads it), each value kept as given (see
/// [`raw`]), `None` when the object has no such property.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SignInUrlInput {
    #[serde(default, deserialize_with = "raw")]
    pub agent: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub sign_in_origin: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub publishable_key: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub return_to: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub state: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub journey_id: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub display_name: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub agent_name: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub agent_logo: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub delivery: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub message_line_phone: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub agent_phone: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub message_body: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub message_complete_url: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub connectors: Option<JsValue>,
    #[serde(default, deserialize_with = "raw")]
    pub theme: Option<JsValue>,
}

impl SignInUrlInput {
    /// The fields of `options`; `None` for `undefined` and `null` (the
    /// caller's "agent handle is required"). A primitive's fields are the
    /// ones `primitive.field` finds; a function's, its own and inherited
    /// properties.
    pub fn read(options: JsValue) -> Result<Option<Self>, JsValue> {
        if options.is_undefined() || options.is_null() {
            return Ok(None);
        }
        let source = if options.is_object() {
            options
        } else if options.is_function() {
            inheriting_from(options)
        } else {
            to_object(&options)
        };
        Ok(Some(serde_wasm_bindgen::from_value(source)?))
    }
}

/// The input object of `resolveSsoRedirectUri`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct SsoInput {
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub redirect_uri: JsValue,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub app_url: JsValue,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub callback_path: JsValue,
}

impl SsoInput {
    /// The fields of an object or a function; anything else (`undefined`,
    /// `null`, primitives) has none, and the helper answers "no app URL or
    /// redirect URI configured".
    pub fn read(input: JsValue) -> Self {
        let source = if input.is_object() {
            input
        } else if input.is_function() {
            inheriting_from(input)
        } else {
            return Self::default();
        };
        // Raw values cannot fail to deserialize; were it to happen, the
        // input would read as empty, as an unreadable one always did.
        serde_wasm_bindgen::from_value(source).unwrap_or_default()
    }
}

/// A field as the caller set it, `undefined` and `null` included. A field
/// the object does not have is not deserialized at all (serde-wasm-bindgen
/// skips a property that reads `undefined` and is not `in` the object), so
/// with `#[serde(default)]` it is `None`, and costs no conversion.
fn raw<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<JsValue>, D::Error> {
    serde_wasm_bindgen::preserve::deserialize(deserializer).map(Some)
}

/// serde-wasm-bindgen reads structs from objects only (`typeof` "object"):
/// a function's properties are read through an object that inherits them.
fn inheriting_from(function: JsValue) -> JsValue {
    let prototype: &Object = function.unchecked_ref();
    Object::create(prototype).into()
}

/// What `resolveSsoRedirectUri` answers: `{redirectUri}` or `{error}`.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum SsoOutcome {
    Resolved(Resolved),
    Refused(Refused),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Resolved {
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub redirect_uri: JsString,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Refused {
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub error: JsString,
}

impl SsoOutcome {
    /// The plain object, `{redirectUri: string}` or `{error: string}`.
    pub fn into_object(self) -> Object {
        // Serializing one string field into a fresh object cannot fail.
        serde_wasm_bindgen::to_value(&self).unwrap_throw().unchecked_into()
    }
}
