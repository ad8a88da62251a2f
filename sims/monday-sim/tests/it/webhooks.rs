//! Webhooks: challenge handshake on create, then signed `{"event": …}` deliveries, retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::{gql, start, tandem_board};

struct Receiver {
    url: String,
    events: mpsc::UnboundedReceiver<(Option<String>, Value)>,
    challenges: Arc<AtomicUsize>,
}

/// A receiver that echoes challenges, refuses the first `fail_first` events with 500, and
/// forwards the rest (with their Authorization header).
async fn receiver(echo: bool, fail_first: usize) -> Receiver {
    let (tx, rx) = mpsc::unbounded_channel();
    let challenges = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let seen = challenges.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                let tx = tx.clone();
                let seen = seen.clone();
                let refused = refused.clone();
                async move {
                    if let Some(c) = body.get("challenge") {
                        seen.fetch_add(1, Ordering::SeqCst);
                        let c = if echo { c.clone() } else { json!("wrong") };
                        return (
                            axum::http::StatusCode::OK,
                            axum::Json(json!({"challenge": c})),
                        );
                    }
                    if refused.fetch_add(1, Ordering::SeqCst) < fail_first {
                        return (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            axum::Json(json!({})),
                        );
                    }
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let _ = tx.send((auth, body));
                    (axum::http::StatusCode::OK, axum::Json(json!({})))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url,
        events: rx,
        challenges,
    }
}

const CREATE: &str = "mutation ($b: ID!, $url: String!, $cfg: JSON) { create_webhook(board_id: $b, url: $url, event: change_specific_column_value, config: $cfg) { id board_id event config } }";

fn verify(jwt: &str, secret: &str) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
        .expect("signature verifies");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

#[tokio::test]
async fn create_webhook_challenges_then_delivers_a_signed_event_after_a_retry() {
    let config = monday_sim::Config {
        webhook_retry_interval: Duration::from_millis(50),
        ..Default::default()
    };
    let sim = start(config).await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    let board = tandem_board(&sim.handle, acct.account_id);
    let item = sim
        .handle
        .create_item(board, None, "Deal", json!({}))
        .unwrap();
    let mut rx = receiver(true, 1).await;

    let cfg = json!({"columnId": "status"}).to_string();
    let r = gql(
        &sim.url,
        &acct.token,
        CREATE,
        json!({"b": board.to_string(), "url": rx.url, "cfg": cfg}),
    )
    .await;
    let hook = &r.body["data"]["create_webhook"];
    assert_eq!(hook["event"], "change_specific_column_value", "{}", r.body);
    assert_eq!(hook["board_id"], board.to_string());
    assert_eq!(rx.challenges.load(Ordering::SeqCst), 1);
    assert_eq!(sim.handle.webhooks().len(), 1);

    // A change to another column is not delivered; the status change is.
    let q = "mutation ($b: ID!, $i: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, item_id: $i, column_values: $v) { id } }";
    gql(&sim.url, &acct.token, q, json!({"b": board.to_string(), "i": item.to_string(), "v": json!({"text": "x"}).to_string()})).await;
    gql(&sim.url, &acct.token, q, json!({"b": board.to_string(), "i": item.to_string(), "v": json!({"status": {"label": "Done"}}).to_string()})).await;

    let (auth, body) = tokio::time::timeout(Duration::from_secs(10), rx.events.recv())
        .await
        .expect("event arrives")
        .unwrap();
    let ev = &body["event"];
    assert_eq!(ev["type"], "update_column_value");
    assert_eq!(ev["columnId"], "status");
    assert_eq!(ev["columnType"], "color");
    assert_eq!(ev["pulseId"], json!(item));
    assert_eq!(ev["boardId"], json!(board));
    assert_eq!(ev["value"]["label"]["text"], "Done");
    assert_eq!(ev["previousValue"], Value::Null);
    assert_eq!(
        ev["subscriptionId"].to_string(),
        hook["id"].as_str().unwrap()
    );
    let claims = verify(
        &auth.expect("authorization header"),
        &sim.handle.webhook_signing_secret(),
    );
    assert_eq!(claims["aud"], json!(rx.url));
    assert_eq!(claims["accountId"], json!(acct.account_id));
    assert!(
        rx.events.try_recv().is_err(),
        "the text change was not delivered"
    );
}

#[tokio::test]
async fn a_url_that_does_not_echo_the_challenge_is_refused() {
    let sim = start(monday_sim::Config::default()).await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    let board = tandem_board(&sim.handle, acct.account_id);
    let rx = receiver(false, 0).await;
    let r = gql(
        &sim.url,
        &acct.token,
        CREATE,
        json!({"b": board.to_string(), "url": rx.url}),
    )
    .await;
    assert_eq!(r.body["data"]["create_webhook"], Value::Null, "{}", r.body);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Failed to communicate")
    );
    assert!(sim.handle.webhooks().is_empty());
}

#[tokio::test]
async fn create_item_and_rename_events_reach_their_subscriptions() {
    let sim = start(monday_sim::Config::default()).await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    let board = tandem_board(&sim.handle, acct.account_id);
    let mut rx = receiver(true, 0).await;
    for event in ["create_item", "change_name"] {
        let q = format!(
            "mutation {{ create_webhook(board_id: {board}, url: \"{}\", event: {event}) {{ id }} }}",
            rx.url
        );
        let r = gql(&sim.url, &acct.token, &q, json!({})).await;
        assert!(
            r.body["data"]["create_webhook"]["id"].is_string(),
            "{}",
            r.body
        );
    }
    let q = format!(
        "mutation {{ create_item(board_id: {board}, item_name: \"New\", column_values: \"{{\\\"text\\\": \\\"hi\\\"}}\") {{ id }} }}"
    );
    let r = gql(&sim.url, &acct.token, &q, json!({})).await;
    let id = r.body["data"]["create_item"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let q = format!(
        "mutation {{ change_simple_column_value(board_id: {board}, item_id: {id}, column_id: \"name\", value: \"Renamed\") {{ name }} }}"
    );
    gql(&sim.url, &acct.token, &q, json!({})).await;
    let mut types = vec![];
    for _ in 0..2 {
        let (_, body) = tokio::time::timeout(Duration::from_secs(10), rx.events.recv())
            .await
            .expect("event")
            .unwrap();
        types.push((
            body["event"]["type"].as_str().unwrap().to_string(),
            body["event"]["pulseName"].clone(),
        ));
    }
    types.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        types,
        vec![
            ("create_pulse".to_string(), json!("New")),
            ("update_name".to_string(), json!("Renamed"))
        ]
    );
}

#[tokio::test]
async fn an_edit_made_as_a_user_fires_the_subscribed_webhook() {
    let sim = start(monday_sim::Config::default()).await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    let bob = sim.handle.add_user(acct.account_id, "Bob", "bob@acme.test");
    let board = tandem_board(&sim.handle, acct.account_id);
    let item = sim
        .handle
        .create_item(board, None, "Deal", json!({}))
        .unwrap();
    let mut rx = receiver(true, 0).await;
    sim.handle
        .register_webhook(acct.account_id, board, &rx.url, "change_column_value", None);
    sim.handle
        .edit_item_as(bob, item, json!({"numbers": "7"}))
        .unwrap();
    let (_, body) = tokio::time::timeout(Duration::from_secs(10), rx.events.recv())
        .await
        .expect("event")
        .unwrap();
    assert_eq!(body["event"]["userId"], json!(bob));
    assert_eq!(body["event"]["columnId"], "numbers");
    assert_eq!(body["event"]["value"]["value"], json!(7.0));
    assert_eq!(sim.handle.item(item).unwrap().values["numbers"], json!("7"));
}
