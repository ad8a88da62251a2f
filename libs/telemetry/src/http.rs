//! A client span per HTTP call to a remote (Salesforce, monday), with OpenTelemetry's HTTP
//! conventions: `http.request.method`, `url.full` without its query (SOQL, tokens) or user
//! info, `url.template` with record ids folded to `{id}`, `server.address`/`server.port`,
//! `http.response.status_code`, `http.request.resend_count` on a retry, `error.type`, and the
//! remote's own request id. No header, token or body is ever recorded.

use tracing::field::Empty;

/// The span of one HTTP attempt to `remote` (`salesforce`, `monday`); `attempt` counts from 1.
/// Instrument the attempt's future with it, then [`record_response`] or [`record_failure`].
pub fn client_span(remote: &'static str, method: &str, url: &str, attempt: u32) -> tracing::Span {
    let parsed = url::Url::parse(url).ok();
    let path = parsed.as_ref().map_or("", |u| u.path());
    let template = url_template(path);
    let span = tracing::info_span!(
        "http.client",
        otel.name = %format!("{method} {template}"),
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = %method,
        url.full = %parsed.as_ref().map_or_else(|| "<url>".to_owned(), safe_url),
        url.template = %template,
        server.address = %parsed.as_ref().and_then(|u| u.host_str()).unwrap_or_default(),
        server.port = parsed.as_ref().and_then(url::Url::port_or_known_default).unwrap_or(0),
        http.request.resend_count = Empty,
        http.response.status_code = Empty,
        error.type = Empty,
        tandem.remote = remote,
        remote.request_id = Empty,
    );
    if attempt > 1 {
        span.record("http.request.resend_count", i64::from(attempt - 1));
    }
    span
}

/// Records the answer on the span: its status (a 4xx/5xx is an error) and the remote's
/// request id, when it sent one.
pub fn record_response(span: &tracing::Span, status: u16, request_id: Option<&str>) {
    span.record("http.response.status_code", i64::from(status));
    if status >= 400 {
        span.record("error.type", status.to_string());
        span.record("otel.status_code", "ERROR");
    }
    if let Some(id) = request_id.filter(|id| !id.is_empty()) {
        span.record("remote.request_id", id);
    }
}

/// Records a call that got no answer (`timeout`, `connect`, …).
pub fn record_failure(span: &tracing::Span, kind: &str) {
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}

/// The request id a remote sent in its headers (`x-request-id`, Salesforce's
/// `x-sfdc-request-id`), if any.
pub fn request_id_header(headers: &http::HeaderMap) -> Option<String> {
    ["x-request-id", "x-sfdc-request-id", "sforce-request-id"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::to_owned)
}

/// The URL without user info, query or fragment.
fn safe_url(url: &url::Url) -> String {
    let mut safe = url.clone();
    let _ = safe.set_username("");
    let _ = safe.set_password(None);
    safe.set_query(None);
    safe.set_fragment(None);
    safe.to_string()
}

/// The path with every segment that names a record folded to `{id}`: Salesforce ids (15 or 18
/// letters and digits, with a digit) and numbers (monday ids).
pub fn url_template(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.split('/')
        .map(|segment| {
            let alnum = segment.chars().all(|c| c.is_ascii_alphanumeric());
            let digit = segment.chars().any(|c| c.is_ascii_digit());
            let salesforce_id =
                alnum && digit && matches!(segment.len(), 15 | 18) && !segment.starts_with('v');
            let number = !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit());
            if salesforce_id || number {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::{Context, SubscriberExt as _};

    use super::*;

    /// Every field recorded on any span, by name (the OpenTelemetry layer turns them into
    /// attributes).
    #[derive(Clone, Default)]
    struct Fields(Arc<Mutex<BTreeMap<String, String>>>);

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            let mut map = self.0.lock().unwrap();
            map.insert(field.name().to_owned(), format!("{value:?}"));
        }
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            let mut map = self.0.lock().unwrap();
            map.insert(field.name().to_owned(), value.to_owned());
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Fields {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: Context<'_, S>,
        ) {
            attrs.record(&mut self.clone());
        }
        fn on_record(
            &self,
            _: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            _: Context<'_, S>,
        ) {
            values.record(&mut self.clone());
        }
    }

    #[test]
    fn a_retried_call_records_method_template_status_resends_and_request_id_and_no_query() {
        let fields = Fields::default();
        let subscriber = tracing_subscriber::registry().with(fields.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = client_span(
                "salesforce",
                "GET",
                "https://acme.my.salesforce.com/services/data/v62.0/query?q=SELECT+Id+FROM+Lead",
                3,
            );
            record_response(&span, 503, Some("req-7"));
        });
        let map = fields.0.lock().unwrap().clone();
        let get = |k: &str| map.get(k).map(String::as_str);
        assert_eq!(get("otel.name"), Some("GET /services/data/v62.0/query"));
        assert_eq!(get("otel.kind"), Some("client"));
        assert_eq!(get("http.request.method"), Some("GET"));
        assert_eq!(
            get("url.full"),
            Some("https://acme.my.salesforce.com/services/data/v62.0/query")
        );
        assert_eq!(get("server.address"), Some("acme.my.salesforce.com"));
        assert_eq!(get("server.port"), Some("443"));
        assert_eq!(get("http.request.resend_count"), Some("2"));
        assert_eq!(get("http.response.status_code"), Some("503"));
        assert_eq!(get("error.type"), Some("503"));
        assert_eq!(get("remote.request_id"), Some("req-7"));
        assert!(map.values().all(|v| !v.contains("SELECT")), "{map:?}");
    }

    #[test]
    fn templates_fold_record_ids_and_keep_versions_and_names() {
        assert_eq!(
            url_template("/services/data/v62.0/sobjects/Opportunity/006dS0000000005QAA"),
            "/services/data/v62.0/sobjects/Opportunity/{id}"
        );
        assert_eq!(
            url_template("/services/data/v62.0/composite/sobjects"),
            "/services/data/v62.0/composite/sobjects"
        );
        assert_eq!(
            url_template("/boards/1234567890/items"),
            "/boards/{id}/items"
        );
        assert_eq!(url_template("/v2"), "/v2");
        assert_eq!(url_template(""), "/");
    }

    #[test]
    fn urls_lose_their_query_and_credentials() {
        let url = url::Url::parse(
            "https://user:pw@acme.my.salesforce.com/services/data/v62.0/query?q=SELECT+Name+FROM+Contact#x",
        )
        .unwrap();
        assert_eq!(
            safe_url(&url),
            "https://acme.my.salesforce.com/services/data/v62.0/query"
        );
    }
}
