//! Rows to messages, page tokens, and the audit description of a spec change.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use prost::Message as _;
use tandem_proto::v1 as pb;
use time::OffsetDateTime;
use tonic::Status;
use uuid::Uuid;

use crate::store::connections::ConnectionRow;
use crate::store::integrations::IntegrationRow;

pub const SALESFORCE: i16 = pb::ConnectionKind::Salesforce as i16;
pub const MONDAY: i16 = pb::ConnectionKind::Monday as i16;
pub const PENDING: i16 = pb::ConnectionState::Pending as i16;
pub const ACTIVE: i16 = pb::ConnectionState::Active as i16;
pub const NEEDS_REAUTH: i16 = pb::ConnectionState::NeedsReauthentication as i16;
pub const INTEGRATION_ACTIVE: i16 = pb::IntegrationState::Active as i16;
pub const INTEGRATION_PAUSED: i16 = pb::IntegrationState::Paused as i16;

pub use tandem_proto::timestamp::from_offset as timestamp;

pub fn connection(row: &ConnectionRow) -> pb::Connection {
    pb::Connection {
        id: row.id.to_string(),
        kind: i32::from(row.kind),
        state: i32::from(row.state),
        owner: row.owner.clone(),
        account: row.account.clone(),
        subdomain: row.subdomain.clone(),
        environment: i32::from(row.environment),
        salesforce_org_id: row.salesforce_org_id.clone(),
        salesforce_username: row.salesforce_username.clone(),
        scopes: row.scopes.clone(),
        monday_account_id: row.monday_account_id.clone(),
        monday_user_email: row.monday_user_email.clone(),
        created_at: Some(timestamp(row.created_at)),
        state_reason: row.state_reason.clone(),
    }
}

/// The stored spec; an undecodable one (never written by this service) reads as empty.
pub fn spec(row: &IntegrationRow) -> pb::IntegrationSpec {
    pb::IntegrationSpec::decode(row.spec.as_slice()).unwrap_or_else(|error| {
        tracing::error!(integration_id = %row.id, %error, "stored spec does not decode");
        pb::IntegrationSpec::default()
    })
}

/// The integration as the caller may see it: in full for the owner and services, as a
/// summary (name, board, object, scope, state) for others in the account.
pub fn integration(row: &IntegrationRow, full: bool) -> pb::Integration {
    let stored = spec(row);
    let spec = if full {
        stored
    } else {
        pb::IntegrationSpec {
            name: stored.name,
            board_id: stored.board_id,
            salesforce_object: stored.salesforce_object,
            scope: stored.scope,
            poll_interval_seconds: stored.poll_interval_seconds,
            ..Default::default()
        }
    };
    pb::Integration {
        id: row.id.to_string(),
        owner: row.owner.clone(),
        account: row.account.clone(),
        spec: Some(spec),
        state: i32::from(row.state),
        state_reason: row.state_reason.clone(),
        version: row.version,
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

/// The size of a page: `requested`, or `default` when unset; 0 or more than `max` is refused.
pub fn page_size(page: Option<&pb::PageRequest>, default: u32, max: u32) -> Result<i64, Status> {
    match page.and_then(|p| p.page_size) {
        None => Ok(i64::from(default)),
        Some(n) if (1..=max).contains(&n) => Ok(i64::from(n)),
        Some(n) => Err(Status::invalid_argument(format!(
            "page.page_size must be between 1 and {max}, not {n}"
        ))),
    }
}

pub fn keyset_token(at: OffsetDateTime, id: Uuid) -> String {
    B64.encode(format!("k1:{}:{id}", at.unix_timestamp_nanos() / 1_000))
}

/// The position after which the page starts; an unreadable token is refused.
pub fn parse_keyset(
    page: Option<&pb::PageRequest>,
) -> Result<Option<(OffsetDateTime, Uuid)>, Status> {
    let token = page.map(|p| p.page_token.as_str()).unwrap_or_default();
    if token.is_empty() {
        return Ok(None);
    }
    let parsed = (|| {
        let text = String::from_utf8(B64.decode(token).ok()?).ok()?;
        let (micros, id) = text.strip_prefix("k1:")?.split_once(':')?;
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(micros.parse::<i128>().ok()? * 1_000).ok()?;
        Some((at, id.parse().ok()?))
    })();
    parsed
        .map(Some)
        .ok_or_else(|| Status::invalid_argument("page.page_token is not a token of this list"))
}

pub fn seq_token(seq: i64) -> String {
    B64.encode(format!("a1:{seq}"))
}

pub fn parse_seq(page: Option<&pb::PageRequest>) -> Result<Option<i64>, Status> {
    let token = page.map(|p| p.page_token.as_str()).unwrap_or_default();
    if token.is_empty() {
        return Ok(None);
    }
    B64.decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.strip_prefix("a1:")?.parse().ok())
        .map(Some)
        .ok_or_else(|| Status::invalid_argument("page.page_token is not a token of this list"))
}

/// What changed between two specs, one line per setting, for the audit log.
pub fn changes(old: &pb::IntegrationSpec, new: &pb::IntegrationSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut scalar = |name: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{name}: {a:?} -> {b:?}"));
        }
    };
    scalar("name", old.name.clone(), new.name.clone());
    scalar(
        "monday_connection_id",
        old.monday_connection_id.clone(),
        new.monday_connection_id.clone(),
    );
    scalar("board_id", old.board_id.clone(), new.board_id.clone());
    scalar(
        "salesforce_connection_id",
        old.salesforce_connection_id.clone(),
        new.salesforce_connection_id.clone(),
    );
    scalar(
        "salesforce_object",
        old.salesforce_object.clone(),
        new.salesforce_object.clone(),
    );
    scalar("scope", old.scope.to_string(), new.scope.to_string());
    scalar(
        "conflict_policy",
        old.conflict_policy.to_string(),
        new.conflict_policy.to_string(),
    );
    scalar(
        "poll_interval_seconds",
        old.poll_interval_seconds.to_string(),
        new.poll_interval_seconds.to_string(),
    );
    scalar(
        "coalescing_mode",
        old.coalescing_mode.to_string(),
        new.coalescing_mode.to_string(),
    );
    scalar(
        "coalescing_window_seconds",
        old.coalescing_window_seconds.to_string(),
        new.coalescing_window_seconds.to_string(),
    );
    scalar(
        "debounce_seconds",
        old.debounce_seconds.to_string(),
        new.debounce_seconds.to_string(),
    );
    scalar("group_id", old.group_id.clone(), new.group_id.clone());
    scalar(
        "link_monday_column_id",
        old.link_monday_column_id.clone(),
        new.link_monday_column_id.clone(),
    );
    scalar(
        "link_salesforce_field",
        old.link_salesforce_field.clone(),
        new.link_salesforce_field.clone(),
    );
    if old.incoming_conditions != new.incoming_conditions {
        out.push("incoming_conditions".to_owned());
    }
    if old.outgoing_conditions != new.outgoing_conditions {
        out.push("outgoing_conditions".to_owned());
    }
    let pair = |m: &pb::FieldMapping| format!("{} <-> {}", m.monday_column_id, m.salesforce_field);
    for m in &new.mappings {
        match old.mappings.iter().find(|o| pair(o) == pair(m)) {
            None => out.push(format!("mappings: added {}", pair(m))),
            Some(o) if o != m => out.push(format!("mappings: changed {}", pair(m))),
            Some(_) => {}
        }
    }
    for o in &old.mappings {
        if !new.mappings.iter().any(|m| pair(m) == pair(o)) {
            out.push(format!("mappings: removed {}", pair(o)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_each_setting_and_each_mapping() {
        let old = pb::IntegrationSpec {
            name: "A".into(),
            mappings: vec![pb::FieldMapping {
                monday_column_id: "status".into(),
                salesforce_field: "StageName".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut new = old.clone();
        new.name = "B".into();
        new.mappings[0].direction = 2;
        new.mappings.push(pb::FieldMapping {
            monday_column_id: "numbers".into(),
            salesforce_field: "Amount".into(),
            ..Default::default()
        });
        assert_eq!(
            changes(&old, &new),
            vec![
                "name: \"A\" -> \"B\"",
                "mappings: changed status <-> StageName",
                "mappings: added numbers <-> Amount",
            ]
        );
        assert!(changes(&old, &old).is_empty());
    }

    #[test]
    fn page_tokens_round_trip_and_foreign_ones_are_refused() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_456_000).unwrap();
        let id = Uuid::new_v4();
        let page = |t: String| pb::PageRequest {
            page_size: None,
            page_token: t,
        };
        assert_eq!(
            parse_keyset(Some(&page(keyset_token(at, id)))).unwrap(),
            Some((at, id))
        );
        assert_eq!(parse_seq(Some(&page(seq_token(9)))).unwrap(), Some(9));
        assert!(parse_keyset(Some(&page(seq_token(9)))).is_err());
        assert!(parse_seq(Some(&page("zz".into()))).is_err());
    }
}
