//! The pages' markup, checked at compile time (maud escapes every value it inserts). Plain
//! HTML forms and links: every page works with the keyboard and without script.

pub mod conditions;
pub mod integration;
pub mod integrations;
pub mod mapping;
pub mod run;
pub mod setup;
pub mod sign_in;

use maud::{DOCTYPE, Markup, html};

use crate::csrf;
use crate::server::SignedIn;

/// The frame of every page: a skip link, the header with who is signed in, the main content.
pub fn layout(title: &str, who: Option<&SignedIn>, body: Markup) -> Markup {
    layout_refreshing(title, who, body, None)
}

/// [`layout`] for a page that reloads itself every `refresh` seconds (a run still in
/// progress): plain HTML, no script.
pub fn layout_refreshing(
    title: &str,
    who: Option<&SignedIn>,
    body: Markup,
    refresh: Option<u32>,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · Tandem console" }
                link rel="stylesheet" href="/static/console.css";
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    nav aria-label="Main" {
                        a class="brand" href="/" { "Tandem" }
                        @if who.is_some() {
                            a href="/" { "Integrations" }
                            a href="/setup" { "Set up an integration" }
                        }
                    }
                    @if let Some(who) = who {
                        div class="who" {
                            span { "Signed in as " strong { (who.user.email) } " · account " strong { (who.user.account) } }
                            form method="post" action="/sign-out" {
                                (csrf::input(&who.session))
                                button type="submit" class="link" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

/// A page that says what went wrong and where to go next.
pub fn error_page(title: &str, message: &str) -> Markup {
    layout(
        title,
        None,
        html! {
            h1 { (title) }
            p role="alert" class="problem" { (message) }
            p { a href="/" { "Back to the integrations" } }
        },
    )
}

/// A labelled value in a definition list.
pub fn pair(term: &str, value: impl maud::Render) -> Markup {
    html! { dt { (term) } dd { (value) } }
}
