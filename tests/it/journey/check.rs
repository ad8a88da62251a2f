//! What must hold after every step of a journey, and once things settle.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::world::{Config, Field, MONDAY_STAGES, Model, Side};
use crate::stack::{ORG, Stack};

/// Both sides and the links, read at one moment.
pub struct Seen {
    pub salesforce: BTreeMap<String, serde_json::Map<String, Value>>,
    pub monday: BTreeMap<String, monday_sim::ItemSnapshot>,
    /// Active links: Salesforce id → monday id, and back.
    pub by_salesforce: BTreeMap<String, String>,
    pub by_monday: BTreeMap<String, String>,
}

impl Seen {
    pub async fn read(
        stack: &Stack,
        pool: &sqlx::PgPool,
        integration: &str,
    ) -> Result<Seen, String> {
        let links: Vec<(String, String)> = sqlx::query_as(
            "SELECT salesforce_id, monday_item_id FROM sync.links
             WHERE integration_id = $1 AND unlinked_at IS NULL",
        )
        .bind(integration)
        .fetch_all(pool)
        .await
        .map_err(|e| e.to_string())?;
        let mut by_salesforce = BTreeMap::new();
        let mut by_monday = BTreeMap::new();
        for (sf, mo) in links {
            if let Some(other) = by_salesforce.insert(sf.clone(), mo.clone()) {
                return Err(format!("Salesforce {sf} is linked to {other} and {mo}"));
            }
            if let Some(other) = by_monday.insert(mo.clone(), sf.clone()) {
                return Err(format!("monday {mo} is linked to {other} and {sf}"));
            }
        }
        Ok(Seen {
            salesforce: stack
                .salesforce
                .records(ORG, "Opportunity")
                .into_iter()
                .map(|r| (text(&r["Id"]), r))
                .collect(),
            monday: stack
                .monday
                .items(stack.board)
                .into_iter()
                // Archived items are out of the users' sight (a never-linked one may get a
                // successor); deleted ones are gone.
                .filter(|i| i.state == "active")
                .map(|i| (i.id.to_string(), i))
                .collect(),
            by_salesforce,
            by_monday,
        })
    }

    /// The partner of a record, if it is linked.
    pub fn partner(&self, side: Side, id: &str) -> Option<&String> {
        match side {
            Side::Salesforce => self.by_salesforce.get(id),
            Side::Monday => self.by_monday.get(id),
        }
    }

    /// A field's value on one side, in a form both sides share; `None` where the record is
    /// gone or the value cannot be represented on the other side (an owner only one side
    /// knows).
    fn value(&self, side: Side, id: &str, field: Field, model: &Model) -> Option<String> {
        let people = &model.directory;
        let owner = |email: Option<&str>| {
            let email = email.unwrap_or_default();
            (email.is_empty() || people.shared(email)).then(|| email.to_owned())
        };
        match side {
            Side::Salesforce => {
                let r = self.salesforce.get(id)?;
                let v = &r[field.salesforce()];
                match field {
                    Field::Amount => Some(number(v)),
                    Field::Owner => owner(people.salesforce_email(&text(v))),
                    Field::OwnerEmail => Some(
                        people
                            .salesforce_email(&text(v))
                            .unwrap_or_default()
                            .to_owned(),
                    ),
                    Field::Phone => Some(phone(&text(v))),
                    Field::Account => {
                        Some(people.account_name(&text(v)).unwrap_or_default().to_owned())
                    }
                    _ => Some(text(v)),
                }
            }
            Side::Monday => {
                let i = self.monday.get(id)?;
                let v = i.values.get(field.column()).cloned().unwrap_or(Value::Null);
                Some(match field {
                    Field::Name => i.name.clone(),
                    Field::Stage => match v["index"].as_u64() {
                        Some(0) => "Prospecting".into(),
                        Some(1) => "Closed Won".into(),
                        Some(5) => "Closed Lost".into(),
                        Some(_) if model.labels_created => "Qualification".into(),
                        Some(other) => format!("label {other}"),
                        None => String::new(),
                    },
                    Field::Date => text(&v["date"]),
                    Field::Next | Field::OwnerEmail | Field::Account => match &v {
                        Value::Object(o) => text(o.get("text").unwrap_or(&Value::Null)),
                        other => text(other),
                    },
                    Field::Amount => number(&v),
                    Field::Owner => {
                        let person = v["personsAndTeams"][0]["id"].as_i64();
                        return owner(person.and_then(|p| people.monday_email(p)));
                    }
                    Field::Phone => phone(&text(&v["phone"])),
                })
            }
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A phone number's digits with its country code (ten digits are a US number).
fn phone(v: &str) -> String {
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 10 {
        format!("1{digits}")
    } else {
        digits
    }
}

fn number(v: &Value) -> String {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.map(|n| format!("{n:.2}")).unwrap_or_default()
}

/// A name's base: what it was made with (edits append ` ~n`).
pub fn base(name: &str) -> &str {
    name.split(" ~").next().unwrap_or(name)
}

/// After every step: links are one-to-one (checked while reading), and no side holds two
/// records of one name.
pub fn every_step(seen: &Seen) -> Result<(), String> {
    let mut sf: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for (id, r) in &seen.salesforce {
        sf.entry(base(r["Name"].as_str().unwrap_or_default()))
            .or_default()
            .push(id);
    }
    let mut mo: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for (id, i) in &seen.monday {
        mo.entry(base(&i.name)).or_default().push(id);
    }
    for (side, names) in [("Salesforce", sf), ("monday", mo)] {
        if let Some((name, ids)) = names.iter().find(|(_, ids)| ids.len() > 1) {
            return Err(format!(
                "{side} holds {name:?} {} times: {ids:?}",
                ids.len()
            ));
        }
    }
    Ok(())
}

/// Once settled: every record that should have crossed is linked, and every pair holds equal
/// values on the fields expected to move (where the value is valid on both sides).
pub fn settled(seen: &Seen, config: &Config, model: &Model) -> Result<(), String> {
    for m in model
        .made
        .iter()
        .filter(|m| m.should_cross && !m.gone && !m.orphaned)
    {
        let Some(partner) = seen.partner(m.side, &m.id) else {
            return Err(format!(
                "{} {:?} ({:?}) never crossed",
                m.id, m.base, m.side
            ));
        };
        let expected: BTreeSet<Field> = model.expect.get(&m.id).cloned().unwrap_or_default();
        for field in expected {
            let here = seen.value(m.side, &m.id, field, model);
            let there = seen.value(m.side.other(), partner, field, model);
            let (Some(here), Some(there)) = (here, there) else {
                continue;
            };
            let stage_ok =
                |s: &str| model.labels_created || s.is_empty() || MONDAY_STAGES.contains(&s);
            if field == Field::Stage && !(stage_ok(&here) && stage_ok(&there)) {
                continue;
            }
            if here != there {
                return Err(format!(
                    "{:?} {} {:?} and its partner {partner} differ on {field:?}: {here:?} ≠ {there:?} ({config:?})",
                    m.side, m.id, m.base
                ));
            }
        }
    }
    Ok(())
}
