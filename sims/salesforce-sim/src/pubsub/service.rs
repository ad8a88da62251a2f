//! The `eventbus.v1.PubSub` service: authentication by the `accesstoken`, `instanceurl` and
//! `tenantid` metadata, GetTopic, GetSchema, Publish, PublishStream; Subscribe runs in
//! `stream.rs`. ManagedSubscribe (beta) answers UNIMPLEMENTED.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Response, Status, Streaming};

use super::errors::{self, rpc_id, status};
use super::events::StoredEvent;
use super::proto::{self, pub_sub_server::PubSub};
use super::topics::Topic;
use super::{stream, stream::replay_id};
use crate::Shared;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub org: String,
    pub org_id: String,
}

pub struct PubSubService {
    shared: Arc<Shared>,
}

impl PubSubService {
    pub fn new(shared: Arc<Shared>) -> Self {
        PubSubService { shared }
    }

    fn authenticate(&self, meta: &MetadataMap) -> Result<Caller, Status> {
        let get = |k: &str| meta.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
        let (Some(token), Some(instance), Some(tenant)) =
            (get("accesstoken"), get("instanceurl"), get("tenantid"))
        else {
            return Err(errors::unauthenticated());
        };
        let grant = {
            let state = self.shared.state();
            state.access.get(token).cloned()
        };
        let grant = grant
            .filter(|g| g.expires_at > Instant::now())
            .ok_or_else(errors::unauthenticated)?;
        let host = url::Url::parse(instance)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .ok_or_else(errors::unauthenticated)?;
        if crate::http::org_from_host(&host).is_some_and(|o| o != grant.org) {
            return Err(errors::unauthenticated());
        }
        let org_id = self.shared.with_org(&grant.org, |o, _| o.org_id.clone());
        if !(tenant == org_id || (tenant.len() == 15 && org_id.starts_with(tenant))) {
            return Err(errors::unauthenticated());
        }
        Ok(Caller {
            org: grant.org,
            org_id,
        })
    }

    fn topic(&self, name: &str) -> Result<Topic, Status> {
        let topic =
            Topic::parse(&self.shared.schema, name).ok_or_else(|| errors::topic_not_found(name))?;
        if let Topic::Platform(n) = &topic
            && self.shared.bus.platform.get(n).is_none()
        {
            return Err(errors::topic_not_found(name));
        }
        Ok(topic)
    }
}

/// Publishes one batch on a platform event topic.
fn publish_batch(
    shared: &Shared,
    caller: &Caller,
    topic_name: &str,
    topic: &Topic,
    events: Vec<proto::ProducerEvent>,
) -> Result<proto::PublishResponse, Status> {
    let Topic::Platform(name) = topic else {
        return Err(status(
            Code::PermissionDenied,
            errors::PUBLISH_DENIED,
            &format!(
                "Publishing to {topic_name} is not allowed: change events are published by Salesforce only."
            ),
        ));
    };
    let def = shared
        .bus
        .platform
        .get(name)
        .ok_or_else(|| errors::topic_not_found(topic_name))?;
    let now = shared.bus.now();
    let results = shared.with_org(&caller.org, |org, _| {
        events
            .into_iter()
            .map(|ev| {
                let fail = |msg: String| proto::PublishResult {
                    replay_id: vec![],
                    error: Some(proto::Error {
                        code: proto::ErrorCode::Publish as i32,
                        msg,
                    }),
                    correlation_key: ev.id.clone(),
                };
                if ev.schema_id != def.id {
                    return fail(format!(
                        "The schema ID {} is not the current schema of {topic_name} ({}).",
                        ev.schema_id, def.id
                    ));
                }
                if let Err(e) = super::avro::decode(&def.avro, &ev.payload) {
                    return fail(format!("The payload does not match the schema: {e}"));
                }
                let position = org.cdc.next_position();
                let id = if ev.id.is_empty() {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    ev.id.clone()
                };
                org.cdc.log.push_back(StoredEvent {
                    position,
                    topic: topic_name.to_string(),
                    change_event: false,
                    id: id.clone(),
                    schema_id: def.id.clone(),
                    payload: ev.payload,
                    at: now,
                });
                proto::PublishResult {
                    replay_id: replay_id(position),
                    error: None,
                    correlation_key: id,
                }
            })
            .collect::<Vec<_>>()
    });
    shared.bus.wake();
    Ok(proto::PublishResponse {
        results,
        schema_id: def.id.clone(),
        rpc_id: rpc_id(),
    })
}

#[tonic::async_trait]
impl PubSub for PubSubService {
    type SubscribeStream = ReceiverStream<Result<proto::FetchResponse, Status>>;
    type PublishStreamStream = ReceiverStream<Result<proto::PublishResponse, Status>>;
    type ManagedSubscribeStream = ReceiverStream<Result<proto::ManagedFetchResponse, Status>>;

    async fn subscribe(
        &self,
        request: Request<Streaming<proto::FetchRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = self.authenticate(request.metadata())?;
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(stream::run(
            self.shared.clone(),
            caller,
            request.into_inner(),
            tx,
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_schema(
        &self,
        request: Request<proto::SchemaRequest>,
    ) -> Result<Response<proto::SchemaInfo>, Status> {
        self.authenticate(request.metadata())?;
        let id = &request.get_ref().schema_id;
        let s = self.shared.bus.schemas.by_id(id).ok_or_else(|| {
            status(
                Code::NotFound,
                errors::SCHEMA_NOT_FOUND,
                &format!("The schema {id} was not found."),
            )
        })?;
        Ok(Response::new(proto::SchemaInfo {
            schema_json: s.json.clone(),
            schema_id: s.id.clone(),
            rpc_id: rpc_id(),
        }))
    }

    async fn get_topic(
        &self,
        request: Request<proto::TopicRequest>,
    ) -> Result<Response<proto::TopicInfo>, Status> {
        let caller = self.authenticate(request.metadata())?;
        let name = request.get_ref().topic_name.clone();
        let topic = self.topic(&name)?;
        let schema_id = match &topic {
            Topic::AllChanges => String::new(),
            Topic::Object(o) => self
                .shared
                .schema
                .object(o)
                .and_then(|o| self.shared.bus.schemas.current(o))
                .map(|s| s.id.clone())
                .unwrap_or_default(),
            Topic::Platform(n) => self
                .shared
                .bus
                .platform
                .get(n)
                .map(|s| s.id.clone())
                .unwrap_or_default(),
        };
        Ok(Response::new(proto::TopicInfo {
            topic_name: name,
            tenant_guid: caller.org_id,
            can_publish: matches!(topic, Topic::Platform(_)),
            can_subscribe: true,
            schema_id,
            rpc_id: rpc_id(),
        }))
    }

    async fn publish(
        &self,
        request: Request<proto::PublishRequest>,
    ) -> Result<Response<proto::PublishResponse>, Status> {
        let caller = self.authenticate(request.metadata())?;
        let r = request.into_inner();
        let topic = self.topic(&r.topic_name)?;
        publish_batch(&self.shared, &caller, &r.topic_name, &topic, r.events).map(Response::new)
    }

    async fn publish_stream(
        &self,
        request: Request<Streaming<proto::PublishRequest>>,
    ) -> Result<Response<Self::PublishStreamStream>, Status> {
        let caller = self.authenticate(request.metadata())?;
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(8);
        let shared = self.shared.clone();
        let svc = PubSubService::new(shared.clone());
        tokio::spawn(async move {
            let mut first: Option<(String, Topic)> = None;
            while let Ok(Some(r)) = inbound.message().await {
                let answer = match &first {
                    Some((name, _)) if !r.topic_name.is_empty() && r.topic_name != *name => {
                        Err(status(
                            Code::InvalidArgument,
                            errors::TOPIC_MISMATCH,
                            &format!(
                                "The topic {} does not match the stream's topic {name}.",
                                r.topic_name
                            ),
                        ))
                    }
                    Some((name, topic)) => publish_batch(&shared, &caller, name, topic, r.events),
                    None => match svc.topic(&r.topic_name) {
                        Ok(topic) => {
                            let res =
                                publish_batch(&shared, &caller, &r.topic_name, &topic, r.events);
                            first = Some((r.topic_name.clone(), topic));
                            res
                        }
                        Err(e) => Err(e),
                    },
                };
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn managed_subscribe(
        &self,
        request: Request<Streaming<proto::ManagedFetchRequest>>,
    ) -> Result<Response<Self::ManagedSubscribeStream>, Status> {
        self.authenticate(request.metadata())?;
        Err(status(
            Code::Unimplemented,
            errors::UNSUPPORTED,
            "ManagedSubscribe (beta) is not served by the simulator: use Subscribe.",
        ))
    }
}
