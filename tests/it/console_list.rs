//! The console's integrations list over thousands of integrations: mapping-config filters by
//! state and owner and pages; the console follows its tokens, keeps the filters across pages
//! and asks the orchestrator which are failing.

use std::collections::BTreeSet;
use std::time::Instant;

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, user_bearer_in};

use crate::console::{Visitor, start_console};
use crate::stack::{ORG, start_stack};

/// The integration ids a list page links to, and its next page's path (if any).
fn ids_and_next(html: &str) -> (Vec<String>, Option<String>) {
    let ids = html
        .split(r#"<th scope="row"><a href="/integrations/"#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect();
    let next = html.find(r#"id="next-page""#).map(|_| {
        let at = html.find(r#"href="/?"#).unwrap() + r#"href=""#.len();
        let rest = &html[at..];
        rest[..rest.find('"').unwrap()].replace("&amp;", "&")
    });
    (ids, next)
}

/// Every id `visitor` sees from `path` on, following the next-page links; the pages' sizes.
async fn walk(visitor: &Visitor, path: &str) -> (Vec<String>, Vec<usize>) {
    let (mut seen, mut sizes, mut path) = (Vec::new(), Vec::new(), path.to_owned());
    loop {
        let (status, html) = visitor.get(&path).await;
        assert_eq!(status, 200, "{path}: {html}");
        let (ids, next) = ids_and_next(&html);
        sizes.push(ids.len());
        seen.extend(ids);
        match next {
            Some(next) => {
                for filter in ["failing", "paused", "mine"] {
                    let on = format!("{filter}=on");
                    assert_eq!(path.contains(&on), next.contains(&on), "{path} → {next}");
                }
                path = next;
            }
            None => return (seen, sizes),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_fifty_integrations_are_listed_filtered_and_paged_by_the_services() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // Ada's first creates her connections; the others reuse them. Bob connects his own.
    let first = stack.integration().await;
    let ada_spec = first.spec.clone().unwrap();
    let bob = user_bearer_in("acme", "bob@acme.test");
    let mut config = stack.config.clone();
    let bob_monday = config
        .create_connection(authorized(
            pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Monday as i32,
                monday_token: stack.monday_token.clone(),
                ..Default::default()
            },
            &bob,
        ))
        .await
        .unwrap()
        .into_inner()
        .connection
        .unwrap();
    let bob_salesforce = tandem_stack::connect_simulated_org(&mut config, &bob, ORG)
        .await
        .unwrap();
    let bob_spec = pb::IntegrationSpec {
        monday_connection_id: bob_monday.id,
        salesforce_connection_id: bob_salesforce.id,
        ..ada_spec.clone()
    };
    // Ada owns 180 (every third paused), Bob 70 (every fifth paused); the scheduler is off.
    let started = Instant::now();
    let mut made = vec![first];
    for chunk in (1..250).collect::<Vec<usize>>().chunks(10) {
        let mut creates = tokio::task::JoinSet::new();
        for &n in chunk {
            let (mut spec, bearer, paused) = if n < 180 {
                (ada_spec.clone(), stack.bearer.clone(), n % 3 == 0)
            } else {
                (bob_spec.clone(), bob.clone(), n % 5 == 0)
            };
            spec.name = format!("Deals {n}");
            let mut config = stack.config.clone();
            creates.spawn(async move {
                config
                    .create_integration(authorized(
                        pb::CreateIntegrationRequest {
                            spec: Some(spec),
                            paused,
                        },
                        &bearer,
                    ))
                    .await
                    .unwrap()
                    .into_inner()
            });
        }
        made.extend(creates.join_all().await);
    }
    eprintln!("created 250 integrations in {:?}", started.elapsed());
    let owned_by = |email: &str| -> BTreeSet<String> {
        made.iter()
            .filter(|i| i.owner == email)
            .map(|i| i.id.clone())
            .collect()
    };
    let paused: BTreeSet<String> = made
        .iter()
        .filter(|i| i.state == pb::IntegrationState::Paused as i32)
        .map(|i| i.id.clone())
        .collect();
    let (ada_own, bob_own) = (owned_by("ada@acme.test"), owned_by("bob@acme.test"));
    assert_eq!((ada_own.len(), bob_own.len(), paused.len()), (180, 70, 73));
    // Ten failing, among the oldest (the last pages of a newest-first list): 7 Ada's, 3 Bob's.
    let failing: Vec<&pb::Integration> = made[..7].iter().chain(&made[180..183]).collect();
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
    for integration in &failing {
        sqlx::query(
            "INSERT INTO sync.failing_records (integration_id, side, record_id, attempts, \
             next_attempt_at, last_error, settings_version, lease_epoch) \
             VALUES ($1, 1, 'rec-1', 1, now() + interval '1 hour', 'refused', 1, 1)",
        )
        .bind(&integration.id)
        .execute(&pool)
        .await
        .unwrap();
    }

    let console = start_console(&stack).await;
    let ada = Visitor::sign_in(&console, "acme", "ada@acme.test").await;
    let started = Instant::now();
    let (all, sizes) = walk(&ada, "/").await;
    eprintln!(
        "listed 250 integrations in 5 pages in {:?}",
        started.elapsed()
    );
    assert_eq!(sizes, [50, 50, 50, 50, 50]);
    let unique: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(unique.len(), 250, "each once");
    let mut newest_first: Vec<&pb::Integration> = made.iter().collect();
    newest_first.sort_by_key(|i| {
        let at = i.created_at.unwrap();
        std::cmp::Reverse((at.seconds, at.nanos, i.id.clone()))
    });
    let newest_first: Vec<String> = newest_first.iter().map(|i| i.id.clone()).collect();
    assert_eq!(all, newest_first, "newest first, as created");

    let (mine, sizes) = walk(&ada, "/?mine=on").await;
    assert_eq!(sizes, [50, 50, 50, 30]);
    assert_eq!(mine.into_iter().collect::<BTreeSet<_>>(), ada_own);
    let (only_paused, _) = walk(&ada, "/?paused=on").await;
    assert_eq!(only_paused.into_iter().collect::<BTreeSet<_>>(), paused);
    let (mine_paused, _) = walk(&ada, "/?paused=on&mine=on").await;
    assert_eq!(
        mine_paused.into_iter().collect::<BTreeSet<_>>(),
        &paused & &ada_own
    );
    let started = Instant::now();
    let (only_failing, sizes) = walk(&ada, "/?failing=on").await;
    eprintln!("found 10 failing among 250 in {:?}", started.elapsed());
    assert_eq!(sizes, [10], "one request looks through all 250");
    let want: BTreeSet<String> = failing.iter().map(|i| i.id.clone()).collect();
    assert_eq!(only_failing.iter().cloned().collect::<BTreeSet<_>>(), want);
    let (mine_failing, _) = walk(&ada, "/?failing=on&mine=on").await;
    assert_eq!(
        mine_failing.into_iter().collect::<BTreeSet<_>>(),
        &want & &ada_own
    );

    // Bob sees the account's, and his own when he asks for his.
    let bob_visitor = Visitor::sign_in(&console, "acme", "bob@acme.test").await;
    let (bob_mine, _) = walk(&bob_visitor, "/?mine=on").await;
    assert_eq!(bob_mine.into_iter().collect::<BTreeSet<_>>(), bob_own);
    // Another account: none of these, and not the empty account's first-step page either
    // when a filter is on.
    let eve = Visitor::sign_in(&console, "globex", "eve@globex.test").await;
    let (_, html) = eve.get("/?mine=on").await;
    assert!(
        html.contains("No integration matches the filters."),
        "{html}"
    );
    // A made-up page token is refused by mapping-config, shown as a bad request.
    let (status, html) = ada.get("/?page=not-a-token").await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("page.page_token"), "{html}");
}
