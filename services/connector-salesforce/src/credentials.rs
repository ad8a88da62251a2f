//! A connection's credentials, fetched from mapping-config (`GetCredentials`) and cached in
//! memory per connection. After Salesforce answers 401 `INVALID_SESSION_ID`, [`Credentials::refresh`]
//! asks mapping-config once (`RefreshCredentials` with the stale token); mapping-config
//! serialises refreshes across replicas and calls this connector's `RefreshToken`. Inside this
//! process, concurrent callers with the same stale token share one refresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::{ConnectionKind, GetCredentialsRequest, RefreshCredentialsRequest};
use tandem_service::client::PeerChannel;

use crate::error::Error;

/// What a REST call needs of a connection. No `Debug`: it holds a token.
pub struct Credential {
    pub access_token: String,
    pub instance_url: String,
    pub subdomain: String,
    pub environment: i32,
}

impl Credential {
    /// The key API usage is tracked under: the org's My Domain (or its instance host).
    pub fn org_key(&self) -> String {
        if self.subdomain.is_empty() {
            url::Url::parse(&self.instance_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".to_owned())
        } else {
            format!(
                "{}.{}",
                self.subdomain.to_ascii_lowercase(),
                self.environment
            )
        }
    }
}

pub struct Credentials {
    client: MappingConfigClient<PeerChannel>,
    cache: Mutex<HashMap<String, Arc<Credential>>>,
    /// One refresh at a time per connection inside this process.
    refreshing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Checks a request's `connection_id`.
pub fn connection_id(raw: &str) -> Result<&str, Error> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(Error::invalid("connection_id", "is required"));
    }
    if id.len() > 200 {
        return Err(Error::invalid(
            "connection_id",
            "is longer than 200 characters",
        ));
    }
    Ok(id)
}

impl Credentials {
    pub fn new(client: MappingConfigClient<PeerChannel>) -> Self {
        Self {
            client,
            cache: Mutex::default(),
            refreshing: Mutex::default(),
        }
    }

    fn cached(&self, connection_id: &str) -> Option<Arc<Credential>> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(connection_id)
            .cloned()
    }

    fn store(&self, connection_id: &str, c: Credential) -> Arc<Credential> {
        let c = Arc::new(c);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(connection_id.to_owned(), c.clone());
        c
    }

    /// Forgets a connection's credentials (e.g. after mapping-config said it is gone).
    pub fn forget(&self, connection_id: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(connection_id);
    }

    /// The cached credentials, or mapping-config's.
    pub async fn get(&self, connection_id: &str) -> Result<Arc<Credential>, Error> {
        if let Some(c) = self.cached(connection_id) {
            return Ok(c);
        }
        let answer = self
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
        let c = accept(connection_id, answer)?;
        Ok(self.store(connection_id, c))
    }

    /// New credentials after Salesforce rejected `stale`. When another task of this process
    /// refreshed meanwhile, its result is returned without asking again.
    pub async fn refresh(
        &self,
        connection_id: &str,
        stale: &Credential,
    ) -> Result<Arc<Credential>, Error> {
        let lock = self
            .refreshing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(connection_id.to_owned())
            .or_default()
            .clone();
        let _guard = lock.lock().await;
        if let Some(current) = self.cached(connection_id)
            && current.access_token != stale.access_token
        {
            return Ok(current);
        }
        tracing::info!(
            connection_id,
            "salesforce session expired; refreshing credentials"
        );
        let answer = self
            .client
            .clone()
            .refresh_credentials(RefreshCredentialsRequest {
                connection_id: connection_id.to_owned(),
                stale_access_token: stale.access_token.clone(),
            })
            .await;
        let answer = match answer {
            Ok(a) => a.into_inner(),
            Err(status) => {
                self.forget(connection_id);
                return Err(match status.code() {
                    // mapping-config: the refresh token was refused (invalid_grant).
                    tonic::Code::FailedPrecondition | tonic::Code::Unauthenticated => {
                        Error::NeedsReauthentication {
                            connection_id: connection_id.to_owned(),
                            detail: status.message().to_owned(),
                        }
                    }
                    _ => Error::Credentials {
                        connection_id: connection_id.to_owned(),
                        status,
                    },
                });
            }
        };
        let c = accept(connection_id, answer)?;
        Ok(self.store(connection_id, c))
    }
}

fn accept(connection_id: &str, c: tandem_proto::v1::Credentials) -> Result<Credential, Error> {
    if c.kind != ConnectionKind::Salesforce as i32 {
        return Err(Error::invalid(
            "connection_id",
            format!("`{connection_id}` is not a Salesforce connection"),
        ));
    }
    if c.access_token.is_empty() {
        return Err(Error::NeedsReauthentication {
            connection_id: connection_id.to_owned(),
            detail: "mapping-config holds no access token".to_owned(),
        });
    }
    Ok(Credential {
        access_token: c.access_token,
        instance_url: c.instance_url,
        subdomain: c.subdomain,
        environment: c.environment,
    })
}
