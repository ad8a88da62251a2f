//! Plain-language explanations and suggested fixes for the remote errors users meet most.
//! The remote's own code and message are always kept verbatim beside them.

/// An explanation for `code` (naming `fields` where the remote named them), or `None`.
pub fn explain(code: &str, fields: &[String]) -> Option<String> {
    let named = if fields.is_empty() {
        "the field".to_owned()
    } else {
        fields.join(", ")
    };
    let text = match code {
        "REQUIRED_FIELD_MISSING" => format!(
            "Salesforce needs a value for {named} to save this record, and no mapped column supplied one. \
             Map a monday column to {named}, or give it a default value in Salesforce."
        ),
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" => format!(
            "The value sent to {named} is not one of its picklist's values, and the picklist is restricted. \
             Add the value to the picklist in Salesforce, or use a monday label that matches a picklist value."
        ),
        "CONVERSION" => format!(
            "Tandem did not send this value: it does not fit {named} on the other side (the message says which value and why), \
             so writing it would only have been refused there. Change the value, or the target (for a picklist: add or \
             activate the value in Salesforce), or map the column to a field of a compatible type."
        ),
        "STRING_TOO_LONG" => format!(
            "The text is longer than {named} allows in Salesforce. Shorten it, or turn on truncation for this mapping."
        ),
        "INVALID_FIELD_FOR_INSERT_UPDATE" | "INVALID_FIELD_FOR_INSERT" | "INVALID_FIELD_FOR_UPDATE" => format!(
            "{named} cannot be written (it is read-only, a formula, or not editable for this user). \
             Map it in the Salesforce → monday direction only, or remove the mapping."
        ),
        "INVALID_TYPE_ON_FIELD_IN_RECORD" => format!(
            "The value does not fit the type of {named}. Check the column's values, or choose a conversion for this mapping."
        ),
        "INVALID_EMAIL_ADDRESS" => format!("{named} must hold a valid email address; fix the value in monday."),
        "DUPLICATE_VALUE" => format!(
            "Another record already has this value in {named}, which must be unique. Re-link the existing record instead of creating one."
        ),
        "FIELD_CUSTOM_VALIDATION_EXCEPTION" => {
            "A validation rule in Salesforce rejected the record; its message says which rule. \
             Change the values in monday, or ask your Salesforce admin about the rule."
                .to_owned()
        }
        "ENTITY_IS_DELETED" | "NOT_FOUND" => {
            "The linked Salesforce record no longer exists. Tandem unlinks it; restore the record or let Tandem create a new one."
                .to_owned()
        }
        "INSUFFICIENT_ACCESS_OR_READONLY" | "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY" => {
            "The connected Salesforce user may not edit this record. Share the record with that user, or connect as a user who can."
                .to_owned()
        }
        "UNABLE_TO_LOCK_ROW" => "Salesforce was busy with the same record; Tandem retries it.".to_owned(),
        "REQUEST_LIMIT_EXCEEDED" => {
            "The org used up its daily API calls. Syncing resumes when Salesforce resets the limit; a longer poll interval spends fewer calls."
                .to_owned()
        }
        "INVALID_SESSION_ID" => {
            "The Salesforce session expired and could not be renewed. Reconnect the Salesforce connection.".to_owned()
        }
        "ColumnValueException" => format!(
            "monday rejected the value for column {named} (for a status or dropdown, the label may not exist on the board). \
             Add the label on the board, or allow creating missing labels for this mapping."
        ),
        "InvalidColumnIdException" => {
            format!("Column {named} no longer exists on the board. Update the integration's mapping.")
        }
        "ResourceNotFoundException" | "InvalidItemIdException" => {
            "The linked monday item no longer exists (deleted or archived). Tandem unlinks it.".to_owned()
        }
        "InvalidBoardIdException" => "The board no longer exists or the connected user cannot see it.".to_owned(),
        "ComplexityException" | "RATE_LIMIT_EXCEEDED" => {
            "monday's API budget for this minute was spent; Tandem waits and retries.".to_owned()
        }
        "UserUnauthorizedException" => {
            "The connected monday user may not change this board. Give the user edit rights, or reconnect as a board member."
                .to_owned()
        }
        "ItemsLimitationException" => {
            "The board reached monday's item limit. Archive items or move to a plan with a higher limit.".to_owned()
        }
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn required_field_names_the_field_to_map() {
        let text = explain("REQUIRED_FIELD_MISSING", &["StageName".to_owned()]).unwrap();
        assert!(text.contains("Map a monday column to StageName"), "{text}");
    }

    #[test]
    fn unknown_codes_have_no_explanation() {
        assert_eq!(explain("SOMETHING_NEW", &[]), None);
    }

    #[test]
    fn monday_status_label_error_suggests_creating_labels() {
        let text = explain("ColumnValueException", &["status".to_owned()]).unwrap();
        assert!(text.contains("allow creating missing labels"), "{text}");
    }
}
