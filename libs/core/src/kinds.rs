//! Field kinds on both sides, and the metadata of one Salesforce field / monday column.
//!
//! Kinds come from the remote's own description: the Salesforce describe `type` (plus
//! `calculated` and `referenceTo`) and the monday `Column.type` string.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of a Salesforce field, as Tandem understands it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesforceKind {
    String,
    Textarea,
    Email,
    Phone,
    Url,
    Picklist,
    Multipicklist,
    Double,
    Currency,
    Percent,
    Int,
    Long,
    Boolean,
    Date,
    Datetime,
    Time,
    /// A lookup to any object but `User`.
    Reference,
    /// A lookup to `User` (e.g. `OwnerId`): maps to people by email.
    User,
    Id,
    /// Any field with `calculated = true` (formulas, roll-ups): read-only.
    Formula,
    /// A describe type Tandem does not sync (address, location, base64, …).
    Other(String),
}

impl SalesforceKind {
    /// Every kind Tandem supports, in display order (excludes [`SalesforceKind::Other`]).
    pub const ALL: [SalesforceKind; 20] = [
        Self::String,
        Self::Textarea,
        Self::Email,
        Self::Phone,
        Self::Url,
        Self::Picklist,
        Self::Multipicklist,
        Self::Double,
        Self::Currency,
        Self::Percent,
        Self::Int,
        Self::Long,
        Self::Boolean,
        Self::Date,
        Self::Datetime,
        Self::Time,
        Self::Reference,
        Self::User,
        Self::Id,
        Self::Formula,
    ];

    /// Builds the kind from a describe field entry: `type`, `calculated` and `referenceTo`.
    ///
    /// ```
    /// use tandem_core::SalesforceKind;
    /// assert_eq!(SalesforceKind::from_describe("reference", false, &["User"]), SalesforceKind::User);
    /// assert_eq!(SalesforceKind::from_describe("currency", true, &[]), SalesforceKind::Formula);
    /// ```
    pub fn from_describe(type_str: &str, calculated: bool, reference_to: &[&str]) -> Self {
        if calculated {
            return Self::Formula;
        }
        match type_str {
            "string" | "encryptedstring" => Self::String,
            "textarea" => Self::Textarea,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "url" => Self::Url,
            // A combobox is a picklist that also accepts free text.
            "picklist" | "combobox" => Self::Picklist,
            "multipicklist" => Self::Multipicklist,
            "double" => Self::Double,
            "currency" => Self::Currency,
            "percent" => Self::Percent,
            "int" => Self::Int,
            "long" => Self::Long,
            "boolean" => Self::Boolean,
            "date" => Self::Date,
            "datetime" => Self::Datetime,
            "time" => Self::Time,
            "reference" => {
                // Polymorphic owner fields list e.g. ["Group", "User"]: people only when
                // every target is a User.
                if !reference_to.is_empty() && reference_to.iter().all(|t| *t == "User") {
                    Self::User
                } else {
                    Self::Reference
                }
            }
            "id" => Self::Id,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The name used in docs and error messages (the describe type, or `user`/`formula`).
    pub fn name(&self) -> &str {
        match self {
            Self::String => "string",
            Self::Textarea => "textarea",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::Picklist => "picklist",
            Self::Multipicklist => "multipicklist",
            Self::Double => "double",
            Self::Currency => "currency",
            Self::Percent => "percent",
            Self::Int => "int",
            Self::Long => "long",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Time => "time",
            Self::Reference => "reference",
            Self::User => "user",
            Self::Id => "id",
            Self::Formula => "formula",
            Self::Other(s) => s,
        }
    }

    /// Numeric kinds (double, currency, percent, int, long).
    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Self::Double | Self::Currency | Self::Percent | Self::Int | Self::Long
        )
    }

    /// Kinds Tandem never writes, whatever the field's permissions say.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Self::Formula | Self::Id | Self::Reference | Self::Other(_)
        )
    }
}

impl fmt::Display for SalesforceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of a monday column, from `Column.type` as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MondayKind {
    /// The item name (first column, id `name`).
    Name,
    /// Status; a "Priority" column is a status column too.
    Status,
    Dropdown,
    Numbers,
    Date,
    Text,
    LongText,
    Phone,
    Email,
    People,
    Link,
    Checkbox,
    Mirror,
    Formula,
    BoardRelation,
    AutoNumber,
    CreationLog,
    LastUpdated,
    ItemId,
    /// Any other column type (timeline, rating, file, …): not synced.
    Other(String),
}

impl MondayKind {
    /// Every kind Tandem knows, in display order (excludes [`MondayKind::Other`]).
    pub const ALL: [MondayKind; 19] = [
        Self::Name,
        Self::Text,
        Self::LongText,
        Self::Numbers,
        Self::Status,
        Self::Dropdown,
        Self::Date,
        Self::Phone,
        Self::Email,
        Self::Link,
        Self::People,
        Self::Checkbox,
        Self::Mirror,
        Self::Formula,
        Self::BoardRelation,
        Self::AutoNumber,
        Self::CreationLog,
        Self::LastUpdated,
        Self::ItemId,
    ];

    /// Builds the kind from the `Column.type` string (`ColumnType` enum value).
    ///
    /// Also accepts the internal names seen in webhooks (`color`, `boolean`,
    /// `multiple-person`, `long-text`, `numeric`).
    pub fn from_api(type_str: &str) -> Self {
        match type_str {
            "name" => Self::Name,
            "status" | "color" => Self::Status,
            "dropdown" => Self::Dropdown,
            "numbers" | "numeric" => Self::Numbers,
            "date" => Self::Date,
            "text" => Self::Text,
            "long_text" | "long-text" => Self::LongText,
            "phone" => Self::Phone,
            "email" => Self::Email,
            "people" | "multiple-person" => Self::People,
            "link" => Self::Link,
            "checkbox" | "boolean" => Self::Checkbox,
            "mirror" => Self::Mirror,
            "formula" => Self::Formula,
            "board_relation" => Self::BoardRelation,
            "auto_number" => Self::AutoNumber,
            "creation_log" => Self::CreationLog,
            "last_updated" => Self::LastUpdated,
            "item_id" => Self::ItemId,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The `ColumnType` name.
    pub fn name(&self) -> &str {
        match self {
            Self::Name => "name",
            Self::Status => "status",
            Self::Dropdown => "dropdown",
            Self::Numbers => "numbers",
            Self::Date => "date",
            Self::Text => "text",
            Self::LongText => "long_text",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::People => "people",
            Self::Link => "link",
            Self::Checkbox => "checkbox",
            Self::Mirror => "mirror",
            Self::Formula => "formula",
            Self::BoardRelation => "board_relation",
            Self::AutoNumber => "auto_number",
            Self::CreationLog => "creation_log",
            Self::LastUpdated => "last_updated",
            Self::ItemId => "item_id",
            Self::Other(s) => s,
        }
    }

    /// Columns Tandem never writes (computed by monday, or not writable through the API).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Self::Mirror
                | Self::Formula
                | Self::BoardRelation
                | Self::AutoNumber
                | Self::CreationLog
                | Self::LastUpdated
                | Self::ItemId
                | Self::Other(_)
        )
    }
}

impl fmt::Display for MondayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value of a Salesforce picklist, as in the describe's `picklistValues`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicklistValue {
    /// The API name, which is what Tandem writes.
    pub value: String,
    pub label: String,
    pub active: bool,
}

/// What Tandem needs to know of one Salesforce field (a subset of the describe entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceField {
    /// API name, e.g. `AnnualRevenue`.
    pub name: String,
    pub label: String,
    pub kind: SalesforceKind,
    /// `length` for text kinds (characters); 0 when not limited.
    #[serde(default)]
    pub length: u32,
    /// `scale` for numeric kinds (digits after the point).
    #[serde(default)]
    pub scale: Option<u32>,
    /// `updateable || createable` in the describe; false makes the field read-only.
    #[serde(default = "default_true")]
    pub writable: bool,
    /// `restrictedPicklist`: values outside the active list are rejected.
    #[serde(default)]
    pub restricted_picklist: bool,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    /// Must be given when Tandem creates a record: `createable && !nillable &&
    /// !defaultedOnCreate`, booleans excepted (they default to false).
    #[serde(default)]
    pub required: bool,
}

fn default_true() -> bool {
    true
}

impl SalesforceField {
    /// A writable field with no length limit and no picklist values; set the rest as needed.
    pub fn new(name: impl Into<String>, kind: SalesforceKind) -> Self {
        let name = name.into();
        Self {
            label: name.clone(),
            name,
            kind,
            length: 0,
            scale: None,
            writable: true,
            restricted_picklist: false,
            picklist_values: Vec::new(),
            required: false,
        }
    }

    /// True when Tandem must never write this field.
    pub fn is_read_only(&self) -> bool {
        !self.writable || self.kind.is_read_only()
    }
}

/// One label of a status or dropdown column (`settings_str` labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnLabel {
    /// Status: the index key; dropdown: the label id.
    pub id: i64,
    pub name: String,
}

/// What Tandem needs to know of one monday column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MondayColumn {
    /// Column id, e.g. `status` or `text_mkq1`.
    pub id: String,
    pub title: String,
    pub kind: MondayKind,
    /// Status / dropdown labels from the column settings.
    #[serde(default)]
    pub labels: Vec<ColumnLabel>,
}

impl MondayColumn {
    /// A column with no labels.
    pub fn new(id: impl Into<String>, kind: MondayKind) -> Self {
        let id = id.into();
        Self {
            title: id.clone(),
            id,
            kind,
            labels: Vec::new(),
        }
    }

    /// Adds labels (status indexes or dropdown ids are numbered from 0 in the given order).
    pub fn with_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.labels = labels
            .into_iter()
            .enumerate()
            .map(|(i, name)| ColumnLabel {
                id: i as i64,
                name: name.into(),
            })
            .collect();
        self
    }

    /// The label name for a status index / dropdown id.
    pub fn label_name(&self, id: i64) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.name.as_str())
    }

    /// True when the column has a label with this exact name.
    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_types_map_to_kinds() {
        let cases: &[(&str, bool, &[&str], SalesforceKind)] = &[
            ("string", false, &[], SalesforceKind::String),
            ("textarea", false, &[], SalesforceKind::Textarea),
            ("picklist", false, &[], SalesforceKind::Picklist),
            ("currency", false, &[], SalesforceKind::Currency),
            ("double", true, &[], SalesforceKind::Formula),
            ("reference", false, &["User"], SalesforceKind::User),
            (
                "reference",
                false,
                &["Group", "User"],
                SalesforceKind::Reference,
            ),
            ("reference", false, &["Account"], SalesforceKind::Reference),
            ("id", false, &[], SalesforceKind::Id),
            (
                "address",
                false,
                &[],
                SalesforceKind::Other("address".into()),
            ),
        ];
        for (ty, calc, refs, want) in cases {
            assert_eq!(
                &SalesforceKind::from_describe(ty, *calc, refs),
                want,
                "{ty}"
            );
        }
    }

    #[test]
    fn column_types_round_trip_through_their_names() {
        for kind in MondayKind::ALL {
            assert_eq!(MondayKind::from_api(kind.name()), kind);
        }
        assert_eq!(MondayKind::from_api("color"), MondayKind::Status);
        assert_eq!(
            MondayKind::from_api("timeline"),
            MondayKind::Other("timeline".into())
        );
    }

    #[test]
    fn read_only_kinds_are_flagged() {
        assert!(MondayKind::Mirror.is_read_only());
        assert!(!MondayKind::Status.is_read_only());
        assert!(SalesforceKind::Formula.is_read_only());
        assert!(!SalesforceKind::User.is_read_only());
        let mut f = SalesforceField::new("Name", SalesforceKind::String);
        assert!(!f.is_read_only());
        f.writable = false;
        assert!(f.is_read_only());
    }
}
