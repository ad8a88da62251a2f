//! The Redis connection every service uses: redis-rs's `ConnectionManager`, which reconnects
//! after a dropped connection, plus one retry of the command that found the connection
//! dropped. Without it, the first command on each connection after a Redis restart (or a
//! failover, or an idle connection cut by a proxy) fails with "broken pipe" and fails the
//! cycle or the request that sent it. The manager queues the retry behind its reconnect.
//!
//! Only errors of the connection itself are retried (I/O, dropped): a command Redis answered
//! with an error is returned as it is. Every command Tandem sends survives being sent twice
//! (sets, scripts that replay their own claims, budget counters that at worst count one
//! call more).

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisFuture, Value};

#[derive(Clone)]
pub struct Redis(ConnectionManager);

impl Redis {
    pub fn new(manager: ConnectionManager) -> Self {
        Self(manager)
    }
}

fn connection_lost(error: &redis::RedisError) -> bool {
    error.is_connection_dropped() || error.is_io_error()
}

impl ConnectionLike for Redis {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            match self.0.req_packed_command(cmd).await {
                Err(error) if connection_lost(&error) => {
                    tracing::info!(%error, "redis connection lost; retrying once on a new one");
                    self.0.req_packed_command(cmd).await
                }
                done => done,
            }
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            match self.0.req_packed_commands(pipeline, offset, count).await {
                Err(error) if connection_lost(&error) => {
                    tracing::info!(%error, "redis connection lost; retrying once on a new one");
                    self.0.req_packed_commands(pipeline, offset, count).await
                }
                done => done,
            }
        })
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}
