use super::{like, run};
use crate::schema::Schema;
use crate::seed::{self, Seed};
use crate::store::Org;
use crate::writes;
use serde_json::{Value, json};

fn org_with_accounts() -> (Schema, Org) {
    let schema = Schema::load().unwrap();
    let mut org = Org::new("t", 1, 100);
    seed::init_org(&schema, &mut org, Seed::Empty).unwrap();
    let admin = org.admin_user_id.clone();
    let acc = schema.object("Account").unwrap();
    for (name, revenue) in [
        ("beta", json!(2.0)),
        ("Alpha", json!(1.0)),
        ("gamma", Value::Null),
    ] {
        let body = json!({"Name": name, "AnnualRevenue": revenue});
        writes::create(&schema, &mut org, acc, body.as_object().unwrap(), &admin).unwrap();
    }
    (schema, org)
}

fn names(out: &super::Outcome) -> Vec<&str> {
    out.rows
        .iter()
        .map(|r| r["Name"].as_str().unwrap_or(""))
        .collect()
}

#[test]
fn evaluates_filters_ordering_and_relationships() {
    let (schema, org) = org_with_accounts();
    let cases = [
        (
            "SELECT Name FROM Account ORDER BY Name",
            vec!["Alpha", "beta", "gamma"],
        ),
        (
            "SELECT Name FROM Account WHERE AnnualRevenue > 1 OR AnnualRevenue = null ORDER BY Name DESC",
            vec!["gamma", "beta"],
        ),
        (
            "SELECT Name FROM Account WHERE NOT (Name LIKE 'a%') ORDER BY AnnualRevenue DESC NULLS FIRST",
            vec!["gamma", "beta"],
        ),
        (
            "SELECT Name FROM Account WHERE Name IN ('ALPHA', 'Gamma') ORDER BY Name LIMIT 1 OFFSET 1",
            vec!["gamma"],
        ),
    ];
    for (soql, want) in cases {
        let out =
            run(&schema, &org, soql, false, "62.0").unwrap_or_else(|e| panic!("{soql}: {e:?}"));
        assert_eq!(names(&out), want, "{soql}");
    }
    let out = run(
        &schema,
        &org,
        "SELECT Owner.Email, Owner.Profile.Name FROM Account LIMIT 1",
        false,
        "62.0",
    )
    .unwrap();
    let owner = &out.rows[0]["Owner"];
    assert_eq!(owner["Email"], json!("admin@t.example.com"));
    assert_eq!(owner["Profile"]["Name"], json!("System Administrator"));
    assert_eq!(owner["attributes"]["type"], json!("User"));
}

#[test]
fn reports_unknown_fields_at_their_column() {
    let (schema, org) = org_with_accounts();
    let e = run(&schema, &org, "SELECT Id, Nope FROM Account", false, "62.0")
        .err()
        .unwrap();
    assert_eq!(e.code, "INVALID_FIELD");
    assert!(
        e.message.starts_with(
            "\nSELECT Id, Nope FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        ),
        "{}",
        e.message
    );
}

#[test]
fn like_matches_wildcards_case_insensitively_after_lowering() {
    assert!(like("acme corp", "acme%"));
    assert!(like("acme", "a_me"));
    assert!(like("x", "%"));
    assert!(!like("acme", "acme_"));
    assert!(!like("bacme", "acme%"));
}
