//! Who may send how much: the caller is identified from the request headers, before a byte of
//! the body is read, so a user's oversized message is refused without being decoded.
//!
//! Users get a server with [`USER_MESSAGE_BYTES`] as its decoding limit; Tandem services one
//! with [`crate::MAX_MESSAGE_BYTES`] (a poll or an import answer can be tens of MiB). RPCs
//! named service-only refuse users with PERMISSION_DENIED before their body is read.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;

use crate::identity::TokenSigner;

/// The largest message a user may send to any service: user-facing RPCs carry ids, filters
/// and settings, never bulk data.
pub const USER_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The RPCs of a server (by method name, e.g. `AppendEvents`) that refuse users before their
/// body is read. An RPC left out is still bounded by [`USER_MESSAGE_BYTES`] for users, and a
/// method the server does not have still answers UNIMPLEMENTED.
#[derive(Clone, Copy, Debug)]
pub struct ServiceOnly(pub &'static [&'static str]);

impl ServiceOnly {
    fn covers(&self, method: &str) -> bool {
        self.0.contains(&method)
    }
}

/// One generated tonic server twice, for users and for services, behind the token check.
/// Build it with [`crate::server::Authenticate::by_caller`].
#[derive(Clone)]
pub struct ByCaller<U, S> {
    pub(crate) signer: TokenSigner,
    pub(crate) users: U,
    pub(crate) services: S,
    pub(crate) service_only: ServiceOnly,
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
        let header = request.headers().get("authorization").map(|v| v.as_bytes());
        let identity = match crate::server::identify(&self.signer, header) {
            Ok(identity) => identity,
            Err(status) => return Box::pin(async move { Ok(status.into_http()) }),
        };
        let rpc = method(request.uri().path());
        if !identity.is_service() && self.service_only.covers(rpc) {
            let status = crate::identity::not_for_users(rpc);
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let is_service = identity.is_service();
        request.extensions_mut().insert(identity);
        if is_service {
            let mut services = self.services.clone();
            Box::pin(async move { services.call(request).await })
        } else {
            let mut users = self.users.clone();
            Box::pin(async move { users.call(request).await })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_is_the_last_path_segment() {
        assert_eq!(method("/tandem.v1.RunHistory/AppendEvents"), "AppendEvents");
        assert_eq!(method(""), "");
        let some = ServiceOnly(&["StartRun", "AppendEvents"]);
        assert!(some.covers("AppendEvents"));
        assert!(!some.covers("ListRuns"));
    }
}
