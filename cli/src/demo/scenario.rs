//! The fixed scenario: import both ways (after a dry run), then edits on both sides — plain
//! edits, a conflict, a burst of edits to one item, a value Salesforce refuses and its fix —
//! one cycle each, each shown as a block; then the run history.

use std::collections::BTreeSet;

use anyhow::Context as _;
use serde_json::{Value, json};
use sqlx::PgPool;
use tandem_proto::v1 as pb;

use super::ORG;
use super::api::Api;
use super::check;
use super::report;
use super::sides::Sides;

/// Edits to one monday item between two cycles in the burst step.
pub const BURST: usize = 20;

pub struct Scenario<'a> {
    api: &'a Api,
    sides: &'a Sides,
    integration: &'a pb::Integration,
    pool: &'a PgPool,
    step: usize,
    /// Salesforce writes of the last cycle.
    last_salesforce_writes: usize,
}

/// A linked pair: the Salesforce id and the monday item id.
#[derive(Debug, Clone)]
struct Pair {
    salesforce: String,
    monday: i64,
}

impl<'a> Scenario<'a> {
    pub fn new(
        api: &'a Api,
        sides: &'a Sides,
        integration: &'a pb::Integration,
        pool: &'a PgPool,
    ) -> Self {
        Scenario {
            api,
            sides,
            integration,
            pool,
            step: 0,
            last_salesforce_writes: 0,
        }
    }

    pub async fn run(&mut self) -> anyhow::Result<()> {
        let from_board = self.import().await?;
        let (seeded, from_salesforce) = self.pairs(&from_board).await?;
        let pick = |list: &[Pair], i: usize| {
            list.get(i)
                .cloned()
                .context("the import linked fewer records than the demo expects")
        };

        self.cycle(
            "Nothing changed: a cycle reads both sides and writes nothing",
            vec![],
        )
        .await?;

        // Plain edits, two on each side.
        let (a, b) = (pick(&from_salesforce, 0)?, pick(&from_salesforce, 1)?);
        let (c, d) = (pick(&seeded, 1)?, pick(&seeded, 2)?);
        let mut edits = vec![
            self.salesforce_edit(
                &a,
                json!({"Amount": 87_500, "StageName": "Negotiation/Review"}),
            )?,
            self.salesforce_edit(&b, json!({"CloseDate": "2026-12-18"}))?,
        ];
        let renamed = format!("{} (renewal)", self.sides.item_name(&c.monday.to_string()));
        edits.push(self.monday_edit(&c, json!({"name": renamed}))?);
        edits.push(self.monday_edit(
            &d,
            json!({"deal_value": "64000", "notes": {"text": "Budget approved.\nSend the contract on Monday."}}),
        )?);
        self.cycle("Edits on both sides", edits).await?;

        // A conflict: the same field on both sides, monday's edit the newer one.
        let e = pick(&seeded, 3)?;
        let mut edits = vec![self.salesforce_edit(&e, json!({"StageName": "Closed Lost"}))?];
        // monday stamps a status change to the millisecond: a moment later is newer.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        edits.push(self.monday_edit(&e, json!({"status": {"label": "Closed Won"}}))?);
        self.cycle(
            "A conflict: Stage changed on both sides (newest edit wins)",
            edits,
        )
        .await?;

        // A burst: many edits to one item between two cycles make one Salesforce write.
        let f = pick(&seeded, 4)?;
        let stages = [
            "Qualification",
            "Proposal/Price Quote",
            "Negotiation/Review",
        ];
        for i in 0..BURST {
            let values = if i % 2 == 0 {
                json!({"deal_value": (40_000 + 500 * i).to_string()})
            } else {
                json!({"status": {"label": stages[(i / 2) % stages.len()]}})
            };
            self.sides
                .monday
                .edit_item_as(self.sides.monday_user, f.monday, values)
                .map_err(|e| anyhow::anyhow!("editing monday item {}: {e:?}", f.monday))?;
        }
        let burst_edits = vec![format!(
            "monday      \"{}\": {BURST} edits in a row (deal value and stage)",
            self.sides.item_name(&f.monday.to_string())
        )];
        let run = self
            .cycle("A burst: 20 edits to one item, coalesced", burst_edits)
            .await?;
        let updated = run.counters.map_or(0, |c| c.updated);
        report::kv(
            "coalescing",
            &format!(
                "{BURST} edits on monday → {updated} record updated in Salesforce, {} write(s)",
                self.last_salesforce_writes
            ),
        );

        // A value Salesforce refuses, then its fix.
        let g = pick(&seeded, 5)?;
        let refused = self.monday_edit(&g, json!({"status": {"label": "On hold"}}))?;
        let failed_run = self
            .cycle(
                "An error: \"On hold\" is a monday label but no Salesforce stage",
                vec![refused],
            )
            .await?;
        let fixed = self.monday_edit(&g, json!({"status": {"label": "Qualification"}}))?;
        self.cycle("The fix: a stage Salesforce knows", vec![fixed])
            .await?;

        self.history(&failed_run).await
    }

    /// Dry run, then import monday → Salesforce and Salesforce → monday; the monday items the
    /// first import created opportunities for.
    async fn import(&mut self) -> anyhow::Result<BTreeSet<i64>> {
        let id = &self.integration.id;
        let before = check::snapshot(self.pool, self.sides, self.integration).await?;
        self.heading("Import, dry run first (monday → Salesforce)");
        let mark = self.sides.meter();
        let run = self.api.import(id, pb::Side::Monday, true).await?;
        let events = self.api.events(&run).await?;
        let would = events
            .iter()
            .filter(|e| e.reason.starts_with("dry run: would create"))
            .count();
        report::kv(
            "would create",
            &format!("{would} opportunities from the board's items; nothing written"),
        );
        report::kv("API calls", &report::calls(&self.sides.calls_since(mark)));

        let mut from_board = BTreeSet::new();
        for (source, title) in [
            (pb::Side::Monday, "Import monday → Salesforce"),
            (pb::Side::Salesforce, "Import Salesforce → monday"),
        ] {
            self.heading(title);
            let mark = self.sides.meter();
            let run = self.api.import(id, source, false).await?;
            let events = self.api.events(&run).await?;
            report::run_block(&run, &events, &before, self.sides);
            report::kv("API calls", &report::calls(&self.sides.calls_since(mark)));
            if source == pb::Side::Monday {
                from_board.extend(
                    events
                        .iter()
                        .filter(|e| e.action == pb::EventAction::Created as i32)
                        .filter_map(|e| e.source_record_id.parse::<i64>().ok()),
                );
            }
        }
        Ok(from_board)
    }

    /// Linked pairs: those of the board's own items (in board order) and those of the org's
    /// own opportunities.
    async fn pairs(&self, from_board: &BTreeSet<i64>) -> anyhow::Result<(Vec<Pair>, Vec<Pair>)> {
        let mut pairs: Vec<Pair> = check::links(self.pool, &self.integration.id)
            .await?
            .into_iter()
            .filter_map(|(salesforce, monday)| {
                Some(Pair {
                    salesforce,
                    monday: monday.parse().ok()?,
                })
            })
            .collect();
        pairs.sort_by_key(|p| p.monday);
        Ok(pairs
            .into_iter()
            .partition(|p| from_board.contains(&p.monday)))
    }

    fn salesforce_edit(&self, pair: &Pair, fields: Value) -> anyhow::Result<String> {
        let name = self.sides.record_name(&pair.salesforce);
        self.sides
            .salesforce
            .update_as(
                ORG,
                &pair.salesforce,
                fields.clone(),
                &self.sides.salesforce_user,
            )
            .map_err(|e| anyhow::anyhow!("editing opportunity {}: {e}", pair.salesforce))?;
        Ok(format!("Salesforce  \"{name}\": {}", describe(&fields)))
    }

    fn monday_edit(&self, pair: &Pair, values: Value) -> anyhow::Result<String> {
        let name = self.sides.item_name(&pair.monday.to_string());
        self.sides
            .monday
            .edit_item_as(self.sides.monday_user, pair.monday, values.clone())
            .map_err(|e| anyhow::anyhow!("editing monday item {}: {e:?}", pair.monday))?;
        let described = values
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let shown = match v {
                    Value::Object(o) => o
                        .values()
                        .next()
                        .map_or_else(String::new, |v| report::clip(&plain(v), 30)),
                    other => report::clip(&plain(other), 30),
                };
                format!("{} = {shown}", self.sides.column_title(k))
            })
            .collect::<Vec<_>>()
            .join(", ");
        Ok(format!("monday      \"{name}\": {described}"))
    }

    fn heading(&mut self, title: &str) {
        self.step += 1;
        report::section(&format!("{}. {title}", self.step));
    }

    /// One cycle after `edits` (already made): the edits, the run, what moved, the calls.
    async fn cycle(&mut self, title: &str, edits: Vec<String>) -> anyhow::Result<pb::Run> {
        self.heading(title);
        for (i, edit) in edits.iter().enumerate() {
            report::kv(if i == 0 { "edits" } else { "" }, edit);
        }
        let before = check::snapshot(self.pool, self.sides, self.integration).await?;
        let mark = self.sides.meter();
        let run = self.api.sync_now(&self.integration.id).await?;
        let calls = self.sides.calls_since(mark);
        self.last_salesforce_writes = calls.salesforce_writes;
        let events = self.api.events(&run).await?;
        report::run_block(&run, &events, &before, self.sides);
        report::kv("API calls", &report::calls(&calls));
        Ok(run)
    }

    /// Every run of the integration so far, and the failed record explained.
    async fn history(&mut self, failed_run: &pb::Run) -> anyhow::Result<()> {
        self.heading("Run history");
        let runs = self.api.runs(&self.integration.id).await?;
        let mut rows = vec![vec![
            "#".to_owned(),
            "trigger".to_owned(),
            "status".to_owned(),
            "ms".to_owned(),
            "SF calls".to_owned(),
            "monday calls".to_owned(),
            "records".to_owned(),
        ]];
        for (i, run) in runs.iter().enumerate() {
            let c = run.counters.unwrap_or_default();
            rows.push(vec![
                (i + 1).to_string(),
                report::trigger(run).to_owned(),
                report::status(run).to_owned(),
                report::duration_ms(run).map_or_else(String::new, |ms| ms.to_string()),
                c.salesforce_api_calls.to_string(),
                c.monday_api_calls.to_string(),
                report::counters(run),
            ]);
        }
        report::table(&rows);
        report::note(
            "(calls as the orchestrator counts them; the blocks above count every request each simulator answered)",
        );
        let events = self.api.events(failed_run).await?;
        if let Some(failed) = events
            .iter()
            .find(|e| e.action == pb::EventAction::Failed as i32)
        {
            println!();
            report::note("The failed record, as run history keeps it:");
            report::kv(
                "record",
                &format!(
                    "\"{}\" ({} ↔ {})",
                    self.sides.name_of(&failed.source_record_id),
                    failed.source_record_id,
                    failed.target_record_id
                ),
            );
            if failed.errors.is_empty() {
                report::kv("reason", &failed.reason);
            }
            for e in &failed.errors {
                report::kv("error", &format!("{}: {}", e.code, e.message));
                if !e.explanation.is_empty() {
                    report::kv("explained", &e.explanation);
                }
            }
        }
        Ok(())
    }
}

/// `Amount = 87500, StageName = Negotiation/Review`
fn describe(fields: &Value) -> String {
    fields
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k} = {}", plain(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
