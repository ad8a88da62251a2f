//! Checks of a spec against the caller's connections and the live board and object (asked
//! from the connectors), and suggested mappings.

use prost::Message as _;
use tandem_core::Direction;
use tandem_proto::v1 as pb;
use tandem_service::Identity;
use tonic::{Code, Status};
use uuid::Uuid;

use super::State;
use super::convert::{ACTIVE, MONDAY, SALESFORCE};
use crate::error::{internal, peer};
use crate::store::connections as rows;
use crate::suggest;
use crate::validate::{self, MAX_MAPPINGS, MAX_SPEC_BYTES, Problem};
use tandem_catalog::{Board, Object};

/// Checks that `field` names a usable connection of `kind` for `who`.
pub(super) async fn check_connection(
    state: &State,
    who: &Identity,
    field: &str,
    text: &str,
    kind: i16,
) -> Result<Result<Uuid, Problem>, Status> {
    let problem = |m: String| Ok(Err(Problem::new(field, m)));
    let Ok(id) = text.trim().parse::<Uuid>() else {
        return problem(format!("`{text}` is not a connection id (a UUID)"));
    };
    let row = rows::get(&state.pool, id).await.map_err(internal)?;
    let row = match (row, who) {
        (Some(r), Identity::User { account, .. }) if r.account != *account => None,
        (r, _) => r,
    };
    let Some(row) = row else {
        return problem(format!("connection {id} does not exist"));
    };
    if row.kind != kind {
        let (is, want) = if kind == MONDAY {
            ("Salesforce", "monday")
        } else {
            ("monday", "Salesforce")
        };
        return problem(format!(
            "connection {id} is a {is} connection, not a {want} one"
        ));
    }
    if let Identity::User { email, .. } = who
        && !tandem_service::same_email(&row.owner, email)
    {
        return problem(format!(
            "connection {id} belongs to {}; connect your own account",
            row.owner
        ));
    }
    if row.state != ACTIVE {
        let why = if row.state_reason.is_empty() {
            "it is not complete".to_owned()
        } else {
            row.state_reason.clone()
        };
        return problem(format!("connection {id} is not usable: {why}"));
    }
    Ok(Ok(id))
}

/// A connector's answer for one side: the catalog, a problem naming the setting, or an
/// error that is not the caller's (unavailable, rate limited).
fn side<T>(
    answer: Result<tonic::Response<T>, Status>,
    peer_name: &str,
    field: &str,
    what: &str,
) -> Result<Result<T, Problem>, Status> {
    match answer {
        Ok(r) => Ok(Ok(r.into_inner())),
        Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => Ok(Err(
            Problem::new(field, format!("{what} was not found: {}", s.message())),
        )),
        Err(s)
            if matches!(
                s.code(),
                Code::FailedPrecondition | Code::PermissionDenied | Code::Unauthenticated
            ) =>
        {
            Ok(Err(Problem::new(
                field,
                format!("{what} cannot be read: {}", s.message()),
            )))
        }
        Err(s) => Err(peer(peer_name, s)),
    }
}

pub(super) async fn board(
    state: &State,
    connection: Uuid,
    board_id: &str,
) -> Result<Result<Board, Problem>, Status> {
    let answer = state
        .peers
        .monday
        .clone()
        .get_board(pb::GetBoardRequest {
            connection_id: connection.to_string(),
            board_id: board_id.to_owned(),
        })
        .await;
    Ok(side(
        answer,
        "connector-monday",
        "board_id",
        &format!("board {board_id}"),
    )?
    .map(|b| Board::from_proto(&b)))
}

pub(super) async fn object(
    state: &State,
    connection: Uuid,
    name: &str,
) -> Result<Result<Object, Problem>, Status> {
    let answer = state
        .peers
        .salesforce
        .clone()
        .describe_object(pb::DescribeObjectRequest {
            connection_id: connection.to_string(),
            object: name.to_owned(),
        })
        .await;
    Ok(side(
        answer,
        "connector-salesforce",
        "salesforce_object",
        &format!("object {name}"),
    )?
    .map(|o| Object::from_proto(&o)))
}

/// Every problem of `spec`, for `who`. Oversized specs are refused before anyone is asked.
/// Create and update need only these, so the budget warnings (a database read) are left out.
pub async fn problems(
    state: &State,
    who: &Identity,
    spec: &pb::IntegrationSpec,
) -> Result<Vec<Problem>, Status> {
    Ok(examine(state, who, spec).await?.0)
}

/// The problems of `spec` and, when it has none that stop it, its warnings (what would work
/// but spend more of a remote's API budget than it should).
pub async fn check(
    state: &State,
    who: &Identity,
    spec: &pb::IntegrationSpec,
) -> Result<(Vec<Problem>, Vec<Problem>), Status> {
    let (out, board_found) = examine(state, who, spec).await?;
    let mut warnings = match &board_found {
        Some(board) if validate::monday_daily_limit(&board.account_tier).is_some() => {
            let others = other_polls_per_day(state, spec).await?;
            validate::budget_warnings(spec, &board.account_tier, others)
        }
        _ => Vec::new(),
    };
    warnings.extend(
        board_found
            .as_ref()
            .and_then(|board| validate::key_column_notice(spec, board)),
    );
    Ok((out, warnings))
}

/// The problems of `spec`, and its board when monday described it.
async fn examine(
    state: &State,
    who: &Identity,
    spec: &pb::IntegrationSpec,
) -> Result<(Vec<Problem>, Option<Board>), Status> {
    let size = spec.encoded_len();
    let mut out = validate::check_shape(spec, size);
    if size > MAX_SPEC_BYTES || spec.mappings.len() > MAX_MAPPINGS {
        return Ok((out, None));
    }
    // Both sides are asked at once.
    let (monday, salesforce) = tokio::join!(
        monday_side(state, who, spec),
        salesforce_side(state, who, spec)
    );
    let (board_found, monday_problems) = monday?;
    let (object_found, salesforce_problems) = salesforce?;
    out.extend(monday_problems);
    out.extend(salesforce_problems);
    out.extend(validate::check_against(
        spec,
        board_found.as_ref(),
        object_found.as_ref(),
    ));
    Ok((out, board_found))
}

/// monday calls a day the other active integrations on `spec`'s monday connection poll with
/// (an integration on the same board and object counts as this one, being re-validated).
async fn other_polls_per_day(state: &State, spec: &pb::IntegrationSpec) -> Result<u64, Status> {
    let Ok(connection) = spec.monday_connection_id.trim().parse::<Uuid>() else {
        return Ok(0);
    };
    let specs: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT spec FROM integrations WHERE monday_connection_id = $1 AND state = 1",
    )
    .bind(connection)
    .fetch_all(&state.pool)
    .await
    .map_err(internal)?;
    Ok(specs
        .iter()
        .filter_map(|bytes| pb::IntegrationSpec::decode(bytes.as_slice()).ok())
        .filter(|other| {
            !(other.board_id == spec.board_id && other.salesforce_object == spec.salesforce_object)
        })
        .map(|other| validate::polls_per_day(other.poll_interval_seconds))
        .sum())
}

/// The board of the spec, if its connection is usable and it exists, and the problems found.
pub(super) async fn monday_side(
    state: &State,
    who: &Identity,
    spec: &pb::IntegrationSpec,
) -> Result<(Option<Board>, Vec<Problem>), Status> {
    if spec.monday_connection_id.trim().is_empty() {
        return Ok((None, Vec::new()));
    }
    let checked = check_connection(
        state,
        who,
        "monday_connection_id",
        &spec.monday_connection_id,
        MONDAY,
    )
    .await?;
    Ok(match checked {
        Ok(id) if !spec.board_id.trim().is_empty() => {
            match board(state, id, spec.board_id.trim()).await? {
                Ok(b) => (Some(b), Vec::new()),
                Err(p) => (None, vec![p]),
            }
        }
        Ok(_) => (None, Vec::new()),
        Err(p) => (None, vec![p]),
    })
}

/// The object of the spec, if its connection is usable and it exists, and the problems found.
pub(super) async fn salesforce_side(
    state: &State,
    who: &Identity,
    spec: &pb::IntegrationSpec,
) -> Result<(Option<Object>, Vec<Problem>), Status> {
    if spec.salesforce_connection_id.trim().is_empty() {
        return Ok((None, Vec::new()));
    }
    let checked = check_connection(
        state,
        who,
        "salesforce_connection_id",
        &spec.salesforce_connection_id,
        SALESFORCE,
    )
    .await?;
    Ok(match checked {
        Ok(id) if !spec.salesforce_object.trim().is_empty() => {
            match object(state, id, spec.salesforce_object.trim()).await? {
                Ok(o) => (Some(o), Vec::new()),
                Err(p) => (None, vec![p]),
            }
        }
        Ok(_) => (None, Vec::new()),
        Err(p) => (None, vec![p]),
    })
}

/// The problems as one INVALID_ARGUMENT message, each naming its setting.
pub fn refuse(problems: &[Problem]) -> Status {
    let list: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect();
    Status::invalid_argument(format!(
        "the integration has {} problem(s): {}",
        problems.len(),
        list.join("; ")
    ))
}

pub async fn suggest(
    state: &State,
    who: &Identity,
    request: pb::SuggestMappingRequest,
) -> Result<pb::SuggestMappingResponse, Status> {
    let first = |p: Problem| Status::invalid_argument(format!("{}: {}", p.field, p.message));
    if request.board_id.trim().is_empty() {
        return Err(Status::invalid_argument("board_id is required"));
    }
    if request.salesforce_object.trim().is_empty() {
        return Err(Status::invalid_argument("salesforce_object is required"));
    }
    let monday = check_connection(
        state,
        who,
        "monday_connection_id",
        &request.monday_connection_id,
        MONDAY,
    )
    .await?
    .map_err(first)?;
    let salesforce = check_connection(
        state,
        who,
        "salesforce_connection_id",
        &request.salesforce_connection_id,
        SALESFORCE,
    )
    .await?
    .map_err(first)?;
    let board = board(state, monday, request.board_id.trim())
        .await?
        .map_err(first)?;
    let object = object(state, salesforce, request.salesforce_object.trim())
        .await?
        .map_err(first)?;
    let (setup_columns, setup_fields) = super::setup::choices(&board, &object);
    let columns: Vec<_> = board.columns.into_values().collect();
    let fields: Vec<_> = object.fields.into_values().collect();
    let (suggestions, unmatched) = suggest::suggest(&columns, &fields, Direction::Both);
    Ok(pb::SuggestMappingResponse {
        suggestions: suggestions
            .into_iter()
            .map(|s| pb::SuggestedMapping {
                mapping: Some(pb::FieldMapping {
                    monday_column_id: s.column,
                    salesforce_field: s.field,
                    direction: match s.direction {
                        Direction::Both => pb::Direction::Both,
                        Direction::MondayToSalesforce => pb::Direction::MondayToSalesforce,
                        Direction::SalesforceToMonday => pb::Direction::SalesforceToMonday,
                    } as i32,
                    options: None,
                }),
                confidence: s.confidence,
                reason: s.reason,
            })
            .collect(),
        unmatched_required_fields: unmatched,
        columns: setup_columns,
        fields: setup_fields,
    })
}
