//! Compares a simulator response with a recorded real one: same keys, same JSON types.
//! Values may differ; `null` on either side matches any type (a field may be empty).

use serde_json::Value;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every difference in keys or types between `real` and `sim`, as readable lines.
pub fn diff(real: &Value, sim: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("$", real, sim, &mut out);
    out
}

fn walk(path: &str, real: &Value, sim: &Value, out: &mut Vec<String>) {
    match (real, sim) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(r), Value::Object(s)) => {
            if r.contains_key("_omitted_by_extractor") {
                return;
            }
            for k in r.keys().filter(|k| !s.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing in the simulator's response"));
            }
            for k in s.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}.{k}: not in the real response"));
            }
            for (k, rv) in r {
                if let Some(sv) = s.get(k) {
                    walk(&format!("{path}.{k}"), rv, sv, out);
                }
            }
        }
        (Value::Array(r), Value::Array(s)) => {
            if r.is_empty() {
                return;
            }
            for (i, sv) in s.iter().enumerate() {
                walk(&format!("{path}[{i}]"), &r[i.min(r.len() - 1)], sv, out);
            }
        }
        (r, s) if kind(r) == kind(s) => {}
        (r, s) => out.push(format!(
            "{path}: real is {} but the simulator sent {}",
            kind(r),
            kind(s)
        )),
    }
}

#[test]
fn diff_reports_missing_extra_and_mistyped_keys() {
    let real = serde_json::json!({"a": 1, "b": "x", "c": null, "d": [{"e": true}]});
    let sim = serde_json::json!({"a": "1", "c": 5, "d": [{"e": true}, {"e": 1}], "z": 0});
    let d = diff(&real, &sim);
    assert_eq!(d.len(), 4, "{d:?}");
    assert!(d.iter().any(|l| l.starts_with("$.b: missing")));
    assert!(d.iter().any(|l| l.starts_with("$.z: not in the real")));
    assert!(d.iter().any(|l| l.starts_with("$.a: real is number")));
    assert!(d.iter().any(|l| l.starts_with("$.d[1].e: real is boolean")));
}
