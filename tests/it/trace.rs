//! One trace across services: the caller's span context travels in gRPC metadata, so the
//! callee's server span is a child of the caller's span. Checked with an in-process OTLP
//! receiver that collects what the exporter sends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use tandem_proto::v1::GetIntegrationStatusRequest;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_testkit::{TestDb, authorized, user_bearer};

use crate::services::{no_peers, start_service};

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            Value::IntValue(i) => Some(*i),
            _ => None,
        }
    })
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

/// An in-process OTLP receiver, and this process's telemetry exporting to it.
async fn collector() -> (Receiver, Arc<tandem_telemetry::Guard>) {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let guard = Arc::new(
        tandem_telemetry::init(&tandem_telemetry::Config {
            service_name: "tandem-test".to_owned(),
            filter: "info".to_owned(),
            format: tandem_telemetry::LogFormat::Human,
            otlp_endpoint: Some(endpoint),
        })
        .unwrap(),
    );
    (receiver, guard)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_across_services_is_one_trace() {
    let (receiver, guard) = collector().await;

    let db = TestDb::create().await;
    let mapping = start_service("mapping-config", &db, no_peers()).await;
    let mut peers = no_peers();
    peers.mapping_config_url = mapping.url();
    let orchestrator = start_service("sync-orchestrator", &db, peers).await;

    // The orchestrator asks mapping-config for the integration: one hop.
    let _ = SyncOrchestratorClient::new(orchestrator.channel().await)
        .get_integration_status(authorized(
            GetIntegrationStatusRequest {
                integration_id: "8d0c4d50-0000-4000-8000-000000000001".to_owned(),
            },
            &user_bearer("ada@acme.test"),
        ))
        .await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let (outer, inner, spans) = loop {
        let flusher = guard.clone();
        tokio::task::spawn_blocking(move || flusher.flush())
            .await
            .unwrap();
        let spans = receiver.spans.lock().unwrap().clone();
        let find = |name: &str, service: &str| {
            spans
                .iter()
                .find(|s| s.name == name && attribute(s, "tandem.service") == Some(service))
                .cloned()
        };
        if let (Some(outer), Some(inner)) = (
            find(
                "tandem.v1.SyncOrchestrator/GetIntegrationStatus",
                "sync-orchestrator",
            ),
            find("tandem.v1.MappingConfig/GetIntegration", "mapping-config"),
        ) {
            break (outer, inner, spans);
        }
        assert!(
            Instant::now() < deadline,
            "spans of both services never arrived; got {spans:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(
        inner.trace_id, outer.trace_id,
        "mapping-config's span is in the caller's trace"
    );
    // The callee's parent is the orchestrator's handler span, itself a child of the
    // orchestrator's request span.
    let parent = spans
        .iter()
        .find(|s| s.span_id == inner.parent_span_id)
        .expect("the callee's parent span was exported");
    assert_eq!(parent.trace_id, outer.trace_id);
    assert!(
        parent.span_id == outer.span_id || parent.parent_span_id == outer.span_id,
        "the callee's parent must be the orchestrator's request span or its handler span"
    );
    assert!(
        outer.parent_span_id.is_empty(),
        "the test's call started the trace"
    );
    // OpenTelemetry's RPC conventions name the service and the method.
    assert_eq!(
        attribute(&inner, "rpc.service"),
        Some("tandem.v1.MappingConfig")
    );
    assert_eq!(attribute(&inner, "rpc.method"), Some("GetIntegration"));
    // The integration does not exist: NOT_FOUND (5), recorded on both request spans.
    assert_eq!(
        int_attribute(&inner, "rpc.grpc.status_code"),
        Some(5),
        "{inner:?}"
    );
    assert_eq!(
        int_attribute(&outer, "rpc.grpc.status_code"),
        Some(5),
        "{outer:?}"
    );
}

/// Every attribute value of `span` as text.
fn attribute_texts(span: &Span) -> Vec<String> {
    span.attributes
        .iter()
        .filter_map(|a| match a.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            Value::IntValue(i) => Some(i.to_string()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_http_call_to_salesforce_and_monday_is_a_client_span_in_the_runs_trace() {
    let (receiver, guard) = collector().await;
    let stack = crate::stack::start_stack().await;
    stack.salesforce.ensure_org(crate::stack::ORG);
    let integration = stack.integration().await;
    stack
        .salesforce
        .insert(
            crate::stack::ORG,
            "Opportunity",
            serde_json::json!({"Name": "Traced", "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.unwrap().created, 1, "{run:?}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let (sync, spans) = loop {
        let flusher = guard.clone();
        tokio::task::spawn_blocking(move || flusher.flush())
            .await
            .unwrap();
        let spans = receiver.spans.lock().unwrap().clone();
        let sync = spans
            .iter()
            .find(|s| s.name == "tandem.v1.SyncOrchestrator/SyncNow")
            .cloned();
        let remote = |r: &str| {
            spans
                .iter()
                .any(|s| attribute(s, "tandem.remote") == Some(r))
        };
        if let Some(sync) = sync
            && remote("salesforce")
            && remote("monday")
        {
            break (sync, spans);
        }
        assert!(
            Instant::now() < deadline,
            "client spans never arrived; got {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let in_run: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace_id == sync.trace_id && attribute(s, "tandem.remote").is_some())
        .collect();
    let of = |remote: &str| -> Vec<&Span> {
        in_run
            .iter()
            .copied()
            .filter(|s| attribute(s, "tandem.remote") == Some(remote))
            .collect()
    };
    let (salesforce, monday) = (of("salesforce"), of("monday"));
    assert!(
        !salesforce.is_empty() && !monday.is_empty(),
        "both remotes' calls are in the run's trace"
    );

    // The Salesforce poll is a SOQL query: its URL is shown without the query string.
    let query = salesforce
        .iter()
        .find(|s| attribute(s, "url.template").is_some_and(|t| t.ends_with("/query")))
        .unwrap_or_else(|| panic!("the SOQL poll: {salesforce:?}"));
    assert_eq!(attribute(query, "http.request.method"), Some("GET"));
    assert_eq!(int_attribute(query, "http.response.status_code"), Some(200));
    let full = attribute(query, "url.full").unwrap();
    assert!(full.ends_with("/query") && !full.contains('?'), "{full}");
    assert_eq!(query.kind, 3, "a client span (SPAN_KIND_CLIENT)");

    let create = monday
        .iter()
        .find(|s| int_attribute(s, "http.response.status_code") == Some(200))
        .unwrap();
    assert_eq!(create.name, "POST /v2");
    let request_id = attribute(create, "remote.request_id").expect("monday's request id");
    assert_eq!(request_id.len(), 36, "{request_id}");

    // No secret in any attribute of any span.
    for span in &spans {
        for text in attribute_texts(span) {
            assert!(
                !text.contains(&stack.monday_token)
                    && !text.to_ascii_lowercase().contains("bearer")
                    && !text.contains("SELECT"),
                "{}: {text}",
                span.name
            );
        }
    }
}
