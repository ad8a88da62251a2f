//! Whether the monday account a webhook's token names watches the event's board: some active
//! integration on the board uses a monday connection of that account. Integrations come from
//! mapping-config (`ListIntegrations` by board), a connection's account from monday's `me`
//! (looked up once per token). Answers are kept a minute (a refusal ten seconds), so a burst
//! of events costs one look-up.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_service::client::PeerChannel;

use crate::api::{Calls, Monday};

const KEEP_YES: Duration = Duration::from_secs(60);
const KEEP_NO: Duration = Duration::from_secs(10);
/// Answers kept at most; past it the cache starts again.
const MAX_KEPT: usize = 10_000;

pub struct Watched {
    mapping_config: MappingConfigClient<PeerChannel>,
    monday: Monday,
    kept: Mutex<HashMap<(String, String), (bool, Instant)>>,
}

impl Watched {
    pub fn new(mapping_config: PeerChannel, monday: Monday) -> Self {
        Self {
            mapping_config: MappingConfigClient::new(mapping_config),
            monday,
            kept: Mutex::default(),
        }
    }

    /// Whether `account` watches `board`; an error when mapping-config cannot say.
    pub async fn watches(&self, account: &str, board: &str) -> Result<bool, tonic::Status> {
        let key = (account.to_owned(), board.to_owned());
        if let Some(&(yes, at)) = self.kept().get(&key)
            && at.elapsed() < if yes { KEEP_YES } else { KEEP_NO }
        {
            return Ok(yes);
        }
        let yes = self.look_up(account, board).await?;
        let mut kept = self.kept();
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        kept.insert(key, (yes, Instant::now()));
        Ok(yes)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), (bool, Instant)>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn look_up(&self, account: &str, board: &str) -> Result<bool, tonic::Status> {
        let mut connections = BTreeSet::new();
        let mut token = String::new();
        loop {
            let page = self
                .mapping_config
                .clone()
                .list_integrations(pb::ListIntegrationsRequest {
                    active_only: true,
                    board_id: board.to_owned(),
                    page: Some(pb::PageRequest {
                        page_size: None,
                        page_token: token,
                    }),
                    ..Default::default()
                })
                .await?
                .into_inner();
            connections.extend(
                page.integrations
                    .into_iter()
                    .filter_map(|i| i.spec)
                    .map(|s| s.monday_connection_id)
                    .filter(|c| !c.is_empty()),
            );
            token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        for connection in connections {
            match self
                .monday
                .session(&connection, &mut Calls::default())
                .await
            {
                Ok(session) if session.account == account => return Ok(true),
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(connection_id = %connection, %error, "monday connection's account unknown");
                }
            }
        }
        Ok(false)
    }
}
