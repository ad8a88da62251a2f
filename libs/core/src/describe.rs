//! Building [`SalesforceField`] and [`MondayColumn`] straight from what the remotes return:
//! one entry of a Salesforce describe's `fields[]`, and a monday `Column` (`id`, `title`,
//! `type`, `settings_str`/`settings`).

use serde_json::Value as Json;

use crate::{
    ColumnLabel, CoreError, MondayColumn, MondayKind, PicklistValue, Result, SalesforceField,
    SalesforceKind,
};

impl SalesforceField {
    /// Reads one entry of `GET /sobjects/{Object}/describe` → `fields[]`.
    ///
    /// Uses `name`, `label`, `type`, `calculated`, `referenceTo`, `length`, `scale`,
    /// `createable`/`updateable` (neither ⇒ read-only), `autoNumber` (read-only),
    /// `nillable`/`defaultedOnCreate` (→ `required`), `restrictedPicklist` and
    /// `picklistValues`.
    pub fn from_describe(entry: &Json) -> Result<Self> {
        let name =
            entry
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(|| CoreError::InvalidValue {
                    target: "Salesforce describe field".into(),
                    value: truncate(entry.to_string()),
                    reason: "missing \"name\"".into(),
                })?;
        let s = |k: &str| entry.get(k).and_then(Json::as_str);
        let b = |k: &str| entry.get(k).and_then(Json::as_bool).unwrap_or(false);
        let u = |k: &str| entry.get(k).and_then(Json::as_u64);
        let reference_to: Vec<&str> = entry
            .get("referenceTo")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let kind = SalesforceKind::from_describe(
            s("type").unwrap_or_default(),
            b("calculated"),
            &reference_to,
        );
        let picklist_values = entry
            .get("picklistValues")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        let value = p.get("value")?.as_str()?.to_owned();
                        Some(PicklistValue {
                            label: p
                                .get("label")
                                .and_then(Json::as_str)
                                .unwrap_or(&value)
                                .to_owned(),
                            active: p.get("active").and_then(Json::as_bool).unwrap_or(true),
                            value,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let text_like = matches!(
            kind,
            SalesforceKind::String
                | SalesforceKind::Textarea
                | SalesforceKind::Email
                | SalesforceKind::Phone
                | SalesforceKind::Url
        );
        Ok(Self {
            name: name.to_owned(),
            label: s("label").unwrap_or(name).to_owned(),
            length: if text_like {
                u("length").unwrap_or(0).min(u32::MAX as u64) as u32
            } else {
                0
            },
            scale: if kind.is_number() {
                u("scale").map(|x| x.min(u32::MAX as u64) as u32)
            } else {
                None
            },
            writable: (b("createable") || b("updateable")) && !b("autoNumber"),
            restricted_picklist: b("restrictedPicklist"),
            required: b("createable")
                && entry.get("nillable").and_then(Json::as_bool) == Some(false)
                && !b("defaultedOnCreate")
                && kind != SalesforceKind::Boolean,
            picklist_values,
            kind,
        })
    }
}

impl MondayColumn {
    /// Builds a column from the GraphQL `Column` fields `id`, `title`, `type` and its settings
    /// — `settings_str` (a JSON string) or the newer `settings` (a JSON object); pass either.
    ///
    /// Status labels come from `{"labels":{"0":"Working on it","1":"Done",…}}` (keys are the
    /// indexes), dropdown labels from `{"labels":[{"id":1,"name":"Technology"},…]}`.
    pub fn from_api(id: &str, title: &str, type_str: &str, settings: Option<&Json>) -> Self {
        let kind = MondayKind::from_api(type_str);
        let parsed = match settings {
            Some(Json::String(s)) => serde_json::from_str(s).unwrap_or(Json::Null),
            Some(v) => v.clone(),
            None => Json::Null,
        };
        let mut labels = Vec::new();
        match parsed.get("labels") {
            Some(Json::Object(map)) => {
                for (k, v) in map {
                    if let (Ok(id), Some(name)) = (k.parse::<i64>(), v.as_str())
                        && !name.is_empty()
                    {
                        labels.push(ColumnLabel {
                            id,
                            name: name.to_owned(),
                        });
                    }
                }
                labels.sort_by_key(|l| l.id);
            }
            Some(Json::Array(items)) => {
                for it in items {
                    if let (Some(id), Some(name)) = (
                        it.get("id").and_then(Json::as_i64),
                        it.get("name").and_then(Json::as_str),
                    ) {
                        labels.push(ColumnLabel {
                            id,
                            name: name.to_owned(),
                        });
                    }
                }
            }
            _ => {}
        }
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            kind,
            labels,
        }
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > 120 {
        let mut cut = 120;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn describe_entries_from_the_recorded_account_describe() {
        // Excerpts of fixtures/salesforce-account-describe-v58.json (Account, REST v58.0).
        let cases = [
            (
                json!({"name":"Id","label":"Account ID","type":"id","calculated":false,"referenceTo":[],"length":18,"updateable":false,"createable":false}),
                SalesforceKind::Id,
                0,
                false,
            ),
            (
                json!({"name":"Name","label":"Account Name","type":"string","calculated":false,"referenceTo":[],"length":255,"updateable":true,"createable":true}),
                SalesforceKind::String,
                255,
                true,
            ),
            (
                json!({"name":"OwnerId","label":"Owner ID","type":"reference","calculated":false,"referenceTo":["User"],"length":18,"updateable":true,"createable":true}),
                SalesforceKind::User,
                0,
                true,
            ),
            (
                json!({"name":"ParentId","type":"reference","referenceTo":["Account"],"length":18,"updateable":true,"createable":true}),
                SalesforceKind::Reference,
                0,
                true,
            ),
            (
                json!({"name":"AnnualRevenue","type":"currency","length":0,"scale":0,"precision":18,"updateable":true,"createable":true}),
                SalesforceKind::Currency,
                0,
                true,
            ),
            (
                json!({"name":"CreatedDate","type":"datetime","updateable":false,"createable":false}),
                SalesforceKind::Datetime,
                0,
                false,
            ),
            (
                json!({"name":"CaseNumber","type":"string","autoNumber":true,"length":30,"updateable":false,"createable":false}),
                SalesforceKind::String,
                30,
                false,
            ),
        ];
        for (entry, kind, length, writable) in cases {
            let f = SalesforceField::from_describe(&entry).unwrap();
            assert_eq!(
                (f.kind.clone(), f.length, f.writable),
                (kind, length, writable),
                "{}",
                f.name
            );
        }
        let f = SalesforceField::from_describe(&json!({"name":"Type","type":"picklist","restrictedPicklist":true,"updateable":true,
            "picklistValues":[{"active":true,"defaultValue":false,"label":"Prospect","validFor":null,"value":"Prospect"},
                              {"active":false,"label":"Old","value":"Old"}]})).unwrap();
        assert!(f.restricted_picklist);
        assert_eq!(f.picklist_values.len(), 2);
        assert!(!f.picklist_values[1].active);
        assert!(SalesforceField::from_describe(&json!({"type":"string"})).is_err());
        let required = |e: Json| SalesforceField::from_describe(&e).unwrap().required;
        assert!(required(
            json!({"name":"Name","type":"string","createable":true,"nillable":false,"defaultedOnCreate":false})
        ));
        assert!(!required(
            json!({"name":"OwnerId","type":"reference","referenceTo":["User"],"createable":true,"nillable":false,"defaultedOnCreate":true})
        ));
        assert!(!required(
            json!({"name":"IsActive__c","type":"boolean","createable":true,"nillable":false})
        ));
        assert!(!required(
            json!({"name":"Site","type":"string","createable":true,"nillable":true})
        ));
    }

    #[test]
    fn columns_from_recorded_settings() {
        let status = MondayColumn::from_api(
            "task_status",
            "Status",
            "status",
            Some(&json!(
                r##"{"done_colors":[1],"labels":{"0":"Working on it","1":"Done","2":"Stuck","5":""},"labels_colors":{"0":{"color":"#fdab3d"}}}"##
            )),
        );
        assert_eq!(status.kind, MondayKind::Status);
        assert_eq!(status.label_name(1), Some("Done"));
        assert_eq!(status.labels.len(), 3);
        let dropdown = MondayColumn::from_api(
            "dropdown",
            "Industry",
            "dropdown",
            Some(&json!({"labels":[{"id":1,"name":"Technology"},{"id":2,"name":"Marketing"}]})),
        );
        assert_eq!(dropdown.label_name(2), Some("Marketing"));
        let mirror = MondayColumn::from_api("mirror", "Sprint", "mirror", None);
        assert!(mirror.kind.is_read_only() && mirror.labels.is_empty());
    }
}
