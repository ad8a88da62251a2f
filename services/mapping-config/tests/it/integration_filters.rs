//! Listing thousands of integrations: filters by state and owner, applied in the database,
//! paged with keyset tokens; bad filters refused naming the field.

use tandem_proto::v1 as pb;
use tandem_testkit::authorized;
use tonic::Code;

use crate::harness::{ADA, BOB, ada, bob, eve, start_stack};

/// Every integration `bearer` lists with `filter`, following the tokens `size` at a time;
/// the pages' sizes too.
async fn list_all(
    client: &pb::mapping_config_client::MappingConfigClient<tonic::transport::Channel>,
    bearer: &str,
    filter: pb::ListIntegrationsRequest,
    size: u32,
) -> (Vec<pb::Integration>, Vec<usize>) {
    let (mut seen, mut sizes, mut token) = (Vec::new(), Vec::new(), String::new());
    loop {
        let page = client
            .clone()
            .list_integrations(authorized(
                pb::ListIntegrationsRequest {
                    page: Some(pb::PageRequest {
                        page_size: Some(size),
                        page_token: token,
                    }),
                    ..filter.clone()
                },
                bearer,
            ))
            .await
            .unwrap()
            .into_inner();
        sizes.push(page.integrations.len());
        seen.extend(page.integrations);
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            return (seen, sizes);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_fifty_integrations_filter_by_state_and_owner_a_page_at_a_time() {
    let stack = start_stack().await;
    let ada_spec = stack.valid_spec(&ada()).await;
    let bob_spec = stack.valid_spec(&bob()).await;
    // Ada owns 150 (every third paused), Bob 100 (every fourth paused).
    let mut made = Vec::new();
    for chunk in (0..250).collect::<Vec<usize>>().chunks(10) {
        let mut creates = tokio::task::JoinSet::new();
        for &n in chunk {
            let (spec, bearer, paused) = if n < 150 {
                (ada_spec.clone(), ada(), n % 3 == 0)
            } else {
                (bob_spec.clone(), bob(), n % 4 == 0)
            };
            let mut client = stack.client.clone();
            creates.spawn(async move {
                let mut spec = spec;
                spec.name = format!("Integration {n}");
                client
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
    let paused = |owner: Option<&str>| {
        made.iter()
            .filter(|i| i.state == pb::IntegrationState::Paused as i32)
            .filter(|i| owner.is_none_or(|o| i.owner == o))
            .count()
    };
    assert_eq!((paused(Some(ADA)), paused(Some(BOB))), (50, 25));

    let (all, sizes) = list_all(&stack.client, &ada(), Default::default(), 100).await;
    assert_eq!(sizes, [100, 100, 50]);
    let mut ids: Vec<_> = all.iter().map(|i| i.id.clone()).collect();
    let created: Vec<_> = all.iter().map(|i| i.created_at.unwrap()).collect();
    assert!(
        created
            .windows(2)
            .all(|w| (w[0].seconds, w[0].nanos) >= (w[1].seconds, w[1].nanos)),
        "newest first"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250, "each once");

    let mine = pb::ListIntegrationsRequest {
        owner: " Ada@ACME.test ".into(),
        ..Default::default()
    };
    let (ada_own, sizes) = list_all(&stack.client, &ada(), mine.clone(), 40).await;
    assert_eq!(sizes, [40, 40, 40, 30]);
    assert!(ada_own.iter().all(|i| i.owner == ADA));

    let paused_only = pb::ListIntegrationsRequest {
        state: pb::IntegrationState::Paused as i32,
        ..Default::default()
    };
    let (all_paused, _) = list_all(&stack.client, &bob(), paused_only.clone(), 30).await;
    assert_eq!(all_paused.len(), 75);
    assert!(
        all_paused
            .iter()
            .all(|i| i.state == pb::IntegrationState::Paused as i32
                && i.state_reason == "created paused")
    );
    let (ada_paused, _) = list_all(
        &stack.client,
        &ada(),
        pb::ListIntegrationsRequest {
            state: pb::IntegrationState::Paused as i32,
            ..mine.clone()
        },
        500,
    )
    .await;
    assert_eq!(ada_paused.len(), 50);
    let (active, _) = list_all(
        &stack.client,
        &ada(),
        pb::ListIntegrationsRequest {
            state: pb::IntegrationState::Active as i32,
            active_only: true,
            ..Default::default()
        },
        500,
    )
    .await;
    assert_eq!(active.len(), 175);
    let (other_account, _) = list_all(&stack.client, &eve(), mine, 50).await;
    assert!(other_account.is_empty(), "another account's are not listed");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_filters_are_invalid_argument_naming_the_field() {
    let stack = start_stack().await;
    let client = stack.client.clone();
    let since = prost_types_now();
    let cases = [
        (
            pb::ListIntegrationsRequest {
                state: 9,
                ..Default::default()
            },
            "state 9",
        ),
        (
            pb::ListIntegrationsRequest {
                state: pb::IntegrationState::Paused as i32,
                active_only: true,
                ..Default::default()
            },
            "active_only",
        ),
        (
            pb::ListIntegrationsRequest {
                owner: "ada".into(),
                ..Default::default()
            },
            "owner `ada`",
        ),
        (
            pb::ListIntegrationsRequest {
                owner: ADA.into(),
                changed_since: Some(since),
                ..Default::default()
            },
            "changed_since",
        ),
        (
            pb::ListIntegrationsRequest {
                page: Some(pb::PageRequest {
                    page_size: Some(0),
                    page_token: String::new(),
                }),
                state: pb::IntegrationState::Paused as i32,
                ..Default::default()
            },
            "page.page_size",
        ),
        (
            pb::ListIntegrationsRequest {
                page: Some(pb::PageRequest {
                    page_size: None,
                    page_token: "not a token".into(),
                }),
                owner: ADA.into(),
                ..Default::default()
            },
            "page.page_token",
        ),
    ];
    for (request, field) in cases {
        let err = client
            .clone()
            .list_integrations(authorized(request.clone(), &ada()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{request:?}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    assert_eq!(stack.count("integrations").await, 0, "nothing was written");
}

fn prost_types_now() -> prost_types::Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    prost_types::Timestamp {
        seconds: now.as_secs() as i64,
        nanos: 0,
    }
}
