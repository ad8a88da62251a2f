//! Step 3: the mapping editor — name, scope and conflict rule, the suggested mappings to edit
//! (field choices limited to those that convert with the row's column, required fields
//! marked, a direction per mapping in two-way), the link key, both conditions; Validate and
//! Create paused.

use maud::{Markup, html};
use tandem_proto::v1 as pb;

use super::conditions::{self, Choices};
use super::{at, described_by, steps, summary};
use crate::csrf;
use crate::server::SignedIn;
use crate::setup::Problems;
use crate::setup::draft::{Row, Which};
use crate::setup::editor::View;
use crate::templates::layout;

fn invalid(problems: &Problems, fields: &[&str]) -> Option<&'static str> {
    fields
        .iter()
        .any(|f| !problems.at(f).is_empty())
        .then_some("true")
}

fn field_label(f: &pb::SetupField) -> String {
    let mut text = format!("{} ({})", f.label, f.name);
    if f.required {
        text.push_str(" · required");
    }
    if f.read_only {
        text.push_str(" · read-only");
    }
    text
}

pub fn page(signed: &SignedIn, view: &View) -> Markup {
    let d = &view.draft;
    let p = &view.problems;
    let two_way = d.scope == "two_way";
    let editing = !d.integration_id.is_empty();
    layout(
        if editing {
            "Edit mapping"
        } else {
            "Map fields"
        },
        Some(signed),
        html! {
            @if editing {
                p class="crumbs" { a href="/" { "Integrations" } " / " a href={ "/integrations/" (d.integration_id) } { (d.name) } " / Edit" }
                h1 { "Edit mapping and conditions" }
            } @else {
                p class="crumbs" { a href="/" { "Integrations" } " / " a href="/setup" { "Set up" } " / Mapping" }
                h1 { "Map fields and set conditions" }
                (steps(3))
            }
            (summary(p))
            @if view.valid {
                p id="valid" role="status" class="ok" { "The settings are valid: create the integration when you are ready." }
            }
            @for w in &view.warnings {
                p class="note warning" { code { (w.field) } ": " (w.message) }
            }
            form method="post" action="/setup/mapping" id="editor" {
                // Enter in a text field presses the first button: make it a harmless one.
                button type="submit" name="action" value="refresh" class="visually-hidden" tabindex="-1" aria-hidden="true" { "Update" }
                (csrf::input(&signed.session))
                @if editing {
                    input type="hidden" name="integration_id" value=(d.integration_id);
                    input type="hidden" name="version" value=(d.version);
                }
                input type="hidden" name="monday_connection_id" value=(d.monday_connection_id);
                input type="hidden" name="salesforce_connection_id" value=(d.salesforce_connection_id);
                input type="hidden" name="board_id" value=(d.board_id);
                input type="hidden" name="salesforce_object" value=(d.salesforce_object);
                fieldset class="stack-fields" {
                    legend { "Integration" }
                    p { "monday board " code { (d.board_id) } " ↔ Salesforce " code { (d.salesforce_object) } }
                    @for f in ["monday_connection_id", "salesforce_connection_id", "board_id", "salesforce_object"] { (at(p, f)) }
                    label for="name" { "Name" }
                    input id="name" name="name" type="text" value=(d.name) required autocomplete="off"
                        aria-invalid=[invalid(p, &["name"])] aria-describedby=[described_by(p, "name")];
                    (at(p, "name"))
                }
                fieldset id="scope" aria-describedby=[described_by(p, "scope")] {
                    legend { "Which way changes flow" }
                    @for (value, text) in [("two_way", "Both ways"), ("monday_to_salesforce", "monday → Salesforce only"), ("salesforce_to_monday", "Salesforce → monday only")] {
                        label class="check" {
                            input type="radio" name="scope" value=(value) checked[d.scope == value];
                            " " (text)
                        }
                    }
                    (at(p, "scope"))
                    div class="field" {
                        label for="conflict" { "When both sides changed a field " }
                        select id="conflict" name="conflict_policy" aria-describedby=[described_by(p, "conflict_policy")] {
                            @for (value, text) in [("newest", "the newer change wins"), ("salesforce", "Salesforce wins"), ("monday", "monday wins")] {
                                option value=(value) selected[d.conflict == value] { (text) }
                            }
                        }
                    }
                    (at(p, "conflict_policy"))
                    p class="note" { "Changing the way changes flow updates the choices below after " strong { "Update choices" } "." }
                }
                (mapping(view, two_way))
                (link_key(view))
                (conditions::builder(Which::Incoming, &d.incoming, &field_choices(&view.choices), p))
                (conditions::builder(Which::Outgoing, &d.outgoing, &column_choices(&view.choices), p))
                @if let Some(messages) = other_problems(p) {
                    (messages)
                }
                div class="actions" {
                    button type="submit" name="action" value="refresh" class="secondary" id="refresh" { "Update choices" }
                    button type="submit" name="action" value="validate" id="validate" { "Validate" }
                    @if editing {
                        button type="submit" name="action" value="save" id="save" { "Save changes" }
                    } @else {
                        button type="submit" name="action" value="create" id="create" { "Create paused" }
                    }
                }
                @if !editing {
                    p class="note" { "Create paused makes the integration without syncing anything; on its page you then preview an import (a dry run), resume it, and import." }
                }
            }
        },
    )
}

/// Problems of settings the page has no field for (e.g. `poll_interval_seconds`), shown above
/// the buttons (they are in the summary too).
fn other_problems(p: &Problems) -> Option<Markup> {
    const SHOWN: &[&str] = &[
        "name",
        "scope",
        "conflict_policy",
        "mappings",
        "monday_connection_id",
        "salesforce_connection_id",
        "board_id",
        "salesforce_object",
        "link_monday_column_id",
        "link_salesforce_field",
        "incoming_conditions",
        "outgoing_conditions",
    ];
    let others: Vec<&String> =
        p.0.keys()
            .filter(|k| !SHOWN.contains(&k.as_str()) && !k.starts_with("mappings["))
            .collect();
    (!others.is_empty()).then(|| html! { @for k in others { (at(p, k)) } })
}

fn field_choices(c: &pb::SuggestMappingResponse) -> Choices {
    c.fields
        .iter()
        .map(|f| (f.name.clone(), format!("{} ({})", f.label, f.name)))
        .collect()
}

fn column_choices(c: &pb::SuggestMappingResponse) -> Choices {
    c.columns
        .iter()
        .map(|col| (col.id.clone(), format!("{} ({})", col.title, col.kind)))
        .collect()
}

fn mapping(view: &View, two_way: bool) -> Markup {
    let d = &view.draft;
    let p = &view.problems;
    let required: Vec<&pb::SetupField> =
        view.choices.fields.iter().filter(|f| f.required).collect();
    html! {
        section aria-labelledby="mapping-title" id="mappings" {
            h2 id="mapping-title" { "Mapping" }
            (at(p, "mappings"))
            @if !required.is_empty() {
                p id="required-fields" {
                    "Salesforce needs these fields when Tandem creates a record: "
                    @for (i, f) in required.iter().enumerate() {
                        @if i > 0 { ", " }
                        @let mapped = d.mappings.iter().any(|m| m.field == f.name);
                        strong class="required" { (f.label) " (" (f.name) ")" }
                        " " span class={ @if mapped { "ok" } @else { "bad" } } { @if mapped { "mapped" } @else { "not mapped" } }
                    }
                }
            }
            table id="mapping-editor" {
                caption class="visually-hidden" { "Which monday column maps to which Salesforce field" }
                thead { tr {
                    th scope="col" { "monday column" }
                    th scope="col" { "Salesforce field" }
                    @if two_way { th scope="col" { "Direction" } }
                    th scope="col" { "Options" }
                    th scope="col" { span class="visually-hidden" { "Remove" } }
                } }
                tbody {
                    @for (i, row) in d.mappings.iter().enumerate() {
                        (mapping_row(view, i, row, two_way))
                    }
                }
            }
            @if d.mappings.is_empty() { p { "No field is mapped yet." } }
            button type="submit" name="action" value="add_mapping" class="secondary" id="add-mapping" { "Add a mapping" }
            p class="note" { "Each field list offers the fields that convert with the row's column; after changing a column press " strong { "Update choices" } "." }
        }
    }
}

fn mapping_row(view: &View, i: usize, row: &Row, two_way: bool) -> Markup {
    let p = &view.problems;
    let key = |part: &str| format!("mappings[{i}].{part}");
    let whole = format!("mappings[{i}]");
    let column = view.choices.columns.iter().find(|c| c.id == row.column);
    let compatible =
        |name: &str| column.and_then(|c| c.compatible.iter().find(|x| x.field == name));
    let offered: Vec<&pb::SetupField> = view
        .choices
        .fields
        .iter()
        .filter(|f| column.is_none() || compatible(&f.name).is_some())
        .collect();
    let (to_sf, to_monday) =
        compatible(&row.field).map_or((true, true), |c| (c.to_salesforce, c.to_monday));
    html! {
        tr id={ "mapping-" (i) } {
            td {
                label for={ "m-" (i) "-column" } class="visually-hidden" { "monday column of mapping " (i + 1) }
                select id={ "m-" (i) "-column" } name={ "m." (i) ".column" }
                    aria-invalid=[invalid(p, &[&key("monday_column_id"), &whole])]
                    aria-describedby=[described_by(p, &key("monday_column_id"))] {
                    option value="" { "— choose —" }
                    @for c in &view.choices.columns {
                        option value=(c.id) selected[c.id == row.column] {
                            (c.title) " (" (c.kind) ")" @if c.read_only { " · read-only" }
                        }
                    }
                    @if !row.column.is_empty() && column.is_none() {
                        option value=(row.column) selected { (row.column) " (not on the board)" }
                    }
                }
                (at(p, &key("monday_column_id")))
            }
            td {
                label for={ "m-" (i) "-field" } class="visually-hidden" { "Salesforce field of mapping " (i + 1) }
                select id={ "m-" (i) "-field" } name={ "m." (i) ".field" }
                    aria-invalid=[invalid(p, &[&key("salesforce_field"), &whole])]
                    aria-describedby=[described_by(p, &key("salesforce_field")).or_else(|| described_by(p, &whole))] {
                    option value="" { "— choose —" }
                    @for f in &offered {
                        option value=(f.name) selected[f.name == row.field] { (field_label(f)) }
                    }
                    @if !row.field.is_empty() && !offered.iter().any(|f| f.name == row.field) {
                        option value=(row.field) selected { (row.field) " (does not convert with this column)" }
                    }
                }
                (at(p, &key("salesforce_field")))
                (at(p, &whole))
            }
            @if two_way {
                td {
                    label for={ "m-" (i) "-direction" } class="visually-hidden" { "Direction of mapping " (i + 1) }
                    select id={ "m-" (i) "-direction" } name={ "m." (i) ".direction" } aria-describedby=[described_by(p, &key("direction"))] {
                        @if to_sf && to_monday {
                            option value="both" selected[row.direction == "both"] { "both ways" }
                        }
                        @if to_sf {
                            option value="to_salesforce" selected[row.direction == "to_salesforce"] { "monday → Salesforce" }
                        }
                        @if to_monday {
                            option value="to_monday" selected[row.direction == "to_monday"] { "Salesforce → monday" }
                        }
                    }
                    (at(p, &key("direction")))
                }
            }
            td { (options(view, i, row)) }
            td {
                button type="submit" name="action" value={ "remove_mapping:" (i) } class="secondary"
                    aria-label={ "Remove mapping " (i + 1) } { "Remove" }
            }
        }
    }
}

/// The conversion options a row's kinds make sense for; a boolean's labels ride along hidden.
fn options(view: &View, i: usize, row: &Row) -> Markup {
    let column_kind = view
        .choices
        .columns
        .iter()
        .find(|c| c.id == row.column)
        .map(|c| c.kind.as_str());
    let field_kind = view
        .choices
        .fields
        .iter()
        .find(|f| f.name == row.field)
        .map(|f| f.kind.as_str());
    let labels = matches!(column_kind, Some("status" | "dropdown"));
    let text = matches!(
        field_kind,
        Some("string" | "textarea" | "phone" | "url" | "email")
    );
    let check = |part: &str, label: &str, on: bool| {
        html! {
            label class="check" {
                input type="checkbox" name={ "m." (i) "." (part) } id={ "m-" (i) "-" (part) } checked[on];
                " " (label)
            }
        }
    };
    html! {
        @if !row.true_label.is_empty() { input type="hidden" name={ "m." (i) ".true_label" } value=(row.true_label); }
        @if !row.false_label.is_empty() { input type="hidden" name={ "m." (i) ".false_label" } value=(row.false_label); }
        @if labels || row.create_labels { (check("create_labels", "add missing labels to the board", row.create_labels)) br; }
        @if text || row.truncate { (check("truncate", "cut text too long for the field", row.truncate)) br; }
        (check("sensitive", "hide values in run history", row.sensitive))
    }
}

fn link_key(view: &View) -> Markup {
    let d = &view.draft;
    let p = &view.problems;
    html! {
        fieldset id="link-key" {
            legend { "Re-link existing records (optional)" }
            p class="note" { "Pairs a monday item and a Salesforce record whose values are equal instead of creating a duplicate." }
            label for="link-column" { "monday column" }
            select id="link-column" name="link_monday_column_id" aria-describedby=[described_by(p, "link_monday_column_id")] {
                option value="" { "none" }
                @for c in view.choices.columns.iter().filter(|c| matches!(c.kind.as_str(), "text" | "email" | "name")) {
                    option value=(c.id) selected[c.id == d.link_column] { (c.title) " (" (c.kind) ")" }
                }
            }
            (at(p, "link_monday_column_id"))
            label for="link-field" { "equals Salesforce field" }
            select id="link-field" name="link_salesforce_field" aria-describedby=[described_by(p, "link_salesforce_field")] {
                option value="" { "none" }
                @for f in view.choices.fields.iter().filter(|f| f.link_key) {
                    option value=(f.name) selected[f.name == d.link_field] { (f.label) " (" (f.name) ")" }
                }
            }
            (at(p, "link_salesforce_field"))
        }
    }
}
