//! Integrations: the round trip, validation, ownership, bad input, audit, suggestions.

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, service_bearer};
use tonic::Code;

use crate::harness::{ADA, BOB, ada, bob, create, eve, mapping, start_stack};

fn get(id: &str, bearer: &str) -> tonic::Request<pb::GetIntegrationRequest> {
    authorized(pb::GetIntegrationRequest { id: id.into() }, bearer)
}

#[tokio::test(flavor = "multi_thread")]
async fn create_get_list_update_with_a_stale_version_and_delete() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let created = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.owner, ADA);
    assert_eq!(created.account, "acme");
    assert_eq!(created.version, 1);
    assert_eq!(created.state, pb::IntegrationState::Active as i32);
    assert_eq!(created.spec.as_ref().unwrap(), &spec);

    let got = client
        .get_integration(get(&created.id, &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, created);

    let listed = client
        .list_integrations(authorized(pb::ListIntegrationsRequest::default(), &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.integrations, vec![created.clone()]);
    // The orchestrator sees every active integration.
    let active = client
        .list_integrations(authorized(
            pb::ListIntegrationsRequest {
                active_only: true,
                ..Default::default()
            },
            &service_bearer("sync-orchestrator"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.integrations.len(), 1);
    assert_eq!(active.integrations[0].spec, created.spec);

    let mut changed = spec.clone();
    changed.name = "Renamed".into();
    changed.mappings.push(mapping("text_sfid", "Description"));
    let updated = client
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(changed.clone()),
                version: 1,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.spec.as_ref().unwrap().name, "Renamed");

    let stale = client
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(spec.clone()),
                version: 1,
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    let still = client
        .get_integration(get(&created.id, &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.spec.unwrap().name, "Renamed");

    let log = client
        .list_audit_log(authorized(
            pb::ListAuditLogRequest {
                subject_id: created.id.clone(),
                page: None,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<_> = log.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["updated", "created"]);
    assert!(
        log.entries[0]
            .changes
            .contains(&"name: \"Deals ↔ Opportunities\" -> \"Renamed\"".to_owned())
    );
    assert!(
        log.entries[0]
            .changes
            .contains(&"mappings: added text_sfid <-> Description".to_owned())
    );
    assert!(log.entries.iter().all(|e| e.actor == ADA));

    client
        .delete_integration(authorized(
            pb::DeleteIntegrationRequest {
                id: created.id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap();
    let gone = client
        .get_integration(get(&created.id, &ada()))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    // The audit log outlives the integration and cannot be rewritten.
    let tamper = sqlx::query("DELETE FROM audit_log")
        .execute(&stack.pool)
        .await;
    assert!(tamper.unwrap_err().to_string().contains("append-only"));
    let log = client
        .list_audit_log(authorized(
            pb::ListAuditLogRequest {
                subject_id: created.id.clone(),
                page: None,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(log.entries[0].action, "deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_reports_every_problem_at_once() {
    let stack = start_stack().await;
    let mut spec = stack.valid_spec(&ada()).await;
    spec.mappings = vec![
        mapping("name", "Name"),
        mapping("status", "StageName"),
        mapping("ghost_column", "Amount"),
        mapping("numbers", "Ghost__c"),
        mapping("text_sfid", "Score__c"),
        mapping("date4", "Name"),
    ];
    spec.incoming_conditions = Some(pb::Conditions {
        json: r#"{"type":"rule","field":"Amount","operator":"is_true"}"#.into(),
    });
    let mut client = stack.client.clone();
    let answer = client
        .validate_integration(authorized(
            pb::ValidateIntegrationRequest {
                spec: Some(spec.clone()),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!answer.valid);
    let fields: Vec<_> = answer.problems.iter().map(|p| p.field.as_str()).collect();
    for expected in [
        "mappings[2].monday_column_id",
        "mappings[3].salesforce_field",
        "mappings[4]",
        "mappings[5].salesforce_field",
        "mappings",
        "incoming_conditions",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing: {:#?}",
            answer.problems
        );
    }
    assert!(
        answer
            .problems
            .iter()
            .any(|p| p.message.contains("`CloseDate`")),
        "the unmapped required field is named"
    );

    let refused = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    for expected in [
        "mappings[2].monday_column_id",
        "mappings[3].salesforce_field",
        "incoming_conditions",
    ] {
        assert!(
            refused.message().contains(expected),
            "{}",
            refused.message()
        );
    }
    assert_eq!(stack.count("integrations").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_that_would_spend_the_monday_plans_daily_calls_is_a_warning_not_a_problem() {
    let stack = start_stack().await;
    let mut spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let validate = |spec: &pb::IntegrationSpec| {
        let request = authorized(
            pb::ValidateIntegrationRequest {
                spec: Some(spec.clone()),
            },
            &ada(),
        );
        let mut client = client.clone();
        async move {
            client
                .validate_integration(request)
                .await
                .unwrap()
                .into_inner()
        }
    };
    // The board's account is on a Free plan (200 calls a day); 3-minute polling is 480.
    spec.poll_interval_seconds = 0;
    let answer = validate(&spec).await;
    assert!(answer.valid, "{:#?}", answer.problems);
    let budget = |answer: &pb::ValidateIntegrationResponse| -> Vec<pb::ValidationProblem> {
        answer
            .warnings
            .iter()
            .filter(|w| w.field == "poll_interval_seconds")
            .cloned()
            .collect()
    };
    assert_eq!(budget(&answer).len(), 1, "{:#?}", answer.warnings);
    assert!(
        budget(&answer)[0]
            .message
            .contains("480 monday API calls a day"),
        "{:#?}",
        answer.warnings
    );
    // The board has no key column yet: the user is told it will be added, and why.
    assert!(
        answer
            .warnings
            .iter()
            .any(|w| w.field == "board_id" && w.message.contains("`tandem_key`")),
        "{:#?}",
        answer.warnings
    );
    // Hourly polling fits.
    spec.poll_interval_seconds = 3_600;
    let answer = validate(&spec).await;
    assert!(answer.valid && budget(&answer).is_empty(), "{answer:#?}");
    // A warning does not stop the integration from being saved.
    spec.poll_interval_seconds = 0;
    client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_invalid_argument_naming_the_field_and_writes_nothing() {
    let stack = start_stack().await;
    let good = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let variant = |f: &dyn Fn(&mut pb::IntegrationSpec)| {
        let mut s = good.clone();
        f(&mut s);
        s
    };
    let huge = "x".repeat(1_100_000);
    let cases: Vec<(&str, pb::IntegrationSpec, &str)> = vec![
        (
            "empty name",
            variant(&|s| s.name = "  ".into()),
            "name: is required",
        ),
        (
            "unknown board",
            variant(&|s| s.board_id = "999".into()),
            "board_id: board 999 was not found",
        ),
        (
            "unknown object",
            variant(&|s| s.salesforce_object = "Nope__c".into()),
            "salesforce_object: object Nope__c was not found",
        ),
        (
            "unknown field",
            variant(&|s| s.mappings[3].salesforce_field = "Amount__x".into()),
            "mappings[3].salesforce_field",
        ),
        (
            "malformed condition",
            variant(&|s| {
                s.outgoing_conditions = Some(pb::Conditions {
                    json: "{\"type\":".into(),
                })
            }),
            "outgoing_conditions: is not a valid condition JSON",
        ),
        (
            "oversized",
            variant(&|s| s.incoming_conditions = Some(pb::Conditions { json: huge.clone() })),
            "spec: is 1",
        ),
        (
            "too many mappings",
            variant(&|s| s.mappings = vec![mapping("name", "Name"); 501]),
            "mappings: has 501 entries",
        ),
        (
            "not a connection",
            variant(&|s| s.monday_connection_id = "m-1".into()),
            "monday_connection_id: `m-1` is not a connection id",
        ),
        (
            "wrong kind",
            variant(&|s| s.monday_connection_id = good.salesforce_connection_id.clone()),
            "monday_connection_id: connection",
        ),
    ];
    for (case, spec, expected) in cases {
        let err = client
            .create_integration(create(&spec, &ada()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{case}: {err:?}");
        assert!(
            err.message().contains(expected),
            "{case}: {}",
            err.message()
        );
    }
    // Far above the cap, gRPC refuses the request before it is decoded.
    let mut giant = good.clone();
    giant.incoming_conditions = Some(pb::Conditions {
        json: "z".repeat(3 << 20),
    });
    let err = client
        .create_integration(create(&giant, &ada()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(err.message().contains("too large"));
    let missing = client
        .create_integration(authorized(
            pb::CreateIntegrationRequest {
                spec: None,
                paused: false,
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert!(missing.message().contains("spec"));
    assert_eq!(stack.count("integrations").await, 0);
    assert_eq!(
        stack
            .count("audit_log WHERE subject_kind = 'integration'")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_owner_changes_an_integration_others_see_a_summary() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let created = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();

    let update = client
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(spec.clone()),
                version: 1,
            },
            &bob(),
        ))
        .await
        .unwrap_err();
    assert_eq!(update.code(), Code::PermissionDenied);
    let delete = client
        .delete_integration(authorized(
            pb::DeleteIntegrationRequest {
                id: created.id.clone(),
            },
            &bob(),
        ))
        .await
        .unwrap_err();
    assert_eq!(delete.code(), Code::PermissionDenied);
    let transfer = client
        .transfer_ownership(authorized(
            pb::TransferOwnershipRequest {
                id: created.id.clone(),
                new_owner: BOB.into(),
                version: 1,
            },
            &bob(),
        ))
        .await
        .unwrap_err();
    assert_eq!(transfer.code(), Code::PermissionDenied);
    let audit = client
        .list_audit_log(authorized(
            pb::ListAuditLogRequest {
                subject_id: created.id.clone(),
                page: None,
            },
            &bob(),
        ))
        .await
        .unwrap_err();
    assert_eq!(audit.code(), Code::PermissionDenied);

    let summary = client
        .get_integration(get(&created.id, &bob()))
        .await
        .unwrap()
        .into_inner();
    let seen = summary.spec.unwrap();
    assert_eq!(seen.name, spec.name);
    assert_eq!(seen.board_id, spec.board_id);
    assert!(seen.mappings.is_empty() && seen.monday_connection_id.is_empty());

    let other_account = client
        .get_integration(get(&created.id, &eve()))
        .await
        .unwrap_err();
    assert_eq!(other_account.code(), Code::NotFound);
    let listed = client
        .list_integrations(authorized(pb::ListIntegrationsRequest::default(), &eve()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.integrations.is_empty());
    // Bob cannot build on Ada's connections either.
    let borrowed = client
        .create_integration(create(&spec, &bob()))
        .await
        .unwrap_err();
    assert_eq!(borrowed.code(), Code::InvalidArgument);
    assert!(
        borrowed.message().contains("belongs to ada@acme.test"),
        "{}",
        borrowed.message()
    );
    assert_eq!(stack.count("integrations").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_pauses_until_the_new_owner_connects_their_own_accounts() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let created = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    let stale = client
        .transfer_ownership(authorized(
            pb::TransferOwnershipRequest {
                id: created.id.clone(),
                new_owner: BOB.into(),
                version: 7,
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let moved = client
        .transfer_ownership(authorized(
            pb::TransferOwnershipRequest {
                id: created.id.clone(),
                new_owner: BOB.into(),
                version: 1,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.owner, BOB);
    assert_eq!(moved.state, pb::IntegrationState::Paused as i32);
    assert!(
        moved.state_reason.contains("must connect their own"),
        "{}",
        moved.state_reason
    );

    // Bob reconnects and points the integration at his connections: it resumes.
    let mine = stack.valid_spec(&bob()).await;
    let resumed = client
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(mine),
                version: moved.version,
            },
            &bob(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.state, pb::IntegrationState::Active as i32);
    assert!(resumed.state_reason.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn suggested_mappings_are_compatible_and_put_required_fields_first() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let answer = stack
        .client
        .clone()
        .suggest_mapping(authorized(
            pb::SuggestMappingRequest {
                monday_connection_id: spec.monday_connection_id.clone(),
                board_id: spec.board_id.clone(),
                salesforce_connection_id: spec.salesforce_connection_id.clone(),
                salesforce_object: "Opportunity".into(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let pairs: Vec<_> = answer
        .suggestions
        .iter()
        .map(|s| {
            let m = s.mapping.as_ref().unwrap();
            (m.monday_column_id.as_str(), m.salesforce_field.as_str())
        })
        .collect();
    assert_eq!(
        pairs[..3]
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        [
            ("name", "Name"),
            ("status", "StageName"),
            ("date4", "CloseDate")
        ]
        .into()
    );
    assert!(pairs.contains(&("numbers", "Amount")), "{pairs:?}");
    assert!(answer.unmatched_required_fields.is_empty());
    assert!(
        answer
            .suggestions
            .iter()
            .all(|s| s.confidence > 0.0 && !s.reason.is_empty())
    );

    // The suggestion validates as it is.
    let mut suggested = spec.clone();
    suggested.mappings = answer
        .suggestions
        .iter()
        .map(|s| s.mapping.clone().unwrap())
        .collect();
    let check = stack
        .client
        .clone()
        .validate_integration(authorized(
            pb::ValidateIntegrationRequest {
                spec: Some(suggested),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(check.valid, "{:#?}", check.problems);
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_with_keyset_tokens_and_refuse_bad_page_sizes() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut s = spec.clone();
        s.name = format!("Integration {n}");
        ids.push(
            client
                .create_integration(create(&s, &ada()))
                .await
                .unwrap()
                .into_inner()
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_integrations(authorized(
                pb::ListIntegrationsRequest {
                    page: Some(pb::PageRequest {
                        page_size: Some(2),
                        page_token: token.clone(),
                    }),
                    active_only: false,
                    ..Default::default()
                },
                &ada(),
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.integrations.len() <= 2);
        seen.extend(page.integrations.into_iter().map(|i| i.id));
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each once");

    let connections = client
        .list_connections(authorized(
            pb::ListConnectionsRequest {
                page: Some(pb::PageRequest {
                    page_size: Some(1),
                    page_token: String::new(),
                }),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(connections.connections.len(), 1);
    assert!(!connections.page.unwrap().next_page_token.is_empty());
    let none = client
        .list_connections(authorized(pb::ListConnectionsRequest::default(), &bob()))
        .await
        .unwrap()
        .into_inner();
    assert!(
        none.connections.is_empty(),
        "only the caller's own connections"
    );

    for size in [0, 501] {
        let err = client
            .list_integrations(authorized(
                pb::ListIntegrationsRequest {
                    page: Some(pb::PageRequest {
                        page_size: Some(size),
                        page_token: String::new(),
                    }),
                    active_only: false,
                    ..Default::default()
                },
                &ada(),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("page.page_size"));
    }
    let err = client
        .list_integrations(authorized(
            pb::ListIntegrationsRequest {
                page: Some(pb::PageRequest {
                    page_size: None,
                    page_token: "bogus".into(),
                }),
                active_only: false,
                ..Default::default()
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("page.page_token"));
}
