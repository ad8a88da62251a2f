//! Start-up of the storage a service owns: its own Postgres schema with its embedded
//! migrations (idempotent), and Redis. Failures name the URL with the password redacted.

use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("DATABASE_URL `{url}` is not a valid postgres url: {source}")]
    BadPostgresUrl { url: String, source: sqlx::Error },
    #[error("cannot reach postgres at {url}: {source}")]
    Postgres { url: String, source: sqlx::Error },
    #[error("migrating schema `{schema}` at {url} failed: {source}")]
    Migrate {
        schema: String,
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("schema name `{0}` must be lowercase letters, digits and underscores")]
    BadSchemaName(String),
    #[error("REDIS_URL `{url}` is not a valid redis url: {source}")]
    BadRedisUrl {
        url: String,
        source: redis::RedisError,
    },
    #[error("cannot reach redis at {url}: {reason}")]
    Redis { url: String, reason: String },
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparseable url>".to_owned(),
    }
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
    let options: PgConnectOptions = url.parse().map_err(|source| StorageError::BadPostgresUrl {
        url: redacted.clone(),
        source,
    })?;
    let options = options.options([("search_path", schema)]);
    // One direct connection first: its error says why (refused, auth, unknown database),
    // where a pool would only report a timeout.
    let probe = tokio::time::timeout(Duration::from_secs(5), options.connect()).await;
    match probe {
        Ok(Ok(conn)) => {
            let _ = sqlx::Connection::close(conn).await;
        }
        Ok(Err(source)) => {
            return Err(StorageError::Postgres {
                url: redacted,
                source,
            });
        }
        Err(_) => {
            return Err(StorageError::Postgres {
                url: redacted,
                source: sqlx::Error::PoolTimedOut,
            });
        }
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|source| StorageError::Postgres {
            url: redacted.clone(),
            source,
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
        .map_err(|source| StorageError::Postgres {
            url: redacted.clone(),
            source,
        })?;
    migrator
        .run(&pool)
        .await
        .map_err(|source| StorageError::Migrate {
            schema: schema.to_owned(),
            url: redacted,
            source,
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
    let client = redis::Client::open(url).map_err(|source| StorageError::BadRedisUrl {
        url: redacted.clone(),
        source,
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
            reason: e.to_string(),
        }),
        Err(_) => Err(StorageError::Redis {
            url: redacted,
            reason: "timed out after 10 s".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/tandem"),
            "postgres://app:***@db:5432/tandem"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(
            redact_url("redis://:pw@localhost:6379"),
            "redis://:***@localhost:6379"
        );
        assert_eq!(redact_url("not a url"), "<unparseable url>");
    }
}
