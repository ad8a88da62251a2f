//! The scorer against a labelled set of real-looking boards and objects.

use tandem_core::{
    MondayColumn, MondayKind as M, PicklistValue, SalesforceField, SalesforceKind as S,
};

use super::*;

fn col(id: &str, title: &str, kind: M, labels: &[&str]) -> MondayColumn {
    let mut c = MondayColumn::new(id, kind).with_labels(labels.iter().copied());
    c.title = title.to_owned();
    c
}

/// `flags`: `r` required, `o` read-only.
fn field(name: &str, label: &str, kind: S, flags: &str, values: &[&str]) -> SalesforceField {
    let mut f = SalesforceField::new(name, kind);
    f.label = label.to_owned();
    f.required = flags.contains('r');
    f.writable = !flags.contains('o');
    f.picklist_values = values
        .iter()
        .map(|v| PicklistValue {
            value: (*v).to_owned(),
            label: (*v).to_owned(),
            active: true,
        })
        .collect();
    f
}

struct Case {
    name: &'static str,
    columns: Vec<MondayColumn>,
    fields: Vec<SalesforceField>,
    /// The pairs a person would map: (column id, field name).
    gold: Vec<(&'static str, &'static str)>,
}

fn labelled_set() -> Vec<Case> {
    vec![
        Case {
            name: "Deals ↔ Opportunity",
            columns: vec![
                col("name", "Deal", M::Name, &[]),
                col(
                    "status",
                    "Stage",
                    M::Status,
                    &[
                        "Prospecting",
                        "Qualification",
                        "Negotiation/Review",
                        "Closed Won",
                        "Closed Lost",
                    ],
                ),
                col("numbers", "Deal Value", M::Numbers, &[]),
                col("date4", "Expected Close", M::Date, &[]),
                col("person", "Owner", M::People, &[]),
                col("text_next", "Next Step", M::Text, &[]),
                col("numbers_prob", "Probability (%)", M::Numbers, &[]),
                col(
                    "dropdown_src",
                    "Lead Source",
                    M::Dropdown,
                    &["Web", "Phone Inquiry", "Partner Referral"],
                ),
                col("long_text", "Notes", M::LongText, &[]),
                col("timeline", "Timeline", M::Other("timeline".into()), &[]),
                col("files", "Files", M::Other("file".into()), &[]),
                col("mirror", "Account Industry", M::Mirror, &[]),
            ],
            fields: vec![
                field("Id", "Opportunity ID", S::Id, "o", &[]),
                field("Name", "Opportunity Name", S::String, "r", &[]),
                field(
                    "StageName",
                    "Stage",
                    S::Picklist,
                    "r",
                    &[
                        "Prospecting",
                        "Qualification",
                        "Negotiation/Review",
                        "Closed Won",
                        "Closed Lost",
                    ],
                ),
                field("Amount", "Amount", S::Currency, "", &[]),
                field("CloseDate", "Close Date", S::Date, "r", &[]),
                field("OwnerId", "Owner ID", S::User, "", &[]),
                field("NextStep", "Next Step", S::String, "", &[]),
                field("Probability", "Probability (%)", S::Percent, "", &[]),
                field(
                    "LeadSource",
                    "Lead Source",
                    S::Picklist,
                    "",
                    &["Web", "Phone Inquiry", "Partner Referral", "Other"],
                ),
                field("Description", "Description", S::Textarea, "", &[]),
                field(
                    "Type",
                    "Opportunity Type",
                    S::Picklist,
                    "",
                    &["New Customer", "Existing Customer"],
                ),
                field("IsPrivate", "Private", S::Boolean, "", &[]),
                field("ExpectedRevenue", "Expected Amount", S::Formula, "o", &[]),
                field("CreatedDate", "Created Date", S::Datetime, "o", &[]),
            ],
            gold: vec![
                ("name", "Name"),
                ("status", "StageName"),
                ("numbers", "Amount"),
                ("date4", "CloseDate"),
                ("person", "OwnerId"),
                ("text_next", "NextStep"),
                ("numbers_prob", "Probability"),
                ("dropdown_src", "LeadSource"),
                ("long_text", "Description"),
            ],
        },
        Case {
            name: "Contacts ↔ Contact",
            columns: vec![
                col("name", "Name", M::Name, &[]),
                col("text_first", "First Name", M::Text, &[]),
                col("text_last", "Last Name", M::Text, &[]),
                col("email", "Email", M::Email, &[]),
                col("phone", "Mobile", M::Phone, &[]),
                col("phone2", "Office Phone", M::Phone, &[]),
                col("text_title", "Job Title", M::Text, &[]),
                col("date_bday", "Birthday", M::Date, &[]),
                col("text_dept", "Department", M::Text, &[]),
                col("person", "Contact Owner", M::People, &[]),
                col("text_city", "Mailing City", M::Text, &[]),
                col("location", "Address", M::Other("location".into()), &[]),
                col("tags", "Tags", M::Dropdown, &["VIP", "Newsletter"]),
            ],
            fields: vec![
                field("Name", "Full Name", S::String, "o", &[]),
                field("LastName", "Last Name", S::String, "r", &[]),
                field("FirstName", "First Name", S::String, "", &[]),
                field("Email", "Email", S::Email, "", &[]),
                field("MobilePhone", "Mobile Phone", S::Phone, "", &[]),
                field("Phone", "Business Phone", S::Phone, "", &[]),
                field("Title", "Title", S::String, "", &[]),
                field("Birthdate", "Birthdate", S::Date, "", &[]),
                field("Department", "Department", S::String, "", &[]),
                field("OwnerId", "Contact Owner", S::User, "", &[]),
                field("MailingCity", "Mailing City", S::String, "", &[]),
                field("AccountId", "Account ID", S::Reference, "", &[]),
                field("Description", "Contact Description", S::Textarea, "", &[]),
                field("HasOptedOutOfEmail", "Email Opt Out", S::Boolean, "", &[]),
            ],
            gold: vec![
                ("name", "Name"),
                ("text_first", "FirstName"),
                ("text_last", "LastName"),
                ("email", "Email"),
                ("phone", "MobilePhone"),
                ("phone2", "Phone"),
                ("text_title", "Title"),
                ("date_bday", "Birthdate"),
                ("text_dept", "Department"),
                ("person", "OwnerId"),
                ("text_city", "MailingCity"),
            ],
        },
        Case {
            name: "Leads ↔ Lead",
            columns: vec![
                col("name", "Lead", M::Name, &[]),
                col("text_company", "Company", M::Text, &[]),
                col("email", "Email Address", M::Email, &[]),
                col("phone", "Phone", M::Phone, &[]),
                col(
                    "status",
                    "Lead Status",
                    M::Status,
                    &[
                        "Open - Not Contacted",
                        "Working - Contacted",
                        "Closed - Converted",
                    ],
                ),
                col(
                    "dropdown_ind",
                    "Industry",
                    M::Dropdown,
                    &["Banking", "Energy", "Technology"],
                ),
                col("numbers_emp", "Employees", M::Numbers, &[]),
                col("numbers_rev", "Annual Revenue", M::Numbers, &[]),
                col("link", "Website", M::Link, &[]),
                col("text_first", "First name", M::Text, &[]),
                col("text_last", "Last name", M::Text, &[]),
                col(
                    "status_rating",
                    "Rating",
                    M::Status,
                    &["Hot", "Warm", "Cold"],
                ),
                col("checkbox", "Do Not Call", M::Checkbox, &[]),
                col("text_country", "Country", M::Text, &[]),
                col("last_updated", "Last Updated", M::LastUpdated, &[]),
            ],
            fields: vec![
                field("Name", "Full Name", S::String, "o", &[]),
                field("LastName", "Last Name", S::String, "r", &[]),
                field("FirstName", "First Name", S::String, "", &[]),
                field("Company", "Company", S::String, "r", &[]),
                field("Email", "Email", S::Email, "", &[]),
                field("Phone", "Phone", S::Phone, "", &[]),
                field(
                    "Status",
                    "Lead Status",
                    S::Picklist,
                    "r",
                    &[
                        "Open - Not Contacted",
                        "Working - Contacted",
                        "Closed - Converted",
                        "Closed - Not Converted",
                    ],
                ),
                field(
                    "Industry",
                    "Industry",
                    S::Picklist,
                    "",
                    &["Banking", "Energy", "Technology", "Retail"],
                ),
                field("NumberOfEmployees", "Employees", S::Int, "", &[]),
                field("AnnualRevenue", "Annual Revenue", S::Currency, "", &[]),
                field("Website", "Website", S::Url, "", &[]),
                field(
                    "Rating",
                    "Rating",
                    S::Picklist,
                    "",
                    &["Hot", "Warm", "Cold"],
                ),
                field("DoNotCall", "Do Not Call", S::Boolean, "", &[]),
                field("Country", "Country", S::String, "", &[]),
                field("Title", "Title", S::String, "", &[]),
                field(
                    "LeadSource",
                    "Lead Source",
                    S::Picklist,
                    "",
                    &["Web", "Other"],
                ),
            ],
            gold: vec![
                ("name", "Name"),
                ("text_company", "Company"),
                ("email", "Email"),
                ("phone", "Phone"),
                ("status", "Status"),
                ("dropdown_ind", "Industry"),
                ("numbers_emp", "NumberOfEmployees"),
                ("numbers_rev", "AnnualRevenue"),
                ("link", "Website"),
                ("text_first", "FirstName"),
                ("text_last", "LastName"),
                ("status_rating", "Rating"),
                ("checkbox", "DoNotCall"),
                ("text_country", "Country"),
            ],
        },
        Case {
            name: "Projects ↔ Project__c",
            columns: vec![
                col("name", "Project", M::Name, &[]),
                col(
                    "status",
                    "Status",
                    M::Status,
                    &["Not Started", "In Progress", "Done"],
                ),
                col("date_start", "Start", M::Date, &[]),
                col("date_due", "Deadline", M::Date, &[]),
                col("numbers_budget", "Budget", M::Numbers, &[]),
                col("person", "Project Manager", M::People, &[]),
                col(
                    "status_pri",
                    "Priority",
                    M::Status,
                    &["High", "Medium", "Low"],
                ),
                col("long_text", "Summary", M::LongText, &[]),
                col("numbers_health", "Health Score", M::Numbers, &[]),
                col("link_doc", "Docs", M::Link, &[]),
                col("text_client", "Client Code", M::Text, &[]),
                col("checkbox_bill", "Billable", M::Checkbox, &[]),
                col("text_risk", "Risks", M::Text, &[]),
            ],
            fields: vec![
                field("Name", "Project Name", S::String, "r", &[]),
                field(
                    "Status__c",
                    "Status",
                    S::Picklist,
                    "",
                    &["Not Started", "In Progress", "Completed", "Done"],
                ),
                field("Start_Date__c", "Start Date", S::Date, "", &[]),
                field("Due_Date__c", "Due Date", S::Date, "", &[]),
                field("Budget__c", "Budget", S::Currency, "", &[]),
                field("Project_Manager__c", "Project Manager", S::User, "", &[]),
                field(
                    "Priority__c",
                    "Priority",
                    S::Picklist,
                    "",
                    &["High", "Medium", "Low"],
                ),
                field("Description__c", "Description", S::Textarea, "", &[]),
                field("Health_Score__c", "Health Score", S::Double, "", &[]),
                field("Documentation_URL__c", "Documentation URL", S::Url, "", &[]),
                field("Client_Code__c", "Client Code", S::String, "", &[]),
                field("Billable__c", "Billable", S::Boolean, "", &[]),
                field("Account__c", "Account", S::Reference, "", &[]),
            ],
            gold: vec![
                ("name", "Name"),
                ("status", "Status__c"),
                ("date_start", "Start_Date__c"),
                ("date_due", "Due_Date__c"),
                ("numbers_budget", "Budget__c"),
                ("person", "Project_Manager__c"),
                ("status_pri", "Priority__c"),
                ("long_text", "Description__c"),
                ("numbers_health", "Health_Score__c"),
                ("link_doc", "Documentation_URL__c"),
                ("text_client", "Client_Code__c"),
                ("checkbox_bill", "Billable__c"),
            ],
        },
        Case {
            name: "Accounts ↔ Account",
            columns: vec![
                col("name", "Account", M::Name, &[]),
                col("text_phone", "Main Phone", M::Text, &[]),
                col("link", "Web", M::Link, &[]),
                col(
                    "dropdown_type",
                    "Type",
                    M::Dropdown,
                    &["Prospect", "Customer - Direct", "Partner"],
                ),
                col("numbers_head", "Headcount", M::Numbers, &[]),
                col(
                    "status_sector",
                    "Sector",
                    M::Status,
                    &["Banking", "Energy", "Retail"],
                ),
                col("text_city", "Billing City", M::Text, &[]),
                col("person", "Account Manager", M::People, &[]),
                col("item_id", "Item ID", M::ItemId, &[]),
                col("text_sla", "SLA notes", M::Text, &[]),
            ],
            fields: vec![
                field("Name", "Account Name", S::String, "r", &[]),
                field("Phone", "Account Phone", S::Phone, "", &[]),
                field("Website", "Website", S::Url, "", &[]),
                field(
                    "Type",
                    "Account Type",
                    S::Picklist,
                    "",
                    &["Prospect", "Customer - Direct", "Partner"],
                ),
                field("NumberOfEmployees", "Employees", S::Int, "", &[]),
                field(
                    "Industry",
                    "Industry",
                    S::Picklist,
                    "",
                    &["Banking", "Energy", "Retail", "Technology"],
                ),
                field("BillingCity", "Billing City", S::String, "", &[]),
                field("OwnerId", "Account Owner", S::User, "", &[]),
                field("AnnualRevenue", "Annual Revenue", S::Currency, "", &[]),
                field("ParentId", "Parent Account ID", S::Reference, "", &[]),
            ],
            gold: vec![
                ("name", "Name"),
                ("text_phone", "Phone"),
                ("link", "Website"),
                ("dropdown_type", "Type"),
                ("numbers_head", "NumberOfEmployees"),
                ("status_sector", "Industry"),
                ("text_city", "BillingCity"),
                ("person", "OwnerId"),
            ],
        },
    ]
}

/// (true positives, suggested, gold) over the labelled set, printing every miss.
fn measure() -> (usize, usize, usize) {
    let (mut tp, mut suggested, mut gold) = (0, 0, 0);
    for case in labelled_set() {
        let (got, _) = suggest(&case.columns, &case.fields, Direction::Both);
        suggested += got.len();
        gold += case.gold.len();
        for s in &got {
            if case.gold.contains(&(s.column.as_str(), s.field.as_str())) {
                tp += 1;
            } else {
                println!(
                    "{}: wrong {} → {} ({})",
                    case.name, s.column, s.field, s.reason
                );
            }
        }
        for (c, f) in &case.gold {
            if !got.iter().any(|s| s.column == *c && s.field == *f) {
                println!("{}: missed {c} → {f}", case.name);
            }
        }
    }
    (tp, suggested, gold)
}

#[test]
fn the_labelled_set_has_at_least_forty_pairs() {
    let gold: usize = labelled_set().iter().map(|c| c.gold.len()).sum();
    assert!(gold >= 40, "{gold}");
}

#[test]
fn precision_and_recall_on_the_labelled_set() {
    let (tp, suggested, gold) = measure();
    let precision = tp as f64 / suggested.max(1) as f64;
    let recall = tp as f64 / gold.max(1) as f64;
    println!(
        "suggest: {tp} correct of {suggested} suggested, {gold} expected: precision {precision:.3}, recall {recall:.3}"
    );
    assert!(precision >= 0.9, "precision {precision:.3}");
    assert!(recall >= 0.85, "recall {recall:.3}");
}

#[test]
fn only_compatible_pairs_are_ever_suggested() {
    for case in labelled_set() {
        let (got, _) = suggest(&case.columns, &case.fields, Direction::Both);
        for s in got {
            let c = case.columns.iter().find(|c| c.id == s.column).unwrap();
            let f = case.fields.iter().find(|f| f.name == s.field).unwrap();
            assert!(
                validate_mapping(f, c, s.direction, &MappingOptions::default()).is_ok(),
                "{} → {} {:?}",
                s.column,
                s.field,
                s.direction
            );
            assert!((0.0..=1.0).contains(&s.confidence));
            assert!(!s.reason.is_empty());
        }
    }
}

#[test]
fn required_fields_come_first_and_unmatched_ones_are_listed() {
    let case = &labelled_set()[0];
    let (got, unmatched) = suggest(&case.columns, &case.fields, Direction::Both);
    let first_optional = got.iter().position(|s| !s.required).unwrap();
    assert!(got[..first_optional].iter().all(|s| s.required));
    assert!(got[first_optional..].iter().all(|s| !s.required));
    assert_eq!(first_optional, 3, "{got:#?}");
    assert!(unmatched.is_empty());

    let columns: Vec<_> = case
        .columns
        .iter()
        .filter(|c| c.id != "date4")
        .cloned()
        .collect();
    let (_, unmatched) = suggest(&columns, &case.fields, Direction::Both);
    assert_eq!(unmatched, vec!["CloseDate".to_owned()]);
}

#[test]
fn a_trailing_id_names_the_looked_up_record_only_on_lookups() {
    let account_number = col("text", "Account #", M::Text, &[]);
    let mut id = SalesforceField::new("Id", S::Id);
    id.label = "Account ID".into();
    let mut number = SalesforceField::new("AccountNumber", S::String);
    number.label = "Account Number".into();
    let to_id = score(&account_number, &id, Direction::Both).map_or(0.0, |s| s.confidence);
    let to_number = score(&account_number, &number, Direction::Both).unwrap();
    assert!(to_id < 0.6, "{to_id}: the record's own Id is not `Account`");
    assert!(to_number.confidence >= to_id);
    let mut owner = SalesforceField::new("OwnerId", S::User);
    owner.label = "Owner ID".into();
    let person = col("person", "Owner", M::People, &[]);
    assert!(score(&person, &owner, Direction::Both).is_some_and(|s| s.confidence >= 0.85));
}

#[test]
fn names_normalise_case_underscores_custom_suffix_and_camel_case() {
    let cases = [
        ("Annual_Revenue__c", vec!["annual", "revenue"]),
        ("AnnualRevenue", vec!["annual", "revenue"]),
        ("annual revenue", vec!["annual", "revenue"]),
        ("OwnerId", vec!["owner", "id"]),
        ("Probability (%)", vec!["probability"]),
    ];
    for (text, expected) in cases {
        assert_eq!(words(text), expected, "{text}");
    }
    assert_eq!(canonical("Mobile"), canonical("MobilePhone"));
    assert_eq!(canonical("Owner"), canonical("Person"));
    assert_eq!(canonical("Stage"), canonical("Status"));
    assert_eq!(canonical("Deal value"), canonical("Amount"));
    assert_eq!(canonical("OwnerId"), "owner");
}

#[test]
fn one_way_scopes_only_suggest_pairs_that_flow_that_way() {
    let case = &labelled_set()[1];
    let (got, _) = suggest(&case.columns, &case.fields, Direction::MondayToSalesforce);
    assert!(
        got.iter()
            .all(|s| s.direction == Direction::MondayToSalesforce)
    );
    // The read-only full name cannot be written from monday.
    assert!(!got.iter().any(|s| s.field == "Name"));
}

/// A board written after the scorer was tuned, against the real Account describe recorded
/// from a Developer Edition org (70 fields): a check the synonym list was not fitted to.
fn held_out() -> Case {
    let describe: serde_json::Value = serde_json::from_str(include_str!(
        "../../../sims/salesforce-sim/tests/fixtures/salesforce-account-describe-v58.json"
    ))
    .unwrap();
    let fields = describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| SalesforceField::from_describe(f).unwrap())
        .collect();
    Case {
        name: "held out: Clients ↔ Account (recorded describe)",
        columns: vec![
            col("name", "Company", M::Name, &[]),
            col(
                "dropdown",
                "Industry",
                M::Dropdown,
                &["Banking", "Biotechnology", "Apparel"],
            ),
            col(
                "status",
                "Type",
                M::Status,
                &[
                    "Prospect",
                    "Customer - Direct",
                    "Channel Partner / Reseller",
                ],
            ),
            col("phone", "Phone", M::Phone, &[]),
            col("phone_1", "Fax", M::Phone, &[]),
            col("link", "Website", M::Link, &[]),
            col("numbers", "# Employees", M::Numbers, &[]),
            col("numbers_1", "Revenue", M::Numbers, &[]),
            col("person", "Owner", M::People, &[]),
            col("text", "City", M::Text, &[]),
            col("text_1", "Country", M::Text, &[]),
            col("text_2", "Street", M::Text, &[]),
            col("text_3", "Zip", M::Text, &[]),
            col("long_text", "About", M::LongText, &[]),
            col("status_1", "Rating", M::Status, &["Hot", "Warm", "Cold"]),
            col("text_4", "Account #", M::Text, &[]),
            col("text_5", "Ticker", M::Text, &[]),
            col(
                "dropdown_1",
                "SLA level",
                M::Dropdown,
                &["Gold", "Silver", "Platinum", "Bronze"],
            ),
            col("date", "SLA expires", M::Date, &[]),
            col("numbers_2", "Locations", M::Numbers, &[]),
            col(
                "status_2",
                "Priority",
                M::Status,
                &["High", "Medium", "Low"],
            ),
            col(
                "dropdown_2",
                "Source",
                M::Dropdown,
                &["Web", "Partner Referral", "Other"],
            ),
            col("status_3", "Active?", M::Status, &["Yes", "No"]),
            col("text_6", "Year founded", M::Text, &[]),
            col("date_1", "Last call", M::Date, &[]),
            col("file", "Files", M::Other("file".into()), &[]),
            col(
                "status_4",
                "Health",
                M::Status,
                &["Good", "At risk", "Critical"],
            ),
            col("text_7", "Next steps", M::Text, &[]),
        ],
        fields,
        gold: vec![
            ("name", "Name"),
            ("dropdown", "Industry"),
            ("status", "Type"),
            ("phone", "Phone"),
            ("phone_1", "Fax"),
            ("link", "Website"),
            ("numbers", "NumberOfEmployees"),
            ("numbers_1", "AnnualRevenue"),
            ("person", "OwnerId"),
            ("text", "BillingCity"),
            ("text_1", "BillingCountry"),
            ("text_2", "BillingStreet"),
            ("text_3", "BillingPostalCode"),
            ("long_text", "Description"),
            ("status_1", "Rating"),
            ("text_4", "AccountNumber"),
            ("text_5", "TickerSymbol"),
            ("dropdown_1", "SLA__c"),
            ("date", "SLAExpirationDate__c"),
            ("numbers_2", "NumberofLocations__c"),
            ("status_2", "CustomerPriority__c"),
            ("dropdown_2", "AccountSource"),
            ("status_3", "Active__c"),
            ("text_6", "YearStarted"),
        ],
    }
}

#[test]
fn precision_and_recall_on_a_held_out_board_against_a_recorded_describe() {
    let case = held_out();
    let (got, _) = suggest(&case.columns, &case.fields, Direction::Both);
    let mut tp = 0;
    for s in &got {
        if case.gold.contains(&(s.column.as_str(), s.field.as_str())) {
            tp += 1;
        } else {
            println!("held out: wrong {} → {} ({})", s.column, s.field, s.reason);
        }
    }
    for (c, f) in &case.gold {
        if !got.iter().any(|s| s.column == *c && s.field == *f) {
            println!("held out: missed {c} → {f}");
        }
    }
    let precision = tp as f64 / got.len().max(1) as f64;
    let recall = tp as f64 / case.gold.len() as f64;
    println!(
        "suggest (held out): {tp} correct of {} suggested, {} expected: precision {precision:.3}, recall {recall:.3}",
        got.len(),
        case.gold.len()
    );
    assert!(
        precision >= 0.5 && recall >= 0.4,
        "precision {precision:.3}, recall {recall:.3}"
    );
}
