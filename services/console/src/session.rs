//! Sessions: the browser holds only an opaque random id in an HttpOnly, SameSite=Lax cookie
//! (Secure when the console is reached over TLS); what it stands for — the user, the token
//! forwarded to the services, the CSRF token, a sign-in in progress — stays on the server, in
//! Redis (keyed by a hash of the id, so a Redis dump holds no usable cookie, and sealed with
//! AES-256-GCM, so it holds no token either: `seal.rs`) or in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::seal::SessionKeys;

/// The cookie's name.
pub const COOKIE: &str = "tandem_console";
/// How long a session that has not signed in lives.
pub const ANONYMOUS_TTL: Duration = Duration::from_secs(3600);

/// A bearer token. Never printed: `Debug` hides it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Bearer(String);

impl Bearer {
    pub fn new(token: String) -> Self {
        Bearer(token)
    }

    /// The token itself (for the one place that must send it: PKCE's verifier).
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The `authorization` metadata value.
    pub fn header(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// Who signed in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub account: String,
    pub email: String,
    /// What the services are called with.
    pub token: Bearer,
    /// Seconds since the Unix epoch at which `token` expires (0: unknown, sessions stored
    /// before it was kept).
    #[serde(default)]
    pub token_expires_at: u64,
    /// The identity provider's refresh token, when it issued one: a new `token` is fetched
    /// with it shortly before this one expires.
    #[serde(default)]
    pub refresh_token: Option<Bearer>,
}

/// An OpenID Connect sign-in between the redirect to the provider and its callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub verifier: Bearer,
}

/// What a session holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    /// Every form carries it; every POST must send it back.
    pub csrf: String,
    pub user: Option<User>,
    pub pending: Option<PendingLogin>,
    /// The OAuth `state` of a Salesforce connection started from the setup pages, until its
    /// callback lands back on the console (the state is bound to this browser's session).
    #[serde(default)]
    pub pending_salesforce: Option<String>,
    /// Seconds since the Unix epoch after which the session is gone.
    pub expires_at: u64,
}

impl SessionData {
    /// A session nobody has signed in to yet.
    pub fn anonymous() -> Self {
        SessionData {
            csrf: random_token(),
            user: None,
            pending: None,
            pending_salesforce: None,
            expires_at: unix_now() + ANONYMOUS_TTL.as_secs(),
        }
    }
}

/// A session as a request carries it: its id and data.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub data: SessionData,
}

/// 32 random bytes, URL-safe base64: session ids, CSRF tokens, OAuth state and PKCE.
pub fn random_token() -> String {
    B64.encode(rand::random::<[u8; 32]>())
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where sessions are kept. Cheap to clone.
#[derive(Clone)]
pub enum SessionStore {
    Memory(Arc<Mutex<HashMap<String, SessionData>>>),
    Redis {
        redis: tandem_service::Redis,
        prefix: String,
        keys: SessionKeys,
    },
}

impl SessionStore {
    pub fn memory() -> Self {
        SessionStore::Memory(Arc::default())
    }

    fn key(prefix: &str, id: &str) -> String {
        let digest = Sha256::digest(id.as_bytes());
        format!("{prefix}:console:session:{}", B64.encode(digest))
    }

    /// The session `id` names, unless it is unknown or expired.
    pub async fn load(&self, id: &str) -> Result<Option<Session>, Error> {
        // A cookie that cannot be an id of ours is not looked up.
        if id.len() != 43
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        let data = match self {
            SessionStore::Memory(map) => map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(id)
                .cloned(),
            SessionStore::Redis {
                redis,
                prefix,
                keys,
            } => {
                let key = Self::key(prefix, id);
                let sealed: Option<Vec<u8>> = redis
                    .clone()
                    .get(&key)
                    .await
                    .map_err(|e| Error::Sessions(e.to_string()))?;
                // One that does not open (a retired key, altered) is no session: sign in again.
                sealed
                    .and_then(|s| keys.open(&key, &s))
                    .and_then(|plain| serde_json::from_slice(&plain).ok())
            }
        };
        Ok(data
            .filter(|d| d.expires_at > unix_now())
            .map(|data| Session {
                id: id.to_owned(),
                data,
            }))
    }

    /// Stores `data` under `id` until it expires.
    pub async fn save(&self, id: &str, data: &SessionData) -> Result<(), Error> {
        let ttl = data.expires_at.saturating_sub(unix_now()).max(1);
        match self {
            SessionStore::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
                let now = unix_now();
                map.retain(|_, d| d.expires_at > now);
                map.insert(id.to_owned(), data.clone());
            }
            SessionStore::Redis {
                redis,
                prefix,
                keys,
            } => {
                let key = Self::key(prefix, id);
                let plain = serde_json::to_vec(data).map_err(|e| Error::Sessions(e.to_string()))?;
                let _: () = redis
                    .clone()
                    .set_ex(&key, keys.seal(&key, &plain), ttl)
                    .await
                    .map_err(|e| Error::Sessions(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// A new session holding `data`; its id.
    pub async fn create(&self, data: &SessionData) -> Result<String, Error> {
        let id = random_token();
        self.save(&id, data).await?;
        Ok(id)
    }

    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        match self {
            SessionStore::Memory(map) => {
                map.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
            }
            SessionStore::Redis { redis, prefix, .. } => {
                let _: () = redis
                    .clone()
                    .del(Self::key(prefix, id))
                    .await
                    .map_err(|e| Error::Sessions(e.to_string()))?;
            }
        }
        Ok(())
    }
}

/// The `Set-Cookie` value that hands `id` to the browser for `max_age`.
pub fn set_cookie(id: &str, max_age: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age.as_secs()
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// The session id a request's `Cookie` headers carry, if any.
pub fn cookie_id(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_only_over_tls() {
        let plain = set_cookie("abc", Duration::from_secs(60), false);
        assert_eq!(
            plain,
            "tandem_console=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        assert!(set_cookie("abc", Duration::from_secs(60), true).ends_with("; Secure"));
        assert!(clear_cookie(true).contains("Max-Age=0"));
    }

    #[test]
    fn the_session_id_is_read_among_other_cookies() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=1; tandem_console=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_id(&headers).as_deref(), Some("xyz"));
        assert_eq!(cookie_id(&http::HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn a_session_is_found_by_its_id_until_it_expires_or_is_deleted() {
        let store = SessionStore::memory();
        let mut data = SessionData::anonymous();
        let id = store.create(&data).await.unwrap();
        assert_eq!(id.len(), 43);
        assert_eq!(store.load(&id).await.unwrap().unwrap().data.csrf, data.csrf);
        assert!(store.load(&random_token()).await.unwrap().is_none());
        assert!(store.load("not an id").await.unwrap().is_none());
        data.expires_at = unix_now() - 1;
        store.save(&id, &data).await.unwrap();
        assert!(store.load(&id).await.unwrap().is_none());
        let id = store.create(&SessionData::anonymous()).await.unwrap();
        store.delete(&id).await.unwrap();
        assert!(store.load(&id).await.unwrap().is_none());
    }

    #[test]
    fn a_bearer_is_never_printed() {
        let user = User {
            account: "acme".into(),
            email: "ada@acme.test".into(),
            token: Bearer::new("secret-token".into()),
            token_expires_at: 0,
            refresh_token: Some(Bearer::new("secret-refresh".into())),
        };
        assert!(!format!("{user:?}").contains("secret-"));
    }
}
