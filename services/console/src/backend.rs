//! The services the console calls, always as the signed-in user: each request carries the
//! user's own bearer token, so mapping-config, the orchestrator and run-history decide what
//! the user may see and do exactly as they do for the `tandem` command. The console has no
//! identity of its own and no way around their checks.

use std::time::Duration;

use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_service::tls::Tls;
use tonic::transport::{Channel, Endpoint};

use crate::config::Peers;
use crate::error::Error;
use crate::session::User;

/// Lazily connected channels to the three services. Cheap to clone.
#[derive(Clone)]
pub struct Backend {
    mapping_config: Channel,
    orchestrator: Channel,
    history: Channel,
}

/// A manual cycle can take a while on a large integration.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

fn channel(url: &str, tls: &Tls) -> Result<Channel, String> {
    let refuse = |reason: String| format!("peer url `{url}`: {reason}");
    let mut endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| refuse(e.to_string()))?;
    if endpoint.uri().scheme_str() == Some("https") {
        let host = endpoint.uri().host().unwrap_or_default().to_owned();
        endpoint = endpoint
            .tls_config(tls.client(&host).map_err(refuse)?)
            .map_err(|e| refuse(e.to_string()))?;
    }
    Ok(endpoint
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_TIMEOUT)
        .connect_lazy())
}

impl Backend {
    pub fn new(peers: &Peers, tls: &Tls) -> Result<Self, String> {
        Ok(Backend {
            mapping_config: channel(&peers.mapping_config_url, tls)?,
            orchestrator: channel(&peers.sync_orchestrator_url, tls)?,
            history: channel(&peers.run_history_url, tls)?,
        })
    }

    /// The calls `user` makes.
    pub fn as_user<'a>(&'a self, user: &'a User) -> Calls<'a> {
        Calls {
            backend: self,
            user,
        }
    }
}

/// Calls made as one user.
pub struct Calls<'a> {
    backend: &'a Backend,
    pub(crate) user: &'a User,
}

impl Calls<'_> {
    pub(crate) fn req<T>(&self, message: T) -> Result<tonic::Request<T>, Error> {
        let mut request = tonic::Request::new(message);
        let value = self
            .user
            .token
            .header()
            .parse()
            .map_err(|_| Error::NotSignedIn)?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    pub(crate) fn config(&self) -> MappingConfigClient<Channel> {
        MappingConfigClient::new(self.backend.mapping_config.clone())
    }

    fn orchestrator(&self) -> SyncOrchestratorClient<Channel> {
        SyncOrchestratorClient::new(self.backend.orchestrator.clone())
    }

    fn history(&self) -> RunHistoryClient<Channel> {
        RunHistoryClient::new(self.backend.history.clone())
    }

    /// One page of the account's integrations: `page_size` of them after `page_token`, only
    /// those in `state` (unspecified: any) and owned by `owner` (empty: anyone's).
    pub async fn integrations(
        &self,
        state: pb::IntegrationState,
        owner: &str,
        page_size: u32,
        page_token: String,
    ) -> Result<pb::ListIntegrationsResponse, Error> {
        let request = self.req(pb::ListIntegrationsRequest {
            page: Some(pb::PageRequest {
                page_size: Some(page_size),
                page_token,
            }),
            state: state as i32,
            owner: owner.to_owned(),
            ..Default::default()
        })?;
        Ok(self.config().list_integrations(request).await?.into_inner())
    }

    pub async fn integration(&self, id: &str) -> Result<pb::Integration, Error> {
        let request = self.req(pb::GetIntegrationRequest { id: id.to_owned() })?;
        Ok(self.config().get_integration(request).await?.into_inner())
    }

    /// The integration's mappings as the live board and object describe them (its owner only).
    pub async fn describe_mappings(&self, id: &str) -> Result<pb::DescribeMappingsResponse, Error> {
        let request = self.req(pb::DescribeMappingsRequest {
            integration_id: id.to_owned(),
        })?;
        Ok(self.config().describe_mappings(request).await?.into_inner())
    }

    pub async fn status(&self, id: &str) -> Result<pb::IntegrationStatus, Error> {
        let request = self.req(pb::GetIntegrationStatusRequest {
            integration_id: id.to_owned(),
        })?;
        Ok(self
            .orchestrator()
            .get_integration_status(request)
            .await?
            .into_inner())
    }

    /// Runs a cycle now; its run id.
    pub async fn sync_now(&self, id: &str) -> Result<String, Error> {
        let request = self.req(pb::SyncNowRequest {
            integration_id: id.to_owned(),
        })?;
        Ok(self
            .orchestrator()
            .sync_now(request)
            .await?
            .into_inner()
            .run_id)
    }

    /// Imports `source`'s records into the other side, or (`dry_run`) only records what it
    /// would do; its run id, as soon as the run is open (the run's page follows it).
    pub async fn import(&self, id: &str, source: pb::Side, dry_run: bool) -> Result<String, Error> {
        let request = self.req(pb::ImportRequest {
            integration_id: id.to_owned(),
            source: source as i32,
            dry_run,
            detach: true,
            ..Default::default()
        })?;
        Ok(self
            .orchestrator()
            .import(request)
            .await?
            .into_inner()
            .run_id)
    }

    /// Hands the integration to `new_owner` (the caller read it at `version`).
    pub async fn transfer(
        &self,
        id: &str,
        new_owner: &str,
        version: i64,
    ) -> Result<pb::Integration, Error> {
        let request = self.req(pb::TransferOwnershipRequest {
            id: id.to_owned(),
            new_owner: new_owner.to_owned(),
            version,
        })?;
        Ok(self
            .config()
            .transfer_ownership(request)
            .await?
            .into_inner())
    }

    pub async fn pause(&self, id: &str) -> Result<pb::IntegrationStatus, Error> {
        let request = self.req(pb::PauseIntegrationRequest {
            integration_id: id.to_owned(),
            reason: format!("paused by {} in the console", self.user.email),
        })?;
        Ok(self
            .orchestrator()
            .pause_integration(request)
            .await?
            .into_inner())
    }

    pub async fn resume(&self, id: &str) -> Result<pb::IntegrationStatus, Error> {
        let request = self.req(pb::ResumeIntegrationRequest {
            integration_id: id.to_owned(),
        })?;
        Ok(self
            .orchestrator()
            .resume_integration(request)
            .await?
            .into_inner())
    }

    /// The integration's most recent runs, newest first.
    pub async fn runs(&self, id: &str, count: u32) -> Result<Vec<pb::Run>, Error> {
        let request = self.req(pb::ListRunsRequest {
            integration_id: id.to_owned(),
            page: Some(pb::PageRequest {
                page_size: Some(count),
                page_token: String::new(),
            }),
            ..Default::default()
        })?;
        Ok(self.history().list_runs(request).await?.into_inner().runs)
    }

    pub async fn run(&self, id: &str) -> Result<pb::Run, Error> {
        let request = self.req(pb::GetRunRequest {
            run_id: id.to_owned(),
        })?;
        Ok(self.history().get_run(request).await?.into_inner())
    }

    /// A page of a run's events (newest first), optionally of one action only.
    pub async fn events(
        &self,
        run_id: &str,
        action: pb::EventAction,
        page_size: u32,
        page_token: String,
    ) -> Result<pb::ListEventsResponse, Error> {
        let request = self.req(pb::ListEventsRequest {
            run_id: run_id.to_owned(),
            action: action as i32,
            page: Some(pb::PageRequest {
                page_size: Some(page_size),
                page_token,
            }),
            ..Default::default()
        })?;
        Ok(self.history().list_events(request).await?.into_inner())
    }
}
