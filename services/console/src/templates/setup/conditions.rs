//! The conditions builder: AND/OR groups of field-operator-value rows, as plain form fields
//! (`in.0.op`, `in.0.1.field`, …) with buttons to add and remove rows and groups.

use maud::{Markup, html};

use super::{at, described_by};
use crate::setup::Problems;
use crate::setup::draft::{Conditions, OPERATORS, Which};

/// (value, shown) choices of the rule's field select.
pub type Choices = Vec<(String, String)>;

pub fn builder(
    which: Which,
    conditions: &Conditions,
    fields: &Choices,
    problems: &Problems,
) -> Markup {
    let w = which.prefix();
    let (title, what) = match which {
        Which::Incoming => ("Which Salesforce records go to monday", "Salesforce field"),
        Which::Outgoing => ("Which monday items go to Salesforce", "monday column"),
    };
    let setting = which.setting();
    html! {
        fieldset id=(setting) class="conditions" aria-describedby=[described_by(problems, setting)] {
            legend { (title) }
            (at(problems, setting))
            @if conditions.groups.is_empty() {
                p class="note" { "Every record. Add a group of conditions to send only some." }
            } @else {
                label for={ (w) "-op" } { "Records must match" }
                select id={ (w) "-op" } name={ (w) ".op" } {
                    option value="or" selected[conditions.op == "or"] { "any group (OR)" }
                    option value="and" selected[conditions.op == "and"] { "every group (AND)" }
                }
            }
            @for (g, group) in conditions.groups.iter().enumerate() {
                fieldset class="group" {
                    legend { "Group " (g + 1) }
                    label for={ (w) "-" (g) "-op" } { "Within group " (g + 1) ", match" }
                    select id={ (w) "-" (g) "-op" } name={ (w) "." (g) ".op" } {
                        option value="and" selected[group.op == "and"] { "all rules (AND)" }
                        option value="or" selected[group.op == "or"] { "any rule (OR)" }
                    }
                    @for (r, rule) in group.rules.iter().enumerate() {
                        @let id = format!("{w}-{g}-{r}");
                        @let name = format!("{w}.{g}.{r}");
                        div class="rule" {
                            label for={ (id) "-field" } { "Rule " (r + 1) ": " (what) }
                            select id={ (id) "-field" } name={ (name) ".field" } {
                                option value="" { "— choose —" }
                                @for (value, shown) in fields {
                                    option value=(value) selected[*value == rule.field] { (shown) }
                                }
                                @if !rule.field.is_empty() && !fields.iter().any(|(v, _)| *v == rule.field) {
                                    option value=(rule.field) selected { (rule.field) " (not on this side)" }
                                }
                            }
                            label for={ (id) "-operator" } { "operator" }
                            select id={ (id) "-operator" } name={ (name) ".operator" } {
                                @for (value, shown) in OPERATORS {
                                    option value=(value) selected[*value == rule.operator] { (shown) }
                                }
                            }
                            label for={ (id) "-value" } { "value" }
                            input id={ (id) "-value" } name={ (name) ".value" } type="text" value=(rule.value) autocomplete="off";
                            button type="submit" name="action" value={ "remove_rule:" (w) ":" (g) ":" (r) } class="secondary"
                                aria-label={ "Remove rule " (r + 1) " of group " (g + 1) } { "Remove" }
                        }
                    }
                    button type="submit" name="action" value={ "add_rule:" (w) ":" (g) } class="secondary" id={ (w) "-" (g) "-add-rule" } { "Add a rule to group " (g + 1) }
                }
            }
            button type="submit" name="action" value={ "add_group:" (w) } class="secondary" id={ (w) "-add-group" } { "Add a group" }
        }
    }
}
