//! Validation of an integration's settings against the live board and object: every problem
//! at once, each naming the setting at fault (`mappings[2].salesforce_field`, …).

use std::collections::BTreeMap;

use tandem_core::condition::ValueClass;
use tandem_core::{MondayKind, SalesforceKind, validate_mapping};
use tandem_proto::v1 as pb;

use tandem_catalog::{Board, Object, mapping_options};
pub use tandem_catalog::{mapping_direction, parse_conditions};

/// The most mappings one integration may have.
pub const MAX_MAPPINGS: usize = 500;
/// The largest encoded spec accepted.
pub const MAX_SPEC_BYTES: usize = 1 << 20;
/// The longest name.
pub const MAX_NAME_CHARS: usize = 200;

/// One problem with a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Problems found without asking anyone: required settings, sizes, numbers, condition JSON.
pub fn check_shape(spec: &pb::IntegrationSpec, encoded_len: usize) -> Vec<Problem> {
    let mut out = Vec::new();
    if encoded_len > MAX_SPEC_BYTES {
        out.push(Problem::new(
            "spec",
            format!("is {encoded_len} bytes; at most {MAX_SPEC_BYTES} are accepted"),
        ));
    }
    if spec.mappings.len() > MAX_MAPPINGS {
        out.push(Problem::new(
            "mappings",
            format!(
                "has {} entries; at most {MAX_MAPPINGS} are accepted",
                spec.mappings.len()
            ),
        ));
    }
    let name = spec.name.trim();
    if name.is_empty() {
        out.push(Problem::new("name", "is required"));
    } else if name.chars().count() > MAX_NAME_CHARS {
        out.push(Problem::new(
            "name",
            format!("is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    for (field, value) in [
        ("monday_connection_id", &spec.monday_connection_id),
        ("board_id", &spec.board_id),
        ("salesforce_connection_id", &spec.salesforce_connection_id),
        ("salesforce_object", &spec.salesforce_object),
    ] {
        if value.trim().is_empty() {
            out.push(Problem::new(field, "is required"));
        }
    }
    if pb::Scope::try_from(spec.scope).unwrap_or_default() == pb::Scope::Unspecified {
        out.push(Problem::new(
            "scope",
            "is required: two-way, monday → Salesforce or Salesforce → monday",
        ));
    }
    if pb::ConflictPolicy::try_from(spec.conflict_policy).is_err() {
        out.push(Problem::new("conflict_policy", "is not a known policy"));
    }
    if pb::CoalescingMode::try_from(spec.coalescing_mode).is_err() {
        out.push(Problem::new("coalescing_mode", "is not a known mode"));
    }
    let poll = spec.poll_interval_seconds;
    if poll != 0 && !(30..=86_400).contains(&poll) {
        out.push(Problem::new(
            "poll_interval_seconds",
            format!("must be 0 (the default of 180) or between 30 and 86400, not {poll}"),
        ));
    }
    let window = spec.coalescing_window_seconds;
    if window > 3_600 {
        out.push(Problem::new(
            "coalescing_window_seconds",
            format!("must be at most 3600, not {window}"),
        ));
    }
    let effective_window = if window == 0 { 180 } else { window };
    if spec.debounce_seconds > effective_window {
        out.push(Problem::new(
            "debounce_seconds",
            format!(
                "must not exceed the coalescing window ({effective_window} s), not {}",
                spec.debounce_seconds
            ),
        ));
    }
    for (field, conditions) in [
        ("incoming_conditions", &spec.incoming_conditions),
        ("outgoing_conditions", &spec.outgoing_conditions),
    ] {
        if let Err(message) = parse_conditions(conditions.as_ref()) {
            out.push(Problem::new(field, message));
        }
    }
    if spec.link_monday_column_id.is_empty() != spec.link_salesforce_field.is_empty() {
        let missing = if spec.link_monday_column_id.is_empty() {
            "link_monday_column_id"
        } else {
            "link_salesforce_field"
        };
        out.push(Problem::new(
            missing,
            "is required when the other half of the link key is set",
        ));
    }
    out
}

/// Problems of the mappings, the conditions, the group and the link key against the live
/// `board` and `object` (skipped for a side that could not be described; that side's problem
/// is reported by the caller).
pub fn check_against(
    spec: &pb::IntegrationSpec,
    board: Option<&Board>,
    object: Option<&Object>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let scope = pb::Scope::try_from(spec.scope).unwrap_or_default();
    // target → first mapping index writing it
    let mut sf_targets: BTreeMap<&str, usize> = BTreeMap::new();
    let mut monday_targets: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in spec.mappings.iter().enumerate() {
        let at = |part: &str| format!("mappings[{i}].{part}");
        let column = board.and_then(|b| b.columns.get(&m.monday_column_id));
        let field = object.and_then(|o| o.fields.get(&m.salesforce_field));
        if m.monday_column_id.is_empty() {
            out.push(Problem::new(at("monday_column_id"), "is required"));
        } else if board.is_some() && column.is_none() {
            out.push(Problem::new(
                at("monday_column_id"),
                format!("column `{}` is not on the board", m.monday_column_id),
            ));
        }
        if m.salesforce_field.is_empty() {
            out.push(Problem::new(at("salesforce_field"), "is required"));
        } else if object.is_some() && field.is_none() {
            out.push(Problem::new(
                at("salesforce_field"),
                format!(
                    "field `{}` does not exist on {}",
                    m.salesforce_field, spec.salesforce_object
                ),
            ));
        }
        if scope == pb::Scope::TwoWay && pb::Direction::try_from(m.direction).is_err() {
            out.push(Problem::new(at("direction"), "is not a known direction"));
        }
        let direction = mapping_direction(spec.scope, m.direction);
        if direction.to_salesforce() && !m.salesforce_field.is_empty() {
            if let Some(first) = sf_targets.get(m.salesforce_field.as_str()) {
                out.push(Problem::new(
                    at("salesforce_field"),
                    format!(
                        "`{}` is already written by mappings[{first}]; a field may be mapped only once towards Salesforce",
                        m.salesforce_field
                    ),
                ));
            } else {
                sf_targets.insert(&m.salesforce_field, i);
            }
        }
        if direction.to_monday() && !m.monday_column_id.is_empty() {
            if let Some(first) = monday_targets.get(m.monday_column_id.as_str()) {
                out.push(Problem::new(
                    at("monday_column_id"),
                    format!(
                        "`{}` is already written by mappings[{first}]; a column may be mapped only once towards monday",
                        m.monday_column_id
                    ),
                ));
            } else {
                monday_targets.insert(&m.monday_column_id, i);
            }
        }
        let (Some(column), Some(field)) = (column, field) else {
            continue;
        };
        if direction.to_monday() && board.is_some_and(|b| b.read_only.contains(&column.id)) {
            out.push(Problem::new(
                at("monday_column_id"),
                format!("column `{}` is read-only and cannot be written", column.id),
            ));
        }
        if let Err(e) = validate_mapping(
            field,
            column,
            direction,
            &mapping_options(m.options.as_ref()),
        ) {
            out.push(Problem::new(format!("mappings[{i}]"), e.to_string()));
        }
    }
    if let Some(object) = object
        && matches!(scope, pb::Scope::TwoWay | pb::Scope::MondayToSalesforce)
    {
        for field in object.fields.values() {
            if field.required
                && !field.is_read_only()
                && !sf_targets.contains_key(field.name.as_str())
            {
                out.push(Problem::new(
                    "mappings",
                    format!(
                        "required Salesforce field `{}` ({}) is not mapped from any column; records created in Salesforce need it",
                        field.name, field.label
                    ),
                ));
            }
        }
    }
    if let Some(object) = object {
        let class = |name: &str| {
            object
                .fields
                .get(name)
                .map(|f| ValueClass::of_salesforce(&f.kind))
        };
        if let Ok(c) = parse_conditions(spec.incoming_conditions.as_ref())
            && let Err(e) = c.validate(&class)
        {
            out.push(Problem::new("incoming_conditions", e.to_string()));
        }
    }
    if let Some(board) = board {
        let class = |id: &str| {
            board
                .columns
                .get(id)
                .map(|c| ValueClass::of_monday(&c.kind))
        };
        if let Ok(c) = parse_conditions(spec.outgoing_conditions.as_ref())
            && let Err(e) = c.validate(&class)
        {
            out.push(Problem::new("outgoing_conditions", e.to_string()));
        }
        if !spec.group_id.is_empty() && !board.groups.contains(&spec.group_id) {
            out.push(Problem::new(
                "group_id",
                format!("group `{}` is not on the board", spec.group_id),
            ));
        }
    }
    out.extend(check_link_key(spec, board, object));
    out
}

fn check_link_key(
    spec: &pb::IntegrationSpec,
    board: Option<&Board>,
    object: Option<&Object>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    if spec.link_monday_column_id.is_empty() || spec.link_salesforce_field.is_empty() {
        return out;
    }
    let column = board.and_then(|b| b.columns.get(&spec.link_monday_column_id));
    if board.is_some() {
        match column {
            None => out.push(Problem::new(
                "link_monday_column_id",
                format!(
                    "column `{}` is not on the board",
                    spec.link_monday_column_id
                ),
            )),
            Some(c) if !matches!(c.kind, MondayKind::Text | MondayKind::Email | MondayKind::Name) => {
                out.push(Problem::new(
                    "link_monday_column_id",
                    format!(
                        "column `{}` is a {} column; a link key must be a text, email or name column",
                        c.id, c.kind
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(object) = object {
        match object.fields.get(&spec.link_salesforce_field) {
            None => out.push(Problem::new(
                "link_salesforce_field",
                format!(
                    "field `{}` does not exist on {}",
                    spec.link_salesforce_field, spec.salesforce_object
                ),
            )),
            Some(f)
                if !(f.kind == SalesforceKind::Id
                    || f.kind == SalesforceKind::Email
                    || object.external_ids.contains(&f.name)) =>
            {
                out.push(Problem::new(
                    "link_salesforce_field",
                    format!(
                        "field `{}` is neither Id, an external id nor an email field, so it cannot identify a record",
                        f.name
                    ),
                ))
            }
            Some(f) => {
                if let Some(c) = column
                    && f.kind == SalesforceKind::Email
                    && c.kind != MondayKind::Email
                    && c.kind != MondayKind::Text
                {
                    out.push(Problem::new(
                        "link_monday_column_id",
                        format!("column `{}` cannot hold the email of `{}`", c.id, f.name),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;

/// The poll interval an integration that sets none gets (the original app's 3 minutes).
pub const DEFAULT_POLL_SECONDS: u32 = 180;

/// Daily API calls a monday plan tier allows (monday's published limits; Pro and Enterprise
/// are soft limits). `None`: a tier Tandem does not know, so no projection is made.
pub fn monday_daily_limit(tier: &str) -> Option<u64> {
    match tier.trim().to_ascii_lowercase().as_str() {
        "free" | "trial" => Some(200),
        "basic" | "standard" => Some(1_000),
        "pro" => Some(10_000),
        "enterprise" => Some(25_000),
        _ => None,
    }
}

/// Cycles a day at `poll_interval_seconds`: each quiet cycle costs one monday call (a poll).
pub fn polls_per_day(poll_interval_seconds: u32) -> u64 {
    let interval = if poll_interval_seconds == 0 {
        DEFAULT_POLL_SECONDS
    } else {
        poll_interval_seconds
    };
    86_400 / u64::from(interval.max(1))
}

/// A warning when polling this integration (with `others_per_day` calls of the account's
/// other integrations on the same connection) would spend more than 80% of the monday plan's
/// daily API calls before a single change crosses.
pub fn budget_warnings(
    spec: &pb::IntegrationSpec,
    tier: &str,
    others_per_day: u64,
) -> Vec<Problem> {
    let Some(limit) = monday_daily_limit(tier) else {
        return Vec::new();
    };
    let own = polls_per_day(spec.poll_interval_seconds);
    let total = own + others_per_day;
    if total * 5 <= limit * 4 {
        return Vec::new();
    }
    // The slowest polling that leaves half the plan for writes and people.
    let room = (limit / 2).saturating_sub(others_per_day).max(1);
    let suggested = (86_400u64.div_ceil(room)).div_ceil(60) * 60;
    let interval = if spec.poll_interval_seconds == 0 {
        DEFAULT_POLL_SECONDS
    } else {
        spec.poll_interval_seconds
    };
    let others = if others_per_day > 0 {
        format!(" ({total} with the other integrations of this monday connection)")
    } else {
        String::new()
    };
    let advice = if suggested <= 86_400 {
        format!("poll every {suggested} s or less often")
    } else {
        "poll less often or share fewer integrations on this account".to_owned()
    };
    vec![Problem::new(
        "poll_interval_seconds",
        format!(
            "polling every {interval} s makes about {own} monday API calls a day{others}, over 80% of the \
             {limit} a day the account's {tier} plan allows, before any change crosses: {advice}, \
             and let monday webhooks bring changes sooner (coalescing_mode: low_latency)"
        ),
    )]
}

/// The column connector-monday keeps each create's idempotency key in (its default title).
pub const KEY_COLUMN: &str = "tandem_key";

/// A notice when Tandem will add its key column to the board: an integration that creates
/// monday items on a board without one gets it before its first create there.
pub fn key_column_notice(spec: &pb::IntegrationSpec, board: &Board) -> Option<Problem> {
    let creates_items = tandem_catalog::Scope::from_proto(spec.scope)
        .allows_from(tandem_core::merge::Side::Salesforce);
    let has_column = board
        .columns
        .values()
        .any(|c| c.id == KEY_COLUMN || c.title.eq_ignore_ascii_case(KEY_COLUMN));
    (creates_items && !has_column).then(|| {
        Problem::new(
            "board_id",
            format!(
                "Tandem will add a text column `{KEY_COLUMN}` to board {} before it first creates an \
                 item there: each create stores its key in it, so a create retried after a crash or \
                 a timeout finds the item it made instead of making a second one. Leave the column \
                 as it is (add a text column titled {KEY_COLUMN} yourself to choose its place)",
                spec.board_id
            ),
        )
    })
}
