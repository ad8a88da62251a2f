//! The setup pages' calls to mapping-config, as the signed-in user (their own token): the
//! same RPCs `tandem connect`, `tandem mapping suggest` and `tandem integration create` use.

use tandem_proto::v1 as pb;

use crate::backend::Calls;
use crate::error::Error;

impl Calls<'_> {
    /// The user's connections (both kinds, every state), oldest first.
    pub async fn connections(&self) -> Result<Vec<pb::Connection>, Error> {
        let request = self.req(pb::ListConnectionsRequest {
            page: Some(pb::PageRequest {
                page_size: Some(200),
                page_token: String::new(),
            }),
        })?;
        Ok(self
            .config()
            .list_connections(request)
            .await?
            .into_inner()
            .connections)
    }

    /// Checks and stores a monday API token as a new connection of the user.
    pub async fn connect_monday(&self, token: &str) -> Result<pb::Connection, Error> {
        let request = self.req(pb::CreateConnectionRequest {
            kind: pb::ConnectionKind::Monday as i32,
            monday_token: token.to_owned(),
            ..Default::default()
        })?;
        self.config()
            .create_connection(request)
            .await?
            .into_inner()
            .connection
            .ok_or_else(|| Error::Internal("mapping-config returned no connection".to_owned()))
    }

    /// Starts a Salesforce connection: the authorize URL and the OAuth state to expect back.
    pub async fn start_salesforce(
        &self,
        subdomain: &str,
        environment: pb::SalesforceEnvironment,
        redirect_uri: &str,
    ) -> Result<pb::CreateConnectionResponse, Error> {
        let request = self.req(pb::CreateConnectionRequest {
            kind: pb::ConnectionKind::Salesforce as i32,
            subdomain: subdomain.to_owned(),
            environment: environment as i32,
            redirect_uri: redirect_uri.to_owned(),
            ..Default::default()
        })?;
        Ok(self.config().create_connection(request).await?.into_inner())
    }

    /// Completes a Salesforce connection with its callback's state and code.
    pub async fn complete_salesforce(
        &self,
        state: &str,
        code: &str,
    ) -> Result<pb::Connection, Error> {
        let request = self.req(pb::CompleteSalesforceConnectionRequest {
            state: state.to_owned(),
            code: code.to_owned(),
        })?;
        Ok(self
            .config()
            .complete_salesforce_connection(request)
            .await?
            .into_inner())
    }

    /// The boards a monday connection of the user can read.
    pub async fn boards(&self, connection: &str) -> Result<Vec<pb::BoardSummary>, Error> {
        let request = self.req(pb::ListConnectionBoardsRequest {
            monday_connection_id: connection.to_owned(),
        })?;
        Ok(self
            .config()
            .list_boards(request)
            .await?
            .into_inner()
            .boards)
    }

    /// The objects a Salesforce connection of the user can read.
    pub async fn objects(&self, connection: &str) -> Result<Vec<pb::SObjectSummary>, Error> {
        let request = self.req(pb::ListConnectionObjectsRequest {
            salesforce_connection_id: connection.to_owned(),
        })?;
        Ok(self
            .config()
            .list_objects(request)
            .await?
            .into_inner()
            .objects)
    }

    /// The suggested mapping of a board to an object, with their columns and fields.
    pub async fn suggest(
        &self,
        request: pb::SuggestMappingRequest,
    ) -> Result<pb::SuggestMappingResponse, Error> {
        let request = self.req(request)?;
        Ok(self.config().suggest_mapping(request).await?.into_inner())
    }

    /// Every problem (and warning) of `spec`, nothing saved.
    pub async fn validate(
        &self,
        spec: pb::IntegrationSpec,
    ) -> Result<pb::ValidateIntegrationResponse, Error> {
        let request = self.req(pb::ValidateIntegrationRequest { spec: Some(spec) })?;
        Ok(self
            .config()
            .validate_integration(request)
            .await?
            .into_inner())
    }

    /// Creates the integration paused: nothing syncs until its owner resumes it.
    pub async fn create_paused(&self, spec: pb::IntegrationSpec) -> Result<pb::Integration, Error> {
        let request = self.req(pb::CreateIntegrationRequest {
            spec: Some(spec),
            paused: true,
        })?;
        Ok(self
            .config()
            .create_integration(request)
            .await?
            .into_inner())
    }

    /// Replaces an integration's settings (the caller read it at `version`).
    pub async fn update(
        &self,
        id: &str,
        spec: pb::IntegrationSpec,
        version: i64,
    ) -> Result<pb::Integration, Error> {
        let request = self.req(pb::UpdateIntegrationRequest {
            id: id.to_owned(),
            spec: Some(spec),
            version,
        })?;
        Ok(self
            .config()
            .update_integration(request)
            .await?
            .into_inner())
    }
}
