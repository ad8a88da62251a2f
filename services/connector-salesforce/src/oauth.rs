//! The OAuth 2.0 web-server flow against an org's My Domain: the authorize URL, the code
//! exchange (plus the identity of the user), refresh and revoke. Tokens pass through to
//! mapping-config and are never logged.

use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value as Json;
use tandem_proto::v1::{ExchangeCodeResponse, SalesforceEnvironment};

use crate::error::Error;
use crate::hosts;
use crate::transport::{Body, Reply, Request, Transport};

/// The scopes Tandem asks for: the API, a refresh token, and the user's identity.
pub const SCOPES: &str = "api refresh_token offline_access id profile email phone openid";

/// The connected app and where its OAuth requests go.
#[derive(Clone)]
pub struct OAuth {
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    login_override: Option<String>,
    transport: Transport,
}

/// An org named by the caller: its checked subdomain and environment.
pub struct Org {
    pub subdomain: String,
    pub environment: SalesforceEnvironment,
}

impl Org {
    pub fn parse(subdomain: &str, environment: i32) -> Result<Self, Error> {
        Ok(Self {
            subdomain: hosts::subdomain(subdomain)?,
            environment: hosts::environment(environment)?,
        })
    }
}

/// A PKCE verifier or challenge: 43 to 128 characters of RFC 7636's alphabet.
fn check_pkce(text: &str, field: &'static str) -> Result<(), Error> {
    let ok = (43..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "is required: 43 to 128 characters of A-Z, a-z, 0-9, `-`, `.`, `_`, `~` (PKCE, S256)",
        ))
    }
}

fn check_redirect_uri(uri: &str) -> Result<(), Error> {
    match url::Url::parse(uri) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
        _ => Err(Error::invalid(
            "redirect_uri",
            "must be an absolute http(s) URL, the callback registered on the connected app",
        )),
    }
}

impl OAuth {
    pub fn new(
        client_id: Option<String>,
        client_secret: Option<SecretString>,
        login_override: Option<String>,
        transport: Transport,
    ) -> Self {
        Self {
            client_id: client_id.filter(|c| !c.trim().is_empty()),
            client_secret,
            login_override,
            transport,
        }
    }

    fn client_id(&self) -> Result<&str, Error> {
        self.client_id.as_deref().ok_or_else(|| {
            Error::NotConfigured(
                "the Salesforce connected app is not configured: set TANDEM_SALESFORCE_CLIENT_ID (and TANDEM_SALESFORCE_CLIENT_SECRET)".to_owned(),
            )
        })
    }

    fn base(&self, org: &Org) -> String {
        hosts::oauth_base(
            self.login_override.as_deref(),
            &org.subdomain,
            org.environment,
        )
    }

    /// The client credentials as form fields.
    fn client_form(&self) -> Result<Vec<(&'static str, String)>, Error> {
        let mut form = vec![("client_id", self.client_id()?.to_owned())];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose_secret().to_owned()));
        }
        Ok(form)
    }

    pub fn authorize_url(
        &self,
        org: &Org,
        redirect_uri: &str,
        state: &str,
        code_challenge: &str,
    ) -> Result<String, Error> {
        check_redirect_uri(redirect_uri)?;
        if state.trim().is_empty() {
            return Err(Error::invalid("state", "is required"));
        }
        check_pkce(code_challenge, "code_challenge")?;
        let mut url = url::Url::parse(&format!("{}/services/oauth2/authorize", self.base(org)))
            .map_err(|e| Error::Config(format!("salesforce login url: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id()?)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", SCOPES)
            .append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    pub async fn exchange_code(
        &self,
        org: &Org,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<ExchangeCodeResponse, Error> {
        if code.trim().is_empty() {
            return Err(Error::invalid("code", "is required"));
        }
        check_redirect_uri(redirect_uri)?;
        check_pkce(code_verifier, "code_verifier")?;
        let mut form = vec![("grant_type", "authorization_code".to_owned())];
        form.extend(self.client_form()?);
        form.push(("code", code.to_owned()));
        form.push(("redirect_uri", redirect_uri.to_owned()));
        form.push(("code_verifier", code_verifier.to_owned()));
        let reply = self
            .token_call(org, form, "authorization code exchange", false)
            .await?;
        let mut tokens = token_response(&reply.json()?)?;
        if tokens.refresh_token.is_empty() {
            tracing::warn!(
                subdomain = %org.subdomain,
                "salesforce granted no refresh token; check the connected app's scopes"
            );
        }
        self.fill_identity(&mut tokens).await;
        Ok(tokens)
    }

    pub async fn refresh(
        &self,
        org: &Org,
        refresh_token: &str,
    ) -> Result<ExchangeCodeResponse, Error> {
        if refresh_token.trim().is_empty() {
            return Err(Error::invalid("refresh_token", "is required"));
        }
        let mut form = vec![("grant_type", "refresh_token".to_owned())];
        form.extend(self.client_form()?);
        form.push(("refresh_token", refresh_token.to_owned()));
        let reply = self.token_call(org, form, "token refresh", true).await?;
        token_response(&reply.json()?)
    }

    pub async fn revoke(&self, org: &Org, token: &str) -> Result<(), Error> {
        if token.trim().is_empty() {
            return Err(Error::invalid("token", "is required"));
        }
        let request = Request {
            method: Method::POST,
            url: format!("{}/services/oauth2/revoke", self.base(org)),
            bearer: None,
            body: Body::Form(vec![("token", token.to_owned())]),
            idempotent: true,
            call_options: None,
            accept: crate::transport::JSON,
        };
        let reply = self.transport.send(&request).await?;
        if reply.ok() {
            return Ok(());
        }
        let (error, description, _) = reply.error();
        // A token that is already revoked or expired is as good as revoked.
        if reply.status == 400
            && matches!(error.as_str(), "unsupported_token_type" | "invalid_token")
        {
            tracing::debug!(error = %error, "token was already invalid at revoke");
            return Ok(());
        }
        Err(oauth_failure(
            &reply,
            "token revocation",
            error,
            description,
        ))
    }

    async fn token_call(
        &self,
        org: &Org,
        form: Vec<(&'static str, String)>,
        during: &'static str,
        idempotent: bool,
    ) -> Result<Reply, Error> {
        let request = Request {
            method: Method::POST,
            url: format!("{}/services/oauth2/token", self.base(org)),
            bearer: None,
            body: Body::Form(form),
            // A code is single-use; a refresh twice is harmless but a code exchange is not.
            idempotent,
            call_options: None,
            accept: crate::transport::JSON,
        };
        let reply = self.transport.send(&request).await?;
        if reply.ok() {
            return Ok(reply);
        }
        let (error, description, _) = reply.error();
        Err(oauth_failure(&reply, during, error, description))
    }

    /// Reads username and email from the identity URL; the tokens are worth keeping even when
    /// that call fails (the code is spent), so a failure is logged, not returned.
    async fn fill_identity(&self, tokens: &mut ExchangeCodeResponse) {
        if tokens.identity_url.is_empty() {
            return;
        }
        let request = Request {
            method: Method::GET,
            url: tokens.identity_url.clone(),
            bearer: Some(tokens.access_token.clone()),
            body: Body::None,
            idempotent: true,
            call_options: None,
            accept: crate::transport::JSON,
        };
        match self.transport.send(&request).await {
            Ok(reply) if reply.ok() => {
                if let Ok(doc) = reply.json() {
                    let s = |k: &str| {
                        doc.get(k)
                            .and_then(Json::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    tokens.username = s("username");
                    tokens.user_email = s("email");
                    if tokens.org_id.is_empty() {
                        tokens.org_id = s("organization_id");
                    }
                    if tokens.user_id.is_empty() {
                        tokens.user_id = s("user_id");
                    }
                }
            }
            Ok(reply) => tracing::warn!(status = reply.status, "identity lookup failed"),
            Err(e) => tracing::warn!(error = %e, "identity lookup failed"),
        }
    }
}

fn oauth_failure(reply: &Reply, during: &'static str, error: String, description: String) -> Error {
    if reply.status >= 500 {
        return Error::Unavailable(format!("{during} answered {}", reply.status));
    }
    Error::OAuth {
        during,
        error,
        description,
    }
}

/// Reads a token endpoint answer. `refresh_token` is empty when Salesforce did not rotate it.
fn token_response(body: &Json) -> Result<ExchangeCodeResponse, Error> {
    let s = |k: &str| {
        body.get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let access_token = s("access_token");
    if access_token.is_empty() {
        return Err(Error::Protocol(
            "token answer has no access_token".to_owned(),
        ));
    }
    let identity_url = s("id");
    // `https://login.salesforce.com/id/{orgId}/{userId}`
    let (org_id, user_id) = url::Url::parse(&identity_url)
        .ok()
        .and_then(|u| {
            let mut segs: Vec<String> = u.path_segments()?.map(str::to_owned).collect();
            let user = segs.pop()?;
            let org = segs.pop()?;
            Some((org, user))
        })
        .unwrap_or_default();
    let issued_at = s("issued_at")
        .parse::<i64>()
        .ok()
        .map(|ms| prost_types::Timestamp {
            seconds: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
        });
    Ok(ExchangeCodeResponse {
        access_token,
        refresh_token: s("refresh_token"),
        instance_url: s("instance_url"),
        identity_url,
        org_id,
        user_id,
        username: String::new(),
        user_email: String::new(),
        scopes: s("scope").split_whitespace().map(str::to_owned).collect(),
        issued_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_answer_fields_and_ids_from_the_identity_url() {
        let t = token_response(&json!({
            "access_token": "00D!x", "refresh_token": "5Aep", "instance_url": "https://acme.my.salesforce.com",
            "id": "https://login.salesforce.com/id/00Dxx0000000123EAA/005xx000000456AAA",
            "scope": "api refresh_token id", "issued_at": "1699999999123", "token_type": "Bearer"
        }))
        .unwrap();
        assert_eq!(t.org_id, "00Dxx0000000123EAA");
        assert_eq!(t.user_id, "005xx000000456AAA");
        assert_eq!(t.scopes, ["api", "refresh_token", "id"]);
        let at = t.issued_at.unwrap();
        assert_eq!((at.seconds, at.nanos), (1_699_999_999, 123_000_000));
        assert!(token_response(&json!({"instance_url": "x"})).is_err());
    }
}
