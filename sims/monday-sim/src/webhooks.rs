//! Webhooks: the challenge handshake on `create_webhook`, event payloads in monday's shape
//! (`{"event": {…}}`, ids as numbers, `changedAt` epoch seconds), and delivery with an
//! `Authorization` JWT (HS256, signed with `Config::webhook_signing_secret`), retried on failure.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use crate::column_value::{internal_type, status_labels};
use crate::store::{Board, Column, Item, Webhook, iso_millis, now};

/// A change that may be delivered to matching subscriptions.
#[derive(Debug, Clone)]
pub struct Event {
    pub board_id: i64,
    /// The subscription event it satisfies: create_item, change_column_value, change_name, …
    pub kind: &'static str,
    pub column_id: Option<String>,
    pub column_kind: Option<String>,
    pub user_id: i64,
    /// The payload without `subscriptionId`.
    pub payload: Value,
}

fn base(board: &Board, item: &Item, kind: &str, user_id: i64) -> Value {
    let t = now();
    json!({
        "app": "monday",
        "type": kind,
        "triggerTime": iso_millis(t),
        "userId": user_id,
        "originalTriggerUuid": null,
        "boardId": board.id,
        "groupId": item.group_id,
        "pulseId": item.id,
        "pulseName": item.name,
        "isTopGroup": board.groups.first().is_some_and(|g| g.id == item.group_id),
        "triggerUuid": uuid::Uuid::new_v4().simple().to_string(),
    })
}

/// A cell value in webhook form (status as `{"label": {index, text, style}}`).
fn hook_value(col: &Column, v: Option<&Value>) -> Value {
    let Some(v) = v else { return Value::Null };
    match col.spec.kind.as_str() {
        "status" => {
            let i = v.get("index").and_then(Value::as_i64).unwrap_or_default();
            let text = status_labels(&col.spec.settings)
                .into_iter()
                .find(|(k, _)| *k == i)
                .map(|(_, l)| l)
                .unwrap_or_default();
            let style = col
                .spec
                .settings
                .pointer(&format!("/labels_colors/{i}"))
                .cloned()
                .unwrap_or_else(|| json!({"color": "#c4c4c4", "border": "#b0b0b0"}));
            json!({"label": {"index": i, "text": text, "style": {"color": style.get("color"), "border": style.get("border")}, "is_done": false}, "post_id": null})
        }
        "text" => json!({"value": v}),
        "numbers" => json!({"value": v.as_str().and_then(|s| s.parse::<f64>().ok()), "unit": null}),
        _ => v.clone(),
    }
}

pub fn column_change_event(
    board: &Board,
    item: &Item,
    col: &Column,
    before: Option<&Value>,
    after: Option<&Value>,
    user_id: i64,
) -> Event {
    let mut p = base(board, item, "update_column_value", user_id);
    p["columnId"] = json!(col.spec.id);
    p["columnType"] = json!(internal_type(&col.spec.kind));
    p["columnTitle"] = json!(col.title);
    p["value"] = hook_value(col, after);
    p["previousValue"] = hook_value(col, before);
    p["changedAt"] = json!(now().unix_timestamp_nanos() as f64 / 1e9);
    Event {
        board_id: board.id,
        kind: "change_column_value",
        column_id: Some(col.spec.id.clone()),
        column_kind: Some(col.spec.kind.clone()),
        user_id,
        payload: p,
    }
}

pub fn name_change_event(board: &Board, item: &Item, previous: &str, user_id: i64) -> Event {
    let mut p = base(board, item, "update_name", user_id);
    p["value"] = json!({"name": item.name});
    p["previousValue"] = json!({"name": previous});
    Event {
        board_id: board.id,
        kind: "change_name",
        column_id: None,
        column_kind: None,
        user_id,
        payload: p,
    }
}

pub fn create_item_event(board: &Board, item: &Item, user_id: i64) -> Event {
    let mut p = base(board, item, "create_pulse", user_id);
    let group = board.groups.iter().find(|g| g.id == item.group_id);
    p["groupName"] = json!(group.map(|g| g.title.clone()));
    p["groupColor"] = json!(group.map(|g| g.color.clone()));
    let values: serde_json::Map<String, Value> = board
        .columns
        .iter()
        .filter_map(|c| {
            item.values
                .get(&c.spec.id)
                .map(|v| (c.spec.id.clone(), hook_value(c, Some(v))))
        })
        .collect();
    p["columnValues"] = Value::Object(values);
    Event {
        board_id: board.id,
        kind: "create_item",
        column_id: None,
        column_kind: None,
        user_id,
        payload: p,
    }
}

/// archived / deleted / moved.
pub fn item_state_event(board: &Board, item: &Item, what: &str, user_id: i64) -> Event {
    let (kind, ty) = match what {
        "archived" => ("item_archived", "archive_pulse"),
        "deleted" => ("item_deleted", "delete_pulse"),
        _ => ("item_moved_to_any_group", "move_pulse_into_group"),
    };
    let mut p = base(board, item, ty, user_id);
    if what == "moved" {
        p["destGroupId"] = json!(item.group_id);
    }
    Event {
        board_id: board.id,
        kind,
        column_id: None,
        column_kind: None,
        user_id,
        payload: p,
    }
}

/// Whether a subscription receives an event.
pub fn matches(hook: &Webhook, ev: &Event) -> bool {
    if hook.board_id != ev.board_id {
        return false;
    }
    let config: Value = hook
        .config
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or(Value::Null);
    let col_ok = || {
        config
            .get("columnId")
            .and_then(Value::as_str)
            .is_none_or(|c| ev.column_id.as_deref() == Some(c))
    };
    match hook.event.as_str() {
        "change_specific_column_value" => ev.kind == "change_column_value" && col_ok(),
        "change_status_column_value" => {
            ev.kind == "change_column_value"
                && ev.column_kind.as_deref() == Some("status")
                && col_ok()
        }
        other => other == ev.kind,
    }
}

/// An HS256 JWT like the one monday puts in a delivery's `Authorization` header.
pub fn sign_jwt(secret: &str, account_id: i64, user_id: i64, audience: &str) -> String {
    let iat = now().unix_timestamp();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({"accountId": account_id, "userId": user_id, "aud": audience, "iat": iat, "exp": iat + 300});
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{body}");
    let sig = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(signing_input.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{signing_input}.{sig}")
}

/// POST `{"challenge": "…"}` and expect it echoed back.
pub async fn challenge(client: &reqwest::Client, url: &str) -> bool {
    let token: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..52)
            .map(|_| rng.sample(rand::distr::Alphanumeric) as char)
            .collect()
    };
    let sent = json!({"challenge": token});
    let Ok(resp) = client.post(url).json(&sent).send().await else {
        return false;
    };
    if !resp.status().is_success() {
        return false;
    }
    resp.json::<Value>()
        .await
        .ok()
        .is_some_and(|v| v.get("challenge") == sent.get("challenge"))
}

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub client: reqwest::Client,
    pub secret: String,
    pub retry_interval: Duration,
    pub max_attempts: u32,
    pub shutdown: CancellationToken,
}

/// Send one event to one subscription, retrying failures until the attempts run out.
pub fn deliver(d: Delivery, hook: Webhook, ev: Event) {
    tokio::spawn(async move {
        let mut payload = ev.payload.clone();
        payload["subscriptionId"] = json!(hook.id);
        let body = json!({"event": payload});
        for attempt in 1..=d.max_attempts {
            let jwt = sign_jwt(&d.secret, hook.account_id, ev.user_id, &hook.url);
            let sent = d
                .client
                .post(&hook.url)
                .header("authorization", jwt)
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => tracing::debug!(
                    status = r.status().as_u16(),
                    attempt,
                    webhook_id = hook.id,
                    "webhook delivery refused"
                ),
                Err(e) => {
                    tracing::debug!(error = %e, attempt, webhook_id = hook.id, "webhook delivery failed")
                }
            }
            tokio::select! {
                _ = d.shutdown.cancelled() => return,
                _ = tokio::time::sleep(d.retry_interval) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_has_three_parts_and_verifies_with_the_secret() {
        let jwt = sign_jwt("s3cret", 1, 2, "http://x/hook");
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert!(mac.verify_slice(&sig).is_ok());
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "http://x/hook");
    }
}
