//! Lenient field decoders shared by the models.
//!
//! Servers differ in JSON types for the same field: Sylabs sends IDs as hex strings,
//! Hinkskalle as decimal strings or numbers; Hinkskalle sends `null` where Go emits zero
//! values (e.g. `size` before upload). One strict type per field would reject half of them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Text from a string, number or bool; `null` → empty.
fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// An opaque ID or any scalar text field.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(text(Value::deserialize(d)?))
}

/// Optional scalar text; `null` and `""` → `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = text(Value::deserialize(d)?);
    Ok((!s.is_empty()).then_some(s))
}

/// A list of IDs/strings; `null` or a non-list → empty.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .map(text)
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    })
}

/// Non-negative count/size from a number or numeric string; anything else → 0.
pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(to_u64(&Value::deserialize(d)?).unwrap_or(0))
}

/// Like [`u64`] but keeps "absent/null" apart from 0 (Hinkskalle: size null until uploaded).
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(to_u64(&Value::deserialize(d)?))
}

fn to_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Bool; `null` → false, `"true"` accepted.
pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_i64().is_some_and(|i| i != 0),
        _ => false,
    })
}

/// Optional bool; `null` → `None`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// `{tag: imageID}`; IDs may be numbers.
pub(crate) fn tag_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(to_tag_map(Value::deserialize(d)?))
}

/// `{arch: {tag: imageID}}`.
pub(crate) fn arch_tag_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, D::Error> {
    Ok(to_arch_tag_map(Value::deserialize(d)?))
}

pub(crate) fn to_tag_map(v: Value) -> BTreeMap<String, String> {
    match v {
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| (k, text(v)))
            .filter(|(_, id)| !id.is_empty())
            .collect(),
        _ => BTreeMap::new(),
    }
}

pub(crate) fn to_arch_tag_map(v: Value) -> BTreeMap<String, BTreeMap<String, String>> {
    match v {
        Value::Object(map) => map.into_iter().map(|(k, v)| (k, to_tag_map(v))).collect(),
        _ => BTreeMap::new(),
    }
}
