//! An import (backfill): every record of the source side that matches the conditions crosses,
//! re-linking pairs that share the link key instead of duplicating them; the source side wins
//! where both hold values. It goes a page at a time and resumes where it stopped. With a dry
//! run nothing is written anywhere and the run's events say what would have happened.

use std::collections::HashMap;

use tandem_catalog::Rules;
use tandem_core::ConflictPolicy;
use tandem_core::merge::Side as CoreSide;
use tandem_proto::v1 as pb;

use crate::deps::Deps;
use crate::detect::{self, Polled};
use crate::history::{self, Names, Outcome};
use crate::lease::Lease;
use crate::pairs::{self, Pair};
use crate::plan::{self, Planned};
use crate::run::CycleError;
use crate::settings::{LinkKey, Settings};
use crate::store::Side;
use crate::write::{self, Via};
use crate::{adopt, commit, people};

/// What an import was asked to do.
#[derive(Debug, Clone)]
pub struct Import {
    pub source: CoreSide,
    pub dry_run: bool,
    /// Overrides the integration's link key.
    pub link_key: Option<LinkKey>,
}

/// The import, a page of the source at a time (`Deps::import_page` records): each page is
/// paired, planned, written and committed — links, failing records and where the next page
/// starts, under the lease fence — and its events go to run history; the next page is read
/// meanwhile. Memory holds two pages, plus, when a link key pairs records, the other side's
/// unlinked records by key (read once). An import that stopped resumes at the page after the
/// last one it committed; the records it linked are skipped as "already linked" wherever it
/// starts, so nothing is created twice.
pub async fn import(
    deps: &Deps,
    lease: &Lease,
    settings: &mut Settings,
    request: Import,
    run_id: &str,
    outcome: &mut Outcome,
) -> Result<(), CycleError> {
    let Import {
        source,
        dry_run,
        link_key,
    } = request;
    let link_key = settings.link_key(link_key);
    let (fields, columns) = settings.fields_to_read(link_key.as_ref());
    let read = (fields.as_slice(), columns.as_slice());
    let mut rules = settings.rules.clone();
    rules.policy = match source {
        CoreSide::Salesforce => ConflictPolicy::SalesforceWins,
        CoreSide::Monday => ConflictPolicy::MondayWins,
    };
    let mut targets = match &link_key {
        Some(key) => Some(Targets::read(deps, settings, source, key, read, outcome).await?),
        None => None,
    };
    // Creates an earlier attempt made and lost the answer to are among the target's changes
    // since its watermark; they are adopted, not made again.
    let candidates = if deps.store.open_intents(settings.id()).await?.is_empty() {
        None
    } else {
        Some(detect::poll(deps, settings, read, &mut Outcome::default()).await?)
    };
    let (token, resumed_total) = match deps.store.import_progress(settings.id()).await? {
        Some(p) if !dry_run && p.source == Side::from(source) as i16 => {
            tracing::info!(integration_id = %settings.id(), pages = p.pages, records = p.records, "resuming an import after its last committed page");
            (Some(p.page_token), p.total as u64)
        }
        _ => (None, 0),
    };
    // Page k is written while page k + 1 is read: at most two pages in memory.
    let spec = settings.spec.clone();
    let mut size = deps.import_page;
    let resuming_bulk_query = token.as_deref().is_some_and(is_bulk_query);
    if resuming_bulk_query {
        size = size.max(BULK_PAGE);
    }
    let mut current = read_from(deps, &spec, source, token, size, read, outcome).await?;
    let total = current.total.max(resumed_total);
    // Many records into Salesforce go as Bulk API 2.0 jobs, a larger page each; many records
    // of Salesforce are read as one Bulk API 2.0 query, in pages as large (the REST page that
    // told the total is read again as the query's first).
    let (write_threshold, query_threshold) = bulk_thresholds(deps).await?;
    let via = if source == CoreSide::Monday && !dry_run && total >= write_threshold {
        size = size.max(BULK_PAGE);
        Via::Bulk
    } else {
        Via::Collections
    };
    if source == CoreSide::Salesforce && total >= query_threshold && !resuming_bulk_query {
        size = size.max(BULK_PAGE);
        let start = Some(BULK_QUERY.to_owned());
        current = read_from(deps, &spec, source, start, size, read, outcome).await?;
    }
    let page = Page {
        source,
        dry_run,
        link_key: link_key.as_ref(),
        rules: &rules,
        candidates: candidates.as_ref(),
        via,
    };
    loop {
        let next = current.next.clone();
        let mut ahead = Outcome::default();
        let prefetch = async {
            match next {
                Some(token) => {
                    Some(read_from(deps, &spec, source, Some(token), size, read, &mut ahead).await)
                }
                None => None,
            }
        };
        let run = page.run(deps, lease, settings, targets.as_mut(), current, outcome);
        let (ran, fetched) = tokio::join!(run, prefetch);
        ran?;
        add_reads(outcome, &ahead);
        let events = std::mem::take(&mut outcome.events);
        deps.metrics.outcomes(&pb::RunCounters::default(), &events);
        history::append(deps, run_id, &events).await?;
        current = match fetched {
            None => return Ok(()),
            Some(page) => page?,
        };
    }
}

/// The page after `token` (the first without one); the first page again when the remote says
/// the token expired (a resumed import, or a cursor that outlived its lifetime mid-import):
/// records already linked are passed over, so reading again duplicates nothing.
async fn read_from(
    deps: &Deps,
    spec: &pb::IntegrationSpec,
    source: CoreSide,
    token: Option<String>,
    size: u32,
    read: (&[String], &[String]),
    outcome: &mut Outcome,
) -> Result<SourcePage, CycleError> {
    match read_page(deps, spec, source, token.as_deref(), size, read, outcome).await {
        Err(CycleError::Remote(status))
            if token.as_deref().is_some_and(|t| expired(&status, t)) =>
        {
            tracing::info!("the import's page token expired; starting again from the first page");
            // A Bulk query's results are gone: a new query reads everything again.
            let again = token
                .as_deref()
                .filter(|t| is_bulk_query(t))
                .map(|_| BULK_QUERY);
            read_page(deps, spec, source, again, size, read, outcome).await
        }
        other => other,
    }
}

/// Counts what a read made on the side into `outcome`.
fn add_reads(outcome: &mut Outcome, other: &Outcome) {
    outcome.counters.read += other.counters.read;
    outcome.counters.salesforce_api_calls += other.counters.salesforce_api_calls;
    outcome.counters.monday_api_calls += other.counters.monday_api_calls;
}

/// Source records per page once an import goes through Bulk API 2.0: one ingest job each.
/// 5,000 rather than 10,000: the services' peak RSS during a 100,000-record import fell from
/// 310–368 MiB to ~210 MiB, and the import went faster (89% of the read ceiling, from 80–87%),
/// since a smaller job's results come back while the next page is still being read
/// (`tandem bench --scenario throughput`, docs/performance.md).
pub const BULK_PAGE: u32 = 5_000;

/// From how many records an import into Salesforce goes through Bulk API 2.0
/// (connector-salesforce's setting).
async fn bulk_thresholds(deps: &Deps) -> Result<(u64, u64), CycleError> {
    let settings = deps
        .peers
        .salesforce
        .clone()
        .get_bulk_settings(pb::GetBulkSettingsRequest {})
        .await?
        .into_inner();
    Ok((
        u64::from(settings.write_threshold.max(1)),
        u64::from(settings.query_threshold.max(1)),
    ))
}

/// The page token of a Bulk API 2.0 query of Salesforce: `bulk:` starts one,
/// `bulk:<job id>:<locator>` reads its next page (resumable while Salesforce keeps the job's
/// results).
const BULK_QUERY: &str = "bulk:";

fn is_bulk_query(token: &str) -> bool {
    token.starts_with(BULK_QUERY)
}

/// A page token the remote no longer knows (a monday cursor lives 60 minutes; a Bulk query
/// job's results are deleted after some days).
fn expired(status: &tonic::Status, token: &str) -> bool {
    let code = status.code();
    (code == tonic::Code::FailedPrecondition && status.message().contains("page_token"))
        || (is_bulk_query(token)
            && matches!(
                code,
                tonic::Code::NotFound | tonic::Code::FailedPrecondition
            ))
}

/// One page of the source: its records, and where the next page starts (none after the last).
async fn read_page(
    deps: &Deps,
    spec: &pb::IntegrationSpec,
    source: CoreSide,
    token: Option<&str>,
    size: u32,
    (fields, columns): (&[String], &[String]),
    outcome: &mut Outcome,
) -> Result<SourcePage, CycleError> {
    let (records, next, total) = match source {
        CoreSide::Salesforce if token.is_some_and(is_bulk_query) => {
            let rest = &token.unwrap_or_default()[BULK_QUERY.len()..];
            let (job_id, locator) = rest.split_once(':').unwrap_or_default();
            let page = deps
                .peers
                .salesforce
                .clone()
                .bulk_query(pb::BulkQueryRequest {
                    connection_id: spec.salesforce_connection_id.clone(),
                    object: spec.salesforce_object.clone(),
                    fields: fields.to_vec(),
                    page_size: size,
                    job_id: job_id.to_owned(),
                    locator: locator.to_owned(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            outcome.counters.salesforce_api_calls += u64::from(page.api_calls);
            let next = if page.locator.is_empty() {
                String::new()
            } else {
                format!("{BULK_QUERY}{}:{}", page.job_id, page.locator)
            };
            (page.records, next, 0)
        }
        CoreSide::Salesforce => {
            let page = deps
                .peers
                .salesforce
                .clone()
                .poll_changes(pb::SalesforcePollRequest {
                    connection_id: spec.salesforce_connection_id.clone(),
                    object: spec.salesforce_object.clone(),
                    fields: fields.to_vec(),
                    max_records: size,
                    pages: true,
                    page_token: token.unwrap_or_default().to_owned(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            outcome.counters.salesforce_api_calls += u64::from(page.api_calls);
            (page.records, page.next_page_token, page.total)
        }
        CoreSide::Monday => {
            let page = deps
                .peers
                .monday
                .clone()
                .poll_changes(pb::MondayPollRequest {
                    connection_id: spec.monday_connection_id.clone(),
                    board_id: spec.board_id.clone(),
                    columns: columns.to_vec(),
                    max_items: size,
                    pages: true,
                    page_token: token.unwrap_or_default().to_owned(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            outcome.counters.monday_api_calls += u64::from(page.api_calls);
            (page.items, page.next_page_token, page.total)
        }
    };
    outcome.counters.read += records.len() as u64;
    Ok(SourcePage {
        records,
        next: Some(next).filter(|n| !n.is_empty()),
        total,
    })
}

/// One page read of a side.
struct SourcePage {
    records: Vec<pb::Record>,
    /// Where the next page starts; `None` after the last.
    next: Option<String>,
    /// On the first page: how many records the side holds (0 when unknown).
    total: u64,
}

/// What every page of one import shares.
struct Page<'a> {
    source: CoreSide,
    dry_run: bool,
    link_key: Option<&'a LinkKey>,
    rules: &'a Rules,
    candidates: Option<&'a Polled>,
    via: Via,
}

impl Page<'_> {
    /// Pairs, plans, writes and commits one page of source records (a dry run only reports).
    async fn run(
        &self,
        deps: &Deps,
        lease: &Lease,
        settings: &mut Settings,
        targets: Option<&mut Targets>,
        page: SourcePage,
        outcome: &mut Outcome,
    ) -> Result<(), CycleError> {
        let SourcePage {
            records,
            next,
            total,
        } = page;
        let source = self.source;
        let count = records.len() as i64;
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let linked = deps
            .store
            .linked_ids(settings.id(), source.into(), &ids)
            .await?;
        let mut pairs = Vec::new();
        let mut targets = targets;
        for record in records.into_iter().filter(|r| !r.deleted) {
            if linked.contains(&record.id) {
                outcome.event(
                    source,
                    &record.id,
                    "",
                    pb::EventAction::Skipped,
                    "already linked".to_owned(),
                );
                continue;
            }
            if let (Some(targets), Some(key)) = (targets.as_deref_mut(), self.link_key)
                && let Some(partner) = targets.take(source, &record, key)
            {
                pairs.push(Pair::unlinked(pairs::other(source), partner));
            }
            pairs.push(Pair::unlinked(source, record));
        }
        pairs::relink_by_key(&mut pairs, self.link_key);
        let adopted =
            adopt::adopt_lost_creates(deps, settings, &mut pairs, self.candidates).await?;
        outcome.notes(adopted);
        people::learn_unknown_users(deps, settings, &pairs, outcome).await?;
        // One direction: target records nobody paired stay where they are.
        pairs.retain(|p| p.relink || p.id_on(source).is_some());
        let mut planned = {
            let ctx = settings.convert_context()?;
            plan::plan(settings.id(), self.rules, &pairs, &settings.users, &ctx)
        };
        outcome.notes(std::mem::take(&mut planned.notes));
        if self.dry_run {
            report_dry_run(&pairs, &planned, outcome);
            outcome.name_records(&Names::of(&pairs, settings.name_field.as_deref()));
            outcome.kind_errors(&settings.rules);
            return Ok(());
        }
        write::record_before_sending(deps, lease, &planned).await?;
        let done = write::send_via(deps, lease, settings, &planned, self.via, outcome).await?;
        let mut tx = commit::record(deps, lease, &pairs, &planned, &done, outcome).await?;
        outcome.name_records(&Names::of(&pairs, settings.name_field.as_deref()));
        outcome.kind_errors(&settings.rules);
        commit::record_failing(&mut tx, settings.integration.version, &pairs, outcome).await?;
        tx.set_import_progress(source.into(), next.as_deref(), count, total as i64)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The other side's records no link holds, by link-key value, read once for a keyed import:
/// each source record takes the first one holding its key.
struct Targets(HashMap<String, pb::Record>);

impl Targets {
    async fn read(
        deps: &Deps,
        settings: &Settings,
        source: CoreSide,
        key: &LinkKey,
        read: (&[String], &[String]),
        outcome: &mut Outcome,
    ) -> Result<Targets, CycleError> {
        let side = pairs::other(source);
        let mut by_key = HashMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut scratch = Outcome::default();
            let SourcePage { records, next, .. } = read_page(
                deps,
                &settings.spec,
                side,
                token.as_deref(),
                deps.import_page.max(BULK_PAGE),
                read,
                &mut scratch,
            )
            .await?;
            // The other side's records are not the import's reads; its calls are.
            scratch.counters.read = 0;
            add_reads(outcome, &scratch);
            let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
            let linked = deps
                .store
                .linked_ids(settings.id(), side.into(), &ids)
                .await?;
            for record in records
                .into_iter()
                .filter(|r| !r.deleted && !linked.contains(&r.id))
            {
                if let Some(k) = pairs::record_key(side, &record, key) {
                    by_key.entry(k).or_insert(record);
                }
            }
            match next {
                Some(next) => token = Some(next),
                None => return Ok(Targets(by_key)),
            }
        }
    }

    /// The unlinked record of the other side holding `record`'s key, taken out.
    fn take(&mut self, source: CoreSide, record: &pb::Record, key: &LinkKey) -> Option<pb::Record> {
        let k = pairs::record_key(source, record, key)?;
        self.0.remove(&k)
    }
}

/// The events of what a dry run would have written.
fn report_dry_run(pairs: &[Pair], planned: &Planned, outcome: &mut Outcome) {
    for w in &planned.salesforce {
        let source = pairs[w.pair].monday_id.as_deref().unwrap_or_default();
        outcome.dry_run(
            CoreSide::Monday,
            source,
            &w.write.id,
            "in Salesforce",
            &w.changes,
        );
    }
    for w in &planned.monday {
        let source = pairs[w.pair].salesforce_id.as_deref().unwrap_or_default();
        outcome.dry_run(
            CoreSide::Salesforce,
            source,
            &w.write.id,
            "on monday",
            &w.changes,
        );
    }
    for (index, _) in &planned.relinks {
        let pair = &pairs[*index];
        outcome.event(
            CoreSide::Salesforce,
            pair.salesforce_id.as_deref().unwrap_or_default(),
            pair.monday_id.as_deref().unwrap_or_default(),
            pb::EventAction::Skipped,
            "dry run: would re-link the existing pair".to_owned(),
        );
    }
}
