//! A journey's world: the integration's configuration drawn from a seed, and what the user
//! did so far (the records they made, which should have crossed, which are gone).

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use rand::rngs::StdRng;
use tandem_proto::v1 as pb;

/// The mapped fields: (monday column, Salesforce field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Name,
    Stage,
    Date,
    Next,
    Amount,
    /// The record's owner: a Salesforce User ↔ a monday person, matched by email.
    Owner,
    /// The owner's email in a text column: the fallback for owners with no monday user.
    OwnerEmail,
    /// A phone number: Salesforce's as typed ↔ monday's E.164 with a country.
    Phone,
    /// The opportunity's Account, written to monday as the Account's name.
    Account,
}

impl Field {
    /// The fields every journey maps; the others are drawn per seed.
    pub const BASE: [Field; 5] = [
        Field::Name,
        Field::Stage,
        Field::Date,
        Field::Next,
        Field::Amount,
    ];

    pub fn column(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Stage => "status",
            Field::Date => "date4",
            Field::Next => "next",
            Field::Amount => "amount",
            Field::Owner => "owner",
            Field::OwnerEmail => "owner_email",
            Field::Phone => "phone",
            Field::Account => "account",
        }
    }

    pub fn salesforce(self) -> &'static str {
        match self {
            Field::Name => "Name",
            Field::Stage => "StageName",
            Field::Date => "CloseDate",
            Field::Next => "NextStep",
            Field::Amount => "Amount",
            Field::Owner | Field::OwnerEmail => "OwnerId",
            Field::Phone => "Phone__c",
            Field::Account => "AccountId",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Salesforce,
    Monday,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Salesforce => Side::Monday,
            Side::Monday => Side::Salesforce,
        }
    }

    pub fn proto(self) -> pb::Side {
        match self {
            Side::Salesforce => pb::Side::Salesforce,
            Side::Monday => pb::Side::Monday,
        }
    }
}

/// Stages a user may pick on each side: monday's board lacks `Qualification` until a mapping
/// lets Tandem create missing labels.
pub const SALESFORCE_STAGES: [&str; 4] =
    ["Prospecting", "Closed Won", "Closed Lost", "Qualification"];
pub const MONDAY_STAGES: [&str; 3] = ["Prospecting", "Closed Won", "Closed Lost"];

/// The integration, as drawn.
#[derive(Debug, Clone)]
pub struct Config {
    pub scope: pb::Scope,
    /// Which ways each field flows (only drawn per field in two-way).
    pub flows: BTreeMap<Field, (bool, bool)>,
    pub policy: pb::ConflictPolicy,
    /// Only records whose name starts with "Open" cross (both ways).
    pub conditions: bool,
    /// The integration's link key is the monday `sfid` column ↔ Salesforce Id (items from an
    /// earlier setup hold their opportunity's Id).
    pub link_key: bool,
    pub start_paused: bool,
    /// Records made before the integration, some of them on both sides under one name.
    pub pre_existing: usize,
    /// Salesforce change events and monday webhooks on (`TANDEM_JOURNEY_REALTIME=1` forces
    /// it).
    pub realtime: bool,
}

impl Config {
    pub fn draw(rng: &mut StdRng) -> Config {
        let scope = match rng.random_range(0..10) {
            0..6 => pb::Scope::TwoWay,
            6..8 => pb::Scope::MondayToSalesforce,
            _ => pb::Scope::SalesforceToMonday,
        };
        let mut flows = BTreeMap::new();
        for f in Field::BASE {
            let flow = match scope {
                pb::Scope::MondayToSalesforce => (false, true),
                pb::Scope::SalesforceToMonday => (true, false),
                _ if matches!(f, Field::Name | Field::Date) => (true, true),
                // A required Salesforce field must flow to Salesforce for monday's creates.
                _ if f == Field::Stage => (rng.random_bool(0.8), true),
                _ => match rng.random_range(0..6) {
                    0 => (true, false),
                    1 => (false, true),
                    _ => (true, true),
                },
            };
            flows.insert(f, flow);
        }
        let policy = match rng.random_range(0..4) {
            0 => pb::ConflictPolicy::SalesforceWins,
            1 => pb::ConflictPolicy::MondayWins,
            _ => pb::ConflictPolicy::NewestWins,
        };
        let mut config = Config {
            scope,
            flows,
            policy,
            conditions: rng.random_bool(0.3),
            link_key: rng.random_bool(0.4),
            start_paused: rng.random_bool(0.3),
            pre_existing: rng.random_range(0..4),
            realtime: false,
        };
        config.draw_extra_fields(rng);
        config.realtime = rng.random_bool(0.3)
            || std::env::var_os("TANDEM_JOURNEY_REALTIME").is_some_and(|v| v == "1");
        config
    }

    /// People (with the email fallback), a phone and a lookup, each mapped or not.
    fn draw_extra_fields(&mut self, rng: &mut StdRng) {
        let to_monday = self.scope != pb::Scope::MondayToSalesforce;
        let way = |rng: &mut StdRng, scope: pb::Scope| match scope {
            pb::Scope::MondayToSalesforce => (false, true),
            pb::Scope::SalesforceToMonday => (true, false),
            _ => [(true, false), (false, true), (true, true)][rng.random_range(0..3)],
        };
        if rng.random_bool(0.5) {
            let flow = way(rng, self.scope);
            self.flows.insert(Field::Owner, flow);
            if to_monday && rng.random_bool(0.6) {
                self.flows.insert(Field::OwnerEmail, (true, false));
            }
        }
        if rng.random_bool(0.5) {
            let flow = way(rng, self.scope);
            self.flows.insert(Field::Phone, flow);
        }
        if to_monday && rng.random_bool(0.5) {
            self.flows.insert(Field::Account, (true, false));
        }
    }

    /// Whether `field` flows from `side` to the other.
    pub fn flows_from(&self, field: Field, side: Side) -> bool {
        let (to_monday, to_salesforce) = self.flows[&field];
        match side {
            Side::Salesforce => to_monday,
            Side::Monday => to_salesforce,
        }
    }

    /// The mapped fields.
    pub fn fields(&self) -> Vec<Field> {
        self.flows.keys().copied().collect()
    }

    /// Whether `field` is mapped.
    pub fn maps(&self, field: Field) -> bool {
        self.flows.contains_key(&field)
    }

    /// Whether records are created from `side`.
    pub fn creates_from(&self, side: Side) -> bool {
        match self.scope {
            pb::Scope::MondayToSalesforce => side == Side::Monday,
            pb::Scope::SalesforceToMonday => side == Side::Salesforce,
            _ => true,
        }
    }

    pub fn spec(&self, spec: &mut pb::IntegrationSpec) {
        spec.scope = self.scope as i32;
        spec.conflict_policy = self.policy as i32;
        spec.mappings = self
            .fields()
            .iter()
            .map(|f| pb::FieldMapping {
                monday_column_id: f.column().into(),
                salesforce_field: f.salesforce().into(),
                direction: match self.flows[f] {
                    (true, false) => pb::Direction::SalesforceToMonday,
                    (false, true) => pb::Direction::MondayToSalesforce,
                    _ => pb::Direction::Both,
                } as i32,
                options: None,
            })
            .collect();
        if self.conditions {
            let open = |field: &str| {
                format!(
                    r#"{{"type":"rule","field":"{field}","operator":"starts_with","values":[{{"type":"text","value":"Open"}}]}}"#
                )
            };
            spec.incoming_conditions = Some(pb::Conditions { json: open("Name") });
            spec.outgoing_conditions = Some(pb::Conditions { json: open("name") });
        }
        if self.link_key {
            spec.link_monday_column_id = "sfid".into();
            spec.link_salesforce_field = "Id".into();
        }
    }
}

/// A record the user made.
#[derive(Debug, Clone)]
pub struct Made {
    pub side: Side,
    pub id: String,
    /// The name it was made with; edits append ` ~n` (the base stays, so copies are found).
    pub base: String,
    pub pre_existing: bool,
    /// It should be linked once things settle.
    pub should_cross: bool,
    pub gone: bool,
    /// Its partner was deleted or archived: it stays unlinked.
    pub orphaned: bool,
}

/// What the user did so far.
#[derive(Debug, Default)]
pub struct Model {
    pub made: Vec<Made>,
    pub next_name: usize,
    pub paused: bool,
    /// A non-dry import matching by name ran: pre-existing twins are linked.
    pub twins_linked: bool,
    /// A mapping change let Tandem create missing status labels.
    pub labels_created: bool,
    /// Fields expected equal on a pair, by either record id (filled as records cross).
    pub expect: BTreeMap<String, BTreeSet<Field>>,
    /// The people and accounts values are drawn from.
    pub directory: Directory,
}

/// Who can own a record on each side, and the Accounts an opportunity may belong to.
#[derive(Debug, Default)]
pub struct Directory {
    /// Salesforce User Id → email.
    pub salesforce_users: Vec<(String, String)>,
    /// monday person id → email.
    pub monday_users: Vec<(i64, String)>,
    /// Account Id → Name.
    pub accounts: Vec<(String, String)>,
}

impl Directory {
    pub fn salesforce_email(&self, id: &str) -> Option<&str> {
        let found = self.salesforce_users.iter().find(|(i, _)| i == id);
        found.map(|(_, e)| e.as_str())
    }

    pub fn monday_email(&self, id: i64) -> Option<&str> {
        let found = self.monday_users.iter().find(|(i, _)| *i == id);
        found.map(|(_, e)| e.as_str())
    }

    /// A person both sides know (the only owners that can cross).
    pub fn shared(&self, email: &str) -> bool {
        self.salesforce_users.iter().any(|(_, e)| e == email)
            && self.monday_users.iter().any(|(_, e)| e == email)
    }

    pub fn account_name(&self, id: &str) -> Option<&str> {
        let found = self.accounts.iter().find(|(i, _)| i == id);
        found.map(|(_, n)| n.as_str())
    }
}

impl Model {
    pub fn name(&mut self, rng: &mut StdRng, config: &Config) -> String {
        self.next_name += 1;
        let open = !config.conditions || rng.random_bool(0.8);
        // A curly apostrophe: values differ in form between what is sent and read back.
        let who = ["Acme", "O’Brien", "Zoë", "Ng"][rng.random_range(0..4)];
        format!(
            "{} {} {who}",
            if open { "Open" } else { "Private" },
            self.next_name
        )
    }

    /// Whether a record on `side` named `base` would cross once it is a change.
    pub fn crosses(&self, config: &Config, side: Side, base: &str) -> bool {
        config.creates_from(side) && (!config.conditions || base.starts_with("Open"))
    }

    /// Records the user may touch: alive and, for pre-existing twins, not before the import
    /// that links them.
    pub fn touchable(&self, side: Option<Side>) -> Vec<usize> {
        self.made
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.gone && side.is_none_or(|s| s == m.side))
            .filter(|(_, m)| !m.pre_existing || self.twins_linked || !self.has_twins())
            .map(|(i, _)| i)
            .collect()
    }

    pub fn has_twins(&self) -> bool {
        let bases = |side: Side| -> BTreeSet<&str> {
            self.made
                .iter()
                .filter(|m| m.pre_existing && m.side == side)
                .map(|m| m.base.as_str())
                .collect()
        };
        bases(Side::Salesforce)
            .intersection(&bases(Side::Monday))
            .next()
            .is_some()
    }
}

/// A random value for `field` as the user would type it on `side` (monday people as a person
/// id, phones as E.164 text).
pub fn value(
    rng: &mut StdRng,
    field: Field,
    side: Side,
    directory: &Directory,
) -> serde_json::Value {
    match field {
        Field::Stage => {
            let stages: &[&str] = match side {
                Side::Salesforce => &SALESFORCE_STAGES,
                Side::Monday => &MONDAY_STAGES,
            };
            serde_json::json!(stages[rng.random_range(0..stages.len())])
        }
        Field::Date => serde_json::json!(format!(
            "2027-{:02}-{:02}",
            rng.random_range(1..13),
            rng.random_range(1..29)
        )),
        Field::Next => {
            let texts = ["Call O’Brien", "Send the quote", "Démo à Zoë", ""];
            serde_json::json!(texts[rng.random_range(0..texts.len())])
        }
        Field::Amount => match rng.random_range(0..4) {
            0 => serde_json::Value::Null,
            n => serde_json::json!(f64::from(rng.random_range(1..100_000)) / f64::from(n * 2)),
        },
        Field::Owner | Field::OwnerEmail => match side {
            Side::Salesforce => {
                let users = &directory.salesforce_users;
                serde_json::json!(users[rng.random_range(0..users.len())].0)
            }
            Side::Monday => {
                let users = &directory.monday_users;
                serde_json::json!(users[rng.random_range(0..users.len())].0)
            }
        },
        Field::Phone => {
            let phones: &[&str] = match side {
                Side::Salesforce => &["(415) 555-2000", "415.555.2001", "+44 20 7946 0958", ""],
                Side::Monday => &["+14155552002", "+442079460959", "+33142685300"],
            };
            serde_json::json!(phones[rng.random_range(0..phones.len())])
        }
        Field::Account => match rng.random_range(0..=directory.accounts.len()) {
            0 => serde_json::Value::Null,
            n => serde_json::json!(directory.accounts[n - 1].0),
        },
        Field::Name => serde_json::Value::Null,
    }
}

pub fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> Option<&'a T> {
    (!items.is_empty()).then(|| &items[rng.random_range(0..items.len())])
}
