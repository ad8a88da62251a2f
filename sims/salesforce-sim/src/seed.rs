//! What a new org holds: always an admin user; with `Seed::Demo` also users, accounts,
//! contacts, leads, opportunities and `Project__c` records of every field kind.

use serde_json::{Map, Value, json};

use crate::errors::SfError;
use crate::ids;
use crate::schema::Schema;
use crate::store::Org;
use crate::writes;

/// The data a new org starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seed {
    /// Only the admin user.
    #[default]
    Empty,
    /// A small but complete demo org.
    Demo,
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn create(
    schema: &Schema,
    org: &mut Org,
    object: &str,
    v: Value,
    user: &str,
) -> Result<String, SfError> {
    let o = schema.object(object).ok_or_else(|| {
        SfError::new(
            "INVALID_TYPE",
            format!("sObject type '{object}' is not supported."),
        )
    })?;
    writes::create(schema, org, o, &obj(v), user)
}

/// Fills a freshly created org.
pub fn init_org(schema: &Schema, org: &mut Org, seed: Seed) -> Result<(), SfError> {
    let admin = ids::make_id("005", &org.pod, org.seq + 1);
    let key = org.key.clone();
    let id = create(
        schema,
        org,
        "User",
        json!({
            "Username": format!("admin@{key}.sim"), "FirstName": "Ada", "LastName": "Admin", "Alias": "aadmin",
            "Email": format!("admin@{key}.example.com"), "TimeZoneSidKey": "America/Los_Angeles",
            "Title": "System Administrator",
        }),
        &admin,
    )?;
    org.admin_user_id = id.clone();
    let admin_profile = create(
        schema,
        org,
        "Profile",
        json!({"Name": "System Administrator"}),
        &id,
    )?;
    create(
        schema,
        org,
        "Profile",
        json!({"Name": "Standard User"}),
        &id,
    )?;
    if let Some(r) = org.record_mut(schema, &id) {
        r.fields.insert("ProfileId".into(), json!(admin_profile));
    }
    // The org itself: its default time zone is how dates and datetimes are read in it.
    let made = create(
        schema,
        org,
        "Organization",
        json!({
            "Name": key, "TimeZoneSidKey": "America/Los_Angeles", "DefaultLocaleSidKey": "en_US",
            "OrganizationType": "Developer Edition",
        }),
        &id,
    )?;
    // Its Id is the org id OAuth and userinfo report.
    let org_id = org.org_id.clone();
    let table = org.table_mut("Organization");
    if let Some(mut record) = table.remove(&made) {
        record.id = org_id.clone();
        record.fields.insert("Id".into(), json!(org_id));
        table.insert(org_id, record);
    }
    if seed == Seed::Demo {
        demo(schema, org)?;
    }
    // The Organization record and a few fields were set directly.
    org.forget_keys();
    Ok(())
}

fn demo(schema: &Schema, org: &mut Org) -> Result<(), SfError> {
    let admin = org.admin_user_id.clone();
    let key = org.key.clone();
    let people = [
        ("Ben", "Carter", true, "Sales"),
        ("Chloe", "Diaz", true, "Sales"),
        ("Dev", "Patel", true, "Engineering"),
        ("Eva", "Müller", true, "Marketing"),
        ("Farid", "Haddad", false, "Support"),
    ];
    let standard_profile = org.find_by("Profile", "Name", "Standard User").pop();
    let mut users = vec![admin.clone()];
    for (first, last, active, dept) in people {
        let lower = first.to_lowercase();
        let id = create(
            schema,
            org,
            "User",
            json!({
                "Username": format!("{lower}@{key}.sim"), "FirstName": first, "LastName": last,
                "Alias": lower.chars().take(8).collect::<String>(), "Email": format!("{lower}@{key}.example.com"),
                "IsActive": active, "TimeZoneSidKey": "Europe/London", "Department": dept,
                "ProfileId": standard_profile,
            }),
            &admin,
        )?;
        users.push(id);
    }
    // A system user, as real orgs have, with a shared no-reply address.
    let auto = create(
        schema,
        org,
        "User",
        json!({
            "Username": format!("autoproc@{key}.sim"), "FirstName": "Automated", "LastName": "Process",
            "Alias": "autoproc", "Email": format!("noreply@{key}.example.com"), "TimeZoneSidKey": "GMT",
        }),
        &admin,
    )?;
    if let Some(r) = org.record_mut(schema, &auto) {
        r.fields
            .insert("UserType".into(), json!("AutomatedProcess"));
    }
    let active: Vec<String> = users.iter().take(5).cloned().collect();

    let companies = [
        (
            "Edge Communications",
            "Electronics",
            "Customer - Direct",
            "Austin",
            "TX",
        ),
        (
            "Burlington Textiles Corp of America",
            "Apparel",
            "Customer - Direct",
            "Burlington",
            "NC",
        ),
        (
            "Pyramid Construction Inc.",
            "Construction",
            "Customer - Channel",
            "Paris",
            "",
        ),
        (
            "Dickenson plc",
            "Consulting",
            "Customer - Channel",
            "Lawrence",
            "KS",
        ),
        (
            "Grand Hotels & Resorts Ltd",
            "Hospitality",
            "Customer - Direct",
            "Chicago",
            "IL",
        ),
        (
            "United Oil & Gas Corp.",
            "Energy",
            "Customer - Direct",
            "New York",
            "NY",
        ),
        (
            "Express Logistics and Transport",
            "Transportation",
            "Customer - Channel",
            "Portland",
            "OR",
        ),
        (
            "University of Arizona",
            "Education",
            "Customer - Direct",
            "Tucson",
            "AZ",
        ),
        (
            "GenePoint",
            "Biotechnology",
            "Customer - Channel",
            "Mountain View",
            "CA",
        ),
        ("sForce", "Technology", "Prospect", "San Francisco", "CA"),
        ("Northwind Traders", "Retail", "Prospect", "Seattle", "WA"),
        (
            "Blue Yonder Airlines",
            "Transportation",
            "Other",
            "Denver",
            "CO",
        ),
    ];
    let mut accounts = Vec::new();
    for (i, (name, industry, kind, city, state)) in companies.iter().enumerate() {
        let state = if state.is_empty() {
            Value::Null
        } else {
            json!(state)
        };
        let id = create(
            schema,
            org,
            "Account",
            json!({
                "Name": name, "Industry": industry, "Type": kind, "BillingCity": city, "BillingState": state,
                "BillingCountry": "United States", "Phone": format!("(512) 555-{:04}", 1000 + i),
                "Website": format!("www.{}.example.com", name.split_whitespace().next().unwrap_or("x").to_lowercase()),
                "NumberOfEmployees": 50 * (i as i64 + 1), "AnnualRevenue": 1_000_000.0 * (i as f64 + 1.0),
                "AccountNumber": format!("CD{:06}", 451796 + i), "OwnerId": active[i % active.len()],
                "Rating": (["Hot", "Warm", "Cold"][i % 3]),
            }),
            &admin,
        )?;
        accounts.push(id);
    }
    let firsts = [
        "Rose", "Sean", "Jack", "Tim", "Liz", "Avi", "Josh", "Jane", "Andy", "Tom", "Edna",
        "Babara",
    ];
    for (i, acc) in accounts.iter().enumerate() {
        for j in 0..2 {
            let first = firsts[(i + j * 5) % firsts.len()];
            let last = format!("Contact{}", i * 2 + j + 1);
            create(
                schema,
                org,
                "Contact",
                json!({
                    "FirstName": first, "LastName": last, "AccountId": acc,
                    "Email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()),
                    "Title": (["CEO", "VP Sales", "Buyer", "CFO"][(i + j) % 4]), "Phone": format!("(415) 555-{:04}", 2000 + i * 2 + j),
                    "LeadSource": "Web", "OwnerId": active[(i + j) % active.len()],
                }),
                &admin,
            )?;
        }
    }
    let stages = [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ];
    for i in 0..15 {
        create(
            schema,
            org,
            "Opportunity",
            json!({
                "Name": format!("{} - Expansion {}", companies[i % companies.len()].0, i + 1),
                "AccountId": accounts[i % accounts.len()], "StageName": stages[i % stages.len()],
                "CloseDate": format!("2026-{:02}-15", 1 + i % 12), "Amount": 5000.0 * (i as f64 + 1.0),
                "Probability": ([10, 20, 40, 60, 80, 100, 0][i % 7]), "Type": "New Customer",
                "OwnerId": active[i % active.len()],
            }),
            &admin,
        )?;
    }
    for (i, (first, last, company)) in [
        ("Bertha", "Boxer", "Farmers Coop. of Florida"),
        ("Phyllis", "Cotton", "Abbott Insurance"),
        ("Jeff", "Glimpse", "Jackson Controls"),
        ("Mike", "Braund", "Metropolitan Health Services"),
        ("Patricia", "Feager", "International Shipping Co."),
        ("Brenda", "Mcclure", "Cadinal Inc."),
    ]
    .iter()
    .enumerate()
    {
        create(
            schema,
            org,
            "Lead",
            json!({
                "FirstName": first, "LastName": last, "Company": company,
                "Email": format!("{}@{}.example.com", first.to_lowercase(), last.to_lowercase()),
                "Status": (["Open - Not Contacted", "Working - Contacted"][i % 2]), "Rating": (["Hot", "Warm", "Cold"][i % 3]),
            }),
            &admin,
        )?;
    }
    let statuses = ["Planned", "In Progress", "Blocked", "Done"];
    let priorities = ["Low", "Medium", "High", "Critical"];
    let tags = [
        "Internal",
        "Customer;Design",
        "Engineering",
        "Marketing;Legal",
        "Customer;Engineering;Design",
    ];
    for i in 0..36usize {
        let n = i + 1;
        create(
            schema,
            org,
            "Project__c",
            json!({
                "Name": format!("Project {n:03}"),
                "Tandem_Key__c": format!("PRJ-{n:04}"),
                "Summary__c": format!("Rollout phase {n} for {}", companies[i % companies.len()].0),
                "Notes__c": format!("Kick-off notes for project {n}.\nSecond line of notes."),
                "Contact_Email__c": format!("owner{n}@example.com"),
                "Contact_Phone__c": format!("+1 415 555 {:04}", 3000 + n),
                "Website__c": format!("https://projects.example.com/{n}"),
                "Status__c": statuses[i % statuses.len()],
                "Priority__c": priorities[i % priorities.len()],
                "Tags__c": tags[i % tags.len()],
                "Budget__c": 10_000.0 + 2_500.0 * n as f64,
                "Spent__c": 1_000.0 * (n % 9) as f64,
                "Hours__c": 40.0 + 7.5 * n as f64,
                "Team_Size__c": (1 + n % 8) as f64,
                "Completion__c": ((n * 7) % 100) as f64,
                "Is_Billable__c": n % 3 != 0,
                "Start_Date__c": format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                "Due_Date__c": format!("2027-{:02}-{:02}", 1 + i % 12, 1 + (i * 3) % 28),
                "Kickoff_At__c": format!("2026-{:02}-{:02}T{:02}:30:00Z", 1 + i % 12, 1 + i % 28, 8 + i % 9),
                "Account__c": accounts[i % accounts.len()],
                "Reviewer__c": active[(i + 1) % active.len()],
                "OwnerId": active[i % active.len()],
            }),
            &admin,
        )?;
    }
    Ok(())
}
