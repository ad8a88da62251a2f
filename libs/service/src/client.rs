//! Calls from one service to another: a lazily connected channel whose requests carry this
//! service's own identity token and the current trace context.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::auth::Auth;
use crate::service_key::{KeyError, ServiceSigner};
use crate::tls::Tls;

/// The channel type every generated client is built on.
pub type PeerChannel = InterceptedService<Channel, Outbound>;

const TOKEN_TTL: Duration = Duration::from_secs(300);
const TOKEN_REFRESH_BEFORE: Duration = Duration::from_secs(60);

/// Adds `authorization: Bearer <service token>` (signed with this service's own key) and
/// `traceparent` to outgoing requests.
#[derive(Clone)]
pub struct Outbound {
    signer: ServiceSigner,
    cached: Arc<Mutex<Option<(String, Instant)>>>,
    tls: Tls,
}

impl Outbound {
    /// Calls made as the named service, or an error naming the missing key.
    pub fn service(auth: &Auth, name: &str) -> Result<Self, KeyError> {
        Ok(Self {
            signer: auth.signing.signer(name)?,
            cached: Arc::default(),
            tls: Tls::default(),
        })
    }

    /// Peers at `https://` URLs are checked against `tls`'s CA bundle; a service that itself
    /// serves TLS calls no `http://` peer (its tokens would cross in clear).
    pub fn with_tls(mut self, tls: &Tls) -> Self {
        self.tls = tls.clone();
        self
    }

    fn token(&self) -> String {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, minted)) = cached.as_ref()
            && minted.elapsed() < TOKEN_TTL - TOKEN_REFRESH_BEFORE
        {
            return token.clone();
        }
        let token = self.signer.mint(TOKEN_TTL);
        *cached = Some((token.clone(), Instant::now()));
        token
    }
}

impl tonic::service::Interceptor for Outbound {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let value = format!("Bearer {}", self.token())
            .parse()
            .map_err(|_| tonic::Status::internal("service token is not valid metadata"))?;
        request.metadata_mut().insert("authorization", value);
        tandem_telemetry::inject_context(request.metadata_mut());
        Ok(request)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("peer url `{url}` is not a valid endpoint: {reason}")]
pub struct PeerUrlError {
    url: String,
    reason: String,
}

/// A channel to a peer service at `url` that connects on first use (so services can start in
/// any order) and times out calls after `timeout`.
pub fn connect_lazy(
    url: &str,
    outbound: Outbound,
    timeout: Duration,
) -> Result<PeerChannel, PeerUrlError> {
    let refuse = |reason: String| PeerUrlError {
        url: tandem_telemetry::redact::url(url),
        reason,
    };
    let mut endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| refuse(e.to_string()))?;
    match endpoint.uri().scheme_str() {
        Some("https") => {
            let host = endpoint.uri().host().unwrap_or_default().to_owned();
            let tls = outbound.tls.client(&host).map_err(refuse)?;
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| refuse(e.to_string()))?;
        }
        _ if outbound.tls.serves_tls() => {
            return Err(refuse(
                "this service serves TLS, so its peers must be https:// too".to_owned(),
            ));
        }
        _ => {}
    }
    let channel = endpoint
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .connect_lazy();
    Ok(InterceptedService::new(channel, outbound))
}
