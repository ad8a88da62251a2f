//! One sync cycle of one integration, as the steps of one change: detect, coalesce, pair,
//! adopt, filter + merge + convert (plan), write, record. Each step is its own module; this is
//! the recipe.

use crate::deps::Deps;
use crate::detect;
use crate::history::{Names, Outcome};
use crate::lease::Lease;
use crate::run::CycleError;
use crate::settings::Settings;
use crate::{adopt, commit, keyed, pairs, people, plan, sweep, write};

pub async fn cycle(
    deps: &Deps,
    lease: &Lease,
    settings: &mut Settings,
    outcome: &mut Outcome,
) -> Result<(), CycleError> {
    let link_key = settings.link_key(None);
    let (fields, columns) = settings.fields_to_read(link_key.as_ref());
    let read = (fields.as_slice(), columns.as_slice());

    // 1–2. Detect and coalesce: poll both sides, buffer with what webhooks brought, claim
    // (with the records that failed before and are due for another attempt).
    let polled = detect::poll(deps, settings, read, outcome).await?;
    detect::submit(deps, settings, &polled).await?;
    let claimed = detect::claim(deps, settings).await?;

    // 3. Pair every claimed record with its link and the latest values of both sides;
    // records never linked that share the link key are paired, not duplicated; creates an
    // earlier run lost are adopted, not made again; owners only Salesforce knows are read;
    // now and then, linked monday items are checked for deletions the polls cannot see.
    let (sf_links, mo_links) = pairs::links_of_claimed(deps, settings, &claimed.records).await?;
    let mut pairs = pairs::pair_claimed(&claimed.records, &sf_links, &mo_links);
    pairs::mark_retries(&mut pairs, &claimed.retries);
    pairs::read_latest(
        deps,
        settings,
        &mut pairs,
        &polled,
        &claimed.records,
        read,
        outcome,
    )
    .await?;
    let swept = sweep::deleted_partners(deps, settings, &mut pairs, outcome).await?;
    keyed::find_partners(deps, settings, &mut pairs, link_key.as_ref(), read, outcome).await?;
    pairs::relink_by_key(&mut pairs, link_key.as_ref());
    let adopted = adopt::adopt_lost_creates(deps, settings, &mut pairs, Some(&polled)).await?;
    outcome.notes(adopted);
    people::learn_unknown_users(deps, settings, &pairs, outcome).await?;

    // 4–6. Filter, merge and convert every pair into writes.
    let mut planned = {
        let ctx = settings.convert_context()?;
        plan::plan(
            settings.id(),
            &settings.rules,
            &pairs,
            &settings.users,
            &ctx,
        )
    };
    outcome.notes(std::mem::take(&mut planned.notes));

    // 7. Write: intents first, then batches through the connectors.
    write::record_before_sending(deps, lease, &planned).await?;
    let done = write::send(deps, lease, settings, &planned, outcome).await?;

    // 8. Record links, shadows and watermarks under the fence; then forget the claim.
    let mut tx = commit::record(deps, lease, &pairs, &planned, &done, outcome).await?;
    outcome.name_records(&Names::of(&pairs, settings.name_field.as_deref()));
    outcome.kind_errors(&settings.rules);
    commit::record_failing(&mut tx, settings.integration.version, &pairs, outcome).await?;
    commit::set_watermarks(&mut tx, &polled).await?;
    deps.metrics
        .budget("salesforce", polled.salesforce.api_usage.as_ref());
    deps.metrics
        .budget("monday", polled.monday.complexity.as_ref());
    tx.note_usage(
        polled.salesforce.api_usage.as_ref(),
        polled.monday.complexity.as_ref(),
    )
    .await?;
    if swept {
        tx.set_swept().await?;
    }
    tx.commit().await?;
    let records: Vec<_> = claimed.records.into_iter().map(|p| p.record).collect();
    deps.buffer.complete(settings.id(), &records).await?;
    Ok(())
}
