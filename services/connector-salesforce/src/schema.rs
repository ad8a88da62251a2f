//! DescribeGlobal and DescribeObject: the queryable, non-deprecated objects of an org, and one
//! object's fields with their Tandem kind (libs/core), required-ness and picklist values. Both
//! are cached in memory per connection for a short while (`describe_ttl`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tandem_proto::v1::{DescribeObjectResponse, PicklistValue, SObjectSummary, SalesforceField};

use crate::api::Api;
use crate::error::Error;

/// The external-id field Tandem prefers as idempotency key when an object has it.
pub const TANDEM_KEY_FIELD: &str = "Tandem_Key__c";

/// One described object.
#[derive(Debug, Clone)]
pub struct Described {
    pub summary: SObjectSummary,
    pub fields: Vec<SalesforceField>,
    pub idempotency_field: Option<String>,
    /// The lookup fields whose related record's name can be read in the same query.
    pub lookups: Vec<Lookup>,
}

/// A lookup (reference) field and how SOQL reaches its related record's name:
/// `{relationship}.{name_field}`, e.g. `Account.Name` for `AccountId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub field: String,
    pub relationship: String,
    pub name_field: String,
}

impl Lookup {
    /// The SOQL path of the related record's name.
    pub fn path(&self) -> String {
        format!("{}.{}", self.relationship, self.name_field)
    }
}

/// Standard objects whose name field is not `Name`. A polymorphic lookup always reads
/// `Name` (Salesforce's `Name` entity answers it for every target).
const NAME_FIELDS: &[(&str, &str)] = &[
    ("Case", "CaseNumber"),
    ("Contract", "ContractNumber"),
    ("Order", "OrderNumber"),
    ("Solution", "SolutionName"),
    ("Task", "Subject"),
    ("Event", "Subject"),
    ("Idea", "Title"),
    ("Note", "Title"),
    ("ContentDocument", "Title"),
    ("ContentVersion", "Title"),
    ("WorkOrder", "WorkOrderNumber"),
];

/// The lookup of a describe field entry, when it is a reference with a relationship name.
fn lookup(entry: &Json) -> Option<Lookup> {
    if entry.get("type").and_then(Json::as_str) != Some("reference") {
        return None;
    }
    let field = entry.get("name").and_then(Json::as_str)?;
    let relationship = entry
        .get("relationshipName")
        .and_then(Json::as_str)
        .filter(|r| !r.is_empty())?;
    let targets: Vec<&str> = entry
        .get("referenceTo")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let name_field = match targets.as_slice() {
        [one] => NAME_FIELDS
            .iter()
            .find(|(o, _)| o == one)
            .map_or("Name", |(_, n)| n),
        _ => "Name",
    };
    Some(Lookup {
        field: field.to_owned(),
        relationship: relationship.to_owned(),
        name_field: name_field.to_owned(),
    })
}

impl Described {
    pub fn to_response(&self) -> DescribeObjectResponse {
        DescribeObjectResponse {
            object: Some(self.summary.clone()),
            fields: self.fields.clone(),
            idempotency_field: self.idempotency_field.clone().unwrap_or_default(),
        }
    }

    /// The field's API name as Salesforce spells it (names are case-insensitive).
    pub fn field_name(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.name.as_str())
    }
}

type Entry<T> = (Instant, Arc<T>);

pub struct DescribeCache {
    ttl: Duration,
    objects: Mutex<HashMap<(String, String), Entry<Described>>>,
    globals: Mutex<HashMap<String, Entry<Vec<SObjectSummary>>>>,
    orgs: Mutex<HashMap<String, Entry<tandem_proto::v1::Organization>>>,
}

impl DescribeCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            objects: Mutex::default(),
            globals: Mutex::default(),
            orgs: Mutex::default(),
        }
    }

    fn fresh<K: std::hash::Hash + Eq, T>(
        &self,
        map: &Mutex<HashMap<K, Entry<T>>>,
        key: &K,
    ) -> Option<Arc<T>> {
        let map = map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    fn put<K: std::hash::Hash + Eq, T>(
        &self,
        map: &Mutex<HashMap<K, Entry<T>>>,
        key: K,
        v: Arc<T>,
    ) {
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < self.ttl);
        map.insert(key, (Instant::now(), v));
    }
}

impl DescribeCache {
    pub fn organization(&self, connection: &str) -> Option<Arc<tandem_proto::v1::Organization>> {
        self.fresh(&self.orgs, &connection.to_owned())
    }

    pub fn remember_organization(
        &self,
        connection: String,
        org: Arc<tandem_proto::v1::Organization>,
    ) {
        self.put(&self.orgs, connection, org);
    }
}

/// Checks an sObject API name (`Account`, `Project__c`, `ns__Thing__c`).
pub fn object_name(raw: &str, field: &str) -> Result<String, Error> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Error::invalid(
            field,
            "is required: an object API name such as `Account`",
        ));
    }
    if s.len() > 120
        || !s.starts_with(|c: char| c.is_ascii_alphabetic())
        || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::invalid(
            field,
            format!(
                "`{}` is not an object API name (letters, digits, underscores)",
                s.chars().take(80).collect::<String>()
            ),
        ));
    }
    Ok(s.to_owned())
}

fn summary(o: &Json) -> SObjectSummary {
    let s = |k: &str| {
        o.get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let b = |k: &str| o.get(k).and_then(Json::as_bool).unwrap_or(false);
    SObjectSummary {
        name: s("name"),
        label: s("label"),
        custom: b("custom"),
        createable: b("createable"),
        updateable: b("updateable"),
    }
}

fn field(object: &str, entry: &Json) -> Result<SalesforceField, Error> {
    let core = tandem_core::SalesforceField::from_describe(entry)
        .map_err(|e| Error::Protocol(format!("describe of {object}: field: {e}")))?;
    let s = |k: &str| {
        entry
            .get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let b = |k: &str| entry.get(k).and_then(Json::as_bool).unwrap_or(false);
    let reference_to = entry
        .get("referenceTo")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(SalesforceField {
        name: core.name.clone(),
        label: core.label.clone(),
        salesforce_type: s("type"),
        kind: core.kind.name().to_owned(),
        required: core.required,
        createable: b("createable"),
        updateable: b("updateable"),
        length: core.length,
        picklist_values: core
            .picklist_values
            .iter()
            .map(|p| PicklistValue {
                value: p.value.clone(),
                label: p.label.clone(),
                active: p.active,
            })
            .collect(),
        restricted_picklist: core.restricted_picklist,
        reference_to,
        external_id: b("externalId"),
    })
}

/// `Tandem_Key__c` when it is an external id; else any unique, createable text external id.
fn idempotency_field(entries: &[Json]) -> Option<String> {
    let b = |e: &Json, k: &str| e.get(k).and_then(Json::as_bool).unwrap_or(false);
    let name = |e: &Json| e.get("name").and_then(Json::as_str).map(str::to_owned);
    let usable = |e: &&Json| b(e, "externalId") && b(e, "createable");
    if let Some(e) = entries
        .iter()
        .filter(usable)
        .find(|e| name(e).is_some_and(|n| n.eq_ignore_ascii_case(TANDEM_KEY_FIELD)))
    {
        return name(e);
    }
    entries
        .iter()
        .filter(usable)
        .find(|e| {
            b(e, "unique")
                && matches!(
                    e.get("type").and_then(Json::as_str),
                    Some("string" | "email" | "phone")
                )
        })
        .and_then(name)
}

/// Reads a describe body into a [`Described`].
pub fn parse_describe(body: &Json) -> Result<Described, Error> {
    let object = body.get("name").and_then(Json::as_str).unwrap_or("?");
    let entries = body
        .get("fields")
        .and_then(Json::as_array)
        .ok_or_else(|| Error::Protocol(format!("describe of {object} has no fields")))?;
    let fields = entries
        .iter()
        .map(|entry| field(object, entry))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Described {
        summary: summary(body),
        fields,
        idempotency_field: idempotency_field(entries),
        lookups: entries.iter().filter_map(lookup).collect(),
    })
}

impl Api {
    #[tracing::instrument(skip_all, fields(connection_id = %connection_id))]
    pub async fn describe_global(&self, connection_id: &str) -> Result<Vec<SObjectSummary>, Error> {
        let mut session = self.session(connection_id).await?;
        let key = session.connection_id.clone();
        if let Some(hit) = self.describes.fresh(&self.describes.globals, &key) {
            return Ok(hit.as_ref().clone());
        }
        let body = session.get("sobjects").await?;
        let objects: Vec<SObjectSummary> = body
            .get("sobjects")
            .and_then(Json::as_array)
            .ok_or_else(|| Error::Protocol("describeGlobal answer has no sobjects".to_owned()))?
            .iter()
            .filter(|o| {
                o.get("queryable").and_then(Json::as_bool).unwrap_or(false)
                    && !o
                        .get("deprecatedAndHidden")
                        .and_then(Json::as_bool)
                        .unwrap_or(false)
            })
            .map(summary)
            .collect();
        self.describes
            .put(&self.describes.globals, key, Arc::new(objects.clone()));
        Ok(objects)
    }

    /// The object's description, from the cache when fresh.
    #[tracing::instrument(skip_all, fields(connection_id = %connection_id, object = %object))]
    pub async fn describe_object(
        &self,
        connection_id: &str,
        object: &str,
    ) -> Result<Arc<Described>, Error> {
        let mut session = self.session(connection_id).await?;
        self.describe_in(&mut session, object).await
    }

    /// Like [`Api::describe_object`] inside a session (its calls count toward the RPC's).
    pub async fn describe_in(
        &self,
        session: &mut crate::api::Session<'_>,
        object: &str,
    ) -> Result<Arc<Described>, Error> {
        let object = object_name(object, "object")?;
        let key = (session.connection_id.clone(), object.to_ascii_lowercase());
        if let Some(hit) = self.describes.fresh(&self.describes.objects, &key) {
            return Ok(hit);
        }
        let body = match session.get(&format!("sobjects/{object}/describe")).await {
            Err(Error::Remote { status: 404, .. }) => {
                return Err(Error::invalid(
                    "object",
                    format!("`{object}` is not an object of this Salesforce org"),
                ));
            }
            other => other?,
        };
        let described = Arc::new(parse_describe(&body)?);
        self.describes
            .put(&self.describes.objects, key, described.clone());
        Ok(described)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefers_tandem_key_then_any_unique_text_external_id() {
        let d = parse_describe(&json!({"name": "X__c", "fields": [
            {"name": "Legacy__c", "type": "string", "externalId": true, "unique": true, "createable": true},
            {"name": "Tandem_Key__c", "type": "string", "externalId": true, "unique": true, "createable": true},
        ]}))
        .unwrap();
        assert_eq!(d.idempotency_field.as_deref(), Some("Tandem_Key__c"));
        let d = parse_describe(&json!({"name": "X__c", "fields": [
            {"name": "Num__c", "type": "double", "externalId": true, "unique": true, "createable": true},
            {"name": "NotUnique__c", "type": "string", "externalId": true, "createable": true},
            {"name": "Legacy__c", "type": "string", "externalId": true, "unique": true, "createable": true},
        ]}))
        .unwrap();
        assert_eq!(d.idempotency_field.as_deref(), Some("Legacy__c"));
        let d = parse_describe(
            &json!({"name": "X__c", "fields": [{"name": "Name", "type": "string"}]}),
        )
        .unwrap();
        assert_eq!(d.idempotency_field, None);
    }

    #[test]
    fn lookups_read_the_related_name_through_their_relationship() {
        let entry = |name: &str, to: &[&str], rel: Option<&str>| json!({"name": name, "type": "reference", "referenceTo": to, "relationshipName": rel});
        let got = |e: Json| lookup(&e).map(|l| l.path());
        assert_eq!(
            got(entry("AccountId", &["Account"], Some("Account"))),
            Some("Account.Name".into())
        );
        assert_eq!(
            got(entry("OwnerId", &["Group", "User"], Some("Owner"))),
            Some("Owner.Name".into())
        );
        assert_eq!(
            got(entry("Case__c", &["Case"], Some("Case__r"))),
            Some("Case__r.CaseNumber".into())
        );
        assert_eq!(got(entry("MasterRecordId", &["Account"], None)), None);
        assert_eq!(
            got(json!({"name": "Name", "type": "string", "relationshipName": "X"})),
            None
        );
    }

    #[test]
    fn object_names_are_checked() {
        for ok in ["Account", "Project__c", "ns__Thing__c"] {
            assert_eq!(object_name(ok, "object").unwrap(), ok);
        }
        for bad in [
            "",
            "Account; DROP",
            "1Account",
            "Acc ount",
            "Account/describe",
        ] {
            assert!(object_name(bad, "object").is_err(), "{bad}");
        }
    }
}
