//! `tandem sync now|pause|resume|status` and `tandem import`.

use anyhow::bail;
use tandem_proto::v1 as pb;

use tandem_proto::v1::run_history_client::RunHistoryClient;

use super::client::{Answer as _, Authed, ClientArgs, Session};
use super::output;
use super::progress;

#[derive(clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: SyncCommand,
}

#[derive(clap::Subcommand)]
enum SyncCommand {
    /// Run a sync cycle now and print its outcome.
    Now {
        /// The integration id.
        id: String,
    },
    /// Stop syncing until resumed.
    Pause {
        /// The integration id.
        id: String,
        /// Why, shown to the account's users.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Sync again (both connections must be active).
    Resume {
        /// The integration id.
        id: String,
    },
    /// State, last and next run, pending changes and API budget used.
    Status {
        /// The integration id.
        id: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Source {
    Salesforce,
    Monday,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The integration id.
    id: String,
    /// Write nothing; the run history says what would have happened.
    #[arg(long)]
    dry_run: bool,
    /// Which side's records to import into the other.
    #[arg(long, value_enum, default_value = "salesforce")]
    from: Source,
    /// Re-link instead of create when a target has the same value in this monday column…
    #[arg(long, value_name = "COLUMN", requires = "match_field")]
    match_column: Option<String>,
    /// …and this Salesforce field (e.g. --match-column email --match-field Email).
    #[arg(long, value_name = "FIELD", requires = "match_column")]
    match_field: Option<String>,
    /// Show the records done of the total, the rate and the time left while it runs (a bar
    /// on a terminal, where it is shown anyway; a line every 5 s otherwise).
    #[arg(long)]
    follow: bool,
}

pub async fn run(args: SyncArgs) -> anyhow::Result<()> {
    let session = Session::new(&args.client).await?;
    let mut orchestrator = session.orchestrator().await?;
    // Pause, resume and status all answer the integration's status, shown alike.
    let status = match args.command {
        SyncCommand::Now { id } => {
            let mut history = session.run_history().await?;
            let started = progress::spinner("syncing", async {
                orchestrator
                    .sync_now(pb::SyncNowRequest { integration_id: id })
                    .await
                    .answer()
            })
            .await?;
            let run = history
                .get_run(pb::GetRunRequest {
                    run_id: started.run_id,
                })
                .await
                .answer()?;
            return report_run(&session, &run);
        }
        SyncCommand::Pause { id, reason } => {
            orchestrator
                .pause_integration(pb::PauseIntegrationRequest {
                    integration_id: id,
                    reason: reason.unwrap_or_default(),
                })
                .await
        }
        SyncCommand::Resume { id } => {
            orchestrator
                .resume_integration(pb::ResumeIntegrationRequest { integration_id: id })
                .await
        }
        SyncCommand::Status { id } => {
            orchestrator
                .get_integration_status(pb::GetIntegrationStatusRequest { integration_id: id })
                .await
        }
    }
    .answer()?;
    show_status(&session, &status);
    Ok(())
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let session = Session::new(&args.client).await?;
    let mut history = session.run_history().await?;
    let mut orchestrator = session.orchestrator().await?;
    let what = if args.dry_run {
        "importing (dry run)"
    } else {
        "importing"
    };
    let watcher = orchestrator.clone();
    let id = args.id.clone();
    let run = progress::import(what, watcher, id, args.follow, async {
        // Detached: the orchestrator answers once the run is open, and the import goes on
        // there however long it takes; the run's status says when it is over.
        let started = orchestrator
            .import(pb::ImportRequest {
                integration_id: args.id,
                source: match args.from {
                    Source::Salesforce => pb::Side::Salesforce,
                    Source::Monday => pb::Side::Monday,
                } as i32,
                dry_run: args.dry_run,
                match_monday_column_id: args.match_column.unwrap_or_default(),
                match_salesforce_field: args.match_field.unwrap_or_default(),
                detach: true,
            })
            .await
            .answer()?;
        finished_run(&mut history, started.run_id).await
    })
    .await?;
    report_run(&session, &run)?;
    if args.dry_run && !session.json() {
        out!(
            "nothing was written; what would have happened: tandem history events {}",
            run.id
        );
    }
    Ok(())
}

/// The run once it is over (polled in run history).
async fn finished_run(
    history: &mut RunHistoryClient<Authed>,
    run_id: String,
) -> anyhow::Result<pb::Run> {
    let mut wait = std::time::Duration::from_millis(100);
    loop {
        let run = history
            .get_run(pb::GetRunRequest {
                run_id: run_id.clone(),
            })
            .await
            .answer()?;
        if run.status != pb::RunStatus::Running as i32 {
            return Ok(run);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(std::time::Duration::from_secs(2));
    }
}

fn show_status(session: &Session, status: &pb::IntegrationStatus) {
    if session.json() {
        output::print_json(&output::status_json(status));
    } else {
        output::print_status(status);
    }
}

/// Prints a finished run; a run that failed as a whole is an error (records that failed
/// are not: the run says how many, the history says why).
fn report_run(session: &Session, run: &pb::Run) -> anyhow::Result<()> {
    if session.json() {
        output::print_json(&output::run_json(run));
    } else {
        out!("{}", output::run_summary(run));
        if run.counters.as_ref().is_some_and(|c| c.failed > 0) {
            out!("failures: tandem history events {} --errors", run.id);
        }
    }
    if run.status == pb::RunStatus::Failed as i32 {
        bail!("run {} failed: {}", run.id, run.error);
    }
    Ok(())
}
