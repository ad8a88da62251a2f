//! Step 2: the board and the object, and the integration's name.

use maud::{Markup, html};

use super::steps;
use crate::server::SignedIn;
use crate::setup::choose::View;
use crate::templates::layout;

pub fn page(signed: &SignedIn, view: &View) -> Markup {
    layout(
        "Choose board and object",
        Some(signed),
        html! {
            p class="crumbs" { a href="/" { "Integrations" } " / " a href="/setup" { "Set up" } " / Board and object" }
            h1 { "Choose the board and the object" }
            (steps(2))
            form method="get" action="/setup/mapping" class="stack" id="choose" {
                input type="hidden" name="monday" value=(view.selected.monday);
                input type="hidden" name="salesforce" value=(view.selected.salesforce);
                label for="board" { "monday board" }
                select id="board" name="board" required {
                    @if view.boards.is_empty() {
                        option value="" { "this connection reaches no board" }
                    }
                    @for b in &view.boards {
                        option value=(b.id) { (b.name) " (" (b.id) ")" }
                    }
                }
                label for="object" { "Salesforce object" }
                select id="object" name="object" required {
                    @for o in &view.objects {
                        option value=(o.name) selected[o.name == "Opportunity"] {
                            (o.label) " (" (o.name) ")"
                            @if !(o.createable || o.updateable) { " · read-only" }
                        }
                    }
                }
                label for="name" { "Name of the integration" }
                input id="name" name="name" type="text" autocomplete="off" placeholder="e.g. Deals ↔ Opportunities";
                p class="note" { "Next: Tandem suggests a mapping from the board's columns and the object's fields; you edit it before anything is created." }
                button type="submit" id="to-mapping" { "Continue: map fields" }
            }
        },
    )
}
