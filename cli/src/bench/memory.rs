//! Scenario 6, memory: resident set size of the services with L linked pairs, at rest and at
//! its peak during a cycle that touches 1% of them. The five services run in a `tandem up`
//! child process here, so that their memory is not mixed with the simulators' (which hold
//! every record, in this process).
//!
//! The links are not made by an import: an import reads every record of both sides in one
//! gRPC answer, which at this size exceeds tonic's 4 MiB message limit (scenario 4 reports
//! it). One pair is linked by an import; the others are seeded with the same values and
//! linked by rows written straight into `sync.links` with that pair's shadow, which is what
//! the import would have written.

use anyhow::Context as _;
use serde_json::json;
use sqlx::Connection as _;

use crate::bench::efficiency::Linked;
use crate::bench::harness::{self, ORG, Stack, StackOptions};
use crate::bench::measure::Ctx;
use crate::bench::procstat::{self, Of, mib};
use crate::bench::report::{Row, thousands};

const S: &str = "6 memory";
/// The growth the issue allows per 100,000 links.
const BUDGET_MB_PER_100K: f64 = 64.0;

pub async fn run(ctx: &Ctx, links: usize) -> anyhow::Result<Vec<Row>> {
    let params = format!("{} links", thousands(links as u64));
    let mut linked = linked(ctx, links).await?;
    let of = Of::Pid(
        linked
            .stack
            .services_pid()
            .context("the services' process")?,
    );
    let mut rows = Vec::new();
    let rest = procstat::rss_of(of).unwrap_or_default();
    rows.push(
        Row::new(S, &params, "services' RSS at rest (all five, one process)")
            .value(
                mib(rest),
                format!(
                    "{:.0} MiB (the simulators' process holding the records: {:.0} MiB)",
                    mib(rest),
                    mib(procstat::rss().unwrap_or_default())
                ),
            )
            .note("report"),
    );
    let changed = (links / 100).max(1);
    linked.edit_salesforce(changed)?;
    let peak_resettable = procstat::reset_peak_of(of);
    let start = procstat::rss_of(of).unwrap_or_default();
    let pid = linked.stack.services_pid().unwrap_or_default();
    let cpu_before = procstat::cpu_time_of(pid).unwrap_or_default();
    let cycle = linked.cycle(ctx, changed).await;
    // The measured cycle and the one reading back its echoes.
    let cpu = procstat::cpu_time_of(pid)
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    let peak = procstat::peak_rss_of(of).unwrap_or_default();
    let cycle_params = format!(
        "{params}, a cycle with {} changed",
        thousands(changed as u64)
    );
    match cycle {
        Ok((_, m)) if peak_resettable => {
            rows.push(Row::new(S, &cycle_params, "cycle time").value(
                m.wall.as_secs_f64(),
                format!("{:.2} s", m.wall.as_secs_f64()),
            ));
            let per = cpu.as_secs_f64() * 1e6 / changed as f64;
            rows.push(
                Row::new(S, &cycle_params, "services' CPU per changed record (simulators excluded; the cycle and its echo read)")
                    .value(per, format!("{per:.0} µs")),
            );
            let growth = mib(peak.saturating_sub(start));
            let allowed = BUDGET_MB_PER_100K * links as f64 / 100_000.0;
            rows.push(
                Row::new(
                    S,
                    &cycle_params,
                    "services' RSS growth during the cycle (peak − rest)",
                )
                .value(
                    growth,
                    format!("{growth:.1} MiB (peak {:.0} MiB)", mib(peak)),
                )
                .goal(
                    format!("< {allowed:.1} MiB (64 MB per 100,000 links)"),
                    growth < allowed,
                ),
            );
        }
        Ok(_) => rows.push(Row::new(S, &cycle_params, "peak RSS").value(
            mib(peak),
            format!(
                "{:.0} MiB (lifetime peak: the kernel refused to reset it)",
                mib(peak)
            ),
        )),
        Err(e) => rows.push(Row::failed(S, cycle_params, &e)),
    }
    linked.stop().await?;
    Ok(rows)
}

/// `links` pairs with equal values on both sides, linked, and a cycle run since.
async fn linked(ctx: &Ctx, links: usize) -> anyhow::Result<Linked> {
    let stack = Stack::start(
        &ctx.infra,
        StackOptions {
            services_apart: true,
            ..StackOptions::default()
        },
    )
    .await?;
    let integration = stack.integration(|_| {}).await?;
    let (mut opportunities, mut items) = harness::linked_pairs(&stack, &integration, 1).await?;
    stack.sync(&integration).await?;
    let mut db = sqlx::PgConnection::connect(stack.database_url()).await?;
    let (shadow, epoch, linked_id): (sqlx::types::Json<serde_json::Value>, i64, String) =
        sqlx::query_as(
            "SELECT shadow, lease_epoch, salesforce_id FROM sync.links WHERE integration_id = $1",
        )
        .bind(&integration.id)
        .fetch_one(&mut db)
        .await
        .context("the first pair's link")?;
    if linked_id != opportunities[0] {
        anyhow::bail!(
            "links hold Salesforce ids as {linked_id}, the simulator gave {}",
            opportunities[0]
        );
    }
    let rest = links.saturating_sub(1);
    let first = stack
        .salesforce
        .record(ORG, &opportunities[0])
        .context("the first Opportunity")?;
    let same = json!({"Name": first["Name"], "StageName": first["StageName"], "CloseDate": first["CloseDate"]});
    let more = stack
        .salesforce
        .insert_many(ORG, "Opportunity", vec![same; rest])
        .map_err(|e| anyhow::anyhow!("seeding opportunities: {e}"))?;
    let item = stack.monday.item(items[0]).context("the first item")?;
    for id in &more {
        let mut values =
            json!({"status": {"label": harness::stage(0).0}, "date4": {"date": harness::date(0)}});
        values["sfid"] = json!(id);
        let created = stack
            .monday
            .create_item(stack.board, None, &item.name, values)
            .map_err(|e| anyhow::anyhow!("seeding items: {e}"))?;
        items.push(created);
    }
    let monday_ids: Vec<String> = items[1..].iter().map(i64::to_string).collect();
    for (sf, mo) in more.chunks(10_000).zip(monday_ids.chunks(10_000)) {
        sqlx::query(
            "INSERT INTO sync.links (integration_id, salesforce_id, monday_item_id, shadow, lease_epoch)
             SELECT $1, s, m, $4, $5 FROM UNNEST($2::text[], $3::text[]) AS t(s, m)",
        )
        .bind(&integration.id)
        .bind(sf)
        .bind(mo)
        .bind(&shadow)
        .bind(epoch)
        .execute(&mut db)
        .await
        .context("writing links")?;
    }
    db.close().await?;
    opportunities.extend(more);
    let linked = Linked::from_parts(stack, integration, opportunities, items);
    // Seeded before the last cycle's watermark: the next cycle sees only what is edited next.
    linked.age()?;
    let status = linked.stack.status(&linked.integration).await?;
    if status.linked_records != links as u64 {
        anyhow::bail!("{} links, not {links}", status.linked_records);
    }
    Ok(linked)
}
