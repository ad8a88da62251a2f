//! `tandem history runs|events`: what happened, record by record, with the remote's own
//! messages and the suggested fix for each failure.

use tandem_proto::v1 as pb;

use super::client::{Answer as _, ClientArgs, Session};
use super::{events, output};

#[derive(clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: HistoryCommand,
}

#[derive(clap::Subcommand)]
enum HistoryCommand {
    /// An integration's runs, newest first.
    Runs {
        /// The integration id.
        id: String,
        /// Only runs that failed, wholly or in part.
        #[arg(long)]
        failed: bool,
        /// At most this many runs.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
    },
    /// A run's record events, newest first.
    Events {
        /// The run id.
        run: String,
        /// Only failed records, each with the remote's message and the suggested fix.
        #[arg(long)]
        errors: bool,
        /// At most this many events.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
}

pub async fn run(args: HistoryArgs) -> anyhow::Result<()> {
    let session = Session::new(&args.client).await?;
    let mut history = session.run_history().await?;
    match args.command {
        HistoryCommand::Runs { id, failed, limit } => {
            let statuses: &[pb::RunStatus] = if failed {
                &[pb::RunStatus::Failed, pb::RunStatus::PartiallyFailed]
            } else {
                &[pb::RunStatus::Unspecified]
            };
            let mut runs = Vec::new();
            for status in statuses {
                let page = history
                    .list_runs(pb::ListRunsRequest {
                        integration_id: id.clone(),
                        status: *status as i32,
                        page: Some(pb::PageRequest {
                            page_size: Some(limit),
                            page_token: String::new(),
                        }),
                        ..Default::default()
                    })
                    .await
                    .answer()?;
                runs.extend(page.runs);
            }
            // Newest first across both statuses.
            runs.sort_by_key(|r| {
                std::cmp::Reverse(
                    r.started_at
                        .map(|t| (t.seconds, t.nanos))
                        .unwrap_or_default(),
                )
            });
            runs.truncate(limit as usize);
            if session.json() {
                output::print_json(&serde_json::Value::Array(
                    runs.iter().map(output::run_json).collect(),
                ));
            } else {
                output::runs_table(&runs).print();
            }
        }
        HistoryCommand::Events { run, errors, limit } => {
            // An unknown run is an error, not an empty list.
            let found = history
                .get_run(pb::GetRunRequest { run_id: run })
                .await
                .answer()?;
            let page = history
                .list_events(pb::ListEventsRequest {
                    run_id: found.id.clone(),
                    action: if errors {
                        pb::EventAction::Failed as i32
                    } else {
                        0
                    },
                    page: Some(pb::PageRequest {
                        page_size: Some(limit),
                        page_token: String::new(),
                    }),
                    ..Default::default()
                })
                .await
                .answer()?;
            if session.json() {
                output::print_json(&serde_json::Value::Array(
                    page.events.iter().map(events::json).collect(),
                ));
            } else {
                out!("{}\n", output::run_summary(&found));
                out!("{}", events::render(&page.events));
            }
        }
    }
    Ok(())
}
