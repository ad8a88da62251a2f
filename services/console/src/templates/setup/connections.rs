//! Step 1: the user's connections, and connecting monday (token) or Salesforce (OAuth).

use maud::{Markup, html};
use tandem_proto::v1 as pb;

use super::{at, described_by, steps, summary};
use crate::csrf;
use crate::server::SignedIn;
use crate::setup::connections::View;
use crate::templates::layout;

fn state(c: &pb::Connection) -> &'static str {
    match pb::ConnectionState::try_from(c.state).unwrap_or_default() {
        pb::ConnectionState::Active => "active",
        pb::ConnectionState::Pending => "waiting for the OAuth callback",
        pb::ConnectionState::NeedsReauthentication => "needs re-authentication",
        pb::ConnectionState::Unspecified => "unknown",
    }
}

fn environment(e: i32) -> &'static str {
    match pb::SalesforceEnvironment::try_from(e).unwrap_or_default() {
        pb::SalesforceEnvironment::Sandbox => "sandbox",
        pb::SalesforceEnvironment::Developer => "developer",
        _ => "production",
    }
}

/// How a connection is named in lists.
pub fn describe(c: &pb::Connection) -> String {
    if c.kind == pb::ConnectionKind::Monday as i32 {
        let who = if c.monday_user_email.is_empty() {
            c.owner.as_str()
        } else {
            c.monday_user_email.as_str()
        };
        if c.monday_account_id.is_empty() {
            format!("monday ({who})")
        } else {
            format!("monday account {} ({who})", c.monday_account_id)
        }
    } else {
        let who = if c.salesforce_username.is_empty() {
            String::new()
        } else {
            format!(", {}", c.salesforce_username)
        };
        format!("{} ({}{who})", c.subdomain, environment(c.environment))
    }
}

fn of_kind(view: &View, kind: pb::ConnectionKind) -> Vec<&pb::Connection> {
    view.connections
        .iter()
        .filter(|c| c.kind == kind as i32)
        .collect()
}

pub fn page(signed: &SignedIn, view: &View) -> Markup {
    let monday = of_kind(view, pb::ConnectionKind::Monday);
    let salesforce = of_kind(view, pb::ConnectionKind::Salesforce);
    let active = |list: &[&pb::Connection]| -> Vec<pb::Connection> {
        list.iter()
            .filter(|c| c.state == pb::ConnectionState::Active as i32)
            .map(|c| (*c).clone())
            .collect()
    };
    let (monday_active, salesforce_active) = (active(&monday), active(&salesforce));
    let p = &view.problems;
    layout(
        "Set up an integration",
        Some(signed),
        html! {
            p class="crumbs" { a href="/" { "Integrations" } " / Set up" }
            h1 { "Set up an integration" }
            (steps(1))
            (summary(p))
            p { "An integration keeps one monday board and one Salesforce object in step. First connect both sides as yourself (or reuse a connection you made before), then choose them below." }
            section aria-labelledby="use-title" {
                h2 id="use-title" { "Use these connections" }
                form method="get" action="/setup/choose" class="stack" id="choose-connections" {
                    label for="monday-connection" { "monday connection" }
                    (connection_select("monday-connection", "monday", &monday_active, &view.selected.monday, described_by(p, "monday_connection_id")))
                    (at(p, "monday_connection_id"))
                    label for="salesforce-connection" { "Salesforce connection" }
                    (connection_select("salesforce-connection", "salesforce", &salesforce_active, &view.selected.salesforce, described_by(p, "salesforce_connection_id")))
                    (at(p, "salesforce_connection_id"))
                    button type="submit" id="continue" { "Continue: choose board and object" }
                }
            }
            section aria-labelledby="monday-title" {
                h2 id="monday-title" { "Connect monday" }
                (list(&monday))
                form method="post" action="/setup/monday" class="stack" id="connect-monday" {
                    (csrf::input(&signed.session))
                    label for="monday-token" { "monday API token" }
                    input id="monday-token" name="monday_token" type="password" autocomplete="off" required
                        aria-invalid=[(!p.at("monday_token").is_empty()).then_some("true")]
                        aria-describedby=(described_by(p, "monday_token").unwrap_or_else(|| "monday-token-help".to_owned()));
                    (at(p, "monday_token"))
                    p class="note" id="monday-token-help" { "In monday: your avatar → Developers → My access tokens. It is checked with monday, stored encrypted, and never shown again." }
                    button type="submit" id="connect-monday-submit" { "Connect monday" }
                }
            }
            section aria-labelledby="salesforce-title" {
                h2 id="salesforce-title" { "Connect Salesforce" }
                (list(&salesforce))
                form method="post" action="/setup/salesforce" class="stack" id="connect-salesforce" {
                    (csrf::input(&signed.session))
                    label for="subdomain" { "My Domain subdomain" }
                    input id="subdomain" name="subdomain" type="text" required autocomplete="off" value=(view.subdomain)
                        aria-invalid=[(!p.at("subdomain").is_empty()).then_some("true")]
                        aria-describedby=(described_by(p, "subdomain").unwrap_or_else(|| "subdomain-help".to_owned()));
                    (at(p, "subdomain"))
                    p class="note" id="subdomain-help" { "The name alone: " code { "acme" } " for acme.my.salesforce.com." }
                    label for="environment" { "Environment" }
                    select id="environment" name="environment" aria-describedby=[described_by(p, "environment")] {
                        @for (value, text) in [("production", "Production"), ("sandbox", "Sandbox"), ("developer", "Developer edition")] {
                            option value=(value) selected[view.environment == value] { (text) }
                        }
                    }
                    (at(p, "environment"))
                    button type="submit" id="connect-salesforce-submit" { "Connect Salesforce (opens Salesforce's sign-in)" }
                }
            }
        },
    )
}

/// The way to Salesforce's sign-in after a Salesforce connection started: the page moves on
/// by itself (a refresh) and offers the link. A form may only post to the console
/// (`form-action 'self'`), so the browser cannot be redirected off the POST itself.
pub fn to_salesforce(url: &str) -> Markup {
    html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content={ "0; url=" (url) };
                title { "On to Salesforce · Tandem console" }
                link rel="stylesheet" href="/static/console.css";
            }
            body {
                main id="main" {
                    h1 { "On to Salesforce" }
                    p { "Sign in to Salesforce and allow Tandem; Salesforce then sends you back here." }
                    p { a class="button" id="to-salesforce" href=(url) { "Continue to Salesforce" } }
                }
            }
        }
    }
}

fn connection_select(
    id: &str,
    name: &str,
    list: &[pb::Connection],
    selected: &str,
    described: Option<String>,
) -> Markup {
    html! {
        select id=(id) name=(name) aria-describedby=[described] {
            @if list.is_empty() {
                option value="" { "none yet: connect below" }
            }
            @for c in list {
                option value=(c.id) selected[c.id == selected] { (describe(c)) }
            }
        }
    }
}

fn list(connections: &[&pb::Connection]) -> Markup {
    html! {
        @if connections.is_empty() {
            p class="note" { "You have no connection here yet." }
        } @else {
            ul class="connections" {
                @for c in connections {
                    li { (describe(c)) " — " span class="note" { (state(c)) } }
                }
            }
        }
    }
}
