//! Tracing and OpenTelemetry setup, W3C trace context across gRPC.
