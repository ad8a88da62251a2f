//! Both simulated systems as the demo sees them: the monday board's columns, labels and people
//! (read once over the board's GraphQL API, as a user's tool would), the Salesforce org, their
//! values rendered comparably, and how many API calls each side answered.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde_json::{Value, json};
use tandem_stack::Embedded;

use super::ORG;

/// A board column: title, kind and, for status/dropdown, its labels by index or id.
#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    pub kind: String,
    pub labels: BTreeMap<i64, String>,
}

pub struct Sides {
    pub monday: monday_sim::SimHandle,
    pub salesforce: salesforce_sim::SimHandle,
    pub monday_token: String,
    pub board_id: i64,
    pub board_name: String,
    /// Items on the board when the demo started.
    pub board_items: usize,
    /// The monday user the token acts as (the account admin), who makes the demo's edits.
    pub monday_user: i64,
    pub columns: BTreeMap<String, Column>,
    /// monday people: id → (name, email).
    pub people: BTreeMap<i64, (String, String)>,
    /// The Salesforce admin, who makes the demo's Salesforce edits.
    pub salesforce_user: String,
}

/// API calls a side answered since a [`Meter`] mark.
#[derive(Debug, Clone, Copy, Default)]
pub struct Calls {
    pub salesforce: usize,
    pub salesforce_writes: usize,
    pub monday: usize,
    pub monday_writes: usize,
}

/// Where the call logs stood.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meter {
    salesforce: usize,
    monday: usize,
}

impl Sides {
    pub async fn load(embedded: &Embedded) -> anyhow::Result<Sides> {
        let token = monday_sim::seed::DEMO_TOKEN.to_owned();
        let data = graphql(
            &embedded.monday_api_url,
            &token,
            "{ me { id } users { id name email } boards { id name columns { id title type settings_str } items_page(limit: 500) { items { id } } } }",
        )
        .await?;
        let board = data["boards"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["name"] == "Deals"))
            .context("the monday demo account has no Deals board")?;
        let mut columns = BTreeMap::new();
        for c in board["columns"].as_array().into_iter().flatten() {
            let kind = c["type"].as_str().unwrap_or_default().to_owned();
            let settings: Value = c["settings_str"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            columns.insert(
                c["id"].as_str().unwrap_or_default().to_owned(),
                Column {
                    title: c["title"].as_str().unwrap_or_default().to_owned(),
                    labels: labels(&kind, &settings),
                    kind,
                },
            );
        }
        let people = data["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| {
                Some((
                    id_of(&u["id"])?,
                    (
                        u["name"].as_str().unwrap_or_default().to_owned(),
                        u["email"].as_str().unwrap_or_default().to_owned(),
                    ),
                ))
            })
            .collect();
        Ok(Sides {
            monday: embedded.monday.clone(),
            salesforce: embedded.salesforce.clone(),
            monday_token: token,
            board_id: id_of(&board["id"]).context("the Deals board's id")?,
            board_name: board["name"].as_str().unwrap_or_default().to_owned(),
            board_items: board["items_page"]["items"].as_array().map_or(0, Vec::len),
            monday_user: id_of(&data["me"]["id"]).context("the monday user's id")?,
            columns,
            people,
            salesforce_user: embedded.salesforce.admin_user_id(ORG),
        })
    }

    /// `board "Deals": 40 items; columns …`
    pub fn describe_monday(&self) -> String {
        let mut kinds: Vec<&str> = self.columns.values().map(|c| c.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        format!(
            "board \"{}\": {} items, {} columns\n  of kinds {}",
            self.board_name,
            self.board_items,
            self.columns.len(),
            kinds.join(", ")
        )
    }

    /// `org "demo": 15 Opportunity, …`
    pub fn describe_salesforce(&self) -> String {
        let counts: Vec<String> = ["Opportunity", "Account", "Contact", "User", "Project__c"]
            .iter()
            .map(|o| format!("{} {o}", self.salesforce.count(ORG, o)))
            .collect();
        format!("org \"{ORG}\": {}", counts.join(", "))
    }

    /// Marks the call logs now.
    pub fn meter(&self) -> Meter {
        Meter {
            salesforce: self.salesforce.calls().len(),
            monday: self.monday.requests().len(),
        }
    }

    /// The calls each side answered since `mark`.
    pub fn calls_since(&self, mark: Meter) -> Calls {
        let sf = self.salesforce.calls();
        let sf_api: Vec<_> = sf
            .iter()
            .skip(mark.salesforce)
            .filter(|c| c.is_api_call())
            .collect();
        let mo = self.monday.requests();
        let mo_new: Vec<_> = mo.iter().skip(mark.monday).collect();
        Calls {
            salesforce: sf_api.len(),
            salesforce_writes: sf_api.iter().filter(|c| c.method != "GET").count(),
            monday: mo_new.len(),
            monday_writes: mo_new
                .iter()
                .filter(|r| r.query.contains("mutation"))
                .count(),
        }
    }

    pub fn column_title<'a>(&'a self, id: &'a str) -> &'a str {
        self.columns.get(id).map_or(id, |c| c.title.as_str())
    }

    pub fn item_name(&self, id: &str) -> String {
        id.parse()
            .ok()
            .and_then(|id| self.monday.item(id))
            .map_or_else(|| format!("item {id}"), |i| i.name)
    }

    /// The name of a monday item (a numeric id) or a Salesforce record.
    pub fn name_of(&self, id: &str) -> String {
        if id.parse::<i64>().is_ok() {
            self.item_name(id)
        } else {
            self.record_name(id)
        }
    }

    pub fn record_name(&self, id: &str) -> String {
        self.salesforce
            .record(ORG, id)
            .and_then(|r| r.get("Name").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| format!("record {id}"))
    }

    /// A monday cell in comparable form: a label's text, a date, a canonical number, people
    /// as their emails; empty when unset.
    pub fn monday_value(&self, item: &monday_sim::ItemSnapshot, column: &str) -> String {
        if column == "name" {
            return item.name.clone();
        }
        let Some(value) = item.values.get(column) else {
            return match self.columns.get(column).map(|c| c.kind.as_str()) {
                Some("checkbox") => "false".to_owned(),
                _ => String::new(),
            };
        };
        let kind = self
            .columns
            .get(column)
            .map_or("", |c| c.kind.as_str())
            .to_owned();
        let label = |key: &Value| {
            id_of(key)
                .and_then(|i| self.columns.get(column).and_then(|c| c.labels.get(&i)))
                .cloned()
                .unwrap_or_default()
        };
        match kind.as_str() {
            "status" => label(&value["index"]),
            "dropdown" => value["ids"]
                .as_array()
                .into_iter()
                .flatten()
                .map(label)
                .collect::<Vec<_>>()
                .join(";"),
            "date" => match value["time"].as_str() {
                Some(t) if !t.is_empty() => format!("{} {t}", text(&value["date"])),
                _ => text(&value["date"]),
            },
            "numbers" => number(&text(value)),
            "long_text" => text(&value["text"]),
            "email" => text(&value["email"]),
            "phone" => text(&value["phone"]),
            "link" => text(&value["url"]),
            "checkbox" => {
                (value["checked"] == json!(true) || value["checked"] == "true").to_string()
            }
            "people" => {
                let mut emails: Vec<String> = value["personsAndTeams"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| id_of(&p["id"]))
                    .map(|id| {
                        self.people
                            .get(&id)
                            .map_or_else(|| format!("user {id}"), |(_, email)| email.clone())
                    })
                    .collect();
                emails.sort();
                emails.join(", ")
            }
            _ => text(value),
        }
    }

    /// A Salesforce field in the same comparable form (a user lookup as the user's email).
    pub fn salesforce_value(&self, record: &serde_json::Map<String, Value>, field: &str) -> String {
        match record.get(field) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) if field.ends_with("Id") && s.starts_with("005") => self
                .salesforce
                .record(ORG, s)
                .and_then(|u| u.get("Email").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| s.clone()),
            Some(Value::Number(n)) => number(&n.to_string()),
            Some(Value::Bool(b)) => b.to_string(),
            Some(v) => text(v),
        }
    }
}

/// A JSON string's text, other values as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `12000.0` and `12000` alike; text that is no number stays as it is.
fn number(s: &str) -> String {
    match s.trim().parse::<f64>() {
        Ok(n) => n.to_string(),
        Err(_) => s.trim().to_owned(),
    }
}

/// An id that monday sends as a string or a number.
fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Status labels by index (`{"labels": {"1": "Done"}}`), dropdown labels by id.
fn labels(kind: &str, settings: &Value) -> BTreeMap<i64, String> {
    match kind {
        "status" => settings["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_owned())))
            .collect(),
        "dropdown" => settings["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| Some((id_of(&l["id"])?, l["name"].as_str()?.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// One GraphQL request at the monday simulator; its `data`.
pub async fn graphql(url: &str, token: &str, query: &str) -> anyhow::Result<Value> {
    let answer: Value = reqwest::Client::new()
        .post(url)
        .header("Authorization", token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .with_context(|| format!("monday simulator at {url}"))?
        .json()
        .await
        .context("the monday simulator's answer")?;
    if let Some(errors) = answer.get("errors") {
        anyhow::bail!("the monday simulator answered errors: {errors}");
    }
    Ok(answer["data"].clone())
}
