//! Suggested fixes for the remote errors users meet, chosen by the error's code and the kinds
//! of the mapping it concerns: a table from (code, source kind, target kind) to a fix, first
//! matching row wins. No row, no fix: a wrong suggestion is worse than none. The remote's own
//! code and message are always kept verbatim beside it.
//!
//! Kinds are tandem-core's names (`picklist`, `status`, `phone`, …); the source kind is empty
//! when no mapping supplies the field (e.g. a required field nobody mapped).

/// Which kinds a row applies to.
#[derive(Debug, Clone, Copy)]
enum Kinds {
    Any,
    /// No mapping concerns the field (the source kind is empty).
    Unmapped,
    /// A mapping whose kind is one of these.
    OneOf(&'static [&'static str]),
}

impl Kinds {
    fn matches(self, kind: &str) -> bool {
        match self {
            Kinds::Any => true,
            Kinds::Unmapped => kind.is_empty(),
            Kinds::OneOf(kinds) => kinds.contains(&kind),
        }
    }
}

/// One row: the codes, the source and target kinds, and the fix (`{field}` is replaced by the
/// fields the remote named, or "this field").
struct Row {
    codes: &'static [&'static str],
    source: Kinds,
    target: Kinds,
    fix: &'static str,
}

const LABELS: &[&str] = &["status", "dropdown"];
const PICKLISTS: &[&str] = &["picklist", "multipicklist"];
const NUMBERS: &[&str] = &["numbers", "double", "currency", "percent", "int", "long"];
const DATES: &[&str] = &["date", "datetime"];
const PEOPLE: &[&str] = &["people", "user"];
const MONDAY_RATE_LIMITS: &[&str] = &[
    "ComplexityException",
    "RATE_LIMIT_EXCEEDED",
    "COMPLEXITY_BUDGET_EXHAUSTED",
    "MINUTE_RATE_LIMIT_EXCEEDED",
    "MAX_CONCURRENCY_EXCEEDED",
    "DAILY_LIMIT_EXCEEDED",
];

#[rustfmt::skip]
const TABLE: &[Row] = &[
    // Salesforce
    Row { codes: &["REQUIRED_FIELD_MISSING"], source: Kinds::Unmapped, target: Kinds::Any,
        fix: "Salesforce needs a value for {field} to save this record, and no monday column is mapped to it. Map a column to {field}, or give {field} a default value in Salesforce." },
    Row { codes: &["REQUIRED_FIELD_MISSING"], source: Kinds::Any, target: Kinds::Any,
        fix: "Salesforce needs a value for {field}, and the monday column mapped to it is empty on this item. Fill it in on monday (Tandem retries the record), or give {field} a default value in Salesforce." },
    Row { codes: &["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"], source: Kinds::OneOf(LABELS), target: Kinds::Any,
        fix: "The monday label is not one of {field}'s picklist values, and the picklist is restricted. Add the label as a value of {field} in Salesforce, or rename the label on the board to match one." },
    Row { codes: &["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"], source: Kinds::Any, target: Kinds::Any,
        fix: "The value is not one of {field}'s picklist values, and the picklist is restricted. Add it as a value of {field} in Salesforce, or change it on monday to one of them." },
    Row { codes: &["CONVERSION"], source: Kinds::Any, target: Kinds::OneOf(PICKLISTS),
        fix: "Tandem did not send this value: it is not an active value of {field}'s picklist. Add or activate the value in Salesforce, or change it on monday to one of the picklist's values." },
    Row { codes: &["CONVERSION"], source: Kinds::Any, target: Kinds::OneOf(LABELS),
        fix: "Tandem did not send this value: column {field} has no such label. Add the label on the board, or allow creating missing labels for this mapping." },
    Row { codes: &["CONVERSION"], source: Kinds::Any, target: Kinds::OneOf(NUMBERS),
        fix: "Tandem did not send this value: it is not a number {field} can hold (the message says why). Correct the value, or map {field} to a number on the other side." },
    Row { codes: &["CONVERSION"], source: Kinds::Any, target: Kinds::OneOf(DATES),
        fix: "Tandem did not send this value: it is not a date {field} can hold (the message says why). Correct the value at its source." },
    Row { codes: &["CONVERSION"], source: Kinds::Any, target: Kinds::OneOf(&["phone"]),
        fix: "Tandem did not send this value: it is not a phone number {field} accepts. Write it with its country code (e.g. +1 415 555 2000), or set the org's default country." },
    Row { codes: &["CONVERSION"], source: Kinds::Any, target: Kinds::OneOf(&["email"]),
        fix: "Tandem did not send this value: it is not a valid email address for {field}. Correct it at its source." },
    Row { codes: &["CONVERSION"], source: Kinds::Any, target: Kinds::OneOf(PEOPLE),
        fix: "Tandem did not send this value: no user with this email exists on the other side. Invite the person there, or map {field} to a text column instead." },
    Row { codes: &["CONVERSION"], source: Kinds::Any, target: Kinds::Any,
        fix: "Tandem did not send this value: it does not fit {field} on the other side (the message says which value and why). Change the value, or map {field} to a field of a compatible type." },
    Row { codes: &["STRING_TOO_LONG"], source: Kinds::Any, target: Kinds::Any,
        fix: "The text is longer than {field} allows in Salesforce. Shorten it on monday, or turn on truncation for this mapping." },
    Row { codes: &["NUMBER_OUTSIDE_VALID_RANGE"], source: Kinds::Any, target: Kinds::Any,
        fix: "The number has more digits than {field} can hold in Salesforce. Use a smaller number, or ask your Salesforce admin to widen {field}." },
    Row { codes: &["INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_FIELD_FOR_INSERT", "INVALID_FIELD_FOR_UPDATE"], source: Kinds::Any, target: Kinds::Any,
        fix: "{field} cannot be written (it is read-only, a formula, or not editable for the connected user). Map it in the Salesforce → monday direction only, or remove the mapping." },
    Row { codes: &["INVALID_TYPE_ON_FIELD_IN_RECORD"], source: Kinds::Any, target: Kinds::Any,
        fix: "The value does not fit the type of {field}. Check the value on monday, or choose a conversion for this mapping." },
    Row { codes: &["INVALID_EMAIL_ADDRESS"], source: Kinds::Any, target: Kinds::Any,
        fix: "{field} must hold a valid email address; correct the value on monday." },
    Row { codes: &["DUPLICATE_VALUE", "DUPLICATE_EXTERNAL_ID"], source: Kinds::Any, target: Kinds::Any,
        fix: "Another Salesforce record already has this value in {field}, which must be unique. Re-link the existing record (tandem import --match-column/--match-field) instead of creating one." },
    Row { codes: &["FIELD_CUSTOM_VALIDATION_EXCEPTION"], source: Kinds::Any, target: Kinds::Any,
        fix: "A validation rule in Salesforce rejected the record; its message says which rule. Change the values on monday, or ask your Salesforce admin about the rule." },
    Row { codes: &["INVALID_CROSS_REFERENCE_KEY"], source: Kinds::Any, target: Kinds::Any,
        fix: "{field} points to a record that does not exist or that the connected Salesforce user cannot see. Check the value, or share that record with the user." },
    Row { codes: &["ENTITY_IS_DELETED", "NOT_FOUND"], source: Kinds::Any, target: Kinds::Any,
        fix: "The linked Salesforce record no longer exists. Tandem unlinks it; restore the record or let Tandem create a new one." },
    Row { codes: &["INVALID_FIELD"], source: Kinds::Any, target: Kinds::Any,
        fix: "The Salesforce object has no field {field} (deleted or renamed?). Update the integration's mapping." },
    Row { codes: &["INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"], source: Kinds::Any, target: Kinds::Any,
        fix: "The connected Salesforce user may not edit this record. Share the record with that user, or connect as a user who can." },
    Row { codes: &["UNABLE_TO_LOCK_ROW"], source: Kinds::Any, target: Kinds::Any,
        fix: "Salesforce was busy with the same record; Tandem retries it, nothing to do." },
    Row { codes: &["PROCESSING_HALTED"], source: Kinds::Any, target: Kinds::Any,
        fix: "Salesforce stopped this record because another record in the same batch failed; Tandem retries it. Fix the other record's error." },
    Row { codes: &["REQUEST_LIMIT_EXCEEDED"], source: Kinds::Any, target: Kinds::Any,
        fix: "The org used up its daily API calls. Syncing resumes when Salesforce frees calls; a longer poll interval spends fewer." },
    Row { codes: &["LIMIT_EXCEEDED"], source: Kinds::Any, target: Kinds::Any,
        fix: "The org used up its Bulk API allocation for 24 hours (batches or records). The records are retried; they cross once Salesforce frees it, or sooner through collections with a higher TANDEM_SALESFORCE_BULK_WRITE_THRESHOLD." },
    Row { codes: &["MALFORMED_ID"], source: Kinds::Any, target: Kinds::Any,
        fix: "{field} needs a Salesforce record Id (15 or 18 characters), and the value is not one. Map a column that holds Ids, or map {field} in the Salesforce → monday direction only." },
    Row { codes: &["INVALID_TYPE"], source: Kinds::Any, target: Kinds::Any,
        fix: "The Salesforce object no longer exists, or the connected user cannot see it. Check the user's profile, or update the integration's object." },
    Row { codes: &["ALL_OR_NONE_OPERATION_ROLLED_BACK"], source: Kinds::Any, target: Kinds::Any,
        fix: "Salesforce rolled this record back because another record in the same request failed; Tandem retries it. Fix the other record's error." },
    Row { codes: &["SERVER_UNAVAILABLE", "REQUEST_REFUSED"], source: Kinds::Any, target: Kinds::Any,
        fix: "Salesforce was unavailable; Tandem retries, nothing to do." },
    Row { codes: &["INVALID_SESSION_ID"], source: Kinds::Any, target: Kinds::Any,
        fix: "The Salesforce session expired and could not be renewed. Reconnect the Salesforce connection (tandem connect salesforce --reconnect)." },
    // monday
    Row { codes: &["ColumnValueException"], source: Kinds::Any, target: Kinds::OneOf(LABELS),
        fix: "monday has no such label in column {field}. Add the label on the board, or allow creating missing labels for this mapping." },
    Row { codes: &["ColumnValueException"], source: Kinds::Any, target: Kinds::OneOf(&["phone"]),
        fix: "monday refused the phone number for column {field}. Write it in Salesforce with its country code (e.g. +1 415 555 2000), or set the org's default country." },
    Row { codes: &["ColumnValueException"], source: Kinds::Any, target: Kinds::OneOf(&["email"]),
        fix: "monday refused the email address for column {field}. Correct it in Salesforce." },
    Row { codes: &["ColumnValueException"], source: Kinds::Any, target: Kinds::OneOf(&["numbers"]),
        fix: "monday refused the number for column {field}. Correct the value in Salesforce." },
    Row { codes: &["ColumnValueException"], source: Kinds::Any, target: Kinds::OneOf(&["date"]),
        fix: "monday refused the date for column {field}. Correct the value in Salesforce." },
    Row { codes: &["ColumnValueException"], source: Kinds::Any, target: Kinds::OneOf(&["people"]),
        fix: "monday refused the person for column {field}: no monday user has that email. Invite them to monday, or map the field to a text column." },
    Row { codes: &["ItemNameTooLongException"], source: Kinds::Any, target: Kinds::Any,
        fix: "monday item names are at most 255 characters, and this one is longer. Shorten the value in Salesforce." },
    Row { codes: &["InvalidGroupIdException"], source: Kinds::Any, target: Kinds::Any,
        fix: "The board group new items go to no longer exists. Choose another group in the integration's settings." },
    Row { codes: &["InvalidColumnIdException"], source: Kinds::Any, target: Kinds::Any,
        fix: "Column {field} no longer exists on the board. Update the integration's mapping." },
    Row { codes: &["ResourceNotFoundException", "InvalidItemIdException"], source: Kinds::Any, target: Kinds::Any,
        fix: "The linked monday item no longer exists (deleted or archived). Tandem unlinks it." },
    Row { codes: &["InvalidBoardIdException"], source: Kinds::Any, target: Kinds::Any,
        fix: "The board no longer exists, or the connected monday user cannot see it. Share the board with that user, or update the integration." },
    Row { codes: MONDAY_RATE_LIMITS, source: Kinds::Any, target: Kinds::Any,
        fix: "monday's API budget was spent; Tandem waits and retries, nothing to do." },
    Row { codes: &["UserUnauthorizedException"], source: Kinds::Any, target: Kinds::Any,
        fix: "The connected monday user may not change this board. Give the user edit rights, or reconnect as a board member." },
    Row { codes: &["ItemsLimitationException"], source: Kinds::Any, target: Kinds::Any,
        fix: "The board reached monday's item limit. Archive items, or move to a plan with a higher limit." },
];

/// The suggested fix for `code` on a mapping from a `source_kind` to a `target_kind` (either
/// may be empty), naming `fields` where the remote named them; `None` when none is known.
pub fn explain(
    code: &str,
    fields: &[String],
    source_kind: &str,
    target_kind: &str,
) -> Option<String> {
    let row = &TABLE[row_of(code, source_kind, target_kind)?];
    let text = if fields.is_empty() {
        row.fix
            .replacen(
                "{field} ",
                "This field ",
                usize::from(row.fix.starts_with("{field}")),
            )
            .replace("{field}", "this field")
    } else {
        row.fix.replace("{field}", &fields.join(", "))
    };
    Some(text)
}

/// The index of the first row of the table that applies.
fn row_of(code: &str, source_kind: &str, target_kind: &str) -> Option<usize> {
    TABLE.iter().position(|r| {
        r.codes.contains(&code) && r.source.matches(source_kind) && r.target.matches(target_kind)
    })
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
