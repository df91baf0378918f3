//! Reading typed parameters out of a parsed form, with Stripe's error messages for bad ones.

use serde_json::{Map, Value};

use super::error::ApiError;

/// A string parameter, if present.
pub fn opt_str<'a>(params: &'a Value, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

/// A required string parameter.
pub fn req_str<'a>(params: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    match opt_str(params, name) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::missing_param(name)),
    }
}

/// An integer parameter, if present.
pub fn opt_int(params: &Value, name: &str) -> Result<Option<i64>, ApiError> {
    match opt_str(params, name) {
        None => Ok(None),
        Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
            ApiError::invalid(
                Some("parameter_invalid_integer"),
                Some(name),
                format!("Invalid integer: {s}"),
            )
        }),
    }
}

/// A boolean parameter, if present (`true`/`false`).
pub fn opt_bool(params: &Value, name: &str) -> Result<Option<bool>, ApiError> {
    match opt_str(params, name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(s) => Err(ApiError::invalid(
            None,
            Some(name),
            format!("Invalid boolean: {s}"),
        )),
    }
}

/// `metadata[…]` as a map; values must be strings of at most 500 characters, keys at most 40.
pub fn metadata(params: &Value) -> Result<Option<Map<String, Value>>, ApiError> {
    match params.get("metadata") {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(Map::new())),
        Some(Value::Object(map)) => {
            for (k, v) in map {
                if k.chars().count() > 40 {
                    return Err(ApiError::invalid(
                        None,
                        Some("metadata"),
                        "Metadata keys are limited to 40 characters.",
                    ));
                }
                match v {
                    Value::String(s) if s.chars().count() <= 500 => {}
                    _ => {
                        return Err(ApiError::invalid(
                            None,
                            Some(&format!("metadata[{k}]")),
                            "Metadata values must be strings of at most 500 characters.",
                        ))
                    }
                }
            }
            Ok(Some(map.clone()))
        }
        Some(_) => Err(ApiError::invalid(None, Some("metadata"), "Invalid hash")),
    }
}

/// Merges metadata into an object's `metadata` as Stripe's updates do: an empty value removes the key.
pub fn merge_metadata(target: &mut Value, update: Map<String, Value>) {
    if !target["metadata"].is_object() {
        target["metadata"] = Value::Object(Map::new());
    }
    if let Value::Object(existing) = &mut target["metadata"] {
        if update.is_empty() {
            existing.clear();
        }
        for (k, v) in update {
            if v.as_str() == Some("") {
                existing.remove(&k);
            } else {
                existing.insert(k, v);
            }
        }
    }
}

/// `expand[]` as a list of field paths.
pub fn expand(params: &Value) -> Vec<String> {
    match params.get("expand") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// `limit` for lists and searches: 1..=100, default 10.
pub fn limit(params: &Value) -> Result<usize, ApiError> {
    match opt_int(params, "limit")? {
        None => Ok(10),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(_) => Err(ApiError::invalid(
            None,
            Some("limit"),
            "This value must be between 1 and 100.",
        )),
    }
}
