//! API tokens of monday connections: fetched from mapping-config's `GetCredentials`, cached in
//! memory per connection, dropped when monday answers 401 (monday tokens do not refresh, so a
//! refused token means the connection needs re-authentication).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tandem_proto::v1::GetCredentialsRequest;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_service::client::PeerChannel;

use crate::error::Error;

/// A connection's monday API token; `Debug` never shows it.
#[derive(Clone)]
pub struct Token {
    pub connection_id: String,
    value: Arc<str>,
}

impl Token {
    pub(crate) fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}, ***)", self.connection_id)
    }
}

#[derive(Clone)]
struct Cached {
    token: Arc<str>,
    /// The monday account the token belongs to, once known (budgets are per account).
    account_id: Option<String>,
}

#[derive(Clone)]
pub struct Credentials {
    client: MappingConfigClient<PeerChannel>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

impl Credentials {
    pub fn new(channel: PeerChannel) -> Self {
        Self {
            client: MappingConfigClient::new(channel),
            cache: Arc::default(),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token of `connection_id`, from the cache or mapping-config.
    pub async fn token(&self, connection_id: &str) -> Result<Token, Error> {
        if let Some(c) = self.cache().get(connection_id) {
            return Ok(Token {
                connection_id: connection_id.to_owned(),
                value: c.token.clone(),
            });
        }
        let creds = self
            .client
            .clone()
            .get_credentials(GetCredentialsRequest {
                connection_id: connection_id.to_owned(),
            })
            .await
            .map_err(|status| Error::Credentials {
                connection_id: connection_id.to_owned(),
                status,
            })?
            .into_inner();
        if creds.access_token.is_empty() {
            return Err(Error::Reauthenticate {
                connection_id: connection_id.to_owned(),
            });
        }
        let value: Arc<str> = Arc::from(creds.access_token);
        self.cache().insert(
            connection_id.to_owned(),
            Cached {
                token: value.clone(),
                account_id: None,
            },
        );
        Ok(Token {
            connection_id: connection_id.to_owned(),
            value,
        })
    }

    /// Forget a token monday refused (only if it is still the cached one).
    pub fn forget(&self, token: &Token) {
        let mut cache = self.cache();
        if cache
            .get(&token.connection_id)
            .is_some_and(|c| c.token == token.value)
        {
            cache.remove(&token.connection_id);
        }
    }

    pub fn account_id(&self, connection_id: &str) -> Option<String> {
        self.cache()
            .get(connection_id)
            .and_then(|c| c.account_id.clone())
    }

    pub fn set_account_id(&self, token: &Token, account_id: String) {
        if let Some(c) = self.cache().get_mut(&token.connection_id)
            && c.token == token.value
        {
            c.account_id = Some(account_id);
        }
    }
}
