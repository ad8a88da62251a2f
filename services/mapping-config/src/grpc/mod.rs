//! The `tandem.v1.MappingConfig` gRPC service: one file per group of RPCs; this one holds the
//! shared state, the caller checks and the trait implementation that dispatches to them.

mod connections;
mod convert;
mod credentials;
mod describe;
mod integration_list;
mod integrations;
mod integrity;
mod oauth;
mod setup;

use std::sync::Arc;

use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_server::MappingConfig;
use tandem_service::Identity;
use tandem_service::names::{CONNECTOR_MONDAY, CONNECTOR_SALESFORCE, SYNC_ORCHESTRATOR};
use tandem_service::server::ServiceOnly;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::crypto::KeyRing;
use crate::peers::Peers;

/// The RPCs only the connectors call (they read the credentials of their own side): users
/// and other services are refused before their message is read, and again by each handler.
pub const SERVICE_ONLY: ServiceOnly = ServiceOnly(&[
    ("GetCredentials", &[CONNECTOR_SALESFORCE, CONNECTOR_MONDAY]),
    (
        "RefreshCredentials",
        &[CONNECTOR_SALESFORCE, CONNECTOR_MONDAY],
    ),
]);

/// The RPCs users call that some services call too (with every account's view): other
/// services, and services for other RPCs, are refused before the message is read, and again
/// by each handler.
pub const SHARED: ServiceOnly = ServiceOnly(&[
    ("GetIntegration", &[SYNC_ORCHESTRATOR]),
    // The orchestrator follows and routes by them; connector-monday's webhook ingress checks
    // that an event's account watches its board.
    ("ListIntegrations", &[SYNC_ORCHESTRATOR, CONNECTOR_MONDAY]),
    ("SetIntegrationState", &[SYNC_ORCHESTRATOR]),
]);

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct MappingConfigService {
    inner: Arc<State>,
}

pub(crate) struct State {
    pub pool: sqlx::PgPool,
    pub redis: tandem_service::Redis,
    pub redis_prefix: String,
    pub keys: KeyRing,
    pub peers: Peers,
}

impl MappingConfigService {
    pub fn new(
        pool: sqlx::PgPool,
        redis: tandem_service::Redis,
        redis_prefix: String,
        keys: KeyRing,
        peers: Peers,
    ) -> Self {
        Self {
            inner: Arc::new(State {
                pool,
                redis,
                redis_prefix,
                keys,
                peers,
            }),
        }
    }
}

/// A person acting in an account.
pub(crate) struct User {
    pub account: String,
    pub email: String,
}

/// The caller's identity.
fn identity<T>(request: &Request<T>) -> Result<Identity, Status> {
    Identity::of(request).cloned()
}

/// The calling user; services are refused with `PERMISSION_DENIED`.
fn user_only<T>(request: &Request<T>, rpc: &str) -> Result<User, Status> {
    match identity(request)? {
        Identity::User { account, email } => Ok(User { account, email }),
        Identity::Service { .. } => Err(Status::permission_denied(format!(
            "{rpc} acts for a user; call it with a user's token"
        ))),
    }
}

/// Who is named in the audit log.
fn actor(identity: &Identity) -> String {
    match identity {
        Identity::User { email, .. } => email.clone(),
        Identity::Service { name } => format!("service:{name}"),
    }
}

fn parse_id(text: &str, field: &str) -> Result<Uuid, Status> {
    if text.trim().is_empty() {
        return Err(Status::invalid_argument(format!("{field} is required")));
    }
    text.trim()
        .parse()
        .map_err(|_| Status::invalid_argument(format!("{field} `{text}` is not an id (a UUID)")))
}

#[tonic::async_trait]
impl MappingConfig for MappingConfigService {
    async fn create_connection(
        &self,
        request: Request<pb::CreateConnectionRequest>,
    ) -> Result<Response<pb::CreateConnectionResponse>, Status> {
        let user = user_only(&request, "CreateConnection")?;
        connections::create(&self.inner, user, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn complete_salesforce_connection(
        &self,
        request: Request<pb::CompleteSalesforceConnectionRequest>,
    ) -> Result<Response<pb::Connection>, Status> {
        let user = user_only(&request, "CompleteSalesforceConnection")?;
        oauth::complete(&self.inner, user, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_connection(
        &self,
        request: Request<pb::GetConnectionRequest>,
    ) -> Result<Response<pb::Connection>, Status> {
        let who = identity(&request)?;
        connections::get(&self.inner, &who, &request.into_inner().id)
            .await
            .map(Response::new)
    }

    async fn list_connections(
        &self,
        request: Request<pb::ListConnectionsRequest>,
    ) -> Result<Response<pb::ListConnectionsResponse>, Status> {
        let user = user_only(&request, "ListConnections")?;
        connections::list(&self.inner, user, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn delete_connection(
        &self,
        request: Request<pb::DeleteConnectionRequest>,
    ) -> Result<Response<pb::DeleteConnectionResponse>, Status> {
        let user = user_only(&request, "DeleteConnection")?;
        connections::delete(&self.inner, user, &request.into_inner().id)
            .await
            .map(Response::new)
    }

    async fn create_integration(
        &self,
        request: Request<pb::CreateIntegrationRequest>,
    ) -> Result<Response<pb::Integration>, Status> {
        let user = user_only(&request, "CreateIntegration")?;
        integrations::create(&self.inner, user, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_integration(
        &self,
        request: Request<pb::GetIntegrationRequest>,
    ) -> Result<Response<pb::Integration>, Status> {
        SHARED.require_if_service(&request, "GetIntegration")?;
        let who = identity(&request)?;
        integrations::get(&self.inner, &who, &request.into_inner().id)
            .await
            .map(Response::new)
    }

    async fn list_integrations(
        &self,
        request: Request<pb::ListIntegrationsRequest>,
    ) -> Result<Response<pb::ListIntegrationsResponse>, Status> {
        SHARED.require_if_service(&request, "ListIntegrations")?;
        let who = identity(&request)?;
        integration_list::list(&self.inner, &who, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_integration(
        &self,
        request: Request<pb::UpdateIntegrationRequest>,
    ) -> Result<Response<pb::Integration>, Status> {
        let user = user_only(&request, "UpdateIntegration")?;
        integrations::update(&self.inner, user, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn delete_integration(
        &self,
        request: Request<pb::DeleteIntegrationRequest>,
    ) -> Result<Response<pb::DeleteIntegrationResponse>, Status> {
        let user = user_only(&request, "DeleteIntegration")?;
        integrations::delete(&self.inner, user, &request.into_inner().id)
            .await
            .map(Response::new)
    }

    async fn set_integration_state(
        &self,
        request: Request<pb::SetIntegrationStateRequest>,
    ) -> Result<Response<pb::Integration>, Status> {
        SHARED.require_if_service(&request, "SetIntegrationState")?;
        let who = identity(&request)?;
        integrations::set_state(&self.inner, who, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Result<Response<pb::Integration>, Status> {
        let user = user_only(&request, "TransferOwnership")?;
        integrations::transfer(&self.inner, user, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn validate_integration(
        &self,
        request: Request<pb::ValidateIntegrationRequest>,
    ) -> Result<Response<pb::ValidateIntegrationResponse>, Status> {
        let who = identity(&request)?;
        let spec = request.into_inner().spec.unwrap_or_default();
        let (problems, warnings) = integrity::check(&self.inner, &who, &spec).await?;
        let to_proto = |found: Vec<crate::validate::Problem>| -> Vec<pb::ValidationProblem> {
            found
                .into_iter()
                .map(|p| pb::ValidationProblem {
                    field: p.field,
                    message: p.message,
                })
                .collect()
        };
        Ok(Response::new(pb::ValidateIntegrationResponse {
            valid: problems.is_empty(),
            problems: to_proto(problems),
            warnings: to_proto(warnings),
        }))
    }

    async fn suggest_mapping(
        &self,
        request: Request<pb::SuggestMappingRequest>,
    ) -> Result<Response<pb::SuggestMappingResponse>, Status> {
        let who = identity(&request)?;
        integrity::suggest(&self.inner, &who, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_boards(
        &self,
        request: Request<pb::ListConnectionBoardsRequest>,
    ) -> Result<Response<pb::ListBoardsResponse>, Status> {
        let user = user_only(&request, "ListBoards")?;
        let who = Identity::User {
            account: user.account,
            email: user.email,
        };
        setup::list_boards(&self.inner, &who, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_objects(
        &self,
        request: Request<pb::ListConnectionObjectsRequest>,
    ) -> Result<Response<pb::DescribeGlobalResponse>, Status> {
        let user = user_only(&request, "ListObjects")?;
        let who = Identity::User {
            account: user.account,
            email: user.email,
        };
        setup::list_objects(&self.inner, &who, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn describe_mappings(
        &self,
        request: Request<pb::DescribeMappingsRequest>,
    ) -> Result<Response<pb::DescribeMappingsResponse>, Status> {
        let user = user_only(&request, "DescribeMappings")?;
        let id = request.into_inner().integration_id;
        describe::describe(&self.inner, user, &id)
            .await
            .map(Response::new)
    }

    async fn get_credentials(
        &self,
        request: Request<pb::GetCredentialsRequest>,
    ) -> Result<Response<pb::Credentials>, Status> {
        SERVICE_ONLY.require(&request, "GetCredentials")?;
        let id = parse_id(&request.get_ref().connection_id, "connection_id")?;
        credentials::get(&self.inner, id).await.map(Response::new)
    }

    async fn refresh_credentials(
        &self,
        request: Request<pb::RefreshCredentialsRequest>,
    ) -> Result<Response<pb::Credentials>, Status> {
        SERVICE_ONLY.require(&request, "RefreshCredentials")?;
        let who = identity(&request)?;
        let request = request.into_inner();
        let id = parse_id(&request.connection_id, "connection_id")?;
        credentials::refresh(&self.inner, &who, id, &request.stale_access_token)
            .await
            .map(Response::new)
    }

    async fn list_audit_log(
        &self,
        request: Request<pb::ListAuditLogRequest>,
    ) -> Result<Response<pb::ListAuditLogResponse>, Status> {
        let who = identity(&request)?;
        integrations::audit_log(&self.inner, &who, request.into_inner())
            .await
            .map(Response::new)
    }
}
