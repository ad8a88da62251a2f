//! The `tandem.v1.MondayConnector` gRPC service: service-only access, request validation,
//! and the one mapping from [`Error`] to gRPC statuses.

use tandem_proto::v1::monday_connector_server::MondayConnector;
use tandem_proto::v1::{
    CreateWebhookRequest, DeleteWebhookRequest, DeleteWebhookResponse, FindItemsRequest,
    GetBoardRequest, GetBoardResponse, GetItemsRequest, GetItemsResponse, ListBoardsRequest,
    ListBoardsResponse, ListUsersRequest, ListUsersResponse, ListWebhooksRequest,
    ListWebhooksResponse, MondayPollRequest, MondayPollResponse, MondayWebhook, WriteItemsRequest,
    WriteItemsResponse,
};
use tandem_service::names::{MAPPING_CONFIG, SYNC_ORCHESTRATOR};
use tandem_service::server::ServiceOnly;
use tandem_service::status::{self, GrpcError};
use tonic::{Code, Request, Response, Status};

use crate::api::{Calls, Monday};
use crate::error::Error;
use crate::{poll, read, registration, schema, write};

#[derive(Clone)]
pub struct MondayConnectorService {
    monday: Monday,
    writes: write::Settings,
}

/// Every RPC here is for Tandem services, never users, and each for the services named:
/// others are refused before their message is read, and again by each handler.
pub const SERVICE_ONLY: ServiceOnly = ServiceOnly(&[
    ("GetBoard", &[MAPPING_CONFIG, SYNC_ORCHESTRATOR]),
    ("ListUsers", &[MAPPING_CONFIG, SYNC_ORCHESTRATOR]),
    ("ListBoards", &[MAPPING_CONFIG]),
    ("PollChanges", &[SYNC_ORCHESTRATOR]),
    ("GetItems", &[SYNC_ORCHESTRATOR]),
    ("FindItems", &[SYNC_ORCHESTRATOR]),
    ("WriteItems", &[SYNC_ORCHESTRATOR]),
    ("CreateWebhook", &[SYNC_ORCHESTRATOR]),
    ("DeleteWebhook", &[SYNC_ORCHESTRATOR]),
    ("ListWebhooks", &[SYNC_ORCHESTRATOR]),
]);

impl MondayConnectorService {
    pub fn new(monday: Monday, writes: write::Settings) -> Self {
        Self { monday, writes }
    }
}

/// The one table from the connector's errors to gRPC codes.
impl GrpcError for Error {
    fn code(&self) -> Code {
        match self {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::Reauthenticate { .. } => Code::FailedPrecondition,
            Error::Credentials { status, .. } => status.code(),
            Error::RateLimited { .. } => Code::ResourceExhausted,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Remote { code, .. } if code == "UserUnauthorizedException" => {
                Code::PermissionDenied
            }
            Error::Remote { .. } => Code::FailedPrecondition,
            Error::Storage(_) | Error::Serve(_) | Error::Config(_) | Error::WebhookBind { .. } => {
                Code::Internal
            }
        }
    }

    /// mapping-config's and monday's own messages, without our wrapping.
    fn message(&self) -> String {
        match self {
            Error::Credentials {
                connection_id,
                status,
            } => format!(
                "credentials of monday connection {connection_id}: {}",
                status.message()
            ),
            Error::Remote { code, message } => format!("monday {code}: {message}"),
            other => other.to_string(),
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        status::status(crate::NAME, &e)
    }
}

pub(crate) fn require(value: &str, field: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::InvalidArgument(format!("{field} is required")));
    }
    Ok(())
}

/// monday ids are decimal numbers.
pub(crate) fn require_id(value: &str, field: &str) -> Result<(), Error> {
    require(value, field)?;
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidArgument(format!(
            "{field} `{value}` is not a monday id (digits only)"
        )));
    }
    Ok(())
}

#[tonic::async_trait]
impl MondayConnector for MondayConnectorService {
    async fn get_board(
        &self,
        request: Request<GetBoardRequest>,
    ) -> Result<Response<GetBoardResponse>, Status> {
        SERVICE_ONLY.require(&request, "GetBoard")?;
        let req = request.into_inner();
        require_id(&req.board_id, "board_id")?;
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let board = schema::get_board(&self.monday, &session, &req.board_id, &mut calls).await?;
        Ok(Response::new(board))
    }

    async fn list_boards(
        &self,
        request: Request<ListBoardsRequest>,
    ) -> Result<Response<ListBoardsResponse>, Status> {
        SERVICE_ONLY.require(&request, "ListBoards")?;
        let req = request.into_inner();
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let boards = schema::list_boards(&self.monday, &session, &mut calls).await?;
        Ok(Response::new(ListBoardsResponse { boards }))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        SERVICE_ONLY.require(&request, "ListUsers")?;
        let req = request.into_inner();
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let users = schema::list_users(&self.monday, &session, &mut calls).await?;
        Ok(Response::new(ListUsersResponse { users }))
    }

    async fn poll_changes(
        &self,
        request: Request<MondayPollRequest>,
    ) -> Result<Response<MondayPollResponse>, Status> {
        SERVICE_ONLY.require(&request, "PollChanges")?;
        let req = request.into_inner();
        require_id(&req.board_id, "board_id")?;
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let resp = poll::poll(&self.monday, &session, &req, &mut calls).await?;
        Ok(Response::new(resp))
    }

    async fn get_items(
        &self,
        request: Request<GetItemsRequest>,
    ) -> Result<Response<GetItemsResponse>, Status> {
        SERVICE_ONLY.require(&request, "GetItems")?;
        let req = request.into_inner();
        require_id(&req.board_id, "board_id")?;
        for (n, id) in req.ids.iter().enumerate() {
            require_id(id, &format!("ids[{n}]"))?;
        }
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let resp = read::get_items(&self.monday, &session, &req, &mut calls).await?;
        Ok(Response::new(resp))
    }

    async fn find_items(
        &self,
        request: Request<FindItemsRequest>,
    ) -> Result<Response<GetItemsResponse>, Status> {
        SERVICE_ONLY.require(&request, "FindItems")?;
        let req = request.into_inner();
        require_id(&req.board_id, "board_id")?;
        if req.column_id.is_empty() {
            return Err(Status::invalid_argument("column_id is required"));
        }
        if req.values.len() > read::MAX_FIND_VALUES {
            return Err(Status::invalid_argument(format!(
                "values holds {}; at most {} per call",
                req.values.len(),
                read::MAX_FIND_VALUES
            )));
        }
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let resp = read::find_items(&self.monday, &session, &req, &mut calls).await?;
        Ok(Response::new(resp))
    }

    async fn write_items(
        &self,
        request: Request<WriteItemsRequest>,
    ) -> Result<Response<WriteItemsResponse>, Status> {
        SERVICE_ONLY.require(&request, "WriteItems")?;
        let req = request.into_inner();
        write::validate(&req)?;
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let resp = write::write(&self.monday, &self.writes, &session, &req, &mut calls).await?;
        Ok(Response::new(resp))
    }

    async fn create_webhook(
        &self,
        request: Request<CreateWebhookRequest>,
    ) -> Result<Response<MondayWebhook>, Status> {
        SERVICE_ONLY.require(&request, "CreateWebhook")?;
        let req = request.into_inner();
        registration::validate(&req)?;
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let hook = registration::create(&self.monday, &session, &req, &mut calls).await?;
        Ok(Response::new(hook))
    }

    async fn delete_webhook(
        &self,
        request: Request<DeleteWebhookRequest>,
    ) -> Result<Response<DeleteWebhookResponse>, Status> {
        SERVICE_ONLY.require(&request, "DeleteWebhook")?;
        let req = request.into_inner();
        require_id(&req.webhook_id, "webhook_id")?;
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        registration::delete(&self.monday, &session, &req.webhook_id, &mut calls).await?;
        Ok(Response::new(DeleteWebhookResponse {}))
    }

    async fn list_webhooks(
        &self,
        request: Request<ListWebhooksRequest>,
    ) -> Result<Response<ListWebhooksResponse>, Status> {
        SERVICE_ONLY.require(&request, "ListWebhooks")?;
        let req = request.into_inner();
        require_id(&req.board_id, "board_id")?;
        let mut calls = Calls::default();
        let session = self.monday.session(&req.connection_id, &mut calls).await?;
        let webhooks =
            registration::list(&self.monday, &session, &req.board_id, &mut calls).await?;
        Ok(Response::new(ListWebhooksResponse { webhooks }))
    }
}
