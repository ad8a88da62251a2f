//! The `import_progress` table: where an import's next page starts, so an import that
//! stopped resumes from the last page it committed.

use super::{Fenced, Side, Store};

/// An import that read some pages and has not finished.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Progress {
    pub source: i16,
    pub page_token: String,
    pub pages: i32,
    pub records: i64,
    pub total: i64,
    pub started_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
}

impl Store {
    /// The unfinished import of the integration, if there is one.
    pub async fn import_progress(
        &self,
        integration: &str,
    ) -> Result<Option<Progress>, sqlx::Error> {
        sqlx::query_as(
            "SELECT source, page_token, pages, records, total, started_at, updated_at FROM import_progress
             WHERE integration_id = $1",
        )
        .bind(integration)
        .fetch_optional(&self.pool)
        .await
    }
}

impl Fenced<'_> {
    /// Notes that the import read `records` more records and goes on at `next` — or, with
    /// `next` `None`, that it read its last page. `total` (the first page's count of the
    /// source, else 0) is kept from the first page on.
    pub async fn set_import_progress(
        &mut self,
        source: Side,
        next: Option<&str>,
        records: i64,
        total: i64,
    ) -> Result<(), sqlx::Error> {
        let Some(next) = next else {
            sqlx::query("DELETE FROM import_progress WHERE integration_id = $1")
                .bind(&self.integration)
                .execute(&mut *self.tx)
                .await?;
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO import_progress (integration_id, source, page_token, pages, records, total)
             VALUES ($1, $2, $3, 1, $4, $5)
             ON CONFLICT (integration_id) DO UPDATE SET source = $2, page_token = $3,
               pages = CASE WHEN import_progress.source = $2 THEN import_progress.pages + 1 ELSE 1 END,
               records = CASE WHEN import_progress.source = $2 THEN import_progress.records + $4 ELSE $4 END,
               total = CASE WHEN $5 > 0 THEN $5 ELSE import_progress.total END,
               updated_at = now()",
        )
        .bind(&self.integration)
        .bind(source as i16)
        .bind(next)
        .bind(records)
        .bind(total)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
