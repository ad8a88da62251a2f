//! Every field the real public schema has on the types the simulator models is accepted, and
//! one it has no data for answers as monday does for an empty account (null, an empty list, a
//! default), never a validation error: each field of `Board`, `Item`, `Column`, `ColumnValue`,
//! `User`, `Account`, `Group` and `Update` is queried on its own, with its required arguments.

use graphql_parser::schema::{Definition, Field, Type, TypeDefinition};
use serde_json::json;

const REAL: &str = include_str!("../../schema/monday-schema-2025-10.graphql");

/// Each modelled type, and the query that reaches it (`{}` is where its field goes).
const REACHED_BY: [(&str, &str); 8] = [
    ("Board", "boards(ids: [$b]) { {} }"),
    ("Item", "items(ids: [$i]) { {} }"),
    ("Column", "boards(ids: [$b]) { columns { {} } }"),
    ("ColumnValue", "items(ids: [$i]) { column_values { {} } }"),
    ("User", "me { {} }"),
    ("Account", "account { {} }"),
    ("Group", "boards(ids: [$b]) { groups { {} } }"),
    ("Update", "boards(ids: [$b]) { updates { {} } }"),
];

fn base<'a>(t: &'a Type<'static, String>) -> &'a str {
    match t {
        Type::NamedType(n) => n,
        Type::ListType(i) | Type::NonNullType(i) => base(i),
    }
}

/// The real schema's fields of `name` (an object or an interface).
fn fields_of(
    doc: &graphql_parser::schema::Document<'static, String>,
    name: &str,
) -> Vec<Field<'static, String>> {
    doc.definitions
        .iter()
        .find_map(|d| match d {
            Definition::TypeDefinition(TypeDefinition::Object(o)) if o.name == name => {
                Some(o.fields.clone())
            }
            Definition::TypeDefinition(TypeDefinition::Interface(i)) if i.name == name => {
                Some(i.fields.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name} is in the real schema"))
}

fn is_leaf(doc: &graphql_parser::schema::Document<'static, String>, name: &str) -> bool {
    ["ID", "String", "Int", "Float", "Boolean"].contains(&name) || doc.definitions.iter().any(|d| {
        matches!(d, Definition::TypeDefinition(TypeDefinition::Enum(e)) if e.name == name)
            || matches!(d, Definition::TypeDefinition(TypeDefinition::Scalar(s)) if s.name == name)
    })
}

/// A value for a required argument of type `ty`.
fn sample(ty: &Type<'static, String>) -> String {
    match ty {
        Type::NonNullType(inner) => sample(inner),
        Type::ListType(inner) => format!("[{}]", sample(inner)),
        Type::NamedType(n) => match n.as_str() {
            "Int" => "1".to_owned(),
            "Float" => "1.0".to_owned(),
            "Boolean" => "false".to_owned(),
            _ => "\"1\"".to_owned(),
        },
    }
}

/// The field as a selection: its required arguments, and `__typename` under an object.
fn selection(
    doc: &graphql_parser::schema::Document<'static, String>,
    f: &Field<'static, String>,
) -> String {
    let args: Vec<String> = f
        .arguments
        .iter()
        .filter(|a| matches!(a.value_type, Type::NonNullType(_)) && a.default_value.is_none())
        .map(|a| format!("{}: {}", a.name, sample(&a.value_type)))
        .collect();
    let mut out = f.name.clone();
    if !args.is_empty() {
        out.push_str(&format!("({})", args.join(", ")));
    }
    if !is_leaf(doc, base(&f.field_type)) {
        out.push_str(" { __typename }");
    }
    out
}

#[tokio::test]
async fn every_real_field_of_the_modelled_types_is_answered_without_errors() {
    let doc = graphql_parser::parse_schema::<String>(REAL)
        .unwrap()
        .into_static();
    let (sim, account) = crate::start_with_account().await;
    let board = crate::tandem_board(&sim.handle, account.account_id);
    let item = sim
        .handle
        .create_item(board, None, "Acme", json!({"status": {"label": "Done"}}))
        .unwrap();
    let variables = json!({"b": board.to_string(), "i": item.to_string()});
    let mut problems = Vec::new();
    let mut asked = 0;
    for (ty, reach) in REACHED_BY {
        for f in fields_of(&doc, ty) {
            let query = format!(
                "query ($b: ID!, $i: ID!) {{ {} }}",
                reach.replace("{}", &selection(&doc, &f))
            );
            let r = crate::gql(&sim.url, &account.token, &query, variables.clone()).await;
            asked += 1;
            if r.status != 200 || r.body.get("errors").is_some() || r.body["data"].is_null() {
                problems.push(format!("{ty}.{}: {} {}", f.name, r.status, r.body));
            }
        }
    }
    assert!(asked >= 140, "only {asked} fields asked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn fields_without_data_answer_as_for_an_empty_account() {
    let (sim, account) = crate::start_with_account().await;
    let board = crate::tandem_board(&sim.handle, account.account_id);
    let item = sim
        .handle
        .create_item(board, None, "Acme", json!({}))
        .unwrap();
    let r = crate::gql(
        &sim.url,
        &account.token,
        "query ($b: [ID!], $i: [ID!]) {
           boards(ids: $b) { permissions tags { id } updates { id } subscribers { id }
                             owners { id } creator { id } top_group { id } activity_logs { id }
                             columns { revision capabilities { calculated { function } } } }
           items(ids: $i) { email subscribers { id } updates { id } assets { id } parent_item { id }
                            linked_items(link_to_item_column_id: \"x\", linked_board_id: \"1\") { id } }
           account { plan { tier } products { id } }
         }",
        json!({"b": [board.to_string()], "i": [item.to_string()]}),
    )
    .await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    let b = &r.body["data"]["boards"][0];
    assert_eq!(b["permissions"], "everyone");
    for empty in ["tags", "updates", "subscribers", "activity_logs"] {
        assert_eq!(b[empty], json!([]), "{empty}: {b}");
    }
    assert_eq!(b["owners"][0]["id"], b["creator"]["id"], "{b}");
    assert_eq!(b["creator"]["id"], account.user_id.to_string(), "{b}");
    assert!(b["top_group"]["id"].is_string(), "{b}");
    assert_eq!(b["columns"][0]["capabilities"]["calculated"], json!(null));
    assert_eq!(b["columns"][0]["revision"].as_str().map(str::len), Some(16));
    let i = &r.body["data"]["items"][0];
    assert_eq!(i["parent_item"], json!(null));
    for empty in ["subscribers", "updates", "assets", "linked_items"] {
        assert_eq!(i[empty], json!([]), "{empty}: {i}");
    }
    assert!(
        i["email"]
            .as_str()
            .unwrap()
            .contains(&format!("pulse-{item}"))
    );
    assert_eq!(r.body["data"]["account"]["plan"], json!(null));
}
