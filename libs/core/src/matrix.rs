//! The compatibility matrix: the one table saying which (Salesforce kind, monday kind) pairs
//! map, in which directions, with which conversion, and where a conversion loses something.
//!
//! [`RULES`] is the source of truth; [`lookup`] answers for one pair and [`render_markdown`]
//! produces `docs/compatibility.md` (a test keeps the committed file equal to it).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{MondayKind, SalesforceKind};

/// Which way values flow for a field mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    SalesforceToMonday,
    MondayToSalesforce,
    Both,
}

impl Direction {
    pub fn to_monday(self) -> bool {
        matches!(self, Self::SalesforceToMonday | Self::Both)
    }
    pub fn to_salesforce(self) -> bool {
        matches!(self, Self::MondayToSalesforce | Self::Both)
    }
    /// The direction allowing what both allow, or `None` when nothing is left.
    pub fn intersect(self, other: Direction) -> Option<Direction> {
        Self::from_flags(
            self.to_monday() && other.to_monday(),
            self.to_salesforce() && other.to_salesforce(),
        )
    }
    /// Builds a direction from its two flags (`None` when both are false).
    pub fn from_flags(to_monday: bool, to_salesforce: bool) -> Option<Direction> {
        match (to_monday, to_salesforce) {
            (true, true) => Some(Self::Both),
            (true, false) => Some(Self::SalesforceToMonday),
            (false, true) => Some(Self::MondayToSalesforce),
            (false, false) => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SalesforceToMonday => "from Salesforce to monday",
            Self::MondayToSalesforce => "from monday to Salesforce",
            Self::Both => "both ways",
        })
    }
}

/// Whether one direction of a pair works, and whether it loses information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    No,
    /// Converting and converting back gives the original value.
    Lossless,
    /// Something is dropped on the way (see the rule's note).
    Lossy,
}

impl Flow {
    pub fn allowed(self) -> bool {
        self != Flow::No
    }
    fn cell(self) -> &'static str {
        match self {
            Flow::No => "—",
            Flow::Lossless => "yes",
            Flow::Lossy => "lossy",
        }
    }
}

/// How a value is converted between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conversion {
    /// Text as is.
    Text,
    /// Exact decimal to numbers column.
    Number,
    /// Number written as text; text parsed as a number (bad text is a per-record error).
    NumberText,
    /// Boolean ↔ checkbox.
    Checkbox,
    /// Boolean ↔ one of two configured status labels.
    BoolStatus,
    /// Date ↔ date column.
    Date,
    /// Datetime ↔ date column: the date in the org's time zone (optionally with UTC time).
    DatetimeDate,
    /// One picklist value ↔ one status/dropdown label.
    PicklistLabel,
    /// `a;b;c` ↔ several dropdown labels.
    MultipicklistLabels,
    /// A picklist value ↔ plain text (restricted picklists check the value).
    PicklistText,
    /// URL ↔ link column.
    Link,
    /// Phone ↔ phone column.
    Phone,
    /// Phone number ↔ text.
    PhoneText,
    /// Email ↔ email column or text (the address is checked).
    Email,
    /// User lookup ↔ people column, matched by email.
    UserPeople,
    /// User lookup ↔ the user's email address as text/email (the people fallback).
    UserEmail,
    /// People column ↔ their email addresses in a text/email field (no Salesforce user
    /// needed).
    PeopleEmail,
    /// Lookup → the related record's name (or Id) as text.
    ReferenceText,
    /// Formula → its value rendered as text.
    FormulaText,
    /// Time of day ↔ `HH:MM:SS.sssZ` text.
    TimeText,
    /// Read-only monday column → its display text.
    DisplayText,
}

impl Conversion {
    /// What the conversion does, for the docs.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Text => {
                "text as is; too long for the Salesforce field is a per-record error unless truncation is on"
            }
            Self::Number => "exact decimal; a fraction into int/long is a per-record error",
            Self::NumberText => {
                "number written as text (1.5); text is parsed and its formatting (1.50, +3, 1e3) is not kept; text that is not a number is a per-record error"
            }
            Self::Checkbox => "checked ↔ true; unchecked/empty ↔ false",
            Self::BoolStatus => {
                "true/false ↔ two configured status labels (default Yes/No); another label is a per-record error"
            }
            Self::Date => "YYYY-MM-DD; a time on the monday date is dropped towards Salesforce",
            Self::DatetimeDate => {
                "the date in the org's time zone (time dropped unless the mapping keeps it, in UTC); a date alone reads as midnight in the org's zone"
            }
            Self::PicklistLabel => {
                "picklist API value ↔ label of the same name; a label missing on the board (unless the mapping creates labels), several labels, or an inactive value of a restricted picklist is a per-record error"
            }
            Self::MultipicklistLabels => "a;b;c ↔ labels a, b, c (labels may contain commas)",
            Self::PicklistText => {
                "value ↔ text; restricted picklists reject unknown values per record"
            }
            Self::Link => "URL ↔ link URL; the link text is dropped towards Salesforce",
            Self::Phone => {
                "number → E.164 digits and a country (`(415) 555-2000` → +14155552000, US; the country from a leading +, else the mapping's default, else the org's, else US), text that is not a phone number is a per-record error; towards Salesforce the E.164 number (+14155552000), the country dropped"
            }
            Self::PhoneText => "number as text",
            Self::Email => {
                "address; an invalid address is a per-record error; monday's display text is dropped towards Salesforce"
            }
            Self::UserPeople => {
                "User ↔ person with the same email; several people or an unknown person is a per-record error"
            }
            Self::UserEmail => {
                "User ↔ the user's email address (monday's own fallback when a person has no match); a User whose email is unknown is a per-record error"
            }
            Self::PeopleEmail => {
                "people ↔ their email addresses, comma-separated (an email field holds one); works for people with no Salesforce user; an address with no monday user is a per-record error towards monday"
            }
            Self::ReferenceText => "the related record's name when known, else its Id",
            Self::FormulaText => "the formula's value as text",
            Self::TimeText => "HH:MM:SS.sssZ",
            Self::DisplayText => "the column's display text",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::NumberText => "number-text",
            Self::Checkbox => "checkbox",
            Self::BoolStatus => "bool-status",
            Self::Date => "date",
            Self::DatetimeDate => "datetime-date",
            Self::PicklistLabel => "picklist-label",
            Self::MultipicklistLabels => "multipicklist-labels",
            Self::PicklistText => "picklist-text",
            Self::Link => "link",
            Self::Phone => "phone",
            Self::PhoneText => "phone-text",
            Self::Email => "email",
            Self::UserPeople => "user-people",
            Self::UserEmail => "user-email",
            Self::PeopleEmail => "people-email",
            Self::ReferenceText => "reference-text",
            Self::FormulaText => "formula-text",
            Self::TimeText => "time-text",
            Self::DisplayText => "display-text",
        }
    }
}

impl fmt::Display for Conversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One row of the matrix: every (sf, monday) pair of the two lists converts the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub salesforce: &'static [SalesforceKind],
    pub monday: &'static [MondayKind],
    pub conversion: Conversion,
    /// Salesforce → monday.
    pub to_monday: Flow,
    /// monday → Salesforce.
    pub to_salesforce: Flow,
}

impl Rule {
    /// The directions this rule allows.
    pub fn directions(&self) -> Option<Direction> {
        Direction::from_flags(self.to_monday.allowed(), self.to_salesforce.allowed())
    }
}

use Flow::{Lossless as Y, Lossy as L, No as N};
use MondayKind as M;
use SalesforceKind as S;

const TEXTS: &[SalesforceKind] = &[S::String, S::Textarea];
const NUMBERS: &[SalesforceKind] = &[S::Double, S::Currency, S::Percent, S::Int, S::Long];
const TEXT_COLS: &[MondayKind] = &[M::Text, M::LongText];
const READ_ONLY_COLS: &[MondayKind] = &[
    M::Mirror,
    M::Formula,
    M::BoardRelation,
    M::AutoNumber,
    M::CreationLog,
    M::LastUpdated,
    M::ItemId,
];

/// THE compatibility matrix. A pair not listed here does not map.
pub const RULES: &[Rule] = &[
    // What the original app supports.
    rule(
        TEXTS,
        &[M::Text, M::LongText, M::Name],
        Conversion::Text,
        Y,
        Y,
    ),
    rule(NUMBERS, &[M::Numbers], Conversion::Number, Y, Y),
    rule(&[S::Boolean], &[M::Checkbox], Conversion::Checkbox, Y, Y),
    rule(&[S::Date], &[M::Date], Conversion::Date, Y, L),
    rule(
        &[S::Picklist],
        &[M::Status, M::Dropdown],
        Conversion::PicklistLabel,
        Y,
        Y,
    ),
    rule(&[S::Url], &[M::Link], Conversion::Link, Y, L),
    rule(&[S::Phone], &[M::Phone], Conversion::Phone, L, L),
    rule(&[S::Email], &[M::Email], Conversion::Email, Y, L),
    rule(&[S::User], &[M::People], Conversion::UserPeople, Y, Y),
    rule(
        &[S::User],
        &[M::Text, M::Email],
        Conversion::UserEmail,
        Y,
        Y,
    ),
    rule(&[S::Reference], TEXT_COLS, Conversion::ReferenceText, L, N),
    rule(
        &[S::String, S::Textarea, S::Email],
        &[M::People],
        Conversion::PeopleEmail,
        L,
        Y,
    ),
    rule(&[S::Id], &[M::Text], Conversion::Text, Y, N),
    rule(&[S::Formula], TEXT_COLS, Conversion::FormulaText, L, N),
    // Loss-aware conversions beyond the original app.
    rule(&[S::Phone], TEXT_COLS, Conversion::PhoneText, Y, Y),
    rule(TEXTS, &[M::Phone], Conversion::Phone, L, L),
    rule(&[S::Email], TEXT_COLS, Conversion::Email, Y, Y),
    rule(TEXTS, &[M::Email], Conversion::Email, Y, L),
    rule(&[S::Url], TEXT_COLS, Conversion::Text, Y, Y),
    rule(NUMBERS, TEXT_COLS, Conversion::NumberText, Y, L),
    rule(TEXTS, &[M::Numbers], Conversion::NumberText, L, Y),
    rule(&[S::Picklist], TEXT_COLS, Conversion::PicklistText, Y, Y),
    rule(&[S::String], &[M::Status], Conversion::PicklistText, Y, Y),
    rule(&[S::Datetime], &[M::Date], Conversion::DatetimeDate, L, Y),
    rule(
        &[S::Multipicklist],
        &[M::Dropdown],
        Conversion::MultipicklistLabels,
        Y,
        Y,
    ),
    rule(&[S::Boolean], &[M::Status], Conversion::BoolStatus, Y, Y),
    rule(&[S::Time], TEXT_COLS, Conversion::TimeText, Y, Y),
    rule(TEXTS, READ_ONLY_COLS, Conversion::DisplayText, N, L),
];

const fn rule(
    salesforce: &'static [SalesforceKind],
    monday: &'static [MondayKind],
    conversion: Conversion,
    to_monday: Flow,
    to_salesforce: Flow,
) -> Rule {
    Rule {
        salesforce,
        monday,
        conversion,
        to_monday,
        to_salesforce,
    }
}

/// The rule for one pair, or `None` when the pair does not map.
pub fn lookup(sf: &SalesforceKind, monday: &MondayKind) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.salesforce.contains(sf) && r.monday.contains(monday))
}

/// Every supported pair with its rule, in table order.
pub fn pairs() -> impl Iterator<Item = (&'static SalesforceKind, &'static MondayKind, &'static Rule)>
{
    RULES.iter().flat_map(|r| {
        r.salesforce
            .iter()
            .flat_map(move |s| r.monday.iter().map(move |m| (s, m, r)))
    })
}

/// How many pairs are supported in each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairCounts {
    pub total: usize,
    pub to_monday: usize,
    pub to_salesforce: usize,
    pub both: usize,
    pub lossless_to_monday: usize,
    pub lossless_to_salesforce: usize,
}

/// Counts the supported pairs per direction.
pub fn pair_counts() -> PairCounts {
    let mut c = PairCounts {
        total: 0,
        to_monday: 0,
        to_salesforce: 0,
        both: 0,
        lossless_to_monday: 0,
        lossless_to_salesforce: 0,
    };
    for (_, _, r) in pairs() {
        c.total += 1;
        c.to_monday += usize::from(r.to_monday.allowed());
        c.to_salesforce += usize::from(r.to_salesforce.allowed());
        c.both += usize::from(r.to_monday.allowed() && r.to_salesforce.allowed());
        c.lossless_to_monday += usize::from(r.to_monday == Flow::Lossless);
        c.lossless_to_salesforce += usize::from(r.to_salesforce == Flow::Lossless);
    }
    c
}

/// Renders the matrix as Markdown: a summary, one line per supported pair, and what each
/// conversion does. This is the content of `docs/compatibility.md`.
pub fn render_markdown() -> String {
    use std::fmt::Write;
    let c = pair_counts();
    let mut out = String::new();
    out.push_str("# Field compatibility: Salesforce ↔ monday.com\n\n");
    out.push_str("Generated from `libs/core/src/matrix.rs` (`tandem_core::matrix::render_markdown`); a unit\ntest fails when this file and the code disagree. Do not edit by hand.\n\n");
    let _ = writeln!(
        out,
        "{} pairs map: {} from Salesforce to monday ({} lossless), {} from monday to Salesforce ({} lossless), {} both ways.\n",
        c.total,
        c.to_monday,
        c.lossless_to_monday,
        c.to_salesforce,
        c.lossless_to_salesforce,
        c.both
    );
    out.push_str("Legend: **yes** = converts without loss, **lossy** = converts but drops something (see the\nconversion), **—** = not in this direction. Any pair not listed does not map. Read-only sides\n(Salesforce formula, lookup and Id fields; monday mirror, formula, connected-board, auto-number,\ncreation/last-updated log and item-id columns) are never written.\n\n");
    out.push_str(
        "| Salesforce | monday | Salesforce → monday | monday → Salesforce | conversion |\n",
    );
    out.push_str("|---|---|---|---|---|\n");
    for (s, m, r) in pairs() {
        let _ = writeln!(
            out,
            "| {s} | {m} | {} | {} | {} |",
            r.to_monday.cell(),
            r.to_salesforce.cell(),
            r.conversion
        );
    }
    out.push_str("\n## At a glance\n\n⇄ both ways, → Salesforce to monday only, ← monday to Salesforce only;\n† lossy in at least one direction (see the table above).\n\n");
    out.push_str(&render_grid());
    out.push_str("\n## Conversions\n\n| conversion | what it does |\n|---|---|\n");
    let mut seen = Vec::new();
    for r in RULES {
        if !seen.contains(&r.conversion) {
            seen.push(r.conversion);
            let _ = writeln!(out, "| {} | {} |", r.conversion, r.conversion.describe());
        }
    }
    out
}

/// One row per Salesforce kind, one column per monday kind.
fn render_grid() -> String {
    use std::fmt::Write;
    let mut out = String::from("| Salesforce \\ monday |");
    for m in MondayKind::ALL.iter() {
        let _ = write!(out, " {m} |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(MondayKind::ALL.len()));
    out.push('\n');
    for s in SalesforceKind::ALL.iter() {
        let _ = write!(out, "| {s} |");
        for m in MondayKind::ALL.iter() {
            let cell = match lookup(s, m) {
                None => "",
                Some(r) => {
                    let lossy = r.to_monday == Flow::Lossy || r.to_salesforce == Flow::Lossy;
                    match (r.to_monday.allowed(), r.to_salesforce.allowed(), lossy) {
                        (true, true, false) => "⇄",
                        (true, true, true) => "⇄†",
                        (true, false, false) => "→",
                        (true, false, true) => "→†",
                        (false, true, false) => "←",
                        (false, true, true) => "←†",
                        (false, false, _) => "",
                    }
                }
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_docs_equal_the_rendered_matrix() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/compatibility.md");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        if committed != render_markdown() {
            if std::env::var_os("TANDEM_BLESS").is_some() {
                std::fs::write(path, render_markdown()).unwrap();
            }
            panic!("docs/compatibility.md is out of date; rerun with TANDEM_BLESS=1 to rewrite it");
        }
    }

    #[test]
    fn each_pair_appears_in_one_rule_only() {
        let all: Vec<_> = pairs().map(|(s, m, _)| (s, m)).collect();
        for (i, p) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(p), "pair {p:?} listed twice");
        }
    }

    #[test]
    fn original_app_pairs_are_supported() {
        let cases = [
            (S::String, M::Text, Direction::Both),
            (S::Textarea, M::LongText, Direction::Both),
            (S::String, M::Name, Direction::Both),
            (S::Currency, M::Numbers, Direction::Both),
            (S::Boolean, M::Checkbox, Direction::Both),
            (S::Date, M::Date, Direction::Both),
            (S::Picklist, M::Status, Direction::Both),
            (S::Picklist, M::Dropdown, Direction::Both),
            (S::Url, M::Link, Direction::Both),
            (S::Phone, M::Phone, Direction::Both),
            (S::User, M::People, Direction::Both),
            (S::User, M::Email, Direction::Both),
            (S::Reference, M::Text, Direction::SalesforceToMonday),
            (S::Formula, M::Text, Direction::SalesforceToMonday),
            (S::Datetime, M::Date, Direction::Both),
            (S::Multipicklist, M::Dropdown, Direction::Both),
            (S::Boolean, M::Status, Direction::Both),
            (S::String, M::Mirror, Direction::MondayToSalesforce),
        ];
        for (s, m, d) in cases {
            let r = lookup(&s, &m).unwrap_or_else(|| panic!("{s} ↔ {m} missing"));
            assert_eq!(r.directions(), Some(d), "{s} ↔ {m}");
        }
    }

    #[test]
    fn unsupported_pairs_do_not_map() {
        assert!(lookup(&S::Boolean, &M::Date).is_none());
        assert!(lookup(&S::Multipicklist, &M::Status).is_none());
        assert!(lookup(&S::Other("address".into()), &M::Text).is_none());
        assert!(lookup(&S::String, &M::Other("timeline".into())).is_none());
    }

    #[test]
    fn no_rule_writes_towards_a_read_only_kind() {
        for (s, m, r) in pairs() {
            if s.is_read_only() {
                assert!(!r.to_salesforce.allowed(), "{s} ← {m}");
            }
            if m.is_read_only() {
                assert!(!r.to_monday.allowed(), "{s} → {m}");
            }
        }
    }

    #[test]
    fn pair_counts_add_up() {
        let c = pair_counts();
        assert_eq!(c.total, pairs().count());
        assert_eq!(c.to_monday + c.to_salesforce - c.both, c.total);
        println!("pairs: {c:?}");
    }

    #[test]
    fn direction_intersection() {
        assert_eq!(
            Direction::Both.intersect(Direction::SalesforceToMonday),
            Some(Direction::SalesforceToMonday)
        );
        assert_eq!(
            Direction::MondayToSalesforce.intersect(Direction::SalesforceToMonday),
            None
        );
    }
}
