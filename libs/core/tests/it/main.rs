//! Integration tests of tandem-core through its public API only.

mod condition_props;
mod matrix_rows;
mod merge;
mod phone;
mod props;

use tandem_core::jiff::tz::TimeZone;
use tandem_core::{
    ColumnLabel, ConvertContext, Direction, FieldMapping, MondayColumn, MondayKind, PicklistValue,
    SalesforceField, SalesforceKind, UserMap, matrix,
};

pub const STATUS_LABELS: [&str; 8] = [
    "Working on it",
    "Done",
    "Stuck",
    "Prospect",
    "Customer - Direct",
    "Other, misc",
    "Yes",
    "No",
];
pub const DROPDOWN_LABELS: [&str; 4] =
    ["Prospect", "Customer - Direct", "Other, misc", "Technology"];
pub const PICKLIST: [(&str, bool); 4] = [
    ("Prospect", true),
    ("Customer - Direct", true),
    ("Other, misc", true),
    ("Legacy", false),
];
pub const ANN_SF: &str = "005xx000001Sv6AAAS";
pub const ANN_MONDAY: u64 = 4616627;
pub const BOB_SF: &str = "005xx000001Sv6BAAS";
pub const BOB_MONDAY: u64 = 51166;

/// A Salesforce field of this kind as a describe would give it (text length 80, a
/// restricted picklist with one inactive value).
pub fn field(kind: SalesforceKind) -> SalesforceField {
    let mut f = SalesforceField::new("Field__c", kind.clone());
    f.length = match kind {
        SalesforceKind::String => 80,
        SalesforceKind::Textarea => 32000,
        _ => 0,
    };
    if matches!(
        kind,
        SalesforceKind::Picklist | SalesforceKind::Multipicklist
    ) {
        f.restricted_picklist = true;
        f.picklist_values = PICKLIST
            .iter()
            .map(|(v, active)| PicklistValue {
                value: (*v).into(),
                label: (*v).into(),
                active: *active,
            })
            .collect();
    }
    f
}

/// A monday column of this kind, with labels for status and dropdown.
pub fn column(kind: MondayKind) -> MondayColumn {
    let labels: &[&str] = match kind {
        MondayKind::Status => &STATUS_LABELS,
        MondayKind::Dropdown => &DROPDOWN_LABELS,
        _ => &[],
    };
    let mut c = MondayColumn::new("col_1", kind);
    c.labels = labels
        .iter()
        .enumerate()
        .map(|(i, l)| ColumnLabel {
            id: i as i64,
            name: (*l).into(),
        })
        .collect();
    c
}

/// A mapping of the pair in every direction the matrix allows.
pub fn mapping(s: SalesforceKind, m: MondayKind) -> FieldMapping {
    let dir = matrix::lookup(&s, &m)
        .and_then(|r| r.directions())
        .unwrap_or(Direction::Both);
    FieldMapping::new(field(s), column(m), dir)
}

pub fn users() -> UserMap {
    UserMap::new()
        .with_salesforce_user(ANN_SF, "ann.lee@example.com")
        .with_salesforce_user(BOB_SF, "bob.ng@example.com")
        .with_monday_user(ANN_MONDAY, "Ann.Lee@example.com")
        .with_monday_user(BOB_MONDAY, "bob.ng@example.com")
}

pub fn org_tz() -> TimeZone {
    TimeZone::get("America/Los_Angeles").expect("bundled tz database has Los Angeles")
}

pub fn ctx(users: &UserMap) -> ConvertContext<'_> {
    ConvertContext::new(org_tz(), users)
}
