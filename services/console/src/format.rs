//! How the contract's values read on a page: times, states, directions, budgets, values.

use tandem_proto::v1 as pb;
use time::OffsetDateTime;

use crate::session::unix_now;

/// `2026-12-07 10:21 UTC`, or `—` when unset.
pub fn when(at: Option<&prost_types::Timestamp>) -> String {
    let Some(at) = at else {
        return "—".to_owned();
    };
    match OffsetDateTime::from_unix_timestamp(at.seconds) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "—".to_owned(),
    }
}

/// `3 min`, `2 h 5 min`, `40 s`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min", seconds / 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

/// How late an integration is: nothing when its next run is not due yet (or it is paused),
/// else how long it has been due.
pub fn lag(status: &pb::IntegrationStatus) -> String {
    if status.state != "active" {
        return "—".to_owned();
    }
    match status.next_run_at.as_ref() {
        Some(next) if (next.seconds as u64) < unix_now() => {
            format!("{} late", duration(unix_now() - next.seconds as u64))
        }
        Some(_) => "on time".to_owned(),
        None => "—".to_owned(),
    }
}

pub fn state(state: i32) -> &'static str {
    match pb::IntegrationState::try_from(state) {
        Ok(pb::IntegrationState::Active) => "active",
        Ok(pb::IntegrationState::Paused) => "paused",
        _ => "unknown",
    }
}

pub fn scope(scope: i32) -> &'static str {
    match pb::Scope::try_from(scope) {
        Ok(pb::Scope::TwoWay) => "two-way",
        Ok(pb::Scope::MondayToSalesforce) => "monday → Salesforce only",
        Ok(pb::Scope::SalesforceToMonday) => "Salesforce → monday only",
        _ => "unspecified",
    }
}

/// Which way a field mapping flows, in words, given the integration's scope (one-way scopes
/// decide for every field).
pub fn direction(direction: i32, scope: i32) -> &'static str {
    match pb::Scope::try_from(scope) {
        Ok(pb::Scope::MondayToSalesforce) => return "monday → Salesforce",
        Ok(pb::Scope::SalesforceToMonday) => return "Salesforce → monday",
        _ => {}
    }
    match pb::Direction::try_from(direction) {
        Ok(pb::Direction::MondayToSalesforce) => "monday → Salesforce",
        Ok(pb::Direction::SalesforceToMonday) => "Salesforce → monday",
        _ => "both ways",
    }
}

pub fn conflict_policy(policy: i32) -> &'static str {
    match pb::ConflictPolicy::try_from(policy) {
        Ok(pb::ConflictPolicy::SalesforceWins) => "Salesforce wins",
        Ok(pb::ConflictPolicy::MondayWins) => "monday wins",
        _ => "the newer change wins",
    }
}

pub fn side(side: i32) -> &'static str {
    match pb::Side::try_from(side) {
        Ok(pb::Side::Salesforce) => "Salesforce",
        Ok(pb::Side::Monday) => "monday",
        _ => "?",
    }
}

pub fn run_status(status: i32) -> &'static str {
    match pb::RunStatus::try_from(status) {
        Ok(pb::RunStatus::Running) => "running",
        Ok(pb::RunStatus::Succeeded) => "succeeded",
        Ok(pb::RunStatus::PartiallyFailed) => "partially failed",
        Ok(pb::RunStatus::Failed) => "failed",
        _ => "unknown",
    }
}

pub fn trigger(trigger: i32) -> &'static str {
    match pb::Trigger::try_from(trigger) {
        Ok(pb::Trigger::Schedule) => "schedule",
        Ok(pb::Trigger::Webhook) => "webhook",
        Ok(pb::Trigger::Manual) => "sync now",
        Ok(pb::Trigger::Import) => "import",
        Ok(pb::Trigger::DryRun) => "dry run",
        _ => "unknown",
    }
}

pub fn action(action: i32) -> &'static str {
    match pb::EventAction::try_from(action) {
        Ok(pb::EventAction::Created) => "created",
        Ok(pb::EventAction::Updated) => "updated",
        Ok(pb::EventAction::Skipped) => "skipped",
        Ok(pb::EventAction::Failed) => "failed",
        Ok(pb::EventAction::Conflict) => "conflict",
        Ok(pb::EventAction::Unlinked) => "unlinked",
        _ => "unknown",
    }
}

/// `12 of 15,000 calls`, `12 calls` (limit unknown), or `—`.
pub fn usage(usage: Option<&pb::ApiUsage>, unit: &str) -> String {
    match usage {
        Some(u) if u.limit > 0 => format!("{} of {} {unit}", u.used, u.limit),
        Some(u) => format!("{} {unit}", u.used),
        None => "—".to_owned(),
    }
}

/// A field value as run history holds it (JSON text): a string shown as itself in quotes,
/// `null` as empty, anything else as its JSON.
pub fn value(json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Null) => "(empty)".to_owned(),
        Ok(serde_json::Value::String(s)) => format!("\"{s}\""),
        Ok(other) => other.to_string(),
        Err(_) if json.is_empty() => "(empty)".to_owned(),
        Err(_) => json.to_owned(),
    }
}

/// A record as an event names it: `"Acme" (006…)`, or its id alone.
pub fn record(name: &str, id: &str) -> String {
    match (name.is_empty(), id.is_empty()) {
        (false, false) => format!("\"{name}\" ({id})"),
        (false, true) => format!("\"{name}\""),
        (true, false) => id.to_owned(),
        (true, true) => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_people_see_them() {
        assert_eq!(value("null"), "(empty)");
        assert_eq!(value(""), "(empty)");
        assert_eq!(value("\"Closed Won\""), "\"Closed Won\"");
        assert_eq!(value("120000"), "120000");
        assert_eq!(value("not json"), "not json");
    }

    #[test]
    fn one_way_scopes_decide_every_fields_direction() {
        let both = pb::Direction::Both as i32;
        assert_eq!(direction(both, pb::Scope::TwoWay as i32), "both ways");
        assert_eq!(
            direction(both, pb::Scope::SalesforceToMonday as i32),
            "Salesforce → monday"
        );
        assert_eq!(
            direction(
                pb::Direction::MondayToSalesforce as i32,
                pb::Scope::TwoWay as i32
            ),
            "monday → Salesforce"
        );
    }

    #[test]
    fn times_and_budgets() {
        let at = prost_types::Timestamp {
            seconds: 1_796_640_102,
            nanos: 0,
        };
        assert_eq!(when(Some(&at)), "2026-12-07 10:41:42 UTC");
        assert_eq!(when(None), "—");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(7_500), "2 h 5 min");
        let u = pb::ApiUsage {
            used: 12,
            limit: 15_000,
        };
        assert_eq!(usage(Some(&u), "calls"), "12 of 15000 calls");
        assert_eq!(record("Acme", "006A"), "\"Acme\" (006A)");
    }
}
