//! After the scenario (without `--once`): the stack stays up so records can be edited by hand at
//! both simulators; a cycle runs every few seconds and each one that moved something is shown.
//! Ctrl-C ends the demo.

use std::time::Duration;

use sqlx::PgPool;
use tandem_proto::v1 as pb;
use tandem_stack::Embedded;

use super::ORG;
use super::api::Api;
use super::check;
use super::report;
use super::sides::Sides;

pub async fn run(
    api: &Api,
    embedded: &Embedded,
    sides: &Sides,
    integration: &pb::Integration,
    pool: &PgPool,
    every: u64,
) -> anyhow::Result<()> {
    let token = sides.salesforce.mint_token(ORG).access_token;
    let example = check::links(pool, &integration.id).await?.into_iter().next();
    report::section("Live: edit records by hand (Ctrl-C to stop)");
    report::kv("Salesforce", &embedded.salesforce_url);
    report::kv("  token", &token);
    report::kv("monday", &embedded.monday_api_url);
    report::kv("  token", &sides.monday_token);
    report::kv("  board", &sides.board_id.to_string());
    if let Some((opportunity, item)) = example {
        report::note("");
        report::note("Try (see cli/DEMO.md for more):");
        report::note(&format!(
            "  curl -X PATCH {}/services/data/v66.0/sobjects/Opportunity/{opportunity} \\\n    \
             -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n    \
             -d '{{\"StageName\": \"Closed Won\"}}'",
            embedded.salesforce_url
        ));
        report::note(&format!(
            r#"  curl {} -H 'Authorization: {}' -H 'Content-Type: application/json' \
    -d '{{"query": "mutation {{ change_simple_column_value(board_id: {}, item_id: {item}, column_id: \"status\", value: \"Closed Won\") {{ id }} }}"}}'"#,
            embedded.monday_api_url, sides.monday_token, sides.board_id
        ));
    }
    report::note("");
    report::note(&format!(
        "A cycle runs every {every} s; cycles that move nothing are not shown."
    ));

    let mut quiet = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {}
        }
        let before = check::snapshot(pool, sides, integration).await?;
        let mark = sides.meter();
        let run = match api.sync_now(&integration.id).await {
            Ok(run) => run,
            Err(e) => {
                report::kv("cycle", &format!("not run: {e:#}"));
                continue;
            }
        };
        let c = run.counters.unwrap_or_default();
        if c.created + c.updated + c.failed + c.conflicts + c.skipped == 0 {
            quiet += 1;
            continue;
        }
        let at = time::OffsetDateTime::now_utc();
        report::section(&format!(
            "{:02}:{:02}:{:02} cycle (after {quiet} quiet ones)",
            at.hour(),
            at.minute(),
            at.second()
        ));
        quiet = 0;
        let events = api.events(&run).await?;
        report::run_block(&run, &events, &before, sides);
        report::kv("API calls", &report::calls(&sides.calls_since(mark)));
    }
    println!();
    report::note("Stopped.");
    Ok(())
}
