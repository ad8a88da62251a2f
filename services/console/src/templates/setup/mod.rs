//! The setup pages: connections, board and object, the mapping editor with its conditions
//! builder. Every problem is shown next to its field (`aria-describedby`, `aria-invalid`) and
//! listed at the top of the page.

pub mod choose;
pub mod conditions;
pub mod connections;
pub mod editor;

use maud::{Markup, html};

use crate::setup::Problems;

/// The id of the element holding the problems of `field`.
pub fn problem_id(field: &str) -> String {
    let safe: String = field
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("problem-{safe}")
}

/// The problems of `field`, where it is shown (nothing when it has none).
pub fn at(problems: &Problems, field: &str) -> Markup {
    let found = problems.at(field);
    html! {
        @if !found.is_empty() {
            p class="problem field-problem" id=(problem_id(field)) {
                @for (i, m) in found.iter().enumerate() {
                    @if i > 0 { br; }
                    (m)
                }
            }
        }
    }
}

/// `aria-describedby` for a field's input: its problem's element when it has one.
pub fn described_by(problems: &Problems, field: &str) -> Option<String> {
    (!problems.at(field).is_empty()).then(|| problem_id(field))
}

/// Every problem at the top of a page, each naming its setting.
pub fn summary(problems: &Problems) -> Markup {
    html! {
        @if !problems.is_empty() {
            section id="problems" class="problem-summary" role="alert" aria-labelledby="problems-title" {
                h2 id="problems-title" { "Fix these, then try again" }
                ul {
                    @for (field, messages) in &problems.0 {
                        @for m in messages {
                            li { a href={ "#" (problem_id(field)) } { code { (field) } } ": " (m) }
                        }
                    }
                }
            }
        }
    }
}

/// The steps of setup, the current one marked.
pub fn steps(current: usize) -> Markup {
    let names = [
        "Connect both sides",
        "Choose board and object",
        "Map fields and set conditions",
        "Create paused, preview, import",
    ];
    html! {
        ol class="steps" aria-label="Setup steps" {
            @for (i, name) in names.iter().enumerate() {
                @if i + 1 == current {
                    li aria-current="step" { strong { (name) } }
                } @else {
                    li { (name) }
                }
            }
        }
    }
}
