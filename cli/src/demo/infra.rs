//! Where the demo keeps its state: a database of its own (never the user's), a Redis prefix of
//! its own, and a deployment secret (generated when none is set: the demo mints its own user
//! token).

use anyhow::Context as _;
use secrecy::SecretString;
use sqlx::Connection as _;
use tandem_service::args::Infra;
use tandem_service::service_key::KeySet;
use tandem_service::{Auth, TokenSigner, names};

/// The database the demo recreates on each run unless `--database-url` names one.
pub const DEMO_DATABASE: &str = "tandem_demo";

pub struct DemoInfra {
    pub infra: Infra,
    /// The database URL, for the demo's own reads (links) and the summary line.
    pub database_url: String,
    /// What to print about the database (no password).
    pub described: String,
}

/// Resolves the database (creating `tandem_demo` unless `given`), Redis prefix and secret.
pub async fn prepare(
    given: Option<&str>,
    server_url: &str,
    redis_url: &str,
) -> anyhow::Result<DemoInfra> {
    let (database_url, described) = match given {
        Some(url) => (url.to_owned(), format!("{} (as given)", redact(url))),
        None => {
            let url = recreate(server_url).await?;
            let described = format!("{} (fresh)", redact(&url));
            (url, described)
        }
    };
    let secret = match std::env::var("TANDEM_AUTH_SECRET") {
        Ok(s) if !s.is_empty() => s,
        // Two random UUIDs: 64 hex characters, well over the 32 the signer needs.
        _ => format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ),
    };
    let signer = TokenSigner::new(SecretString::from(secret)).map_err(|e| anyhow::anyhow!(e))?;
    // Development mode: the demo's user by the secret, each service by a key made here.
    let auth = Auth::development(signer, &KeySet::generate(&names::ALL));
    Ok(DemoInfra {
        infra: Infra {
            database_url: database_url.clone(),
            redis_url: redis_url.to_owned(),
            redis_prefix: format!("tandem-demo-{}", uuid::Uuid::new_v4().simple()),
            auth,
            tls: Default::default(),
        },
        database_url,
        described,
    })
}

/// Drops and creates `tandem_demo` on the server of `server_url`; its URL.
async fn recreate(server_url: &str) -> anyhow::Result<String> {
    let mut conn = sqlx::PgConnection::connect(server_url)
        .await
        .with_context(|| {
            format!(
                "the demo needs Postgres at {} (set DATABASE_URL or --database-url)",
                redact(server_url)
            )
        })?;
    for statement in [
        format!(r#"DROP DATABASE IF EXISTS "{DEMO_DATABASE}" WITH (FORCE)"#),
        format!(r#"CREATE DATABASE "{DEMO_DATABASE}""#),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut conn)
            .await
            .with_context(|| format!("`{statement}` on {}", redact(server_url)))?;
    }
    let _ = conn.close().await;
    Ok(with_database(server_url, DEMO_DATABASE))
}

/// `url` with its database replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_and_path = &base[scheme_end..];
    let root = match host_and_path.find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// `url` without its password.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{redact, with_database};

    #[test]
    fn the_database_is_replaced_and_parameters_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1/test", "tandem_demo"),
            "postgres://postgres@127.0.0.1/tandem_demo"
        );
        assert_eq!(
            with_database("postgres://u:p@db:5433/app?sslmode=require", "x"),
            "postgres://u:p@db:5433/x?sslmode=require"
        );
        assert_eq!(
            with_database("postgres://127.0.0.1", "x"),
            "postgres://127.0.0.1/x"
        );
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact("postgres://u:secret@db/app"),
            "postgres://u:***@db/app"
        );
        assert_eq!(redact("postgres://u@db/app"), "postgres://u@db/app");
    }
}
