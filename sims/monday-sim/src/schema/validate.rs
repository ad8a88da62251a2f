//! Before anything runs: pick the operation, coerce variables, check every field, fragment
//! and argument against the served schema, and estimate the request's complexity in the same
//! walk (the model is in complexity.rs). A request that fails here changes nothing.

use std::collections::HashMap;

use graphql_parser::query::Field;
use graphql_parser::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
    TypeCondition,
};
use serde_json::{Map, Value};

use super::{Kind, SCHEMA, Schema, base_name, coerce_input, is_list, literal_to_json};
use crate::complexity;

pub type Doc<'q> = Document<'q, &'q str>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Query,
    Mutation,
}

/// A validation or parse error: message and location, no extensions.
#[derive(Debug, Clone, PartialEq)]
pub struct GqlError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

pub struct Prepared<'q> {
    pub kind: OpKind,
    pub selection: &'q SelectionSet<'q, &'q str>,
    pub fragments: HashMap<&'q str, &'q FragmentDefinition<'q, &'q str>>,
    pub vars: Map<String, Value>,
    pub complexity: u64,
}

fn err(message: impl Into<String>, pos: graphql_parser::Pos) -> GqlError {
    GqlError {
        message: message.into(),
        line: pos.line,
        column: pos.column,
    }
}

/// Coerce a field's arguments: provided ones (literals or variables) plus declared defaults.
pub fn field_args<'a>(
    schema: &Schema,
    type_name: &str,
    field: &Field<'a, &'a str>,
    vars: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let Some(info) = schema.field(type_name, field.name) else {
        return Err(format!(
            "Cannot query field \"{}\" on type \"{type_name}\".",
            field.name
        ));
    };
    let mut out = Map::new();
    for (name, _) in &field.arguments {
        if !info.args.iter().any(|a| a.name == *name) {
            return Err(format!(
                "Unknown argument \"{name}\" on field \"{type_name}.{}\".",
                field.name
            ));
        }
    }
    for arg in &info.args {
        let given = field
            .arguments
            .iter()
            .find(|(n, _)| *n == arg.name)
            .and_then(|(_, v)| match v {
                graphql_parser::query::Value::Variable(var) if !vars.contains_key(*var) => None,
                v => Some(literal_to_json(v, &|n| vars.get(n).cloned())),
            });
        let value = match (given, &arg.default) {
            (Some(v), _) => v,
            (None, Some(d)) => d.clone(),
            (None, None) => Value::Null,
        };
        let value = coerce_input(schema, &arg.ty, value).map_err(|m| {
            format!(
                "Argument \"{}\" on Field \"{}\" has an invalid value: {m}",
                arg.name, field.name
            )
        })?;
        if !value.is_null() {
            out.insert(arg.name.clone(), value);
        }
    }
    Ok(out)
}

/// Parse-independent preparation of one operation of a parsed document.
pub fn prepare<'q>(
    doc: &'q Doc<'q>,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> Result<Prepared<'q>, Vec<GqlError>> {
    let schema: &Schema = &SCHEMA;
    let start = graphql_parser::Pos { line: 1, column: 1 };
    let mut fragments = HashMap::new();
    let mut ops = Vec::new();
    for def in &doc.definitions {
        match def {
            Definition::Fragment(f) => {
                fragments.insert(f.name, f);
            }
            Definition::Operation(o) => ops.push(o),
        }
    }
    let name_of = |o: &OperationDefinition<'q, &'q str>| match o {
        OperationDefinition::Query(q) => q.name,
        OperationDefinition::Mutation(m) => m.name,
        _ => None,
    };
    let op = match operation_name {
        Some(n) => ops.iter().find(|o| name_of(o) == Some(n)).copied(),
        None if ops.len() == 1 => ops.first().copied(),
        None => {
            return Err(vec![err(
                "Must provide operation name if query contains multiple operations.",
                start,
            )]);
        }
    };
    let Some(op) = op else {
        return Err(vec![err(
            format!(
                "Unknown operation named \"{}\".",
                operation_name.unwrap_or_default()
            ),
            start,
        )]);
    };
    let (kind, selection, var_defs) = match op {
        OperationDefinition::SelectionSet(s) => (OpKind::Query, s, &[][..]),
        OperationDefinition::Query(q) => {
            (OpKind::Query, &q.selection_set, &q.variable_definitions[..])
        }
        OperationDefinition::Mutation(m) => (
            OpKind::Mutation,
            &m.selection_set,
            &m.variable_definitions[..],
        ),
        OperationDefinition::Subscription(s) => {
            return Err(vec![err("Subscriptions are not supported", s.position)]);
        }
    };
    let mut vars = Map::new();
    for d in var_defs {
        let given = variables.get(d.name).cloned();
        let value = match (given, &d.default_value) {
            (Some(v), _) => Some(v),
            (None, Some(dv)) => Some(literal_to_json(dv, &|_| None)),
            (None, None) => None,
        };
        let ty = d.var_type.clone().into_static_string();
        match value {
            Some(v) => match coerce_input(schema, &ty, v) {
                Ok(v) => {
                    vars.insert(d.name.to_string(), v);
                }
                Err(m) => {
                    return Err(vec![err(
                        format!("Variable \"${}\" got invalid value; {m}", d.name),
                        d.position,
                    )]);
                }
            },
            None if matches!(ty, graphql_parser::query::Type::NonNullType(_)) => {
                return Err(vec![err(
                    format!(
                        "Variable \"${}\" of required type \"{}\" was not provided.",
                        d.name, d.var_type
                    ),
                    d.position,
                )]);
            }
            None => {}
        }
    }
    let root = match kind {
        OpKind::Query => "Query",
        OpKind::Mutation => "Mutation",
    };
    let mut walker = Walker {
        schema,
        fragments: &fragments,
        vars: &vars,
        errors: vec![],
    };
    let complexity = walker.walk(root, selection, 0, kind == OpKind::Mutation);
    if !walker.errors.is_empty() {
        return Err(walker.errors);
    }
    Ok(Prepared {
        kind,
        selection,
        fragments,
        vars,
        complexity,
    })
}

trait IntoStaticString {
    fn into_static_string(self) -> graphql_parser::query::Type<'static, String>;
}

impl<'a> IntoStaticString for graphql_parser::query::Type<'a, &'a str> {
    fn into_static_string(self) -> graphql_parser::query::Type<'static, String> {
        use graphql_parser::query::Type;
        match self {
            Type::NamedType(n) => Type::NamedType(n.to_string()),
            Type::ListType(i) => Type::ListType(Box::new(i.into_static_string())),
            Type::NonNullType(i) => Type::NonNullType(Box::new(i.into_static_string())),
        }
    }
}

struct Walker<'w, 'q> {
    schema: &'w Schema,
    fragments: &'w HashMap<&'q str, &'q FragmentDefinition<'q, &'q str>>,
    vars: &'w Map<String, Value>,
    errors: Vec<GqlError>,
}

impl<'q> Walker<'_, 'q> {
    /// Validate a selection set on `parent` and return its estimated complexity.
    fn walk(
        &mut self,
        parent: &str,
        set: &'q SelectionSet<'q, &'q str>,
        depth: usize,
        root_mutation: bool,
    ) -> u64 {
        if depth > 30 {
            self.errors
                .push(err("Query is nested too deeply", set.span.0));
            return 0;
        }
        let mut cost = 0u64;
        for sel in &set.items {
            match sel {
                Selection::Field(f) => {
                    cost = cost.saturating_add(self.field(parent, f, depth, root_mutation))
                }
                Selection::InlineFragment(i) => {
                    let on = match &i.type_condition {
                        Some(TypeCondition::On(t)) => *t,
                        None => parent,
                    };
                    if self.fragment_target_ok(on, i.position) {
                        cost = cost.saturating_add(self.walk(
                            on,
                            &i.selection_set,
                            depth + 1,
                            root_mutation,
                        ));
                    }
                }
                Selection::FragmentSpread(s) => match self.fragments.get(s.fragment_name) {
                    Some(f) => {
                        let TypeCondition::On(on) = f.type_condition;
                        if self.fragment_target_ok(on, s.position) {
                            cost = cost.saturating_add(self.walk(
                                on,
                                &f.selection_set,
                                depth + 1,
                                root_mutation,
                            ));
                        }
                    }
                    None => self.errors.push(err(
                        format!("Unknown fragment \"{}\".", s.fragment_name),
                        s.position,
                    )),
                },
            }
        }
        cost
    }

    fn fragment_target_ok(&mut self, on: &str, pos: graphql_parser::Pos) -> bool {
        match self.schema.types.get(on).map(|t| t.kind) {
            Some(Kind::Object | Kind::Interface) => true,
            _ => {
                self.errors
                    .push(err(format!("Unknown type \"{on}\"."), pos));
                false
            }
        }
    }

    fn field(
        &mut self,
        parent: &str,
        f: &'q Field<'q, &'q str>,
        depth: usize,
        root_mutation: bool,
    ) -> u64 {
        if f.name == "__typename" {
            return 0;
        }
        let args = match field_args(self.schema, parent, f, self.vars) {
            Ok(a) => a,
            Err(m) => {
                self.errors.push(err(m, f.position));
                return 0;
            }
        };
        let Some(info) = self.schema.field(parent, f.name) else {
            return 0;
        };
        let target = base_name(&info.ty);
        let composite = matches!(
            self.schema.types.get(target).map(|t| t.kind),
            Some(Kind::Object | Kind::Interface)
        );
        let mut cost = 1u64;
        if composite {
            if f.selection_set.items.is_empty() {
                self.errors.push(err(
                    format!(
                        "Field \"{}\" of type \"{}\" must have a selection of subfields.",
                        f.name, info.ty
                    ),
                    f.position,
                ));
                return 0;
            }
            let children = self.walk(target, &f.selection_set, depth + 1, false);
            let times = complexity::multiplier(parent, f.name, &args, is_list(&info.ty));
            cost = cost.saturating_add(children.saturating_mul(times));
        } else if !f.selection_set.items.is_empty() {
            self.errors.push(err(
                format!(
                    "Field \"{}\" must not have a selection since type \"{}\" has no subfields.",
                    f.name, info.ty
                ),
                f.position,
            ));
        }
        if root_mutation {
            cost = cost.saturating_add(complexity::mutation_cost(f.name));
        }
        cost
    }
}
