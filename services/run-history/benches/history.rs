//! run-history figures, against the local Postgres, in a database of its own:
//!   cargo bench -p run-history --bench history                 # append rate
//!   cargo bench -p run-history --bench history -- --table 10000000   # + ListEvents at 10M rows
//! Prints events/s appended over gRPC (batches of 1,000) and, with --table N, the ListEvents
//! latency for one run with N events in the table, and the query plan.

use std::time::{Duration, Instant};

use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::*;
use tandem_testkit::{TestDb, any_port, authorized, infra, service_bearer, start};

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn event(run: usize, i: usize) -> RecordEvent {
    RecordEvent {
        key: format!("{run}-{i}"),
        source_side: Side::Salesforce as i32,
        source_record_id: format!("006{i:015}"),
        target_record_id: format!("{}", 9_000_000_000u64 + i as u64),
        action: EventAction::Updated as i32,
        changes: vec![FieldChange {
            field: "Amount".to_owned(),
            before: "\"100.00\"".to_owned(),
            after: "\"250.50\"".to_owned(),
            redacted: false,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let appends = arg("--events").unwrap_or(200_000) as usize;
    let table = arg("--table");
    let db = TestDb::create().await;
    let running = start(
        run_history::bind(run_history::Config {
            listen: any_port(),
            infra: infra(&db),
            options: Default::default(),
        })
        .await
        .expect("run-history starts"),
    );
    let mut client = RunHistoryClient::new(running.channel().await);
    let svc = service_bearer("sync-orchestrator");
    let run = client
        .start_run(authorized(
            StartRunRequest {
                integration_id: "bench".to_owned(),
                owner: "ada@acme.test".to_owned(),
                trigger: Trigger::Import as i32,
                account: "acme".to_owned(),
            },
            &svc,
        ))
        .await
        .unwrap()
        .into_inner();

    let batch = 1_000;
    let started = Instant::now();
    for chunk in 0..appends.div_ceil(batch) {
        let events = (chunk * batch..((chunk + 1) * batch).min(appends))
            .map(|i| event(0, i))
            .collect();
        client
            .append_events(authorized(
                AppendEventsRequest {
                    run_id: run.id.clone(),
                    events,
                },
                &svc,
            ))
            .await
            .unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "append: {appends} events in batches of {batch} over gRPC: {:.2} s, {:.0} events/s",
        elapsed.as_secs_f64(),
        appends as f64 / elapsed.as_secs_f64()
    );

    if let Some(rows) = table {
        let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
        let runs = (rows / 1_000).max(1);
        let started = Instant::now();
        // 1,000 events per run, generated in Postgres.
        sqlx::query(
            "INSERT INTO history.runs (id, integration_id, account, owner, trigger, status, started_at)
             SELECT gen_random_uuid(), 'int-' || (g % 50), 'acme', 'ada@acme.test', 1, 2,
                    now() - (g || ' seconds')::interval
             FROM generate_series(1, $1) g",
        )
        .bind(runs as i64)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO history.events (run_id, key, source_side, source_record_id, target_record_id, action, changes)
             SELECT r.id, i::text, 1, '006' || lpad(i::text, 15, '0'), (9000000000 + i)::text, 2,
                    '[{\"field\":\"Amount\",\"before\":\"1\",\"after\":\"2\",\"redacted\":false}]'::jsonb
             FROM history.runs r, generate_series(1, 1000) i WHERE r.integration_id <> 'bench'",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("ANALYZE history.events")
            .execute(&pool)
            .await
            .unwrap();
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM history.events")
            .fetch_one(&pool)
            .await
            .unwrap();
        println!("table: {total} events in {} s", started.elapsed().as_secs());

        let target: uuid::Uuid = sqlx::query_scalar(
            "SELECT id FROM history.runs WHERE integration_id = 'int-7' LIMIT 1",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let mut latencies = Vec::new();
        let mut token = String::new();
        for _ in 0..300 {
            let t = Instant::now();
            let page = client
                .list_events(authorized(
                    ListEventsRequest {
                        run_id: target.to_string(),
                        page: Some(PageRequest {
                            page_size: Some(100),
                            page_token: token.clone(),
                        }),
                        ..Default::default()
                    },
                    &svc,
                ))
                .await
                .unwrap()
                .into_inner();
            latencies.push(t.elapsed());
            token = page.page.unwrap().next_page_token;
        }
        latencies.sort();
        println!(
            "ListEvents (100 a page, one run of 1,000, {total} events in table) over gRPC: p50 {:.2} ms, p99 {:.2} ms",
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3
        );
        let plan: Vec<String> = sqlx::query_scalar(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT run_id, seq, key, source_side, source_record_id, target_record_id,
             action, reason, changes, errors, at FROM history.events WHERE run_id = $1 ORDER BY seq DESC LIMIT 101",
        )
        .bind(target)
        .fetch_all(&pool)
        .await
        .unwrap();
        println!("plan:\n  {}", plan.join("\n  "));
        pool.close().await;
    }
    drop(running);
}
