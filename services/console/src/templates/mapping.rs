//! An integration's mapping as a table — monday column ↔ Salesforce field, direction,
//! conversion and what it loses — and its conditions.

use maud::{Markup, html};
use tandem_proto::v1 as pb;

use super::conditions;
use crate::format;

/// What a mapping's options change about its conversion.
fn options(options: Option<&pb::ConversionOptions>) -> Vec<String> {
    let Some(o) = options else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    if !o.true_label.is_empty() || !o.false_label.is_empty() {
        notes.push(format!(
            "true ↔ “{}”, false ↔ “{}”",
            o.true_label, o.false_label
        ));
    }
    if o.truncate {
        notes.push("text longer than the field is cut".to_owned());
    }
    if o.create_missing_labels {
        notes.push("missing labels are added to the board".to_owned());
    }
    if o.sensitive {
        notes.push("values hidden in run history".to_owned());
    }
    notes
}

/// What the directions the mapping flows lose, from the matrix (and truncation).
fn loses(m: &pb::FieldMapping, scope: i32, d: Option<&pb::MappingDescription>) -> String {
    let flows = format::direction(m.direction, scope);
    let Some(d) = d.filter(|d| !d.conversion.is_empty()) else {
        return "unknown (the kinds could not be read)".to_owned();
    };
    let word = |flow: &str| match flow {
        "lossy" => "loses something",
        "lossless" => "nothing lost",
        _ => "does not convert",
    };
    let mut parts = Vec::new();
    if flows != "monday → Salesforce" {
        parts.push(format!("to monday: {}", word(&d.to_monday)));
    }
    if flows != "Salesforce → monday" {
        let truncates = m.options.as_ref().is_some_and(|o| o.truncate);
        let what = if truncates && d.to_salesforce != "no" {
            "loses something (long text is cut)"
        } else {
            word(&d.to_salesforce)
        };
        parts.push(format!("to Salesforce: {what}"));
    }
    parts.join("; ")
}

pub fn section(
    owner: bool,
    spec: &pb::IntegrationSpec,
    described: Option<&Result<pb::DescribeMappingsResponse, String>>,
) -> Markup {
    let descriptions = described.and_then(|d| d.as_ref().ok());
    let find = |m: &pb::FieldMapping| {
        descriptions.and_then(|d| {
            d.mappings.iter().find(|x| {
                x.mapping.as_ref().is_some_and(|y| {
                    y.monday_column_id == m.monday_column_id
                        && y.salesforce_field == m.salesforce_field
                })
            })
        })
    };
    html! {
        section aria-labelledby="mapping-title" {
            h2 id="mapping-title" { "Mapping" }
            @if spec.mappings.is_empty() {
                @if owner { p { "No field is mapped." } }
                @else { p class="note" { "The mapping and conditions are shown to the integration's owner only." } }
            } @else {
                @if let Some(Err(e)) = described {
                    p class="problem" { "The board and object could not be described now: " (e) }
                }
                @if let Some(d) = descriptions {
                    @for p in &d.problems {
                        p class="problem" { code { (p.field) } ": " (p.message) }
                    }
                }
                table id="mapping" {
                    caption class="visually-hidden" { "Which monday column maps to which Salesforce field" }
                    thead { tr {
                        th scope="col" { "monday column" }
                        th scope="col" { "Salesforce field" }
                        th scope="col" { "Direction" }
                        th scope="col" { "Conversion" }
                        th scope="col" { "Loses data" }
                    } }
                    tbody {
                        @for m in &spec.mappings {
                            @let d = find(m);
                            tr {
                                td {
                                    @if let Some(d) = d.filter(|d| !d.monday_title.is_empty()) { (d.monday_title) " " }
                                    code { (m.monday_column_id) }
                                    @if let Some(d) = d.filter(|d| !d.monday_kind.is_empty()) { br; span class="note" { (d.monday_kind) } }
                                }
                                td {
                                    @if let Some(d) = d.filter(|d| !d.salesforce_label.is_empty()) { (d.salesforce_label) " " }
                                    code { (m.salesforce_field) }
                                    @if d.is_some_and(|d| d.salesforce_required) { " " strong class="required" { "required" } }
                                    @if let Some(d) = d.filter(|d| !d.salesforce_kind.is_empty()) { br; span class="note" { (d.salesforce_kind) } }
                                }
                                td { (format::direction(m.direction, spec.scope)) }
                                td {
                                    @match d.filter(|d| !d.conversion.is_empty()) {
                                        Some(d) => { code { (d.conversion) } br; span class="note" { (d.conversion_description) } }
                                        None => { "—" }
                                    }
                                    @for note in options(m.options.as_ref()) { br; (note) }
                                }
                                td { (loses(m, spec.scope, d)) }
                            }
                        }
                    }
                }
                @if !spec.link_monday_column_id.is_empty() {
                    p { "Existing records are re-linked where " code { (spec.link_monday_column_id) } " equals " code { (spec.link_salesforce_field) } "." }
                }
                h3 { "Which Salesforce records go to monday" }
                (conditions::render(spec.incoming_conditions.as_ref()))
                h3 { "Which monday items go to Salesforce" }
                (conditions::render(spec.outgoing_conditions.as_ref()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(direction: pb::Direction, truncate: bool) -> pb::FieldMapping {
        pb::FieldMapping {
            monday_column_id: "notes".into(),
            salesforce_field: "Description".into(),
            direction: direction as i32,
            options: Some(pb::ConversionOptions {
                truncate,
                ..Default::default()
            }),
        }
    }

    fn described(to_monday: &str, to_salesforce: &str) -> pb::MappingDescription {
        pb::MappingDescription {
            conversion: "text".into(),
            to_monday: to_monday.into(),
            to_salesforce: to_salesforce.into(),
            ..Default::default()
        }
    }

    #[test]
    fn what_a_mapping_loses_follows_its_directions_and_truncation() {
        let two_way = pb::Scope::TwoWay as i32;
        let d = described("lossless", "lossy");
        assert_eq!(
            loses(&mapping(pb::Direction::Both, false), two_way, Some(&d)),
            "to monday: nothing lost; to Salesforce: loses something"
        );
        assert_eq!(
            loses(
                &mapping(pb::Direction::SalesforceToMonday, false),
                two_way,
                Some(&d)
            ),
            "to monday: nothing lost"
        );
        let d = described("lossless", "lossless");
        assert_eq!(
            loses(
                &mapping(pb::Direction::MondayToSalesforce, true),
                two_way,
                Some(&d)
            ),
            "to Salesforce: loses something (long text is cut)"
        );
        assert!(loses(&mapping(pb::Direction::Both, false), two_way, None).starts_with("unknown"));
    }
}
