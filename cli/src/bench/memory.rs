//! Scenario 6, memory: resident set size with L linked pairs, at rest and at its peak during
//! a cycle that touches 1% of them. The services share the process with both simulators,
//! which hold every record in memory: the figure that matters is the growth during the cycle
//! (peak minus rest), which is what the cycle itself allocates.

use crate::bench::efficiency::Linked;
use crate::bench::measure::Ctx;
use crate::bench::procstat::{self, mib};
use crate::bench::report::{Row, thousands};

const S: &str = "6 memory";
/// The growth the issue allows per 100,000 links.
const BUDGET_MB_PER_100K: f64 = 64.0;

pub async fn run(ctx: &Ctx, links: usize) -> anyhow::Result<Vec<Row>> {
    let before = procstat::rss().unwrap_or_default();
    let params = format!("{} links", thousands(links as u64));
    let mut linked = Linked::start(ctx, links).await?;
    let mut rows = Vec::new();
    let rest = procstat::rss().unwrap_or_default();
    rows.push(
        Row::new(S, &params, "process RSS at rest (services + simulators holding the records)")
            .value(mib(rest), format!("{:.0} MiB ({:.0} MiB before the stack started)", mib(rest), mib(before)))
            .note("report"),
    );
    let changed = (links / 100).max(1);
    linked.edit_salesforce(changed)?;
    let peak_resettable = procstat::reset_peak();
    let start = procstat::rss().unwrap_or_default();
    let cycle = linked.cycle(ctx, changed).await;
    let peak = procstat::peak_rss().unwrap_or_default();
    let cycle_params = format!("{params}, a cycle with {} changed", thousands(changed as u64));
    match cycle {
        Ok(_) if peak_resettable => {
            let growth = mib(peak.saturating_sub(start));
            let allowed = BUDGET_MB_PER_100K * links as f64 / 100_000.0;
            rows.push(
                Row::new(S, &cycle_params, "RSS growth during the cycle (peak − rest)")
                    .value(growth, format!("{growth:.1} MiB (peak {:.0} MiB)", mib(peak)))
                    .goal(format!("< {allowed:.1} MiB (64 MB per 100,000 links)"), growth < allowed),
            );
        }
        Ok(_) => rows.push(
            Row::new(S, &cycle_params, "peak RSS")
                .value(mib(peak), format!("{:.0} MiB (lifetime peak: the kernel refused to reset it)", mib(peak))),
        ),
        Err(e) => rows.push(Row::failed(S, cycle_params, &e)),
    }
    linked.stop().await?;
    Ok(rows)
}
