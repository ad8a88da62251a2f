//! Human tables and `--json` documents of the services' messages. prost types do not derive
//! serde, so each message is turned into a JSON value here, with the same field names as the
//! proto and enum values as the short lowercase names the integration file uses.

use serde_json::{Value, json};
use tandem_proto::v1 as pb;

/// A proto enum value's short name: `CONNECTION_KIND_SALESFORCE` → `salesforce`; the
/// unspecified value → `None`.
pub fn short(full: &str, prefix: &str) -> Option<String> {
    let name = full.strip_prefix(prefix).unwrap_or(full);
    (name != "UNSPECIFIED").then(|| name.to_ascii_lowercase())
}

/// A short name for humans: `-` when unspecified.
fn shown(name: Option<String>) -> String {
    name.unwrap_or_else(|| "-".to_owned())
}

macro_rules! enum_names {
    ($($fn:ident: $ty:ty, $prefix:literal;)*) => {
        $(
            pub fn $fn(value: i32) -> Option<String> {
                <$ty>::try_from(value)
                    .ok()
                    .and_then(|v| short(v.as_str_name(), $prefix))
            }
        )*
    };
}

enum_names! {
    connection_kind: pb::ConnectionKind, "CONNECTION_KIND_";
    connection_state: pb::ConnectionState, "CONNECTION_STATE_";
    environment: pb::SalesforceEnvironment, "SALESFORCE_ENVIRONMENT_";
    scope: pb::Scope, "SCOPE_";
    direction: pb::Direction, "DIRECTION_";
    conflict_policy: pb::ConflictPolicy, "CONFLICT_POLICY_";
    coalescing_mode: pb::CoalescingMode, "COALESCING_MODE_";
    integration_state: pb::IntegrationState, "INTEGRATION_STATE_";
    trigger: pb::Trigger, "TRIGGER_";
    run_status: pb::RunStatus, "RUN_STATUS_";
    event_action: pb::EventAction, "EVENT_ACTION_";
    side: pb::Side, "SIDE_";
}

/// RFC 3339, as in the proto's JSON mapping.
pub fn time(t: Option<&prost_types::Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// To the second, for tables.
fn time_shown(t: Option<&prost_types::Timestamp>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| {
            prost_types::Timestamp {
                seconds: t.seconds,
                nanos: 0,
            }
            .to_string()
        },
    )
}

/// Prints a JSON document on stdout.
pub fn print_json(value: &Value) {
    // Serialising a `Value` cannot fail.
    out!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// A plain text table: a header and left-aligned columns two spaces apart.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Table {
        Table {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    let pad = widths
                        .get(i)
                        .copied()
                        .unwrap_or(0)
                        .saturating_sub(cell.chars().count())
                        + 2;
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = vec![line(self.header.clone())];
        for row in &self.rows {
            out.push(line(row.iter().map(String::as_str).collect()));
        }
        out.join("\n")
    }

    pub fn print(&self) {
        out!("{}", self.render());
    }
}

/// `key  value` lines, for one object.
pub fn print_pairs(pairs: &[(&str, String)]) {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in pairs {
        out!("{key:width$}  {value}");
    }
}

pub fn connection_json(c: &pb::Connection) -> Value {
    json!({
        "id": c.id,
        "kind": connection_kind(c.kind),
        "state": connection_state(c.state),
        "state_reason": c.state_reason,
        "owner": c.owner,
        "account": c.account,
        "subdomain": c.subdomain,
        "environment": environment(c.environment),
        "salesforce_org_id": c.salesforce_org_id,
        "salesforce_username": c.salesforce_username,
        "scopes": c.scopes,
        "monday_account_id": c.monday_account_id,
        "monday_user_email": c.monday_user_email,
        "created_at": time(c.created_at.as_ref()),
    })
}

pub fn print_connection(c: &pb::Connection) {
    let mut pairs = vec![
        ("id", c.id.clone()),
        ("kind", shown(connection_kind(c.kind))),
        ("state", shown(connection_state(c.state))),
        ("owner", c.owner.clone()),
    ];
    if !c.state_reason.is_empty() {
        pairs.push(("reason", c.state_reason.clone()));
    }
    if c.kind == pb::ConnectionKind::Salesforce as i32 {
        pairs.push(("subdomain", c.subdomain.clone()));
        pairs.push(("environment", shown(environment(c.environment))));
        pairs.push(("org", c.salesforce_org_id.clone()));
        pairs.push(("username", c.salesforce_username.clone()));
    } else {
        pairs.push(("monday account", c.monday_account_id.clone()));
        pairs.push(("monday user", c.monday_user_email.clone()));
    }
    print_pairs(&pairs);
}

fn options_json(o: &pb::ConversionOptions) -> Value {
    json!({
        "true_label": o.true_label,
        "false_label": o.false_label,
        "truncate": o.truncate,
        "create_missing_labels": o.create_missing_labels,
        "sensitive": o.sensitive,
    })
}

pub fn mapping_json(m: &pb::FieldMapping) -> Value {
    let mut value = json!({
        "monday_column_id": m.monday_column_id,
        "salesforce_field": m.salesforce_field,
        "direction": direction(m.direction),
    });
    if let Some(options) = &m.options {
        value["options"] = options_json(options);
    }
    value
}

/// A condition tree as the JSON document it is stored as (`null` for "any record").
fn conditions_json(c: Option<&pb::Conditions>) -> Value {
    c.filter(|c| !c.json.trim().is_empty())
        .map_or(Value::Null, |c| {
            serde_json::from_str(&c.json).unwrap_or_else(|_| Value::String(c.json.clone()))
        })
}

/// The spec in the integration file's format, so `--json` output can be edited and fed back.
pub fn spec_json(s: &pb::IntegrationSpec) -> Value {
    json!({
        "name": s.name,
        "monday_connection_id": s.monday_connection_id,
        "board_id": s.board_id,
        "group_id": s.group_id,
        "salesforce_connection_id": s.salesforce_connection_id,
        "salesforce_object": s.salesforce_object,
        "scope": scope(s.scope),
        "mappings": s.mappings.iter().map(mapping_json).collect::<Vec<_>>(),
        "incoming_conditions": conditions_json(s.incoming_conditions.as_ref()),
        "outgoing_conditions": conditions_json(s.outgoing_conditions.as_ref()),
        "conflict_policy": conflict_policy(s.conflict_policy),
        "poll_interval_seconds": s.poll_interval_seconds,
        "coalescing_mode": coalescing_mode(s.coalescing_mode),
        "coalescing_window_seconds": s.coalescing_window_seconds,
        "debounce_seconds": s.debounce_seconds,
        "link_monday_column_id": s.link_monday_column_id,
        "link_salesforce_field": s.link_salesforce_field,
    })
}

pub fn integration_json(i: &pb::Integration) -> Value {
    json!({
        "id": i.id,
        "owner": i.owner,
        "account": i.account,
        "state": integration_state(i.state),
        "state_reason": i.state_reason,
        "version": i.version,
        "created_at": time(i.created_at.as_ref()),
        "updated_at": time(i.updated_at.as_ref()),
        "spec": i.spec.as_ref().map_or(Value::Null, spec_json),
    })
}

pub fn print_integration(i: &pb::Integration) {
    let spec = i.spec.clone().unwrap_or_default();
    let mut pairs = vec![
        ("id", i.id.clone()),
        ("name", spec.name.clone()),
        ("state", shown(integration_state(i.state))),
    ];
    if !i.state_reason.is_empty() {
        pairs.push(("reason", i.state_reason.clone()));
    }
    pairs.extend([
        ("owner", i.owner.clone()),
        ("version", i.version.to_string()),
        ("board", spec.board_id.clone()),
        ("object", spec.salesforce_object.clone()),
        ("scope", shown(scope(spec.scope))),
        ("monday connection", spec.monday_connection_id.clone()),
        (
            "salesforce connection",
            spec.salesforce_connection_id.clone(),
        ),
        ("updated", time_shown(i.updated_at.as_ref())),
    ]);
    print_pairs(&pairs);
    if !spec.mappings.is_empty() {
        out!("");
        let mut table = Table::new(&["COLUMN", "FIELD", "DIRECTION"]);
        for m in &spec.mappings {
            table.row(vec![
                m.monday_column_id.clone(),
                m.salesforce_field.clone(),
                shown(direction(m.direction)),
            ]);
        }
        table.print();
    }
}

pub fn integrations_table(list: &[pb::Integration]) -> Table {
    let mut table = Table::new(&["ID", "NAME", "STATE", "BOARD", "OBJECT", "SCOPE", "OWNER"]);
    for i in list {
        let spec = i.spec.clone().unwrap_or_default();
        table.row(vec![
            i.id.clone(),
            spec.name,
            shown(integration_state(i.state)),
            spec.board_id,
            spec.salesforce_object,
            shown(scope(spec.scope)),
            i.owner.clone(),
        ]);
    }
    table
}

pub fn status_json(s: &pb::IntegrationStatus) -> Value {
    let usage = |u: Option<&pb::ApiUsage>| {
        u.map_or(Value::Null, |u| json!({"used": u.used, "limit": u.limit}))
    };
    json!({
        "integration_id": s.integration_id,
        "state": s.state,
        "state_reason": s.state_reason,
        "last_run_id": s.last_run_id,
        "last_run_at": time(s.last_run_at.as_ref()),
        "next_run_at": time(s.next_run_at.as_ref()),
        "pending_changes": s.pending_changes,
        "linked_records": s.linked_records,
        "failing_records": s.failing_records,
        "salesforce_usage": usage(s.salesforce_usage.as_ref()),
        "monday_usage": usage(s.monday_usage.as_ref()),
        "import": s.import.as_ref().map_or(Value::Null, |p| json!({
            "source": side_name(p.source),
            "records_done": p.records_done,
            "records_total": p.records_total,
            "started_at": time(p.started_at.as_ref()),
            "updated_at": time(p.updated_at.as_ref()),
        })),
    })
}

fn side_name(side: i32) -> &'static str {
    match pb::Side::try_from(side) {
        Ok(pb::Side::Salesforce) => "salesforce",
        Ok(pb::Side::Monday) => "monday",
        _ => "unspecified",
    }
}

/// An import's progress in words: done of total, the rate so far and the time left.
pub fn import_progress(p: &pb::ImportProgress) -> String {
    let seconds = |t: Option<&prost_types::Timestamp>| t.map_or(0, |t| t.seconds);
    let elapsed = (seconds(p.updated_at.as_ref()) - seconds(p.started_at.as_ref())).max(1) as u64;
    let rate = p.records_done / elapsed;
    let mut shown = format!("from {}: {} ", side_name(p.source), p.records_done);
    if p.records_total > 0 {
        let left = p.records_total.saturating_sub(p.records_done);
        shown.push_str(&format!(
            "of {} records ({}%), {rate} records/s",
            p.records_total,
            p.records_done * 100 / p.records_total
        ));
        if let Some(seconds) = left.checked_div(rate) {
            shown.push_str(&format!(", about {seconds} s left"));
        }
    } else {
        shown.push_str(&format!("records, {rate} records/s"));
    }
    shown
}

pub fn print_status(s: &pb::IntegrationStatus) {
    let usage = |u: Option<&pb::ApiUsage>| match u {
        Some(u) if u.limit > 0 => format!("{} of {}", u.used, u.limit),
        Some(u) => u.used.to_string(),
        None => "-".to_owned(),
    };
    let mut pairs = vec![
        ("integration", s.integration_id.clone()),
        ("state", s.state.clone()),
    ];
    if !s.state_reason.is_empty() {
        pairs.push(("reason", s.state_reason.clone()));
    }
    pairs.extend([
        (
            "last run",
            if s.last_run_id.is_empty() {
                "-".to_owned()
            } else {
                format!(
                    "{} at {}",
                    s.last_run_id,
                    time_shown(s.last_run_at.as_ref())
                )
            },
        ),
        ("next run", time_shown(s.next_run_at.as_ref())),
        ("pending changes", s.pending_changes.to_string()),
        ("linked records", s.linked_records.to_string()),
        ("failing records", s.failing_records.to_string()),
        ("salesforce API calls", usage(s.salesforce_usage.as_ref())),
        ("monday complexity", usage(s.monday_usage.as_ref())),
    ]);
    if let Some(import) = &s.import {
        pairs.push(("import", import_progress(import)));
    }
    print_pairs(&pairs);
}

fn counters_json(c: &pb::RunCounters) -> Value {
    json!({
        "read": c.read,
        "created": c.created,
        "updated": c.updated,
        "skipped": c.skipped,
        "failed": c.failed,
        "conflicts": c.conflicts,
        "salesforce_api_calls": c.salesforce_api_calls,
        "monday_api_calls": c.monday_api_calls,
    })
}

pub fn run_json(r: &pb::Run) -> Value {
    json!({
        "id": r.id,
        "integration_id": r.integration_id,
        "owner": r.owner,
        "account": r.account,
        "trigger": trigger(r.trigger),
        "status": run_status(r.status),
        "started_at": time(r.started_at.as_ref()),
        "finished_at": time(r.finished_at.as_ref()),
        "counters": r.counters.as_ref().map_or(Value::Null, counters_json),
        "error": r.error,
    })
}

/// One line: `run ID (import): succeeded — read 3, created 2, …`.
pub fn run_summary(r: &pb::Run) -> String {
    let c = r.counters.unwrap_or_default();
    let mut text = format!(
        "run {} ({}): {} — read {}, created {}, updated {}, skipped {}, failed {}, conflicts {}",
        r.id,
        shown(trigger(r.trigger)),
        shown(run_status(r.status)).replace('_', " "),
        c.read,
        c.created,
        c.updated,
        c.skipped,
        c.failed,
        c.conflicts
    );
    if !r.error.is_empty() {
        text.push_str(&format!("; error: {}", r.error));
    }
    text
}

pub fn runs_table(runs: &[pb::Run]) -> Table {
    let mut table = Table::new(&[
        "RUN", "TRIGGER", "STATUS", "STARTED", "READ", "CREATED", "UPDATED", "SKIPPED", "FAILED",
        "ERROR",
    ]);
    for r in runs {
        let c = r.counters.unwrap_or_default();
        table.row(vec![
            r.id.clone(),
            shown(trigger(r.trigger)),
            shown(run_status(r.status)),
            time_shown(r.started_at.as_ref()),
            c.read.to_string(),
            c.created.to_string(),
            c.updated.to_string(),
            c.skipped.to_string(),
            c.failed.to_string(),
            r.error.clone(),
        ]);
    }
    table
}

pub fn suggestions_json(s: &pb::SuggestMappingResponse) -> Value {
    json!({
        "suggestions": s.suggestions.iter().map(|s| json!({
            "mapping": s.mapping.as_ref().map_or(Value::Null, mapping_json),
            "confidence": s.confidence,
            "reason": s.reason,
        })).collect::<Vec<_>>(),
        "unmatched_required_fields": s.unmatched_required_fields,
    })
}

pub fn print_suggestions(s: &pb::SuggestMappingResponse) {
    let mut table = Table::new(&["COLUMN", "FIELD", "DIRECTION", "CONFIDENCE", "REASON"]);
    for suggestion in &s.suggestions {
        let m = suggestion.mapping.clone().unwrap_or_default();
        table.row(vec![
            m.monday_column_id,
            m.salesforce_field,
            shown(direction(m.direction)),
            format!("{:.0}%", suggestion.confidence * 100.0),
            suggestion.reason.clone(),
        ]);
    }
    table.print();
    if !s.unmatched_required_fields.is_empty() {
        out!(
            "\nrequired fields no column matched: {}",
            s.unmatched_required_fields.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_read_as_their_short_names() {
        assert_eq!(
            connection_kind(pb::ConnectionKind::Salesforce as i32).as_deref(),
            Some("salesforce")
        );
        assert_eq!(
            run_status(pb::RunStatus::PartiallyFailed as i32).as_deref(),
            Some("partially_failed")
        );
        assert_eq!(scope(0), None);
        assert_eq!(scope(99), None);
    }

    #[test]
    fn tables_align_columns_by_their_widest_cell() {
        let mut table = Table::new(&["A", "BB"]);
        table.row(vec!["long cell".into(), "x".into()]);
        assert_eq!(table.render(), "A          BB\nlong cell  x");
    }
}

#[cfg(test)]
mod import_tests {
    use super::*;

    #[test]
    fn an_imports_progress_reads_as_done_of_total_with_rate_and_time_left() {
        let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        let mut p = pb::ImportProgress {
            source: pb::Side::Salesforce as i32,
            records_done: 1_200,
            records_total: 5_000,
            started_at: at(100),
            updated_at: at(110),
        };
        assert_eq!(
            import_progress(&p),
            "from salesforce: 1200 of 5000 records (24%), 120 records/s, about 31 s left"
        );
        p.records_total = 0;
        assert_eq!(
            import_progress(&p),
            "from salesforce: 1200 records, 120 records/s"
        );
    }
}
