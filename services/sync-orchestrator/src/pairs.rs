//! Step 3 of a cycle: pair. Every claimed record with its link (if any) and the latest values
//! of both sides; records never linked that share the link key are paired, not duplicated.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tandem_core::Shadow;
use tandem_core::merge::Side as CoreSide;
use tandem_proto::v1 as pb;

use crate::coalesce::{Pending, RecordKey};
use crate::deps::Deps;
use crate::detect::{CLAIM_LIMIT, Polled};
use crate::history::Outcome;
use crate::merge::PendingWrite;
use crate::run::CycleError;
use crate::settings::{LinkKey, Settings};
use crate::store::{Link, Side};

/// What a run learnt about one pair of records.
#[derive(Debug, Default, Clone)]
pub struct Pair {
    pub salesforce_id: Option<String>,
    pub monday_id: Option<String>,
    pub salesforce: Option<pb::Record>,
    pub monday: Option<pb::Record>,
    pub shadow: Option<Shadow>,
    /// Both records exist but were never linked: an import pairs them by the link key.
    pub relink: bool,
    /// The open create intent whose record this pair adopted; closed with the pair's link.
    pub adopted_intent: Option<String>,
    /// A record of this pair failed earlier and is retried: both sides are read afresh.
    pub retry: bool,
    /// The shadow an earlier run was about to store when its writes went out and it did not
    /// commit: a value read back equal to it is that run's own write, not a user's change.
    pub pending: Option<PendingWrite>,
    /// Looked up by the link key for another record (not a change of its own): it stays only
    /// if it pairs.
    pub found_by_key: bool,
}

impl Pair {
    /// A record with no partner yet.
    pub fn unlinked(side: CoreSide, record: pb::Record) -> Self {
        match side {
            CoreSide::Salesforce => Pair {
                salesforce_id: Some(record.id.clone()),
                salesforce: Some(record),
                ..Pair::default()
            },
            CoreSide::Monday => Pair {
                monday_id: Some(record.id.clone()),
                monday: Some(record),
                ..Pair::default()
            },
        }
    }

    /// This pair's record id on `side`, if it has one there.
    pub fn id_on(&self, side: CoreSide) -> Option<&str> {
        match side {
            CoreSide::Salesforce => self.salesforce_id.as_deref(),
            CoreSide::Monday => self.monday_id.as_deref(),
        }
    }

    /// This pair's record on `side`, if it was read.
    pub fn record_on(&self, side: CoreSide) -> Option<&pb::Record> {
        match side {
            CoreSide::Salesforce => self.salesforce.as_ref(),
            CoreSide::Monday => self.monday.as_ref(),
        }
    }
}

/// The side across from `side`.
pub fn other(side: CoreSide) -> CoreSide {
    match side {
        CoreSide::Salesforce => CoreSide::Monday,
        CoreSide::Monday => CoreSide::Salesforce,
    }
}

/// The ids of the claimed records of `side`.
pub fn claimed_ids(claimed: &[Pending], side: Side) -> Vec<String> {
    claimed
        .iter()
        .filter(|p| p.record.side == side)
        .map(|p| p.record.id.clone())
        .collect()
}

/// One pair per claimed record (a record and its linked partner make one pair); records whose
/// link ended are left out. Pure: the links are given, by their record's id per side.
pub fn pair_claimed(
    claimed: &[Pending],
    sf_links: &BTreeMap<String, Link>,
    mo_links: &BTreeMap<String, Link>,
) -> Vec<Pair> {
    let mut pairs: Vec<Pair> = Vec::new();
    let mut seen_sf: BTreeSet<String> = BTreeSet::new();
    let mut seen_mo: BTreeSet<String> = BTreeSet::new();
    for pending in claimed {
        let (side, record_id) = (pending.record.side, pending.record.id.as_str());
        let link = match side {
            Side::Salesforce if !seen_sf.contains(record_id) => sf_links.get(record_id),
            Side::Monday if !seen_mo.contains(record_id) => mo_links.get(record_id),
            _ => continue,
        };
        let mut pair = Pair::default();
        match (link, side) {
            (Some(l), _) => {
                if l.unlinked_at.is_some() {
                    continue;
                }
                pair.salesforce_id = Some(l.salesforce_id.clone());
                pair.monday_id = Some(l.monday_item_id.clone());
                pair.shadow = serde_json::from_value(l.shadow.0.clone()).ok();
                pair.pending = l
                    .pending_shadow
                    .as_ref()
                    .and_then(|p| serde_json::from_value(p.0.clone()).ok());
            }
            (None, Side::Salesforce) => pair.salesforce_id = Some(record_id.to_owned()),
            (None, Side::Monday) => pair.monday_id = Some(record_id.to_owned()),
        }
        if let Some(s) = &pair.salesforce_id {
            seen_sf.insert(s.clone());
        }
        if let Some(m) = &pair.monday_id {
            seen_mo.insert(m.clone());
        }
        pairs.push(pair);
    }
    pairs
}

/// Marks the pairs holding one of `retries` (records that failed before) for a fresh read of
/// both sides.
pub fn mark_retries(pairs: &mut [Pair], retries: &BTreeSet<(Side, String)>) {
    if retries.is_empty() {
        return;
    }
    for pair in pairs {
        pair.retry = [Side::Salesforce, Side::Monday].into_iter().any(|side| {
            pair.id_on(side.into())
                .is_some_and(|id| retries.contains(&(side, id.to_owned())))
        });
    }
}

/// The links of the claimed records, in one query per side, by record id.
pub async fn links_of_claimed(
    deps: &Deps,
    settings: &Settings,
    claimed: &[Pending],
) -> Result<(BTreeMap<String, Link>, BTreeMap<String, Link>), CycleError> {
    let id = settings.id();
    let sf = deps
        .store
        .links_of(
            id,
            Side::Salesforce,
            &claimed_ids(claimed, Side::Salesforce),
        )
        .await?;
    let mo = deps
        .store
        .links_of(id, Side::Monday, &claimed_ids(claimed, Side::Monday))
        .await?;
    Ok((
        sf.into_iter()
            .map(|l| (l.salesforce_id.clone(), l))
            .collect(),
        mo.into_iter()
            .map(|l| (l.monday_item_id.clone(), l))
            .collect(),
    ))
}

/// Fills each pair with the latest values of both sides. Polled records as they are. A
/// linked partner that was not polled has not changed since its side's watermark (both sides
/// were just polled), so it stands as "unchanged since the shadow" without being read —
/// unless the claim was cut at its limit, when a change of the partner
/// may still wait in the buffer. The rest (webhook hints, replayed records, partners never
/// agreed on) are read, in one call per side.
pub async fn read_latest(
    deps: &Deps,
    settings: &Settings,
    pairs: &mut [Pair],
    polled: &Polled,
    claimed: &[Pending],
    (fields, columns): (&[String], &[String]),
    outcome: &mut Outcome,
) -> Result<(), CycleError> {
    let spec = &settings.spec;
    let whole_claim = claimed.len() < CLAIM_LIMIT;
    let (need_sf, need_mo) = latest_from_polls(pairs, polled, claimed, whole_claim);
    let index = |pairs: &[Pair], side: CoreSide| -> HashMap<String, usize> {
        pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.id_on(side).map(|id| (id.to_owned(), i)))
            .collect()
    };
    if !need_sf.is_empty() {
        let by_sf = index(pairs, CoreSide::Salesforce);
        let got = deps
            .peers
            .salesforce
            .clone()
            .get_records(pb::GetRecordsRequest {
                connection_id: spec.salesforce_connection_id.clone(),
                object: spec.salesforce_object.clone(),
                ids: need_sf,
                fields: fields.to_vec(),
            })
            .await?
            .into_inner();
        outcome.counters.salesforce_api_calls += u64::from(got.api_calls);
        for r in got.records {
            if let Some(&i) = by_sf.get(&r.id) {
                pairs[i].salesforce = Some(r);
            }
        }
    }
    if !need_mo.is_empty() {
        let by_mo = index(pairs, CoreSide::Monday);
        let got = deps
            .peers
            .monday
            .clone()
            .get_items(pb::GetItemsRequest {
                connection_id: spec.monday_connection_id.clone(),
                board_id: spec.board_id.clone(),
                ids: need_mo,
                columns: columns.to_vec(),
            })
            .await?
            .into_inner();
        outcome.counters.monday_api_calls += u64::from(got.api_calls);
        for r in got.items {
            if let Some(&i) = by_mo.get(&r.id) {
                pairs[i].monday = Some(r);
            }
        }
    }
    Ok(())
}

/// The pure half of [`read_latest`]: fills what the polls answer and returns the ids still to
/// read (Salesforce, monday).
fn latest_from_polls(
    pairs: &mut [Pair],
    polled: &Polled,
    claimed: &[Pending],
    whole_claim: bool,
) -> (Vec<String>, Vec<String>) {
    // Borrowed: a poll's records are cloned only into the pairs that hold them.
    fn by_id(records: &[pb::Record]) -> HashMap<&str, &pb::Record> {
        records.iter().map(|r| (r.id.as_str(), r)).collect()
    }
    let polled_sf = by_id(polled.records(Side::Salesforce));
    let polled_mo = by_id(polled.records(Side::Monday));
    let claimed_sf: BTreeSet<String> = claimed_ids(claimed, Side::Salesforce).into_iter().collect();
    let claimed_mo: BTreeSet<String> = claimed_ids(claimed, Side::Monday).into_iter().collect();
    let unchanged = |id: &str| pb::Record {
        id: id.to_owned(),
        ..Default::default()
    };
    // A webhook that said a record was deleted or archived spares reading it.
    let gone: BTreeSet<&RecordKey> = claimed
        .iter()
        .filter(|p| p.deleted())
        .map(|p| &p.record)
        .collect();
    let deleted = |side: Side, id: &str| {
        gone.contains(&RecordKey::new(side, id))
            .then(|| pb::Record {
                id: id.to_owned(),
                deleted: true,
                ..Default::default()
            })
    };
    let (mut need_sf, mut need_mo) = (Vec::new(), Vec::new());
    for pair in pairs {
        let agreed = whole_claim && pair.shadow.is_some() && !pair.retry && pair.pending.is_none();
        if let Some(s) = &pair.salesforce_id {
            match polled_sf.get(s.as_str()) {
                Some(r) => pair.salesforce = Some((*r).clone()),
                None => match deleted(Side::Salesforce, s) {
                    Some(r) => pair.salesforce = Some(r),
                    None if agreed && !claimed_sf.contains(s) => {
                        pair.salesforce = Some(unchanged(s));
                    }
                    None => need_sf.push(s.clone()),
                },
            }
        }
        if let Some(m) = &pair.monday_id {
            match polled_mo.get(m.as_str()) {
                Some(r) => pair.monday = Some((*r).clone()),
                None => match deleted(Side::Monday, m) {
                    Some(r) => pair.monday = Some(r),
                    None if agreed && !claimed_mo.contains(m) => pair.monday = Some(unchanged(m)),
                    None => need_mo.push(m.clone()),
                },
            }
        }
    }
    (need_sf, need_mo)
}

/// A link-key value, normalised: JSON strings trimmed and lower-cased (emails, names), monday
/// email/link/phone objects by their address (not their display text, which for an email
/// column is often the person's name), Salesforce Ids by their case-sensitive 15-character
/// form.
pub fn key_of(raw: &str, salesforce_id: bool) -> Option<String> {
    let text = key_text(raw)?;
    Some(if salesforce_id {
        text.chars().take(15).collect()
    } else {
        text.to_lowercase()
    })
}

/// The normalised link-key value of a record on `side` (a Salesforce Id key by its record's
/// own Id), as `relink_by_key` pairs them.
pub fn record_key(
    side: CoreSide,
    record: &pb::Record,
    (column, field): &LinkKey,
) -> Option<String> {
    let is_id = field == "Id";
    match side {
        CoreSide::Monday => record
            .fields
            .get(column.as_str())
            .and_then(|raw| key_of(raw, is_id)),
        CoreSide::Salesforce if is_id => key_of(
            &serde_json::Value::String(record.id.clone()).to_string(),
            true,
        ),
        CoreSide::Salesforce => record
            .fields
            .get(field.as_str())
            .and_then(|raw| key_of(raw, false)),
    }
}

/// A link-key value as its side shows it, trimmed, before normalising: a JSON string or
/// number as is, a monday email/link/phone object by its address, else its text.
pub fn key_text(raw: &str) -> Option<String> {
    let value: serde_json::Value =
        serde_json::from_str(raw).unwrap_or(serde_json::Value::String(raw.to_owned()));
    let text = match &value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Object(o) => ["email", "url", "phone", "text"]
            .iter()
            .find_map(|k| {
                o.get(*k)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.trim().is_empty())
            })?
            .to_owned(),
        _ => return None,
    };
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Pairs records never linked whose link-key values are equal: a Salesforce-only pair takes
/// the monday-only pair with its key, which is then dropped. Each record pairs at most once.
pub fn relink_by_key(pairs: &mut Vec<Pair>, link_key: Option<&LinkKey>) {
    let Some(key) = link_key else {
        return;
    };
    let mut monday_by_key: HashMap<String, usize> = HashMap::new();
    for (i, pair) in pairs.iter().enumerate() {
        if pair.salesforce_id.is_some() || pair.shadow.is_some() {
            continue;
        }
        let Some(record) = &pair.monday else { continue };
        if let Some(k) = record_key(CoreSide::Monday, record, key) {
            monday_by_key.entry(k).or_insert(i);
        }
    }
    let mut taken = BTreeSet::new();
    for i in 0..pairs.len() {
        if pairs[i].monday_id.is_some() || pairs[i].shadow.is_some() {
            continue;
        }
        let Some(record) = &pairs[i].salesforce else {
            continue;
        };
        let found = record_key(CoreSide::Salesforce, record, key);
        let Some(j) = found.and_then(|k| monday_by_key.remove(&k)) else {
            continue;
        };
        let (monday_id, monday) = (pairs[j].monday_id.take(), pairs[j].monday.take());
        taken.insert(j);
        let pair = &mut pairs[i];
        pair.monday_id = monday_id;
        pair.monday = monday;
        pair.relink = true;
    }
    let mut index = 0;
    pairs.retain(|p| {
        let keep = !taken.contains(&index) && (!p.found_by_key || p.relink);
        index += 1;
        keep
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, fields: &[(&str, &str)]) -> pb::Record {
        pb::Record {
            id: id.into(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    fn pending(record: &str) -> Pending {
        let (side, id) = record.split_once(':').unwrap();
        let side = if side == "sf" {
            Side::Salesforce
        } else {
            Side::Monday
        };
        Pending::retry(RecordKey::new(side, id))
    }

    fn link(sf: &str, mo: &str, ended: bool) -> Link {
        Link {
            salesforce_id: sf.into(),
            monday_item_id: mo.into(),
            shadow: sqlx::types::Json(serde_json::json!({"salesforce": {}, "monday": {}})),
            unlinked_at: ended.then(time::OffsetDateTime::now_utc),
            pending_shadow: None,
        }
    }

    #[test]
    fn a_record_and_its_linked_partner_make_one_pair_and_ended_links_none() {
        let claimed = [
            pending("sf:006A"),
            pending("mo:1"),
            pending("mo:2"),
            pending("sf:006B"),
        ];
        let sf_links = BTreeMap::from([
            ("006A".to_owned(), link("006A", "1", false)),
            ("006B".to_owned(), link("006B", "9", true)),
        ]);
        let mo_links = BTreeMap::from([("1".to_owned(), link("006A", "1", false))]);
        let pairs = pair_claimed(&claimed, &sf_links, &mo_links);
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert_eq!(pairs[0].id_on(CoreSide::Monday), Some("1"));
        assert!(pairs[0].shadow.is_some());
        assert_eq!(pairs[1].id_on(CoreSide::Monday), Some("2"));
        assert_eq!(pairs[1].id_on(CoreSide::Salesforce), None);
    }

    #[test]
    fn a_webhooks_deletion_is_taken_as_it_is_and_an_unclaimed_agreed_partner_is_not_read() {
        let mut deleted = pending("mo:1");
        deleted
            .fields
            .insert(crate::coalesce::DELETED.to_owned(), ("true".to_owned(), 0));
        let claimed = [deleted, pending("mo:2")];
        let sf_links = BTreeMap::new();
        let mo_links = BTreeMap::from([
            ("1".to_owned(), link("006A", "1", false)),
            ("2".to_owned(), link("006B", "2", false)),
        ]);
        let mut pairs = pair_claimed(&claimed, &sf_links, &mo_links);
        let polled = Polled {
            salesforce: Default::default(),
            monday: Default::default(),
        };
        let (need_sf, need_mo) = latest_from_polls(&mut pairs, &polled, &claimed, true);
        assert!(pairs[0].monday.as_ref().is_some_and(|r| r.deleted));
        assert_eq!(
            need_mo,
            vec!["2".to_owned()],
            "a hint without values is read"
        );
        assert!(
            need_sf.is_empty(),
            "partners agreed and unclaimed stand unchanged"
        );
        assert!(
            pairs[0]
                .salesforce
                .as_ref()
                .is_some_and(|r| r.fields.is_empty())
        );
    }

    #[test]
    fn an_email_column_matches_by_its_address_not_its_display_name() {
        let mut pairs = vec![
            Pair::unlinked(
                CoreSide::Salesforce,
                record("003A", &[("Email", "\"Phyllis.Cotton@Example.com\"")]),
            ),
            Pair::unlinked(
                CoreSide::Monday,
                record(
                    "11",
                    &[(
                        "email",
                        r#"{"email":"phyllis.cotton@example.com","text":"Phyllis Cotton"}"#,
                    )],
                ),
            ),
        ];
        relink_by_key(&mut pairs, Some(&("email".into(), "Email".into())));
        assert_eq!(pairs.len(), 1);
        assert!(pairs[0].relink);
        assert_eq!(pairs[0].id_on(CoreSide::Monday), Some("11"));
    }

    #[test]
    fn each_record_pairs_at_most_once() {
        let mut pairs = vec![
            Pair::unlinked(
                CoreSide::Salesforce,
                record("003A", &[("Email", "\"a@x.io\"")]),
            ),
            Pair::unlinked(
                CoreSide::Salesforce,
                record("003B", &[("Email", "\"a@x.io\"")]),
            ),
            Pair::unlinked(CoreSide::Monday, record("11", &[("email", "\"A@x.io \"")])),
        ];
        relink_by_key(&mut pairs, Some(&("email".into(), "Email".into())));
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs.iter().filter(|p| p.relink).count(), 1);
    }
}
