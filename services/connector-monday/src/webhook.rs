//! Webhook ingress: an HTTP endpoint (`POST /webhooks/monday`) on its own listener that
//! answers monday's challenge, verifies each event's JWT (HS256 with the app's signing secret,
//! in the `Authorization` header) and hands the event to the orchestrator's `SubmitChanges`.
//!
//! Webhook payloads carry values in monday's internal formats, unlike the GraphQL `value`
//! JSON, so events are submitted as hints: a Record with the item id, the change time and the
//! `deleted` flag, and no fields — the orchestrator re-reads the items with GetItems.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_proto::v1::{Record, Side, SubmitChangesRequest};
use tandem_service::client::PeerChannel;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::SigningSecret;
use crate::read::to_timestamp;
use crate::schema::id_text;

/// Where monday posts events.
pub const PATH: &str = "/webhooks/monday";
/// Clock skew tolerated on `exp`.
const LEEWAY_SECS: i64 = 60;

struct Ingress {
    secret: SigningSecret,
    orchestrator: SyncOrchestratorClient<PeerChannel>,
}

pub fn router(secret: SigningSecret, orchestrator: PeerChannel) -> Router {
    let state = Arc::new(Ingress {
        secret,
        orchestrator: SyncOrchestratorClient::new(orchestrator),
    });
    Router::new().route(PATH, post(receive)).with_state(state)
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
    if let Err(why) = verify(
        jwt,
        &ingress.secret,
        OffsetDateTime::now_utc().unix_timestamp(),
    ) {
        tracing::warn!(reason = why, "monday webhook refused");
        return (StatusCode::UNAUTHORIZED, "invalid signature").into_response();
    }
    let Some(event) = payload.get("event") else {
        return (StatusCode::BAD_REQUEST, "no event").into_response();
    };
    let Some(submit) = to_submission(event) else {
        tracing::debug!(kind = ?event.get("type"), "monday webhook event ignored");
        return StatusCode::OK.into_response();
    };
    let board_id = submit.board_id.clone();
    match ingress.orchestrator.clone().submit_changes(submit).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(status) => {
            // Not 2xx: monday delivers the event again later.
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

/// Check an HS256 JWT against the signing secret and its `exp`.
pub fn verify(jwt: &str, secret: &SigningSecret, now: i64) -> Result<(), &'static str> {
    if !secret.is_set() {
        return Err("no signing secret configured");
    }
    let mut parts = jwt.split('.');
    let (Some(header_b64), Some(claims_b64), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT");
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or("bad JWT header")?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err("JWT is not HS256");
    }
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "bad JWT signature")?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).map_err(|_| "bad secret")?;
    mac.update(format!("{header_b64}.{claims_b64}").as_bytes());
    mac.verify_slice(&sig).map_err(|_| "signature mismatch")?;
    let claims: Value = URL_SAFE_NO_PAD
        .decode(claims_b64)
        .ok()
        .and_then(|c| serde_json::from_slice(&c).ok())
        .ok_or("bad JWT claims")?;
    if let Some(exp) = claims.get("exp").and_then(Value::as_i64)
        && exp + LEEWAY_SECS < now
    {
        return Err("JWT expired");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{h}.{c}").as_bytes());
        format!(
            "{h}.{c}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn jwts_are_checked_for_signature_algorithm_and_expiry() {
        let secret = SigningSecret::new("s3cret");
        let good = sign("s3cret", json!({"exp": 1_000}));
        let none_alg = {
            let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
            let c = URL_SAFE_NO_PAD.encode(b"{}");
            format!("{h}.{c}.")
        };
        let cases = [
            (good.as_str(), &secret, 900, Ok(())),
            (good.as_str(), &secret, 2_000, Err("JWT expired")),
            (
                good.as_str(),
                &SigningSecret::new("other"),
                900,
                Err("signature mismatch"),
            ),
            (
                good.as_str(),
                &SigningSecret::default(),
                900,
                Err("no signing secret configured"),
            ),
            ("abc", &secret, 900, Err("not a JWT")),
            (none_alg.as_str(), &secret, 900, Err("JWT is not HS256")),
        ];
        for (jwt, secret, now, want) in cases {
            assert_eq!(verify(jwt, secret, now), want, "{jwt}");
        }
    }

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
