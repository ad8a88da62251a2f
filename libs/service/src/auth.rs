//! Who may call: the settings that say how users and services prove who they are, and the
//! [`Verifier`] every server checks tokens with.
//!
//! - Users: tokens from the identity provider (`TANDEM_OIDC_ISSUER`, `TANDEM_OIDC_AUDIENCE`),
//!   or, in development mode only (`TANDEM_DEV_AUTH=1`), HS256 tokens signed with
//!   `TANDEM_AUTH_SECRET`. The two cannot be set together.
//! - Services: EdDSA tokens signed with their own key (`TANDEM_SERVICE_KEY[_FILE]`), checked
//!   against `TANDEM_SERVICE_PUBLIC_KEYS`. A stack of all five in one process generates its
//!   own when none are configured.

use crate::argv::secret;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use secrecy::{ExposeSecret as _, SecretString};

use crate::identity::{Identity, TokenError, TokenSigner};
use crate::oidc::{OidcConfig, OidcVerifier};
use crate::service_key::{KeySet, PublicKeys, ServiceKey, SigningKeys, names};

/// How callers are identified: flags and environment shared by every service binary and
/// `tandem up`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuthArgs {
    /// Development mode: accept user tokens signed with TANDEM_AUTH_SECRET (`tandem token`).
    /// Never in production; refused together with TANDEM_OIDC_ISSUER/TANDEM_OIDC_AUDIENCE.
    #[arg(
        long,
        env = "TANDEM_DEV_AUTH",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub dev_auth: bool,
    /// Development mode's secret for user tokens (at least 32 characters).
    #[arg(long, env = "TANDEM_AUTH_SECRET", hide = true, value_parser = secret)]
    pub auth_secret: Option<SecretString>,
    /// The identity provider's issuer URL (OpenID Connect discovery is read from it).
    #[arg(long, env = "TANDEM_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The audience user tokens must carry (Tandem's client id at the provider).
    #[arg(long, env = "TANDEM_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,
    /// CA certificates (PEM file) to trust for the identity provider besides the system's,
    /// when a private CA signed its certificate.
    #[arg(long, env = "TANDEM_OIDC_CA")]
    pub oidc_ca: Option<PathBuf>,
    /// The longest lifetime (exp - iat) accepted for a user token, in seconds: the identity
    /// provider's, and development mode's too.
    #[arg(
        long,
        env = "TANDEM_OIDC_MAX_TOKEN_LIFETIME_SECONDS",
        default_value_t = 86_400
    )]
    pub oidc_max_token_lifetime_seconds: u64,
    /// Clock difference tolerated on a user token's times, in seconds.
    #[arg(long, env = "TANDEM_OIDC_CLOCK_SKEW_SECONDS", default_value_t = 60)]
    pub oidc_clock_skew_seconds: u64,
    /// The user token claim that names the user's Tandem account.
    #[arg(
        long,
        env = "TANDEM_OIDC_ACCOUNT_CLAIM",
        default_value = "tandem_account"
    )]
    pub oidc_account_claim: String,
    /// The user token claim that carries the user's email.
    #[arg(long, env = "TANDEM_OIDC_EMAIL_CLAIM", default_value = "email")]
    pub oidc_email_claim: String,
    /// This service's private key (base64 PKCS#8 from `tandem service-keys`).
    #[arg(long, env = "TANDEM_SERVICE_KEY", hide = true, value_parser = secret)]
    pub service_key: Option<SecretString>,
    /// A file holding this service's private key (instead of TANDEM_SERVICE_KEY).
    #[arg(long, env = "TANDEM_SERVICE_KEY_FILE")]
    pub service_key_file: Option<PathBuf>,
    /// Every service's public key: `name=key,name=key,…` (`tandem service-keys`).
    #[arg(long, env = "TANDEM_SERVICE_PUBLIC_KEYS")]
    pub service_public_keys: Option<String>,
}

/// How user tokens are checked.
#[derive(Clone, Debug)]
pub enum UserTokens {
    /// HS256 with the development secret: `tandem up`, the demo, tests.
    Development(TokenSigner),
    /// The identity provider's tokens.
    Oidc(Arc<OidcVerifier>),
}

/// Checks a bearer token and says who is calling. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Verifier {
    users: UserTokens,
    services: Arc<PublicKeys>,
}

impl Verifier {
    pub fn new(users: UserTokens, services: PublicKeys) -> Self {
        Self {
            users,
            services: Arc::new(services),
        }
    }

    pub fn is_development(&self) -> bool {
        matches!(self.users, UserTokens::Development(_))
    }

    /// The identity `token` names. Its header's algorithm says which kind it claims to be:
    /// EdDSA a service, RS256/ES256 a user of the identity provider, HS256 a development user.
    pub async fn identify(&self, token: &str) -> Result<Identity, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        match (header.alg, &self.users) {
            (Algorithm::EdDSA, _) => self.services.verify(token, header.kid.as_deref()),
            (Algorithm::HS256, UserTokens::Development(signer)) => signer.verify(token),
            (Algorithm::HS256, UserTokens::Oidc(_)) => Err(TokenError::NotAccepted(
                "HS256 tokens are accepted only in development mode; use the identity provider's token",
            )),
            (_, UserTokens::Oidc(oidc)) => oidc.verify(token).await,
            (_, UserTokens::Development(_)) => Err(TokenError::NotAccepted(
                "this development deployment accepts only HS256 user tokens",
            )),
        }
    }
}

/// Identity settings, resolved: how this process checks callers and signs its own calls.
#[derive(Clone, Debug)]
pub struct Auth {
    pub verifier: Verifier,
    pub signing: SigningKeys,
}

impl Auth {
    /// The development signer, in development mode: what mints user tokens for `tandem up`
    /// users, the demo and tests.
    pub fn dev_signer(&self) -> Option<&TokenSigner> {
        match &self.verifier.users {
            UserTokens::Development(signer) => Some(signer),
            UserTokens::Oidc(_) => None,
        }
    }

    /// Development mode with `signer` and the service keys of `keys`.
    pub fn development(signer: TokenSigner, keys: &KeySet) -> Self {
        Self {
            verifier: Verifier::new(UserTokens::Development(signer), keys.public.clone()),
            signing: keys.signing.clone(),
        }
    }

    /// The five services in one process (`tandem up`): each signs with a fresh key known
    /// only to this process; the configured public keys stay trusted too (e.g. those of
    /// `tandem orchestrator` replicas beside it).
    pub fn with_own_service_keys(self) -> Self {
        let keys = KeySet::generate(&names::ALL);
        Self {
            verifier: Verifier::new(
                self.verifier.users,
                keys.public.merged(&self.verifier.services),
            ),
            signing: keys.signing,
        }
    }
}

const NEITHER: &str = "no way to identify users: set TANDEM_OIDC_ISSUER and TANDEM_OIDC_AUDIENCE (your identity provider), or TANDEM_DEV_AUTH=1 with TANDEM_AUTH_SECRET for a development stack";

impl AuthArgs {
    /// Checks the settings: exactly one way to identify users, keys that parse.
    pub fn resolve(&self) -> Result<Auth, String> {
        let users = self.user_tokens()?;
        let public = match self.service_public_keys.as_deref() {
            Some(text) => PublicKeys::parse(text).map_err(|e| e.to_string())?,
            None => PublicKeys::default(),
        };
        let signing = match (&self.service_key, &self.service_key_file) {
            (Some(_), Some(_)) => {
                return Err(
                    "set TANDEM_SERVICE_KEY or TANDEM_SERVICE_KEY_FILE, not both".to_owned(),
                );
            }
            (Some(text), None) => SigningKeys::own(
                ServiceKey::parse(text, "TANDEM_SERVICE_KEY").map_err(|e| e.to_string())?,
            ),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("TANDEM_SERVICE_KEY_FILE `{}`: {e}", path.display()))?;
                SigningKeys::own(
                    ServiceKey::parse(&SecretString::from(text), "TANDEM_SERVICE_KEY_FILE")
                        .map_err(|e| e.to_string())?,
                )
            }
            (None, None) => SigningKeys::default(),
        };
        Ok(Auth {
            verifier: Verifier::new(users, public),
            signing,
        })
    }

    fn user_tokens(&self) -> Result<UserTokens, String> {
        let oidc = self.oidc_issuer.is_some() || self.oidc_audience.is_some();
        if self.dev_auth && oidc {
            return Err("TANDEM_DEV_AUTH=1 cannot be combined with TANDEM_OIDC_ISSUER or TANDEM_OIDC_AUDIENCE: development mode accepts tokens anyone holding the shared secret can mint; unset one of them".to_owned());
        }
        if self.dev_auth {
            return self.dev_signer().map(UserTokens::Development);
        }
        if self
            .auth_secret
            .as_ref()
            .is_some_and(|s| !s.expose_secret().is_empty())
        {
            return Err(format!(
                "TANDEM_AUTH_SECRET is set without TANDEM_DEV_AUTH=1: the shared secret is for development only; {NEITHER}"
            ));
        }
        let (Some(issuer), Some(audience)) = (&self.oidc_issuer, &self.oidc_audience) else {
            return Err(if oidc {
                "set both TANDEM_OIDC_ISSUER and TANDEM_OIDC_AUDIENCE".to_owned()
            } else {
                NEITHER.to_owned()
            });
        };
        let mut config = OidcConfig::new(issuer.trim(), audience.trim());
        config.max_lifetime = self.max_token_lifetime();
        config.clock_skew = Duration::from_secs(self.oidc_clock_skew_seconds);
        config.account_claim = self.oidc_account_claim.clone();
        config.email_claim = self.oidc_email_claim.clone();
        config.ca_pem = self.oidc_ca_pem()?;
        Ok(UserTokens::Oidc(Arc::new(OidcVerifier::new(config)?)))
    }

    /// The identity provider's extra CA certificates, read from `TANDEM_OIDC_CA`.
    pub fn oidc_ca_pem(&self) -> Result<Option<Vec<u8>>, String> {
        self.oidc_ca
            .as_ref()
            .map(|path| {
                std::fs::read(path).map_err(|e| format!("TANDEM_OIDC_CA `{}`: {e}", path.display()))
            })
            .transpose()
    }

    /// The development signer (development mode's secret, checked), or how to set it.
    pub fn dev_signer(&self) -> Result<TokenSigner, String> {
        let Some(secret) = self
            .auth_secret
            .clone()
            .filter(|s| !s.expose_secret().is_empty())
        else {
            return Err("TANDEM_AUTH_SECRET is not set: set it to a random string of at least 32 characters (e.g. `openssl rand -hex 32`)".to_owned());
        };
        TokenSigner::new(secret)
            .map(|s| s.with_max_lifetime(self.max_token_lifetime()))
            .map_err(|e| e.to_string())
    }

    /// The longest a user token may live, from the provider or in development mode (0, as
    /// in `AuthArgs::default()`, is the default of a day).
    pub fn max_token_lifetime(&self) -> Duration {
        match self.oidc_max_token_lifetime_seconds {
            0 => crate::identity::DEV_MAX_LIFETIME,
            secs => Duration::from_secs(secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn dev() -> AuthArgs {
        AuthArgs {
            dev_auth: true,
            auth_secret: Some(SECRET.into()),
            ..AuthArgs::default()
        }
    }

    #[test]
    fn development_mode_refuses_to_start_beside_oidc_settings() {
        for (issuer, audience) in [
            (Some("https://id.example.com"), Some("tandem")),
            (Some("https://id.example.com"), None),
            (None, Some("tandem")),
        ] {
            let args = AuthArgs {
                oidc_issuer: issuer.map(str::to_owned),
                oidc_audience: audience.map(str::to_owned),
                ..dev()
            };
            let error = args.resolve().unwrap_err();
            assert!(
                error.contains("TANDEM_DEV_AUTH=1 cannot be combined"),
                "{error}"
            );
        }
        assert!(dev().resolve().unwrap().verifier.is_development());
    }

    #[test]
    fn the_shared_secret_alone_is_not_development_mode() {
        let args = AuthArgs {
            dev_auth: false,
            ..dev()
        };
        let error = args.resolve().unwrap_err();
        assert!(error.contains("without TANDEM_DEV_AUTH=1"), "{error}");
        let error = AuthArgs::default().resolve().unwrap_err();
        assert!(error.contains("TANDEM_OIDC_ISSUER"), "{error}");
        let half = AuthArgs {
            oidc_issuer: Some("https://id.example.com".into()),
            ..AuthArgs::default()
        };
        assert!(half.resolve().unwrap_err().contains("both"));
    }

    #[test]
    fn oidc_settings_resolve_to_the_provider() {
        let args = AuthArgs {
            oidc_issuer: Some("https://id.example.com".into()),
            oidc_audience: Some("tandem".into()),
            oidc_max_token_lifetime_seconds: 86_400,
            ..AuthArgs::default()
        };
        let auth = args.resolve().unwrap();
        assert!(!auth.verifier.is_development());
        assert!(auth.dev_signer().is_none());
        let plain = AuthArgs {
            oidc_issuer: Some("http://id.example.com".into()),
            ..args
        };
        assert!(plain.resolve().unwrap_err().contains("must be https"));
    }

    #[tokio::test]
    async fn a_stack_in_one_process_signs_and_checks_its_own_service_keys() {
        let auth = dev().resolve().unwrap().with_own_service_keys();
        let token = auth
            .signing
            .signer(names::SYNC_ORCHESTRATOR)
            .unwrap()
            .mint(Duration::from_secs(60));
        assert_eq!(
            auth.verifier.identify(&token).await,
            Ok(Identity::Service {
                name: names::SYNC_ORCHESTRATOR.into()
            })
        );
        // The development secret cannot mint a service.
        let forged = auth.dev_signer().unwrap().mint(
            &Identity::Service {
                name: names::SYNC_ORCHESTRATOR.into(),
            },
            Duration::from_secs(60),
        );
        assert_eq!(
            auth.verifier.identify(&forged).await,
            Err(TokenError::ServiceFromSecret)
        );
    }
}
