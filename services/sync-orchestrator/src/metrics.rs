//! What an operator runs a fleet by, as OpenTelemetry instruments (exported over OTLP when
//! telemetry has an endpoint; no-ops otherwise). Names and attributes are listed in
//! docs/operations.md; the collector turns dots into underscores for Prometheus.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, UpDownCounter};
use tandem_proto::v1 as pb;

#[derive(Clone)]
pub struct Metrics {
    runs_started: Counter<u64>,
    runs_finished: Counter<u64>,
    run_duration: Histogram<f64>,
    lateness: Histogram<f64>,
    records: Counter<u64>,
    records_read: Counter<u64>,
    claimed: Counter<u64>,
    claim_conflicts: Counter<u64>,
    leases_held: UpDownCounter<i64>,
    submitted: Counter<u64>,
    budget_used: Histogram<f64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A trigger's name in attributes: `schedule`, `manual`, `import`, `dry_run`, `webhook`.
fn trigger_name(trigger: pb::Trigger) -> &'static str {
    match trigger {
        pb::Trigger::Schedule => "schedule",
        pb::Trigger::Manual => "manual",
        pb::Trigger::Import => "import",
        pb::Trigger::DryRun => "dry_run",
        pb::Trigger::Webhook => "webhook",
        pb::Trigger::Unspecified => "unspecified",
    }
}

/// How a run ended, as an attribute: a run-history status, or why there was no run.
pub fn status_name(result: &Result<pb::Run, crate::run::CycleError>) -> &'static str {
    use crate::run::CycleError;
    match result {
        Ok(run) => match pb::RunStatus::try_from(run.status) {
            Ok(pb::RunStatus::Succeeded) => "succeeded",
            Ok(pb::RunStatus::PartiallyFailed) => "partially_failed",
            _ => "failed",
        },
        Err(CycleError::Busy(_)) => "busy",
        Err(CycleError::Paused(..)) => "paused",
        Err(CycleError::Stopped) => "stopped",
        Err(_) => "failed",
    }
}

impl Metrics {
    pub fn new() -> Self {
        let meter = opentelemetry::global::meter("tandem.sync_orchestrator");
        Self {
            runs_started: meter
                .u64_counter("tandem.sync.runs.started")
                .with_description("Runs started, by trigger")
                .build(),
            runs_finished: meter
                .u64_counter("tandem.sync.runs.finished")
                .with_description("Runs finished, by trigger and status")
                .build(),
            run_duration: meter
                .f64_histogram("tandem.sync.run.duration")
                .with_unit("s")
                .with_description("How long runs take, by trigger and status")
                .build(),
            lateness: meter
                .f64_histogram("tandem.scheduler.lateness")
                .with_unit("s")
                .with_description("When a scheduled run started after it was due")
                .build(),
            records: meter
                .u64_counter("tandem.sync.records")
                .with_description(
                    "Record outcomes, by the side the change came from and outcome \
                     (created, updated, skipped, failed, conflict, unlinked)",
                )
                .build(),
            records_read: meter
                .u64_counter("tandem.sync.records.read")
                .with_description("Changed records read from both sides")
                .build(),
            claimed: meter
                .u64_counter("tandem.scheduler.claimed")
                .with_description("Due integrations claimed by this replica")
                .build(),
            claim_conflicts: meter
                .u64_counter("tandem.scheduler.claim_conflicts")
                .with_description("Runs not started because another replica held the lease")
                .build(),
            leases_held: meter
                .i64_up_down_counter("tandem.leases.held")
                .with_description("Integration leases this replica holds")
                .build(),
            submitted: meter
                .u64_counter("tandem.buffer.submitted")
                .with_description("Changes submitted to the coalescing buffer, by side")
                .build(),
            budget_used: meter
                .f64_histogram("tandem.remote.budget.used_ratio")
                .with_description(
                    "How much of the remote's budget was used when a cycle polled, by side \
                     (Salesforce daily API calls, monday complexity per minute): a fleet's \
                     orgs and accounts near their limit show in the top buckets",
                )
                .with_boundaries(vec![0.1, 0.25, 0.5, 0.75, 0.8, 0.9, 0.95, 1.0])
                .build(),
        }
    }

    /// The share of a remote's budget a cycle saw used (nothing when the remote said none).
    pub fn budget(&self, side: &'static str, usage: Option<&pb::ApiUsage>) {
        if let Some(u) = usage.filter(|u| u.limit > 0) {
            self.budget_used.record(
                u.used as f64 / u.limit as f64,
                &[KeyValue::new("side", side)],
            );
        }
    }

    pub fn run_started(&self, trigger: pb::Trigger) {
        self.runs_started
            .add(1, &[KeyValue::new("trigger", trigger_name(trigger))]);
    }

    pub fn run_finished(&self, trigger: pb::Trigger, status: &'static str, seconds: f64) {
        let attributes = [
            KeyValue::new("trigger", trigger_name(trigger)),
            KeyValue::new("status", status),
        ];
        self.runs_finished.add(1, &attributes);
        self.run_duration.record(seconds, &attributes);
        if status == "busy" {
            self.claim_conflicts.add(1, &[]);
        }
    }

    /// A run's record events, counted by the side they came from and their outcome.
    pub fn outcomes(&self, counters: &pb::RunCounters, events: &[pb::RecordEvent]) {
        self.records_read.add(counters.read, &[]);
        for event in events {
            let side = match pb::Side::try_from(event.source_side) {
                Ok(pb::Side::Salesforce) => "salesforce",
                Ok(pb::Side::Monday) => "monday",
                _ => "unspecified",
            };
            let outcome = match pb::EventAction::try_from(event.action) {
                Ok(pb::EventAction::Created) => "created",
                Ok(pb::EventAction::Updated) => "updated",
                Ok(pb::EventAction::Skipped) => "skipped",
                Ok(pb::EventAction::Failed) => "failed",
                Ok(pb::EventAction::Conflict) => "conflict",
                Ok(pb::EventAction::Unlinked) => "unlinked",
                _ => "other",
            };
            self.records.add(
                1,
                &[
                    KeyValue::new("side", side),
                    KeyValue::new("outcome", outcome),
                ],
            );
        }
    }

    pub fn claimed(&self, count: usize, lateness_seconds: impl Iterator<Item = f64>) {
        self.claimed.add(count as u64, &[]);
        for late in lateness_seconds {
            self.lateness.record(late.max(0.0), &[]);
        }
    }

    pub fn lease_taken(&self) {
        self.leases_held.add(1, &[]);
    }

    pub fn lease_given_back(&self) {
        self.leases_held.add(-1, &[]);
    }

    pub fn submitted(&self, side: &'static str, count: usize) {
        self.submitted
            .add(count as u64, &[KeyValue::new("side", side)]);
    }
}
