//! What a user does on each side, through the simulators as their own apps would: the
//! people, accounts and columns a journey's records use, and making and editing records.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::check;
use super::world::{Directory, Field, Side, value};
use crate::stack::{ORG, Stack};

/// The columns, the custom field, the people and the accounts of a journey: two owners both
/// sides know (the org's admin and Sam), one only Salesforce knows (Lee), one only monday
/// knows (Ada, the board's admin), and three Accounts (one with a curly apostrophe).
pub fn prepare(stack: &Stack) -> Directory {
    for (id, title, kind) in [
        ("next", "Next step", "text"),
        ("amount", "Amount", "numbers"),
        ("owner_email", "Owner email", "text"),
        ("phone", "Phone", "phone"),
        ("account", "Account", "text"),
    ] {
        stack
            .monday
            .add_column(stack.board, id, title, kind, json!({}))
            .unwrap();
    }
    stack
        .salesforce
        .add_field(
            "Opportunity",
            json!({"name": "Phone__c", "type": "phone", "label": "Phone", "length": 40}),
        )
        .unwrap();
    let admin_email = format!("admin@{ORG}.example.com");
    let mut salesforce_users = vec![(stack.salesforce.admin_user_id(ORG), admin_email.clone())];
    for (first, last, email) in [
        ("Sam", "Shared", "sam@acme.test"),
        ("Lee", "Only", "lee@acme.test"),
    ] {
        let id = stack
            .salesforce
            .insert(
                ORG,
                "User",
                json!({
                    "Username": format!("{email}.sim"), "FirstName": first, "LastName": last,
                    "Alias": first.to_lowercase(), "Email": email, "TimeZoneSidKey": "GMT",
                }),
            )
            .unwrap();
        salesforce_users.push((id, email.to_owned()));
    }
    let mut monday_users = vec![(stack.monday_user, "ada@acme.test".to_owned())];
    for (name, email) in [
        ("Ada Admin", admin_email.as_str()),
        ("Sam", "sam@acme.test"),
    ] {
        let id = stack.monday.add_user(stack.monday_account, name, email);
        monday_users.push((id, email.to_owned()));
    }
    let accounts = ["Globex", "O’Hara & Sons", "Zoë Ltd"]
        .into_iter()
        .map(|name| {
            let id = stack
                .salesforce
                .insert(ORG, "Account", json!({ "Name": name }))
                .unwrap();
            (id, name.to_owned())
        })
        .collect();
    Directory {
        salesforce_users,
        monday_users,
        accounts,
    }
}

/// Makes a record as a user would, with every field filled (mapped or not).
pub fn create(
    stack: &Stack,
    rng: &mut StdRng,
    people: &Directory,
    side: Side,
    base: &str,
) -> String {
    let mut draw = |field| value(rng, field, side, people);
    let (stage, date, next, amount) = (
        draw(Field::Stage),
        draw(Field::Date),
        draw(Field::Next),
        draw(Field::Amount),
    );
    let (owner, phone, account) = (draw(Field::Owner), draw(Field::Phone), draw(Field::Account));
    match side {
        Side::Salesforce => stack
            .salesforce
            .insert(
                ORG,
                "Opportunity",
                json!({
                    "Name": base, "StageName": stage, "CloseDate": date, "NextStep": next,
                    "Amount": amount, "OwnerId": owner, "Phone__c": phone, "AccountId": account,
                }),
            )
            .unwrap(),
        Side::Monday => stack
            .monday
            .create_item(
                stack.board,
                None,
                base,
                json!({
                    "status": {"label": stage}, "date4": {"date": date}, "next": next,
                    "amount": monday_number(&amount), "owner": monday_person(&owner),
                    "phone": monday_phone(&phone),
                }),
            )
            .unwrap()
            .to_string(),
    }
}

fn monday_number(v: &Value) -> Value {
    match v.as_f64() {
        Some(n) => json!(n.to_string()),
        None => json!(""),
    }
}

fn monday_person(id: &Value) -> Value {
    json!({"personsAndTeams": [{"id": id, "kind": "person"}]})
}

/// monday's phone column value for an E.164 number: the country from its calling code.
fn monday_phone(v: &Value) -> Value {
    let number = v.as_str().unwrap_or_default();
    let country = match number {
        n if n.starts_with("+44") => "GB",
        n if n.starts_with("+33") => "FR",
        "" => return json!(""),
        _ => "US",
    };
    json!({"phone": number, "countryShortName": country})
}

/// A user's edit of one field (a Salesforce name keeps its base and gets ` ~n`).
pub fn edit(stack: &Stack, side: Side, id: &str, field: Field, v: Value, rng: &mut StdRng) {
    match side {
        Side::Salesforce => {
            let admin = stack.salesforce.admin_user_id(ORG);
            let v = if field == Field::Name {
                let name = stack
                    .salesforce
                    .record(ORG, id)
                    .and_then(|r| r["Name"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                json!(format!(
                    "{} ~{}",
                    check::base(&name),
                    rng.random_range(1..100)
                ))
            } else {
                v
            };
            // A partner deleted since (its link not yet ended) refuses, as Salesforce would.
            let _ = stack
                .salesforce
                .update_as(ORG, id, json!({field.salesforce(): v}), &admin);
        }
        Side::Monday => {
            let column = match field {
                Field::Stage => json!({"label": v}),
                Field::Date => json!({"date": v}),
                Field::Amount => monday_number(&v),
                Field::Owner => monday_person(&v),
                Field::Phone => monday_phone(&v),
                _ => v,
            };
            let _ = stack
                .monday
                .set_values(id.parse().unwrap(), json!({field.column(): column}));
        }
    }
}

/// Whether setting `field` to `v` changes nothing: the record holds nothing there and `v`
/// empties it, or (Salesforce) it holds `v` already.
pub fn changes_nothing(stack: &Stack, side: Side, id: &str, field: Field, v: &Value) -> bool {
    if v.is_null() || v == "" {
        holds_nothing(stack, side, id, field)
    } else {
        holds_already(stack, side, id, field, v)
    }
}

/// Whether the record holds nothing in `field` (before an edit that empties it).
fn holds_nothing(stack: &Stack, side: Side, id: &str, field: Field) -> bool {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => ["text", "phone", "label", "date"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned(),
        Some(other) => other.to_string(),
    };
    match side {
        Side::Salesforce => stack
            .salesforce
            .record(ORG, id)
            .is_none_or(|r| text(r.get(field.salesforce())).is_empty()),
        Side::Monday => id
            .parse()
            .ok()
            .and_then(|id| stack.monday.item(id))
            .is_none_or(|i| text(i.values.get(field.column())).is_empty()),
    }
}

/// Whether a Salesforce record holds `v` in `field` already (an edit to it changes nothing).
fn holds_already(stack: &Stack, side: Side, id: &str, field: Field, v: &Value) -> bool {
    side == Side::Salesforce
        && field != Field::Name
        && stack
            .salesforce
            .record(ORG, id)
            .is_some_and(|r| r.get(field.salesforce()) == Some(v))
}
