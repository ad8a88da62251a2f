//! An import (backfill): every record of the source side that matches the conditions crosses,
//! re-linking pairs that share the link key instead of duplicating them; the source side wins
//! where both hold values. With a dry run nothing is written anywhere and the run's events say
//! what would have happened.

use tandem_core::ConflictPolicy;
use tandem_core::merge::Side as CoreSide;
use tandem_proto::v1 as pb;

use crate::adopt;
use crate::commit;
use crate::deps::Deps;
use crate::history::{Names, Outcome};
use crate::lease::Lease;
use crate::pairs::{self, Pair};
use crate::people;
use crate::plan::{self, Planned};
use crate::run::CycleError;
use crate::settings::{LinkKey, Settings};
use crate::write;

/// What an import was asked to do.
#[derive(Debug, Clone)]
pub struct Import {
    pub source: CoreSide,
    pub dry_run: bool,
    /// Overrides the integration's link key.
    pub link_key: Option<LinkKey>,
}

pub async fn import(
    deps: &Deps,
    lease: &Lease,
    settings: &mut Settings,
    request: Import,
    outcome: &mut Outcome,
) -> Result<(), CycleError> {
    let Import {
        source,
        dry_run,
        link_key,
    } = request;
    let link_key = settings.link_key(link_key);
    let (fields, columns) = settings.fields_to_read(link_key.as_ref());
    let (salesforce, monday) = read_all(
        deps,
        settings,
        source,
        link_key.is_some(),
        (&fields, &columns),
        outcome,
    )
    .await?;
    let mut pairs = Vec::new();
    for (side, records) in [
        (CoreSide::Salesforce, salesforce),
        (CoreSide::Monday, monday),
    ] {
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let linked = deps
            .store
            .linked_ids(settings.id(), side.into(), &ids)
            .await?;
        for record in records.into_iter().filter(|r| !r.deleted) {
            if linked.contains(&record.id) {
                if side == source {
                    outcome.event(
                        side,
                        &record.id,
                        "",
                        pb::EventAction::Skipped,
                        "already linked".to_owned(),
                    );
                }
                continue;
            }
            pairs.push(Pair::unlinked(side, record));
        }
    }
    pairs::relink_by_key(&mut pairs, link_key.as_ref());
    // An import reads every record: the lost creates are among the pairs already.
    let adopted = adopt::adopt_lost_creates(deps, settings, &mut pairs, None).await?;
    outcome.notes(adopted);
    people::learn_unknown_users(deps, settings, &pairs, outcome).await?;
    // One direction: target records nobody paired stay where they are.
    pairs.retain(|p| p.relink || p.id_on(source).is_some());
    let mut rules = settings.rules.clone();
    rules.policy = match source {
        CoreSide::Salesforce => ConflictPolicy::SalesforceWins,
        CoreSide::Monday => ConflictPolicy::MondayWins,
    };
    let mut planned = {
        let ctx = settings.convert_context()?;
        plan::plan(settings.id(), &rules, &pairs, &settings.users, &ctx)
    };
    outcome.notes(std::mem::take(&mut planned.notes));
    if dry_run {
        report_dry_run(&pairs, &planned, outcome);
        outcome.name_records(&Names::of(&pairs, settings.name_field.as_deref()));
        outcome.kind_errors(&settings.rules);
        return Ok(());
    }
    write::record_before_sending(deps, lease, &planned).await?;
    let done = write::send(deps, lease, settings, &planned, outcome).await?;
    let mut tx = commit::record(deps, lease, &pairs, &planned, &done, outcome).await?;
    outcome.name_records(&Names::of(&pairs, settings.name_field.as_deref()));
    outcome.kind_errors(&settings.rules);
    commit::record_failing(&mut tx, settings.integration.version, &pairs, outcome).await?;
    tx.commit().await?;
    Ok(())
}

/// Every record of the source; of the target only when a link key can pair them.
async fn read_all(
    deps: &Deps,
    settings: &Settings,
    source: CoreSide,
    keyed: bool,
    (fields, columns): (&[String], &[String]),
    outcome: &mut Outcome,
) -> Result<(Vec<pb::Record>, Vec<pb::Record>), CycleError> {
    let spec = &settings.spec;
    let mut salesforce = Vec::new();
    if source == CoreSide::Salesforce || keyed {
        let all = deps
            .peers
            .salesforce
            .clone()
            .poll_changes(pb::SalesforcePollRequest {
                connection_id: spec.salesforce_connection_id.clone(),
                object: spec.salesforce_object.clone(),
                fields: fields.to_vec(),
                ..Default::default()
            })
            .await?
            .into_inner();
        outcome.counters.salesforce_api_calls += u64::from(all.api_calls);
        salesforce = all.records;
    }
    let mut monday = Vec::new();
    if source == CoreSide::Monday || keyed {
        let all = deps
            .peers
            .monday
            .clone()
            .poll_changes(pb::MondayPollRequest {
                connection_id: spec.monday_connection_id.clone(),
                board_id: spec.board_id.clone(),
                columns: columns.to_vec(),
                ..Default::default()
            })
            .await?
            .into_inner();
        outcome.counters.monday_api_calls += u64::from(all.api_calls);
        monday = all.items;
    }
    outcome.counters.read += match source {
        CoreSide::Salesforce => salesforce.len(),
        CoreSide::Monday => monday.len(),
    } as u64;
    Ok((salesforce, monday))
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
