//! The demo's user: gRPC clients of the embedded services carrying a token the demo minted for
//! itself, with the few calls the scenario makes.

use std::time::Duration;

use anyhow::Context as _;
use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_service::Identity;
use tandem_service::args::Infra;
use tandem_stack::Embedded;
use tonic::transport::Channel;

/// The Tandem account and user the demo acts as.
pub const ACCOUNT: &str = "demo";
pub const USER: &str = "admin@demo.example.com";

#[derive(Clone)]
pub struct Api {
    pub config: MappingConfigClient<Channel>,
    pub orchestrator: SyncOrchestratorClient<Channel>,
    pub history: RunHistoryClient<Channel>,
    bearer: String,
}

impl Api {
    pub fn new(embedded: &Embedded, infra: &Infra) -> anyhow::Result<Self> {
        let signer = infra
            .auth
            .dev_signer()
            .ok_or_else(|| anyhow::anyhow!("the demo runs in development mode"))?;
        let token = signer.mint(
            &Identity::User {
                account: ACCOUNT.to_owned(),
                email: USER.to_owned(),
            },
            Duration::from_secs(24 * 3600),
        );
        Ok(Api {
            config: embedded.mapping_config(),
            orchestrator: embedded.orchestrator(),
            history: embedded.run_history(),
            bearer: format!("Bearer {token}"),
        })
    }

    /// The `authorization` metadata value of the demo's user.
    pub fn bearer(&self) -> &str {
        &self.bearer
    }

    /// `message` with the demo user's credentials.
    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        tandem_stack::authorized(message, &self.bearer)
    }

    /// Runs a cycle now; its finished run.
    pub async fn sync_now(&self, integration_id: &str) -> anyhow::Result<pb::Run> {
        let run_id = self
            .orchestrator
            .clone()
            .sync_now(self.req(pb::SyncNowRequest {
                integration_id: integration_id.to_owned(),
            }))
            .await
            .context("SyncNow")?
            .into_inner()
            .run_id;
        self.run(run_id).await
    }

    /// Imports `source`'s records into the other side (or only says what it would do).
    pub async fn import(
        &self,
        integration_id: &str,
        source: pb::Side,
        dry_run: bool,
    ) -> anyhow::Result<pb::Run> {
        let run_id = self
            .orchestrator
            .clone()
            .import(self.req(pb::ImportRequest {
                integration_id: integration_id.to_owned(),
                source: source as i32,
                dry_run,
                ..Default::default()
            }))
            .await
            .context("Import")?
            .into_inner()
            .run_id;
        self.run(run_id).await
    }

    pub async fn run(&self, run_id: String) -> anyhow::Result<pb::Run> {
        Ok(self
            .history
            .clone()
            .get_run(self.req(pb::GetRunRequest { run_id }))
            .await
            .context("GetRun")?
            .into_inner())
    }

    /// Every event of a run, oldest first.
    pub async fn events(&self, run: &pb::Run) -> anyhow::Result<Vec<pb::RecordEvent>> {
        let mut events = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .history
                .clone()
                .list_events(self.req(pb::ListEventsRequest {
                    run_id: run.id.clone(),
                    page: Some(pb::PageRequest {
                        page_size: Some(1000),
                        page_token: token,
                    }),
                    ..Default::default()
                }))
                .await
                .context("ListEvents")?
                .into_inner();
            events.extend(page.events);
            token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        events.reverse();
        Ok(events)
    }

    /// The integration's runs, oldest first (the demo makes fewer than one page).
    pub async fn runs(&self, integration_id: &str) -> anyhow::Result<Vec<pb::Run>> {
        let mut runs = self
            .history
            .clone()
            .list_runs(self.req(pb::ListRunsRequest {
                integration_id: integration_id.to_owned(),
                page: Some(pb::PageRequest {
                    page_size: Some(500),
                    page_token: String::new(),
                }),
                ..Default::default()
            }))
            .await
            .context("ListRuns")?
            .into_inner()
            .runs;
        runs.reverse();
        Ok(runs)
    }
}
