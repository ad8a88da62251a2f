//! `sync.monday_webhooks`: the webhooks registered per board, and a per-board advisory lock
//! so that one replica at a time changes a board's registrations.

use sqlx::PgPool;
use sqlx::Postgres;
use sqlx::pool::PoolConnection;

/// One registered webhook.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Registered {
    pub event: String,
    pub webhook_id: String,
    pub connection_id: String,
    pub url: String,
}

#[derive(Clone)]
pub struct Registrations {
    pool: PgPool,
}

/// A board's lock, held on its own connection until [`BoardLock::release`] (or the connection
/// closes, when the replica dies).
pub struct BoardLock {
    conn: PoolConnection<Postgres>,
    key: String,
}

fn lock_key(board_id: &str) -> String {
    format!("tandem.monday_webhooks:{board_id}")
}

impl BoardLock {
    pub async fn release(mut self) {
        let released = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
            .bind(&self.key)
            .execute(&mut *self.conn)
            .await;
        if released.is_err() {
            // Never hand a connection that may still hold the lock back to the pool.
            self.conn.detach();
        }
    }
}

impl Registrations {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The board's lock, if no other replica holds it.
    pub async fn lock(&self, board_id: &str) -> Result<Option<BoardLock>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let key = lock_key(board_id);
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(&key)
                .fetch_one(&mut *conn)
                .await?;
        Ok(taken.then_some(BoardLock { conn, key }))
    }

    pub async fn of_board(&self, board_id: &str) -> Result<Vec<Registered>, sqlx::Error> {
        sqlx::query_as::<_, Registered>(
            "SELECT event, webhook_id, connection_id, url FROM monday_webhooks
             WHERE board_id = $1 ORDER BY event",
        )
        .bind(board_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Every board with a registration.
    pub async fn boards(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT DISTINCT board_id FROM monday_webhooks ORDER BY board_id")
            .fetch_all(&self.pool)
            .await
    }

    pub async fn insert(&self, board_id: &str, hook: &Registered) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO monday_webhooks (board_id, event, webhook_id, connection_id, url)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (board_id, event) DO UPDATE
             SET webhook_id = EXCLUDED.webhook_id, connection_id = EXCLUDED.connection_id,
                 url = EXCLUDED.url, created_at = now()",
        )
        .bind(board_id)
        .bind(&hook.event)
        .bind(&hook.webhook_id)
        .bind(&hook.connection_id)
        .bind(&hook.url)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove(&self, board_id: &str, event: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM monday_webhooks WHERE board_id = $1 AND event = $2")
            .bind(board_id)
            .bind(event)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
