//! One integration's page.

use maud::{Markup, html};
use tandem_proto::v1 as pb;

use super::{layout, mapping, pair, run::remote_error};
use crate::csrf;
use crate::format;
use crate::pages::integration::View;
use crate::server::SignedIn;

pub fn page(signed: &SignedIn, view: &View) -> Markup {
    let i = &view.integration;
    let spec = i.spec.clone().unwrap_or_default();
    let name = if spec.name.is_empty() {
        i.id.as_str()
    } else {
        spec.name.as_str()
    };
    layout(
        name,
        Some(signed),
        html! {
            p class="crumbs" { a href="/" { "Integrations" } " / " (name) }
            h1 { (name) }
            p class="summary" {
                span class={ "state " (format::state(i.state)) } { (format::state(i.state)) }
                @if !i.state_reason.is_empty() { " — " (i.state_reason) }
            }
            dl class="facts" {
                (pair("Owner", &i.owner))
                (pair("monday board", &spec.board_id))
                (pair("Salesforce object", &spec.salesforce_object))
                (pair("Scope", format::scope(spec.scope)))
                @if view.owner {
                    (pair("Conflicts", format::conflict_policy(spec.conflict_policy)))
                }
                (pair("Polls every", format::duration(u64::from(if spec.poll_interval_seconds == 0 { 180 } else { spec.poll_interval_seconds }))))
            }
            (actions(signed, view))
            (status(view))
            (mapping::section(view.owner, &spec, view.described.as_ref()))
            (failures(&view.failures))
            (conflicts(view.conflicts.as_ref()))
            (runs(&view.runs))
        },
    )
}

fn actions(signed: &SignedIn, view: &View) -> Markup {
    let i = &view.integration;
    let paused = i.state == pb::IntegrationState::Paused as i32;
    html! {
        section aria-labelledby="actions-title" {
            h2 id="actions-title" { "Actions" }
            @if view.owner {
                div class="actions" {
                    form method="post" action={ "/integrations/" (i.id) "/sync" } {
                        (csrf::input(&signed.session))
                        button type="submit" id="sync-now" disabled[paused] aria-describedby=[paused.then_some("sync-paused")] { "Sync now" }
                    }
                    @if paused {
                        form method="post" action={ "/integrations/" (i.id) "/resume" } {
                            (csrf::input(&signed.session))
                            button type="submit" id="resume" { "Resume" }
                        }
                    } @else {
                        form method="post" action={ "/integrations/" (i.id) "/pause" } {
                            (csrf::input(&signed.session))
                            button type="submit" id="pause" { "Pause" }
                        }
                    }
                }
                p class="note" {
                    @if paused {
                        span id="sync-paused" { "It is paused: resume it to sync. " }
                    } @else {
                        "Sync now runs a cycle at once and shows its run when it ends. "
                    }
                    a href={ "/integrations/" (i.id) "/edit" } id="edit-mapping" { "Edit mapping and conditions" }
                }
            } @else {
                p id="read-only" class="note" {
                    "Read-only: this integration belongs to " strong { (i.owner) }
                    ". Only its owner can sync it now, pause or resume it, import, hand it over, and see its mapping and field values. "
                    "You may preview an import."
                }
            }
            (import(signed, view))
            @if view.owner { (transfer(signed, view)) }
        }
    }
}

/// Bringing existing records across: a preview (dry run, anyone of the account) first, then
/// the import itself (the owner).
fn import(signed: &SignedIn, view: &View) -> Markup {
    let i = &view.integration;
    // The orchestrator imports only into an active integration (a preview runs on a paused
    // one too); the console refuses it as well (`pages/actions.rs`).
    let paused = i.state == pb::IntegrationState::Paused as i32;
    html! {
        h3 { "Bring existing records across" }
        form method="post" action={ "/integrations/" (i.id) "/import" } class="inline" {
            (csrf::input(&signed.session))
            label for="import-source" { "Records from" }
            select id="import-source" name="source" {
                option value="salesforce" { "Salesforce (into monday)" }
                option value="monday" { "monday (into Salesforce)" }
            }
            button type="submit" name="mode" value="preview" id="import-preview" { "Preview (dry run)" }
            @if view.owner {
                button type="submit" name="mode" value="import" id="import-run" disabled[paused] aria-describedby=[paused.then_some("import-paused")] { "Import" }
            }
        }
        p class="note" { "A preview writes nothing: its run lists what the import would create, link and update." }
        @if view.owner && paused {
            p class="note" id="import-paused" { "It is paused: preview now; resume it to import." }
        }
    }
}

/// Handing the integration to another user of the account (the owner).
fn transfer(signed: &SignedIn, view: &View) -> Markup {
    let i = &view.integration;
    html! {
        h3 { "Hand it over" }
        form method="post" action={ "/integrations/" (i.id) "/transfer" } class="inline" {
            (csrf::input(&signed.session))
            input type="hidden" name="version" value=(i.version);
            label for="new-owner" { "New owner's email" }
            input id="new-owner" name="new_owner" type="email" required autocomplete="off";
            button type="submit" id="transfer" { "Transfer" }
        }
        p class="note" { "The new owner must point it at their own connections before it runs again." }
    }
}

fn status(view: &View) -> Markup {
    html! {
        section aria-labelledby="status-title" {
            h2 id="status-title" { "Status" }
            @match &view.status {
                Err(e) => p class="problem" { "The orchestrator could not say: " (e) },
                Ok(s) => dl class="facts" id="status" {
                    dt { "Last run" }
                    dd {
                        @if s.last_run_id.is_empty() { "never" } @else {
                            a href={ "/runs/" (s.last_run_id) } { (format::when(s.last_run_at.as_ref())) }
                        }
                    }
                    (pair("Next run", format::when(s.next_run_at.as_ref())))
                    (pair("Lag", format::lag(s)))
                    (pair("Changes waiting", s.pending_changes))
                    (pair("Linked records", s.linked_records))
                    (pair("Failing records", s.failing_records))
                    (pair("Salesforce API today", format::usage(s.salesforce_usage.as_ref(), "calls")))
                    (pair("monday API budget", format::usage(s.monday_usage.as_ref(), "complexity points")))
                    @if let Some(import) = &s.import {
                        (pair("Import", format!("from {}: {} of {} records", format::side(import.source), import.records_done, import.records_total)))
                    }
                }
            }
        }
    }
}

fn failures(events: &[pb::RecordEvent]) -> Markup {
    html! {
        section aria-labelledby="failing-title" {
            h2 id="failing-title" { "Failing records" }
            @if events.is_empty() {
                p { "No record failed in the recent runs." }
            } @else {
                table id="failing" {
                    thead { tr {
                        th scope="col" { "Record" }
                        th scope="col" { "Direction" }
                        th scope="col" { "What the remote said, and the fix" }
                        th scope="col" { "Run" }
                    } }
                    tbody {
                        @for e in events {
                            tr {
                                td { (format::record(&e.source_name, &e.source_record_id)) }
                                td { (format::side(e.source_side)) " → " (format::side(e.target_side)) }
                                td {
                                    @if !e.reason.is_empty() { p { (e.reason) } }
                                    @for error in &e.errors { (remote_error(error)) }
                                }
                                td { a href={ "/runs/" (e.run_id) } { (format::when(e.at.as_ref())) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn conflicts(latest: Option<&(pb::Run, Vec<pb::RecordEvent>)>) -> Markup {
    html! {
        @if let Some((run, events)) = latest {
            @let total = run.counters.unwrap_or_default().conflicts;
            section aria-labelledby="conflicts-title" {
                h2 id="conflicts-title" { "Conflicts in the latest run" }
                p class="note" {
                    "Both sides changed these fields since the run before; the winner's value was kept. "
                    a href={ "/runs/" (run.id) } { "The run" } " (" (format::when(run.started_at.as_ref())) ")"
                    @if total > events.len() as u64 {
                        " has all " (total) "; the first " (events.len()) " are here."
                    } @else { "." }
                }
                table id="conflicts" {
                    thead { tr {
                        th scope="col" { "Record" }
                        th scope="col" { "Field" }
                        th scope="col" { "Salesforce had" }
                        th scope="col" { "monday had" }
                        th scope="col" { "Winner" }
                    } }
                    tbody {
                        @for e in events {
                            @for c in e.changes.iter().filter(|c| c.winner != 0) {
                                tr {
                                    td { (format::record(&e.source_name, &e.source_record_id)) }
                                    td { code { (c.field) } }
                                    @if c.redacted {
                                        td colspan="2" { "hidden" }
                                    } @else {
                                        td { (format::value(&c.salesforce_value)) }
                                        td { (format::value(&c.monday_value)) }
                                    }
                                    td { (format::side(c.winner)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn runs(runs: &[pb::Run]) -> Markup {
    html! {
        section aria-labelledby="runs-title" {
            h2 id="runs-title" { "Recent runs" }
            @if runs.is_empty() {
                p { "No run yet." }
            } @else {
                table id="runs" {
                    thead { tr {
                        th scope="col" { "Started" }
                        th scope="col" { "Trigger" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "Records" }
                        th scope="col" { "API calls" }
                    } }
                    tbody {
                        @for r in runs {
                            @let c = r.counters.unwrap_or_default();
                            tr {
                                td { a href={ "/runs/" (r.id) } { (format::when(r.started_at.as_ref())) } }
                                td { (format::trigger(r.trigger)) }
                                td { (format::run_status(r.status)) }
                                td { "read " (c.read) " · created " (c.created) " · updated " (c.updated) " · failed " (c.failed) " · conflicts " (c.conflicts) }
                                td { "Salesforce " (c.salesforce_api_calls) " · monday " (c.monday_api_calls) }
                            }
                        }
                    }
                }
            }
        }
    }
}
