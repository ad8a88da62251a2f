//! Integrations: create, read (redacted for non-owners), list, update with optimistic
//! concurrency, delete, transfer, and the audit log.

use prost::Message as _;
use tandem_proto::v1 as pb;
use tandem_service::Identity;
use tonic::Status;
use uuid::Uuid;

use super::convert::{self, INTEGRATION_ACTIVE, INTEGRATION_PAUSED};
use super::integrity::{problems, refuse};
use super::{State, User, parse_id};
use crate::error::internal;
use crate::store::audit::{self, Entry};
use crate::store::connections;
use crate::store::integrations::{
    self as rows, CREATED_PAUSED, Change, IntegrationRow, NewIntegration,
};

const AUDIT_PAGE: (u32, u32) = (50, 500);

fn connection_ids(spec: &pb::IntegrationSpec) -> (Option<Uuid>, Option<Uuid>) {
    (
        spec.monday_connection_id.trim().parse().ok(),
        spec.salesforce_connection_id.trim().parse().ok(),
    )
}

/// The spec as stored: trimmed names and ids.
fn normalised(mut spec: pb::IntegrationSpec) -> pb::IntegrationSpec {
    spec.name = spec.name.trim().to_owned();
    spec.board_id = spec.board_id.trim().to_owned();
    spec.salesforce_object = spec.salesforce_object.trim().to_owned();
    spec.monday_connection_id = spec.monday_connection_id.trim().to_owned();
    spec.salesforce_connection_id = spec.salesforce_connection_id.trim().to_owned();
    spec
}

async fn load(state: &State, id: Uuid) -> Result<IntegrationRow, Status> {
    rows::get(&state.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(format!("integration {id} does not exist")))
}

/// The row, if `user` owns it: NOT_FOUND outside the account, PERMISSION_DENIED inside.
async fn owned(state: &State, user: &User, id: Uuid) -> Result<IntegrationRow, Status> {
    let row = load(state, id).await?;
    if row.account != user.account {
        return Err(Status::not_found(format!(
            "integration {id} does not exist"
        )));
    }
    if !tandem_service::same_email(&row.owner, &user.email) {
        return Err(Status::permission_denied(format!(
            "integration {id} belongs to {}; only its owner may change it",
            row.owner
        )));
    }
    Ok(row)
}

#[tracing::instrument(skip_all)]
pub async fn create(
    state: &State,
    user: User,
    request: pb::CreateIntegrationRequest,
) -> Result<pb::Integration, Status> {
    let Some(spec) = request.spec else {
        return Err(Status::invalid_argument("spec is required"));
    };
    let spec = normalised(spec);
    let who = Identity::User {
        account: user.account.clone(),
        email: user.email.clone(),
    };
    let found = problems(state, &who, &spec).await?;
    if !found.is_empty() {
        return Err(refuse(&found));
    }
    let (monday, salesforce) = connection_ids(&spec);
    let (initial, reason) = if request.paused {
        (INTEGRATION_PAUSED, CREATED_PAUSED)
    } else {
        (INTEGRATION_ACTIVE, "")
    };
    let id = Uuid::new_v4();
    let encoded = spec.encode_to_vec();
    let mut tx = state.pool.begin().await.map_err(internal)?;
    let row = rows::insert(
        &mut *tx,
        &NewIntegration {
            id,
            account: &user.account,
            owner: &user.email,
            spec: &encoded,
            monday_connection_id: monday,
            salesforce_connection_id: salesforce,
            state: initial,
            state_reason: reason,
        },
    )
    .await
    .map_err(internal)?;
    let mut changes = convert::changes(&pb::IntegrationSpec::default(), &spec);
    if request.paused {
        changes.push(format!("state: paused ({CREATED_PAUSED})"));
    }
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "integration",
            account: &user.account,
            actor: &user.email,
            action: "created",
            changes,
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(integration_id = %id, paused = request.paused, "integration created");
    Ok(convert::integration(&row, true))
}

pub async fn get(state: &State, who: &Identity, id: &str) -> Result<pb::Integration, Status> {
    let id = parse_id(id, "id")?;
    let row = load(state, id).await?;
    match who {
        Identity::Service { .. } => Ok(convert::integration(&row, true)),
        Identity::User { account, .. } if *account != row.account => Err(Status::not_found(
            format!("integration {id} does not exist"),
        )),
        Identity::User { email, .. } => Ok(convert::integration(
            &row,
            tandem_service::same_email(email, &row.owner),
        )),
    }
}

fn check_version(row: &IntegrationRow, version: i64) -> Result<(), Status> {
    if version <= 0 {
        return Err(Status::invalid_argument(
            "version is required: pass the version you read",
        ));
    }
    if version != row.version {
        return Err(Status::aborted(format!(
            "integration {} changed since you read it (version {version}, now {}); read it again",
            row.id, row.version
        )));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(integration_id = %request.id))]
pub async fn update(
    state: &State,
    user: User,
    request: pb::UpdateIntegrationRequest,
) -> Result<pb::Integration, Status> {
    let id = parse_id(&request.id, "id")?;
    let Some(spec) = request.spec else {
        return Err(Status::invalid_argument("spec is required"));
    };
    let spec = normalised(spec);
    let row = owned(state, &user, id).await?;
    check_version(&row, request.version)?;
    let who = Identity::User {
        account: user.account.clone(),
        email: user.email.clone(),
    };
    let found = problems(state, &who, &spec).await?;
    if !found.is_empty() {
        return Err(refuse(&found));
    }
    let old = convert::spec(&row);
    let (monday, salesforce) = connection_ids(&spec);
    let encoded = spec.encode_to_vec();
    // Valid settings on usable connections: an integration paused for its connections or a
    // transfer resumes; one created paused or paused by a person waits for its owner's resume.
    let (new_state, new_reason) =
        if row.state == INTEGRATION_PAUSED && !paused_for_settings(&row.state_reason) {
            (row.state, row.state_reason.as_str())
        } else {
            (INTEGRATION_ACTIVE, "")
        };
    let mut tx = state.pool.begin().await.map_err(internal)?;
    let updated = rows::update(
        &mut *tx,
        id,
        request.version,
        &Change {
            owner: &row.owner,
            spec: &encoded,
            monday_connection_id: monday,
            salesforce_connection_id: salesforce,
            state: new_state,
            state_reason: new_reason,
        },
    )
    .await
    .map_err(internal)?
    .ok_or_else(|| {
        Status::aborted(format!(
            "integration {id} changed since you read it (version {}); read it again",
            request.version
        ))
    })?;
    let mut changes = convert::changes(&old, &spec);
    if row.state != new_state {
        changes.push("state: paused -> active".to_owned());
    }
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "integration",
            account: &user.account,
            actor: &user.email,
            action: "updated",
            changes,
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(convert::integration(&updated, true))
}

pub async fn delete(
    state: &State,
    user: User,
    id: &str,
) -> Result<pb::DeleteIntegrationResponse, Status> {
    let id = parse_id(id, "id")?;
    owned(state, &user, id).await?;
    let mut tx = state.pool.begin().await.map_err(internal)?;
    rows::delete(&mut *tx, id).await.map_err(internal)?;
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "integration",
            account: &user.account,
            actor: &user.email,
            action: "deleted",
            changes: Vec::new(),
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(integration_id = %id, "integration deleted");
    Ok(pb::DeleteIntegrationResponse {})
}

/// Pauses or resumes. Users must own the integration; services act for `on_behalf_of`.
#[tracing::instrument(skip_all, fields(integration_id = %request.id))]
pub async fn set_state(
    state: &State,
    who: Identity,
    request: pb::SetIntegrationStateRequest,
) -> Result<pb::Integration, Status> {
    let id = parse_id(&request.id, "id")?;
    let target = match pb::IntegrationState::try_from(request.state) {
        Ok(pb::IntegrationState::Active) => INTEGRATION_ACTIVE,
        Ok(pb::IntegrationState::Paused) => INTEGRATION_PAUSED,
        _ => return Err(Status::invalid_argument("state must be active or paused")),
    };
    let (row, actor) = match &who {
        Identity::User { account, email } => {
            let user = User {
                account: account.clone(),
                email: email.clone(),
            };
            (owned(state, &user, id).await?, email.clone())
        }
        Identity::Service { name } => {
            let actor = match request.on_behalf_of.trim() {
                "" => format!("service:{name}"),
                user => format!("{user} (via service:{name})"),
            };
            (load(state, id).await?, actor)
        }
    };
    let spec = convert::spec(&row);
    if target == INTEGRATION_ACTIVE {
        check_resumable(state, &row, &spec).await?;
    }
    let reason = if target == INTEGRATION_PAUSED {
        match request.reason.trim() {
            "" => format!("paused by {actor}"),
            reason => reason.to_owned(),
        }
    } else {
        String::new()
    };
    if row.state == target && row.state_reason == reason {
        return Ok(convert::integration(&row, true));
    }
    let (monday, salesforce) = connection_ids(&spec);
    let mut tx = state.pool.begin().await.map_err(internal)?;
    let updated = rows::update(
        &mut *tx,
        id,
        row.version,
        &Change {
            owner: &row.owner,
            spec: &row.spec,
            monday_connection_id: monday,
            salesforce_connection_id: salesforce,
            state: target,
            state_reason: &reason,
        },
    )
    .await
    .map_err(internal)?
    .ok_or_else(|| Status::aborted(format!("integration {id} changed meanwhile; try again")))?;
    let (action, changes) = if target == INTEGRATION_PAUSED {
        ("paused", vec![reason.clone()])
    } else {
        ("resumed", Vec::new())
    };
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "integration",
            account: &row.account,
            actor: &actor,
            action,
            changes,
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(convert::integration(&updated, true))
}

/// Refuses with FAILED_PRECONDITION, naming the setting, unless both connections of `spec` are
/// active and belong to the integration's current owner: after a transfer the new owner must
/// first point it at their own connections (UpdateIntegration), or a resume would sync with
/// the previous owner's credentials. Connections are never shared between users.
async fn check_resumable(
    state: &State,
    row: &IntegrationRow,
    spec: &pb::IntegrationSpec,
) -> Result<(), Status> {
    for (field, conn) in [
        ("monday_connection_id", &spec.monday_connection_id),
        ("salesforce_connection_id", &spec.salesforce_connection_id),
    ] {
        let found = match conn.parse::<Uuid>() {
            Ok(cid) => connections::get(&state.pool, cid)
                .await
                .map_err(internal)?
                .filter(|c| c.state == convert::ACTIVE),
            Err(_) => None,
        };
        let Some(found) = found else {
            return Err(Status::failed_precondition(format!(
                "{field} `{conn}` is not an active connection (deleted or needing re-authentication); reconnect it before resuming"
            )));
        };
        if !tandem_service::same_email(&found.owner, &row.owner) || found.account != row.account {
            return Err(Status::failed_precondition(format!(
                "{field} `{conn}` belongs to {}, not to the integration's owner {}; the owner must point the integration at their own connection (UpdateIntegration) before resuming",
                found.owner, row.owner
            )));
        }
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(integration_id = %request.id))]
pub async fn transfer(
    state: &State,
    user: User,
    request: pb::TransferOwnershipRequest,
) -> Result<pb::Integration, Status> {
    let id = parse_id(&request.id, "id")?;
    let new_owner = request.new_owner.trim().to_owned();
    if new_owner.is_empty() || !new_owner.contains('@') {
        return Err(Status::invalid_argument(
            "new_owner must be the email of a user of the same account",
        ));
    }
    let row = owned(state, &user, id).await?;
    check_version(&row, request.version)?;
    let spec = convert::spec(&row);
    // The new owner cannot use someone else's connections: pause until they connect theirs.
    let mut foreign = Vec::new();
    for conn in [&spec.monday_connection_id, &spec.salesforce_connection_id] {
        if let Ok(cid) = conn.parse::<Uuid>()
            && let Some(c) = connections::get(&state.pool, cid).await.map_err(internal)?
            && !tandem_service::same_email(&c.owner, &new_owner)
        {
            foreign.push(cid.to_string());
        }
    }
    let (new_state, reason) = if foreign.is_empty() {
        (row.state, row.state_reason.clone())
    } else {
        (
            INTEGRATION_PAUSED,
            format!(
                "ownership moved to {new_owner}; connection(s) {} belong to {}: the new owner must connect their own and update the integration",
                foreign.join(", "),
                row.owner
            ),
        )
    };
    let (monday, salesforce) = connection_ids(&spec);
    let mut tx = state.pool.begin().await.map_err(internal)?;
    let updated = rows::update(
        &mut *tx,
        id,
        request.version,
        &Change {
            owner: &new_owner,
            spec: &row.spec,
            monday_connection_id: monday,
            salesforce_connection_id: salesforce,
            state: new_state,
            state_reason: &reason,
        },
    )
    .await
    .map_err(internal)?
    .ok_or_else(|| Status::aborted(format!("integration {id} changed since you read it")))?;
    let mut changes = vec![format!("owner: {} -> {new_owner}", row.owner)];
    if new_state != row.state {
        changes.push(format!("state: paused ({reason})"));
    }
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "integration",
            account: &user.account,
            actor: &user.email,
            action: "transferred",
            changes,
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(convert::integration(&updated, false))
}

/// Whether `user` may read the audit log of `subject`: its owner, or for a deleted subject
/// the user who created it.
async fn may_read_audit(state: &State, user: (&str, &str), subject: Uuid) -> Result<bool, Status> {
    let (account, email) = user;
    if let Some(row) = rows::get(&state.pool, subject).await.map_err(internal)? {
        return Ok(row.account == account && tandem_service::same_email(&row.owner, email));
    }
    if let Some(row) = connections::get(&state.pool, subject)
        .await
        .map_err(internal)?
    {
        return Ok(row.account == account && tandem_service::same_email(&row.owner, email));
    }
    Ok(audit::first_entry(&state.pool, subject)
        .await
        .map_err(internal)?
        .is_some_and(|(a, actor)| a == account && tandem_service::same_email(&actor, email)))
}

pub async fn audit_log(
    state: &State,
    who: &Identity,
    request: pb::ListAuditLogRequest,
) -> Result<pb::ListAuditLogResponse, Status> {
    let subject = parse_id(&request.subject_id, "subject_id")?;
    let limit = convert::page_size(request.page.as_ref(), AUDIT_PAGE.0, AUDIT_PAGE.1)?;
    let before = convert::parse_seq(request.page.as_ref())?;
    if let Identity::User { account, email } = who
        && !may_read_audit(state, (account, email), subject).await?
    {
        return Err(Status::permission_denied(format!(
            "only the owner of {subject} reads its audit log"
        )));
    }
    let found = audit::list(&state.pool, subject, before, limit + 1)
        .await
        .map_err(internal)?;
    let more = found.len() as i64 > limit;
    let found = &found[..found.len().min(limit as usize)];
    let next = match (more, found.last()) {
        (true, Some(last)) => convert::seq_token(last.seq),
        _ => String::new(),
    };
    Ok(pb::ListAuditLogResponse {
        entries: found
            .iter()
            .map(|e| pb::AuditEntry {
                subject_id: e.subject_id.to_string(),
                subject_kind: e.subject_kind.clone(),
                actor: e.actor.clone(),
                action: e.action.clone(),
                changes: e.changes.clone(),
                at: Some(convert::timestamp(e.at)),
            })
            .collect(),
        page: Some(pb::PageResponse {
            next_page_token: next,
        }),
    })
}

/// Whether a pause is Tandem's own, for something an update of the settings can fix (a
/// connection deleted or needing re-authentication, connections of a previous owner); a pause
/// by a person ("paused by …" or their own reason) or at creation is theirs to end.
fn paused_for_settings(reason: &str) -> bool {
    (reason.starts_with("connection ")
        && (reason.ends_with(" was deleted") || reason.ends_with(" needs re-authentication")))
        || reason.starts_with("ownership moved to ")
}
