//! StreamChanges: an object's change events from the simulator's Pub/Sub API, decoded with the
//! schema from GetSchema, the changed fields read from the bitmaps, the writer's client from
//! `changeOrigin` (Tandem's writes name their integration); resuming after a replay id; a
//! replay id past the retention answers OUT_OF_RANGE; bad input names its field.

use std::time::{Duration, Instant};

use tandem_proto::v1::{ChangeEvent, RecordWrite, StreamChangesRequest, WriteRecordsRequest};
use tonic::{Code, Streaming};

use crate::harness::{CONN, Harness, ORG, harness};

fn request(object: &str, replay_id: Vec<u8>) -> StreamChangesRequest {
    StreamChangesRequest {
        connection_id: CONN.into(),
        object: object.into(),
        replay_id,
    }
}

/// Opens a stream and waits (10 s) until the simulator has taken its first request.
async fn open(
    h: &mut Harness,
    replay_id: Vec<u8>,
) -> Streaming<tandem_proto::v1::ChangeEventBatch> {
    let before = h.sim.live_subscriptions();
    let stream = h
        .client
        .stream_changes(h.req(request("Opportunity", replay_id)))
        .await
        .expect("stream opens")
        .into_inner();
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.sim.live_subscriptions() <= before {
        assert!(Instant::now() < deadline, "the subscription never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stream
}

/// The next `n` events (10 s deadline), with the org id each batch named.
async fn events(
    stream: &mut Streaming<tandem_proto::v1::ChangeEventBatch>,
    n: usize,
) -> Vec<(String, ChangeEvent)> {
    let mut out = Vec::new();
    while out.len() < n {
        let batch = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("events within 10 s")
            .expect("no error")
            .expect("stream open");
        out.extend(batch.events.into_iter().map(|e| (batch.org_id.clone(), e)));
    }
    out
}

/// Waits (10 s) until no subscription is live: a caller that goes away ends its subscription.
async fn ended(h: &Harness) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.sim.live_subscriptions() != 0 {
        assert!(
            Instant::now() < deadline,
            "the subscription outlived its caller"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn opportunity(h: &Harness, name: &str) -> String {
    h.sim
        .insert(
            ORG,
            "Opportunity",
            serde_json::json!({"Name": name, "StageName": "Prospecting", "CloseDate": "2027-01-31"}),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_each_edit_with_its_changed_fields_and_who_wrote_it() {
    let mut h = harness().await;
    let id = opportunity(&h, "Streamed");
    let mut stream = open(&mut h, Vec::new()).await;

    // Tandem's write for integration int-7, then a person's edit of the same record.
    let write = WriteRecordsRequest {
        connection_id: CONN.into(),
        object: "Opportunity".into(),
        writes: vec![RecordWrite {
            id: id.clone(),
            fields: [("StageName".to_owned(), "\"Closed Won\"".to_owned())].into(),
            idempotency_key: String::new(),
        }],
        integration_id: "int-7".into(),
    };
    let written = h
        .client
        .write_records(h.req(write))
        .await
        .unwrap()
        .into_inner();
    assert!(written.results[0].success, "{written:?}");
    let admin = h.sim.admin_user_id(ORG);
    h.sim
        .update_as(
            ORG,
            &id,
            serde_json::json!({"Name": "Streamed, renamed", "NextStep": null}),
            &admin,
        )
        .unwrap();

    let got = events(&mut stream, 2).await;
    let (org_id, tandem) = &got[0];
    assert_eq!(*org_id, h.sim.org_id(ORG));
    assert_eq!(tandem.entity, "Opportunity");
    assert_eq!(tandem.change_type, "UPDATE");
    assert_eq!(tandem.record_ids, std::slice::from_ref(&id));
    assert_eq!(tandem.origin_client, "tandem-int-7", "{tandem:?}");
    assert!(tandem.change_origin.ends_with(";client=tandem-int-7"));
    assert!(
        tandem.changed_fields.contains(&"StageName".to_owned()),
        "{tandem:?}"
    );
    assert!(
        !tandem.changed_fields.contains(&"Name".to_owned()),
        "{tandem:?}"
    );
    assert!(tandem.commit_timestamp.is_some() && !tandem.replay_id.is_empty());
    let (_, person) = &got[1];
    assert_eq!(person.origin_client, "", "{person:?}");
    assert_eq!(person.commit_user, admin);
    assert!(
        person.changed_fields.contains(&"Name".to_owned()),
        "{person:?}"
    );
    assert!(!person.changed_fields.contains(&"StageName".to_owned()));
    assert_ne!(tandem.replay_id, person.replay_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn resumes_after_a_replay_id_and_answers_out_of_range_once_it_is_past_retention() {
    let mut h = harness().await;
    let mut stream = open(&mut h, Vec::new()).await;
    let first = opportunity(&h, "First");
    let got = events(&mut stream, 1).await;
    assert_eq!(got[0].1.record_ids, [first]);
    let replay_id = got[0].1.replay_id.clone();
    drop(stream);
    ended(&h).await;

    // Made while nobody listened: streamed on resuming after the first.
    let second = opportunity(&h, "Second");
    let mut resumed = open(&mut h, replay_id.clone()).await;
    let got = events(&mut resumed, 1).await;
    assert_eq!(got[0].1.record_ids, [second]);
    assert_eq!(got[0].1.change_type, "CREATE");
    drop(resumed);
    ended(&h).await;

    h.sim.advance_event_clock(Duration::from_secs(73 * 3600));
    let mut stale = h
        .client
        .stream_changes(h.req(request("Opportunity", replay_id)))
        .await
        .expect("opens; Salesforce answers on the stream")
        .into_inner();
    let status = tokio::time::timeout(Duration::from_secs(10), stale.message())
        .await
        .expect("an answer within 10 s")
        .expect_err("a stale replay id is refused");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains("Replay ID"), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_invalid_argument_naming_the_field() {
    let mut h = harness().await;
    let cases = [
        (request("", Vec::new()), "object"),
        (request("Acc ount", Vec::new()), "object"),
        (
            StreamChangesRequest {
                connection_id: String::new(),
                ..request("Opportunity", Vec::new())
            },
            "connection_id",
        ),
        (request("Opportunity", vec![7; 65]), "replay_id"),
    ];
    for (bad, field) in cases {
        let status = h.client.stream_changes(h.req(bad)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(field), "{field}: {status:?}");
    }
    let write = WriteRecordsRequest {
        connection_id: CONN.into(),
        object: "Opportunity".into(),
        writes: vec![RecordWrite {
            fields: [("Name".to_owned(), "\"x\"".to_owned())].into(),
            ..Default::default()
        }],
        integration_id: "not an id!".into(),
    };
    let status = h.client.write_records(h.req(write)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("integration_id"), "{status:?}");
    assert_eq!(h.sim.live_subscriptions(), 0);
}
