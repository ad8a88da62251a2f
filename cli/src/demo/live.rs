//! After the scenario (without `--once`): the stack stays up so records can be edited by hand at
//! both simulators; a cycle runs every few seconds and each one that moved something is shown.
//! Ctrl-C ends the demo.

use std::time::Duration;

use sqlx::PgPool;
use tandem_proto::v1 as pb;
use tandem_stack::Embedded;
use tokio_util::sync::CancellationToken;

use super::ORG;
use super::api::Api;
use super::check;
use super::report;
use super::sides::Sides;

/// What the live demo works with.
pub struct Live<'a> {
    pub api: &'a Api,
    pub embedded: &'a Embedded,
    pub sides: &'a Sides,
    pub integration: &'a pb::Integration,
    pub pool: &'a PgPool,
    /// The web console's URL.
    pub console_url: &'a str,
}

impl Live<'_> {
    /// Prints where to edit by hand, then runs a cycle every `every` seconds until `stop`.
    pub async fn run(&self, every: u64, stop: &CancellationToken) -> anyhow::Result<()> {
        self.print_how_to(every).await?;
        let mut quiet = 0u64;
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                moved = self.cycle(quiet) => {
                    quiet = if moved? { 0 } else { quiet + 1 };
                }
            }
        }
        println!();
        report::note("Stopped.");
        Ok(())
    }

    /// One cycle, shown when it moved something; whether it did.
    async fn cycle(&self, quiet: u64) -> anyhow::Result<bool> {
        let (api, sides, integration) = (self.api, self.sides, self.integration);
        let before = check::snapshot(self.pool, sides, integration).await?;
        let mark = sides.meter();
        let run = match api.sync_now(&integration.id).await {
            Ok(run) => run,
            Err(e) => {
                report::kv("cycle", &format!("not run: {e:#}"));
                return Ok(false);
            }
        };
        let c = run.counters.unwrap_or_default();
        if c.created + c.updated + c.failed + c.conflicts + c.skipped == 0 {
            return Ok(false);
        }
        let at = time::OffsetDateTime::now_utc();
        report::section(&format!(
            "{:02}:{:02}:{:02} UTC cycle (after {quiet} quiet ones)",
            at.hour(),
            at.minute(),
            at.second()
        ));
        let events = api.events(&run).await?;
        report::run_block(&run, &events, &before, sides);
        report::kv("API calls", &report::calls(&sides.calls_since(mark)));
        Ok(true)
    }

    async fn print_how_to(&self, every: u64) -> anyhow::Result<()> {
        let (embedded, sides) = (self.embedded, self.sides);
        let token = sides.salesforce.mint_token(ORG).access_token;
        let example = check::links(self.pool, &self.integration.id)
            .await?
            .into_iter()
            .next();
        report::section("Live: edit records by hand (Ctrl-C to stop)");
        report::kv("Salesforce", &embedded.salesforce_url);
        report::kv("  token", &token);
        report::kv("monday", &embedded.monday_api_url);
        report::kv("  token", &sides.monday_token);
        report::kv("  board", &sides.board_id.to_string());
        if let Some((opportunity, item)) = example {
            let (sf_url, mo_url, board) = (
                &embedded.salesforce_url,
                &embedded.monday_api_url,
                sides.board_id,
            );
            let mo_token = &sides.monday_token;
            println!();
            report::note("Try (the README's demo section has more):");
            println!(
                r#"  curl -X PATCH {sf_url}/services/data/v66.0/sobjects/Opportunity/{opportunity} \
    -H 'Authorization: Bearer {token}' \
    -H 'Content-Type: application/json' -d '{{"StageName": "Closed Won"}}'"#
            );
            println!(
                r#"  curl {mo_url} -H 'Authorization: {mo_token}' -H 'Content-Type: application/json' \
    -d '{{"query": "mutation {{ change_simple_column_value(board_id: {board}, item_id: {item}, column_id: \"deal_value\", value: \"99000\") {{ id }} }}"}}'"#
            );
        }
        println!();
        report::note("Point the tandem command at this demo (in another shell):");
        let token = self.api.bearer().trim_start_matches("Bearer ");
        print!("{}", cli_env(&embedded.peers, token));
        println!("  tandem history runs {}", self.integration.id);
        println!();
        report::note(&format!(
            "Or watch it in the web console: {} (runs, events, Sync now, pause/resume).",
            self.console_url
        ));
        println!();
        report::note(&format!(
            "A cycle runs every {every} s; cycles that move nothing are not shown."
        ));
        Ok(())
    }
}

/// The `export` lines that make the `tandem` command talk to a stack at `peers`, as the user
/// `token` was minted for.
fn cli_env(peers: &tandem_service::args::PeerArgs, token: &str) -> String {
    [
        (
            "TANDEM_MAPPING_CONFIG_URL",
            peers.mapping_config_url.as_str(),
        ),
        (
            "TANDEM_SYNC_ORCHESTRATOR_URL",
            peers.sync_orchestrator_url.as_str(),
        ),
        ("TANDEM_RUN_HISTORY_URL", peers.run_history_url.as_str()),
        ("TANDEM_TOKEN", token),
    ]
    .iter()
    .map(|(name, value)| format!("  export {name}={value}\n"))
    .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Args {
        #[command(flatten)]
        peers: tandem_service::args::PeerArgs,
    }

    #[test]
    fn the_live_demo_prints_the_environment_the_cli_reads() {
        let peers = Args::parse_from([
            "x",
            "--mapping-config-url",
            "http://127.0.0.1:1",
            "--sync-orchestrator-url",
            "http://127.0.0.1:2",
            "--run-history-url",
            "http://127.0.0.1:3",
        ])
        .peers;
        let env = super::cli_env(&peers, "tok");
        assert_eq!(
            env,
            "  export TANDEM_MAPPING_CONFIG_URL=http://127.0.0.1:1\n  \
             export TANDEM_SYNC_ORCHESTRATOR_URL=http://127.0.0.1:2\n  \
             export TANDEM_RUN_HISTORY_URL=http://127.0.0.1:3\n  export TANDEM_TOKEN=tok\n"
        );
    }
}
