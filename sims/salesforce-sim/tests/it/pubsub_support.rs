//! A Pub/Sub API client for the tests: the generated `eventbus.v1` client with the three
//! auth headers, a subscription helper, and decoding of change events with GetSchema.

use apache_avro::types::Value as Avro;
use salesforce_sim::pubsub::proto::{
    self, FetchRequest, FetchResponse, pub_sub_client::PubSubClient,
};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Request, Status, Streaming};

use crate::support::TestSim;

pub struct Bus {
    pub handle: salesforce_sim::SimHandle,
    pub client: PubSubClient<Channel>,
    pub token: String,
    pub org_id: String,
    pub instance_url: String,
}

pub async fn connect(sim: &TestSim) -> Bus {
    let addr = sim.handle.pubsub_addr().expect("pub/sub api served");
    let client = PubSubClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    Bus {
        handle: sim.handle.clone(),
        client,
        token: sim.token.clone(),
        org_id: sim.handle.org_id("demo"),
        instance_url: sim.base_url.clone(),
    }
}

pub fn fetch(topic: &str, preset: proto::ReplayPreset, n: i32) -> FetchRequest {
    FetchRequest {
        topic_name: topic.into(),
        replay_preset: preset as i32,
        num_requested: n,
        ..Default::default()
    }
}

pub fn more(n: i32) -> FetchRequest {
    FetchRequest {
        num_requested: n,
        ..Default::default()
    }
}

/// An open Subscribe stream: send more requests, read responses.
pub struct Sub {
    pub tx: mpsc::Sender<FetchRequest>,
    pub rx: Streaming<FetchResponse>,
}

impl Sub {
    /// The next response within 10 s.
    pub async fn next(&mut self) -> Result<FetchResponse, Status> {
        match tokio::time::timeout(Duration::from_secs(10), self.rx.message()).await {
            Ok(Ok(Some(r))) => Ok(r),
            Ok(Ok(None)) => panic!("stream ended"),
            Ok(Err(st)) => Err(st),
            Err(_) => panic!("no response within 10 s"),
        }
    }

    /// Reads responses until `n` events arrived (10 s deadline).
    pub async fn events(&mut self, n: usize) -> Vec<proto::ConsumerEvent> {
        let mut out = Vec::new();
        while out.len() < n {
            let r = self.next().await.expect("a batch");
            out.extend(r.events);
        }
        out
    }

    /// True when no event arrives within `d`.
    pub async fn quiet_for(&mut self, d: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.message()).await {
                Err(_) => return true,
                Ok(Ok(Some(r))) if r.events.is_empty() => continue,
                Ok(_) => return false,
            }
        }
    }

    pub async fn request(&self, n: i32) {
        self.tx.send(more(n)).await.expect("send");
    }
}

impl Bus {
    pub fn req<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        let m = r.metadata_mut();
        m.insert("accesstoken", self.token.parse().expect("token"));
        m.insert("instanceurl", self.instance_url.parse().expect("url"));
        m.insert("tenantid", self.org_id.parse().expect("tenant"));
        r
    }

    pub async fn subscribe(&mut self, first: FetchRequest) -> Result<Sub, Status> {
        let (tx, rx) = mpsc::channel(16);
        tx.send(first).await.expect("send");
        let stream = self.req(ReceiverStream::new(rx));
        let rx = self.client.subscribe(stream).await?.into_inner();
        Ok(Sub { tx, rx })
    }

    /// Subscribes and waits (10 s deadline) until the simulator has taken the first request,
    /// so that a write made next is after the subscription's start.
    pub async fn live(&mut self, first: FetchRequest) -> Sub {
        let before = self.handle.live_subscriptions();
        let sub = self.subscribe(first).await.expect("subscribe");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.handle.live_subscriptions() <= before {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the subscription did not start"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sub
    }

    pub async fn schema(&mut self, id: &str) -> apache_avro::Schema {
        let info = self
            .client
            .get_schema(self.req(proto::SchemaRequest {
                schema_id: id.into(),
            }))
            .await
            .expect("schema")
            .into_inner();
        apache_avro::Schema::parse_str(&info.schema_json).expect("schema parses")
    }

    /// The event decoded with its schema from GetSchema: `(field name, value)` pairs.
    pub async fn decode(&mut self, e: &proto::ConsumerEvent) -> Decoded {
        let ev = e.event.as_ref().expect("event");
        let schema = self.schema(&ev.schema_id).await;
        let value = apache_avro::from_avro_datum(&schema, &mut &ev.payload[..], None)
            .expect("payload decodes");
        let Avro::Record(fields) = value else {
            panic!("not a record")
        };
        Decoded { fields }
    }
}

pub struct Decoded {
    pub fields: Vec<(String, Avro)>,
}

fn unwrap(v: &Avro) -> &Avro {
    match v {
        Avro::Union(_, inner) => inner,
        other => other,
    }
}

impl Decoded {
    pub fn header(&self, name: &str) -> &Avro {
        let Avro::Record(h) = &self.fields[0].1 else {
            panic!("no header")
        };
        &h.iter().find(|(k, _)| k == name).expect(name).1
    }

    pub fn header_str(&self, name: &str) -> String {
        match self.header(name) {
            Avro::String(s) | Avro::Enum(_, s) => s.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    pub fn header_list(&self, name: &str) -> Vec<String> {
        match self.header(name) {
            Avro::Array(a) => a
                .iter()
                .map(|v| match v {
                    Avro::String(s) => s.clone(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{name}: {other:?}"),
        }
    }

    pub fn field(&self, name: &str) -> &Avro {
        unwrap(&self.fields.iter().find(|(k, _)| k == name).expect(name).1)
    }

    /// Field names a bitmap list names (`Name.FirstName` for compound members).
    pub fn names_in(&self, list: &str) -> Vec<String> {
        let mut out = Vec::new();
        for bitmap in self.header_list(list) {
            let (parent, hex) = match bitmap.split_once('-') {
                Some((p, h)) => (Some(p.parse::<usize>().expect("position")), h.to_string()),
                None => (None, bitmap.clone()),
            };
            let bits = salesforce_sim::pubsub::bitmap::positions(&hex).expect("bitmap");
            match parent {
                None => out.extend(bits.iter().map(|&b| self.fields[b].0.clone())),
                Some(p) => {
                    let (pname, pval) = &self.fields[p];
                    let Avro::Record(members) = unwrap(pval) else {
                        panic!("{pname} is not a compound value")
                    };
                    out.extend(bits.iter().map(|&b| format!("{pname}.{}", members[b].0)));
                }
            }
        }
        out
    }
}

/// `FetchRequest` with `CUSTOM` replay.
pub struct FetchRequestExt;

impl FetchRequestExt {
    pub fn custom(topic: &str, replay_id: Vec<u8>, n: i32) -> FetchRequest {
        FetchRequest {
            topic_name: topic.into(),
            replay_preset: proto::ReplayPreset::Custom as i32,
            replay_id,
            num_requested: n,
            ..Default::default()
        }
    }
}
