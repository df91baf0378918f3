//! Stripe's search query language, the subset Tessera uses: clauses `field:'value'` and
//! `metadata['key']:'value'` joined by `AND`, exact matches only.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::error::ApiError;
use super::params;

/// One `field:'value'` clause.
#[derive(Debug, PartialEq)]
pub enum Clause {
    /// `metadata['key']:'value'`.
    Metadata(String, String),
    /// `field:'value'` on a top-level field.
    Field(String, String),
}

/// Parses a query; operators other than `AND` and exact `:` matches are rejected with 400, so a test
/// relying on them fails loudly instead of matching too much.
pub fn parse(query: &str) -> Result<Vec<Clause>, ApiError> {
    let bad = || {
        ApiError::invalid(
            None,
            Some("query"),
            format!("Unsupported or invalid search query: {query}"),
        )
    };
    let mut clauses = Vec::new();
    for part in query.split(" AND ") {
        let part = part.trim();
        let (field, value) = if let Some(rest) = part.strip_prefix("metadata[") {
            let quote = rest.chars().next().ok_or_else(bad)?;
            let rest = &rest[1..];
            let end = rest.find(quote).ok_or_else(bad)?;
            let key = &rest[..end];
            let rest = rest[end + 1..].strip_prefix("]:").ok_or_else(bad)?;
            (format!("metadata.{key}"), unquote(rest).ok_or_else(bad)?)
        } else {
            let (field, value) = part.split_once(':').ok_or_else(bad)?;
            (field.to_string(), unquote(value).ok_or_else(bad)?)
        };
        match field.strip_prefix("metadata.") {
            Some(key) => clauses.push(Clause::Metadata(key.to_string(), value)),
            None => {
                if !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(bad());
                }
                clauses.push(Clause::Field(field, value));
            }
        }
    }
    Ok(clauses)
}

fn unquote(value: &str) -> Option<String> {
    let value = value.trim();
    let q = value.chars().next()?;
    if (q != '\'' && q != '"') || value.len() < 2 || !value.ends_with(q) {
        return None;
    }
    let escaped = format!("\\{q}");
    let inner = value[1..value.len() - 1].replace(&escaped, "\u{0}");
    // An unescaped quote inside means two values, i.e. an operator this subset does not support.
    if inner.contains(q) {
        return None;
    }
    Some(inner.replace('\u{0}', &q.to_string()))
}

/// Ids to consider for a query, newest first: those of the first metadata clause from the index, else
/// every id.
pub fn candidates<'a>(
    clauses: &[Clause],
    index: &'a HashMap<(String, String), Vec<String>>,
    all: &'a [String],
) -> Box<dyn Iterator<Item = &'a String> + 'a> {
    for c in clauses {
        if let Clause::Metadata(k, v) = c {
            return match index.get(&(k.clone(), v.clone())) {
                Some(ids) => Box::new(ids.iter().rev()),
                None => Box::new(std::iter::empty()),
            };
        }
    }
    Box::new(all.iter().rev())
}

/// Whether an object matches every clause.
pub fn matches(obj: &Value, clauses: &[Clause]) -> bool {
    clauses.iter().all(|c| match c {
        Clause::Metadata(k, v) => obj["metadata"][k].as_str() == Some(v.as_str()),
        Clause::Field(f, v) => match &obj[f.as_str()] {
            Value::String(s) => s == v,
            Value::Number(n) => n.to_string() == *v,
            _ => false,
        },
    })
}

/// A `search_result` page over candidates given newest first. `next_page` is the offset as a decimal
/// string, because async-stripe sends `page` as an integer; `page_<n>` is accepted too.
pub fn page(url: &str, matching: Vec<Value>, p: &Value) -> Result<Value, ApiError> {
    let limit = params::limit(p)?;
    let offset = match params::opt_str(p, "page") {
        None => 0,
        Some(token) => token
            .trim_start_matches("page_")
            .parse::<usize>()
            .ok()
            .ok_or_else(|| ApiError::invalid(None, Some("page"), "Invalid page token."))?,
    };
    let total = matching.len();
    let data: Vec<Value> = matching.into_iter().skip(offset).take(limit).collect();
    let has_more = offset + data.len() < total;
    Ok(json!({
        "object": "search_result", "url": url, "has_more": has_more, "data": data,
        "next_page": if has_more { Value::String((offset + limit).to_string()) } else { Value::Null },
        "total_count": total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_metadata_and_fields() {
        assert_eq!(
            parse("metadata['invoice_id']:'inv_1' AND status:'succeeded'").ok(),
            Some(vec![
                Clause::Metadata("invoice_id".into(), "inv_1".into()),
                Clause::Field("status".into(), "succeeded".into())
            ])
        );
        assert_eq!(
            parse("metadata[\"k\"]:\"v\"").ok(),
            Some(vec![Clause::Metadata("k".into(), "v".into())])
        );
        assert!(parse("amount>100").is_err());
        assert!(parse("status:'a' OR status:'b'").is_err());
        assert_eq!(
            parse("name:'O\\'Brien'").ok(),
            Some(vec![Clause::Field("name".into(), "O'Brien".into())])
        );
    }
}
