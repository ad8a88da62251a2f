//! Webhook ingress: an HTTP endpoint (`POST /webhooks/monday`) on its own listener that
//! answers monday's challenge, verifies each event's JWT (`token.rs`), refuses an account past
//! its rate (`guard.rs`), an event on a board its account does not watch (`watched.rs`) and a
//! delivery seen before (`guard.rs`), and hands the event to the orchestrator's
//! `SubmitChanges`.
//!
//! Webhook payloads carry values in monday's internal formats, unlike the GraphQL `value`
//! JSON, so events are submitted as hints: a Record with the item id, the change time and the
//! `deleted` flag, and no fields — the orchestrator re-reads the items with GetItems.

mod guard;
mod token;
mod watched;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_proto::v1::{Record, Side, SubmitChangesRequest};
use tandem_service::client::PeerChannel;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use guard::Guard;
pub use token::Rules;
pub use watched::Watched;

use crate::config::SigningSecret;
use crate::read::to_timestamp;
use crate::schema::id_text;

/// Where monday posts events.
pub const PATH: &str = "/webhooks/monday";

/// What the ingress checks deliveries with, and where it sends them.
pub struct Ingress {
    pub secret: SigningSecret,
    pub rules: Rules,
    pub guard: Guard,
    pub watched: Watched,
    pub orchestrator: PeerChannel,
}

pub fn router(ingress: Ingress) -> Router {
    Router::new()
        .route(PATH, post(receive))
        .with_state(Arc::new(ingress))
}

fn refuse(status: StatusCode, reason: &'static str, account: &str) -> Response {
    tracing::warn!(reason, account_id = account, "monday webhook refused");
    (status, reason).into_response()
}

async fn receive(State(ingress): State<Arc<Ingress>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    };
    if let Some(challenge) = payload.get("challenge") {
        return axum::Json(json!({"challenge": challenge})).into_response();
    }
    let jwt = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_start_matches("Bearer ").trim())
        .unwrap_or_default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = match token::verify(jwt, &ingress.secret, &ingress.rules, now) {
        Ok(claims) => claims,
        Err(why) => {
            tracing::warn!(reason = why, "monday webhook refused");
            return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
        }
    };
    let account = claims.account_id.as_str();
    match ingress.guard.admit(account, now).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many webhook events for this account",
                account,
            );
        }
        Err(error) => {
            tracing::warn!(%error, "webhook rate not counted in redis");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
        }
    }
    let Some(event) = payload.get("event") else {
        return (StatusCode::BAD_REQUEST, "no event").into_response();
    };
    let Some(submit) = to_submission(event) else {
        tracing::debug!(kind = ?event.get("type"), "monday webhook event ignored");
        return StatusCode::OK.into_response();
    };
    let board_id = submit.board_id.clone();
    match ingress.watched.watches(account, &board_id).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                StatusCode::FORBIDDEN,
                "the token's account does not watch this board",
                account,
            );
        }
        Err(status) => {
            tracing::warn!(board_id, code = ?status.code(), "watched boards unknown: mapping-config did not answer");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
        }
    }
    // Remembered while the token is valid; past that the token itself is refused.
    let marks = guard::marks(&payload, claims.jti.as_deref());
    let ttl = (claims.exp - now + token::LEEWAY_SECS).max(1) as u64;
    match ingress.guard.first_sight(&marks, ttl).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(StatusCode::CONFLICT, "delivery already received", account);
        }
        Err(error) => {
            tracing::warn!(%error, "webhook replay check failed in redis");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
        }
    }
    let mut orchestrator = SyncOrchestratorClient::new(ingress.orchestrator.clone());
    match orchestrator.submit_changes(submit).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(status) => {
            // Not 2xx: monday delivers the event again later, and that delivery is taken.
            ingress.guard.forget(&marks).await;
            tracing::warn!(board_id, code = ?status.code(), "orchestrator did not take a monday event");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
        }
    }
}

/// Event types that change items, and whether they remove the item.
fn kind(event_type: &str) -> Option<bool> {
    match event_type {
        "create_pulse"
        | "update_column_value"
        | "update_name"
        | "move_pulse_into_group"
        | "restore_pulse" => Some(false),
        "archive_pulse" | "delete_pulse" => Some(true),
        _ => None,
    }
}

/// The SubmitChanges request for one event, if it changes an item.
pub fn to_submission(event: &Value) -> Option<SubmitChangesRequest> {
    let deleted = kind(event.get("type").and_then(Value::as_str)?)?;
    let item_id = id_text(event.get("pulseId").or_else(|| event.get("itemId")));
    let board_id = id_text(event.get("boardId"));
    if item_id.is_empty() || board_id.is_empty() {
        return None;
    }
    let modified_at = event
        .get("triggerTime")
        .and_then(Value::as_str)
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .map(to_timestamp);
    Some(SubmitChangesRequest {
        board_id,
        side: Side::Monday as i32,
        changes: vec![Record {
            id: item_id,
            modified_at,
            fields: Default::default(),
            deleted,
            texts: Default::default(),
        }],
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_events_become_hint_records_and_others_are_ignored() {
        let ev = json!({"type": "update_column_value", "boardId": 7, "pulseId": 42,
                        "triggerTime": "2026-01-01T10:00:00.000Z", "columnId": "status"});
        let s = to_submission(&ev).unwrap();
        assert_eq!((s.board_id.as_str(), s.side), ("7", Side::Monday as i32));
        assert_eq!(s.changes[0].id, "42");
        assert!(!s.changes[0].deleted && s.changes[0].fields.is_empty());
        let del = json!({"type": "delete_pulse", "boardId": 7, "pulseId": 42});
        assert!(to_submission(&del).unwrap().changes[0].deleted);
        assert!(
            to_submission(&json!({"type": "create_update", "boardId": 7, "pulseId": 1})).is_none()
        );
    }
}
