//! A run's page: its outcome and every record event.

use maud::{Markup, html};
use tandem_proto::v1 as pb;

use super::{layout_refreshing, pair};
use crate::format;
use crate::server::SignedIn;

/// How often a run in progress reloads its page.
const REFRESH_SECONDS: u32 = 2;

pub fn page(
    signed: &SignedIn,
    run: &pb::Run,
    integration: Option<&pb::Integration>,
    events: &[pb::RecordEvent],
    next: &str,
) -> Markup {
    let name = integration
        .and_then(|i| i.spec.as_ref())
        .map(|s| s.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| run.integration_id.clone());
    let c = run.counters.unwrap_or_default();
    let title = format!("Run of {}", format::when(run.started_at.as_ref()));
    let running = run.status == pb::RunStatus::Running as i32;
    layout_refreshing(
        &title,
        Some(signed),
        html! {
            p class="crumbs" {
                a href="/" { "Integrations" } " / "
                a href={ "/integrations/" (run.integration_id) } { (name) } " / run"
            }
            h1 { (title) }
            @if running {
                p id="in-progress" role="status" {
                    "In progress: this page reloads every " (REFRESH_SECONDS) " seconds until the run is over."
                }
            }
            dl class="facts" id="run" {
                (pair("Outcome", format::run_status(run.status)))
                (pair("Trigger", format::trigger(run.trigger)))
                (pair("Started", format::when(run.started_at.as_ref())))
                (pair("Finished", format::when(run.finished_at.as_ref())))
                (pair("Records", format!("read {} · created {} · updated {} · skipped {} · failed {} · conflicts {}", c.read, c.created, c.updated, c.skipped, c.failed, c.conflicts)))
                (pair("API calls", format!("Salesforce {} · monday {}", c.salesforce_api_calls, c.monday_api_calls)))
                @if !run.error.is_empty() { (pair("Error", &run.error)) }
            }
            h2 { "Events" }
            @if events.is_empty() {
                p id="no-events" { "No record moved in this run." }
            } @else {
                ol id="events" class="events" {
                    @for e in events { li { (event(e)) } }
                }
            }
            @if !next.is_empty() {
                p { a href={ "/runs/" (run.id) "?page=" (url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()) } { "Older events" } }
            }
        },
        running.then_some(REFRESH_SECONDS),
    )
}

fn event(e: &pb::RecordEvent) -> Markup {
    let action = format::action(e.action);
    html! {
        p class="event-head" {
            span class={ "action " (action) } { (action) } " "
            (format::side(e.source_side)) " → " (format::side(e.target_side)) ": "
            (format::record(&e.source_name, &e.source_record_id)) " → "
            (format::record(&e.target_name, &e.target_record_id))
            " " span class="at" { (format::when(e.at.as_ref())) }
        }
        @if !e.reason.is_empty() { p class="reason" { (e.reason) } }
        @if !e.changes.is_empty() {
            ul class="changes" {
                @for c in &e.changes {
                    li {
                        code { (c.field) } ": "
                        @if c.redacted {
                            span class="redacted" { "value hidden" }
                        } @else {
                            span class="before" { (format::value(&c.before)) } " → " span class="after" { (format::value(&c.after)) }
                        }
                        @if !c.source_field.is_empty() { " (from " code { (c.source_field) } ")" }
                        @if c.winner != 0 && !c.redacted {
                            br;
                            "Salesforce had " (format::value(&c.salesforce_value)) ", monday had "
                            (format::value(&c.monday_value)) "; " (format::side(c.winner)) " won"
                        }
                    }
                }
            }
        }
        @for error in &e.errors { (remote_error(error)) }
    }
}

/// A remote's error as it said it, with Tandem's explanation and suggested fix.
pub fn remote_error(error: &pb::RemoteError) -> Markup {
    html! {
        div class="remote-error" {
            p {
                strong { "Error" }
                @if !error.code.is_empty() { " " code { (error.code) } }
                @if !error.fields.is_empty() { " [" (error.fields.join(", ")) "]" }
                ": " (error.message)
            }
            @if !error.explanation.is_empty() {
                p class="fix" { strong { "Fix: " } (error.explanation) }
            }
        }
    }
}
