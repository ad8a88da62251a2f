//! The sign-in page and the refusal page: plain, accessible HTML (labels, one heading, errors
//! tied to their field), no script.

use maud::{DOCTYPE, Markup, html};

use crate::flow::Request;

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Tandem development identity provider" }
            }
            body {
                main { (body) }
            }
        }
    }
}

/// The form: the request's parameters hidden, account and email asked; `problem` names the
/// field that was refused and why.
pub(crate) fn sign_in(
    request: &Request,
    problem: Option<(&str, &str)>,
    account: &str,
    email: &str,
) -> Markup {
    let error_for = |field: &str| problem.filter(|(f, _)| *f == field).map(|(_, m)| m);
    layout(
        "Sign in",
        html! {
            h1 { "Sign in to Tandem" }
            p role="note" {
                strong { "Development identity provider. " }
                "It believes the account and email you type: use it for a local trial only, "
                "and your organisation's identity provider for anything else."
            }
            form method="post" action="authorize" {
                @for (name, value) in &request.params {
                    input type="hidden" name=(name) value=(value);
                }
                p {
                    label for="account" { "Account" }
                    br;
                    input id="account" name="account" value=(account) required
                        autocomplete="organization"
                        aria-invalid=[error_for("account").map(|_| "true")]
                        aria-describedby=[error_for("account").map(|_| "account-error")];
                    @if let Some(message) = error_for("account") {
                        br;
                        span id="account-error" role="alert" { (message) }
                    }
                }
                p {
                    label for="email" { "Email" }
                    br;
                    input id="email" name="email" type="email" value=(email) required
                        autocomplete="email"
                        aria-invalid=[error_for("email").map(|_| "true")]
                        aria-describedby=[error_for("email").map(|_| "email-error")];
                    @if let Some(message) = error_for("email") {
                        br;
                        span id="email-error" role="alert" { (message) }
                    }
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A request this provider will not serve: said on the page, never redirected (the redirect
/// URI may be the problem).
pub(crate) fn refused(problem: &str) -> Markup {
    layout(
        "Sign-in refused",
        html! {
            h1 { "This sign-in request was refused" }
            p role="alert" { (problem) }
        },
    )
}
