//! A run's record events as a person reads them: what happened to which record (by name),
//! which way it moved, each field's before → after (a conflict: both sides and the winner),
//! and for a failure the remote's own message with the suggested fix.

use serde_json::{Value, json};
use tandem_proto::v1 as pb;

use super::output::{event_action, side, time};

/// A side as a person names it.
fn side_name(value: i32) -> &'static str {
    match pb::Side::try_from(value) {
        Ok(pb::Side::Salesforce) => "Salesforce",
        Ok(pb::Side::Monday) => "monday",
        _ => "?",
    }
}

/// The side a change went to: the event's, or the other side of its source (older events).
fn target_side(e: &pb::RecordEvent) -> i32 {
    match pb::Side::try_from(e.target_side) {
        Ok(pb::Side::Salesforce | pb::Side::Monday) => e.target_side,
        _ if e.source_side == pb::Side::Salesforce as i32 => pb::Side::Monday as i32,
        _ => pb::Side::Salesforce as i32,
    }
}

/// `"Acme deal" (006…)`, the id alone when the name is unknown, `-` when there is no record.
fn record(name: &str, id: &str) -> String {
    match (name.is_empty(), id.is_empty()) {
        (_, true) if name.is_empty() => "-".to_owned(),
        (true, _) => id.to_owned(),
        (false, true) => format!("\"{name}\""),
        (false, false) => format!("\"{name}\" ({id})"),
    }
}

/// A value as stored (JSON text): a string without its quotes, `(empty)` for null.
fn value(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Null) => "(empty)".to_owned(),
        Ok(Value::String(s)) => format!("\"{s}\""),
        Ok(other) => other.to_string(),
        Err(_) if text.is_empty() => "(empty)".to_owned(),
        Err(_) => text.to_owned(),
    }
}

/// The lines of one field's change.
fn change_line(c: &pb::FieldChange) -> String {
    let from = if c.source_field.is_empty() {
        String::new()
    } else {
        format!("  (from {})", c.source_field)
    };
    if c.redacted {
        return format!("{}: (values hidden){from}", c.field);
    }
    let mut line = format!(
        "{}: {} → {}{from}",
        c.field,
        value(&c.before),
        value(&c.after)
    );
    if c.winner != 0 {
        line.push_str(&format!(
            "\n      Salesforce had {}, monday had {}; {} won",
            value(&c.salesforce_value),
            value(&c.monday_value),
            side_name(c.winner)
        ));
    }
    line
}

/// Every event as a block: a heading line, then its changes and errors, indented.
pub fn render(events: &[pb::RecordEvent]) -> String {
    let mut out = String::new();
    for e in events {
        let target = target_side(e);
        let at = time(e.at.as_ref());
        let at = at.as_str().unwrap_or("-");
        let action = event_action(e.action).unwrap_or_else(|| "-".to_owned());
        out.push_str(&format!(
            "{at}  {action}  {} → {}: {} → {}\n",
            side_name(e.source_side),
            side_name(target),
            record(&e.source_name, &e.source_record_id),
            record(&e.target_name, &e.target_record_id),
        ));
        if !e.reason.is_empty() {
            out.push_str(&format!("    {}\n", e.reason));
        }
        for c in &e.changes {
            out.push_str(&format!("    {}\n", change_line(c)));
        }
        for error in &e.errors {
            let fields = if error.fields.is_empty() {
                String::new()
            } else {
                format!(" [{}]", error.fields.join(", "))
            };
            let code = if error.code.is_empty() {
                "-"
            } else {
                &error.code
            };
            out.push_str(&format!(
                "    {} error {code}{fields}: {}\n",
                side_name(target),
                error.message
            ));
            if !error.explanation.is_empty() {
                out.push_str(&format!("    fix: {}\n", error.explanation));
            }
        }
    }
    out
}

pub fn json(e: &pb::RecordEvent) -> Value {
    json!({
        "key": e.key,
        "run_id": e.run_id,
        "source_side": side(e.source_side),
        "target_side": side(target_side(e)),
        "source_record_id": e.source_record_id,
        "source_name": e.source_name,
        "target_record_id": e.target_record_id,
        "target_name": e.target_name,
        "action": event_action(e.action),
        "reason": e.reason,
        "changes": e.changes.iter().map(|c| json!({
            "field": c.field,
            "source_field": c.source_field,
            "before": c.before,
            "after": c.after,
            "salesforce_value": c.salesforce_value,
            "monday_value": c.monday_value,
            "winner": side(c.winner),
            "redacted": c.redacted,
        })).collect::<Vec<_>>(),
        "errors": e.errors.iter().map(|r| json!({
            "code": r.code,
            "message": r.message,
            "fields": r.fields,
            "explanation": r.explanation,
        })).collect::<Vec<_>>(),
        "at": time(e.at.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(field: &str, from: &str, before: &str, after: &str) -> pb::FieldChange {
        pb::FieldChange {
            field: field.into(),
            source_field: from.into(),
            before: before.into(),
            after: after.into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_update_reads_as_names_direction_and_a_diff() {
        let e = pb::RecordEvent {
            source_side: pb::Side::Monday as i32,
            target_side: pb::Side::Salesforce as i32,
            source_record_id: "17".into(),
            source_name: "Acme deal".into(),
            target_record_id: "006A".into(),
            target_name: "Acme deal".into(),
            action: pb::EventAction::Updated as i32,
            changes: vec![change(
                "StageName",
                "status",
                "\"Prospecting\"",
                "\"Closed Won\"",
            )],
            ..Default::default()
        };
        let text = render(&[e]);
        assert!(
            text.contains(
                "updated  monday → Salesforce: \"Acme deal\" (17) → \"Acme deal\" (006A)"
            ),
            "{text}"
        );
        assert!(
            text.contains("StageName: \"Prospecting\" → \"Closed Won\"  (from status)"),
            "{text}"
        );
    }

    #[test]
    fn a_conflict_shows_both_sides_and_the_winner_and_a_failure_its_side_and_fix() {
        let conflict = pb::RecordEvent {
            source_side: pb::Side::Monday as i32,
            action: pb::EventAction::Conflict as i32,
            changes: vec![pb::FieldChange {
                salesforce_value: "\"Closed Lost\"".into(),
                monday_value: "\"Closed Won\"".into(),
                winner: pb::Side::Monday as i32,
                ..change("StageName", "status", "\"Closed Lost\"", "\"Closed Won\"")
            }],
            ..Default::default()
        };
        let failure = pb::RecordEvent {
            source_side: pb::Side::Monday as i32,
            action: pb::EventAction::Failed as i32,
            errors: vec![pb::RemoteError {
                code: "STRING_TOO_LONG".into(),
                message: "Name: data value too large".into(),
                fields: vec!["Name".into()],
                explanation: "Shorten it.".into(),
                ..Default::default()
            }],
            changes: vec![pb::FieldChange {
                redacted: true,
                ..change("Name", "name", "", "")
            }],
            ..Default::default()
        };
        let text = render(&[conflict, failure]);
        assert!(
            text.contains("Salesforce had \"Closed Lost\", monday had \"Closed Won\"; monday won"),
            "{text}"
        );
        // Coming from monday, the failure is Salesforce's (older events have no target side).
        assert!(text.contains("failed  monday → Salesforce"), "{text}");
        assert!(
            text.contains("Salesforce error STRING_TOO_LONG [Name]: Name: data value too large"),
            "{text}"
        );
        assert!(text.contains("fix: Shorten it."), "{text}");
        assert!(text.contains("Name: (values hidden)"), "{text}");
    }
}
