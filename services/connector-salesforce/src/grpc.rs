//! The `tandem.v1.SalesforceConnector` gRPC service: every RPC is for Tandem services
//! (mapping-config, the orchestrator), never users; and the one mapping from the connector's
//! [`Error`] to a gRPC status.

use std::sync::Arc;

use tandem_proto::v1::salesforce_connector_server::SalesforceConnector;
use tandem_proto::v1::*;
use tandem_service::names::{MAPPING_CONFIG, SYNC_ORCHESTRATOR};
use tandem_service::server::ServiceOnly;
use tandem_service::status::{self, GrpcError};
use tonic::{Code, Request, Response, Status};

use crate::api::Api;
use crate::error::{Error, StreamFailure};
use crate::oauth::{OAuth, Org};

/// Handlers of the SalesforceConnector RPCs.
#[derive(Clone)]
pub struct SalesforceConnectorService {
    oauth: OAuth,
    api: Arc<Api>,
    cdc: Arc<crate::cdc::Subscriber>,
}

/// Every RPC here is for the Tandem services named (mapping-config connects orgs and reads
/// their schema; the orchestrator syncs): users and other services are refused before their
/// message is read, and again by each handler.
pub const SERVICE_ONLY: ServiceOnly = ServiceOnly(&[
    ("AuthorizeUrl", &[MAPPING_CONFIG]),
    ("ExchangeCode", &[MAPPING_CONFIG]),
    ("RefreshToken", &[MAPPING_CONFIG]),
    ("RevokeToken", &[MAPPING_CONFIG]),
    ("DescribeGlobal", &[MAPPING_CONFIG, SYNC_ORCHESTRATOR]),
    ("DescribeObject", &[MAPPING_CONFIG, SYNC_ORCHESTRATOR]),
    ("GetOrganization", &[MAPPING_CONFIG, SYNC_ORCHESTRATOR]),
    ("PollChanges", &[SYNC_ORCHESTRATOR]),
    ("GetRecords", &[SYNC_ORCHESTRATOR]),
    ("FindRecords", &[SYNC_ORCHESTRATOR]),
    ("WriteRecords", &[SYNC_ORCHESTRATOR]),
    ("FindUsers", &[SYNC_ORCHESTRATOR]),
    ("StreamChanges", &[SYNC_ORCHESTRATOR]),
    ("BulkWrite", &[SYNC_ORCHESTRATOR]),
    ("BulkQuery", &[SYNC_ORCHESTRATOR]),
    ("GetBulkSettings", &[SYNC_ORCHESTRATOR]),
]);

impl SalesforceConnectorService {
    pub fn new(oauth: OAuth, api: Arc<Api>, cdc: Arc<crate::cdc::Subscriber>) -> Self {
        Self { oauth, api, cdc }
    }
}

/// The one table from the connector's errors to gRPC codes.
impl GrpcError for Error {
    fn code(&self) -> Code {
        match self {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::NotConfigured(_) | Error::NeedsReauthentication { .. } => {
                Code::FailedPrecondition
            }
            Error::OAuth { during, error, .. } => {
                let caller_input = *during == "authorization code exchange"
                    && matches!(
                        error.as_str(),
                        "invalid_grant" | "invalid_request" | "redirect_uri_mismatch"
                    );
                if caller_input {
                    Code::InvalidArgument
                } else {
                    Code::FailedPrecondition
                }
            }
            Error::Credentials { status, .. } => match status.code() {
                code @ (Code::NotFound | Code::InvalidArgument | Code::FailedPrecondition) => code,
                Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
                    Code::Unavailable
                }
                _ => Code::Internal,
            },
            Error::Remote { status, .. } => match status {
                400 => Code::InvalidArgument,
                401 => Code::FailedPrecondition,
                403 => Code::PermissionDenied,
                404 => Code::NotFound,
                409 => Code::Aborted,
                500..=599 => Code::Unavailable,
                _ => Code::FailedPrecondition,
            },
            Error::RequestLimit { .. } | Error::BudgetSpent { .. } => Code::ResourceExhausted,
            Error::Unavailable(_) | Error::Protocol(_) => Code::Unavailable,
            Error::ChangeEvents { failure, .. } => match failure {
                StreamFailure::ReplayGone => Code::OutOfRange,
                StreamFailure::NoTopic => Code::NotFound,
                StreamFailure::AllocationSpent => Code::ResourceExhausted,
                StreamFailure::Dropped => Code::Unavailable,
            },
            Error::Storage(_) | Error::Serve(_) | Error::Config(_) => Code::Internal,
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        if let Error::Protocol(_) = e {
            tracing::error!(error = %e, "unexpected salesforce response");
        }
        status::status(crate::NAME, &e)
    }
}

#[tonic::async_trait]
impl SalesforceConnector for SalesforceConnectorService {
    async fn stream_changes(
        &self,
        request: Request<StreamChangesRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<ChangeEventBatch>>, Status> {
        SERVICE_ONLY.require(&request, "StreamChanges")?;
        let stream = crate::cdc::stream(&self.api, &self.cdc, request.into_inner()).await?;
        Ok(Response::new(Box::pin(stream)))
    }

    async fn authorize_url(
        &self,
        request: Request<AuthorizeUrlRequest>,
    ) -> Result<Response<AuthorizeUrlResponse>, Status> {
        SERVICE_ONLY.require(&request, "AuthorizeUrl")?;
        let r = request.into_inner();
        let org = Org::parse(&r.subdomain, r.environment)?;
        let url = self
            .oauth
            .authorize_url(&org, &r.redirect_uri, &r.state, &r.code_challenge)?;
        Ok(Response::new(AuthorizeUrlResponse { url }))
    }

    async fn exchange_code(
        &self,
        request: Request<ExchangeCodeRequest>,
    ) -> Result<Response<ExchangeCodeResponse>, Status> {
        SERVICE_ONLY.require(&request, "ExchangeCode")?;
        let r = request.into_inner();
        let org = Org::parse(&r.subdomain, r.environment)?;
        let tokens = self
            .oauth
            .exchange_code(&org, &r.code, &r.redirect_uri, &r.code_verifier)
            .await?;
        tracing::info!(subdomain = %org.subdomain, org_id = %tokens.org_id, "salesforce code exchanged");
        Ok(Response::new(tokens))
    }

    async fn refresh_token(
        &self,
        request: Request<RefreshTokenRequest>,
    ) -> Result<Response<ExchangeCodeResponse>, Status> {
        SERVICE_ONLY.require(&request, "RefreshToken")?;
        let r = request.into_inner();
        let org = Org::parse(&r.subdomain, r.environment)?;
        let tokens = self.oauth.refresh(&org, &r.refresh_token).await?;
        tracing::info!(subdomain = %org.subdomain, "salesforce token refreshed");
        Ok(Response::new(tokens))
    }

    async fn revoke_token(
        &self,
        request: Request<RevokeTokenRequest>,
    ) -> Result<Response<RevokeTokenResponse>, Status> {
        SERVICE_ONLY.require(&request, "RevokeToken")?;
        let r = request.into_inner();
        let org = Org::parse(&r.subdomain, r.environment)?;
        self.oauth.revoke(&org, &r.token).await?;
        tracing::info!(subdomain = %org.subdomain, "salesforce token revoked");
        Ok(Response::new(RevokeTokenResponse {}))
    }

    async fn describe_global(
        &self,
        request: Request<DescribeGlobalRequest>,
    ) -> Result<Response<DescribeGlobalResponse>, Status> {
        SERVICE_ONLY.require(&request, "DescribeGlobal")?;
        let r = request.into_inner();
        let objects = self.api.describe_global(&r.connection_id).await?;
        Ok(Response::new(DescribeGlobalResponse { objects }))
    }

    async fn describe_object(
        &self,
        request: Request<DescribeObjectRequest>,
    ) -> Result<Response<DescribeObjectResponse>, Status> {
        SERVICE_ONLY.require(&request, "DescribeObject")?;
        let r = request.into_inner();
        let described = self
            .api
            .describe_object(&r.connection_id, &r.object)
            .await?;
        Ok(Response::new(described.to_response()))
    }

    async fn poll_changes(
        &self,
        request: Request<SalesforcePollRequest>,
    ) -> Result<Response<SalesforcePollResponse>, Status> {
        SERVICE_ONLY.require(&request, "PollChanges")?;
        Ok(Response::new(self.api.poll(request.into_inner()).await?))
    }

    async fn get_records(
        &self,
        request: Request<GetRecordsRequest>,
    ) -> Result<Response<GetRecordsResponse>, Status> {
        SERVICE_ONLY.require(&request, "GetRecords")?;
        Ok(Response::new(
            self.api.get_records(request.into_inner()).await?,
        ))
    }

    async fn find_records(
        &self,
        request: Request<FindRecordsRequest>,
    ) -> Result<Response<GetRecordsResponse>, Status> {
        SERVICE_ONLY.require(&request, "FindRecords")?;
        Ok(Response::new(
            self.api.find_records(request.into_inner()).await?,
        ))
    }

    async fn write_records(
        &self,
        request: Request<WriteRecordsRequest>,
    ) -> Result<Response<WriteRecordsResponse>, Status> {
        SERVICE_ONLY.require(&request, "WriteRecords")?;
        Ok(Response::new(self.api.write(request.into_inner()).await?))
    }

    async fn bulk_write(
        &self,
        request: Request<BulkWriteRequest>,
    ) -> Result<Response<BulkWriteResponse>, Status> {
        SERVICE_ONLY.require(&request, "BulkWrite")?;
        Ok(Response::new(
            self.api.bulk_write(request.into_inner()).await?,
        ))
    }

    async fn bulk_query(
        &self,
        request: Request<BulkQueryRequest>,
    ) -> Result<Response<BulkQueryResponse>, Status> {
        SERVICE_ONLY.require(&request, "BulkQuery")?;
        Ok(Response::new(
            self.api.bulk_query(request.into_inner()).await?,
        ))
    }

    async fn get_bulk_settings(
        &self,
        request: Request<GetBulkSettingsRequest>,
    ) -> Result<Response<BulkSettings>, Status> {
        SERVICE_ONLY.require(&request, "GetBulkSettings")?;
        Ok(Response::new(self.api.bulk_settings()))
    }

    async fn find_users(
        &self,
        request: Request<FindUsersRequest>,
    ) -> Result<Response<FindUsersResponse>, Status> {
        SERVICE_ONLY.require(&request, "FindUsers")?;
        Ok(Response::new(
            self.api.find_users(request.into_inner()).await?,
        ))
    }

    async fn get_organization(
        &self,
        request: Request<GetOrganizationRequest>,
    ) -> Result<Response<Organization>, Status> {
        SERVICE_ONLY.require(&request, "GetOrganization")?;
        Ok(Response::new(
            self.api.organization(request.into_inner()).await?,
        ))
    }
}
