//! Calls from one service to another: a lazily connected channel whose requests carry this
//! service's own identity token and the current trace context.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::auth::Auth;
use crate::service_key::{KeyError, ServiceSigner};

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
}

impl Outbound {
    /// Calls made as the named service, or an error naming the missing key.
    pub fn service(auth: &Auth, name: &str) -> Result<Self, KeyError> {
        Ok(Self {
            signer: auth.signing.signer(name)?,
            cached: Arc::default(),
        })
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
#[error("peer url `{url}` is not a valid endpoint: {source}")]
pub struct PeerUrlError {
    url: String,
    source: tonic::transport::Error,
}

/// A channel to a peer service at `url` that connects on first use (so services can start in
/// any order) and times out calls after `timeout`.
pub fn connect_lazy(
    url: &str,
    outbound: Outbound,
    timeout: Duration,
) -> Result<PeerChannel, PeerUrlError> {
    let channel = Endpoint::from_shared(url.to_owned())
        .map_err(|source| PeerUrlError {
            url: tandem_telemetry::redact::url(url),
            source,
        })?
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .connect_lazy();
    Ok(InterceptedService::new(channel, outbound))
}
