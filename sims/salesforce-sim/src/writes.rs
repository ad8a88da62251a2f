//! Create, update, upsert and delete of records in an org, with Salesforce's validation.

use serde_json::{Map, Value, json};

use crate::derived;
use crate::errors::SfError;
use crate::ids;
use crate::pubsub::events::{Change, ChangeKind};
use crate::schema::{ObjectDef, Schema};
use crate::store::{Org, Record, stamp};
use crate::validate::{WriteKind, check_body};

fn not_found() -> SfError {
    SfError::new("NOT_FOUND", "The requested resource does not exist")
}

fn deleted() -> SfError {
    SfError::with_fields("ENTITY_IS_DELETED", "entity is deleted", vec![])
}

/// Lookups must point at live records of an allowed type; unique fields must be unique.
fn check_refs_and_unique(
    schema: &Schema,
    org: &Org,
    o: &ObjectDef,
    values: &Map<String, Value>,
    self_id: Option<&str>,
) -> Result<(), SfError> {
    for (name, v) in values {
        let (Some(f), Some(id)) = (o.field(name), v.as_str()) else {
            continue;
        };
        if f.kind == "reference" {
            let targets: Vec<&ObjectDef> = f
                .reference_to
                .iter()
                .filter_map(|t| schema.object(t))
                .collect();
            let target = schema.object_for_id(id);
            let allowed = target.is_some_and(|t| targets.iter().any(|x| x.name == t.name));
            if allowed && org.record(schema, id).is_none_or(Record::deleted) {
                return Err(SfError::with_fields(
                    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                    format!("insufficient access rights on cross-reference id: {id}"),
                    vec![],
                ));
            }
            if target.is_some() && !allowed {
                return Err(SfError::with_fields(
                    "FIELD_INTEGRITY_EXCEPTION",
                    format!("{}: id value of incorrect type: {id}", f.label()),
                    vec![f.name.clone()],
                ));
            }
        }
        if f.unique {
            let dup = org
                .find_by(&o.name, &f.name, id)
                .into_iter()
                .find(|other| Some(other.as_str()) != self_id);
            if let Some(other) = dup {
                return Err(SfError::with_fields(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {}",
                        f.name,
                        ids::short(&other)
                    ),
                    vec![],
                ));
            }
        }
    }
    Ok(())
}

/// Creates a record as `user_id`; returns its id.
pub fn create(
    schema: &Schema,
    org: &mut Org,
    o: &ObjectDef,
    body: &Map<String, Value>,
    user_id: &str,
) -> Result<String, SfError> {
    let values = check_body(o, body, WriteKind::Create)?;
    check_refs_and_unique(schema, org, o, &values, None)?;
    let id = org.next_id(&o.key_prefix);
    let now = stamp();
    let mut fields = Map::new();
    for f in &o.fields {
        let default = if f.kind == "boolean" {
            f.default_value.clone().unwrap_or(json!(false))
        } else if f.defaulted_on_create {
            f.picklist_values
                .iter()
                .find(|p| p.default_value)
                .map(|p| json!(p.value))
                .or_else(|| f.default_value.clone())
                .unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        fields.insert(f.name.clone(), default);
    }
    fields.extend(values);
    fields.insert("Id".into(), json!(id));
    fields.insert("IsDeleted".into(), json!(false));
    if o.has_owner() && fields.get("OwnerId").is_none_or(Value::is_null) {
        fields.insert("OwnerId".into(), json!(user_id));
    }
    for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        fields.insert(f.into(), json!(now));
    }
    for f in ["CreatedById", "LastModifiedById"] {
        fields.insert(f.into(), json!(user_id));
    }
    derived::apply(o, &mut fields);
    org.cdc.record(Change {
        object: o.name.clone(),
        id: id.clone(),
        kind: ChangeKind::Create,
        before: None,
        after: fields.clone(),
        user: user_id.to_string(),
        txn: 0,
    });
    org.table_mut(&o.name).insert(
        id.clone(),
        Record {
            id: id.clone(),
            object: o.name.clone(),
            fields,
            deleted_at: None,
        },
    );
    org.note_write(&o.name, &id);
    Ok(id)
}

/// Updates a live record as `user_id`.
pub fn update(
    schema: &Schema,
    org: &mut Org,
    o: &ObjectDef,
    id: &str,
    body: &Map<String, Value>,
    user_id: &str,
) -> Result<(), SfError> {
    let id = ids::normalize(id).ok_or_else(not_found)?;
    match org.table(&o.name).and_then(|t| t.get(&id)) {
        None => return Err(not_found()),
        Some(r) if r.deleted() => return Err(deleted()),
        Some(_) => {}
    }
    let values = check_body(o, body, WriteKind::Update)?;
    check_refs_and_unique(schema, org, o, &values, Some(&id))?;
    let now = stamp();
    let table = org.table_mut(&o.name);
    let Some(r) = table.get_mut(&id) else {
        return Err(not_found());
    };
    let before = r.fields.clone();
    r.fields.extend(values);
    r.fields.insert("LastModifiedDate".into(), json!(now));
    r.fields.insert("SystemModstamp".into(), json!(now));
    r.fields.insert("LastModifiedById".into(), json!(user_id));
    derived::apply(o, &mut r.fields);
    let change = Change {
        object: o.name.clone(),
        id,
        kind: ChangeKind::Update,
        before: Some(before),
        after: r.fields.clone(),
        user: user_id.to_string(),
        txn: 0,
    };
    org.note_write(&o.name, &change.id);
    org.cdc.record(change);
    Ok(())
}

/// Sets fields directly, read-only and audit fields included, without validation rules or
/// new stamps (values are still converted to their wire form). For tests that need, say, a
/// `SystemModstamp` in the past.
pub fn force(
    schema: &Schema,
    org: &mut Org,
    id: &str,
    values: &Map<String, Value>,
) -> Result<(), SfError> {
    let r = org.record_mut(schema, id).ok_or_else(not_found)?;
    let o = schema.object(&r.object).ok_or_else(not_found)?;
    for (key, value) in values {
        let f = o.field(key).ok_or_else(|| {
            SfError::new(
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {}", o.name),
            )
        })?;
        let v = crate::validate::coerce(f, value)?;
        r.fields.insert(f.name.clone(), v);
    }
    derived::apply(o, &mut r.fields);
    let (object, id) = (r.object.clone(), r.id.clone());
    org.note_write(&object, &id);
    Ok(())
}

/// Moves a record to the recycle bin.
pub fn delete(schema: &Schema, org: &mut Org, id: &str) -> Result<String, SfError> {
    delete_as(schema, org, id, None)
}

/// Moves a record to the recycle bin as `user_id` (the record's last modifier when `None`).
pub fn delete_as(
    schema: &Schema,
    org: &mut Org,
    id: &str,
    user_id: Option<&str>,
) -> Result<String, SfError> {
    let r = org.record_mut(schema, id).ok_or_else(not_found)?;
    if r.deleted() {
        return Err(deleted());
    }
    let now = stamp();
    let before = r.fields.clone();
    r.fields.insert("IsDeleted".into(), json!(true));
    r.fields.insert("SystemModstamp".into(), json!(now));
    r.deleted_at = Some(now);
    let user = user_id
        .map(str::to_string)
        .or_else(|| {
            before
                .get("LastModifiedById")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let change = Change {
        object: r.object.clone(),
        id: r.id.clone(),
        kind: ChangeKind::Delete,
        before: Some(before),
        after: r.fields.clone(),
        user,
        txn: 0,
    };
    let id = r.id.clone();
    org.cdc.record(change);
    Ok(id)
}

/// Restores a record from the recycle bin as `user_id`.
pub fn undelete(
    schema: &Schema,
    org: &mut Org,
    id: &str,
    user_id: &str,
) -> Result<String, SfError> {
    let r = org.record_mut(schema, id).ok_or_else(not_found)?;
    if !r.deleted() {
        return Err(SfError::with_fields(
            "UNDELETE_FAILED",
            "Entity is not in the recycle bin",
            vec![],
        ));
    }
    let now = stamp();
    let before = r.fields.clone();
    r.fields.insert("IsDeleted".into(), json!(false));
    r.fields.insert("SystemModstamp".into(), json!(now));
    r.fields.insert("LastModifiedDate".into(), json!(now));
    r.fields.insert("LastModifiedById".into(), json!(user_id));
    r.deleted_at = None;
    let change = Change {
        object: r.object.clone(),
        id: r.id.clone(),
        kind: ChangeKind::Undelete,
        before: Some(before),
        after: r.fields.clone(),
        user: user_id.to_string(),
        txn: 0,
    };
    let id = r.id.clone();
    org.cdc.record(change);
    Ok(id)
}

/// The external id an upsert matches on.
pub struct ExtKey<'a> {
    pub field: &'a str,
    pub value: &'a str,
    /// `?updateOnly=true`: never create.
    pub update_only: bool,
}

/// Upsert by external id; returns the id and whether the record was created.
pub fn upsert(
    schema: &Schema,
    org: &mut Org,
    o: &ObjectDef,
    key: &ExtKey,
    body: &Map<String, Value>,
    user_id: &str,
) -> Result<(String, bool), SfError> {
    let (ext_field, ext_value, update_only) = (key.field, key.value, key.update_only);
    let Some(f) = o.field(ext_field) else {
        return Err(SfError::new(
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {ext_field}"),
        ));
    };
    if f.name == "Id" {
        update(schema, org, o, ext_value, body, user_id)?;
        return Ok((ids::normalize(ext_value).unwrap_or_default(), false));
    }
    if !(f.external_id || f.id_lookup) {
        return Err(SfError::new(
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {ext_field}"),
        ));
    }
    let mut body = body.clone();
    body.retain(|k, _| !k.eq_ignore_ascii_case(&f.name));
    let matches = org.find_by(&o.name, &f.name, ext_value);
    match matches.as_slice() {
        [] if update_only => Err(not_found()),
        [] => {
            body.insert(f.name.clone(), json!(ext_value));
            create(schema, org, o, &body, user_id).map(|id| (id, true))
        }
        [id] => {
            let id = id.clone();
            update(schema, org, o, &id, &body, user_id).map(|()| (id, false))
        }
        many => Err(SfError::with_fields(
            "DUPLICATE_EXTERNAL_ID",
            format!(
                "{}: more than one record found for external id field: [{}]",
                f.label(),
                many.join(", ")
            ),
            vec![f.name.clone()],
        )),
    }
}
