//! Webhook ingress: monday's challenge, signed events reaching the (stand-in) orchestrator,
//! bad signatures refused.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tandem_proto::v1::Side;

use crate::harness::{eventually, start_harness};

fn url(h: &crate::harness::Harness) -> String {
    format!("http://{}{}", h.webhooks, connector_monday::WEBHOOK_PATH)
}

fn jwt(secret: &str, exp_in: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let c = URL_SAFE_NO_PAD
        .encode(json!({"accountId": 1, "userId": 2, "iat": now, "exp": now + exp_in}).to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{h}.{c}").as_bytes());
    format!(
        "{h}.{c}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
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
    let event = json!({"event": {"type": "update_column_value", "boardId": h.board, "pulseId": 1, "columnId": "status"}});
    let client = reqwest::Client::new();
    let cases = [
        Some(jwt("not-the-secret", 300)),
        Some(jwt(&h.signing_secret, -3_600)),
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
        .header("authorization", jwt(&h.signing_secret, 300))
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
            .header("authorization", jwt(&h.signing_secret, 300))
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
