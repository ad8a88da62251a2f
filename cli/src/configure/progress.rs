//! What the CLI shows while a run is under way: a spinner with the elapsed time, and for an
//! import the records done of the source's total with the rate and the time left, read from
//! the integration's status as the import commits its pages (indicatif on a terminal; with
//! `--follow` and no terminal, a line every few seconds).

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tandem_proto::v1 as pb;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;

use super::client::Authed;
use super::output;

/// Awaits `work`, showing a spinner with the elapsed time on stderr when it is a terminal.
pub async fn spinner<T>(what: &str, work: impl Future<Output = T>) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let bar = ProgressBar::new_spinner().with_message(format!("{what}…"));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(125));
    let result = work.await;
    bar.finish_and_clear();
    result
}

/// Awaits an import, following its progress in the integration's status: a bar on a
/// terminal; with `follow` and no terminal, a line every five seconds.
pub async fn import<T>(
    what: &str,
    mut orchestrator: SyncOrchestratorClient<Authed>,
    integration_id: String,
    follow: bool,
    work: impl Future<Output = T>,
) -> T {
    let terminal = std::io::stderr().is_terminal();
    if !terminal && !follow {
        return work.await;
    }
    let bar = terminal.then(|| {
        let bar = ProgressBar::new_spinner().with_message(format!("{what}…"));
        bar.enable_steady_tick(Duration::from_millis(125));
        bar
    });
    let mut tick = tokio::time::interval(if terminal {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(5)
    });
    tokio::pin!(work);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = tick.tick() => {
                let status = orchestrator
                    .get_integration_status(pb::GetIntegrationStatusRequest {
                        integration_id: integration_id.clone(),
                    })
                    .await;
                let Some(import) = status.ok().and_then(|s| s.into_inner().import) else {
                    continue;
                };
                match &bar {
                    Some(bar) => show(bar, what, &import),
                    None => eprintln!("{what}: {}", output::import_progress(&import)),
                }
            }
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// The bar: records done of the total with indicatif's own rate and time left.
fn show(bar: &ProgressBar, what: &str, import: &pb::ImportProgress) {
    if import.records_total > 0 && bar.length().is_none() {
        bar.set_length(import.records_total);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} records, {per_sec}, {eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
    }
    bar.set_position(import.records_done);
}
