//! One error policy for every service's `grpc.rs`: a service's error type says which gRPC code
//! each of its variants is ([`GrpcError`]), so the table lives in one `match`; an INTERNAL
//! error is logged once, where it becomes a status, and reaches the caller without internals;
//! a storage outage is UNAVAILABLE (retryable) with a retry hint; a failed peer call keeps the
//! retryable classes apart and names the peer.

use std::fmt::Display;

use tonic::{Code, Status};

/// An error a service answers callers with.
pub trait GrpcError: Display {
    /// The code a caller branches on: validation INVALID_ARGUMENT, missing NOT_FOUND, not the
    /// owner PERMISSION_DENIED, stale ABORTED, remote rate limit RESOURCE_EXHAUSTED, remote
    /// down UNAVAILABLE; INTERNAL for what the caller cannot act on.
    fn code(&self) -> Code;

    /// What the caller reads when the code is not INTERNAL; the error's `Display` unless a
    /// variant words it for callers.
    fn message(&self) -> String {
        self.to_string()
    }
}

/// The status for `error` from `service`: its code and message; an INTERNAL error is logged
/// here and answered "internal error in <service>".
pub fn status<E: GrpcError + ?Sized>(service: &str, error: &E) -> Status {
    match error.code() {
        Code::Internal => {
            tracing::error!(service, error = %error, "internal error");
            Status::internal(format!("internal error in {service}"))
        }
        code => Status::new(code, error.message()),
    }
}

/// Storage (Postgres, Redis) a request needed is down: logged once here, answered UNAVAILABLE
/// as "<what> is unavailable; retry later", without the error's text.
pub fn unavailable(what: &str, error: impl Display) -> Status {
    tracing::error!(%error, what, "storage error");
    Status::unavailable(format!("{what} is unavailable; retry later"))
}

/// A call to another Tandem service that failed: the retryable classes (unavailable, timed
/// out, cancelled, unknown) become UNAVAILABLE, a rate limit stays RESOURCE_EXHAUSTED, any
/// other code is kept; the message names the peer.
pub fn peer(peer: &str, status: Status) -> Status {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            tracing::warn!(peer, code = ?status.code(), "peer call failed");
            Status::unavailable(format!("{peer} is unavailable: {}", status.message()))
        }
        Code::ResourceExhausted => {
            Status::resource_exhausted(format!("{peer}: remote rate limit: {}", status.message()))
        }
        code => Status::new(code, format!("{peer}: {}", status.message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    enum Sample {
        Bad(&'static str),
        Broken,
        Worded,
    }

    impl Display for Sample {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Sample::Bad(field) => write!(f, "{field} is required"),
                Sample::Broken => f.write_str("pool timed out at 10.0.0.7:5432"),
                Sample::Worded => f.write_str("display"),
            }
        }
    }

    impl GrpcError for Sample {
        fn code(&self) -> Code {
            match self {
                Sample::Bad(_) => Code::InvalidArgument,
                Sample::Broken => Code::Internal,
                Sample::Worded => Code::FailedPrecondition,
            }
        }

        fn message(&self) -> String {
            match self {
                Sample::Worded => "for callers".to_owned(),
                other => other.to_string(),
            }
        }
    }

    #[test]
    fn codes_come_from_the_error_and_internals_stay_inside() {
        let bad = status("svc", &Sample::Bad("board_id"));
        assert_eq!(
            (bad.code(), bad.message()),
            (Code::InvalidArgument, "board_id is required")
        );
        let broken = status("svc", &Sample::Broken);
        assert_eq!(broken.code(), Code::Internal);
        assert_eq!(broken.message(), "internal error in svc");
        assert_eq!(status("svc", &Sample::Worded).message(), "for callers");
        let down = unavailable("run history storage", "connection refused (10.0.0.7)");
        assert_eq!(down.code(), Code::Unavailable);
        assert_eq!(
            down.message(),
            "run history storage is unavailable; retry later"
        );
    }

    #[test]
    fn peer_failures_keep_retryable_classes_apart_and_name_the_peer() {
        let cases = [
            (Code::Unavailable, Code::Unavailable),
            (Code::DeadlineExceeded, Code::Unavailable),
            (Code::Cancelled, Code::Unavailable),
            (Code::Unknown, Code::Unavailable),
            (Code::ResourceExhausted, Code::ResourceExhausted),
            (Code::NotFound, Code::NotFound),
            (Code::PermissionDenied, Code::PermissionDenied),
        ];
        for (from, to) in cases {
            let s = peer("connector-monday", Status::new(from, "why"));
            assert_eq!(s.code(), to, "{from:?}");
            assert!(s.message().starts_with("connector-monday"), "{s:?}");
            assert!(s.message().ends_with("why"), "{s:?}");
        }
    }
}
