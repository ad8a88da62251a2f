//! Start-up of the storage a service owns: its own Postgres schema with its embedded
//! migrations (idempotent), and Redis. Failures name the URL with the password redacted.

use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// What start-up of the storage ran into. Every URL in it has its secrets masked, and every
/// driver message has the URL's secrets taken out (a driver may quote what it could not parse).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("DATABASE_URL `{url}` is not a valid postgres url: {reason}")]
    BadPostgresUrl { url: String, reason: String },
    #[error("cannot reach postgres at {url}: {reason}")]
    Postgres { url: String, reason: String },
    #[error("migrating schema `{schema}` at {url} failed: {reason}")]
    Migrate {
        schema: String,
        url: String,
        reason: String,
    },
    #[error("schema name `{0}` must be lowercase letters, digits and underscores")]
    BadSchemaName(String),
    #[error("REDIS_URL `{url}` is not a valid redis url: {reason}")]
    BadRedisUrl { url: String, reason: String },
    #[error("cannot reach redis at {url}: {reason}")]
    Redis { url: String, reason: String },
}

/// `url` with any password (user info or query parameter) replaced by `***`, for messages
/// and logs.
pub fn redact_url(url: &str) -> String {
    tandem_telemetry::redact::url(url)
}

/// `error`'s message without the secrets of `url`.
fn reason(error: &impl std::fmt::Display, url: &str) -> String {
    tandem_telemetry::redact::in_message(&error.to_string(), url)
}

/// Connects to Postgres with `search_path` set to `schema` (so the service's tables and its
/// `_sqlx_migrations` live there and never collide with another service's), creates the
/// schema if needed and applies the migrations.
pub async fn connect_postgres(
    url: &str,
    schema: &str,
    migrator: &Migrator,
    max_connections: u32,
) -> Result<PgPool, StorageError> {
    let redacted = redact_url(url);
    let options: PgConnectOptions = url.parse().map_err(|e| StorageError::BadPostgresUrl {
        url: redacted.clone(),
        reason: reason(&e, url),
    })?;
    let options = options.options([("search_path", schema)]);
    // One direct connection first: its error says why (refused, auth, unknown database),
    // where a pool would only report a timeout.
    let probe = tokio::time::timeout(Duration::from_secs(5), options.connect()).await;
    match probe {
        Ok(Ok(conn)) => {
            let _ = sqlx::Connection::close(conn).await;
        }
        Ok(Err(e)) => {
            return Err(StorageError::Postgres {
                url: redacted,
                reason: reason(&e, url),
            });
        }
        Err(_) => {
            return Err(StorageError::Postgres {
                url: redacted,
                reason: "timed out after 5 s".to_owned(),
            });
        }
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| StorageError::Postgres {
            url: redacted.clone(),
            reason: reason(&e, url),
        })?;
    // Schema names are constants of each service; checked to be plain identifiers anyway.
    if schema.is_empty()
        || !schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
    {
        return Err(StorageError::BadSchemaName(schema.to_owned()));
    }
    create_schema(&pool, schema)
        .await
        .map_err(|e| StorageError::Postgres {
            url: redacted.clone(),
            reason: reason(&e, url),
        })?;
    migrator
        .run(&pool)
        .await
        .map_err(|e| StorageError::Migrate {
            schema: schema.to_owned(),
            url: redacted,
            reason: reason(&e, url),
        })?;
    Ok(pool)
}

/// Creates `schema` unless it exists. Replicas started together on a fresh database would race
/// (`CREATE SCHEMA IF NOT EXISTS` is not safe against a concurrent one: the loser fails on
/// `pg_namespace_nspname_index`), so the creation holds a transaction-scoped advisory lock
/// named after the schema; the migrations then take sqlx's own lock.
async fn create_schema(pool: &PgPool, schema: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tandem schema ' || $1))")
        .bind(schema)
        .execute(&mut *tx)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#
    )))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Connects to Redis at once (so a wrong URL fails start-up, not the first sync).
pub async fn connect_redis(url: &str) -> Result<crate::redis_conn::Redis, StorageError> {
    let redacted = redact_url(url);
    let client = redis::Client::open(url).map_err(|e| StorageError::BadRedisUrl {
        url: redacted.clone(),
        reason: reason(&e, url),
    })?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_number_of_retries(1);
    match tokio::time::timeout(
        Duration::from_secs(10),
        client.get_connection_manager_with_config(config),
    )
    .await
    {
        Ok(Ok(manager)) => Ok(crate::redis_conn::Redis::new(manager)),
        Ok(Err(e)) => Err(StorageError::Redis {
            url: redacted,
            reason: reason(&e, url),
        }),
        Err(_) => Err(StorageError::Redis {
            url: redacted,
            reason: "timed out after 10 s".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_start_up_error_never_shows_the_database_or_redis_password() {
        let migrator = sqlx::migrate::Migrator::DEFAULT;
        let cases = [
            // Unreachable (port 9), password in the query string and in the user info.
            "postgres://app@127.0.0.1:9/t?password=hunter2",
            "postgres://app:hunter2@127.0.0.1:9/t",
            // Not parseable by the driver.
            "postgres://app@127.0.0.1:notaport/t?password=hunter2",
            "postgres://app@127.0.0.1/t?password=hunter2&sslmode=bogus",
        ];
        for url in cases {
            let error = connect_postgres(url, "x", &migrator, 1)
                .await
                .unwrap_err()
                .to_string();
            assert!(!error.contains("hunter2"), "{error}");
            assert!(
                error.contains("***") || error.contains("<unparseable url>"),
                "{error}"
            );
        }
        for url in [
            "redis://:hunter2@127.0.0.1:9",
            "redis://127.0.0.1:9/?password=hunter2",
        ] {
            let error = connect_redis(url).await.err().unwrap().to_string();
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}
