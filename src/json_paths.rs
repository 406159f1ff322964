//! Dotted paths into JSON reports: the one walker behind the CSV format, `--assert`
//! suggestions and `compare`.

use serde_json::Value;

/// Visits every leaf (not object, not array) of `v` with its dotted path, in document order.
/// Array elements are addressed by index (`points.3.foo`). Object members for which
/// `skip(key, depth)` is true are not entered (depth 0 is the top level).
pub(crate) fn for_each_leaf(
    v: &Value,
    skip: &dyn Fn(&str, usize) -> bool,
    visit: &mut dyn FnMut(&str, &Value),
) {
    walk(v, String::new(), 0, skip, visit);
}

fn walk(
    v: &Value,
    prefix: String,
    depth: usize,
    skip: &dyn Fn(&str, usize) -> bool,
    visit: &mut dyn FnMut(&str, &Value),
) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if !skip(k, depth) {
                    walk(child, join(k), depth + 1, skip, visit);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, join(&i.to_string()), depth + 1, skip, visit);
            }
        }
        leaf => {
            if !prefix.is_empty() {
                visit(&prefix, leaf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_document_order_with_skips() {
        let v = serde_json::json!({"a": {"b": 1, "c": [10, {"d": null}]}, "t": [1], "e": "x"});
        let mut seen = Vec::new();
        for_each_leaf(&v, &|k, depth| depth == 0 && k == "t", &mut |p, leaf| {
            seen.push((p.to_string(), leaf.clone()))
        });
        let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["a.b", "a.c.0", "a.c.1.d", "e"]);
    }
}
