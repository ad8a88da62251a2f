//! Who may send how much: the caller is identified from the request headers, before a byte of
//! the body is read, so a user's oversized message is refused without being decoded.
//!
//! Users get a server with [`USER_MESSAGE_BYTES`] as its decoding limit; Tandem services one
//! with [`crate::MAX_MESSAGE_BYTES`] (a poll or an import answer can be tens of MiB). RPCs
//! named service-only refuse users, and services they do not name, with PERMISSION_DENIED
//! before their body is read; the RPCs users call refuse every service but those a server's
//! shared table names for them.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Semaphore;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;

use crate::auth::Verifier;
use crate::identity::Identity;

/// How much a server takes on at once, and for how long: requests beyond
/// `max_concurrent_requests` wait for a slot (the connection is not read meanwhile), and a
/// request not answered within `request_timeout` is answered DEADLINE_EXCEEDED. Health and
/// reflection are outside both, so a busy server still answers its probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_concurrent_requests: usize,
    pub request_timeout: Duration,
}

impl Default for Limits {
    /// 512 requests at once; 15 minutes (past the orchestrator's 10-minute calls to the
    /// connectors, so only a stuck request meets it).
    fn default() -> Self {
        Self {
            max_concurrent_requests: 512,
            request_timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// The largest message a user may send to any service: user-facing RPCs carry ids, filters
/// and settings, never bulk data.
pub const USER_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The RPCs of a server (by method name, e.g. `AppendEvents`) that only some Tandem services
/// may call, each with the names of those services: users and other services are refused
/// before the body is read. An RPC left out is still bounded by [`USER_MESSAGE_BYTES`] for
/// users, and a method the server does not have still answers UNIMPLEMENTED.
#[derive(Clone, Copy, Debug)]
pub struct ServiceOnly(pub &'static [(&'static str, &'static [&'static str])]);

impl ServiceOnly {
    /// The services that may call `method`, if it is service-only.
    fn callers(&self, method: &str) -> Option<&'static [&'static str]> {
        self.0
            .iter()
            .find(|(rpc, _)| *rpc == method)
            .map(|(_, callers)| *callers)
    }

    /// The check a handler of service-only `rpc` repeats: PERMISSION_DENIED unless one of the
    /// services this table names for `rpc` calls (every caller, if the table lacks `rpc`).
    pub fn require<T>(&self, request: &tonic::Request<T>, rpc: &str) -> Result<(), tonic::Status> {
        crate::identity::require_service(request, rpc, self.callers(rpc).unwrap_or_default())
    }

    /// Whether `identity` may call `method`: every caller may call what is not service-only.
    fn admits(&self, identity: &Identity, method: &str) -> Result<(), tonic::Status> {
        match self.callers(method) {
            Some(callers) => crate::identity::admit(identity, method, callers),
            None => Ok(()),
        }
    }

    /// For an RPC open to users and, as a table of [`ByCaller::shared_with`], to the services
    /// it names: a user passes (the handler checks their account and role), a service only
    /// if named.
    pub fn require_if_service<T>(
        &self,
        request: &tonic::Request<T>,
        rpc: &str,
    ) -> Result<(), tonic::Status> {
        match Identity::of(request)? {
            Identity::User { .. } => Ok(()),
            Identity::Service { .. } => self.require(request, rpc),
        }
    }
}

/// Which services may call the RPCs that users call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shared {
    /// Every service (stand-ins in tests).
    Any,
    /// Only those a table names for the RPC; an RPC it lacks is for users alone.
    Named(ServiceOnly),
}

impl Shared {
    fn admits(&self, identity: &Identity, method: &str) -> Result<(), tonic::Status> {
        match (self, identity) {
            (_, Identity::User { .. }) | (Shared::Any, _) => Ok(()),
            (Shared::Named(table), Identity::Service { name }) => match table.callers(method) {
                Some(callers) => crate::identity::admit(identity, method, callers),
                None => Err(tonic::Status::permission_denied(format!(
                    "{method} is for users; no Tandem service calls it, not even {name}"
                ))),
            },
        }
    }
}

/// One generated tonic server twice, for users and for services, behind the token check.
/// Build it with [`crate::server::Authenticate::by_caller`].
#[derive(Clone)]
pub struct ByCaller<U, S> {
    pub(crate) verifier: Verifier,
    pub(crate) users: U,
    pub(crate) services: S,
    pub(crate) service_only: ServiceOnly,
    pub(crate) shared: Shared,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) timeout: Duration,
}

impl<U, S> ByCaller<U, S> {
    /// The services that may call RPCs open to users too, per RPC (e.g. the orchestrator's
    /// `GetIntegration`); without it, no service calls any of them.
    pub fn shared_with(mut self, table: ServiceOnly) -> Self {
        self.shared = Shared::Named(table);
        self
    }
}

impl<U: NamedService, S> NamedService for ByCaller<U, S> {
    const NAME: &'static str = U::NAME;
}

/// The RPC's method name: the last segment of `/tandem.v1.RunHistory/AppendEvents`.
fn method(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

impl<U, S> Service<http::Request<Body>> for ByCaller<U, S>
where
    U: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    U::Future: Send + 'static,
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    // Generated tonic servers are always ready; each call goes to a clone of one of them.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let verifier = self.verifier.clone();
        let service_only = self.service_only;
        let shared = self.shared;
        let slots = self.slots.clone();
        let timeout = self.timeout;
        let mut users = self.users.clone();
        let mut services = self.services.clone();
        Box::pin(async move {
            let header = request.headers().get("authorization").map(|v| v.as_bytes());
            let identity = match crate::server::identify(&verifier, header).await {
                Ok(identity) => identity,
                Err(status) => return Ok(status.into_http()),
            };
            let method = method(request.uri().path()).to_owned();
            let method = method.as_str();
            let admitted = if service_only.callers(method).is_some() {
                service_only.admits(&identity, method)
            } else {
                shared.admits(&identity, method)
            };
            if let Err(status) = admitted {
                return Ok(status.into_http());
            }
            let is_service = identity.is_service();
            request.extensions_mut().insert(identity);
            // Held until the answer's head is sent (a stream goes on without it).
            let Ok(_slot) = slots.acquire_owned().await else {
                return Ok(tonic::Status::unavailable("the server is stopping").into_http());
            };
            let answer = async {
                if is_service {
                    services.call(request).await
                } else {
                    users.call(request).await
                }
            };
            match tokio::time::timeout(timeout, answer).await {
                Ok(answered) => answered,
                Err(_) => Ok(tonic::Status::deadline_exceeded(format!(
                    "{method} was not answered within {} s",
                    timeout.as_secs()
                ))
                .into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_is_the_last_path_segment() {
        assert_eq!(method("/tandem.v1.RunHistory/AppendEvents"), "AppendEvents");
        assert_eq!(method(""), "");
    }

    #[test]
    fn a_service_only_rpc_admits_only_the_services_it_names() {
        let table = ServiceOnly(&[("AppendEvents", &["sync-orchestrator"])]);
        let service = |name: &str| Identity::Service { name: name.into() };
        assert!(
            table
                .admits(&service("sync-orchestrator"), "AppendEvents")
                .is_ok()
        );
        assert!(
            table
                .admits(&service("connector-monday"), "ListRuns")
                .is_ok()
        );
        let refused = table
            .admits(&service("connector-monday"), "AppendEvents")
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        assert!(
            refused.message().contains("AppendEvents"),
            "{}",
            refused.message()
        );
        assert!(
            refused.message().contains("connector-monday"),
            "{}",
            refused.message()
        );
        let user = Identity::User {
            account: "acme".into(),
            email: "ada@acme.test".into(),
        };
        let shared = Shared::Named(ServiceOnly(&[("ListRuns", &["sync-orchestrator"])]));
        assert!(
            shared
                .admits(&service("sync-orchestrator"), "ListRuns")
                .is_ok()
        );
        assert!(shared.admits(&user, "ListRuns").is_ok());
        assert!(shared.admits(&user, "GetRun").is_ok());
        let refused = shared
            .admits(&service("connector-monday"), "ListRuns")
            .unwrap_err();
        assert!(
            refused.message().contains("connector-monday"),
            "{}",
            refused.message()
        );
        let refused = shared
            .admits(&service("sync-orchestrator"), "GetRun")
            .unwrap_err();
        assert!(
            refused.message().contains("GetRun is for users"),
            "{}",
            refused.message()
        );
        assert!(Shared::Any.admits(&service("x"), "GetRun").is_ok());
        let refused = table.admits(&user, "AppendEvents").unwrap_err();
        assert!(
            refused.message().contains("not users"),
            "{}",
            refused.message()
        );
    }
}
