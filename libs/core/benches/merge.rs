//! Merge throughput in fields per second: `cargo bench -p tandem-core --bench merge`.
//!
//! One record of 50 mapped fields (ten kinds of conversion, five times over) merged against
//! its shadow in three situations: nothing changed (the echo of our own write), half the
//! fields changed on one side or the other, and every field changed on both sides (all
//! conflicts, resolved by newest-wins).

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use tandem_core::jiff::{Timestamp, tz::TimeZone};
use tandem_core::merge::Record;
use tandem_core::{
    ConflictPolicy, ConvertContext, DateTime, Direction, FieldMapping, MondayColumn,
    MondayKind as M, PendingChange, SalesforceField, SalesforceKind as S, Shadow, SideState,
    UserMap, Value, matrix, merge,
};

fn main() {
    let c = matrix::pair_counts();
    println!(
        "compatibility matrix: {} pairs; {} Salesforce→monday ({} lossless), {} monday→Salesforce ({} lossless), {} both ways",
        c.total,
        c.to_monday,
        c.lossless_to_monday,
        c.to_salesforce,
        c.lossless_to_salesforce,
        c.both
    );
    divan::main();
}

const COPIES: usize = 5;

/// (Salesforce kind, monday kind, shadow/Salesforce value, shadow/monday value,
///  changed Salesforce value, changed monday value)
fn kinds() -> Vec<(S, M, Value, Value, Value, Value)> {
    let n = |s: &str| Value::Number(s.parse().unwrap());
    let dt = |h: i64| {
        Value::DateTime(DateTime::utc(
            Timestamp::from_second(1_780_000_000 + h * 3600).unwrap(),
        ))
    };
    let ann = || Value::Reference {
        id: "005A".into(),
        name: None,
    };
    vec![
        (
            S::String,
            M::Name,
            Value::text("Acme"),
            Value::text("Acme"),
            Value::text("Acme AG"),
            Value::text("ACME"),
        ),
        (
            S::Textarea,
            M::LongText,
            Value::text("notes"),
            Value::text("notes"),
            Value::text("new notes"),
            Value::text("more"),
        ),
        (
            S::Currency,
            M::Numbers,
            n("1000.50"),
            n("1000.5"),
            n("2000"),
            n("3000.25"),
        ),
        (
            S::Boolean,
            M::Checkbox,
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(true),
            Value::Bool(true),
        ),
        (
            S::Picklist,
            M::Status,
            Value::labels(["Prospect"]),
            Value::labels(["Prospect"]),
            Value::labels(["Customer"]),
            Value::labels(["Other, misc"]),
        ),
        (
            S::Multipicklist,
            M::Dropdown,
            Value::labels(["a", "b"]),
            Value::labels(["a", "b"]),
            Value::labels(["a"]),
            Value::labels(["b"]),
        ),
        (
            S::Datetime,
            M::Date,
            dt(0),
            Value::Date("2026-05-28".parse().unwrap()),
            dt(48),
            Value::Date("2026-06-30".parse().unwrap()),
        ),
        (
            S::User,
            M::People,
            ann(),
            Value::people(["ann@example.com"]),
            Value::Null,
            Value::people(["bob@example.com"]),
        ),
        (
            S::Phone,
            M::Text,
            Value::Phone {
                number: "+1 202 555 0169".into(),
                country: None,
            },
            Value::text("+1 202 555 0169"),
            Value::Phone {
                number: "+44 20 7946 0958".into(),
                country: None,
            },
            Value::text("555-0100"),
        ),
        (
            S::Double,
            M::Text,
            n("3.25"),
            Value::text("3.25"),
            n("4"),
            Value::text("5.5"),
        ),
    ]
}

struct Fixture {
    mappings: Vec<FieldMapping>,
    shadow: Shadow,
    sf: SideState,
    monday: SideState,
}

fn fixture(changed: &str) -> Fixture {
    let mut f = Fixture {
        mappings: Vec::new(),
        shadow: Shadow::default(),
        sf: SideState::new(
            Record::new(),
            Some(Timestamp::from_second(1_780_000_100).unwrap()),
        ),
        monday: SideState::new(
            Record::new(),
            Some(Timestamp::from_second(1_780_000_200).unwrap()),
        ),
    };
    let mut i = 0;
    for copy in 0..COPIES {
        for (s, m, ss, sm, cs, cm) in kinds() {
            let (sk, mk) = (
                format!("F{copy}_{}__c", s.name()),
                format!("c{copy}_{}", m.name()),
            );
            let mut col = MondayColumn::new(mk.clone(), m.clone());
            col.labels = ["Prospect", "Customer", "Other, misc", "a", "b"]
                .iter()
                .enumerate()
                .map(|(id, l)| tandem_core::ColumnLabel {
                    id: id as i64,
                    name: (*l).into(),
                })
                .collect();
            f.mappings.push(FieldMapping::new(
                SalesforceField::new(sk.clone(), s),
                col,
                Direction::Both,
            ));
            f.shadow.salesforce.insert(sk.clone(), ss.clone());
            f.shadow.monday.insert(mk.clone(), sm.clone());
            let (nsf, nmo) = match changed {
                "unchanged" => (ss, sm),
                "half_changed" if i % 4 == 0 => (cs, sm),
                "half_changed" if i % 4 == 1 => (ss, cm),
                "half_changed" => (ss, sm),
                _ => (cs, cm),
            };
            f.sf.values.insert(sk, nsf);
            f.monday.values.insert(mk, nmo);
            i += 1;
        }
    }
    f
}

fn users() -> UserMap {
    UserMap::new()
        .with_salesforce_user("005A", "ann@example.com")
        .with_salesforce_user("005B", "bob@example.com")
        .with_monday_user(1, "ann@example.com")
        .with_monday_user(2, "bob@example.com")
}

#[divan::bench(args = ["unchanged", "half_changed", "all_conflicts"])]
fn merge_record(bencher: Bencher, scenario: &str) {
    let f = fixture(scenario);
    let users = users();
    let ctx = ConvertContext::new(TimeZone::get("America/New_York").unwrap(), &users);
    // sanity: the scenario does what it says
    let plan = merge(
        &f.shadow,
        &f.sf,
        &f.monday,
        &f.mappings,
        ConflictPolicy::NewestWins,
        &ctx,
    );
    assert_eq!(plan.is_noop(), scenario == "unchanged");
    assert_eq!(plan.failures().count(), 0);
    bencher
        .counter(ItemsCount::new(f.mappings.len()))
        .bench_local(|| {
            merge(
                black_box(&f.shadow),
                black_box(&f.sf),
                black_box(&f.monday),
                black_box(&f.mappings),
                ConflictPolicy::NewestWins,
                &ctx,
            )
        });
}

#[divan::bench]
fn coalesce_fifty_edits(bencher: Bencher) {
    let edits: Vec<PendingChange> = (0..50)
        .map(|i| {
            PendingChange::single(
                format!("F{}", i % 7),
                Value::text(format!("v{i}")),
                Timestamp::from_second(1_780_000_000 + i).unwrap(),
            )
        })
        .collect();
    bencher
        .counter(ItemsCount::new(edits.len()))
        .bench_local(|| {
            black_box(&edits)
                .iter()
                .cloned()
                .fold(PendingChange::new(), PendingChange::coalesce)
        });
}
