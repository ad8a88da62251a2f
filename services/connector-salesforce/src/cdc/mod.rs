//! Change Data Capture: `StreamChanges` subscribes to an object's change events over
//! Salesforce's Pub/Sub API (a client generated from the vendored `proto/pubsub_api.proto`) and
//! streams them, decoded, to the caller (the orchestrator, which keeps the replay position and
//! hands the changes over). Auth is the connection's access token with the org's instance URL
//! and Id as `accesstoken`/`instanceurl`/`tenantid` metadata; an UNAUTHENTICATED answer
//! refreshes the token once. Flow control is Salesforce's: a first request with the topic and
//! replay, then more `num_requested` as events arrive (never over 100 outstanding). Schemas
//! come from `GetSchema`, cached by schema id. The subscription ends when the caller goes away.

mod decode;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tandem_proto::v1::{ChangeEventBatch, GetOrganizationRequest, StreamChangesRequest};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status, Streaming};

use crate::api::Api;
use crate::credentials::{Credential, connection_id};
use crate::error::{Error, StreamFailure};
use crate::hosts;

/// The generated `eventbus.v1` client and messages.
#[allow(clippy::all)]
pub mod proto {
    tonic::include_proto!("eventbus.v1");
}

use proto::pub_sub_client::PubSubClient;
use proto::{FetchRequest, FetchResponse, ReplayPreset, SchemaRequest};

/// Events asked for at a time (Salesforce's cap on outstanding requested events).
const BATCH: i32 = 100;

/// What `StreamChanges` answers with.
pub type ChangeStream = ReceiverStream<Result<ChangeEventBatch, Status>>;

/// The Pub/Sub API endpoint and the schemas read from it.
pub struct Subscriber {
    channel: Channel,
    schemas: Mutex<HashMap<String, Arc<apache_avro::Schema>>>,
}

impl Subscriber {
    /// A subscriber of `url` (`https://api.pubsub.salesforce.com:7443`, or the simulator's
    /// `http://…`); connects on first use.
    pub fn new(url: &str) -> Result<Self, Error> {
        let bad = |e: tonic::transport::Error| {
            Error::Config(format!("TANDEM_SALESFORCE_PUBSUB_URL `{url}`: {e}"))
        };
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(bad)?
            .http2_keep_alive_interval(std::time::Duration::from_secs(60))
            .keep_alive_while_idle(true);
        if url.starts_with("https://") {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_webpki_roots())
                .map_err(bad)?;
        }
        Ok(Self {
            channel: endpoint.connect_lazy(),
            schemas: Mutex::default(),
        })
    }

    fn client(&self) -> PubSubClient<Channel> {
        PubSubClient::new(self.channel.clone())
            .max_decoding_message_size(tandem_service::MAX_MESSAGE_BYTES)
    }

    /// The schema of `id`, from the cache or `GetSchema`.
    async fn schema(&self, auth: &Auth, id: &str) -> Result<Arc<apache_avro::Schema>, Status> {
        if let Some(s) = self.cached(id) {
            return Ok(s);
        }
        let info = self
            .client()
            .get_schema(auth.request(SchemaRequest {
                schema_id: id.to_owned(),
            })?)
            .await?
            .into_inner();
        let schema = apache_avro::Schema::parse_str(&info.schema_json).map_err(|e| {
            Status::internal(format!(
                "the schema {id} from GetSchema does not parse: {e}"
            ))
        })?;
        let schema = Arc::new(schema);
        self.schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), schema.clone());
        Ok(schema)
    }

    fn cached(&self, id: &str) -> Option<Arc<apache_avro::Schema>> {
        self.schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }
}

/// The three auth headers of every Pub/Sub call. No `Debug`: it holds a token.
struct Auth {
    token: String,
    instance_url: String,
    org_id: String,
}

impl Auth {
    fn request<T>(&self, message: T) -> Result<tonic::Request<T>, Status> {
        let mut r = tonic::Request::new(message);
        let m = r.metadata_mut();
        let value = |v: &str, what: &str| {
            v.parse()
                .map_err(|_| Status::internal(format!("the {what} is not valid gRPC metadata")))
        };
        m.insert("accesstoken", value(&self.token, "access token")?);
        m.insert("instanceurl", value(&self.instance_url, "instance url")?);
        m.insert("tenantid", value(&self.org_id, "org id")?);
        Ok(r)
    }
}

/// `Account` → `/data/AccountChangeEvent`; `Project__c` → `/data/Project__ChangeEvent`.
pub fn topic_of(object: &str) -> String {
    match object.strip_suffix("__c") {
        Some(base) => format!("/data/{base}__ChangeEvent"),
        None => format!("/data/{object}ChangeEvent"),
    }
}

fn object_name(raw: &str) -> Result<String, Error> {
    let o = raw.trim();
    if o.is_empty() {
        return Err(Error::invalid("object", "is required"));
    }
    let valid = o.len() <= 80
        && o.starts_with(|c: char| c.is_ascii_alphabetic())
        && o.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(Error::invalid(
            "object",
            format!("`{o}` is not a Salesforce object API name"),
        ));
    }
    Ok(o.to_owned())
}

/// A Pub/Sub status as the connector's error (the token never appears in it).
fn failure(topic: &str, status: &Status) -> Error {
    let error_code = status
        .metadata()
        .get("error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let failure = match status.code() {
        _ if error_code.ends_with("replayid.corrupted") => StreamFailure::ReplayGone,
        Code::NotFound => StreamFailure::NoTopic,
        Code::ResourceExhausted => StreamFailure::AllocationSpent,
        _ => StreamFailure::Dropped,
    };
    Error::ChangeEvents {
        topic: topic.to_owned(),
        failure,
        message: format!("{:?}: {}", status.code(), status.message()),
    }
}

/// Opens the subscription described by `r` and streams its events until the caller goes away
/// or Salesforce ends it (the stream's last item is then the error).
pub async fn stream(
    api: &Arc<Api>,
    subscriber: &Arc<Subscriber>,
    r: StreamChangesRequest,
) -> Result<ChangeStream, Error> {
    let connection = connection_id(&r.connection_id)?.to_owned();
    let object = object_name(&r.object)?;
    if r.replay_id.len() > 64 {
        return Err(Error::invalid("replay_id", "is longer than 64 bytes"));
    }
    let topic = topic_of(&object);
    let org = api
        .organization(GetOrganizationRequest {
            connection_id: connection.clone(),
        })
        .await?;
    let first = FetchRequest {
        topic_name: topic.clone(),
        replay_preset: if r.replay_id.is_empty() {
            ReplayPreset::Latest
        } else {
            ReplayPreset::Custom
        } as i32,
        replay_id: r.replay_id,
        num_requested: BATCH,
        ..Default::default()
    };
    let credential = api.credentials.get(&connection).await?;
    let auth = |c: &Credential| Auth {
        token: c.access_token.clone(),
        instance_url: hosts::instance_base(api.instance_override.as_deref(), &c.instance_url),
        org_id: org.id.clone(),
    };
    let mut current = auth(&credential);
    let opened = match open(subscriber, &current, first.clone()).await {
        Err(status) if status.code() == Code::Unauthenticated => {
            let fresh = api.credentials.refresh(&connection, &credential).await?;
            current = auth(&fresh);
            open(subscriber, &current, first).await
        }
        other => other,
    };
    let (inbound, more) = match opened {
        Ok(o) => o,
        Err(status) if status.code() == Code::Unauthenticated => {
            api.credentials.forget(&connection);
            return Err(Error::NeedsReauthentication {
                connection_id: connection,
                detail: "the Pub/Sub API refused the access token".to_owned(),
            });
        }
        Err(status) => return Err(failure(&topic, &status)),
    };
    tracing::info!(connection_id = %connection, %topic, "salesforce change event stream opened");
    let (tx, rx) = mpsc::channel(4);
    let pump = Pump {
        subscriber: subscriber.clone(),
        auth: current,
        topic,
        more,
        out: tx,
    };
    tokio::spawn(pump.run(inbound));
    Ok(ReceiverStream::new(rx))
}

/// Subscribe with `first` as its first request: the response stream and where to send more.
async fn open(
    subscriber: &Subscriber,
    auth: &Auth,
    first: FetchRequest,
) -> Result<(Streaming<FetchResponse>, mpsc::Sender<FetchRequest>), Status> {
    let (more, requests) = mpsc::channel(4);
    more.send(first)
        .await
        .map_err(|_| Status::internal("request channel closed"))?;
    let inbound = subscriber
        .client()
        .subscribe(auth.request(ReceiverStream::new(requests))?)
        .await?
        .into_inner();
    Ok((inbound, more))
}

/// Moves one subscription's batches to the caller, asking for more as they arrive.
struct Pump {
    subscriber: Arc<Subscriber>,
    auth: Auth,
    topic: String,
    more: mpsc::Sender<FetchRequest>,
    out: mpsc::Sender<Result<ChangeEventBatch, Status>>,
}

impl Pump {
    async fn run(self, mut inbound: Streaming<FetchResponse>) {
        loop {
            let message = tokio::select! {
                // The caller went away: dropping `inbound` and `more` ends the subscription.
                _ = self.out.closed() => return,
                m = inbound.message() => m,
            };
            let result = match message {
                Ok(Some(response)) => self.batch(response).await,
                Ok(None) => Err(Error::ChangeEvents {
                    topic: self.topic.clone(),
                    failure: StreamFailure::Dropped,
                    message: "Salesforce ended the stream".to_owned(),
                }),
                Err(status) => Err(failure(&self.topic, &status)),
            };
            match result {
                Ok(batch) => {
                    if self.out.send(Ok(batch)).await.is_err() {
                        return;
                    }
                }
                Err(error) => {
                    tracing::info!(topic = %self.topic, %error, "salesforce change event stream ended");
                    let _ = self.out.send(Err(error.into())).await;
                    return;
                }
            }
        }
    }

    async fn batch(&self, response: FetchResponse) -> Result<ChangeEventBatch, Error> {
        let mut events = Vec::with_capacity(response.events.len());
        for consumer in response.events {
            let Some(event) = consumer.event else {
                continue;
            };
            let schema = self
                .subscriber
                .schema(&self.auth, &event.schema_id)
                .await
                .map_err(|status| failure(&self.topic, &status))?;
            events.push(decode::event(&schema, &event.payload, consumer.replay_id)?);
        }
        // Keep BATCH requested: ask again once half of it was delivered.
        let pending = response.pending_num_requested;
        if pending <= BATCH / 2 {
            let _ = self
                .more
                .send(FetchRequest {
                    num_requested: BATCH - pending.max(0),
                    ..Default::default()
                })
                .await;
        }
        Ok(ChangeEventBatch {
            events,
            latest_replay_id: response.latest_replay_id,
            org_id: self.auth.org_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_topic_of_standard_and_custom_objects() {
        assert_eq!(topic_of("Account"), "/data/AccountChangeEvent");
        assert_eq!(topic_of("Project__c"), "/data/Project__ChangeEvent");
    }

    #[test]
    fn refuses_what_is_not_an_object_name() {
        for bad in ["", "  ", "Acc ount", "/data/X", "1Account", "Account;DROP"] {
            assert!(object_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(object_name(" Project__c ").unwrap(), "Project__c");
    }
}
