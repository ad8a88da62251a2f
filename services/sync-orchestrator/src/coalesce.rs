//! Step 2: coalesce. The buffer in Redis where detected changes wait for their window.
//!
//! Each detected change lands under its integration and record and is merged field-wise with
//! what is already pending: per field the newer change wins, a tie goes to the later arrival
//! (the rule of `tandem_core::PendingChange::coalesce`, applied inside Redis by a script so
//! concurrent submitters never lose an update). A record becomes *due* when its window ends —
//! `first + window` — or, in low-latency mode, when it has been quiet for the debounce,
//! whichever is sooner. `claim` moves due records to processing keys atomically; they are
//! deleted by `complete` only after their results are recorded, so a crash replays them.
//! Every key expires (a day by default), so an abandoned buffer vanishes; Redis holds nothing
//! that polling from the Postgres watermarks cannot rebuild.
//!
//! Keys (the integration id is a hash tag, so one integration's keys share a cluster slot):
//! `{prefix}:buf:{{int}}:rec:{record}` hash (`v:<field>` value, `t:<field>` change time in ms,
//! `_first`, `_last`), `…:due` sorted set (record → due time), `…:proc:{record}` claimed
//! hashes, `…:procidx` set of claimed records.

use std::collections::BTreeMap;
use std::time::Duration;

use tandem_service::Redis;

use crate::store::Side;

/// A record of one side, as the buffer keys it (its key format stays inside this module).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    pub side: Side,
    pub id: String,
}

impl RecordKey {
    pub fn new(side: Side, id: impl Into<String>) -> Self {
        Self {
            side,
            id: id.into(),
        }
    }

    fn encode(&self) -> String {
        format!("{}:{}", self.side.prefix(), self.id)
    }

    fn decode(key: &str) -> Option<RecordKey> {
        let (prefix, id) = key.split_once(':')?;
        let side = [Side::Salesforce, Side::Monday]
            .into_iter()
            .find(|s| s.prefix() == prefix)?;
        Some(RecordKey::new(side, id))
    }
}

/// The field under which a change that deleted or archived its record is marked.
pub const DELETED: &str = "__deleted";

/// One record's pending change, as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The record the change was submitted for.
    pub record: RecordKey,
    /// Field → (value as submitted, change time in ms since the epoch).
    pub fields: BTreeMap<String, (String, i64)>,
    /// When the first and the last change of this batch arrived (ms).
    pub first_ms: i64,
    pub last_ms: i64,
}

/// When pending records become due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Every change is due at most this long after the record's first pending change.
    pub window: Duration,
    /// Low-latency mode: due once quiet this long. `None` for the fixed window.
    pub debounce: Option<Duration>,
}

#[derive(Clone)]
pub struct Buffer {
    redis: Redis,
    prefix: String,
    ttl: Duration,
}

const SUBMIT: &str = r#"
-- KEYS[1] record hash, KEYS[2] due zset; ARGV: record, now, window, debounce (0 = fixed),
-- ttl, then (field, value, at) triples.
local rec, due = KEYS[1], KEYS[2]
local now, window, debounce, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 6, #ARGV, 3 do
  local field, value, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local cur = tonumber(redis.call('HGET', rec, 't:' .. field))
  if (not cur) or at >= cur then
    redis.call('HSET', rec, 'v:' .. field, value, 't:' .. field, at)
  end
end
local first = tonumber(redis.call('HGET', rec, '_first'))
if not first then
  first = now
  redis.call('HSET', rec, '_first', now)
end
redis.call('HSET', rec, '_last', now)
local at = first + window
if debounce > 0 and now + debounce < at then
  at = now + debounce
end
redis.call('ZADD', due, at, ARGV[1])
redis.call('PEXPIRE', rec, ttl)
redis.call('PEXPIRE', due, ttl)
return at
"#;

const CLAIM: &str = r#"
-- KEYS[1] due zset, KEYS[2] processing index; ARGV: key base, now, limit, ttl.
-- Returns the claimed records: an unfinished earlier claim again (replay), with the due
-- records it does not hold added up to the limit. A record still in the unfinished claim
-- keeps its newer changes in the buffer for the claim after (they are not merged into the
-- replayed values).
local due, procidx = KEYS[1], KEYS[2]
local base, now, limit, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local pending = redis.call('SMEMBERS', procidx)
local held = {}
for _, r in ipairs(pending) do
  held[r] = true
end
local room = limit - #pending
if room > 0 then
  local records = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, room + #pending)
  for _, r in ipairs(records) do
    if room > 0 and not held[r] then
      local src = base .. ':rec:' .. r
      if redis.call('EXISTS', src) == 1 then
        local dst = base .. ':proc:' .. r
        redis.call('RENAME', src, dst)
        redis.call('PEXPIRE', dst, ttl)
        redis.call('SADD', procidx, r)
        room = room - 1
      end
      redis.call('ZREM', due, r)
    end
  end
end
redis.call('PEXPIRE', procidx, ttl)
return redis.call('SMEMBERS', procidx)
"#;

impl Pending {
    /// A record due for another attempt, with no change of its own in the buffer.
    pub fn retry(record: RecordKey) -> Self {
        Pending {
            record,
            fields: BTreeMap::new(),
            first_ms: 0,
            last_ms: 0,
        }
    }

    /// Whether a webhook said the record was deleted or archived.
    pub fn deleted(&self) -> bool {
        self.fields.get(DELETED).is_some_and(|(v, _)| v == "true")
    }
}

impl Buffer {
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            ttl: Duration::from_secs(86_400),
        }
    }

    fn base(&self, integration: &str) -> String {
        format!("{}:buf:{{{integration}}}", self.prefix)
    }

    /// Merges a change of `record` into the pending buffer; returns when it becomes due (ms).
    pub async fn submit(
        &self,
        integration: &str,
        record: &RecordKey,
        fields: &[(String, String, i64)],
        now_ms: i64,
        window: Window,
    ) -> redis::RedisResult<i64> {
        let base = self.base(integration);
        let record = record.encode();
        let script = redis::Script::new(SUBMIT);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(format!("{base}:rec:{record}"))
            .key(format!("{base}:due"))
            .arg(&record)
            .arg(now_ms)
            .arg(window.window.as_millis() as i64)
            .arg(window.debounce.map_or(0, |d| d.as_millis().max(1) as i64))
            .arg(self.ttl.as_millis() as i64);
        for (field, value, at) in fields {
            invocation.arg(field).arg(value).arg(*at);
        }
        invocation.invoke_async(&mut self.redis.clone()).await
    }

    /// Claims the records due at `now_ms` (at most `limit`): an unfinished claim is replayed,
    /// with the due records it does not hold, so a cycle that failed does not hold back the
    /// changes that arrived since.
    pub async fn claim(
        &self,
        integration: &str,
        now_ms: i64,
        limit: usize,
    ) -> redis::RedisResult<Vec<Pending>> {
        let base = self.base(integration);
        let records: Vec<String> = redis::Script::new(CLAIM)
            .key(format!("{base}:due"))
            .key(format!("{base}:procidx"))
            .arg(&base)
            .arg(now_ms)
            .arg(limit)
            .arg(self.ttl.as_millis() as i64)
            .invoke_async(&mut self.redis.clone())
            .await?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for record in &records {
            pipe.hgetall(format!("{base}:proc:{record}"));
        }
        let hashes: Vec<BTreeMap<String, String>> =
            pipe.query_async(&mut self.redis.clone()).await?;
        Ok(records
            .into_iter()
            .zip(hashes)
            .filter_map(|(record, hash)| Some(decode(RecordKey::decode(&record)?, hash)))
            .collect())
    }

    /// Forgets claimed records whose results are recorded.
    pub async fn complete(
        &self,
        integration: &str,
        records: &[RecordKey],
    ) -> redis::RedisResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let records: Vec<String> = records.iter().map(RecordKey::encode).collect();
        let base = self.base(integration);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for record in &records {
            pipe.del(format!("{base}:proc:{record}")).ignore();
        }
        pipe.srem(format!("{base}:procidx"), &records).ignore();
        pipe.query_async::<()>(&mut self.redis.clone()).await
    }

    /// When the first pending record becomes due (ms), if any waits.
    pub async fn earliest_due(&self, integration: &str) -> redis::RedisResult<Option<i64>> {
        let first: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(format!("{}:due", self.base(integration)))
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(first.first().map(|(_, at)| *at as i64))
    }

    /// How many records wait in the buffer (not yet claimed).
    pub async fn pending_count(&self, integration: &str) -> redis::RedisResult<u64> {
        redis::cmd("ZCARD")
            .arg(format!("{}:due", self.base(integration)))
            .query_async(&mut self.redis.clone())
            .await
    }
}

fn decode(record: RecordKey, hash: BTreeMap<String, String>) -> Pending {
    let ms = |key: &str| hash.get(key).and_then(|v| v.parse().ok()).unwrap_or(0);
    let fields = hash
        .iter()
        .filter_map(|(k, v)| {
            let field = k.strip_prefix("v:")?;
            let at = hash.get(&format!("t:{field}"))?.parse().ok()?;
            Some((field.to_owned(), (v.clone(), at)))
        })
        .collect();
    Pending {
        fields,
        first_ms: ms("_first"),
        last_ms: ms("_last"),
        record,
    }
}
