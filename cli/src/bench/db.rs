//! A database of its own for each stack, on the Postgres server the bench was pointed at.

use anyhow::Context as _;
use sqlx::Connection as _;

/// A database created for one stack, dropped by [`BenchDb::drop_now`] (or, if the bench stops
/// early, on a best-effort basis when this is dropped).
pub struct BenchDb {
    admin_url: String,
    name: String,
    url: String,
    dropped: bool,
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let cut = match base.rfind('/') {
        Some(i) if i > base.find("//").map_or(0, |j| j + 1) => i,
        _ => base.len(),
    };
    let mut out = format!("{}/{name}", &base[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl BenchDb {
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("tandem_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| "connecting to the Postgres server of DATABASE_URL")?;
        sqlx::query(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating database {name}"))?;
        let url = replace_database(admin_url, &name);
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
            dropped: false,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn drop_now(mut self) -> anyhow::Result<()> {
        self.dropped = true;
        drop_database(&self.admin_url, &self.name).await
    }
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
    )))
    .execute(&mut conn)
    .await?;
    Ok(())
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        // Drop is not async: a thread with its own runtime does the work.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = rt.block_on(drop_database(&admin, &name));
            }
        })
        .join();
    }
}
