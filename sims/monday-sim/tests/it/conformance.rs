//! Replays the recorded real monday exchanges (tests/fixtures/monday-recorded-responses.json,
//! API 2026-04) against the simulator seeded with the same board, items and user, and compares
//! each response key by key and type by type; `text` values must match exactly.

use serde_json::{Value, json};

use crate::{Running, gql_versioned, start};

const FIXTURES: &str = include_str!("../fixtures/monday-recorded-responses.json");
const BOARD: i64 = 5096980653;

/// Interactions the simulator does not replay, and why.
const SKIPPED: &[(&str, &str)] = &[
    ("create-subitem", "subitems are not simulated"),
    ("list-subitems", "subitems are not simulated"),
];

/// Queries for recordings that kept only a hash of the request, rebuilt from the response shape.
fn rebuilt_query(test: &str) -> Option<&'static str> {
    match test {
        "create-item" => Some(
            "mutation { create_item(board_id: 5096980653, item_name: \"Test item from Nango action\") { id name url board { id } group { id title } } }",
        ),
        "list-items" => Some(
            "query { boards(ids: [5096980653]) { items_page(limit: 100) { cursor items { id name created_at updated_at state group { id title } board { id } column_values { id text value } } } } }",
        ),
        _ => None,
    }
}

fn fixtures() -> Vec<Value> {
    let v: Value = serde_json::from_str(FIXTURES).unwrap();
    v["interactions"].as_array().unwrap().clone()
}

fn find<'a>(all: &'a [Value], test: &str) -> &'a Value {
    all.iter().find(|i| i["test"] == test).unwrap()
}

/// The recorded "Tasks" board, its user and three items, with the recorded raw values.
async fn seeded(all: &[Value]) -> (Running, String) {
    let sim = start(monday_sim::Config::default()).await;
    let h = &sim.handle;
    let acct = h.create_account("nango-unit", "Nango Developer", "api@nango.dev");
    h.renumber_user(acct.user_id, 104094154).unwrap();
    let b = h.create_board(acct.account_id, "Tasks");
    h.renumber_board(b, BOARD).unwrap();
    h.set_board_details(BOARD, "Tasks", Some(""));
    let board = &find(all, "get-board")["response_body"]["data"]["boards"][0];
    let settings = &find(all, "list-columns")["response_body"]["data"]["boards"][0]["columns"];
    for c in board["columns"].as_array().unwrap().iter().skip(1) {
        let id = c["id"].as_str().unwrap();
        let s = settings
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .map(|x| serde_json::from_str(x["settings_str"].as_str().unwrap()).unwrap())
            .unwrap_or(json!({}));
        h.add_column(
            BOARD,
            id,
            c["title"].as_str().unwrap(),
            c["type"].as_str().unwrap(),
            s,
        )
        .unwrap();
    }
    h.set_column_description(BOARD, "task_status", Some("API test update"));
    h.remove_group(BOARD, "topics");
    for g in board["groups"].as_array().unwrap() {
        h.add_group(
            BOARD,
            g["id"].as_str(),
            g["title"].as_str().unwrap(),
            g["color"].as_str().unwrap(),
        )
        .unwrap();
    }
    h.add_group(BOARD, Some("new_group"), "New group", "#a25ddc")
        .unwrap();
    let recorded_items = [
        (
            2933602562i64,
            "Deploy",
            &find(all, "change-column-value")["response_body"]["data"]["change_column_value"]["column_values"],
        ),
        (
            2933609588,
            "Setup",
            &find(all, "get-item")["response_body"]["data"]["items"][0]["column_values"],
        ),
        (2933602554, "Infrastructure", &Value::Null),
    ];
    for (id, name, values) in recorded_items {
        let tmp = h
            .create_item(BOARD, Some("topics"), name, json!({}))
            .unwrap();
        h.renumber_item(tmp, id).unwrap();
        for v in values.as_array().into_iter().flatten() {
            let raw = v["value"]
                .as_str()
                .map(|s| serde_json::from_str(s).unwrap());
            h.set_raw_value(id, v["id"].as_str().unwrap(), raw).unwrap();
        }
    }
    (sim, acct.token)
}

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

/// Differences between a recorded (real) and a simulated response.
fn compare(real: &Value, sim: &Value, path: &str, out: &mut Vec<String>) {
    match (real, sim) {
        (Value::Object(r), Value::Object(s)) => {
            for k in r.keys().filter(|k| !s.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing in the simulator"));
            }
            for k in s.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}.{k}: not in the real response"));
            }
            for (k, rv) in r {
                if let Some(sv) = s.get(k) {
                    compare(rv, sv, &format!("{path}.{k}"), out);
                }
            }
            // A column `value` is itself JSON: the same keys as the real one.
            if let (Some(Value::String(rv)), Some(Value::String(sv))) =
                (r.get("value"), s.get("value"))
                && let (Ok(Value::Object(ro)), Ok(Value::Object(so))) = (
                    serde_json::from_str::<Value>(rv),
                    serde_json::from_str::<Value>(sv),
                )
            {
                let rk: Vec<&String> = ro.keys().collect();
                let sk: Vec<&String> = so.keys().collect();
                if rk != sk {
                    out.push(format!("{path}.value keys: real {rk:?} vs sim {sk:?}"));
                }
            }
            if let (Some(Value::String(rt)), Some(Value::String(st))) =
                (r.get("text"), s.get("text"))
                && r.get("id") == s.get("id")
                && rt != st
            {
                out.push(format!("{path}.text: real {rt:?} vs sim {st:?}"));
            }
        }
        (Value::Array(r), Value::Array(s)) => {
            if r.is_empty() || s.is_empty() {
                if r.is_empty() != s.is_empty() && !path.ends_with(".teams") {
                    out.push(format!(
                        "{path}: real has {} elements, sim {}",
                        r.len(),
                        s.len()
                    ));
                }
                return;
            }
            let mut pairs: Vec<(&Value, &Value)> = s
                .iter()
                .filter_map(|sv| {
                    r.iter()
                        .find(|rv| rv.get("id").is_some() && rv.get("id") == sv.get("id"))
                        .map(|rv| (rv, sv))
                })
                .collect();
            if pairs.is_empty() {
                pairs.push((&r[0], &s[0]));
            }
            for (i, (rv, sv)) in pairs.into_iter().enumerate() {
                compare(rv, sv, &format!("{path}[{i}]"), out);
            }
        }
        (r, s) if kind(r) != kind(s) => out.push(format!(
            "{path}: real {} ({r}) vs sim {} ({s})",
            kind(r),
            kind(s)
        )),
        _ => {}
    }
}

#[tokio::test]
async fn responses_match_the_recorded_real_ones_key_by_key() {
    let all = fixtures();
    let mut problems = Vec::new();
    let mut replayed = 0;
    for inter in &all {
        let test = inter["test"].as_str().unwrap();
        if SKIPPED.iter().any(|(t, _)| *t == test) {
            continue;
        }
        let query = match inter["request_body"]["query"].as_str() {
            Some(q) => q,
            None => {
                rebuilt_query(test).unwrap_or_else(|| panic!("{test}: no query and none rebuilt"))
            }
        };
        let (sim, token) = seeded(&all).await;
        if test == "get-item" {
            sim.handle.set_item_state(2933609588, "archived");
        }
        let vars = inter["request_body"]["variables"].clone();
        let vars = if vars.is_null() { json!({}) } else { vars };
        let r = gql_versioned(&sim.url, &token, "2026-04", query, vars).await;
        assert_eq!(
            r.status,
            inter["status"].as_u64().unwrap() as u16,
            "{test}: {}",
            r.body
        );
        assert_eq!(r.headers["api-version"], "2026-04");
        compare(&inter["response_body"], &r.body, test, &mut problems);
        replayed += 1;
    }
    assert_eq!(replayed, all.len() - SKIPPED.len());
    assert!(
        problems.is_empty(),
        "differences from the recorded responses:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_comparison_catches_type_and_key_differences() {
    let mut out = vec![];
    compare(
        &json!({"a": "x", "b": null, "c": [{"id": "1", "text": "Done"}]}),
        &json!({"a": 1, "b": null, "d": 2, "c": [{"id": "1", "text": "Stuck"}]}),
        "t",
        &mut out,
    );
    let text = out.join("\n");
    assert!(text.contains("t.a: real string"), "{text}");
    assert!(
        text.contains("t.c: missing") || text.contains("t.d: not in the real response"),
        "{text}"
    );
    assert!(text.contains("real \"Done\" vs sim \"Stuck\""), "{text}");
    let mut out = vec![];
    compare(
        &json!({"id": "s", "value": "{\"index\":1}"}),
        &json!({"id": "s", "value": "{\"index\":1,\"post_id\":null}"}),
        "v",
        &mut out,
    );
    assert!(out.iter().any(|p| p.contains("value keys")), "{out:?}");
}
