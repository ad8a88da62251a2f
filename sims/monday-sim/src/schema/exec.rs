//! Execution of a prepared operation: field collection (aliases, fragments, @skip/@include),
//! resolution, output coercion by the served types, null propagation, and errors with paths.
//! Mutations run in document order; each failing one yields `null` plus an error (partial data).

use std::collections::HashMap;

use graphql_parser::query::{
    Field, FragmentDefinition, Selection, SelectionSet, Type, TypeCondition,
};
use serde_json::{Map, Value};

use super::validate::{OpKind, Prepared, field_args};
use super::{Kind, SCHEMA, Schema};
use crate::complexity::Charge;
use crate::errors::{ApiError, error_entry};
use crate::store::{Store, TokenOwner, Webhook};
use crate::webhooks::Event;

/// What a resolver returns; the executor completes it against the field's declared type.
#[derive(Debug, Clone)]
pub enum Val {
    Null,
    /// Nothing the simulator holds: completes as the real API answers for an empty account —
    /// `null` where the type allows it, else an empty list, a default scalar (`""`, `0`,
    /// `false`, the enum's first value) or an object whose fields are all empty.
    Empty,
    Leaf(Value),
    Obj(Obj),
    List(Vec<Val>),
}

/// A reference to a simulated object, resolved lazily field by field.
#[derive(Debug, Clone)]
pub enum Obj {
    Root,
    Board(i64),
    Column(i64, String),
    Group(i64, String),
    Item(i64),
    /// A column value: item id, column id.
    Cell(i64, String),
    Items {
        cursor: Option<String>,
        ids: Vec<i64>,
    },
    User(i64),
    Account(i64),
    Workspace(i64),
    Version(String),
    Complexity,
    Webhook(Webhook),
    LabelStyle(String, String),
    DropdownOption(i64, String),
    PeopleEntity(i64, String),
    /// An object of a served type the simulator has no data for: every field is empty.
    Blank(&'static str),
}

/// Execution context of one request, holding the store lock.
pub struct Ctx<'s> {
    pub store: &'s mut Store,
    pub owner: TokenOwner,
    pub charge: Charge,
    pub cursor_ttl: time::Duration,
    pub max_items_per_board: usize,
    pub api_version: String,
    /// Outcome of the challenge sent to each `create_webhook` URL before execution.
    pub challenges: HashMap<String, bool>,
    pub events: Vec<Event>,
    pub errors: Vec<Value>,
    /// The actual complexity of what was answered (see complexity.rs): 1 a field answered,
    /// plus 10,000 a mutation that succeeded.
    pub actual: u64,
}

impl Ctx<'_> {
    pub fn typename(&self, obj: &Obj) -> &'static str {
        match obj {
            Obj::Root => "Query",
            Obj::Board(_) => "Board",
            Obj::Column(..) => "Column",
            Obj::Group(..) => "Group",
            Obj::Item(_) => "Item",
            Obj::Cell(item, col) => {
                let kind = self
                    .store
                    .items
                    .get(item)
                    .and_then(|i| self.store.boards.get(&i.board_id))
                    .and_then(|b| b.column(col))
                    .map(|c| c.spec.kind.as_str())
                    .unwrap_or_default();
                cell_typename(kind)
            }
            Obj::Items { .. } => "ItemsResponse",
            Obj::User(_) => "User",
            Obj::Account(_) => "Account",
            Obj::Workspace(_) => "Workspace",
            Obj::Version(_) => "Version",
            Obj::Complexity => "Complexity",
            Obj::Webhook(_) => "Webhook",
            Obj::LabelStyle(..) => "StatusLabelStyle",
            Obj::DropdownOption(..) => "DropdownValueOption",
            Obj::PeopleEntity(..) => "PeopleEntity",
            Obj::Blank(name) => name,
        }
    }
}

pub fn cell_typename(kind: &str) -> &'static str {
    match kind {
        "status" => "StatusValue",
        "dropdown" => "DropdownValue",
        "numbers" => "NumbersValue",
        "date" => "DateValue",
        "text" => "TextValue",
        "long_text" => "LongTextValue",
        "phone" => "PhoneValue",
        "email" => "EmailValue",
        "people" => "PeopleValue",
        "link" => "LinkValue",
        "checkbox" => "CheckboxValue",
        "mirror" => "MirrorValue",
        "formula" => "FormulaValue",
        "board_relation" => "BoardRelationValue",
        "item_id" => "ItemIdValue",
        "direct_doc" => "DirectDocValue",
        "subtasks" => "SubtasksValue",
        _ => "UnsupportedValue",
    }
}

struct Exec<'e, 'q, 's> {
    ctx: &'e mut Ctx<'s>,
    schema: &'static Schema,
    fragments: &'e HashMap<&'q str, &'q FragmentDefinition<'q, &'q str>>,
    vars: &'e Map<String, Value>,
    kind: OpKind,
}

/// Run the operation; returns `data` (None when null propagated to the root).
pub fn execute(ctx: &mut Ctx<'_>, prepared: &Prepared<'_>) -> Option<Value> {
    let mut ex = Exec {
        ctx,
        schema: &SCHEMA,
        fragments: &prepared.fragments,
        vars: &prepared.vars,
        kind: prepared.kind,
    };
    let root = match prepared.kind {
        OpKind::Query => "Query",
        OpKind::Mutation => "Mutation",
    };
    let mut path = Vec::new();
    ex.selection(&Obj::Root, root, &[prepared.selection], &mut path)
        .ok()
        .map(Value::Object)
}

fn skipped<'a>(
    directives: &[graphql_parser::query::Directive<'a, &'a str>],
    vars: &Map<String, Value>,
) -> bool {
    directives.iter().any(|d| {
        let cond = d
            .arguments
            .iter()
            .find(|(n, _)| *n == "if")
            .map(|(_, v)| super::literal_to_json(v, &|n| vars.get(n).cloned()))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        (d.name == "skip" && cond) || (d.name == "include" && !cond)
    })
}

impl<'q> Exec<'_, 'q, '_> {
    fn collect<'a>(
        &self,
        concrete: &str,
        sets: &[&'a SelectionSet<'q, &'q str>],
        out: &mut Vec<(&'q str, Vec<&'a Field<'q, &'q str>>)>,
    ) where
        'q: 'a,
    {
        for set in sets {
            for sel in &set.items {
                match sel {
                    Selection::Field(f) => {
                        if skipped(&f.directives, self.vars) {
                            continue;
                        }
                        let key = f.alias.unwrap_or(f.name);
                        match out.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, fs)) => fs.push(f),
                            None => out.push((key, vec![f])),
                        }
                    }
                    Selection::InlineFragment(i) => {
                        if skipped(&i.directives, self.vars) {
                            continue;
                        }
                        let applies = match &i.type_condition {
                            Some(TypeCondition::On(t)) => self.schema.applies(t, concrete),
                            None => true,
                        };
                        if applies {
                            self.collect(concrete, &[&i.selection_set], out);
                        }
                    }
                    Selection::FragmentSpread(s) => {
                        if skipped(&s.directives, self.vars) {
                            continue;
                        }
                        if let Some(f) = self.fragments.get(s.fragment_name) {
                            let TypeCondition::On(t) = f.type_condition;
                            if self.schema.applies(t, concrete) {
                                self.collect(concrete, &[&f.selection_set], out);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Execute a selection on an object of `concrete` type. Err(()) = null propagates.
    fn selection(
        &mut self,
        obj: &Obj,
        concrete: &str,
        sets: &[&SelectionSet<'q, &'q str>],
        path: &mut Vec<Value>,
    ) -> Result<Map<String, Value>, ()> {
        let mut fields = Vec::new();
        self.collect(concrete, sets, &mut fields);
        let mut out = Map::new();
        for (key, fs) in fields {
            let f = fs[0];
            if f.name == "__typename" {
                out.insert(key.to_string(), Value::String(concrete.to_string()));
                continue;
            }
            let Some(info) = self.schema.field(concrete, f.name) else {
                continue;
            };
            path.push(Value::String(key.to_string()));
            let args = field_args(self.schema, concrete, f, self.vars).unwrap_or_default();
            let root_mutation = self.kind == OpKind::Mutation && matches!(obj, Obj::Root);
            let resolved = if root_mutation {
                super::mutate::mutate(self.ctx, f.name, &args)
            } else {
                super::resolve::resolve(self.ctx, obj, f.name, &args)
            };
            self.ctx.actual += 1;
            if root_mutation && resolved.is_ok() {
                self.ctx.actual += crate::complexity::mutation_cost(f.name);
            }
            let subsets: Vec<&SelectionSet<'q, &'q str>> =
                fs.iter().map(|f| &f.selection_set).collect();
            let result = match resolved {
                Ok(v) => self.complete(&info.ty, v, &subsets, path, f),
                Err(e) => {
                    let entry = error_entry(
                        &e.message,
                        f.position.line,
                        f.position.column,
                        path,
                        Some(e.extensions()),
                    );
                    self.ctx.errors.push(entry);
                    Err(())
                }
            };
            path.pop();
            match result {
                Ok(v) => {
                    out.insert(key.to_string(), v);
                }
                Err(()) if matches!(info.ty, Type::NonNullType(_)) => return Err(()),
                Err(()) => {
                    out.insert(key.to_string(), Value::Null);
                }
            }
        }
        Ok(out)
    }

    fn complete(
        &mut self,
        ty: &Type<'static, String>,
        val: Val,
        sets: &[&SelectionSet<'q, &'q str>],
        path: &mut Vec<Value>,
        f: &Field<'q, &'q str>,
    ) -> Result<Value, ()> {
        match ty {
            Type::NonNullType(inner) => {
                let val = match (val, &**inner) {
                    (Val::Empty, Type::NamedType(name)) => empty_of(name),
                    (val, _) => val,
                };
                let v = self.complete(inner, val, sets, path, f)?;
                if v.is_null() {
                    let msg = format!("Cannot return null for non-nullable field {}.", f.name);
                    self.ctx.errors.push(error_entry(
                        &msg,
                        f.position.line,
                        f.position.column,
                        path,
                        None,
                    ));
                    return Err(());
                }
                Ok(v)
            }
            _ if matches!(val, Val::Null) => Ok(Value::Null),
            Type::ListType(_) if matches!(val, Val::Empty) => Ok(Value::Array(Vec::new())),
            Type::ListType(inner) => {
                let items = match val {
                    Val::List(l) => l,
                    other => vec![other],
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    path.push(Value::from(i));
                    let r = self.complete(inner, item, sets, path, f);
                    path.pop();
                    match r {
                        Ok(v) => out.push(v),
                        Err(()) if matches!(**inner, Type::NonNullType(_)) => return Err(()),
                        Err(()) => out.push(Value::Null),
                    }
                }
                Ok(Value::Array(out))
            }
            Type::NamedType(name) => match val {
                Val::Obj(obj) => {
                    let concrete = self.ctx.typename(&obj);
                    self.selection(&obj, concrete, sets, path)
                        .map(Value::Object)
                }
                Val::Leaf(v) => Ok(coerce_output(name, v)),
                Val::List(_) | Val::Null | Val::Empty => Ok(Value::Null),
            },
        }
    }
}

/// The value a non-null field of type `name` has when the simulator holds nothing for it.
fn empty_of(name: &str) -> Val {
    let Some((name, info)) = SCHEMA.types.get_key_value(name) else {
        return Val::Leaf(match name {
            "Int" | "Float" => Value::from(0),
            "Boolean" => Value::Bool(false),
            _ => Value::String(String::new()),
        });
    };
    match info.kind {
        Kind::Object => Val::Obj(Obj::Blank(name.as_str())),
        Kind::Enum => info
            .enum_values
            .first()
            .map_or(Val::Null, |v| Val::Leaf(Value::String(v.clone()))),
        Kind::Scalar if name == "JSON" => Val::Leaf(Value::Object(Map::new())),
        Kind::Scalar => Val::Leaf(Value::String(String::new())),
        Kind::Interface | Kind::Input => Val::Null,
    }
}

fn coerce_output(name: &str, v: Value) -> Value {
    match (name, v) {
        ("ID", Value::Number(n)) => Value::String(n.to_string()),
        ("String", Value::Number(n)) => Value::String(n.to_string()),
        ("Float", Value::String(s)) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        (_, v) => v,
    }
}

/// Shorthand constructors for resolvers.
pub fn s(v: impl Into<String>) -> Val {
    Val::Leaf(Value::String(v.into()))
}

pub fn opt_s(v: Option<impl Into<String>>) -> Val {
    v.map(s).unwrap_or(Val::Null)
}

pub fn leaf(v: impl Into<Value>) -> Val {
    Val::Leaf(v.into())
}

pub fn obj(o: Obj) -> Val {
    Val::Obj(o)
}

pub type Resolved = Result<Val, ApiError>;
