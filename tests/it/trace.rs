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

#[tokio::test(flavor = "multi_thread")]
async fn a_call_across_services_is_one_trace() {
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
