//! The objects the simulated org knows: fields and their metadata, loaded from the JSON data
//! in `schema/` (Account comes from the real recorded describe).

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::errors::Error;

#[derive(Debug, Clone, Deserialize)]
pub struct PicklistValue {
    pub value: String,
    pub label: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default, rename = "defaultValue")]
    pub default_value: bool,
    /// Base64 bitmap over the controlling field's values (dependent picklists).
    #[serde(rename = "validFor")]
    pub valid_for: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: Option<String>,
    pub length: Option<u32>,
    #[serde(default = "yes")]
    pub nillable: bool,
    #[serde(default = "yes")]
    pub createable: bool,
    #[serde(default = "yes")]
    pub updateable: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default)]
    pub calculated: bool,
    pub calculated_formula: Option<String>,
    #[serde(default)]
    pub restricted_picklist: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub id_lookup: bool,
    #[serde(default)]
    pub name_field: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub dependent_picklist: bool,
    pub controller_name: Option<String>,
    #[serde(default)]
    pub precision: u32,
    #[serde(default)]
    pub scale: u32,
    #[serde(default)]
    pub digits: u32,
    pub relationship_name: Option<String>,
    pub compound_field_name: Option<String>,
    pub default_value: Option<Value>,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
}

impl FieldDef {
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }

    pub fn custom(&self) -> bool {
        self.name.ends_with("__c")
    }

    pub fn length(&self) -> u32 {
        self.length.unwrap_or(match self.kind.as_str() {
            "string" | "textarea" | "picklist" | "url" | "combobox" => 255,
            "id" | "reference" => 18,
            "email" => 80,
            "phone" => 40,
            "multipicklist" => 4099,
            _ => 0,
        })
    }

    pub fn is_text(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "string"
                | "textarea"
                | "picklist"
                | "multipicklist"
                | "email"
                | "phone"
                | "url"
                | "combobox"
        )
    }

    pub fn is_number(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "double" | "currency" | "percent" | "int" | "long"
        )
    }

    pub fn is_compound(&self) -> bool {
        matches!(self.kind.as_str(), "address" | "location")
    }

    /// Salesforce's "required on create" rule.
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create && self.kind != "boolean"
    }

    pub fn picklist_allows(&self, value: &str) -> bool {
        self.picklist_values
            .iter()
            .any(|p| p.active && p.value == value)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub fields: Vec<FieldDef>,
    #[serde(skip)]
    by_lower: HashMap<String, usize>,
    #[serde(skip)]
    rel_by_lower: HashMap<String, usize>,
}

impl ObjectDef {
    pub fn custom(&self) -> bool {
        self.name.ends_with("__c")
    }

    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.by_lower
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.fields[i])
    }

    /// The reference field whose relationship name is `rel` (`Owner` → `OwnerId`).
    pub fn relationship(&self, rel: &str) -> Option<&FieldDef> {
        self.rel_by_lower
            .get(&rel.to_ascii_lowercase())
            .map(|&i| &self.fields[i])
    }

    pub fn has_owner(&self) -> bool {
        self.field("OwnerId").is_some()
    }

    fn finish(mut self) -> Self {
        let system: [(&str, &str, &str, Option<&str>); 7] = [
            ("Id", "id", "Record ID", None),
            ("IsDeleted", "boolean", "Deleted", None),
            ("CreatedDate", "datetime", "Created Date", None),
            (
                "CreatedById",
                "reference",
                "Created By ID",
                Some("CreatedBy"),
            ),
            ("LastModifiedDate", "datetime", "Last Modified Date", None),
            (
                "LastModifiedById",
                "reference",
                "Last Modified By ID",
                Some("LastModifiedBy"),
            ),
            ("SystemModstamp", "datetime", "System Modstamp", None),
        ];
        for (i, (name, kind, label, rel)) in system.into_iter().enumerate() {
            if self.fields.iter().any(|f| f.name == name) {
                continue;
            }
            let f = FieldDef {
                name: name.into(),
                kind: kind.into(),
                label: Some(label.into()),
                length: None,
                nillable: false,
                createable: false,
                updateable: false,
                defaulted_on_create: true,
                calculated: false,
                calculated_formula: None,
                restricted_picklist: false,
                external_id: false,
                unique: false,
                id_lookup: name == "Id",
                name_field: false,
                case_sensitive: false,
                dependent_picklist: false,
                controller_name: None,
                precision: 0,
                scale: 0,
                digits: 0,
                relationship_name: rel.map(str::to_string),
                compound_field_name: None,
                default_value: (kind == "boolean").then_some(Value::Bool(false)),
                reference_to: if rel.is_some() {
                    vec!["User".into()]
                } else {
                    vec![]
                },
                picklist_values: vec![],
            };
            // Id and IsDeleted first, audit fields at the end, as Salesforce lists them.
            if i < 2 {
                self.fields.insert(i, f);
            } else {
                self.fields.push(f);
            }
        }
        self.by_lower = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        self.rel_by_lower = self
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == "reference")
            .filter_map(|(i, f)| {
                f.relationship_name
                    .as_ref()
                    .map(|r| (r.to_ascii_lowercase(), i))
            })
            .collect();
        self
    }
}

/// The schema in use, replaceable while the simulator runs (`SimHandle::add_field`). A
/// replaced version is leaked so that references already handed out stay valid: fields are
/// added rarely (tests of schema changes), and never removed.
pub struct SchemaCell(Mutex<&'static Schema>);

impl SchemaCell {
    pub fn new(s: Schema) -> Self {
        SchemaCell(Mutex::new(Box::leak(Box::new(s))))
    }

    pub fn replace(&self, s: Schema) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Box::leak(Box::new(s));
    }
}

impl std::ops::Deref for SchemaCell {
    type Target = Schema;

    fn deref(&self) -> &Schema {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// All objects of an org, by name (case-insensitive).
#[derive(Debug)]
pub struct Schema {
    pub objects: Vec<ObjectDef>,
    by_lower: HashMap<String, usize>,
    by_prefix: HashMap<String, usize>,
}

impl Schema {
    pub fn load() -> Result<Schema, Error> {
        let account: ObjectDef = serde_json::from_str(include_str!("../schema/account.json"))
            .map_err(|e| Error::Schema(format!("account.json: {e}")))?;
        let standard: Vec<ObjectDef> =
            serde_json::from_str(include_str!("../schema/standard.json"))
                .map_err(|e| Error::Schema(format!("standard.json: {e}")))?;
        let project: ObjectDef = serde_json::from_str(include_str!("../schema/project.json"))
            .map_err(|e| Error::Schema(format!("project.json: {e}")))?;
        let mut objects = vec![account];
        objects.extend(standard);
        objects.push(project);
        Ok(Schema::from_objects(objects))
    }

    fn from_objects(objects: Vec<ObjectDef>) -> Schema {
        let objects: Vec<ObjectDef> = objects.into_iter().map(ObjectDef::finish).collect();
        let by_lower = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.name.to_ascii_lowercase(), i))
            .collect();
        let by_prefix = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.key_prefix.clone(), i))
            .collect();
        Schema {
            objects,
            by_lower,
            by_prefix,
        }
    }

    /// This schema with a custom field added to `object` (as an admin adds one in Setup).
    pub fn with_field(&self, object: &str, field: FieldDef) -> Result<Schema, Error> {
        if !field.name.ends_with("__c") {
            return Err(Error::Schema(format!(
                "{}: a custom field name ends in __c",
                field.name
            )));
        }
        let mut objects = self.objects.clone();
        let o = objects
            .iter_mut()
            .find(|o| o.name.eq_ignore_ascii_case(object))
            .ok_or_else(|| Error::UnknownObject(object.to_string()))?;
        if o.fields
            .iter()
            .any(|f| f.name.eq_ignore_ascii_case(&field.name))
        {
            return Err(Error::Schema(format!("{}.{} exists", o.name, field.name)));
        }
        // Custom fields go before the audit fields, as Salesforce lists them.
        let at = o
            .fields
            .iter()
            .position(|f| f.name == "CreatedDate")
            .unwrap_or(o.fields.len());
        o.fields.insert(at, field);
        Ok(Schema::from_objects(objects))
    }

    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.by_lower
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.objects[i])
    }

    pub fn object_for_id(&self, id: &str) -> Option<&ObjectDef> {
        self.by_prefix
            .get(crate::ids::prefix(id))
            .map(|&i| &self.objects[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_all_objects_with_system_fields() {
        let s = Schema::load().unwrap();
        for name in [
            "Account",
            "Contact",
            "Lead",
            "Opportunity",
            "User",
            "Project__c",
        ] {
            let o = s.object(name).unwrap_or_else(|| panic!("{name}"));
            for f in ["Id", "CreatedDate", "SystemModstamp", "LastModifiedById"] {
                assert!(o.field(f).is_some(), "{name}.{f}");
            }
        }
        assert_eq!(s.object("account").unwrap().fields.len(), 70);
        assert_eq!(
            s.object_for_id("006000000000000AAA").unwrap().name,
            "Opportunity"
        );
        assert_eq!(
            s.object("Project__c")
                .unwrap()
                .relationship("owner")
                .unwrap()
                .name,
            "OwnerId"
        );
    }

    #[test]
    fn required_rule_follows_salesforce() {
        let s = Schema::load().unwrap();
        let acc = s.object("Account").unwrap();
        assert!(acc.field("Name").unwrap().required_on_create());
        assert!(!acc.field("OwnerId").unwrap().required_on_create());
        let p = s.object("Project__c").unwrap();
        assert!(p.field("Summary__c").unwrap().required_on_create());
        assert!(!p.field("Is_Billable__c").unwrap().required_on_create());
    }
}
