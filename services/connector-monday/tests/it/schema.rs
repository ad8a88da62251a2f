//! Every query and mutation the connector can send, validated against monday's real schema
//! (`monday-schema.graphql`, API 2025-10, the copy in sims/monday-sim): fields, arguments,
//! required arguments, variable types, fragments, leaf/object selections, and the input
//! objects and enum values inside the variables the connector builds.

use std::collections::HashMap;

use graphql_parser::query::{
    Definition as QDef, Document as QDoc, OperationDefinition, Selection, SelectionSet,
    Type as QType, Value as QValue,
};
use graphql_parser::schema::{Definition, Document, Field, InputValue, Type, TypeDefinition};
use serde_json::{Value, json};

const REAL: &str = include_str!("../../../../sims/monday-sim/schema/monday-schema-2025-10.graphql");

struct Sdl {
    types: HashMap<String, TypeDefinition<'static, String>>,
}

impl Sdl {
    fn load() -> Sdl {
        let doc: Document<'static, String> = graphql_parser::parse_schema::<String>(REAL)
            .expect("real schema parses")
            .into_static();
        let mut types = HashMap::new();
        for d in doc.definitions {
            if let Definition::TypeDefinition(t) = d {
                let name = match &t {
                    TypeDefinition::Scalar(x) => x.name.clone(),
                    TypeDefinition::Object(x) => x.name.clone(),
                    TypeDefinition::Interface(x) => x.name.clone(),
                    TypeDefinition::Union(x) => x.name.clone(),
                    TypeDefinition::Enum(x) => x.name.clone(),
                    TypeDefinition::InputObject(x) => x.name.clone(),
                };
                types.insert(name, t);
            }
        }
        Sdl { types }
    }

    fn fields(&self, ty: &str) -> Option<&Vec<Field<'static, String>>> {
        match self.types.get(ty)? {
            TypeDefinition::Object(o) => Some(&o.fields),
            TypeDefinition::Interface(i) => Some(&i.fields),
            _ => None,
        }
    }

    fn is_composite(&self, ty: &str) -> bool {
        matches!(
            self.types.get(ty),
            Some(
                TypeDefinition::Object(_) | TypeDefinition::Interface(_) | TypeDefinition::Union(_)
            )
        )
    }

    /// A JSON variable value against an input type: input object keys, enum values, lists.
    fn check_input(
        &self,
        v: &Value,
        ty: &Type<'static, String>,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        match ty {
            Type::NonNullType(inner) => {
                if v.is_null() {
                    problems.push(format!("{at}: null for non-null {ty}"));
                } else {
                    self.check_input(v, inner, at, problems);
                }
            }
            Type::ListType(inner) => match v {
                Value::Array(items) => {
                    for (n, item) in items.iter().enumerate() {
                        self.check_input(item, inner, &format!("{at}[{n}]"), problems);
                    }
                }
                Value::Null => {}
                other => self.check_input(other, inner, at, problems),
            },
            Type::NamedType(name) => match (self.types.get(name), v) {
                (_, Value::Null) => {}
                (Some(TypeDefinition::InputObject(io)), Value::Object(map)) => {
                    for (k, val) in map {
                        match io.fields.iter().find(|f| &f.name == k) {
                            Some(f) => {
                                self.check_input(val, &f.value_type, &format!("{at}.{k}"), problems)
                            }
                            None => problems.push(format!("{at}: {name} has no field {k}")),
                        }
                    }
                    for f in &io.fields {
                        if matches!(f.value_type, Type::NonNullType(_))
                            && f.default_value.is_none()
                            && !map.contains_key(&f.name)
                        {
                            problems.push(format!("{at}: {name}.{} is required", f.name));
                        }
                    }
                }
                (Some(TypeDefinition::InputObject(_)), other) => {
                    problems.push(format!("{at}: {name} wants an object, got {other}"))
                }
                (Some(TypeDefinition::Enum(e)), Value::String(s)) => {
                    if !e.values.iter().any(|ev| &ev.name == s) {
                        problems.push(format!("{at}: {s} is not a {name} value"));
                    }
                }
                (Some(TypeDefinition::Scalar(_)), _) => {}
                (None, _)
                    if matches!(name.as_str(), "String" | "Int" | "Boolean" | "ID" | "Float") => {}
                (other, v) => problems.push(format!(
                    "{at}: {v} does not fit {name} ({})",
                    other.is_some()
                )),
            },
        }
    }
}

fn qtype<'a>(t: &QType<'a, &'a str>) -> Type<'static, String> {
    match t {
        QType::NamedType(n) => Type::NamedType((*n).to_owned()),
        QType::ListType(i) => Type::ListType(Box::new(qtype(i))),
        QType::NonNullType(i) => Type::NonNullType(Box::new(qtype(i))),
    }
}

fn base<'a>(t: &'a Type<'static, String>) -> &'a str {
    match t {
        Type::NamedType(n) => n,
        Type::ListType(i) | Type::NonNullType(i) => base(i),
    }
}

/// Whether a variable of type `var` may be used where `arg` is expected.
fn fits(var: &Type<'static, String>, arg: &InputValue<'static, String>) -> bool {
    let (v, a) = (var.to_string(), arg.value_type.to_string());
    v == a
        || format!("{a}!") == v
        || (arg.default_value.is_some() && a.strip_suffix('!') == Some(v.as_str()))
        || match (var, &arg.value_type) {
            (Type::NonNullType(inner), _) => fits(inner, arg),
            _ => false,
        }
}

fn check_selection<'a>(
    sdl: &Sdl,
    ty: &str,
    set: &SelectionSet<'a, &'a str>,
    vars: &HashMap<String, Type<'static, String>>,
    problems: &mut Vec<String>,
) {
    for sel in &set.items {
        match sel {
            Selection::Field(f) => {
                if f.name == "__typename" {
                    continue;
                }
                let Some(def) = sdl
                    .fields(ty)
                    .and_then(|fs| fs.iter().find(|d| d.name == f.name))
                else {
                    problems.push(format!("{ty}.{} is not in monday's schema", f.name));
                    continue;
                };
                for (name, value) in &f.arguments {
                    let Some(arg) = def.arguments.iter().find(|a| a.name == *name) else {
                        problems.push(format!("{ty}.{}({name}) is not in monday's schema", f.name));
                        continue;
                    };
                    match value {
                        QValue::Variable(v) => match vars.get(*v) {
                            Some(vt) if fits(vt, arg) => {}
                            Some(vt) => problems.push(format!(
                                "{ty}.{}({name}): ${v} is {vt}, the argument is {}",
                                f.name, arg.value_type
                            )),
                            None => problems.push(format!("${v} is not declared")),
                        },
                        QValue::Boolean(_)
                        | QValue::Int(_)
                        | QValue::String(_)
                        | QValue::Enum(_) => {}
                        other => problems.push(format!(
                            "{ty}.{}({name}): unchecked literal {other}",
                            f.name
                        )),
                    }
                }
                for arg in &def.arguments {
                    let required = matches!(arg.value_type, Type::NonNullType(_))
                        && arg.default_value.is_none();
                    if required && !f.arguments.iter().any(|(n, _)| *n == arg.name) {
                        problems.push(format!("{ty}.{} needs argument {}", f.name, arg.name));
                    }
                }
                let out = base(&def.field_type).to_owned();
                let composite = sdl.is_composite(&out);
                if composite && f.selection_set.items.is_empty() {
                    problems.push(format!("{ty}.{} needs a selection", f.name));
                }
                if !composite && !f.selection_set.items.is_empty() {
                    problems.push(format!("{ty}.{} is a leaf", f.name));
                }
                check_selection(sdl, &out, &f.selection_set, vars, problems);
            }
            Selection::InlineFragment(frag) => {
                let on = frag
                    .type_condition
                    .as_ref()
                    .map(|graphql_parser::query::TypeCondition::On(t)| (*t).to_owned())
                    .unwrap_or_else(|| ty.to_owned());
                if !sdl.types.contains_key(&on) {
                    problems.push(format!("fragment on unknown type {on}"));
                }
                check_selection(sdl, &on, &frag.selection_set, vars, problems);
            }
            Selection::FragmentSpread(s) => {
                problems.push(format!("unchecked spread {}", s.fragment_name))
            }
        }
    }
}

/// Problems of one document (empty when monday would accept it), with sample variables.
fn validate(sdl: &Sdl, text: &str, variables: &Value) -> Vec<String> {
    let doc: QDoc<'_, &str> = match graphql_parser::parse_query(text) {
        Ok(d) => d,
        Err(e) => return vec![format!("does not parse: {e}")],
    };
    let mut problems = Vec::new();
    for def in &doc.definitions {
        let QDef::Operation(op) = def else {
            problems.push("fragments are not used by the connector".into());
            continue;
        };
        let (root, var_defs, set) = match op {
            OperationDefinition::Query(q) => ("Query", &q.variable_definitions, &q.selection_set),
            OperationDefinition::Mutation(m) => {
                ("Mutation", &m.variable_definitions, &m.selection_set)
            }
            other => {
                problems.push(format!("unexpected operation {other}"));
                continue;
            }
        };
        let vars: HashMap<String, Type<'static, String>> = var_defs
            .iter()
            .map(|v| (v.name.to_owned(), qtype(&v.var_type)))
            .collect();
        for (name, ty) in &vars {
            if !sdl.types.contains_key(base(ty))
                && !matches!(base(ty), "String" | "Int" | "Boolean" | "ID" | "Float")
            {
                problems.push(format!("${name}: unknown type {ty}"));
            }
            let value = variables.get(name).cloned().unwrap_or(Value::Null);
            sdl.check_input(&value, ty, &format!("${name}"), &mut problems);
        }
        check_selection(sdl, root, set, &vars, &mut problems);
    }
    problems
}

/// Variables like the ones the connector sends with each document.
fn sample_variables(name: &str) -> Value {
    let at = time::OffsetDateTime::from_unix_timestamp(1_779_428_862).unwrap();
    match name {
        "Board" => json!({"ids": ["1"]}),
        "Users" => json!({"limit": 200, "page": 1}),
        "PollFirst" => {
            json!({"board": ["1"], "limit": 500, "qp": connector_monday::queries::poll_query(Some(at)), "cols": ["status"]})
        }
        "PollNext" => json!({"cursor": "c", "limit": 500, "cols": ["status"]}),
        "PageFirst" => json!({"board": ["1"], "limit": 500, "cols": ["status"]}),
        "ItemsById" => json!({"ids": ["1"], "limit": 1, "cols": ["status"]}),
        "FindByKey" => {
            json!({"board": "1", "columns": [{"column_id": "tandem_key", "column_values": ["k"]}], "limit": 500, "cols": ["tandem_key"]})
        }
        "FindItems" => {
            json!({"board": "1", "columns": [{"column_id": "sfid", "column_values": ["006A"]}], "limit": 500, "cols": ["status"]})
        }
        "WriteItems" => {
            json!({"board": "1", "group": null, "labels": false, "n0": "A", "v0": "{}", "i1": "2", "v1": "{}", "n2": "B", "v2": null})
        }
        "CreateWebhook" => {
            json!({"board": "1", "url": "https://tandem.example.com/webhooks/monday", "event": "create_item"})
        }
        "DeleteWebhook" => json!({"id": "7"}),
        "Webhooks" => json!({"board": "1"}),
        _ => json!({}),
    }
}

#[test]
fn every_document_the_connector_sends_is_valid_against_the_real_schema() {
    let sdl = Sdl::load();
    let docs = connector_monday::queries::documents();
    assert!(docs.len() >= 8);
    let mut problems = Vec::new();
    for (name, text) in &docs {
        for p in validate(&sdl, text, &sample_variables(name)) {
            problems.push(format!("{name}: {p}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_validator_catches_what_monday_does_not_have() {
    let sdl = Sdl::load();
    let cases = [
        (
            "query { boards(ids: [1]) { id nope } }",
            json!({}),
            "Board.nope is not in monday's schema",
        ),
        (
            "query { boards(idz: [1]) { id } }",
            json!({}),
            "Query.boards(idz) is not in monday's schema",
        ),
        (
            "query($c: Int) { next_items_page(cursor: $c) { cursor } }",
            json!({}),
            "$c is Int",
        ),
        (
            "mutation { create_item(board_id: 1) { id } }",
            json!({}),
            "needs argument item_name",
        ),
        (
            "query { boards { columns } }",
            json!({}),
            "Board.columns needs a selection",
        ),
        (
            "query($q: ItemsQuery) { boards { items_page(query_params: $q) { cursor } } }",
            json!({"q": {"rules": [{"column_id": "x", "compare_value": [1], "operator": "bigger"}]}}),
            "bigger is not a ItemsQueryRuleOperator value",
        ),
    ];
    for (text, vars, want) in cases {
        let problems = validate(&sdl, text, &vars);
        assert!(
            problems.iter().any(|p| p.contains(want)),
            "{text}: {problems:?}"
        );
    }
}
