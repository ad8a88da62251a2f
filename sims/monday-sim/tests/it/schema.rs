//! The served schema is a subset of monday's real SDL: same types, fields, arguments,
//! wrappers, defaults and enum values.

use std::collections::HashMap;

use graphql_parser::schema::{Definition, Document, TypeDefinition};

const REAL: &str = include_str!("../../schema/monday-schema-2025-10.graphql");

fn index(doc: &Document<'static, String>) -> HashMap<String, TypeDefinition<'static, String>> {
    doc.definitions
        .iter()
        .filter_map(|d| match d {
            Definition::TypeDefinition(t) => Some(t.clone()),
            _ => None,
        })
        .map(|t| {
            let name = match &t {
                TypeDefinition::Scalar(x) => x.name.clone(),
                TypeDefinition::Object(x) => x.name.clone(),
                TypeDefinition::Interface(x) => x.name.clone(),
                TypeDefinition::Union(x) => x.name.clone(),
                TypeDefinition::Enum(x) => x.name.clone(),
                TypeDefinition::InputObject(x) => x.name.clone(),
            };
            (name, t)
        })
        .collect()
}

type Field = graphql_parser::schema::Field<'static, String>;
type InputValue = graphql_parser::schema::InputValue<'static, String>;

fn compare_args(ctx: &str, served: &[InputValue], real: &[InputValue], problems: &mut Vec<String>) {
    for a in served {
        match real.iter().find(|r| r.name == a.name) {
            None => problems.push(format!("{ctx}({}) is not in the real schema", a.name)),
            Some(r) => {
                if r.value_type.to_string() != a.value_type.to_string() {
                    problems.push(format!(
                        "{ctx}({}): {} vs real {}",
                        a.name, a.value_type, r.value_type
                    ));
                }
                if r.default_value.as_ref().map(|d| d.to_string())
                    != a.default_value.as_ref().map(|d| d.to_string())
                {
                    problems.push(format!("{ctx}({}): default differs", a.name));
                }
            }
        }
    }
    for r in real {
        let required = matches!(r.value_type, graphql_parser::schema::Type::NonNullType(_))
            && r.default_value.is_none();
        if required && !served.iter().any(|a| a.name == r.name) {
            problems.push(format!("{ctx}: required argument {} is missing", r.name));
        }
    }
}

fn compare_fields(ty: &str, served: &[Field], real: &[Field], problems: &mut Vec<String>) {
    for f in served {
        match real.iter().find(|r| r.name == f.name) {
            None => problems.push(format!("{ty}.{} is not in the real schema", f.name)),
            Some(r) => {
                if r.field_type.to_string() != f.field_type.to_string() {
                    problems.push(format!(
                        "{ty}.{}: {} vs real {}",
                        f.name, f.field_type, r.field_type
                    ));
                }
                compare_args(
                    &format!("{ty}.{}", f.name),
                    &f.arguments,
                    &r.arguments,
                    problems,
                );
            }
        }
    }
}

/// Every problem that makes `served` not a subset of `real`.
pub fn subset_problems(served_sdl: &str, real_sdl: &str) -> Vec<String> {
    let served = graphql_parser::parse_schema::<String>(served_sdl)
        .expect("served parses")
        .into_static();
    let real = graphql_parser::parse_schema::<String>(real_sdl)
        .expect("real parses")
        .into_static();
    let real = index(&real);
    let mut problems = Vec::new();
    for (name, t) in index(&served) {
        let Some(r) = real.get(&name) else {
            problems.push(format!("type {name} is not in the real schema"));
            continue;
        };
        match (&t, r) {
            (TypeDefinition::Object(s), TypeDefinition::Object(r)) => {
                compare_fields(&name, &s.fields, &r.fields, &mut problems);
                for i in &s.implements_interfaces {
                    if !r.implements_interfaces.contains(i) {
                        problems.push(format!("{name} does not implement {i} in the real schema"));
                    }
                }
            }
            (TypeDefinition::Interface(s), TypeDefinition::Interface(r)) => {
                compare_fields(&name, &s.fields, &r.fields, &mut problems)
            }
            (TypeDefinition::Enum(s), TypeDefinition::Enum(r)) => {
                for v in &s.values {
                    if !r.values.iter().any(|x| x.name == v.name) {
                        problems.push(format!("enum {name} value {} is not real", v.name));
                    }
                }
            }
            (TypeDefinition::InputObject(s), TypeDefinition::InputObject(r)) => {
                compare_args(&name, &s.fields, &r.fields, &mut problems)
            }
            (TypeDefinition::Scalar(_), TypeDefinition::Scalar(_)) => {}
            _ => problems.push(format!(
                "type {name} has a different kind in the real schema"
            )),
        }
    }
    problems
}

#[tokio::test]
async fn served_schema_is_a_subset_of_the_real_one() {
    let (sim, _) = crate::start_with_account().await;
    let sdl = reqwest::get(format!("{}/get_schema", sim.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sdl.contains("type Query"), "the sim serves its SDL");
    let problems = subset_problems(&sdl, REAL);
    assert!(
        problems.is_empty(),
        "served schema diverges from monday's:\n{}",
        problems.join("\n")
    );
}

#[test]
fn subset_check_catches_a_wrong_nullability_an_unknown_field_and_an_extra_argument() {
    let served = "type Query { me: User! }\ntype User { id: ID! nickname: String }\ntype Board { items_page(limit: Int! = 25, bogus: Int): ItemsResponse! }\ntype ItemsResponse { cursor: String }";
    let problems = subset_problems(served, REAL);
    let text = problems.join("\n");
    assert!(text.contains("Query.me: User! vs real User"), "{text}");
    assert!(
        text.contains("User.nickname is not in the real schema"),
        "{text}"
    );
    assert!(text.contains("Board.items_page(bogus)"), "{text}");
}
