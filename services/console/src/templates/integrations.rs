//! The integrations list, and what to do when there is none.

use maud::{Markup, html};

use super::layout;
use crate::format;
use crate::pages::integrations::{Filters, Listing, Row};
use crate::server::SignedIn;

pub fn page(signed: &SignedIn, filters: &Filters, listing: &Listing) -> Markup {
    let rows = &listing.rows;
    // Only an unfiltered first page with nothing on it means the account has none.
    let none_yet = filters.page.is_empty() && !filters.any() && listing.scanned == 0;
    layout(
        "Integrations",
        Some(signed),
        html! {
            h1 { "Integrations" }
            @if none_yet {
                (empty(&signed.user.account))
            } @else {
                p { a href="/setup" id="setup-link" { "Set up another integration" } }
                form method="get" action="/" class="filters" aria-label="Filter integrations" {
                    fieldset {
                        legend { "Show only" }
                        (checkbox("failing", "failing", filters.failing.is_some()))
                        (checkbox("paused", "paused", filters.paused.is_some()))
                        (checkbox("mine", "mine", filters.mine.is_some()))
                        button type="submit" { "Apply filters" }
                        @if filters.any() { " " a href="/" { "Show all" } }
                    }
                }
                @if rows.is_empty() {
                    p id="no-match" {
                        @if listing.next.is_empty() {
                            "No integration matches the filters."
                        } @else {
                            "None of the " (listing.scanned) " integrations looked at matches the filters; the next page looks further."
                        }
                    }
                } @else {
                    (table(rows))
                }
                @if !listing.next.is_empty() {
                    p { a href={ "/?" (filters.next_query(&listing.next)) } id="next-page" rel="next" { "Next page" } }
                }
            }
        },
    )
}

fn checkbox(name: &str, label: &str, checked: bool) -> Markup {
    html! {
        label class="check" {
            input type="checkbox" name=(name) checked[checked];
            " " (label)
        }
    }
}

fn table(rows: &[Row]) -> Markup {
    html! {
        table id="integrations" {
            caption class="visually-hidden" { "Integrations of this account" }
            thead {
                tr {
                    th scope="col" { "Integration" }
                    th scope="col" { "State" }
                    th scope="col" { "Owner" }
                    th scope="col" { "Last run" }
                    th scope="col" { "Next run" }
                    th scope="col" { "Failing records" }
                    th scope="col" { "Lag" }
                    th scope="col" { "Salesforce API" }
                    th scope="col" { "monday API" }
                }
            }
            tbody {
                @for row in rows {
                    @let i = &row.integration;
                    @let name = i.spec.as_ref().map(|s| s.name.as_str()).filter(|n| !n.is_empty()).unwrap_or(i.id.as_str());
                    tr {
                        th scope="row" { a href={ "/integrations/" (i.id) } { (name) } }
                        td { span class={ "state " (format::state(i.state)) } { (format::state(i.state)) } }
                        td { (i.owner) }
                        @match &row.status {
                            Ok(s) => {
                                td {
                                    @if s.last_run_id.is_empty() { "never" } @else {
                                        a href={ "/runs/" (s.last_run_id) } { (format::when(s.last_run_at.as_ref())) }
                                    }
                                }
                                td { (format::when(s.next_run_at.as_ref())) }
                                td class=[(s.failing_records > 0).then_some("bad")] { (s.failing_records) }
                                td { (format::lag(s)) }
                                td { (format::usage(s.salesforce_usage.as_ref(), "calls")) }
                                td { (format::usage(s.monday_usage.as_ref(), "points")) }
                            }
                            Err(e) => {
                                td colspan="6" class="problem" { "status unavailable: " (e) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// No integration yet: what one is, and the next step.
fn empty(account: &str) -> Markup {
    html! {
        section id="empty" aria-labelledby="empty-title" {
            h2 id="empty-title" { "No integrations in account " (account) " yet" }
            p {
                "An integration keeps a monday.com board and a Salesforce object in step. "
                "Next step: set one up — connect both sides, choose the board and the object, "
                "start from the suggested mapping, and create it paused so you can preview an import first."
            }
            p { a class="button" href="/setup" id="start-setup" { "Set up an integration" } }
            p class="note" {
                "The same from the command line: " code { "tandem connect" } ", " code { "tandem mapping suggest" }
                " and " code { "tandem integration create --paused" } "."
            }
        }
    }
}
