//! Scenario tests of the three-way merge.

use tandem_core::jiff::Timestamp;
use tandem_core::merge::{Action, Record, Side};
use tandem_core::{
    ConflictPolicy, Direction, FieldMapping, MergePlan, MondayColumn, MondayKind as M,
    SalesforceField, SalesforceKind as S, Shadow, SideState, Value, merge,
};

use serde_json::json;

use crate::{ctx, users};

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + secs).unwrap()
}

fn rec(pairs: &[(&str, Value)]) -> Record {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn map(sf: &str, s: S, col: &str, m: M, dir: Direction) -> FieldMapping {
    let mut c = MondayColumn::new(col, m.clone());
    if m == M::Status {
        c = c.with_labels(["Prospect", "Customer - Direct", "Yes", "No"]);
    }
    FieldMapping::new(SalesforceField::new(sf, s), c, dir)
}

fn mappings() -> Vec<FieldMapping> {
    vec![
        map("Name", S::String, "name", M::Name, Direction::Both),
        map(
            "AnnualRevenue",
            S::Currency,
            "numbers",
            M::Numbers,
            Direction::Both,
        ),
        map("Type", S::Picklist, "status", M::Status, Direction::Both),
        map(
            "Score__c",
            S::Formula,
            "text_score",
            M::Text,
            Direction::Both,
        ),
        map(
            "Description",
            S::Textarea,
            "long_text",
            M::LongText,
            Direction::SalesforceToMonday,
        ),
    ]
}

fn shadow() -> Shadow {
    Shadow {
        salesforce: rec(&[
            ("Name", Value::text("Acme")),
            ("AnnualRevenue", Value::Number(1000.into())),
            ("Type", Value::labels(["Prospect"])),
            ("Score__c", Value::Number(7.into())),
            ("Description", Value::text("old")),
        ]),
        monday: rec(&[
            ("name", Value::text("Acme")),
            ("numbers", Value::Number(1000.into())),
            ("status", Value::labels(["Prospect"])),
            ("text_score", Value::text("7")),
            ("long_text", Value::text("old")),
        ]),
    }
}

fn run(shadow: &Shadow, sf: &SideState, mo: &SideState, policy: ConflictPolicy) -> MergePlan {
    let users = users();
    merge(shadow, sf, mo, &mappings(), policy, &ctx(&users))
}

fn action<'a>(plan: &'a MergePlan, sf_field: &str) -> &'a Action {
    &plan
        .fields
        .iter()
        .find(|d| d.salesforce_field == sf_field)
        .unwrap()
        .action
}

fn to_monday(value: Value, json: serde_json::Value) -> Action {
    Action::PushToMonday { value, json }
}

fn to_sf(value: Value, json: serde_json::Value) -> Action {
    Action::PushToSalesforce { value, json }
}

/// Applies a plan as the orchestrator would: write both sides, store the next shadow.
fn apply(plan: &MergePlan, sf: &mut SideState, mo: &mut SideState) -> Shadow {
    sf.values.extend(plan.salesforce_updates());
    mo.values.extend(plan.monday_updates());
    plan.next_shadow.clone()
}

#[test]
fn unchanged_pair_is_all_noops() {
    let s = shadow();
    let plan = run(
        &s,
        &SideState::new(s.salesforce.clone(), Some(ts(1))),
        &SideState::new(s.monday.clone(), Some(ts(2))),
        ConflictPolicy::NewestWins,
    );
    assert!(plan.is_noop());
    assert_eq!(plan.next_shadow, s);
}

#[test]
fn our_own_write_read_back_moves_nothing() {
    let s = shadow();
    let mut sf = SideState::new(rec(&[("Name", Value::text("Acme GmbH"))]), Some(ts(10)));
    let mut mo = SideState::new(Record::new(), Some(ts(1)));
    let plan = run(&s, &sf, &mo, ConflictPolicy::NewestWins);
    assert_eq!(
        action(&plan, "Name"),
        &to_monday(Value::text("Acme GmbH"), json!("Acme GmbH"))
    );
    let next = apply(&plan, &mut sf, &mut mo);
    // next poll: monday shows our write (with a newer updated_at), Salesforce unchanged
    mo.record_changed_at = Some(ts(20));
    let again = run(&next, &sf, &mo, ConflictPolicy::NewestWins);
    assert!(again.is_noop(), "{:?}", again.fields);
}

#[test]
fn each_side_changes_flow_to_the_other() {
    let s = shadow();
    let sf = SideState::new(
        rec(&[("AnnualRevenue", Value::Number("2500.50".parse().unwrap()))]),
        Some(ts(5)),
    );
    let mo = SideState::new(
        rec(&[("status", Value::labels(["Customer - Direct"]))]),
        Some(ts(6)),
    );
    let plan = run(&s, &sf, &mo, ConflictPolicy::NewestWins);
    assert_eq!(
        plan.monday_updates(),
        rec(&[("numbers", Value::Number("2500.5".parse().unwrap()))])
    );
    assert_eq!(
        plan.salesforce_updates(),
        rec(&[("Type", Value::labels(["Customer - Direct"]))])
    );
    assert!(plan.fields.iter().all(|d| d.conflict.is_none()));
}

#[test]
fn conflicts_follow_the_policy() {
    let s = shadow();
    let sf_side = |at| {
        let mut st = SideState::new(rec(&[("Name", Value::text("Acme SF"))]), Some(ts(0)));
        st.changed_at.insert("Name".into(), ts(at));
        st
    };
    let mo_side = |at| {
        let mut st = SideState::new(rec(&[("name", Value::text("Acme monday"))]), Some(ts(0)));
        st.changed_at.insert("name".into(), ts(at));
        st
    };
    let to_sf = to_sf(Value::text("Acme monday"), json!("Acme monday"));
    let to_mo = to_monday(Value::text("Acme SF"), json!("Acme SF"));
    let cases = [
        (ConflictPolicy::NewestWins, 10, 20, &to_sf, Side::Monday),
        (ConflictPolicy::NewestWins, 20, 10, &to_mo, Side::Salesforce),
        (ConflictPolicy::NewestWins, 10, 10, &to_mo, Side::Salesforce),
        (
            ConflictPolicy::SalesforceWins,
            10,
            20,
            &to_mo,
            Side::Salesforce,
        ),
        (ConflictPolicy::MondayWins, 20, 10, &to_sf, Side::Monday),
    ];
    for (policy, sf_at, mo_at, want, winner) in cases {
        let plan = run(&s, &sf_side(sf_at), &mo_side(mo_at), policy);
        let d = plan
            .fields
            .iter()
            .find(|d| d.salesforce_field == "Name")
            .unwrap();
        assert_eq!(&d.action, want, "{policy:?} sf@{sf_at} monday@{mo_at}");
        assert_eq!(d.conflict, Some(winner));
    }
}

#[test]
fn both_sides_changing_to_the_same_value_is_agreement() {
    let s = shadow();
    let sf = SideState::new(
        rec(&[("AnnualRevenue", Value::Number("5".parse().unwrap()))]),
        Some(ts(1)),
    );
    let mo = SideState::new(
        rec(&[("numbers", Value::Number("5.00".parse().unwrap()))]),
        Some(ts(2)),
    );
    let plan = run(&s, &sf, &mo, ConflictPolicy::NewestWins);
    assert!(plan.is_noop());
    assert_eq!(
        plan.next_shadow.salesforce["AnnualRevenue"],
        Value::Number(5.into())
    );
}

#[test]
fn one_way_and_read_only_fields_never_flow_back() {
    let s = shadow();
    // monday edits a Salesforce→monday field and a text column mapped from a formula
    let mo = SideState::new(
        rec(&[
            ("long_text", Value::text("edited on monday")),
            ("text_score", Value::text("99")),
        ]),
        Some(ts(50)),
    );
    let sf = SideState::new(Record::new(), Some(ts(1)));
    let plan = run(&s, &sf, &mo, ConflictPolicy::MondayWins);
    assert!(plan.salesforce_updates().is_empty(), "{:?}", plan.fields);
    // when Salesforce changes the one-way field too, the source wins whatever the policy
    let sf = SideState::new(rec(&[("Description", Value::text("from SF"))]), Some(ts(2)));
    let plan = run(&s, &sf, &mo, ConflictPolicy::MondayWins);
    assert_eq!(
        action(&plan, "Description"),
        &to_monday(Value::text("from SF"), json!({"text": "from SF"}))
    );
    assert_eq!(action(&plan, "Score__c"), &Action::NoOp);
}

#[test]
fn a_value_that_cannot_be_written_fails_that_field_only_and_keeps_its_shadow() {
    let s = shadow();
    let users = users();
    let mut ms = mappings();
    ms[2].salesforce.restricted_picklist = true; // Type allows no value at all
    ms[1] = map(
        "AnnualRevenue",
        S::String,
        "numbers",
        M::Numbers,
        Direction::Both,
    );
    let sf = SideState::new(
        rec(&[
            ("Name", Value::text("Acme 2")),
            ("AnnualRevenue", Value::text("lots")),
        ]),
        Some(ts(5)),
    );
    let mo = SideState::new(
        rec(&[("status", Value::labels(["Customer - Direct"]))]),
        Some(ts(6)),
    );
    let plan = merge(&s, &sf, &mo, &ms, ConflictPolicy::NewestWins, &ctx(&users));
    let failures: Vec<_> = plan
        .failures()
        .map(|(d, e)| (d.salesforce_field.as_str(), e.to_string()))
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert_eq!(failures[0].0, "AnnualRevenue");
    assert!(
        failures[0]
            .1
            .contains("\"lots\" for Salesforce field AnnualRevenue is not a number")
    );
    assert_eq!(failures[1].0, "Type");
    assert!(
        failures[1].1.contains(
            "\"Customer - Direct\" is not an active value of the restricted picklist Type"
        )
    );
    // failed fields keep their shadow, so the next run retries them; others go ahead
    assert_eq!(
        plan.next_shadow.salesforce["AnnualRevenue"],
        s.salesforce["AnnualRevenue"]
    );
    assert_eq!(plan.next_shadow.monday["status"], s.monday["status"]);
    assert_eq!(
        plan.monday_column_values().get("name"),
        Some(&json!("Acme 2"))
    );
}

/// A conflict whose winner cannot be written stays decided: a retry after the loser's
/// record time moved (any write to it does) neither flips the winner nor overwrites it; once
/// the value can be written (the mapping fixed), the winner's value crosses.
#[test]
fn a_conflict_whose_winner_cannot_be_written_is_not_resolved_again() {
    let users = users();
    let s = shadow();
    let sides = |sf_at, mo_at| {
        let mut sf = SideState::new(
            rec(&[("Type", Value::labels(["Partner"]))]),
            Some(ts(sf_at)),
        );
        sf.changed_at.insert("Type".into(), ts(sf_at));
        let mo = SideState::new(
            rec(&[("status", Value::labels(["Customer - Direct"]))]),
            Some(ts(mo_at)),
        );
        (sf, mo)
    };
    // Salesforce's change is newer and wins, but monday has no label "Partner".
    let (sf, mo) = sides(20, 10);
    let first = run(&s, &sf, &mo, ConflictPolicy::NewestWins);
    let failed: Vec<_> = first.failures().map(|(d, _)| d.conflict).collect();
    assert_eq!(failed, [Some(Side::Salesforce)], "{:?}", first.fields);
    assert!(first.salesforce_updates().is_empty());
    // Retried after monday's record time moved past Salesforce's: still no write to Salesforce.
    let (sf, mo) = sides(20, 30);
    let retry = run(&first.next_shadow, &sf, &mo, ConflictPolicy::NewestWins);
    assert!(
        retry.salesforce_updates().is_empty(),
        "the loser's value overwrote the winner: {:?}",
        retry.fields
    );
    assert_eq!(retry.failures().count(), 1, "{:?}", retry.fields);
    // The mapping may now create labels: the winner's value crosses.
    let mut ms = mappings();
    ms[2].options.create_labels = true;
    let fixed = merge(
        &retry.next_shadow,
        &sf,
        &mo,
        &ms,
        ConflictPolicy::NewestWins,
        &ctx(&users),
    );
    assert_eq!(
        fixed.monday_updates().get("status"),
        Some(&Value::labels(["Partner"])),
        "{:?}",
        fixed.fields
    );
    assert_eq!(fixed.failures().count(), 0);
}

#[test]
fn payloads_are_ready_for_the_wire() {
    let s = shadow();
    let sf = SideState::new(
        rec(&[("AnnualRevenue", Value::Number("1234.50".parse().unwrap()))]),
        Some(ts(9)),
    );
    let mo = SideState::new(
        rec(&[("status", Value::labels(["Customer - Direct"]))]),
        Some(ts(9)),
    );
    let plan = run(&s, &sf, &mo, ConflictPolicy::NewestWins);
    assert_eq!(
        serde_json::Value::Object(plan.monday_column_values()),
        json!({"numbers": "1234.5"})
    );
    assert_eq!(
        serde_json::Value::Object(plan.salesforce_payload()),
        json!({"Type": "Customer - Direct"})
    );
}

#[test]
fn first_sync_without_shadow_resolves_by_policy_or_agrees() {
    let empty = Shadow::default();
    let sf = SideState::new(rec(&[("Name", Value::text("Acme"))]), Some(ts(1)));
    let same = SideState::new(rec(&[("name", Value::text("Acme"))]), Some(ts(2)));
    let plan = run(&empty, &sf, &same, ConflictPolicy::NewestWins);
    assert_eq!(action(&plan, "Name"), &Action::NoOp);
    let other = SideState::new(rec(&[("name", Value::text("ACME Corp"))]), Some(ts(2)));
    let plan = run(&empty, &sf, &other, ConflictPolicy::NewestWins);
    assert_eq!(
        action(&plan, "Name"),
        &to_sf(Value::text("ACME Corp"), json!("ACME Corp"))
    );
}

#[test]
fn an_owner_without_a_monday_user_fails_only_the_people_column_and_the_email_fallback_goes() {
    // Carol is a Salesforce user (the directory knows her email) with no monday account.
    const CAROL_SF: &str = "005xx000001Sv6CAAS";
    let users = users().with_salesforce_user(CAROL_SF, "carol@example.com");
    let ms = vec![
        map("Name", S::String, "name", M::Name, Direction::Both),
        map("OwnerId", S::User, "people", M::People, Direction::Both),
        map(
            "OwnerId",
            S::User,
            "owner_email",
            M::Text,
            Direction::SalesforceToMonday,
        ),
    ];
    let ann = Value::Reference {
        id: crate::ANN_SF.into(),
        name: None,
    };
    let s = Shadow {
        salesforce: rec(&[("Name", Value::text("Acme")), ("OwnerId", ann.clone())]),
        monday: rec(&[
            ("name", Value::text("Acme")),
            ("people", Value::people(["ann.lee@example.com"])),
            ("owner_email", Value::text("ann.lee@example.com")),
        ]),
    };
    let carol = Value::Reference {
        id: CAROL_SF.into(),
        name: None,
    };
    let sf = SideState::new(
        rec(&[("Name", Value::text("Acme 2")), ("OwnerId", carol.clone())]),
        Some(ts(5)),
    );
    let mo = SideState::new(rec(&[]), Some(ts(1)));
    let plan = merge(&s, &sf, &mo, &ms, ConflictPolicy::NewestWins, &ctx(&users));

    let failures: Vec<_> = plan
        .failures()
        .map(|(d, e)| (d.monday_column.as_str(), e.clone()))
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].0, "people");
    assert!(failures[0].1.is_record_error());
    let msg = failures[0].1.to_string();
    assert!(
        msg.contains("monday column people") && msg.contains("carol@example.com"),
        "{msg}"
    );
    let columns = plan.monday_column_values();
    assert_eq!(columns.get("name"), Some(&json!("Acme 2")));
    assert_eq!(
        columns.get("owner_email"),
        Some(&json!("carol@example.com")),
        "the text column gets the owner's email"
    );
    assert!(!columns.contains_key("people"));
    // The failed column keeps its old shadow on both sides — OwnerId too, though the text
    // mapping of the same field succeeded — so the next run retries it.
    assert_eq!(plan.next_shadow.monday["people"], s.monday["people"]);
    assert_eq!(plan.next_shadow.salesforce["OwnerId"], ann);
    assert_eq!(
        plan.next_shadow.monday["owner_email"],
        Value::text("carol@example.com")
    );
    assert_eq!(plan.next_shadow.monday["name"], Value::text("Acme 2"));

    // Next run, unchanged: the people column is retried (and fails again) while the text
    // column, already holding the email, writes nothing.
    let mut mo = mo;
    mo.values.extend(plan.monday_updates());
    let again = merge(
        &plan.next_shadow,
        &sf,
        &mo,
        &ms,
        ConflictPolicy::NewestWins,
        &ctx(&users),
    );
    let failed: Vec<_> = again.failures().map(|(d, _)| &d.monday_column).collect();
    assert_eq!(failed, ["people"]);
    assert!(again.monday_column_values().is_empty());

    // Once Carol has a monday account, the retry goes through.
    let users = users.with_monday_user(99, "carol@example.com");
    let fixed = merge(
        &plan.next_shadow,
        &sf,
        &mo,
        &ms,
        ConflictPolicy::NewestWins,
        &ctx(&users),
    );
    assert_eq!(fixed.failures().count(), 0);
    assert_eq!(
        fixed.monday_column_values().get("people"),
        Some(&json!({"personsAndTeams": [{"id": 99, "kind": "person"}]}))
    );
    assert_eq!(fixed.next_shadow.salesforce["OwnerId"], carol);
}

#[test]
fn a_monday_person_without_a_salesforce_user_reaches_a_text_field_as_an_email() {
    let users = users().with_monday_user(77, "dev@example.com");
    let ms = vec![
        map(
            "Reviewer__c",
            S::String,
            "people",
            M::People,
            Direction::Both,
        ),
        map(
            "Contact_Email__c",
            S::Email,
            "people",
            M::People,
            Direction::Both,
        ),
        map("OwnerId", S::User, "people", M::People, Direction::Both),
    ];
    let mo = tandem_core::convert::read_monday_item(
        &ms[..1],
        &json!({"id": "1", "column_values": [{"id": "people",
            "value": "{\"personsAndTeams\":[{\"id\":77,\"kind\":\"person\"}]}"}]}),
        &users,
    );
    assert!(mo.errors.is_empty(), "{:?}", mo.errors);
    let sf = SideState::new(rec(&[]), Some(ts(0)));
    let plan = merge(
        &Shadow::default(),
        &sf,
        &mo.state,
        &ms,
        ConflictPolicy::MondayWins,
        &ctx(&users),
    );
    let payload = plan.salesforce_payload();
    assert_eq!(payload.get("Reviewer__c"), Some(&json!("dev@example.com")));
    assert_eq!(
        payload.get("Contact_Email__c"),
        Some(&json!("dev@example.com"))
    );
    let failed: Vec<_> = plan.failures().map(|(d, _)| &d.salesforce_field).collect();
    assert_eq!(
        failed,
        ["OwnerId"],
        "a User field still needs a Salesforce user"
    );
}
