//! Retries, token expiry healed by one refresh, and the API budget.

use std::sync::atomic::Ordering;

use tandem_proto::v1::*;
use tonic::Code;

use crate::harness::{CONN, ORG, harness, harness_with, test_options};
use crate::poll::{poll_request, seed_projects};

fn global() -> DescribeGlobalRequest {
    DescribeGlobalRequest {
        connection_id: CONN.into(),
    }
}

#[tokio::test]
async fn a_503_then_success_is_retried_transparently() {
    let mut h = harness().await;
    h.sim.fail_next(1, 503);
    let objects = h
        .client
        .describe_global(h.req(global()))
        .await
        .unwrap()
        .into_inner()
        .objects;
    assert!(!objects.is_empty());
    let statuses: Vec<u16> = h.sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [503, 200]);
}

#[tokio::test]
async fn persistent_5xx_ends_unavailable_after_the_configured_attempts() {
    let mut h = harness().await;
    h.sim.fail_next(10, 500);
    let e = h.client.describe_global(h.req(global())).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert_eq!(h.sim.calls().len(), 4, "retry_attempts defaults to 4");
}

#[tokio::test]
async fn validation_errors_are_never_retried() {
    let mut h = harness().await;
    let e = h
        .client
        .describe_object(h.req(DescribeObjectRequest {
            connection_id: CONN.into(),
            object: "Missing__c".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(h.sim.calls().len(), 1);
}

#[tokio::test]
async fn token_expiry_mid_run_is_healed_by_exactly_one_refresh() {
    let mut h = harness().await;
    seed_projects(&h, 50);
    h.client
        .poll_changes(h.req(poll_request(&["Summary__c"])))
        .await
        .unwrap();
    let old = h.standin.access_token(CONN);
    h.sim.expire_all_tokens();
    // Several RPCs of one run hit the expired session at once.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut client = h.client.clone();
        let request = h.req(poll_request(&["Summary__c", "Budget__c"]));
        tasks.push(tokio::spawn(
            async move { client.poll_changes(request).await },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().into_inner().records.len(), 50);
    }
    assert_eq!(h.standin.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(h.calls("POST", "/services/oauth2/token"), 1);
    assert_ne!(h.standin.access_token(CONN), old);
    // Later calls use the new token without refreshing again.
    h.client
        .poll_changes(h.req(poll_request(&["Summary__c"])))
        .await
        .unwrap();
    assert_eq!(h.standin.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_refresh_says_the_connection_needs_reauthentication() {
    let mut h = harness().await;
    let refresh = h.standin.refresh_token(CONN);
    let revoked = reqwest::Client::new()
        .post(format!("{}/services/oauth2/revoke", h.sim_url))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let e = h.client.describe_global(h.req(global())).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("re-authentication"), "{}", e.message());
    assert!(!e.message().contains(&refresh), "no token in errors");
}

#[tokio::test]
async fn a_second_401_after_the_refresh_is_a_clear_reauthentication_error() {
    let mut h = harness().await;
    h.standin.refresh_to_garbage.store(true, Ordering::SeqCst);
    h.sim.expire_all_tokens();
    let e = h.client.describe_global(h.req(global())).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(
        e.message().contains("needs re-authentication"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("INVALID_SESSION_ID"),
        "{}",
        e.message()
    );
    assert_eq!(
        h.standin.refreshes.load(Ordering::SeqCst),
        1,
        "refreshed once only"
    );
    let statuses: Vec<u16> = h.sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [401, 401], "one retry after the refresh");
}

#[tokio::test]
async fn past_the_budget_share_calls_are_refused_without_reaching_salesforce() {
    let mut h = harness().await;
    h.sim.set_api_usage(ORG, 12_500);
    h.client.describe_global(h.req(global())).await.unwrap();
    let before = h.sim.calls().len();
    let e = h
        .client
        .describe_object(h.req(DescribeObjectRequest {
            connection_id: CONN.into(),
            object: "Account".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(e.message().contains("12501 of 15000"), "{}", e.message());
    assert!(e.message().contains("80%"), "{}", e.message());
    assert_eq!(h.sim.calls().len(), before);
    // Shared through Redis under the deployment prefix.
    let mut redis = redis::Client::open(tandem_testkit::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:salesforce:api-usage:*", h.redis_prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(ttl > 0, "usage keys expire");
}

#[tokio::test]
async fn after_a_spike_the_org_is_used_again_once_the_cached_figure_ages() {
    let clock = connector_salesforce::Clock::default();
    let options = connector_salesforce::Options {
        usage_max_age_seconds: 300,
        clock: clock.clone(),
        ..test_options()
    };
    let mut h = harness_with(options, true).await;
    // One SOQL query per call, never answered from a cache.
    let probe = || FindUsersRequest {
        connection_id: CONN.into(),
        emails: vec!["nobody@acme.test".into()],
    };
    h.sim.set_api_limit(ORG, 1_000);
    h.sim.set_api_usage(ORG, 989);
    // This call goes through and brings back 990/1000: past the 80% share.
    h.client.find_users(h.req(probe())).await.unwrap();
    let e = h.client.find_users(h.req(probe())).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("990 of 1000"), "{}", e.message());

    // The org recovers (the rolling 24 h count drops); a fresh figure still refuses...
    h.sim.set_api_usage(ORG, 100);
    clock.advance(std::time::Duration::from_secs(240));
    let before = h.sim.calls().len();
    let e = h.client.find_users(h.req(probe())).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "4 minutes old is fresh");
    assert_eq!(h.sim.calls().len(), before, "refused without a call");

    // ...but past five minutes the figure is stale: the call is made and sees the recovery,
    // and the calls after it go through on the fresh figure.
    clock.advance(std::time::Duration::from_secs(61));
    h.client.find_users(h.req(probe())).await.unwrap();
    h.client.find_users(h.req(probe())).await.unwrap();
    assert_eq!(h.sim.calls().len(), before + 2);
    assert_eq!(h.sim.api_usage(ORG).0, 102, "both calls reached Salesforce");
}

#[tokio::test]
async fn usage_is_cached_for_minutes_not_an_hour() {
    let mut h = harness().await;
    h.client.describe_global(h.req(global())).await.unwrap();
    let mut redis = redis::Client::open(tandem_testkit::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:salesforce:api-usage:*", h.redis_prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!((1..=300).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn request_limit_exceeded_is_resource_exhausted() {
    let options = connector_salesforce::Options {
        max_budget_share: 1.0,
        ..test_options()
    };
    let mut h = harness_with(options, true).await;
    h.sim.set_api_usage(ORG, 15_000);
    let e = h.client.describe_global(h.req(global())).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(
        e.message().contains("REQUEST_LIMIT_EXCEEDED"),
        "{}",
        e.message()
    );
    assert_eq!(h.sim.calls().len(), 1, "not retried");
}
