//! Suggested mappings: pure scoring of board columns against object fields by normalised
//! names and labels (case, spaces, underscores, `__c`, camel case, common synonyms), type
//! compatibility (the tandem-core matrix: only pairs that validate are suggested) and
//! status/picklist label overlap. Required Salesforce fields come first.

use std::collections::BTreeSet;

use tandem_core::{
    Direction, MappingOptions, MondayColumn, MondayKind, SalesforceField, SalesforceKind,
    validate_mapping,
};

/// Below this, a pair is not suggested.
pub const THRESHOLD: f64 = 0.5;

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub column: String,
    pub field: String,
    pub direction: Direction,
    pub confidence: f64,
    pub reason: String,
    pub required: bool,
}

/// Synonym groups: every phrase of a group stands for the first.
const SYNONYMS: &[&[&str]] = &[
    &[
        "phone",
        "telephone",
        "tel",
        "business phone",
        "office phone",
        "work phone",
        "main phone",
    ],
    &[
        "mobile phone",
        "mobile",
        "cell",
        "cell phone",
        "mobilephone",
    ],
    &[
        "owner",
        "person",
        "assignee",
        "rep",
        "salesperson",
        "assigned to",
        "account manager",
        "contact owner",
        "lead owner",
        "account owner",
        "opportunity owner",
    ],
    &[
        "stage",
        "status",
        "phase",
        "pipeline stage",
        "lead status",
        "deal stage",
    ],
    &[
        "amount",
        "value",
        "deal value",
        "deal size",
        "price",
        "budget",
    ],
    &["email", "e-mail", "mail", "email address"],
    &[
        "company",
        "account",
        "organization",
        "organisation",
        "client",
        "customer",
        "company name",
        "account name",
    ],
    &["website", "url", "site", "web", "homepage", "web site"],
    &["title", "job title", "position", "role"],
    &["industry", "sector", "vertical"],
    &["description", "notes", "details", "comments", "summary"],
    &[
        "close date",
        "expected close",
        "close",
        "closing date",
        "expected close date",
    ],
    &["last name", "surname", "family name"],
    &["first name", "given name"],
    &["postal code", "zip", "zip code", "postcode"],
    &["revenue", "annual revenue", "turnover"],
    &[
        "employees",
        "number of employees",
        "headcount",
        "team size",
        "employee count",
    ],
    &["source", "lead source", "channel"],
    &["priority", "urgency", "importance"],
    &[
        "probability",
        "win probability",
        "likelihood",
        "probability (%)",
    ],
    &["start date", "kickoff", "start"],
    &["end date", "deadline", "finish", "due date", "due"],
    &["birthdate", "birthday", "date of birth"],
];

/// Groups that are related but not the same (a mobile number is a phone number).
const RELATED: &[(&str, &str)] = &[("phone", "mobile phone")];

/// Lowercase words of `text`: camel case split, `__c` and punctuation dropped, a trailing
/// `id` of a lookup dropped (`OwnerId` → `owner`).
pub fn words(text: &str) -> Vec<String> {
    let text = text.strip_suffix("__c").unwrap_or(text);
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if ch.is_uppercase() && prev_lower && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
            current.extend(ch.to_lowercase());
        } else {
            prev_lower = false;
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The canonical phrase of a name: its words joined, each known phrase replaced by its group's
/// first entry.
#[cfg(test)]
pub fn canonical(text: &str) -> String {
    canonical_with(text, true)
}

/// Like [`canonical`]; `lookup` says whether a trailing `id` names the looked-up record
/// (`OwnerId` → owner) rather than the record itself (`Account ID` is not the account).
fn canonical_with(text: &str, lookup: bool) -> String {
    let mut phrase = words(text).join(" ");
    if lookup && phrase.ends_with(" id") && phrase.len() > 3 {
        phrase.truncate(phrase.len() - 3);
    }
    for group in SYNONYMS {
        if group.contains(&phrase.as_str()) {
            return group[0].to_owned();
        }
    }
    phrase
}

/// The words of `text`, each replaced by its synonym group; a trailing lookup `id` dropped.
fn canonical_words(text: &str, lookup: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for w in words(text) {
        let mapped = SYNONYMS
            .iter()
            .find(|g| g.contains(&w.as_str()))
            .map(|g| g[0].to_owned())
            .unwrap_or(w);
        if !(lookup && mapped == "id") {
            out.insert(mapped);
        }
    }
    out
}

/// How well the names fit, 0..1, and why.
fn name_score(column: &MondayColumn, field: &SalesforceField) -> (f64, &'static str) {
    // monday column ids are generated from the type (`phone`, `date4`, `text_mkq1`): only the
    // title says what a column holds.
    let title = if column.title.trim().is_empty() {
        column.id.as_str()
    } else {
        column.title.as_str()
    };
    let names = [field.label.as_str(), field.name.as_str()];
    let lookup = matches!(field.kind, SalesforceKind::Reference | SalesforceKind::User);
    // Each side is tokenised once here, not again for every comparison below (this runs for
    // every column × field pair).
    let title_words = words(title);
    if !title_words.is_empty() && names.iter().any(|n| words(n) == title_words) {
        return (1.0, "same name");
    }
    let title_phrase = canonical_with(title, false);
    let phrases = names.map(|n| canonical_with(n, lookup));
    if names
        .iter()
        .zip(&phrases)
        .any(|(n, p)| !n.is_empty() && *p == title_phrase)
    {
        return (0.85, "synonymous names");
    }
    let related = |a: &str, b: &str| {
        RELATED
            .iter()
            .any(|(x, y)| (a == *x && b == *y) || (a == *y && b == *x))
    };
    if phrases.iter().any(|p| related(&title_phrase, p)) {
        return (0.7, "related names");
    }
    let mut best: f64 = 0.0;
    let a = canonical_words(title, false);
    for n in names {
        let b = canonical_words(n, lookup);
        if a.is_empty() || b.is_empty() {
            continue;
        }
        let common = a.intersection(&b).count() as f64;
        let jaccard = common / a.union(&b).count() as f64;
        best = best.max(jaccard);
    }
    if best > 0.0 {
        (0.3 + 0.5 * best, "similar names")
    } else {
        (0.0, "")
    }
}

/// Share of the column's labels that are picklist values (by label or value, ignoring case).
fn label_overlap(column: &MondayColumn, field: &SalesforceField) -> Option<f64> {
    if column.labels.is_empty() || field.picklist_values.is_empty() {
        return None;
    }
    let values: BTreeSet<String> = field
        .picklist_values
        .iter()
        .flat_map(|p| [p.value.to_lowercase(), p.label.to_lowercase()])
        .collect();
    let hits = column
        .labels
        .iter()
        .filter(|l| values.contains(&l.name.to_lowercase()))
        .count();
    Some(hits as f64 / column.labels.len() as f64)
}

/// The widest direction the pair validates in, within `allowed`.
fn best_direction(
    column: &MondayColumn,
    field: &SalesforceField,
    allowed: Direction,
) -> Option<Direction> {
    [
        Direction::Both,
        Direction::SalesforceToMonday,
        Direction::MondayToSalesforce,
    ]
    .into_iter()
    .filter(|d| allowed.intersect(*d) == Some(*d))
    .find(|d| validate_mapping(field, column, *d, &MappingOptions::default()).is_ok())
}

/// Scores one pair; `None` when it is incompatible or too weak.
pub fn score(
    column: &MondayColumn,
    field: &SalesforceField,
    allowed: Direction,
) -> Option<Suggestion> {
    let direction = best_direction(column, field, allowed)?;
    let (mut confidence, why) = name_score(column, field);
    let mut reasons = Vec::new();
    if confidence > 0.0 {
        reasons.push(why.to_owned());
    }
    // The item name is the record's name.
    if column.kind == MondayKind::Name && matches!(field.name.as_str(), "Name" | "Subject") {
        confidence = confidence.max(0.9);
        reasons.push("item name ↔ record name".to_owned());
    }
    if let Some(overlap) = label_overlap(column, field)
        && overlap >= 0.5
    {
        confidence = if confidence > 0.0 {
            (confidence + 0.2 * overlap).min(1.0)
        } else {
            0.4 + 0.3 * overlap
        };
        reasons.push(format!(
            "{:.0}% of the labels are picklist values",
            overlap * 100.0
        ));
    }
    if confidence < THRESHOLD {
        return None;
    }
    // A same-kind pair beats a converted one (an email column for Email over a text column).
    if natural_pair(&field.kind, &column.kind) {
        confidence = (confidence + 0.05).min(1.0);
        reasons.push(format!("{} ↔ {}", field.kind, column.kind));
    } else {
        reasons.push(format!("{} ↔ {} convert", field.kind, column.kind));
    }
    Some(Suggestion {
        column: column.id.clone(),
        field: field.name.clone(),
        direction,
        confidence: (confidence * 100.0).round() / 100.0,
        reason: reasons.join("; "),
        required: field.required,
    })
}

fn natural_pair(sf: &SalesforceKind, monday: &MondayKind) -> bool {
    use MondayKind as M;
    use SalesforceKind as S;
    matches!(
        (sf, monday),
        (S::String, M::Text | M::Name)
            | (S::Textarea, M::LongText)
            | (S::Email, M::Email)
            | (S::Phone, M::Phone)
            | (S::Url, M::Link)
            | (S::Picklist, M::Status | M::Dropdown)
            | (S::Multipicklist, M::Dropdown)
            | (
                S::Double | S::Currency | S::Percent | S::Int | S::Long,
                M::Numbers
            )
            | (S::Boolean, M::Checkbox)
            | (S::Date | S::Datetime, M::Date)
            | (S::User, M::People)
    )
}

/// The suggested pairs (each column and field used once, best pairs first), required fields
/// first, and the required fields left unmatched.
pub fn suggest(
    columns: &[MondayColumn],
    fields: &[SalesforceField],
    allowed: Direction,
) -> (Vec<Suggestion>, Vec<String>) {
    let mut candidates: Vec<Suggestion> = columns
        .iter()
        .flat_map(|c| fields.iter().filter_map(move |f| score(c, f, allowed)))
        .collect();
    candidates.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.required.cmp(&a.required))
            .then(a.column.cmp(&b.column))
            .then(a.field.cmp(&b.field))
    });
    let mut used_columns = BTreeSet::new();
    let mut used_fields = BTreeSet::new();
    let mut chosen = Vec::new();
    for s in candidates {
        if used_columns.contains(&s.column) || used_fields.contains(&s.field) {
            continue;
        }
        used_columns.insert(s.column.clone());
        used_fields.insert(s.field.clone());
        chosen.push(s);
    }
    chosen.sort_by(|a, b| {
        b.required
            .cmp(&a.required)
            .then(b.confidence.total_cmp(&a.confidence))
            .then(a.field.cmp(&b.field))
    });
    let unmatched = fields
        .iter()
        .filter(|f| f.required && !f.is_read_only() && !used_fields.contains(&f.name))
        .map(|f| f.name.clone())
        .collect();
    (chosen, unmatched)
}

#[cfg(test)]
#[path = "suggest_tests.rs"]
mod tests;
