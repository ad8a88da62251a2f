//! The five services in a `tandem up` child process, the simulators in this one: how the
//! memory scenario tells the services' footprint from the simulators'.

use anyhow::Context as _;
use tandem_service::service_key::KeySet;
use tandem_stack::Embedded;

use super::harness::{ORG, StackOptions, sim_configs};

/// The key ring in `TANDEM_ENCRYPTION_KEYS` form, for a child `tandem up`.
pub(super) const KEY_RING: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// What a started stack is made of, however its services run.
pub(super) struct Parts {
    pub(super) salesforce: salesforce_sim::SimHandle,
    pub(super) monday: monday_sim::SimHandle,
    pub(super) webhook_url: String,
    pub(super) peers: tandem_service::args::PeerArgs,
    pub(super) embedded: Option<Embedded>,
    pub(super) apart: Option<Apart>,
}

/// The services in a child process and the simulators serving in this one.
pub(super) struct Apart {
    pub(super) child: std::process::Child,
    sims: tokio_util::sync::CancellationToken,
    pub(super) services: Services,
}

impl Apart {
    /// Kills the services' process (SIGKILL) and starts it again with the same settings, on
    /// new ports; the simulators keep serving.
    pub(super) async fn restart(&mut self) -> anyhow::Result<tandem_service::args::PeerArgs> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let started = self.services.clone().spawn().await?;
        self.child = started.child;
        Ok(started.peers)
    }

    pub(super) fn stop(&mut self) {
        // The child was started by this stack: it is ended by its own handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.sims.cancel();
    }
}

/// Both simulators here, the services in `tandem up` (this very binary) as a child process,
/// configured through its environment (the secret never on a command line).
pub(super) async fn apart(
    infra: tandem_service::args::Infra,
    secret: String,
    service_keys: &KeySet,
    options: StackOptions,
) -> anyhow::Result<Parts> {
    let (sf_config, mo_config) = sim_configs(ORG, options);
    let sims = tokio_util::sync::CancellationToken::new();
    let sf_sim = salesforce_sim::bind(sf_config).await?;
    let salesforce_url = sf_sim.base_url();
    let salesforce = sf_sim.handle();
    let token = sims.clone();
    tokio::spawn(async move { sf_sim.serve(token).await });
    let mo_sim = monday_sim::bind(mo_config).await?;
    let monday = mo_sim.handle();
    let monday_api_url = monday.api_url();
    let token = sims.clone();
    tokio::spawn(async move { mo_sim.serve(token).await });

    let started = Services {
        infra,
        secret,
        public_keys: service_keys.public_text(),
        options,
        salesforce_url: salesforce_url.clone(),
        monday_api_url: monday_api_url.clone(),
        signing_secret: monday.webhook_signing_secret(),
    }
    .spawn()
    .await?;
    Ok(Parts {
        salesforce,
        monday,
        webhook_url: started.webhook_url.clone(),
        peers: started.peers.clone(),
        embedded: None,
        apart: Some(Apart {
            child: started.child,
            sims,
            services: started.services,
        }),
    })
}

/// How the services' child process is started: kept, so that it can be started again after
/// a kill (the import scenario's resume).
#[derive(Clone)]
pub(super) struct Services {
    infra: tandem_service::args::Infra,
    secret: String,
    public_keys: String,
    options: StackOptions,
    salesforce_url: String,
    monday_api_url: String,
    signing_secret: String,
}

/// A started services process and where it listens.
pub(super) struct Started {
    pub(super) child: std::process::Child,
    pub(super) peers: tandem_service::args::PeerArgs,
    pub(super) webhook_url: String,
    pub(super) services: Services,
}

impl Services {
    /// `tandem up` (this very binary) as a child process, configured through its environment
    /// (the secret never on a command line).
    pub(super) async fn spawn(self) -> anyhow::Result<Started> {
        let any = "127.0.0.1:0";
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .arg("up")
            .args(["--connector-salesforce-listen", any])
            .args(["--connector-monday-listen", any])
            .args(["--mapping-config-listen", any])
            .args(["--sync-orchestrator-listen", any])
            .args(["--run-history-listen", any])
            .args(["--monday-webhook-listen", any])
            .args(["--console-listen", any])
            .args([
                "--scheduler-tick-ms",
                &self.options.scheduler_tick_ms.to_string(),
            ])
            // Salesforce change events only where a scenario asks for them (they wake
            // integrations besides the polls a scenario measures).
            .args([
                "--salesforce-change-events",
                if self.options.change_events {
                    "true"
                } else {
                    "false"
                },
            ])
            .env("DATABASE_URL", &self.infra.database_url)
            .env("REDIS_URL", &self.infra.redis_url)
            .env("TANDEM_REDIS_PREFIX", &self.infra.redis_prefix)
            .env("TANDEM_DEV_AUTH", "1")
            .env("TANDEM_AUTH_SECRET", &self.secret)
            // `tandem up` makes its own five keys and trusts these too (the fleet's replicas).
            .env("TANDEM_SERVICE_PUBLIC_KEYS", &self.public_keys)
            .env("TANDEM_ENCRYPTION_KEYS", KEY_RING)
            .env("TANDEM_SALESFORCE_INSTANCE_URL", &self.salesforce_url)
            .env("TANDEM_SALESFORCE_LOGIN_URL", &self.salesforce_url)
            .env("TANDEM_MONDAY_API_URL", &self.monday_api_url)
            .env("TANDEM_SALESFORCE_CLIENT_ID", tandem_stack::SIM_CLIENT_ID)
            .env(
                "TANDEM_SALESFORCE_CLIENT_SECRET",
                "embedded-simulator-secret",
            )
            .env("TANDEM_MONDAY_SIGNING_SECRET", &self.signing_secret)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(std::process::Stdio::piped())
            .stderr(super::fleet::log_file()?)
            .spawn()
            .context("starting `tandem up` for the services")?;
        match announced(&mut child).await {
            Ok((peers, webhook_url)) => Ok(Started {
                child,
                peers,
                webhook_url,
                services: self,
            }),
            Err(e) => {
                // Started here: ended here, not left running behind a failed scenario.
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }
}

/// The services' addresses, from the `… listening on` lines `tandem up` prints (every one of
/// its listeners, the console's included, announces itself once).
async fn announced(
    child: &mut std::process::Child,
) -> anyhow::Result<(tandem_service::args::PeerArgs, String)> {
    const NAMES: [&str; 6] = [
        "connector-salesforce",
        "connector-monday",
        "mapping-config",
        "sync-orchestrator",
        "run-history",
        "connector-monday webhooks",
    ];
    let stdout = child.stdout.take().context("the child's stdout")?;
    let lines = tokio::task::spawn_blocking(move || {
        use std::io::BufRead as _;
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            lines.push(line);
            let all = NAMES.iter().all(|name| {
                let prefix = format!("{name} listening on ");
                lines.iter().any(|l| l.starts_with(&prefix))
            });
            if all {
                break;
            }
        }
        lines
    })
    .await?;
    let url_of = |name: &str| -> anyhow::Result<String> {
        let prefix = format!("{name} listening on ");
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::to_owned)
            .with_context(|| format!("`tandem up` never announced {name}: {lines:?}"))
    };
    let peers = tandem_service::args::PeerArgs {
        connector_salesforce_url: url_of("connector-salesforce")?,
        connector_monday_url: url_of("connector-monday")?,
        mapping_config_url: url_of("mapping-config")?,
        sync_orchestrator_url: url_of("sync-orchestrator")?,
        run_history_url: url_of("run-history")?,
    };
    let webhook_url = format!("{}/webhooks/monday", url_of("connector-monday webhooks")?);
    Ok((peers, webhook_url))
}
