//! The test harness every integration test uses: a fresh Postgres database per test (dropped
//! afterwards), unique Redis prefixes, development-mode identities (the development secret for
//! users, a key per service), and services started on port 0 in the test's own runtime.

pub mod browser;
pub mod oidc;
pub mod tls;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use secrecy::SecretString;
use sqlx::Connection as _;
use tandem_service::args::Infra;
use tandem_service::server::GrpcServer;
use tandem_service::service_key::KeySet;
use tandem_service::{Auth, Identity, TokenSigner, names};
use tokio_util::sync::CancellationToken;

/// The Postgres server tests use; `TANDEM_TEST_DATABASE_URL` overrides it.
pub fn admin_database_url() -> String {
    std::env::var("TANDEM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_owned())
}

/// The Redis tests use; `TANDEM_TEST_REDIS_URL` overrides it.
pub fn redis_url() -> String {
    std::env::var("TANDEM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The development secret tests sign user tokens with.
pub const SECRET: &str = "tandem-test-secret-0123456789abcdef";

pub fn signer() -> TokenSigner {
    TokenSigner::new(SecretString::from(SECRET.to_owned())).expect("test secret is long enough")
}

/// A key for each of the five services, the same for the whole test process.
pub fn service_keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::generate(&names::ALL))
}

/// Development mode: users by [`SECRET`], services by [`service_keys`].
pub fn auth() -> Auth {
    Auth::development(signer(), service_keys())
}

/// The environment a service binary under test needs for development mode and to call its
/// peers as `service`.
pub fn dev_auth_env(service: &str) -> Vec<(&'static str, String)> {
    use secrecy::ExposeSecret as _;
    let keys = service_keys();
    let mut env = vec![
        ("TANDEM_DEV_AUTH", "1".to_owned()),
        ("TANDEM_AUTH_SECRET", SECRET.to_owned()),
        ("TANDEM_SERVICE_PUBLIC_KEYS", keys.public_text()),
    ];
    if let Some(key) = keys.private_text(service) {
        env.push(("TANDEM_SERVICE_KEY", key.expose_secret().to_owned()));
    }
    env
}

/// `authorization` metadata value for a user of account `acme`.
pub fn user_bearer(email: &str) -> String {
    let identity = Identity::User {
        account: "acme".to_owned(),
        email: email.to_owned(),
    };
    format!(
        "Bearer {}",
        signer().mint(&identity, Duration::from_secs(600))
    )
}

/// Installs the ring crypto provider once (reqwest and sqlx need one).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A database of its own for one test, dropped (with its connections) when this is dropped.
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    pub async fn create() -> Self {
        install_crypto();
        let admin = admin_database_url();
        let name = format!("tandem_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("tests need postgres at {admin}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let url = replace_database(&admin, &name);
        Self { name, url }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let cut = base.rfind('/').unwrap_or(base.len());
    format!("{}/{name}", &base[..cut])
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = admin_database_url();
        let name = self.name.clone();
        // Drop runs outside async context guarantees: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// Infrastructure settings for a service under test.
pub fn infra(db: &TestDb) -> Infra {
    Infra {
        database_url: db.url().to_owned(),
        redis_url: redis_url(),
        redis_prefix: format!("tandem-test-{}", uuid::Uuid::new_v4().simple()),
        auth: auth(),
        tls: Default::default(),
    }
}

/// The address to bind services to in tests.
pub fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A service running in the test's runtime; stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A channel to the service (no interceptor: tests set metadata themselves).
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.url())
            .expect("valid url")
            .connect()
            .await
            .expect("connect to service under test")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Serves a bound service in the background.
pub fn start(server: GrpcServer) -> Running {
    let addr = server.local_addr().expect("bound listener has an address");
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        if let Err(e) = server.serve(token).await {
            eprintln!("service under test stopped with an error: {e}");
        }
    });
    Running { addr, shutdown }
}

/// Adds `authorization` metadata to a request.
pub fn authorized<T>(message: T, bearer: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().expect("ascii token"));
    request
}

/// `authorization` metadata value for a user of `account`.
pub fn user_bearer_in(account: &str, email: &str) -> String {
    let identity = Identity::User {
        account: account.to_owned(),
        email: email.to_owned(),
    };
    format!(
        "Bearer {}",
        signer().mint(&identity, Duration::from_secs(600))
    )
}

/// `authorization` metadata value for a Tandem service (one of [`names::ALL`]), signed with
/// its own key.
pub fn service_bearer(name: &str) -> String {
    let signer = service_keys()
        .signing
        .signer(name)
        .unwrap_or_else(|e| panic!("no test key: {e}"));
    format!("Bearer {}", signer.mint(Duration::from_secs(300)))
}
