//! The Avro schema of an object's change event, as `GetSchema` returns it, and the encoding
//! of one event. The schema is a record `<Object>ChangeEvent` (custom objects:
//! `<Name>__ChangeEvent`) whose field 0 is `ChangeEventHeader` and whose other fields are
//! the object's fields, each a union with `null` (null when it did not change). Address
//! fields and a person's name are nested records (compound fields), as in Salesforce.
//! Formula fields, `Id`, `IsDeleted`, `SystemModstamp` and the view stamps are not in it.

use apache_avro::types::Value as Avro;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::clock;
use crate::schema::{FieldDef, ObjectDef};

/// The change types of `ChangeEventHeader.changeType`, in enum order.
pub const CHANGE_TYPES: [&str; 9] = [
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
];

/// How a record field's wire value becomes Avro.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leaf {
    String,
    Boolean,
    Double,
    Int,
    Long,
    /// Milliseconds since the epoch.
    DateTime,
    /// Days since the epoch.
    Date,
}

impl Leaf {
    fn of(f: &FieldDef) -> Leaf {
        match f.kind.as_str() {
            "boolean" => Leaf::Boolean,
            "double" | "currency" | "percent" => Leaf::Double,
            "int" => Leaf::Int,
            "long" => Leaf::Long,
            "datetime" => Leaf::DateTime,
            "date" => Leaf::Date,
            _ => Leaf::String,
        }
    }

    /// `string`, `boolean`, `double`, `int`, `long`, `datetime`, `date`.
    pub fn parse(name: &str) -> Option<Leaf> {
        Some(match name {
            "string" => Leaf::String,
            "boolean" => Leaf::Boolean,
            "double" => Leaf::Double,
            "int" => Leaf::Int,
            "long" => Leaf::Long,
            "datetime" => Leaf::DateTime,
            "date" => Leaf::Date,
            _ => return None,
        })
    }

    pub fn avro_type(self) -> &'static str {
        match self {
            Leaf::String => "string",
            Leaf::Boolean => "boolean",
            Leaf::Double => "double",
            Leaf::Int | Leaf::Date => "int",
            Leaf::Long | Leaf::DateTime => "long",
        }
    }

    fn doc(self, name: &str) -> String {
        match self {
            Leaf::DateTime => format!("{name}:DateTime"),
            Leaf::Date => format!("{name}:Date"),
            _ => name.to_string(),
        }
    }

    /// The wire value (`null` → `None`) as Avro.
    pub fn convert(self, v: &Value) -> Option<Avro> {
        match (self, v) {
            (_, Value::Null) => None,
            (Leaf::Boolean, Value::Bool(b)) => Some(Avro::Boolean(*b)),
            (Leaf::Double, Value::Number(n)) => n.as_f64().map(Avro::Double),
            (Leaf::Int, Value::Number(n)) => n.as_i64().map(|i| Avro::Int(i as i32)),
            (Leaf::Long, Value::Number(n)) => n.as_i64().map(Avro::Long),
            (Leaf::DateTime, Value::String(s)) => {
                clock::parse_datetime(s).map(|t| Avro::Long(clock::epoch_ms(t) as i64))
            }
            (Leaf::Date, Value::String(s)) => clock::parse_date(s).map(|d| {
                Avro::Int(d.to_julian_day() - time::macros::date!(1970 - 01 - 01).to_julian_day())
            }),
            (Leaf::String, Value::String(s)) => Some(Avro::String(s.clone())),
            (Leaf::String, other) => Some(Avro::String(other.to_string())),
            _ => None,
        }
    }
}

/// One member of a compound field: its name in the nested record and the record field it
/// comes from.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub source: String,
    pub leaf: Leaf,
}

/// A top-level field of the event schema (position = index + 1: 0 is the header).
#[derive(Debug, Clone)]
pub enum EventField {
    Leaf { name: String, leaf: Leaf },
    Compound { name: String, members: Vec<Member> },
}

impl EventField {
    pub fn name(&self) -> &str {
        match self {
            EventField::Leaf { name, .. } | EventField::Compound { name, .. } => name,
        }
    }
}

/// An object's change event schema, parsed once.
#[derive(Debug)]
pub struct EventSchema {
    pub id: String,
    pub json: String,
    pub avro: apache_avro::Schema,
    pub entity: String,
    pub fields: Vec<EventField>,
}

/// `AccountChangeEvent`, `Project__ChangeEvent`.
pub fn event_name(object: &str) -> String {
    match object.strip_suffix("__c") {
        Some(base) => format!("{base}__ChangeEvent"),
        None => format!("{object}ChangeEvent"),
    }
}

/// The schema id: a fingerprint of the schema JSON (22 URL-safe base64 characters, like
/// Salesforce's).
pub fn schema_id(json: &str) -> String {
    use base64::Engine;
    let digest = Sha256::digest(json.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn excluded(f: &FieldDef) -> bool {
    f.calculated
        || matches!(
            f.name.as_str(),
            "Id" | "IsDeleted" | "SystemModstamp" | "LastViewedDate" | "LastReferencedDate"
        )
}

/// The event's fields, in the object's field order.
pub fn event_fields(o: &ObjectDef) -> Vec<EventField> {
    let person_name = ["FirstName", "LastName"]
        .iter()
        .all(|n| o.field(n).is_some())
        && o.field("Name").is_some();
    let mut out = Vec::new();
    for f in &o.fields {
        if excluded(f) {
            continue;
        }
        if person_name && matches!(f.name.as_str(), "FirstName" | "LastName" | "Salutation") {
            continue;
        }
        if f.compound_field_name.as_ref().is_some_and(|c| *c != f.name) {
            continue;
        }
        if person_name && f.name == "Name" {
            let members = ["Salutation", "FirstName", "LastName"]
                .iter()
                .filter_map(|n| o.field(n))
                .map(|m| Member {
                    name: m.name.clone(),
                    source: m.name.clone(),
                    leaf: Leaf::String,
                })
                .collect();
            out.push(EventField::Compound {
                name: "Name".into(),
                members,
            });
        } else if f.is_compound() {
            let prefix = f.name.strip_suffix("Address").unwrap_or(&f.name);
            let members = o
                .fields
                .iter()
                .filter(|m| m.compound_field_name.as_deref() == Some(f.name.as_str()))
                .map(|m| Member {
                    name: m.name.strip_prefix(prefix).unwrap_or(&m.name).to_string(),
                    source: m.name.clone(),
                    leaf: Leaf::of(m),
                })
                .collect();
            out.push(EventField::Compound {
                name: f.name.clone(),
                members,
            });
        } else {
            out.push(EventField::Leaf {
                name: f.name.clone(),
                leaf: Leaf::of(f),
            });
        }
    }
    out
}

fn header_schema() -> Value {
    let strings = json!({"type": "array", "items": "string"});
    json!({
        "type": "record", "name": "ChangeEventHeader", "namespace": "com.salesforce.eventbus",
        "fields": [
            {"name": "entityName", "type": "string"},
            {"name": "recordIds", "type": strings},
            {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "namespace": "com.salesforce.eventbus", "symbols": CHANGE_TYPES}},
            {"name": "changeOrigin", "type": "string"},
            {"name": "transactionKey", "type": "string"},
            {"name": "sequenceNumber", "type": "int"},
            {"name": "commitTimestamp", "type": "long"},
            {"name": "commitNumber", "type": "long"},
            {"name": "commitUser", "type": "string"},
            {"name": "nulledFields", "type": strings},
            {"name": "diffFields", "type": strings},
            {"name": "changedFields", "type": strings},
        ]
    })
}

/// The schema JSON for an object's change event.
pub fn schema_json(o: &ObjectDef, fields: &[EventField]) -> String {
    let mut list = vec![
        json!({"name": "ChangeEventHeader", "type": header_schema(), "doc": "Data:ChangeEventHeader"}),
    ];
    for f in fields {
        let (ty, doc) = match f {
            EventField::Leaf { name, leaf } => (json!(leaf.avro_type()), leaf.doc(name)),
            EventField::Compound { name, members } => {
                let record = if name == "Name" {
                    "PersonName"
                } else {
                    "Address"
                };
                let inner: Vec<Value> = members
                    .iter()
                    .map(|m| json!({"name": m.name, "type": ["null", m.leaf.avro_type()], "default": null}))
                    .collect();
                // A record type is defined once per schema; later uses name it.
                (
                    json!({"type": "record", "name": format!("{name}_{record}"), "fields": inner}),
                    format!("{name}:Compound"),
                )
            }
        };
        list.push(json!({"name": f.name(), "type": ["null", ty], "doc": doc, "default": null}));
    }
    let mut schema = Map::new();
    schema.insert("type".into(), json!("record"));
    schema.insert("name".into(), json!(event_name(&o.name)));
    schema.insert("namespace".into(), json!("com.sforce.eventbus"));
    schema.insert("fields".into(), Value::Array(list));
    Value::Object(schema).to_string()
}

/// Builds and parses the schema of `o`.
pub fn build(o: &ObjectDef) -> Result<EventSchema, apache_avro::Error> {
    let fields = event_fields(o);
    let json = schema_json(o, &fields);
    let avro = apache_avro::Schema::parse_str(&json)?;
    Ok(EventSchema {
        id: schema_id(&json),
        json,
        avro,
        entity: o.name.clone(),
        fields,
    })
}

/// What an event's header says.
#[derive(Debug, Clone)]
pub struct Header {
    pub entity: String,
    pub record_ids: Vec<String>,
    pub change_type: usize,
    pub origin: String,
    pub transaction_key: String,
    pub sequence_number: i32,
    pub commit_timestamp: i64,
    pub commit_number: i64,
    pub commit_user: String,
    pub nulled: Vec<String>,
    pub diff: Vec<String>,
    pub changed: Vec<String>,
}

fn strings(list: &[String]) -> Avro {
    Avro::Array(list.iter().cloned().map(Avro::String).collect())
}

fn nullable(v: Option<Avro>) -> Avro {
    match v {
        Some(v) => Avro::Union(1, Box::new(v)),
        None => Avro::Union(0, Box::new(Avro::Null)),
    }
}

/// Avro binary of one event: the header and one optional value per top-level field.
pub fn encode(
    schema: &EventSchema,
    h: &Header,
    values: Vec<Option<Avro>>,
) -> Result<Vec<u8>, apache_avro::Error> {
    let header = Avro::Record(vec![
        ("entityName".into(), Avro::String(h.entity.clone())),
        ("recordIds".into(), strings(&h.record_ids)),
        (
            "changeType".into(),
            Avro::Enum(h.change_type as u32, CHANGE_TYPES[h.change_type].into()),
        ),
        ("changeOrigin".into(), Avro::String(h.origin.clone())),
        (
            "transactionKey".into(),
            Avro::String(h.transaction_key.clone()),
        ),
        ("sequenceNumber".into(), Avro::Int(h.sequence_number)),
        ("commitTimestamp".into(), Avro::Long(h.commit_timestamp)),
        ("commitNumber".into(), Avro::Long(h.commit_number)),
        ("commitUser".into(), Avro::String(h.commit_user.clone())),
        ("nulledFields".into(), strings(&h.nulled)),
        ("diffFields".into(), strings(&h.diff)),
        ("changedFields".into(), strings(&h.changed)),
    ]);
    let mut record = vec![("ChangeEventHeader".to_string(), header)];
    let mut values = values.into_iter();
    for f in &schema.fields {
        record.push((f.name().to_string(), nullable(values.next().flatten())));
    }
    apache_avro::to_avro_datum(&schema.avro, Avro::Record(record))
}

/// Reads an Avro binary payload written with `schema` (what a subscriber does).
pub fn decode(schema: &apache_avro::Schema, payload: &[u8]) -> Result<Avro, apache_avro::Error> {
    apache_avro::from_avro_datum(schema, &mut &payload[..], None)
}

/// A compound field's nested record value from per-member values.
pub fn compound(members: &[Member], values: Vec<Option<Avro>>) -> Avro {
    Avro::Record(
        members
            .iter()
            .zip(values)
            .map(|(m, v)| (m.name.clone(), nullable(v)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;

    #[test]
    fn every_object_has_a_parseable_schema_with_the_header_first() {
        let s = Schema::load().unwrap();
        for o in &s.objects {
            let e = build(o).unwrap_or_else(|err| panic!("{}: {err}", o.name));
            let v: Value = serde_json::from_str(&e.json).unwrap();
            assert_eq!(v["fields"][0]["name"], "ChangeEventHeader");
            assert_eq!(e.id.len(), 22);
        }
        let acc = build(s.object("Account").unwrap()).unwrap();
        assert!(acc.fields.iter().any(|f| matches!(f, EventField::Compound { name, members } if name == "BillingAddress" && members.iter().any(|m| m.name == "City"))));
        assert!(
            !acc.fields
                .iter()
                .any(|f| f.name() == "BillingCity" || f.name() == "SystemModstamp")
        );
        let contact = build(s.object("Contact").unwrap()).unwrap();
        assert!(
            contact
                .fields
                .iter()
                .any(|f| matches!(f, EventField::Compound { name, .. } if name == "Name"))
        );
        assert_eq!(event_name("Project__c"), "Project__ChangeEvent");
    }
}
