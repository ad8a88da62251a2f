//! Scenario 7, daily API budget: the calls one board polled every few minutes costs a day on
//! each side, projected from measured cycles (an empty one, and one with changes on both
//! sides), against monday's plan limits and Salesforce's daily allocations; and the warning
//! Tandem gives when a plan's limit would be exceeded.

use tandem_proto::v1 as pb;

use crate::bench::efficiency::Linked;
use crate::bench::measure::{Ctx, measure};
use crate::bench::report::{Row, thousands};

const S: &str = "7 daily API budget";

/// monday's daily call limits per plan (resetting at midnight UTC).
const MONDAY_PLANS: [(&str, u64); 4] = [
    ("Free/Trial", 200),
    ("Basic/Standard", 1_000),
    ("Pro", 10_000),
    ("Enterprise", 25_000),
];
/// Salesforce daily API allocations: Developer Edition, and Enterprise Edition's base.
const SALESFORCE_ALLOCATIONS: [(&str, u64); 2] = [
    ("Developer Edition", 15_000),
    ("Enterprise Edition base", 100_000),
];

pub struct Params {
    pub poll_minutes: u32,
    pub changes_per_day: u64,
}

/// The warning the bench prints for a projection, one line per limit exceeded.
pub fn warnings(monday_per_day: f64, salesforce_per_day: f64, poll_minutes: u32) -> Vec<String> {
    let mut out = Vec::new();
    for (plan, limit) in MONDAY_PLANS {
        if monday_per_day > limit as f64 {
            out.push(format!(
                "warning: polling this board every {poll_minutes} min needs ≈{} monday calls a day, over the {plan} plan's {} a day; poll less often or rely on webhooks",
                thousands(monday_per_day.round() as u64),
                thousands(limit)
            ));
        }
    }
    for (edition, limit) in SALESFORCE_ALLOCATIONS {
        if salesforce_per_day > limit as f64 {
            out.push(format!(
                "warning: ≈{} Salesforce calls a day exceed a {edition} org's {} daily allocation",
                thousands(salesforce_per_day.round() as u64),
                thousands(limit)
            ));
        }
    }
    out
}

/// Measures an empty cycle and a cycle carrying one cycle's share of the day's changes (half
/// edited in Salesforce, half on monday), and projects both over a day of cycles: the day's
/// changes are assumed spread evenly, every cycle carrying some (the costliest spread).
pub async fn run(ctx: &Ctx, p: &Params) -> anyhow::Result<Vec<Row>> {
    let cycles = 24.0 * 60.0 / f64::from(p.poll_minutes.max(1));
    let per_cycle = ((p.changes_per_day as f64 / cycles).ceil() as usize).max(1);
    let (in_salesforce, on_monday) = (per_cycle.div_ceil(2), per_cycle / 2);
    let mut linked = Linked::start(ctx, per_cycle).await?;
    // What Tandem tells a user setting this integration up on a Free plan (200 calls a day).
    linked
        .stack
        .monday
        .set_account_tier(linked.stack.monday_account, "free");
    let mut spec = linked.integration.spec.clone().unwrap_or_default();
    spec.poll_interval_seconds = p.poll_minutes * 60;
    let validated = linked
        .stack
        .config
        .clone()
        .validate_integration(
            linked
                .stack
                .authorized(pb::ValidateIntegrationRequest { spec: Some(spec) }),
        )
        .await?
        .into_inner();
    let (_, empty) = measure(ctx, &linked.stack, async || {
        linked.stack.sync(&linked.integration).await
    })
    .await?;
    linked.edit_salesforce(in_salesforce)?;
    linked.edit_monday_at(in_salesforce..per_cycle)?;
    let (_, busy) = linked.cycle(ctx, per_cycle).await?;
    linked.stop().await?;

    let quiet = |calls: usize| cycles * calls as f64;
    let params = format!(
        "1 board polled every {} min ({cycles:.0} cycles/day), {} changes/day ({per_cycle} a cycle: {in_salesforce} in Salesforce, {on_monday} on monday)",
        p.poll_minutes,
        thousands(p.changes_per_day)
    );
    let mut rows = vec![
        Row::new(
            S,
            &params,
            "measured: calls of an empty cycle (Salesforce / monday)",
        )
        .text(format!(
            "{} / {} ({}; {})",
            empty.calls.salesforce(),
            empty.calls.monday(),
            empty.detail.0,
            empty.detail.1
        )),
        Row::new(
            S,
            &params,
            "measured: calls of a cycle with its share of changes (Salesforce / monday)",
        )
        .text(format!(
            "{} / {} ({}; {})",
            busy.calls.salesforce(),
            busy.calls.monday(),
            busy.detail.0,
            busy.detail.1
        )),
    ];
    let monday_quiet = quiet(empty.calls.monday());
    let monday_day = quiet(busy.calls.monday());
    let salesforce_quiet = quiet(empty.calls.salesforce());
    let salesforce_day = quiet(busy.calls.salesforce());
    let fits = |per_day: f64| {
        let plans: Vec<&str> = MONDAY_PLANS
            .iter()
            .filter(|(_, l)| per_day <= *l as f64)
            .map(|(p, _)| *p)
            .collect();
        if plans.is_empty() {
            "fits no plan".to_owned()
        } else {
            format!("fits: {}", plans.join(", "))
        }
    };
    rows.push(
        Row::new(
            S,
            &params,
            "projected monday calls per day (quiet day / with the changes)",
        )
        .value(
            monday_day,
            format!(
                "{} / {}",
                thousands(monday_quiet.round() as u64),
                thousands(monday_day.round() as u64)
            ),
        )
        .note(fits(monday_day)),
    );
    rows.push(
        Row::new(
            S,
            &params,
            "projected Salesforce calls per day (quiet day / with the changes)",
        )
        .value(
            salesforce_day,
            format!(
                "{} / {}",
                thousands(salesforce_quiet.round() as u64),
                thousands(salesforce_day.round() as u64)
            ),
        )
        .note(format!(
            "{:.1}% of a Developer org's 15,000, {:.1}% of an Enterprise org's base 100,000",
            salesforce_day * 100.0 / 15_000.0,
            salesforce_day * 100.0 / 100_000.0
        )),
    );
    let warned = warnings(monday_day, salesforce_day, p.poll_minutes);
    rows.push(
        Row::new(S, &params, "warning the bench prints for this projection").text(
            if warned.is_empty() {
                "none: every plan fits".to_owned()
            } else {
                warned.join(" / ")
            },
        ),
    );
    let product: Vec<String> = validated
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.field, w.message))
        .collect();
    rows.push(
        Row::new(
            S,
            &params,
            "warning Tandem gives (ValidateIntegration, account on a Free plan)",
        )
        .text(if product.is_empty() {
            "none".to_owned()
        } else {
            product.join(" / ")
        })
        .goal(
            "a warning when a plan's limit would be exceeded",
            !product.is_empty(),
        ),
    );
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_every_three_minutes_warns_for_the_small_monday_plans_only() {
        let w = warnings(480.0, 480.0, 3);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("Free/Trial") && w[0].contains("480"), "{w:?}");
        assert!(warnings(100.0, 100.0, 3).is_empty());
        assert_eq!(warnings(1_500.0, 20_000.0, 3).len(), 3);
    }
}
