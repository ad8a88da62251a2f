//! Setup help for the web console's pages: the boards and objects a user's own connection can
//! reach, and a board's columns and an object's fields with the pairs that convert (returned
//! with SuggestMapping, which reads both already).

use tandem_catalog::{Board, Object};
use tandem_core::{Direction, MappingOptions, SalesforceKind, validate_mapping};
use tandem_proto::v1 as pb;
use tandem_service::Identity;
use tonic::{Code, Status};

use super::State;
use super::convert::{MONDAY, SALESFORCE};
use super::integrity::check_connection;
use crate::error::peer;

/// The problem with a connection as INVALID_ARGUMENT naming the request's field.
fn refuse(p: crate::validate::Problem) -> Status {
    Status::invalid_argument(format!("{}: {}", p.field, p.message))
}

/// A connector's refusal of the connection's token as FAILED_PRECONDITION (the user must
/// reconnect); unavailability and rate limits pass through as they are.
fn connector_error(name: &str, field: &str, status: Status) -> Status {
    match status.code() {
        Code::Unauthenticated | Code::PermissionDenied | Code::FailedPrecondition => {
            Status::failed_precondition(format!(
                "{field}: the connection cannot be read: {}",
                status.message()
            ))
        }
        _ => peer(name, status),
    }
}

/// The boards the caller's own active monday connection can read.
pub async fn list_boards(
    state: &State,
    who: &Identity,
    request: pb::ListConnectionBoardsRequest,
) -> Result<pb::ListBoardsResponse, Status> {
    let field = "monday_connection_id";
    let id = check_connection(state, who, field, &request.monday_connection_id, MONDAY)
        .await?
        .map_err(refuse)?;
    state
        .peers
        .monday
        .clone()
        .list_boards(pb::ListBoardsRequest {
            connection_id: id.to_string(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| connector_error("connector-monday", field, s))
}

/// The objects the caller's own active Salesforce connection can read, by label.
pub async fn list_objects(
    state: &State,
    who: &Identity,
    request: pb::ListConnectionObjectsRequest,
) -> Result<pb::DescribeGlobalResponse, Status> {
    let field = "salesforce_connection_id";
    let id = check_connection(
        state,
        who,
        field,
        &request.salesforce_connection_id,
        SALESFORCE,
    )
    .await?
    .map_err(refuse)?;
    let mut answer = state
        .peers
        .salesforce
        .clone()
        .describe_global(pb::DescribeGlobalRequest {
            connection_id: id.to_string(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| connector_error("connector-salesforce", field, s))?;
    answer.objects.sort_by_key(|o| o.label.to_lowercase());
    Ok(answer)
}

/// The board's columns (each with the fields it converts with, and which ways) and the
/// object's fields, in the board's and the object's order of names.
pub fn choices(board: &Board, object: &Object) -> (Vec<pb::SetupColumn>, Vec<pb::SetupField>) {
    let options = MappingOptions::default();
    let converts =
        |field, column, direction| validate_mapping(field, column, direction, &options).is_ok();
    let columns = board
        .columns
        .values()
        .map(|column| {
            let read_only = column.kind.is_read_only() || board.read_only.contains(&column.id);
            let compatible = object
                .fields
                .values()
                .filter_map(|field| {
                    let to_salesforce = converts(field, column, Direction::MondayToSalesforce);
                    let to_monday =
                        !read_only && converts(field, column, Direction::SalesforceToMonday);
                    (to_salesforce || to_monday).then(|| pb::CompatibleField {
                        field: field.name.clone(),
                        to_salesforce,
                        to_monday,
                    })
                })
                .collect();
            pb::SetupColumn {
                id: column.id.clone(),
                title: column.title.clone(),
                kind: column.kind.to_string(),
                read_only,
                compatible,
            }
        })
        .collect();
    let fields = object
        .fields
        .values()
        .map(|f| pb::SetupField {
            name: f.name.clone(),
            label: f.label.clone(),
            kind: f.kind.to_string(),
            required: f.required && !f.is_read_only(),
            read_only: f.is_read_only(),
            link_key: f.kind == SalesforceKind::Id
                || f.kind == SalesforceKind::Email
                || object.external_ids.contains(&f.name),
        })
        .collect();
    (columns, fields)
}
