//! gRPC errors as the Pub/Sub API sends them: a status, a message ending in `rpcId: …`, and
//! the `error-code` and `rpc-id` trailers.

use tonic::{Code, Status, metadata::MetadataMap};

pub const AUTH: &str = "sfdc.platform.eventbus.grpc.service.auth.error";
pub const TOPIC_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.topic.not.found";
pub const TOPIC_MISMATCH: &str = "sfdc.platform.eventbus.grpc.subscription.topic.mismatch";
pub const REPLAY_CORRUPTED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
pub const LIMIT_EXCEEDED: &str = "sfdc.platform.eventbus.grpc.subscription.limit.exceeded";
pub const SCHEMA_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.schema.not.found";
pub const PUBLISH_DENIED: &str = "sfdc.platform.eventbus.grpc.publish.permission.denied";
pub const UNAVAILABLE: &str = "sfdc.platform.eventbus.grpc.service.unavailable";
pub const UNSUPPORTED: &str = "sfdc.platform.eventbus.grpc.service.unsupported";

pub fn rpc_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A Salesforce-shaped error status.
pub fn status(code: Code, error_code: &str, message: &str) -> Status {
    let rpc_id = rpc_id();
    let mut meta = MetadataMap::new();
    if let Ok(v) = error_code.parse() {
        meta.insert("error-code", v);
    }
    if let Ok(v) = rpc_id.parse() {
        meta.insert("rpc-id", v);
    }
    Status::with_metadata(code, format!("{message} rpcId: {rpc_id}"), meta)
}

pub fn unauthenticated() -> Status {
    status(
        Code::Unauthenticated,
        AUTH,
        "An error occurred while authenticating the request. Ensure that the accesstoken, instanceurl and tenantid headers are set, that the access token is valid and that the tenant ID is the org ID of the instance URL's org.",
    )
}

pub fn topic_not_found(topic: &str) -> Status {
    status(
        Code::NotFound,
        TOPIC_NOT_FOUND,
        &format!(
            "The topic {topic} was not found. Check the topic name (case-sensitive): /data/<Object>ChangeEvent, /data/ChangeEvents or /event/<Name>__e."
        ),
    )
}

pub fn replay_invalid() -> Status {
    status(
        Code::InvalidArgument,
        REPLAY_CORRUPTED,
        "The Replay ID validation failed. Ensure that the replay_id field value in FetchRequest is valid and refers to an event that is within the retention window.",
    )
}

pub fn limit_exceeded() -> Status {
    status(
        Code::ResourceExhausted,
        LIMIT_EXCEEDED,
        "The event delivery allocation of the org for the last 24 hours is used up. Try again later.",
    )
}

pub fn unavailable() -> Status {
    status(
        Code::Unavailable,
        UNAVAILABLE,
        "The service is unavailable. Try again later.",
    )
}
