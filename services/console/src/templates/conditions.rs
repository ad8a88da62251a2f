//! A condition tree as nested lists a person reads: "all of" / "any of" groups of rules such as
//! `Industry is one of "Energy", "Banking"`.

use maud::{Markup, html};
use tandem_core::Condition;
use tandem_core::condition::GroupOp;
use tandem_proto::v1 as pb;

pub fn render(conditions: Option<&pb::Conditions>) -> Markup {
    let json = conditions.map(|c| c.json.trim()).unwrap_or_default();
    if json.is_empty() {
        return html! { p class="condition" { "Every record." } };
    }
    match serde_json::from_str::<Condition>(json) {
        Ok(condition) => html! { div class="condition" { (node(&condition)) } },
        Err(_) => html! { p class="condition" { "Stored as: " code { (json) } } },
    }
}

fn node(condition: &Condition) -> Markup {
    match condition {
        Condition::Any => html! { p { "Every record." } },
        Condition::Group { op, conditions } => {
            let head = match op {
                GroupOp::And => "All of these:",
                GroupOp::Or => "Any of these:",
            };
            html! {
                p { strong { (head) } }
                @if conditions.is_empty() {
                    p { "(nothing: every record)" }
                } @else {
                    ul { @for c in conditions { li { (node(c)) } } }
                }
            }
        }
        Condition::Rule {
            field,
            operator,
            values,
        } => {
            let operator = operator.to_string().replace('_', " ");
            let values: Vec<String> = values.iter().map(|v| format!("“{v}”")).collect();
            html! { code { (field) } " " (operator) @if !values.is_empty() { " " (values.join(", ")) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_read_as_all_or_any_of_their_rules() {
        let json = r#"{"type":"group","op":"or","conditions":[
          {"type":"rule","field":"Industry","operator":"is_one_of",
           "values":[{"type":"text","value":"Energy"},{"type":"text","value":"Banking"}]},
          {"type":"group","op":"and","conditions":[
            {"type":"rule","field":"Amount","operator":"greater_than","values":[{"type":"number","value":"1000"}]},
            {"type":"rule","field":"Name","operator":"is_not_empty"}]}]}"#;
        let html = render(Some(&pb::Conditions { json: json.into() })).into_string();
        assert!(html.contains("Any of these:"), "{html}");
        assert!(html.contains("All of these:"), "{html}");
        assert!(
            html.contains("<code>Industry</code> is one of “Energy”, “Banking”"),
            "{html}"
        );
        assert!(
            html.contains("<code>Amount</code> greater than “1000”"),
            "{html}"
        );
        assert!(html.contains("<code>Name</code> is not empty"), "{html}");
        let any = render(None).into_string();
        assert!(any.contains("Every record."));
    }
}
