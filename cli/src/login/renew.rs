//! The kept token renewed: `tandem login` keeps, beside the ID token, the provider's refresh
//! token and where to use it (a second file, mode 0600); a command that finds the ID token
//! expired (or within a minute of it) exchanges the refresh token for a new one first, so a
//! signed-in user stays signed in for as long as the provider allows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use serde::{Deserialize, Serialize};

/// Renewed this long before it expires.
const MARGIN_SECS: u64 = 60;

/// What renewing takes.
#[derive(Serialize, Deserialize)]
pub struct Renewal {
    pub refresh_token: String,
    pub token_endpoint: String,
    pub client_id: String,
    /// The CA bundle the provider's certificate was checked against at sign-in.
    pub oidc_ca: Option<PathBuf>,
}

/// Where the renewal of the token kept at `token_file` is kept.
pub fn renewal_file(token_file: &Path) -> PathBuf {
    token_file.with_extension("refresh")
}

/// Keeps `renewal` beside the token (or forgets an older one when the provider gave none).
pub fn keep(token_file: &Path, renewal: Option<&Renewal>) -> anyhow::Result<()> {
    let path = renewal_file(token_file);
    match renewal {
        Some(renewal) => crate::files::replace_private(&path, &serde_json::to_string(renewal)?),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(anyhow!("removing {}: {e}", path.display()))
            }
            _ => Ok(()),
        },
    }
}

/// The token kept at `token_file`, renewed first when it is (nearly) expired and can be.
/// A renewal the provider refuses leaves the old token: the service's refusal then says to
/// sign in again.
pub async fn current(token_file: &Path) -> anyhow::Result<Option<String>> {
    let token = match std::fs::read_to_string(token_file) {
        Ok(token) => token.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(anyhow!(
                "reading the signed-in token {}: {e}",
                token_file.display()
            ));
        }
    };
    let expires = super::unverified_claims(&token)
        .ok()
        .and_then(|c| c.get("exp").and_then(serde_json::Value::as_u64))
        .unwrap_or(0);
    if expires > unix_now() + MARGIN_SECS {
        return Ok(Some(token));
    }
    let Ok(text) = std::fs::read_to_string(renewal_file(token_file)) else {
        return Ok(Some(token));
    };
    let renewal: Renewal = serde_json::from_str(&text).context("the kept refresh token")?;
    match renew(&renewal).await {
        Ok((fresh, next)) => {
            crate::files::replace_private(token_file, &fresh)?;
            keep(token_file, Some(&next))?;
            Ok(Some(fresh))
        }
        Err(e) => {
            eprintln!(
                "note: the signed-in token expired and could not be renewed ({e:#}): run `tandem login` again"
            );
            Ok(Some(token))
        }
    }
}

/// A new ID token, and the renewal to use next (providers may rotate refresh tokens).
async fn renew(renewal: &Renewal) -> anyhow::Result<(String, Renewal)> {
    let ca = match &renewal.oidc_ca {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("{}", path.display()))?),
        None => None,
    };
    let http = tandem_service::oidc::provider_client(Duration::from_secs(10), ca.as_deref())
        .map_err(|e| anyhow!(e))?;
    let response = http
        .post(&renewal.token_endpoint)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", renewal.refresh_token.as_str()),
            ("client_id", renewal.client_id.as_str()),
        ])
        .send()
        .await
        .context("the provider's token endpoint")?;
    if !response.status().is_success() {
        anyhow::bail!(
            "the provider refused the refresh token ({})",
            response.status()
        );
    }
    let tokens: super::Tokens = response.json().await.context("the token response")?;
    let fresh = tokens
        .id_token
        .context("the provider answered without an ID token")?;
    let next = Renewal {
        refresh_token: tokens
            .refresh_token
            .unwrap_or_else(|| renewal.refresh_token.clone()),
        token_endpoint: renewal.token_endpoint.clone(),
        client_id: renewal.client_id.clone(),
        oidc_ca: renewal.oidc_ca.clone(),
    };
    Ok((fresh, next))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
