//! Bulk API 2.0 calls as a client makes them: JSON job requests, CSV uploads and results.

use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::support::{TestSim, read};

/// Creates an ingest job; returns its id (panics on anything but 200).
pub async fn create(sim: &TestSim, body: Value) -> String {
    let (status, _, job) = sim
        .json(Method::POST, &sim.api("jobs/ingest"), Some(body))
        .await;
    assert_eq!(status, 200, "{job}");
    job["id"].as_str().expect("job id").to_string()
}

/// PUTs CSV to the job's batches resource; returns the status and body.
pub async fn upload(sim: &TestSim, id: &str, csv: &str) -> (u16, String) {
    let r = sim
        .client
        .put(sim.api(&format!("jobs/ingest/{id}/batches")))
        .bearer_auth(&sim.token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .expect("upload");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// PATCHes the job's state.
pub async fn set_state(sim: &TestSim, kind: &str, id: &str, state: &str) -> (u16, Value) {
    let (status, _, body) = sim
        .json(
            Method::PATCH,
            &sim.api(&format!("jobs/{kind}/{id}")),
            Some(json!({"state": state})),
        )
        .await;
    (status, body)
}

/// Polls job info until the job is JobComplete, Failed or Aborted (10 s at most).
pub async fn wait(sim: &TestSim, kind: &str, id: &str) -> Value {
    wait_up_to(sim, kind, id, Duration::from_secs(10)).await
}

/// [`wait`] with another deadline (measurements of large jobs).
pub async fn wait_up_to(sim: &TestSim, kind: &str, id: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, _, info) = sim
            .json(Method::GET, &sim.api(&format!("jobs/{kind}/{id}")), None)
            .await;
        assert_eq!(status, 200, "{info}");
        if matches!(
            info["state"].as_str(),
            Some("JobComplete" | "Failed" | "Aborted")
        ) {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} still {}",
            info["state"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Create, upload, close, wait: the job info at the end.
pub async fn run(sim: &TestSim, body: Value, csv: &str) -> (String, Value) {
    let id = create(sim, body).await;
    let (status, text) = upload(sim, &id, csv).await;
    assert_eq!(status, 201, "{text}");
    let (status, closed) = set_state(sim, "ingest", &id, "UploadComplete").await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["state"], "UploadComplete");
    let info = wait(sim, "ingest", &id).await;
    (id, info)
}

/// GETs a CSV resource: status, content type and the text.
pub async fn csv(sim: &TestSim, tail: &str) -> (u16, String, String) {
    let r = sim.call(Method::GET, &sim.api(tail), None).await;
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, r.text().await.expect("body"))
}

/// The rows of a result file (quoted fields split naively: test data has no commas).
pub fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            l.split(',')
                .map(|f| f.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

/// An error answer's `errorCode`.
pub async fn error_code(r: reqwest::Response) -> (u16, String) {
    let (status, _, body) = read(r).await;
    (
        status,
        body[0]["errorCode"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}
