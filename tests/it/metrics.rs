//! Metrics over OTLP: a run is counted, timed and its records counted by side and outcome, as
//! an operator's collector receives them (an in-process OTLP receiver here).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use tandem_proto::v1 as pb;

use crate::stack::{ORG, start_stack};

/// A data point received: its metric's name, its attributes as text, its value (a
/// histogram's count).
type Point = (String, Vec<(String, String)>, f64);

#[derive(Clone, Default)]
struct Receiver {
    points: Arc<Mutex<Vec<Point>>>,
}

fn attributes(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut points = self.points.lock().unwrap();
        for resource in request.into_inner().resource_metrics {
            for scope in resource.scope_metrics {
                for metric in scope.metrics {
                    let name = metric.name.clone();
                    match metric.data {
                        Some(Data::Sum(sum)) => {
                            for p in sum.data_points {
                                let value = match p.value {
                                    Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i)) => i as f64,
                                    Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(d)) => d,
                                    None => 0.0,
                                };
                                points.push((name.clone(), attributes(&p.attributes), value));
                            }
                        }
                        Some(Data::Histogram(h)) => {
                            for p in h.data_points {
                                points.push((
                                    name.clone(),
                                    attributes(&p.attributes),
                                    p.count as f64,
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_is_counted_timed_and_its_records_counted_by_side() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(MetricsServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let guard = Arc::new(
        tandem_telemetry::init(&tandem_telemetry::Config {
            service_name: "tandem-test".to_owned(),
            filter: "warn".to_owned(),
            format: tandem_telemetry::LogFormat::Human,
            otlp_endpoint: Some(endpoint),
        })
        .unwrap(),
    );

    metered_run().await;

    let has = |points: &[Point], name: &str, want: &[(&str, &str)]| {
        points.iter().any(|(n, attrs, value)| {
            n == name
                && *value >= 1.0
                && want
                    .iter()
                    .all(|(k, v)| attrs.iter().any(|(ak, av)| ak == k && av == v))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let flushing = guard.clone();
        tokio::task::spawn_blocking(move || flushing.flush())
            .await
            .unwrap();
        let points = receiver.points.lock().unwrap().clone();
        let finished = has(
            &points,
            "tandem.sync.runs.finished",
            &[("trigger", "manual"), ("status", "succeeded")],
        );
        let timed = has(
            &points,
            "tandem.sync.run.duration",
            &[("trigger", "manual")],
        );
        let created = has(
            &points,
            "tandem.sync.records",
            &[("side", "salesforce"), ("outcome", "created")],
        );
        let started = has(
            &points,
            "tandem.sync.runs.started",
            &[("trigger", "manual")],
        );
        let budget = has(
            &points,
            "tandem.remote.budget.used_ratio",
            &[("side", "salesforce")],
        );
        if finished && timed && created && started && budget {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "metrics not received: finished {finished}, timed {timed}, created {created}, \
             started {started}, budget {budget}: {points:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A stack that runs one cycle which creates one record in monday.
async fn metered_run() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            serde_json::json!({"Name": "Metered", "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    assert_eq!(run.status, pb::RunStatus::Succeeded as i32, "{run:?}");
}

/// The OpenTelemetry Collector binary, when this machine has one (`TANDEM_OTELCOL`, or
/// `otelcol-contrib`/`otelcol` on the PATH). It ships as a container image and a Go binary
/// from GitHub only, neither of which the CI machine can fetch.
fn collector_binary() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("TANDEM_OTELCOL") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["otelcol-contrib", "otelcol"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_compose_collector_shows_the_metrics_to_prometheus() {
    let Some(collector) = collector_binary() else {
        eprintln!(
            "SKIPPED: no OpenTelemetry Collector here (set TANDEM_OTELCOL or put otelcol-contrib on the PATH)"
        );
        return;
    };
    // The compose file's collector configuration, on free loopback ports.
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    let (otlp, prometheus) = (free(), free());
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = std::fs::read_to_string(root.join("deploy/otel-collector.yaml"))
        .unwrap()
        .replace("0.0.0.0:4317", &otlp.to_string())
        .replace("0.0.0.0:8889", &prometheus.to_string());
    let dir = std::env::temp_dir().join(format!("tandem-otelcol-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.yaml"), config).unwrap();
    let mut child = std::process::Command::new(collector)
        .arg(format!("--config={}", dir.join("config.yaml").display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let guard = tandem_telemetry::init(&tandem_telemetry::Config {
        service_name: "tandem-test".to_owned(),
        filter: "warn".to_owned(),
        format: tandem_telemetry::LogFormat::Human,
        otlp_endpoint: Some(format!("http://{otlp}")),
    })
    .unwrap();
    metered_run().await;
    let guard = Arc::new(guard);

    let wanted = [
        "tandem_sync_runs_finished",
        "tandem_sync_records",
        "tandem_sync_run_duration",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let scraped = loop {
        let flushing = guard.clone();
        tokio::task::spawn_blocking(move || flushing.flush())
            .await
            .unwrap();
        let text = match reqwest::get(format!("http://{prometheus}/metrics")).await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if wanted.iter().all(|name| text.contains(name)) {
            break text;
        }
        assert!(Instant::now() < deadline, "the collector shows: {text}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        scraped
            .lines()
            .any(|l| l.starts_with("tandem_sync_runs_finished")
                && l.contains("status=\"succeeded\"")),
        "{scraped}"
    );
}
