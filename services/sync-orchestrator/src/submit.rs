//! Changes detected outside a poll — monday webhooks, Salesforce change events — into the
//! coalescing buffer of each active integration they concern; each such integration is then
//! woken in the due-queue for when its first change is due (its window, or its debounce in
//! low-latency mode), and the scheduler runs it. The changes are hints: a cycle reads the
//! records' latest values itself (and polls from its watermarks as always).

use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_service::client::PeerChannel;

use crate::coalesce::RecordKey;
use crate::deps::Deps;
use crate::run::CycleError;
use crate::settings::window_of;

/// One record's change: its key and (field, value, change time in ms) triples.
pub type Change = (RecordKey, Vec<(String, String, i64)>);

/// Buffers `changes` for every integration in `integrations` and wakes each for when its
/// first change is due. `now` is the arrival time (ms).
pub async fn buffer(
    deps: &Deps,
    integrations: &[pb::Integration],
    changes: &[Change],
    now: i64,
) -> Result<(), CycleError> {
    if changes.is_empty() {
        return Ok(());
    }
    for integration in integrations {
        let window = window_of(integration);
        let mut due_ms = i64::MAX;
        for (record, fields) in changes {
            let at = deps
                .buffer
                .submit(&integration.id, record, fields, now, window)
                .await?;
            due_ms = due_ms.min(at);
        }
        let due = tandem_proto::timestamp::to_offset(&tandem_proto::timestamp::from_millis(due_ms))
            .unwrap_or_else(time::OffsetDateTime::now_utc);
        deps.due
            .wake(std::slice::from_ref(&integration.id), due)
            .await?;
    }
    Ok(())
}

/// Active integrations on a monday board.
pub async fn on_board(
    mapping_config: &MappingConfigClient<PeerChannel>,
    board_id: &str,
) -> Result<Vec<pb::Integration>, tonic::Status> {
    list(
        mapping_config,
        pb::ListIntegrationsRequest {
            active_only: true,
            board_id: board_id.to_owned(),
            ..Default::default()
        },
    )
    .await
}

/// Active integrations on an object of a Salesforce org.
pub async fn on_object(
    mapping_config: &MappingConfigClient<PeerChannel>,
    org_id: &str,
    object: &str,
) -> Result<Vec<pb::Integration>, tonic::Status> {
    list(
        mapping_config,
        pb::ListIntegrationsRequest {
            active_only: true,
            salesforce_org_id: org_id.to_owned(),
            salesforce_object: object.to_owned(),
            ..Default::default()
        },
    )
    .await
}

/// Every page of a listing.
async fn list(
    mapping_config: &MappingConfigClient<PeerChannel>,
    request: pb::ListIntegrationsRequest,
) -> Result<Vec<pb::Integration>, tonic::Status> {
    let mut found = Vec::new();
    let mut token = String::new();
    loop {
        let page = mapping_config
            .clone()
            .list_integrations(pb::ListIntegrationsRequest {
                page: Some(pb::PageRequest {
                    page_size: None,
                    page_token: token,
                }),
                ..request.clone()
            })
            .await?
            .into_inner();
        found.extend(page.integrations);
        token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(found);
        }
    }
}
