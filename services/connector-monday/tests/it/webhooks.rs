//! Webhook ingress: monday's challenge, signed events reaching the (stand-in) orchestrator,
//! bad signatures refused.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tandem_proto::v1::Side;

use crate::harness::{eventually, start_harness, start_with};

fn url(h: &crate::harness::Harness) -> String {
    format!("http://{}{}", h.webhooks, connector_monday::WEBHOOK_PATH)
}

/// The claims monday sends for `h`'s account to `h`'s ingress, valid `exp_in` seconds more.
fn claims(h: &crate::harness::Harness, exp_in: i64) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({"accountId": h.account.account_id, "userId": h.account.user_id, "aud": url(h),
           "iat": now, "exp": now + exp_in})
}

fn sign(secret: &str, claims: &Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let c = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{h}.{c}").as_bytes());
    format!(
        "{h}.{c}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

pub(crate) fn jwt(h: &crate::harness::Harness, secret: &str, exp_in: i64) -> String {
    sign(secret, &claims(h, exp_in))
}

/// An item event on `h`'s board, told apart from others by `pulse`.
pub(crate) fn event(h: &crate::harness::Harness, pulse: i64) -> Value {
    json!({"event": {"type": "update_column_value", "boardId": h.board, "pulseId": pulse,
                     "columnId": "status", "userId": h.account.user_id,
                     "triggerUuid": format!("uuid-{pulse}")}})
}

async fn post(h: &crate::harness::Harness, token: &str, body: String) -> u16 {
    reqwest::Client::new()
        .post(url(h))
        .header("authorization", token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_challenge_is_echoed() {
    let h = start_harness().await;
    let resp = reqwest::Client::new()
        .post(url(&h))
        .json(&json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
}

#[tokio::test]
async fn a_webhook_created_through_monday_passes_the_challenge_and_its_signed_events_reach_the_orchestrator()
 {
    let h = start_harness().await;
    let item = h
        .sim
        .create_item(h.board, None, "Hooked", json!({}))
        .unwrap();
    // create_webhook through the API: the sim performs the challenge against the connector.
    let created: Value = reqwest::Client::new()
        .post(h.sim.api_url())
        .header("authorization", &h.account.token)
        .json(&json!({
            "query": "mutation($b: ID!, $u: String!) { create_webhook(board_id: $b, url: $u, event: change_column_value) { id } }",
            "variables": {"b": h.board.to_string(), "u": url(&h)}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        created.pointer("/data/create_webhook/id").is_some(),
        "{created}"
    );
    h.sim
        .edit_item_as(
            h.account.user_id,
            item,
            json!({"status": {"label": "Done"}}),
        )
        .unwrap();
    let submitted = h.orchestrator.submitted.clone();
    assert!(
        eventually(Duration::from_secs(10), || !submitted
            .lock()
            .unwrap()
            .is_empty())
        .await,
        "the event reached the orchestrator"
    );
    let got = submitted.lock().unwrap()[0].clone();
    assert_eq!(got.board_id, h.board.to_string());
    assert_eq!(got.side, Side::Monday as i32);
    assert_eq!(got.changes.len(), 1);
    assert_eq!(got.changes[0].id, item.to_string());
    assert!(!got.changes[0].deleted);
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_nothing_is_submitted() {
    let h = start_harness().await;
    let event = event(&h, 1);
    let client = reqwest::Client::new();
    let cases = [
        Some(jwt(&h, "not-the-secret", 300)),
        Some(jwt(&h, &h.signing_secret, -3_600)),
        Some("garbage".to_owned()),
        None,
    ];
    for auth in cases {
        let mut req = client.post(url(&h)).json(&event);
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
    }
    let good = client
        .post(url(&h))
        .header("authorization", jwt(&h, &h.signing_secret, 300))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(
        h.orchestrator.submitted.lock().unwrap().len(),
        1,
        "only the good one"
    );
}

#[tokio::test]
async fn an_event_the_orchestrator_cannot_take_is_answered_503_so_monday_retries() {
    let h = start_harness().await;
    let event = json!({"event": {"type": "create_pulse", "boardId": h.board, "pulseId": 5, "pulseName": "New"}});
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(url(&h))
            .header("authorization", jwt(&h, &h.signing_secret, 300))
            .json(&event)
            .send()
    };
    h.orchestrator
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(send().await.unwrap().status(), 503);
    h.orchestrator
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(send().await.unwrap().status(), 200);
    let got = h.orchestrator.submitted.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].changes[0].id, "5");
}

#[tokio::test]
async fn a_replayed_delivery_is_refused_for_the_tokens_lifetime_and_submitted_once() {
    let h = start_harness().await;
    let token = jwt(&h, &h.signing_secret, 300);
    let body = event(&h, 11).to_string();
    assert_eq!(post(&h, &token, body.clone()).await, 200);
    // The same delivery again, and the same event spelt differently under a fresh token.
    assert_eq!(post(&h, &token, body.clone()).await, 409);
    let respelt = format!("  {}", body.replace(':', ": "));
    assert_eq!(
        post(&h, &jwt(&h, &h.signing_secret, 300), respelt).await,
        409
    );
    // Another event under the same token is a new delivery.
    assert_eq!(post(&h, &token, event(&h, 12).to_string()).await, 200);
    let submitted = h.orchestrator.submitted.lock().unwrap().clone();
    let ids: Vec<&str> = submitted.iter().map(|s| s.changes[0].id.as_str()).collect();
    assert_eq!(ids, ["11", "12"]);

    // Remembered in Redis (so every replica refuses it) until the token expires.
    let mut redis = redis::Client::open(tandem_testkit::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:monday:webhook:seen:*", h.redis_prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!((300..=360).contains(&ttl), "{key}: {ttl}");
    }
}

#[tokio::test]
async fn a_token_without_exp_or_living_too_long_or_for_another_url_or_account_is_refused() {
    let h = start_harness().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let patched = |key: &str, value: Value| {
        let mut c = claims(&h, 300);
        if value.is_null() {
            c.as_object_mut().unwrap().remove(key);
        } else {
            c[key] = value;
        }
        sign(&h.signing_secret, &c)
    };
    let cases = [
        ("no exp", patched("exp", Value::Null)),
        ("exp in 2286", patched("exp", json!(9_999_999_999_i64))),
        ("issued a day ago", patched("iat", json!(now - 86_400))),
        ("no aud", patched("aud", Value::Null)),
        (
            "another aud",
            patched("aud", json!("https://elsewhere.example/webhooks/monday")),
        ),
        ("no account", patched("accountId", Value::Null)),
    ];
    for (pulse, (why, token)) in cases.into_iter().enumerate() {
        let body = event(&h, 100 + pulse as i64).to_string();
        assert_eq!(post(&h, &token, body).await, 401, "{why}");
    }
    assert!(h.orchestrator.submitted.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_event_on_a_board_the_tokens_account_does_not_watch_is_refused() {
    let h = start_harness().await;
    let other = h.sim.create_account("Rival", "Rita", "rita@rival.test");
    let unwatched = crate::harness::tandem_board(&h.sim, h.account.account_id);

    // Another monday account (the app's secret signs every account's deliveries).
    let mut rival = claims(&h, 300);
    rival["accountId"] = json!(other.account_id);
    let token = sign(&h.signing_secret, &rival);
    assert_eq!(post(&h, &token, event(&h, 21).to_string()).await, 403);
    // The right account, a board no integration syncs.
    let mut elsewhere = event(&h, 22);
    elsewhere["event"]["boardId"] = json!(unwatched);
    let token = jwt(&h, &h.signing_secret, 300);
    assert_eq!(post(&h, &token, elsewhere.to_string()).await, 403);
    assert!(h.orchestrator.submitted.lock().unwrap().is_empty());
    // The right account on its watched board.
    assert_eq!(post(&h, &token, event(&h, 23).to_string()).await, 200);
    assert_eq!(h.orchestrator.submitted.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_account_past_its_rate_is_answered_429_while_the_others_are_not() {
    let h = start_with(
        monday_sim::Config::default(),
        connector_monday::Options {
            webhook_rate_per_minute: 3,
            ..Default::default()
        },
    )
    .await;
    let token = jwt(&h, &h.signing_secret, 300);
    // The count is per minute: a run that crosses into the next one is tried once more.
    let mut statuses = Vec::new();
    for attempt in 0..2 {
        let minute = || time::OffsetDateTime::now_utc().unix_timestamp() / 60;
        let started = minute();
        statuses.clear();
        for pulse in 0..4 {
            let body = event(&h, 1_000 * (attempt + 1) + pulse).to_string();
            statuses.push(post(&h, &token, body).await);
        }
        if minute() == started {
            break;
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let mut other = claims(&h, 300);
    other["accountId"] = json!(h.account.account_id + 1);
    let other = sign(&h.signing_secret, &other);
    // Another account is counted apart (and then refused for not watching the board).
    assert_eq!(post(&h, &other, event(&h, 5_000).to_string()).await, 403);
}
