//! Listing integrations: an account's (users) or every one (services), by board or org and
//! object for routing, and the change feed the orchestrators follow (`changed_since`).

use tandem_proto::v1 as pb;
use tandem_service::Identity;
use tonic::Status;

use super::State;
use super::convert;
use crate::error::internal;
use crate::store::integrations::{self as rows, Filter, IntegrationRow, Scope};

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
    let changed_since = match &request.changed_since {
        Some(t) => Some(
            tandem_proto::timestamp::to_offset(t)
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
    let filter = filter(&request)?;
    // `active_only` keeps its old meaning there (ignored); the new filters are refused.
    let plain = request.state == 0 && filter.owner.is_none();
    if !plain && changed_since.is_some() {
        return Err(Status::invalid_argument(
            "state and owner do not apply to the change feed (changed_since)",
        ));
    }
    if !plain && on_object.is_some() {
        return Err(Status::invalid_argument(
            "state and owner do not apply to a list by salesforce_org_id and salesforce_object",
        ));
    }
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
        (None, None) => rows::list(&state.pool, scope, &filter, after, limit + 1).await,
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

/// The plain list's filters, checked: a state that is not one, a state `active_only`
/// contradicts, or an owner that is not an email is refused naming the field.
fn filter(request: &pb::ListIntegrationsRequest) -> Result<Filter<'_>, Status> {
    let state = match pb::IntegrationState::try_from(request.state) {
        Ok(pb::IntegrationState::Unspecified) => None,
        Ok(state) => Some(state),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "state {} is not an integration state (ACTIVE or PAUSED)",
                request.state
            )));
        }
    };
    let state = match (request.active_only, state) {
        (true, Some(pb::IntegrationState::Paused)) => {
            return Err(Status::invalid_argument(
                "state PAUSED contradicts active_only",
            ));
        }
        (true, _) => Some(pb::IntegrationState::Active),
        (false, state) => state,
    };
    let owner = request.owner.trim();
    if !owner.is_empty() && !owner.contains('@') {
        return Err(Status::invalid_argument(format!(
            "owner `{owner}` is not an email"
        )));
    }
    Ok(Filter {
        state: state.map(|s| s as i16),
        board_id: Some(request.board_id.trim()).filter(|b| !b.is_empty()),
        owner: Some(owner).filter(|o| !o.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(state: i32, active_only: bool, owner: &str) -> pb::ListIntegrationsRequest {
        pb::ListIntegrationsRequest {
            state,
            active_only,
            owner: owner.into(),
            ..Default::default()
        }
    }

    #[test]
    fn filters_are_checked_and_name_the_field() {
        let paused = pb::IntegrationState::Paused as i32;
        let active = pb::IntegrationState::Active as i32;
        // (state, active_only, owner) → the filter's (state, owner), or the field named.
        type Want = Result<(Option<i16>, Option<&'static str>), &'static str>;
        let cases: &[(i32, bool, &str, Want)] = &[
            (0, false, "", Ok((None, None))),
            (paused, false, "", Ok((Some(2), None))),
            (0, true, "", Ok((Some(1), None))),
            (
                active,
                true,
                " Ada@acme.test ",
                Ok((Some(1), Some("Ada@acme.test"))),
            ),
            (paused, true, "", Err("active_only")),
            (7, false, "", Err("state 7")),
            (0, false, "ada", Err("owner `ada`")),
        ];
        for (state, active_only, owner, want) in cases {
            let request = request(*state, *active_only, owner);
            let got = filter(&request);
            match (got, want) {
                (Ok(f), Ok((state, owner))) => {
                    assert_eq!((f.state, f.owner), (*state, *owner), "{request:?}")
                }
                (Err(e), Err(field)) => {
                    assert_eq!(e.code(), tonic::Code::InvalidArgument);
                    assert!(e.message().contains(field), "{}", e.message());
                }
                (got, want) => panic!("{request:?}: {got:?} != {want:?}"),
            }
        }
    }
}
