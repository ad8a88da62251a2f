//! Listing integrations: an account's (users) or every one (services), by board or org and
//! object for routing, and the change feed the orchestrators follow (`changed_since`).

use tandem_proto::v1 as pb;
use tandem_service::Identity;
use tonic::Status;

use super::State;
use super::convert;
use crate::error::internal;
use crate::store::integrations::{self as rows, IntegrationRow, Scope};

const INTEGRATIONS_PAGE: (u32, u32) = (50, 500);

pub async fn list(
    state: &State,
    who: &Identity,
    request: pb::ListIntegrationsRequest,
) -> Result<pb::ListIntegrationsResponse, Status> {
    let limit = convert::page_size(
        request.page.as_ref(),
        INTEGRATIONS_PAGE.0,
        INTEGRATIONS_PAGE.1,
    )?;
    let after = convert::parse_keyset(request.page.as_ref())?;
    let scope = match who {
        Identity::Service { .. } => Scope::All,
        Identity::User { account, .. } => Scope::Account(account),
    };
    let changed_since = match request.changed_since {
        Some(t) => Some(
            tandem_proto::timestamp::to_offset(&t)
                .ok_or_else(|| Status::invalid_argument("changed_since is not a valid time"))?,
        ),
        None => None,
    };
    let org_id = request.salesforce_org_id.trim();
    let object = request.salesforce_object.trim();
    let on_object = match (org_id.is_empty(), object.is_empty()) {
        (true, true) => None,
        (false, false) => Some((org_id, object)),
        (true, false) => {
            return Err(Status::invalid_argument(
                "salesforce_org_id is required with salesforce_object",
            ));
        }
        (false, true) => {
            return Err(Status::invalid_argument(
                "salesforce_object is required with salesforce_org_id",
            ));
        }
    };
    if on_object.is_some() && !matches!(who, Identity::Service { .. }) {
        return Err(Status::permission_denied(
            "only Tandem services list integrations by Salesforce org and object",
        ));
    }
    let found = match (changed_since, on_object) {
        (Some(since), _) => rows::list_changed(&state.pool, scope, since, after, limit + 1).await,
        (None, Some((org_id, object))) => {
            rows::list_on_object(&state.pool, org_id, object, after, limit + 1).await
        }
        (None, None) => {
            let board = Some(request.board_id.trim()).filter(|b| !b.is_empty());
            rows::list(
                &state.pool,
                scope,
                request.active_only,
                board,
                after,
                limit + 1,
            )
            .await
        }
    }
    .map_err(internal)?;
    let more = found.len() as i64 > limit;
    let found = &found[..found.len().min(limit as usize)];
    // The feed pages by change time, the plain list by creation time.
    let next = match (more, found.last()) {
        (true, Some(last)) if changed_since.is_some() => {
            convert::keyset_token(last.updated_at, last.id)
        }
        (true, Some(last)) => convert::keyset_token(last.created_at, last.id),
        _ => String::new(),
    };
    let full = |row: &IntegrationRow| match who {
        Identity::Service { .. } => true,
        Identity::User { email, .. } => tandem_service::same_email(email, &row.owner),
    };
    Ok(pb::ListIntegrationsResponse {
        integrations: found
            .iter()
            .map(|r| convert::integration(r, full(r)))
            .collect(),
        page: Some(pb::PageResponse {
            next_page_token: next,
        }),
    })
}
