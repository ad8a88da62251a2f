//! CreateWebhook, ListWebhooks and DeleteWebhook against monday-sim: the sim challenges the
//! connector's own ingress; bad input is refused naming the field, before monday is called.

use tandem_proto::v1::{CreateWebhookRequest, DeleteWebhookRequest, ListWebhooksRequest};
use tonic::Code;

use crate::harness::{CONNECTION, start_harness, svc};

fn url(h: &crate::harness::Harness) -> String {
    format!("http://{}{}", h.webhooks, connector_monday::WEBHOOK_PATH)
}

#[tokio::test]
async fn a_webhook_is_created_listed_and_deleted_through_monday() {
    let h = start_harness().await;
    let mut client = h.client.clone();
    let create = |event: &str| CreateWebhookRequest {
        connection_id: CONNECTION.into(),
        board_id: h.board.to_string(),
        url: url(&h),
        event: event.into(),
    };
    let hook = client
        .create_webhook(svc(create("change_column_value")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (hook.board_id.as_str(), hook.event.as_str()),
        (h.board.to_string().as_str(), "change_column_value")
    );
    let at_sim = h.sim.webhooks();
    assert_eq!(at_sim.len(), 1);
    assert_eq!(
        (at_sim[0].id.to_string(), at_sim[0].url.clone()),
        (hook.id.clone(), url(&h))
    );

    let listed = client
        .list_webhooks(svc(ListWebhooksRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
        }))
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(listed, vec![hook.clone()]);

    let delete = DeleteWebhookRequest {
        connection_id: CONNECTION.into(),
        webhook_id: hook.id.clone(),
    };
    client.delete_webhook(svc(delete.clone())).await.unwrap();
    assert!(h.sim.webhooks().is_empty());
    let again = client.delete_webhook(svc(delete)).await.unwrap_err();
    assert_eq!(again.code(), Code::NotFound, "{again:?}");
}

#[tokio::test]
async fn a_url_that_does_not_answer_the_challenge_registers_nothing() {
    let h = start_harness().await;
    let refused = h
        .client
        .clone()
        .create_webhook(svc(CreateWebhookRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            // Nothing listens on port 9 (discard) here.
            url: "http://127.0.0.1:9/webhooks/monday".into(),
            event: "create_item".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("Failed to communicate with URL"),
        "{refused:?}"
    );
    assert!(h.sim.webhooks().is_empty());
}

#[tokio::test]
async fn bad_webhook_requests_name_their_field_and_reach_no_monday() {
    let h = start_harness().await;
    let good = CreateWebhookRequest {
        connection_id: CONNECTION.into(),
        board_id: h.board.to_string(),
        url: url(&h),
        event: "create_item".into(),
    };
    h.sim.clear_requests();
    let cases = [
        (
            "board_id",
            CreateWebhookRequest {
                board_id: "12a".into(),
                ..good.clone()
            },
        ),
        (
            "event",
            CreateWebhookRequest {
                event: "create_pulse".into(),
                ..good.clone()
            },
        ),
        (
            "url",
            CreateWebhookRequest {
                url: "webhooks/monday".into(),
                ..good.clone()
            },
        ),
    ];
    for (field, request) in cases {
        let refused = h
            .client
            .clone()
            .create_webhook(svc(request))
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "{field}: {refused:?}"
        );
        assert!(refused.message().contains(field), "{field}: {refused:?}");
    }
    let bad_id = h
        .client
        .clone()
        .delete_webhook(svc(DeleteWebhookRequest {
            connection_id: CONNECTION.into(),
            webhook_id: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_id.code(), Code::InvalidArgument);
    assert!(bad_id.message().contains("webhook_id"), "{bad_id:?}");
    assert!(h.sim.requests().is_empty(), "monday was called");
}
