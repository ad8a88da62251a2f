//! The served schema (`schema/served.graphql`, a generated subset of monday's real SDL) and
//! the GraphQL machinery over it: an index of types, argument coercion, validation with the
//! complexity estimate (validate.rs), and execution (exec.rs, resolve.rs, mutate.rs).
//!
//! Every field the simulator answers is looked up in this index first, so it can serve
//! nothing that is not in `served.graphql` — and a test checks that file against the real SDL.

mod cell;
pub mod exec;
pub(crate) mod mutate;
mod resolve;
mod stand_ins;
pub mod validate;

use std::collections::HashMap;
use std::sync::LazyLock;

use graphql_parser::query::{Type, Value as GqlValue};
use graphql_parser::schema::{Definition, TypeDefinition};
use serde_json::{Map, Value};

/// The served SDL, also returned by `GET /v2/get_schema`.
pub const SERVED_SDL: &str = include_str!("../../schema/served.graphql");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Interface,
    Enum,
    Scalar,
    Input,
}

#[derive(Debug, Clone)]
pub struct ArgInfo {
    pub name: String,
    pub ty: Type<'static, String>,
    pub default: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct FieldInfo {
    pub ty: Type<'static, String>,
    pub args: Vec<ArgInfo>,
}

#[derive(Debug, Clone)]
pub struct TypeInfo {
    pub kind: Kind,
    pub fields: HashMap<String, FieldInfo>,
    pub interfaces: Vec<String>,
    pub enum_values: Vec<String>,
    pub input_fields: Vec<ArgInfo>,
}

pub struct Schema {
    pub types: HashMap<String, TypeInfo>,
}

pub static SCHEMA: LazyLock<Schema> = LazyLock::new(|| Schema::parse(SERVED_SDL));

fn input_value(v: &graphql_parser::schema::InputValue<'static, String>) -> ArgInfo {
    ArgInfo {
        name: v.name.clone(),
        ty: v.value_type.clone(),
        default: v.default_value.as_ref().map(const_value),
    }
}

/// A literal (no variables) as JSON.
fn const_value(v: &GqlValue<'static, String>) -> Value {
    literal_to_json(v, &|_| None)
}

impl Schema {
    fn parse(sdl: &'static str) -> Schema {
        let doc = match graphql_parser::parse_schema::<String>(sdl) {
            Ok(d) => d.into_static(),
            Err(e) => panic!("served.graphql does not parse: {e}"),
        };
        let mut types = HashMap::new();
        for scalar in ["ID", "String", "Int", "Float", "Boolean"] {
            types.insert(scalar.to_string(), TypeInfo::leaf(Kind::Scalar, vec![]));
        }
        for def in doc.definitions {
            let Definition::TypeDefinition(t) = def else {
                continue;
            };
            let (name, info) = match t {
                TypeDefinition::Object(o) => (
                    o.name,
                    TypeInfo {
                        kind: Kind::Object,
                        fields: o
                            .fields
                            .iter()
                            .map(|f| {
                                (
                                    f.name.clone(),
                                    FieldInfo {
                                        ty: f.field_type.clone(),
                                        args: f.arguments.iter().map(input_value).collect(),
                                    },
                                )
                            })
                            .collect(),
                        interfaces: o.implements_interfaces,
                        enum_values: vec![],
                        input_fields: vec![],
                    },
                ),
                TypeDefinition::Interface(o) => (
                    o.name,
                    TypeInfo {
                        kind: Kind::Interface,
                        fields: o
                            .fields
                            .iter()
                            .map(|f| {
                                (
                                    f.name.clone(),
                                    FieldInfo {
                                        ty: f.field_type.clone(),
                                        args: f.arguments.iter().map(input_value).collect(),
                                    },
                                )
                            })
                            .collect(),
                        interfaces: vec![],
                        enum_values: vec![],
                        input_fields: vec![],
                    },
                ),
                TypeDefinition::Enum(e) => (
                    e.name,
                    TypeInfo::leaf(Kind::Enum, e.values.into_iter().map(|v| v.name).collect()),
                ),
                TypeDefinition::Scalar(s) => (s.name, TypeInfo::leaf(Kind::Scalar, vec![])),
                TypeDefinition::InputObject(i) => {
                    let mut info = TypeInfo::leaf(Kind::Input, vec![]);
                    info.input_fields = i.fields.iter().map(input_value).collect();
                    (i.name, info)
                }
                TypeDefinition::Union(u) => (u.name, TypeInfo::leaf(Kind::Object, vec![])),
            };
            types.insert(name, info);
        }
        Schema { types }
    }

    pub fn field(&self, type_name: &str, field: &str) -> Option<&FieldInfo> {
        self.types.get(type_name)?.fields.get(field)
    }

    /// Whether a fragment on `condition` applies to an object of `concrete` type.
    pub fn applies(&self, condition: &str, concrete: &str) -> bool {
        condition == concrete
            || self
                .types
                .get(concrete)
                .is_some_and(|t| t.interfaces.iter().any(|i| i == condition))
    }
}

impl TypeInfo {
    fn leaf(kind: Kind, enum_values: Vec<String>) -> Self {
        Self {
            kind,
            fields: HashMap::new(),
            interfaces: vec![],
            enum_values,
            input_fields: vec![],
        }
    }
}

/// The named type at the bottom of list/non-null wrappers.
pub fn base_name<'a>(t: &'a Type<'static, String>) -> &'a str {
    match t {
        Type::NamedType(n) => n,
        Type::ListType(i) | Type::NonNullType(i) => base_name(i),
    }
}

pub fn is_list(t: &Type<'static, String>) -> bool {
    match t {
        Type::NamedType(_) => false,
        Type::ListType(_) => true,
        Type::NonNullType(i) => is_list(i),
    }
}

/// A GraphQL value (literal or with variables) as JSON.
pub fn literal_to_json<'a, T: graphql_parser::query::Text<'a>>(
    v: &GqlValue<'a, T>,
    vars: &dyn Fn(&str) -> Option<Value>,
) -> Value
where
    T::Value: AsRef<str>,
{
    match v {
        GqlValue::Variable(n) => vars(n.as_ref()).unwrap_or(Value::Null),
        GqlValue::Int(n) => n.as_i64().map(Value::from).unwrap_or(Value::Null),
        GqlValue::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        GqlValue::String(s) => Value::String(s.clone()),
        GqlValue::Boolean(b) => Value::Bool(*b),
        GqlValue::Null => Value::Null,
        GqlValue::Enum(e) => Value::String(e.as_ref().to_string()),
        GqlValue::List(l) => Value::Array(l.iter().map(|x| literal_to_json(x, vars)).collect()),
        GqlValue::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.as_ref().to_string(), literal_to_json(x, vars)))
                .collect::<Map<_, _>>(),
        ),
    }
}

/// Check a JSON input value against a declared input type; returns a message on mismatch.
/// Applies defaults of input-object fields.
pub fn coerce_input(
    schema: &Schema,
    ty: &Type<'static, String>,
    v: Value,
) -> Result<Value, String> {
    match ty {
        Type::NonNullType(inner) => {
            if v.is_null() {
                return Err(format!(
                    "Expected non-nullable type \"{ty}\" not to be null."
                ));
            }
            coerce_input(schema, inner, v)
        }
        _ if v.is_null() => Ok(Value::Null),
        Type::ListType(inner) => match v {
            Value::Array(a) => a
                .into_iter()
                .map(|x| coerce_input(schema, inner, x))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            single => Ok(Value::Array(vec![coerce_input(schema, inner, single)?])),
        },
        Type::NamedType(name) => {
            let bad = |v: &Value| format!("Expected type \"{name}\", found {v}.");
            match name.as_str() {
                "ID" => match v {
                    Value::String(_) => Ok(v),
                    Value::Number(ref n) if n.is_i64() => Ok(Value::String(n.to_string())),
                    other => Err(bad(&other)),
                },
                "Int" => {
                    if v.is_i64() {
                        Ok(v)
                    } else {
                        Err(bad(&v))
                    }
                }
                "Float" => {
                    if v.is_number() {
                        Ok(v)
                    } else {
                        Err(bad(&v))
                    }
                }
                "String" => {
                    if v.is_string() {
                        Ok(v)
                    } else {
                        Err(bad(&v))
                    }
                }
                "Boolean" => {
                    if v.is_boolean() {
                        Ok(v)
                    } else {
                        Err(bad(&v))
                    }
                }
                _ => match schema.types.get(name.as_str()).map(|t| t.kind) {
                    Some(Kind::Enum) => {
                        let ok = v.as_str().is_some_and(|s| {
                            schema.types[name.as_str()]
                                .enum_values
                                .iter()
                                .any(|e| e == s)
                        });
                        if ok {
                            Ok(v)
                        } else {
                            Err(format!("Value {v} does not exist in \"{name}\" enum."))
                        }
                    }
                    Some(Kind::Input) => {
                        let Value::Object(mut m) = v else {
                            return Err(bad(&v));
                        };
                        let info = &schema.types[name.as_str()];
                        for k in m.keys() {
                            if !info.input_fields.iter().any(|f| &f.name == k) {
                                return Err(format!(
                                    "Field \"{k}\" is not defined by type \"{name}\"."
                                ));
                            }
                        }
                        let mut out = Map::new();
                        for f in &info.input_fields {
                            let given = m.remove(&f.name);
                            let val = match (given, &f.default) {
                                (Some(g), _) => g,
                                (None, Some(d)) => d.clone(),
                                (None, None) => Value::Null,
                            };
                            let val = coerce_input(schema, &f.ty, val)?;
                            if !val.is_null() || out.contains_key(&f.name) {
                                out.insert(f.name.clone(), val);
                            }
                        }
                        Ok(Value::Object(out))
                    }
                    // Custom scalars (JSON, CompareValue, Date, …) take any value.
                    _ => Ok(v),
                },
            }
        }
    }
}
