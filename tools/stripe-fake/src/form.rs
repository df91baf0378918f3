//! Stripe's form encoding: `application/x-www-form-urlencoded` bodies (and query strings) whose keys use
//! bracket notation — `metadata[invoice_id]=…`, `payment_method_types[]=card` or `[0]=card` (async-stripe
//! serialises arrays with indices through `serde_qs`), `invoice_settings[default_payment_method]=…` — read
//! into a nested JSON value so handlers can look fields up by name.

use serde_json::{Map, Value};

/// Parses a form-encoded body or query string into a JSON object. Values stay strings, as Stripe receives
/// them; handlers convert (`amount`, booleans) and report bad values themselves.
pub fn parse(input: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in form_urlencoded::parse(input) {
        let path = split_key(&key);
        insert(&mut root, &path, value.into_owned());
    }
    normalise_arrays(&mut root);
    root
}

/// One step of a bracketed key: a field name, an explicit index, or `[]` (append).
#[derive(Debug, PartialEq)]
enum Seg {
    Name(String),
    Index(usize),
    Append,
}

fn split_key(key: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    segs.push(Seg::Name(head.to_string()));
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(end) = stripped.find(']') else {
            // An unclosed bracket is kept as part of a name rather than dropped.
            segs.push(Seg::Name(stripped.to_string()));
            break;
        };
        let inner = &stripped[..end];
        segs.push(if inner.is_empty() {
            Seg::Append
        } else if let Ok(i) = inner.parse::<usize>() {
            Seg::Index(i)
        } else {
            Seg::Name(inner.to_string())
        });
        rest = &stripped[end + 1..];
    }
    segs
}

/// Arrays are first built as objects keyed by `#<index>` so that indices arriving out of order land in
/// the right place; [`normalise_arrays`] turns them into JSON arrays.
fn insert(node: &mut Value, path: &[Seg], value: String) {
    let Some((first, rest)) = path.split_first() else {
        *node = Value::String(value);
        return;
    };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(map) = node else { return };
    let key = match first {
        Seg::Name(n) => n.clone(),
        Seg::Index(i) => format!("#{i:010}"),
        Seg::Append => format!("#{:010}", map.len()),
    };
    let child = map.entry(key).or_insert(Value::Null);
    insert(child, rest, value);
}

fn normalise_arrays(node: &mut Value) {
    if let Value::Object(map) = node {
        for child in map.values_mut() {
            normalise_arrays(child);
        }
        if !map.is_empty() && map.keys().all(|k| k.starts_with('#')) {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            *node = Value::Array(entries.into_iter().map(|(_, v)| v).collect());
        }
    }
}

/// A canonical rendering of parsed parameters, used to compare two requests made with the same
/// idempotency key (field order in the body does not matter, values do).
pub fn canonical(params: &Value) -> String {
    // serde_json's map is ordered by key (no `preserve_order` feature), so this is stable.
    params.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets_nested_objects_and_arrays() {
        let v = parse(
            b"amount=1000&metadata%5Binvoice_id%5D=inv_1&metadata[x]=a+b&payment_method_types[]=card\
              &payment_method_types[]=sepa_debit&expand[1]=b&expand[0]=a&invoice_settings[default_payment_method]=pm_1",
        );
        assert_eq!(
            v,
            json!({
                "amount": "1000",
                "metadata": {"invoice_id": "inv_1", "x": "a b"},
                "payment_method_types": ["card", "sepa_debit"],
                "expand": ["a", "b"],
                "invoice_settings": {"default_payment_method": "pm_1"},
            })
        );
    }

    #[test]
    fn search_query_is_decoded() {
        let v = parse(b"query=metadata%5B%27invoice_id%27%5D%3A%27inv_1%27&limit=10");
        assert_eq!(v["query"], "metadata['invoice_id']:'inv_1'");
    }
}
