//! Every field in the served SDL is implemented: a query generated from `served.graphql`
//! that selects every field of every reachable type (to a depth) runs on the demo data with
//! no errors (a non-null field resolving to null would be one).

use std::collections::HashMap;

use graphql_parser::schema::{Definition, Type, TypeDefinition};
use serde_json::json;

struct Types {
    fields: HashMap<String, Vec<graphql_parser::schema::Field<'static, String>>>,
    implementors: HashMap<String, Vec<String>>,
    leaves: Vec<String>,
}

fn base(t: &Type<'static, String>) -> String {
    match t {
        Type::NamedType(n) => n.clone(),
        Type::ListType(i) | Type::NonNullType(i) => base(i),
    }
}

fn types() -> Types {
    let doc = graphql_parser::parse_schema::<String>(monday_sim::SERVED_SDL)
        .unwrap()
        .into_static();
    let mut t = Types {
        fields: HashMap::new(),
        implementors: HashMap::new(),
        leaves: vec![
            "ID".into(),
            "String".into(),
            "Int".into(),
            "Float".into(),
            "Boolean".into(),
        ],
    };
    for d in doc.definitions {
        if let Definition::TypeDefinition(def) = d {
            match def {
                TypeDefinition::Object(o) => {
                    for i in &o.implements_interfaces {
                        t.implementors
                            .entry(i.clone())
                            .or_default()
                            .push(o.name.clone());
                    }
                    t.fields.insert(o.name, o.fields);
                }
                TypeDefinition::Interface(i) => {
                    t.fields.insert(i.name, i.fields);
                }
                TypeDefinition::Enum(e) => t.leaves.push(e.name),
                TypeDefinition::Scalar(s) => t.leaves.push(s.name),
                _ => {}
            }
        }
    }
    t
}

fn selection(t: &Types, ty: &str, depth: usize) -> String {
    let mut out = vec!["__typename".to_string()];
    for f in &t.fields[ty] {
        let required = f
            .arguments
            .iter()
            .any(|a| matches!(a.value_type, Type::NonNullType(_)) && a.default_value.is_none());
        if required {
            continue;
        }
        let target = base(&f.field_type);
        if t.leaves.contains(&target) {
            out.push(f.name.clone());
        } else if depth > 0 {
            out.push(format!(
                "{} {{ {} }}",
                f.name,
                selection(t, &target, depth - 1)
            ));
        }
    }
    for imp in t.implementors.get(ty).into_iter().flatten() {
        out.push(format!(
            "... on {imp} {{ {} }}",
            selection(t, imp, depth.saturating_sub(1))
        ));
    }
    out.join(" ")
}

#[tokio::test]
async fn a_query_selecting_every_served_field_runs_without_errors() {
    let config = monday_sim::Config {
        seed: monday_sim::Seed::Demo,
        max_query_complexity: u64::MAX,
        complexity_budget_per_minute: u64::MAX,
        ..Default::default()
    };
    let sim = crate::start(config).await;
    let demo = sim.demo.clone().unwrap();
    let t = types();
    let q = format!(
        "query ($b: [ID!], $bid: ID!) {{ boards(ids: $b) {{ {} }} me {{ {} }} users {{ {} }} account {{ {} }} complexity {{ {} }} version {{ {} }} webhooks(board_id: $bid) {{ {} }} }}",
        selection(&t, "Board", 4),
        selection(&t, "User", 2),
        selection(&t, "User", 1),
        selection(&t, "Account", 1),
        selection(&t, "Complexity", 1),
        selection(&t, "Version", 1),
        selection(&t, "Webhook", 1),
    );
    sim.handle.register_webhook(
        demo.account_id,
        demo.board_id,
        "http://127.0.0.1:9/hook",
        "create_item",
        None,
    );
    let r = crate::gql(
        &sim.url,
        &demo.token,
        &q,
        json!({"b": [demo.board_id.to_string()], "bid": demo.board_id.to_string()}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("errors").is_none(), "{}", r.body["errors"]);
    let items = r.body["data"]["boards"][0]["items_page"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(items.len(), 25);
    let typenames: Vec<&str> = items[0]["column_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["__typename"].as_str().unwrap())
        .collect();
    for expected in [
        "StatusValue",
        "PeopleValue",
        "NumbersValue",
        "MirrorValue",
        "FormulaValue",
        "BoardRelationValue",
        "DropdownValue",
    ] {
        assert!(typenames.contains(&expected), "{expected} in {typenames:?}");
    }
}
