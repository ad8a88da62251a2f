//! What replicas of the ingress share through Redis: the events (and token ids) already taken,
//! remembered for their token's lifetime so a replayed delivery is refused, and a per-account
//! count of deliveries per minute, so one account cannot flood the orchestrator.

use redis::AsyncCommands;
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct Guard {
    redis: tandem_service::Redis,
    prefix: String,
    per_minute: u64,
}

impl Guard {
    pub fn new(redis: tandem_service::Redis, prefix: &str, per_minute: u64) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            per_minute,
        }
    }

    /// Counts one delivery for `account` in the minute of `now` (unix seconds); false once the
    /// account is past its limit for that minute.
    pub async fn admit(&self, account: &str, now: i64) -> Result<bool, redis::RedisError> {
        let key = format!(
            "{}:monday:webhook:rate:{account}:{}",
            self.prefix,
            now.div_euclid(60)
        );
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .expire(&key, 120)
            .ignore()
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(count <= self.per_minute)
    }

    /// Remembers `marks` (see [`marks`]) for `ttl_secs`; false if any was remembered already —
    /// the delivery is a replay. Marks set before a refusal are left: they are replays too.
    pub async fn first_sight(
        &self,
        marks: &[String],
        ttl_secs: u64,
    ) -> Result<bool, redis::RedisError> {
        let mut redis = self.redis.clone();
        for mark in marks {
            let set: Option<String> = redis::cmd("SET")
                .arg(self.key(mark))
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(ttl_secs.max(1))
                .query_async(&mut redis)
                .await?;
            if set.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Forgets `marks`, so monday's retry of a delivery that was not taken is accepted.
    pub async fn forget(&self, marks: &[String]) {
        let keys: Vec<String> = marks.iter().map(|m| self.key(m)).collect();
        let mut redis = self.redis.clone();
        if let Err(error) = redis.del::<_, ()>(keys).await {
            tracing::warn!(%error, "webhook replay marks not cleared in redis");
        }
    }

    fn key(&self, mark: &str) -> String {
        format!("{}:monday:webhook:seen:{mark}", self.prefix)
    }
}

/// What identifies a delivery: the SHA-256 of its event (re-serialised, so whitespace and key
/// order do not make a replay new) and the token's `jti`, if it has one.
pub fn marks(payload: &serde_json::Value, jti: Option<&str>) -> Vec<String> {
    let mut canonical = String::new();
    write_canonical(payload, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    let mut marks = vec![format!(
        "body:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )];
    if let Some(jti) = jti {
        let digest = Sha256::digest(jti.as_bytes());
        marks.push(format!(
            "jti:{}",
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ));
    }
    marks
}

/// `value` as JSON with every object's keys in order, whatever order they came in.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::from(key.as_str()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_same_event_in_another_spelling_has_the_same_mark() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"event": {"type": "x", "pulseId": 1}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "event":{"pulseId":1,   "type":"x"} }"#).unwrap();
        assert_eq!(marks(&a, None), marks(&b, None));
        assert_ne!(
            marks(&a, None),
            marks(&json!({"event": {"type": "x", "pulseId": 2}}), None)
        );
        assert_eq!(marks(&a, Some("j")).len(), 2);
    }
}
