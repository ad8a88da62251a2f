//! `--seed demo`: an account with a few users and a "Deals" board holding every column kind
//! Tandem maps, with 40 items of realistic values. It fits the Salesforce simulator's demo org
//! (`tandem demo` syncs the two): the Stage labels are Opportunity stages (plus "On hold",
//! which Salesforce's restricted StageName picklist refuses) and the people are that org's
//! users, under the same emails (the simulator's default org is `demo`).

use serde_json::{Value, json};

use crate::column_value::{self, Input, WriteCtx};
use crate::store::{Store, TokenOwner, iso_millis, now};

/// What the demo seed created.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    pub account_id: i64,
    pub user_ids: Vec<i64>,
    pub token: String,
    pub board_id: i64,
}

/// The demo account's fixed API token.
pub const DEMO_TOKEN: &str = "demo-token-monday-sim";

const COMPANIES: [&str; 20] = [
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Pied Piper",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Vandelay",
    "Dunder Mifflin",
    "Aperture",
    "Black Mesa",
    "Massive Dynamic",
    "Nakatomi",
];

const TIERS: [&str; 3] = ["Gold", "Silver", "Bronze"];

pub fn demo(store: &mut Store) -> DemoInfo {
    let account_id = store.add_account("Demo Co");
    // The Salesforce simulator's demo org users (`{first}@{org}.example.com`, org `demo`).
    let people = [
        ("Ada Admin", "admin@demo.example.com"),
        ("Ben Carter", "ben@demo.example.com"),
        ("Chloe Diaz", "chloe@demo.example.com"),
        ("Dev Patel", "dev@demo.example.com"),
        ("Eva Müller", "eva@demo.example.com"),
    ];
    let user_ids: Vec<i64> = people
        .iter()
        .enumerate()
        .map(|(i, (n, e))| store.add_user(account_id, n, e, i == 0))
        .collect();
    store.tokens.insert(
        DEMO_TOKEN.into(),
        TokenOwner {
            account_id,
            user_id: user_ids[0],
        },
    );

    let board_id = store.add_board(account_id, "Deals");
    let cols: [(&str, &str, &str, Value); 14] = [
        (
            "status",
            "Stage",
            "status",
            json!({"done_colors": [1],
            "labels": {"0": "Prospecting", "1": "Closed Won", "2": "Closed Lost", "3": "Qualification",
                       "4": "Needs Analysis", "6": "Proposal/Price Quote", "7": "Negotiation/Review",
                       "8": "On hold"},
            "labels_colors": {"0": {"color": "#fdab3d", "border": "#e99729", "var_name": "orange"},
                              "1": {"color": "#00c875", "border": "#00b461", "var_name": "green-shadow"},
                              "2": {"color": "#df2f4a", "border": "#ce3048", "var_name": "red-shadow"},
                              "3": {"color": "#579bfc", "border": "#4387e8", "var_name": "bright-blue"},
                              "4": {"color": "#0086c0", "border": "#3db0df", "var_name": "dark-blue"},
                              "6": {"color": "#a25ddc", "border": "#9238af", "var_name": "purple"},
                              "7": {"color": "#037f4c", "border": "#006b38", "var_name": "grass-green"},
                              "8": {"color": "#c4c4c4", "border": "#b0b0b0", "var_name": "grey"}}}),
        ),
        ("person", "Owner", "people", json!({})),
        (
            "deal_value",
            "Deal value",
            "numbers",
            json!({"unit": {"symbol": "$", "direction": "left"}}),
        ),
        ("close_date", "Close date", "date", json!({})),
        ("phone", "Phone", "phone", json!({})),
        ("website", "Website", "link", json!({})),
        ("notes", "Notes", "long_text", json!({})),
        ("company", "Company", "text", json!({})),
        ("email", "Contact email", "email", json!({})),
        ("priority_flag", "Key account", "checkbox", json!({})),
        (
            "industry",
            "Industry",
            "dropdown",
            json!({"labels": [{"id": 1, "name": "Technology"}, {"id": 2, "name": "Retail"}, {"id": 3, "name": "Finance"}, {"id": 4, "name": "Healthcare"}]}),
        ),
        (
            "account_tier",
            "Account tier",
            "mirror",
            json!({"relation_column": {"account": true}, "displayed_linked_columns": {}}),
        ),
        (
            "weighted",
            "Weighted value",
            "formula",
            json!({"formula": "{deal_value}*0.5"}),
        ),
        (
            "account",
            "Account",
            "board_relation",
            json!({"allowMultipleItems": false, "boardIds": []}),
        ),
    ];
    for (id, title, kind, settings) in cols {
        store.add_column(board_id, Some(id), title, kind, settings);
    }
    let won = store.add_group(board_id, None, "Won", "#00c875");
    if let Some(g) = store
        .boards
        .get_mut(&board_id)
        .and_then(|b| b.groups.first_mut())
    {
        g.title = "Open deals".into();
    }
    let industries = ["Technology", "Retail", "Finance", "Healthcare"];
    // Every stage but "On hold", so the whole board fits Salesforce at first.
    let stages = [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ];
    for n in 0..40usize {
        let company = COMPANIES[n % COMPANIES.len()];
        let slug = company.to_lowercase().replace(' ', "");
        let amount = 5_000 + (n * 7_919) % 95_000;
        let values = json!({
            "status": {"label": stages[n % stages.len()]},
            "person": {"personsAndTeams": [{"id": user_ids[n % user_ids.len()], "kind": "person"}]},
            "deal_value": amount.to_string(),
            "close_date": {"date": format!("2026-{:02}-{:02}", 1 + n % 12, 1 + n % 28)},
            "phone": {"phone": format!("+1202555{:04}", 100 + n), "countryShortName": "US"},
            "website": {"url": format!("https://{slug}.example"), "text": company},
            "notes": {"text": format!("Deal {} with {company}.\nNext step: follow up.", n + 1)},
            "company": company,
            "email": {"email": format!("buyer{n}@{slug}.example"), "text": format!("Buyer at {company}")},
            "priority_flag": {"checked": if n % 4 == 0 { "true" } else { "false" }},
            "industry": {"labels": [industries[n % 4]]},
        });
        let mut stored = std::collections::BTreeMap::new();
        if let Some(board) = store.boards.get(&board_id).cloned() {
            for (col, v) in values.as_object().into_iter().flatten() {
                let Some(c) = board.column(col) else { continue };
                let mut spec = c.spec.clone();
                let ctx = WriteCtx {
                    create_labels_if_missing: false,
                    user_exists: &|_| true,
                    changed_at: iso_millis(now()),
                };
                if let Ok(Some(v)) = column_value::write(&mut spec, Input::Json(v), &ctx) {
                    stored.insert(col.clone(), v);
                }
            }
        }
        stored.insert(
            "account_tier".into(),
            json!({"display_value": TIERS[n % 3]}),
        );
        stored.insert(
            "weighted".into(),
            json!({"display_value": format!("{}", amount / 2)}),
        );
        let group = if stages[n % stages.len()] == "Closed Won" {
            won.as_deref()
        } else {
            None
        };
        store.insert_item(
            board_id,
            group,
            &format!("{company} deal #{}", n + 1),
            user_ids[n % user_ids.len()],
            stored,
        );
    }
    DemoInfo {
        account_id,
        user_ids,
        token: DEMO_TOKEN.into(),
        board_id,
    }
}
