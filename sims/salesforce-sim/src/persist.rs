//! Optional persistence: the orgs' records and refresh tokens loaded from and saved to a JSON
//! file, so a demo org survives restarts. Access tokens are not kept: clients refresh, as
//! they would after a real session timeout.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::errors::Error;
use crate::store::{Org, Record, RefreshGrant, State};

const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    org_seq: u64,
    orgs: Vec<OrgSnap>,
    refresh_tokens: Vec<RefreshSnap>,
}

#[derive(Serialize, Deserialize)]
struct OrgSnap {
    key: String,
    org_id: String,
    pod: String,
    seq: u64,
    admin_user_id: String,
    api_max: u64,
    api_used: u64,
    records: Vec<RecordSnap>,
    /// The CDC selection (absent in files written before the Pub/Sub API).
    #[serde(default)]
    cdc_selected: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
struct RecordSnap {
    id: String,
    object: String,
    fields: Map<String, Value>,
    deleted_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RefreshSnap {
    token: String,
    org: String,
    user_id: String,
    client_id: String,
    scope: String,
}

/// Writes the state to `path` (via a temporary file and a rename).
pub fn save(state: &State, path: &Path) -> Result<(), Error> {
    let orgs = state
        .orgs
        .values()
        .map(|o| OrgSnap {
            key: o.key.clone(),
            org_id: o.org_id.clone(),
            pod: o.pod.clone(),
            seq: o.seq,
            admin_user_id: o.admin_user_id.clone(),
            api_max: o.api_max,
            api_used: o.api_used,
            cdc_selected: Some(o.cdc.selected.iter().cloned().collect()),
            records: o
                .records
                .values()
                .flat_map(|t| t.values())
                .map(|r| RecordSnap {
                    id: r.id.clone(),
                    object: r.object.clone(),
                    fields: r.fields.clone(),
                    deleted_at: r.deleted_at.clone(),
                })
                .collect(),
        })
        .collect();
    let refresh_tokens = state
        .refresh
        .iter()
        .map(|(token, g)| RefreshSnap {
            token: token.clone(),
            org: g.org.clone(),
            user_id: g.user_id.clone(),
            client_id: g.client_id.clone(),
            scope: g.scope.clone(),
        })
        .collect();
    let snap = Snapshot {
        format: FORMAT,
        org_seq: state.org_seq,
        orgs,
        refresh_tokens,
    };
    let text = serde_json::to_vec(&snap).map_err(|e| Error::State(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Reads a state saved by [`save`]; `None` when the file does not exist yet.
pub fn load(path: &Path) -> Result<Option<State>, Error> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let snap: Snapshot = serde_json::from_slice(&text)
        .map_err(|e| Error::State(format!("{}: {e}", path.display())))?;
    if snap.format != FORMAT {
        return Err(Error::State(format!(
            "{}: unknown format {}",
            path.display(),
            snap.format
        )));
    }
    let mut state = State {
        org_seq: snap.org_seq,
        ..State::default()
    };
    for o in snap.orgs {
        let mut records: HashMap<String, BTreeMap<String, Record>> = HashMap::new();
        for r in o.records {
            records.entry(r.object.clone()).or_default().insert(
                r.id.clone(),
                Record {
                    id: r.id,
                    object: r.object,
                    fields: r.fields,
                    deleted_at: r.deleted_at,
                },
            );
        }
        let org = Org {
            key: o.key.clone(),
            org_id: o.org_id,
            pod: o.pod,
            seq: o.seq,
            admin_user_id: o.admin_user_id,
            records,
            api_max: o.api_max,
            api_used: o.api_used,
            cursors: HashMap::new(),
            cdc: crate::pubsub::Cdc::default(),
            bulk: crate::bulk::Jobs::default(),
            keys: Default::default(),
        };
        let mut org = org;
        if let Some(selected) = o.cdc_selected {
            org.cdc.selected = selected.into_iter().collect();
            org.cdc.selection_set = true;
        }
        state.orgs.insert(o.key, org);
    }
    for r in snap.refresh_tokens {
        state.refresh.insert(
            r.token,
            RefreshGrant {
                org: r.org,
                user_id: r.user_id,
                client_id: r.client_id,
                scope: r.scope,
            },
        );
    }
    Ok(Some(state))
}
