//! Metrics over OTLP, with the same exporter configuration as traces: with an endpoint, a
//! meter provider that exports every `OTEL_METRIC_EXPORT_INTERVAL` (60 s unless set) is
//! installed globally, and every service's instruments (`opentelemetry::global::meter`)
//! report through it; without one, instruments are no-ops that cost nothing.

use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};

use crate::Error;

/// Builds the OTLP metric exporter for `endpoint` and installs its provider globally.
pub(crate) fn install(endpoint: &str, service_name: &str) -> Result<SdkMeterProvider, Error> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.to_owned())
        .build()
        .map_err(|source| Error::Exporter {
            endpoint: crate::redact::url(endpoint),
            source,
        })?;
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter).build())
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());
    Ok(provider)
}
