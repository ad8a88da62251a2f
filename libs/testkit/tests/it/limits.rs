//! A server answers at most `max_concurrent_requests` at once (the rest wait for a slot) and
//! answers DEADLINE_EXCEEDED past `request_timeout`; health stays outside both.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::run_history_server::{RunHistory, RunHistoryServer};
use tandem_service::server::{Authenticate, GrpcServer, Limits, ServiceOnly};
use tandem_testkit::{Running, any_port, authorized, start, user_bearer};
use tokio::sync::Notify;
use tonic::{Code, Request, Response, Status};

/// ListRuns waits until released (or forever), counting how many wait at once.
#[derive(Clone, Default)]
struct Slow {
    inside: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    release: Arc<Notify>,
}

#[tonic::async_trait]
impl RunHistory for Slow {
    async fn list_runs(
        &self,
        _: Request<pb::ListRunsRequest>,
    ) -> Result<Response<pb::ListRunsResponse>, Status> {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        let _leaving = Leaving(self.inside.clone());
        self.release.notified().await;
        Ok(Response::new(pb::ListRunsResponse::default()))
    }
}

/// Counts a handler out when it returns or is dropped.
struct Leaving(Arc<AtomicUsize>);

impl Drop for Leaving {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(slow: Slow, limits: Limits) -> Running {
    let auth = tandem_testkit::auth();
    let server = RunHistoryServer::new(slow);
    let routes = tonic::service::Routes::new(
        Authenticate::new(auth.verifier.clone())
            .with_limits(limits)
            .by_caller(server.clone(), server, ServiceOnly(&[])),
    );
    start(GrpcServer {
        name: "slow",
        tls: None,
        listener: tokio::net::TcpListener::bind(any_port()).await.unwrap(),
        routes,
        health_names: vec!["tandem.v1.RunHistory"],
        background: vec![],
    })
}

fn list() -> Request<pb::ListRunsRequest> {
    authorized(
        pb::ListRunsRequest::default(),
        &user_bearer("ada@acme.test"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_past_the_timeout_is_answered_deadline_exceeded() {
    tandem_testkit::install_crypto();
    let slow = Slow::default();
    let running = serve(
        slow.clone(),
        Limits {
            max_concurrent_requests: 8,
            request_timeout: Duration::from_millis(300),
        },
    )
    .await;
    let mut client = RunHistoryClient::new(running.channel().await);
    let started = Instant::now();
    let status = client.list_runs(list()).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("ListRuns"),
        "{}",
        status.message()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The abandoned handler is dropped, not left running.
    let deadline = Instant::now() + Duration::from_secs(5);
    while slow.inside.load(Ordering::SeqCst) > 0 {
        assert!(Instant::now() < deadline, "the handler still runs");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_more_requests_than_the_limit_run_at_once_and_health_still_answers() {
    tandem_testkit::install_crypto();
    let slow = Slow::default();
    let running = serve(
        slow.clone(),
        Limits {
            max_concurrent_requests: 2,
            request_timeout: Duration::from_secs(60),
        },
    )
    .await;
    let channel = running.channel().await;
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let mut client = RunHistoryClient::new(channel.clone());
            tokio::spawn(async move { client.list_runs(list()).await })
        })
        .collect();
    // Two get in; the third would be inside within this second if nothing held it back.
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline && slow.inside.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(slow.inside.load(Ordering::SeqCst), 2);
    // A probe is not a request of the service's own: it is answered meanwhile.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(serving.status, 1, "SERVING");
    // Released one at a time, all three are answered, never more than two at once.
    let deadline = Instant::now() + Duration::from_secs(10);
    while calls.iter().any(|c| !c.is_finished()) {
        assert!(
            Instant::now() < deadline,
            "the calls were never all answered"
        );
        slow.release.notify_one();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(slow.most.load(Ordering::SeqCst), 2);
}
