//! The sign-in page: development mode's form, or the way to the identity provider.

use maud::{Markup, html};

use super::layout;
use crate::csrf;
use crate::session::Session;
use crate::signin::dev::FormValues;

/// Development mode: account and email, each labelled, the field at fault marked.
pub fn development(session: &Session, form: &FormValues) -> Markup {
    let problem = |field: &str| {
        form.problem
            .as_ref()
            .filter(|(f, _)| *f == field)
            .map(|(_, message)| message.clone())
    };
    let account_problem = problem("account");
    let email_problem = problem("email");
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in to Tandem" }
            p class="note" {
                "Development mode: sign in as any user of any account, no password. "
                "The services trust the token this mints only because they run with "
                code { "TANDEM_DEV_AUTH=1" } "; never use it in production."
            }
            form method="post" action="/sign-in" class="stack" {
                (csrf::input(session))
                label for="account" { "Account" }
                input id="account" name="account" type="text" required autocomplete="organization"
                    value=(form.account) aria-invalid=[account_problem.as_ref().map(|_| "true")]
                    aria-describedby=[account_problem.as_ref().map(|_| "account-problem")];
                @if let Some(message) = &account_problem {
                    p id="account-problem" class="problem" role="alert" { (message) }
                }
                label for="email" { "Email" }
                input id="email" name="email" type="email" required autocomplete="email"
                    value=(form.email) aria-invalid=[email_problem.as_ref().map(|_| "true")]
                    aria-describedby=[email_problem.as_ref().map(|_| "email-problem")];
                @if let Some(message) = &email_problem {
                    p id="email-problem" class="problem" role="alert" { (message) }
                }
                button type="submit" id="sign-in" { "Sign in" }
            }
        },
    )
}

/// Sign-in through the identity provider.
pub fn provider(problem: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in to Tandem" }
            @if let Some(problem) = problem {
                p class="problem" role="alert" { (problem) }
            }
            p { "You sign in with your organisation's identity provider." }
            p { a class="button" href="/auth/login" id="sign-in" { "Sign in with your identity provider" } }
        },
    )
}
