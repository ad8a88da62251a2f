//! CreateWebhook, DeleteWebhook and ListWebhooks: the orchestrator registers the webhooks of
//! the boards it syncs through these (monday challenges the URL while `create_webhook` runs,
//! so the URL must reach this connector's webhook ingress, which answers it).

use serde_json::{Value, json};
use tandem_proto::v1::{CreateWebhookRequest, MondayWebhook};

use crate::api::{Calls, Monday, Retry, Session};
use crate::error::Error;
use crate::queries;
use crate::schema::id_text;

/// The `WebhookEventType` values of monday's schema (2025-10).
pub const EVENTS: &[&str] = &[
    "change_column_value",
    "change_name",
    "change_specific_column_value",
    "change_status_column_value",
    "change_subitem_column_value",
    "change_subitem_name",
    "create_column",
    "create_item",
    "create_subitem",
    "create_subitem_update",
    "create_update",
    "delete_update",
    "edit_update",
    "item_archived",
    "item_deleted",
    "item_moved_to_any_group",
    "item_moved_to_specific_group",
    "item_restored",
    "move_subitem",
    "subitem_archived",
    "subitem_deleted",
];

/// Checks a CreateWebhook request; the error names the field.
pub fn validate(req: &CreateWebhookRequest) -> Result<(), Error> {
    crate::grpc::require_id(&req.board_id, "board_id")?;
    if !EVENTS.contains(&req.event.as_str()) {
        return Err(Error::InvalidArgument(format!(
            "event `{}` is not a monday webhook event type (one of {})",
            req.event,
            EVENTS.join(", ")
        )));
    }
    let absolute = req.url.starts_with("https://") || req.url.starts_with("http://");
    if !absolute || req.url.len() > 2_048 || req.url.chars().any(char::is_whitespace) {
        return Err(Error::InvalidArgument(
            "url must be an absolute http(s) URL of at most 2,048 characters".into(),
        ));
    }
    Ok(())
}

fn webhook(v: &Value) -> MondayWebhook {
    MondayWebhook {
        id: id_text(v.get("id")),
        board_id: id_text(v.get("board_id")),
        event: v
            .get("event")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

pub async fn create(
    monday: &Monday,
    session: &Session,
    req: &CreateWebhookRequest,
    calls: &mut Calls,
) -> Result<MondayWebhook, Error> {
    // Not retried on a 5xx: a retry could register the event twice (the caller lists and
    // repairs instead).
    let reply = monday
        .execute(
            session,
            queries::CREATE_WEBHOOK,
            json!({"board": req.board_id, "url": req.url, "event": req.event}),
            100,
            Retry::NoServerRetry,
            calls,
        )
        .await?
        .check()?;
    let hook = webhook(reply.data.get("create_webhook").unwrap_or(&Value::Null));
    if hook.id.is_empty() {
        return Err(Error::Remote {
            code: "NoWebhook".into(),
            message: "create_webhook answered without a webhook".into(),
        });
    }
    Ok(hook)
}

pub async fn delete(
    monday: &Monday,
    session: &Session,
    webhook_id: &str,
    calls: &mut Calls,
) -> Result<(), Error> {
    monday
        .execute(
            session,
            queries::DELETE_WEBHOOK,
            json!({"id": webhook_id}),
            100,
            Retry::Safe,
            calls,
        )
        .await?
        .check()?;
    Ok(())
}

pub async fn list(
    monday: &Monday,
    session: &Session,
    board_id: &str,
    calls: &mut Calls,
) -> Result<Vec<MondayWebhook>, Error> {
    let reply = monday
        .execute(
            session,
            queries::WEBHOOKS,
            json!({"board": board_id}),
            100,
            Retry::Safe,
            calls,
        )
        .await?
        .check()?;
    Ok(reply
        .data
        .get("webhooks")
        .and_then(Value::as_array)
        .map(|hooks| hooks.iter().map(webhook).collect())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_request_names_the_bad_field() {
        let good = CreateWebhookRequest {
            connection_id: "c".into(),
            board_id: "42".into(),
            url: "https://tandem.example.com/webhooks/monday".into(),
            event: "create_item".into(),
        };
        assert!(validate(&good).is_ok());
        let cases = [
            (
                "board_id",
                CreateWebhookRequest {
                    board_id: "x1".into(),
                    ..good.clone()
                },
            ),
            (
                "event",
                CreateWebhookRequest {
                    event: "update_pulse".into(),
                    ..good.clone()
                },
            ),
            (
                "url",
                CreateWebhookRequest {
                    url: "ftp://x".into(),
                    ..good.clone()
                },
            ),
            (
                "url",
                CreateWebhookRequest {
                    url: "/webhooks/monday".into(),
                    ..good.clone()
                },
            ),
        ];
        for (field, req) in cases {
            let msg = validate(&req).unwrap_err().to_string();
            assert!(msg.starts_with(field), "{field}: {msg}");
        }
    }
}
