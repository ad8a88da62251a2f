//! Subscribe's flow control, replay, retention, delivery allocation, gap and overflow
//! events, keepalives, CDC selection and stream faults.

use reqwest::Method;
use salesforce_sim::Config;
use salesforce_sim::pubsub::PubSubConfig;
use salesforce_sim::pubsub::proto::ReplayPreset;
use serde_json::json;
use std::time::Duration;
use tonic::Code;

use crate::pubsub_support::{self as bus, fetch};
use crate::support::{self, TestSim};

const PROJECTS: &str = "/data/Project__ChangeEvent";

fn error_code(st: &tonic::Status) -> String {
    st.metadata()
        .get("error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn insert(sim: &TestSim, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            sim.handle
                .insert(
                    "demo",
                    "Project__c",
                    json!({"Name": format!("P{i}"), "Summary__c": "s"}),
                )
                .expect("insert")
        })
        .collect()
}

async fn start_with(pubsub: PubSubConfig) -> TestSim {
    support::start(Config {
        pubsub,
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_only_what_was_requested_and_requests_add_up_to_100() {
    let sim = support::start_default().await;
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 2)).await;
    insert(&sim, 5);
    let first = sub.events(2).await;
    assert_eq!(first.len(), 2);
    assert!(
        sub.quiet_for(Duration::from_millis(300)).await,
        "nothing past the 2 requested"
    );
    sub.request(1).await;
    sub.request(1).await;
    let r = sub.next().await.expect("batch");
    let mut got = r.events.len();
    while got < 2 {
        got += sub.next().await.expect("batch").events.len();
    }
    assert_eq!(got, 2, "two requests of 1 add up to 2");
    // Only the first request's topic and replay count: a later replay option is ignored.
    sub.tx
        .send(fetch(PROJECTS, ReplayPreset::Earliest, 500))
        .await
        .unwrap();
    let r = sub.next().await.expect("the last one");
    assert_eq!(r.events.len(), 1);
    assert_eq!(
        r.pending_num_requested, 99,
        "500 requested is capped at 100 outstanding"
    );
    let ids: Vec<_> = first
        .iter()
        .map(|e| e.replay_id.clone())
        .chain(r.events.iter().map(|e| e.replay_id.clone()))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] != w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_presets_start_at_the_tip_the_earliest_or_after_a_replay_id() {
    let sim = support::start_default().await;
    let mut b = bus::connect(&sim).await;
    insert(&sim, 3);
    let mut all = b.live(fetch(PROJECTS, ReplayPreset::Earliest, 10)).await;
    let events = all.events(3).await;
    assert_eq!(events.len(), 3);
    let mut custom = b
        .live(bus::FetchRequestExt::custom(
            PROJECTS,
            events[0].replay_id.clone(),
            10,
        ))
        .await;
    let after = custom.events(2).await;
    assert_eq!(after[0].replay_id, events[1].replay_id);
    assert_eq!(after[1].replay_id, events[2].replay_id);
    let mut latest = b.live(fetch(PROJECTS, ReplayPreset::Latest, 10)).await;
    assert!(latest.quiet_for(Duration::from_millis(300)).await);
    insert(&sim, 1);
    assert_eq!(latest.events(1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_id_past_the_retention_window_is_refused_clearly() {
    let sim = start_with(PubSubConfig {
        retention: Duration::from_secs(3600),
        ..Default::default()
    })
    .await;
    let mut b = bus::connect(&sim).await;
    insert(&sim, 1);
    let mut s = b.live(fetch(PROJECTS, ReplayPreset::Earliest, 10)).await;
    let old = s.events(1).await[0].replay_id.clone();
    sim.handle
        .advance_event_clock(Duration::from_secs(2 * 3600));
    insert(&sim, 1);
    let mut stale = b
        .subscribe(bus::FetchRequestExt::custom(PROJECTS, old, 10))
        .await
        .expect("opens");
    let st = stale.next().await.expect_err("stale");
    assert_eq!(st.code(), Code::InvalidArgument);
    assert_eq!(
        error_code(&st),
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
    );
    assert!(
        st.message().contains("retention window"),
        "{}",
        st.message()
    );
    let mut garbage = b
        .subscribe(bus::FetchRequestExt::custom(
            PROJECTS,
            b"12907414".to_vec(),
            10,
        ))
        .await
        .expect("opens");
    assert_eq!(
        garbage.next().await.expect_err("corrupted").code(),
        Code::InvalidArgument
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_delivery_allocation_answers_the_limit_error() {
    let sim = support::start_default().await;
    sim.handle.set_delivery_allocation("demo", 3);
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 10)).await;
    insert(&sim, 5);
    let mut got = 0;
    let err = loop {
        match sub.next().await {
            Ok(r) => got += r.events.len(),
            Err(st) => break st,
        }
    };
    assert_eq!(got, 3);
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(
        error_code(&err),
        "sfdc.platform.eventbus.grpc.subscription.limit.exceeded"
    );
    assert_eq!(sim.handle.delivery_usage("demo"), (3, 3));
    let mut again = b
        .subscribe(fetch(PROJECTS, ReplayPreset::Earliest, 10))
        .await
        .expect("opens");
    assert_eq!(
        again.next().await.expect_err("spent").code(),
        Code::ResourceExhausted
    );
    // The window rolls: a day later the allocation is back.
    sim.handle
        .advance_event_clock(Duration::from_secs(24 * 3600 + 1));
    let mut later = b.live(fetch(PROJECTS, ReplayPreset::Latest, 10)).await;
    insert(&sim, 1);
    assert_eq!(later.events(1).await.len(), 1);
    sim.handle.spend_delivery_allocation("demo");
    let mut spent = b
        .subscribe(fetch(PROJECTS, ReplayPreset::Latest, 1))
        .await
        .expect("opens");
    assert_eq!(
        spent.next().await.expect_err("spent").code(),
        Code::ResourceExhausted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_outside_the_api_and_oversized_transactions_arrive_as_gaps() {
    let sim = start_with(PubSubConfig {
        overflow_after: 2,
        ..Default::default()
    })
    .await;
    let ids = insert(&sim, 1);
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 20)).await;
    let admin = sim.handle.admin_user_id("demo");
    sim.handle
        .outside_api("demo", |h| {
            h.update_as("demo", &ids[0], json!({"Summary__c": "repaired"}), &admin)
        })
        .expect("edit");
    let d = b.decode(&sub.events(1).await[0]).await;
    assert_eq!(d.header_str("changeType"), "GAP_UPDATE");
    assert_eq!(d.header_list("recordIds"), ids);
    assert!(d.header_list("changedFields").is_empty());
    assert_eq!(
        d.field("Summary__c"),
        &apache_avro::types::Value::Null,
        "header only"
    );
    let records: Vec<_> = (0..4)
        .map(|i| json!({"attributes": {"type": "Project__c"}, "Name": format!("Bulk {i}"), "Summary__c": format!("s{i}")}))
        .collect();
    let (status, _, _) = sim
        .json(
            Method::POST,
            &sim.api("composite/sobjects"),
            Some(json!({"records": records})),
        )
        .await;
    assert_eq!(status, 200);
    let events = sub.events(3).await;
    let mut kinds = Vec::new();
    let mut keys = Vec::new();
    for e in &events {
        let d = b.decode(e).await;
        kinds.push(d.header_str("changeType"));
        keys.push(d.header_str("transactionKey"));
    }
    assert_eq!(kinds, vec!["CREATE", "CREATE", "GAP_OVERFLOW"]);
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "one transaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_gets_keepalives_with_the_latest_replay_id() {
    let sim = start_with(PubSubConfig {
        keepalive: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 5)).await;
    let k = sub.next().await.expect("keepalive");
    assert!(k.events.is_empty());
    assert_eq!(k.pending_num_requested, 5);
    assert!(!k.latest_replay_id.is_empty());
    // An event of another object moves the latest replay id on.
    sim.handle
        .insert("demo", "Account", json!({"Name": "A"}))
        .expect("account");
    let mut moved = false;
    for _ in 0..10 {
        let r = sub.next().await.expect("keepalive");
        if r.latest_replay_id != k.latest_replay_id {
            moved = true;
            break;
        }
    }
    assert!(moved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_request_naming_another_topic_is_invalid() {
    let sim = support::start_default().await;
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 1)).await;
    sub.tx
        .send(fetch("/data/AccountChangeEvent", ReplayPreset::Latest, 1))
        .await
        .unwrap();
    assert_eq!(
        sub.next().await.expect_err("mismatch").code(),
        Code::InvalidArgument
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_selected_objects_have_change_events() {
    let sim = support::start_default().await;
    assert!(
        sim.handle
            .cdc_selection("demo")
            .contains(&"Project__c".to_string())
    );
    sim.handle
        .set_cdc_selection("demo", &["Account"])
        .expect("select");
    assert!(
        sim.handle
            .set_cdc_selection("demo", &["Organization"])
            .is_err()
    );
    let mut b = bus::connect(&sim).await;
    let mut sub = b
        .live(fetch("/data/ChangeEvents", ReplayPreset::Latest, 10))
        .await;
    insert(&sim, 1);
    sim.handle
        .insert("demo", "Account", json!({"Name": "Selected"}))
        .expect("account");
    let d = b.decode(&sub.events(1).await[0]).await;
    assert_eq!(d.header_str("entityName"), "Account");
    // The control plane changes the selection too.
    let r = sim
        .client
        .post(format!("{}/__sim/orgs/demo/cdc", sim.base_url))
        .json(&json!({"selected": ["Project__c"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        sim.handle.cdc_selection("demo"),
        vec!["Project__c".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_ends_unavailable_and_a_resubscribe_resumes_without_loss() {
    let sim = support::start_default().await;
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 10)).await;
    insert(&sim, 1);
    let last = sub.events(1).await[0].replay_id.clone();
    sim.handle.drop_pubsub_streams();
    let st = sub.next().await.expect_err("dropped");
    assert_eq!(st.code(), Code::Unavailable);
    insert(&sim, 2);
    let mut again = b
        .live(bus::FetchRequestExt::custom(PROJECTS, last, 10))
        .await;
    assert_eq!(again.events(2).await.len(), 2);
    sim.handle.set_pubsub_delay(Duration::from_millis(300));
    let started = std::time::Instant::now();
    insert(&sim, 1);
    again.events(1).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the injected delay applies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_makes_gaps_deletes_undeletes_and_stream_faults() {
    let sim = support::start_default().await;
    let ids = insert(&sim, 1);
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 10)).await;
    let control = |method: Method, path: &str| {
        sim.client
            .request(method, format!("{}/__sim/{path}", sim.base_url))
    };
    let id = &ids[0];
    let r = control(
        Method::PATCH,
        &format!("orgs/demo/records/{id}?outside_api=true"),
    )
    .json(&json!({"Summary__c": "fixed by support"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = control(Method::DELETE, &format!("orgs/demo/records/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = control(Method::POST, &format!("orgs/demo/records/{id}/undelete"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let events = sub.events(3).await;
    let mut kinds = Vec::new();
    for e in &events {
        kinds.push(b.decode(e).await.header_str("changeType"));
    }
    assert_eq!(kinds, vec!["GAP_UPDATE", "DELETE", "UNDELETE"]);
    let r = control(Method::POST, "pubsub/faults")
        .json(&json!({"drop_streams": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        sub.next().await.expect_err("dropped").code(),
        Code::Unavailable
    );
    let r = control(Method::POST, "orgs/demo/cdc")
        .json(&json!({"allocation_spent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let mut spent = b
        .subscribe(fetch(PROJECTS, ReplayPreset::Latest, 1))
        .await
        .expect("opens");
    assert_eq!(
        spent.next().await.expect_err("spent").code(),
        Code::ResourceExhausted
    );
    let body: serde_json::Value = control(Method::GET, "orgs/demo/cdc")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["delivered"], body["allocation"]);
}
