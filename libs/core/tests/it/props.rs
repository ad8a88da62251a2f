//! Property tests: round trips of lossless pairs, merge safety and idempotence,
//! associativity of coalescing.

use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{Value as Json, json};
use tandem_core::convert::{monday, monday_to_salesforce, salesforce, salesforce_to_monday};
use tandem_core::jiff::Timestamp;
use tandem_core::merge::Action;
use tandem_core::{
    ConflictPolicy, Conversion, DateTime, Decimal, Direction, FieldMapping, Flow, MondayColumn,
    MondayKind as M, PendingChange, SalesforceKind as S, Shadow, SideState, Value, matrix, merge,
};

use crate::{ANN_SF, BOB_SF, STATUS_LABELS, ctx, mapping, users};

const ACTIVE: [&str; 3] = ["Prospect", "Customer - Direct", "Other, misc"];

/// What monday stores and returns on read (`value` string, `text`) after a write of `json`:
/// status comes back as an index, dropdown as ids, the name only as text.
fn stored(col: &MondayColumn, json: &Json) -> (Option<String>, Option<String>) {
    if json.is_null() || json == &json!({}) || json == &json!("") {
        return (None, Some(String::new()));
    }
    let index_of = |l: &Json| {
        col.labels
            .iter()
            .find(|x| Some(x.name.as_str()) == l.as_str())
            .map(|x| x.id)
    };
    match col.kind {
        M::Name => (None, json.as_str().map(Into::into)),
        M::Status => {
            let label = &json["label"];
            let v = json!({"index": index_of(label), "changed_at": "2026-05-22T05:47:17.769Z"});
            (Some(v.to_string()), label.as_str().map(Into::into))
        }
        M::Dropdown => {
            let labels = json["labels"].as_array().cloned().unwrap_or_default();
            let ids: Vec<_> = labels.iter().map(index_of).collect();
            (Some(json!({ "ids": ids }).to_string()), None)
        }
        _ => (Some(json.to_string()), None),
    }
}

fn text(non_empty: bool) -> BoxedStrategy<String> {
    if non_empty {
        "\\PC{1,40}"
    } else {
        "\\PC{0,40}"
    }
    .boxed()
}

fn email() -> BoxedStrategy<String> {
    "[a-z0-9._]{1,10}@[a-z]{1,10}\\.(com|org|io)".boxed()
}

fn url() -> BoxedStrategy<String> {
    "https://[a-z]{1,12}\\.(com|io)(/[a-z0-9ä]{0,8})?".boxed()
}

fn decimal(whole: bool) -> BoxedStrategy<Decimal> {
    let scale = if whole { 0..1u32 } else { 0..7u32 };
    (-1_000_000_000_000i64..1_000_000_000_000, scale)
        .prop_map(|(m, s)| Decimal::new(m, s))
        .boxed()
}

fn date() -> BoxedStrategy<tandem_core::jiff::civil::Date> {
    (1900i16..2100, 1i8..=12, 1i8..=28)
        .prop_map(|(y, m, d)| tandem_core::jiff::civil::date(y, m, d))
        .boxed()
}

fn time_text() -> BoxedStrategy<String> {
    "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z".boxed()
}

fn maybe_null(s: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    prop_oneof![1 => Just(Json::Null), 6 => s].boxed()
}

/// Salesforce JSON values for the source side of a pair.
fn sf_json(s: &S, m: &M, conv: Conversion) -> BoxedStrategy<Json> {
    let whole = matches!(s, S::Int | S::Long);
    match conv {
        Conversion::Text | Conversion::PhoneText | Conversion::Phone if *s == S::Url => {
            url().prop_map(Json::from).boxed()
        }
        Conversion::Text | Conversion::PhoneText | Conversion::Phone if *m == M::Name => {
            text(true).prop_map(Json::from).boxed()
        }
        Conversion::Text | Conversion::PhoneText | Conversion::Phone => {
            maybe_null(text(false).prop_map(Json::from).boxed())
        }
        Conversion::Email => maybe_null(email().prop_map(Json::from).boxed()),
        Conversion::Link => maybe_null(url().prop_map(Json::from).boxed()),
        Conversion::Number | Conversion::NumberText => maybe_null(
            decimal(whole)
                .prop_map(|d| serde_json::from_str(&d.to_string()).unwrap())
                .boxed(),
        ),
        Conversion::Checkbox | Conversion::BoolStatus => any::<bool>().prop_map(Json::from).boxed(),
        Conversion::Date => maybe_null(date().prop_map(|d| json!(d.to_string())).boxed()),
        Conversion::PicklistLabel => maybe_null(select(&ACTIVE[..]).prop_map(Json::from).boxed()),
        Conversion::PicklistText if *s == S::Picklist => {
            maybe_null(select(&ACTIVE[..]).prop_map(Json::from).boxed())
        }
        Conversion::PicklistText => {
            maybe_null(select(&STATUS_LABELS[..]).prop_map(Json::from).boxed())
        }
        Conversion::MultipicklistLabels => subsequence(ACTIVE.to_vec(), 0..=3)
            .prop_map(|v| json!(v.join(";")))
            .boxed(),
        Conversion::UserPeople | Conversion::UserEmail => {
            maybe_null(select(vec![ANN_SF, BOB_SF]).prop_map(Json::from).boxed())
        }
        Conversion::TimeText => maybe_null(time_text().prop_map(Json::from).boxed()),
        other => panic!("no Salesforce generator for {other}"),
    }
}

/// monday canonical values (and whether the mapping keeps time) for the source side.
fn monday_value(s: &S, m: &M, conv: Conversion) -> BoxedStrategy<(Value, bool)> {
    let whole = matches!(s, S::Int | S::Long);
    let plain = |st: BoxedStrategy<Value>| {
        prop_oneof![1 => Just(Value::Null), 6 => st]
            .prop_map(|v| (v, false))
            .boxed()
    };
    match conv {
        Conversion::Text | Conversion::PhoneText if *m == M::Name => {
            text(true).prop_map(|t| (Value::text(t), false)).boxed()
        }
        Conversion::Text | Conversion::PhoneText => {
            plain(text(false).prop_map(Value::text).boxed())
        }
        Conversion::Email => plain(email().prop_map(Value::text).boxed()),
        Conversion::Number | Conversion::NumberText => {
            plain(decimal(whole).prop_map(Value::Number).boxed())
        }
        Conversion::Checkbox => any::<bool>().prop_map(|b| (Value::Bool(b), false)).boxed(),
        Conversion::BoolStatus => select(vec!["Yes", "No"])
            .prop_map(|l| (Value::labels([l]), false))
            .boxed(),
        Conversion::PicklistLabel => {
            plain(select(&ACTIVE[..]).prop_map(|l| Value::labels([l])).boxed())
        }
        Conversion::PicklistText if *s == S::Picklist => {
            plain(select(&ACTIVE[..]).prop_map(Value::text).boxed())
        }
        Conversion::PicklistText => plain(
            select(&STATUS_LABELS[..])
                .prop_map(|l| Value::labels([l]))
                .boxed(),
        ),
        Conversion::MultipicklistLabels => subsequence(ACTIVE.to_vec(), 0..=3)
            .prop_map(|v| (Value::labels(v), false))
            .boxed(),
        Conversion::UserPeople => plain(
            select(vec!["ann.lee@example.com", "bob.ng@example.com"])
                .prop_map(|e| Value::people([e]))
                .boxed(),
        ),
        Conversion::PeopleEmail => plain(
            select(vec!["ann.lee@example.com", "bob.ng@example.com"])
                .prop_map(|e| Value::people([e]))
                .boxed(),
        ),
        Conversion::UserEmail => plain(
            select(vec!["ann.lee@example.com", "bob.ng@example.com"])
                .prop_map(Value::text)
                .boxed(),
        ),
        Conversion::TimeText => plain(time_text().prop_map(Value::text).boxed()),
        Conversion::DatetimeDate => prop_oneof![
            date().prop_map(|d| (Value::Date(d), false)),
            (0i64..4_000_000_000).prop_map(|s| {
                (
                    Value::DateTime(DateTime::utc(Timestamp::from_second(s).unwrap())),
                    true,
                )
            }),
        ]
        .boxed(),
        other => panic!("no monday generator for {other}"),
    }
}

fn pairs_where(pred: fn(&matrix::Rule) -> bool) -> Vec<(S, M, Conversion)> {
    matrix::pairs()
        .filter(|(_, _, r)| pred(r))
        .map(|(s, m, r)| (s.clone(), m.clone(), r.conversion))
        .collect()
}

fn sf_origin_case() -> impl Strategy<Value = (S, M, Json)> {
    // Salesforce → monday is lossless and the pair can come back.
    let pairs = pairs_where(|r| r.to_monday == Flow::Lossless && r.to_salesforce.allowed());
    select(pairs).prop_flat_map(|(s, m, c)| {
        let values = sf_json(&s, &m, c);
        (Just(s), Just(m), values)
    })
}

fn monday_origin_case() -> impl Strategy<Value = (S, M, (Value, bool))> {
    let pairs = pairs_where(|r| r.to_salesforce == Flow::Lossless && r.to_monday.allowed());
    select(pairs).prop_flat_map(|(s, m, c)| {
        let values = monday_value(&s, &m, c);
        (Just(s), Just(m), values)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn salesforce_value_to_monday_and_back_is_identity((s, m, input) in sf_origin_case()) {
        let users = users();
        let ctx = ctx(&users);
        let map = mapping(s.clone(), m.clone());
        let written = salesforce_to_monday(&map, &input, &ctx).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (value, text) = stored(&map.monday, &written);
        let back = monday_to_salesforce(&map, value.as_deref(), text.as_deref(), &ctx)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let before = salesforce::read(&map.salesforce, &input).unwrap();
        let after = salesforce::read(&map.salesforce, &back).unwrap();
        prop_assert_eq!(before, after, "{} → {}: {} → {} → {}", s, m, input, written, back);
    }

    #[test]
    fn monday_value_to_salesforce_and_back_is_identity((s, m, (v, keep_time)) in monday_origin_case()) {
        let users = users();
        let ctx = ctx(&users);
        let mut map = mapping(s.clone(), m.clone());
        map.options.keep_time = keep_time;
        let written = monday::write(&map.monday, &v, &map.options, &users).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (value, text) = stored(&map.monday, &written);
        let read = monday::read(&map.monday, value.as_deref(), text.as_deref(), &users).unwrap();
        prop_assert_eq!(&read, &v);
        let sf = monday_to_salesforce(&map, value.as_deref(), text.as_deref(), &ctx)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let again = salesforce_to_monday(&map, &sf, &ctx).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (value, text) = stored(&map.monday, &again);
        let after = monday::read(&map.monday, value.as_deref(), text.as_deref(), &users).unwrap();
        prop_assert_eq!(&after, &v, "{} ← {}: {:?} → {} → {}", s, m, v, sf, again);
    }
}

// ---- merge ------------------------------------------------------------------------

/// Mappings of the merge properties, with pools of values each side may hold.
fn merge_fixture() -> Vec<(FieldMapping, Vec<Value>, Vec<Value>)> {
    let n = |s: &str| Value::Number(s.parse().unwrap());
    let dt = |s: i64| {
        Value::DateTime(DateTime::utc(
            Timestamp::from_second(1_700_000_000 + s * 3600).unwrap(),
        ))
    };
    let named = |mut f: FieldMapping, sf: &str, col: &str| {
        f.salesforce.name = sf.into();
        f.monday.id = col.into();
        f
    };
    vec![
        (
            named(mapping(S::String, M::Name), "Name", "name"),
            vec![Value::text("Acme"), Value::text("Zürich AG")],
            vec![Value::text("Acme"), Value::text("ACME, Inc.")],
        ),
        (
            named(mapping(S::Currency, M::Numbers), "AnnualRevenue", "numbers"),
            vec![Value::Null, n("0"), n("1.5"), n("1000")],
            vec![Value::Null, n("1.50"), n("7")],
        ),
        (
            named(mapping(S::Boolean, M::Checkbox), "IsActive__c", "check"),
            vec![Value::Bool(true), Value::Bool(false)],
            vec![Value::Bool(true), Value::Bool(false)],
        ),
        (
            named(mapping(S::Picklist, M::Status), "Type", "status"),
            vec![
                Value::Null,
                Value::labels(["Prospect"]),
                Value::labels(["Other, misc"]),
                Value::labels(["Legacy"]),
            ],
            vec![
                Value::Null,
                Value::labels(["Prospect"]),
                Value::labels(["Done"]),
            ],
        ),
        (
            named(mapping(S::Formula, M::Text), "Score__c", "text_score"),
            vec![Value::Null, n("7"), Value::text("high")],
            vec![Value::Null, Value::text("7"), Value::text("99")],
        ),
        (
            named(mapping(S::String, M::Mirror), "Sprint__c", "mirror"),
            vec![Value::Null, Value::text("Sprint 4")],
            vec![
                Value::Null,
                Value::text("Sprint 4"),
                Value::text("Sprint 5"),
            ],
        ),
        (
            named(mapping(S::Datetime, M::Date), "CloseDate__c", "date"),
            vec![Value::Null, dt(0), dt(30)],
            vec![
                Value::Null,
                Value::Date(tandem_core::jiff::civil::date(2023, 11, 14)),
                dt(5),
            ],
        ),
        (
            named(mapping(S::User, M::People), "OwnerId", "people"),
            vec![
                Value::Null,
                Value::Reference {
                    id: ANN_SF.into(),
                    name: None,
                },
                Value::Reference {
                    id: BOB_SF.into(),
                    name: None,
                },
            ],
            vec![
                Value::Null,
                Value::people(["ann.lee@example.com"]),
                Value::people(["bob.ng@example.com", "ann.lee@example.com"]),
            ],
        ),
        (
            named(mapping(S::Url, M::Link), "Website", "link"),
            vec![
                Value::Null,
                Value::Link {
                    url: "https://a.io".into(),
                    text: None,
                },
            ],
            vec![
                Value::Null,
                Value::Link {
                    url: "https://a.io".into(),
                    text: Some("A".into()),
                },
                Value::Link {
                    url: "https://b.io".into(),
                    text: Some("https://b.io".into()),
                },
            ],
        ),
        (
            named(
                mapping(S::Int, M::Numbers),
                "NumberOfEmployees",
                "employees",
            ),
            vec![Value::Null, n("12")],
            vec![Value::Null, n("12"), n("2.5")],
        ),
    ]
}

#[derive(Debug, Clone)]
struct MergeCase {
    directions: Vec<Direction>,
    shadow: Vec<(Option<usize>, Option<usize>)>,
    now: Vec<(Option<usize>, Option<usize>)>,
    times: Vec<(i64, i64)>,
    policy: ConflictPolicy,
}

fn merge_case() -> impl Strategy<Value = MergeCase> {
    let k = merge_fixture().len();
    let dir = select(vec![
        Direction::Both,
        Direction::SalesforceToMonday,
        Direction::MondayToSalesforce,
    ]);
    let idx = proptest::option::of(0usize..4);
    (
        proptest::collection::vec(dir, k),
        proptest::collection::vec((idx.clone(), idx.clone()), k),
        proptest::collection::vec((idx.clone(), idx), k),
        proptest::collection::vec((0i64..5, 0i64..5), k),
        select(vec![
            ConflictPolicy::NewestWins,
            ConflictPolicy::SalesforceWins,
            ConflictPolicy::MondayWins,
        ]),
    )
        .prop_map(|(directions, shadow, now, times, policy)| MergeCase {
            directions,
            shadow,
            now,
            times,
            policy,
        })
}

type Sides = (Vec<FieldMapping>, Shadow, SideState, SideState);

fn build(case: &MergeCase) -> Sides {
    let fixture = merge_fixture();
    let pick = |pool: &Vec<Value>, i: Option<usize>| i.map(|i| pool[i % pool.len()].clone());
    let mut mappings = Vec::new();
    let (mut shadow, mut sf, mut mo) = (
        Shadow::default(),
        SideState::default(),
        SideState::default(),
    );
    for (i, (mut m, sf_pool, mo_pool)) in fixture.into_iter().enumerate() {
        m.direction = case.directions[i];
        let (ss, sm) = case.shadow[i];
        let (ns, nm) = case.now[i];
        let (ts, tm) = case.times[i];
        if let Some(v) = pick(&sf_pool, ss) {
            shadow.salesforce.insert(m.salesforce.name.clone(), v);
        }
        if let Some(v) = pick(&mo_pool, sm) {
            shadow.monday.insert(m.monday.id.clone(), v);
        }
        if let Some(v) = pick(&sf_pool, ns) {
            sf.values.insert(m.salesforce.name.clone(), v);
        }
        if let Some(v) = pick(&mo_pool, nm) {
            mo.values.insert(m.monday.id.clone(), v);
        }
        sf.changed_at.insert(
            m.salesforce.name.clone(),
            Timestamp::from_second(1_700_000_000 + ts).unwrap(),
        );
        mo.changed_at.insert(
            m.monday.id.clone(),
            Timestamp::from_second(1_700_000_000 + tm).unwrap(),
        );
        mappings.push(m);
    }
    (mappings, shadow, sf, mo)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn merge_never_pushes_against_direction_or_towards_read_only(case in merge_case()) {
        let (mappings, shadow, sf, mo) = build(&case);
        let users = users();
        let plan = merge(&shadow, &sf, &mo, &mappings, case.policy, &ctx(&users));
        for (m, d) in mappings.iter().zip(&plan.fields) {
            let rule = m.rule().unwrap();
            match &d.action {
                Action::PushToMonday { .. } => {
                    prop_assert!(m.direction.to_monday() && rule.to_monday.allowed(), "{:?}", d);
                    prop_assert!(!m.monday.kind.is_read_only(), "{:?}", d);
                }
                Action::PushToSalesforce { .. } => {
                    prop_assert!(m.direction.to_salesforce() && rule.to_salesforce.allowed(), "{:?}", d);
                    prop_assert!(!m.salesforce.is_read_only(), "{:?}", d);
                }
                Action::NoOp | Action::Failed(_) => {}
            }
        }
    }

    #[test]
    fn merge_is_idempotent_once_its_result_is_applied(case in merge_case()) {
        let (mappings, shadow, mut sf, mut mo) = build(&case);
        let users = users();
        let ctx = ctx(&users);
        let plan = merge(&shadow, &sf, &mo, &mappings, case.policy, &ctx);
        sf.values.extend(plan.salesforce_updates());
        mo.values.extend(plan.monday_updates());
        let again = merge(&plan.next_shadow, &sf, &mo, &mappings, case.policy, &ctx);
        for (d1, d2) in plan.fields.iter().zip(&again.fields) {
            match (&d1.action, &d2.action) {
                (Action::Failed(e1), Action::Failed(e2)) => prop_assert_eq!(e1, e2),
                (_, a2) => prop_assert_eq!(a2, &Action::NoOp, "first {:?}", d1),
            }
        }
        prop_assert_eq!(&again.next_shadow, &plan.next_shadow);
    }
}

// ---- coalescing ---------------------------------------------------------------------

fn pending() -> impl Strategy<Value = PendingChange> {
    let value = prop_oneof![
        Just(Value::Null),
        "[a-c]{0,2}".prop_map(Value::text),
        (0i64..3).prop_map(|n| Value::Number(n.into())),
    ];
    proptest::collection::btree_map(select(vec!["A", "B", "C", "D"]), (value, 0i64..4), 0..4)
        .prop_map(|m| {
            let mut c = PendingChange::new();
            for (k, (v, t)) in m {
                c = c.coalesce(PendingChange::single(
                    k,
                    v,
                    Timestamp::from_second(1_700_000_000 + t).unwrap(),
                ));
            }
            c
        })
}

proptest! {
    #[test]
    fn coalescing_is_associative(a in pending(), b in pending(), c in pending()) {
        let left = a.clone().coalesce(b.clone()).coalesce(c.clone());
        let right = a.coalesce(b.coalesce(c));
        prop_assert_eq!(left, right);
    }

    #[test]
    fn coalescing_keeps_the_newest_value_of_each_field(a in pending(), b in pending()) {
        let merged = a.clone().coalesce(b.clone());
        for (k, ch) in &merged.fields {
            let newest = [a.fields.get(k), b.fields.get(k)].into_iter().flatten().map(|c| c.changed_at).max();
            prop_assert_eq!(Some(ch.changed_at), newest);
        }
    }
}

#[test]
fn the_round_trip_properties_cover_every_lossless_pair() {
    let lossless =
        pairs_where(|r| r.to_monday == Flow::Lossless && r.to_salesforce == Flow::Lossless);
    assert!(lossless.len() > 20, "{}", lossless.len());
    // every lossless pair is drawn by both round-trip strategies
    let sf = pairs_where(|r| r.to_monday == Flow::Lossless && r.to_salesforce.allowed());
    let mo = pairs_where(|r| r.to_salesforce == Flow::Lossless && r.to_monday.allowed());
    for p in &lossless {
        assert!(sf.contains(p) && mo.contains(p), "{p:?}");
    }
}
