//! The web console beside the demo's stack: development sign-in with the demo's user filled
//! in, sessions in memory, on the port asked for or a free one when it is taken.

use std::net::SocketAddr;

use anyhow::Context as _;
use tandem_service::args::Infra;
use tandem_stack::Embedded;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::api::{ACCOUNT, USER};

pub struct DemoConsole {
    pub url: String,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub async fn start(
    embedded: &Embedded,
    infra: &Infra,
    listen: SocketAddr,
    stop: &CancellationToken,
) -> anyhow::Result<DemoConsole> {
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            tokio::net::TcpListener::bind((listen.ip(), 0))
                .await
                .context("the console's listener")?
        }
        Err(e) => return Err(e).with_context(|| format!("the console cannot listen on {listen}")),
    };
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let config = tandem_console::Config {
        listen: addr,
        auth: infra.auth.clone(),
        tls: Default::default(),
        https: None,
        oidc_issuer: None,
        oidc_audience: None,
        oidc_ca: None,
        sessions: tandem_console::SessionBackend::Memory,
        peers: tandem_console::Peers {
            mapping_config_url: embedded.peers.mapping_config_url.clone(),
            sync_orchestrator_url: embedded.peers.sync_orchestrator_url.clone(),
            run_history_url: embedded.peers.run_history_url.clone(),
        },
        options: tandem_console::Options {
            public_url: url.clone(),
            sessions: "memory".to_owned(),
            dev_account: Some(ACCOUNT.to_owned()),
            dev_email: Some(USER.to_owned()),
            ..Default::default()
        },
    };
    let console = tandem_console::bind_on(listener, config)
        .await
        .map_err(|e| anyhow::anyhow!("console: {e}"))?;
    let stop = stop.child_token();
    let token = stop.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = console.serve(token).await {
            tracing::error!(error = %e, "the console stopped");
        }
    });
    Ok(DemoConsole { url, stop, task })
}

impl DemoConsole {
    /// What the demo prints about it.
    pub fn describe(&self) -> String {
        format!(
            "{}\nopen it and sign in as account {ACCOUNT}, email {USER} (filled in)",
            self.url
        )
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
