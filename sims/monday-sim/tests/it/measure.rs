//! Serving rates at board sizes 5,000 and 100,000 (ignored by default; a measurement, run it
//! in a release build):
//! `cargo nextest run -p monday-sim --release --run-ignored only --no-capture measure`
//!
//! For each size: a board of N items (text, status and numbers cells), then, over HTTP with
//! one keep-alive client, the rate of
//! - creates: aliased `create_item`, 499 a request (as many as the 5M complexity cap allows,
//!   as in `tandem bench --scenario throughput`'s simulator ceiling);
//! - updates: aliased `change_multiple_column_values` on items spread over the board, 499 a
//!   request;
//! - reads: the whole board through `items_page(limit: 500)` + `next_items_page`;
//! - polls: a 25-item first page of items updated since a time, oldest first (what
//!   connector-monday sends every cycle);
//! - lookups: `items_page_by_column_values` on a text column (connector-monday's
//!   check-before-create), after a first one (timed apart) has built the column's index;
//! - by ids: `items(ids:)` with 100 ids.
//!
//! Each figure stops after its sample or after `BUDGET` of wall time, whichever is first.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Value, json};

use crate::{Running, start, tandem_board};

/// Board sizes measured; `MONDAY_SIM_MEASURE_SIZES=100000` (comma-separated) picks others.
fn sizes() -> Vec<usize> {
    std::env::var("MONDAY_SIM_MEASURE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![5_000, 100_000])
}

const BUDGET: Duration = Duration::from_secs(20);
const PER_REQUEST: usize = 499;
const ITEM: &str = "id name updated_at column_values { id type text value }";

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

/// A response read only as far as a figure needs: the client builds no tree of every item's
/// cells, so it takes little of the two cores it shares with the simulator.
#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    errors: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Page {
    cursor: Option<String>,
    items: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct FirstPage {
    boards: Vec<BoardPage>,
}

#[derive(Deserialize)]
struct BoardPage {
    items_page: Page,
}

#[derive(Deserialize)]
struct NextPage {
    next_items_page: Page,
}

#[derive(Deserialize)]
struct Items {
    items: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct Lookup {
    items_page_by_column_values: Page,
}

impl Client {
    async fn post<T: DeserializeOwned>(&self, query: &str, variables: Value) -> T {
        let r = self
            .http
            .post(&self.url)
            .header("Authorization", &self.token)
            .header("API-Version", "2025-10")
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request");
        let body = r.bytes().await.expect("body");
        let text = || String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
        let env: Envelope<T> =
            serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {}", text()));
        assert!(env.errors.is_none(), "{}", text());
        env.data.unwrap_or_else(|| panic!("no data: {}", text()))
    }
}

/// CPU time of this process's threads so far (the simulator and its client), in
/// nanoseconds from each thread's `/proc/self/task/*/schedstat`.
fn cpu() -> Duration {
    let tasks = std::fs::read_dir("/proc/self/task").into_iter().flatten();
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

/// Units done per second of wall time and per second of the process's CPU time (the second
/// is steadier on a machine shared with other work).
struct Figure {
    per_s: f64,
    per_cpu_s: f64,
    done: usize,
}

impl Figure {
    fn since(t: Instant, cpu0: Duration, done: usize) -> Figure {
        let cpu_s = cpu().saturating_sub(cpu0).as_secs_f64().max(1e-6);
        Figure {
            per_s: done as f64 / t.elapsed().as_secs_f64(),
            per_cpu_s: done as f64 / cpu_s,
            done,
        }
    }

    fn cell(&self) -> String {
        format!("{:>7.0} ({:>7.0})", self.per_s, self.per_cpu_s)
    }
}

/// Runs `step` until it has done `sample` units or `BUDGET` passed.
async fn rate<F: AsyncFnMut(usize) -> usize>(sample: usize, mut step: F) -> Figure {
    let (t, cpu0) = (Instant::now(), cpu());
    let mut done = 0;
    while done < sample && t.elapsed() < BUDGET {
        done += step(done).await;
    }
    Figure::since(t, cpu0, done)
}

fn seeded(sim: &Running, account_id: i64, n: usize) -> (i64, Vec<i64>) {
    let board = tandem_board(&sim.handle, account_id);
    let ids = (0..n)
        .map(|k| {
            sim.handle
                .create_item(
                    board,
                    None,
                    &format!("item {k}"),
                    json!({"text": format!("SF-{k}"), "status": {"label": "Done"}, "numbers": "5"}),
                )
                .expect("seed item")
        })
        .collect();
    (board, ids)
}

fn aliased(from: usize, count: usize, f: impl Fn(usize) -> String) -> String {
    let body: Vec<String> = (from..from + count).map(&f).collect();
    format!("mutation {{ {} }}", body.join(" "))
}

async fn measure_at(n: usize) -> String {
    let sim = start(monday_sim::Config {
        max_items_per_board: 250_000,
        complexity_budget_per_minute: 100_000_000_000,
        requests_per_minute: 1_000_000,
        ..Default::default()
    })
    .await;
    let acct = sim
        .handle
        .create_account("Acme", "Ann Admin", "ann@acme.test");
    let seed = Instant::now();
    let (board, ids) = seeded(&sim, acct.account_id, n);
    let seed_s = seed.elapsed().as_secs_f64();
    let c = Client {
        http: reqwest::Client::new(),
        url: sim.url.clone(),
        token: acct.token.clone(),
    };
    let values = json!({"status": {"label": "Stuck"}, "text": "created"}).to_string();
    let values = serde_json::to_string(&values).unwrap();
    let creates = rate(5_000, async |done| {
        let batch = PER_REQUEST.min(5_000 - done);
        let q = aliased(done, batch, |i| {
            format!("c{i}: create_item(board_id: {board}, item_name: \"new {i}\", column_values: {values}) {{ id }}")
        });
        c.post::<IgnoredAny>(&q, json!({})).await;
        batch
    })
    .await;
    let stride = (n / 5_000).max(1);
    let updates = rate(5_000, async |done| {
        let batch = PER_REQUEST.min(5_000 - done);
        let q = aliased(done, batch, |i| {
            let item = ids[(i * stride) % ids.len()];
            let v = serde_json::to_string(&json!({"text": format!("u{i}"), "numbers": i.to_string()}).to_string()).unwrap();
            format!("u{i}: change_multiple_column_values(board_id: {board}, item_id: {item}, column_values: {v}) {{ id }}")
        });
        c.post::<IgnoredAny>(&q, json!({})).await;
        batch
    })
    .await;
    let first = format!(
        "query ($b: [ID!]) {{ boards(ids: $b) {{ items_page(limit: 500) {{ cursor items {{ {ITEM} }} }} }} }}"
    );
    let next = format!(
        "query ($c: String!) {{ next_items_page(cursor: $c, limit: 500) {{ cursor items {{ {ITEM} }} }} }}"
    );
    let reads = read_whole_board(&c, board, &first, &next).await;
    assert_eq!(
        reads.done,
        n + creates.done,
        "a full pass reads every item once"
    );
    let since = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let poll = format!(
        "query ($b: [ID!], $qp: ItemsQuery) {{ boards(ids: $b) {{ items_page(limit: 25, query_params: $qp) {{ cursor items {{ {ITEM} }} }} }} }}"
    );
    let qp = json!({"rules": [{"column_id": "__last_updated__", "compare_value": ["EXACT", since], "compare_attribute": "UPDATED_AT", "operator": "greater_than_or_equals"}],
                    "order_by": [{"column_id": "__last_updated__", "direction": "asc"}]});
    let polls = rate(10_000, async |_| {
        c.post::<FirstPage>(&poll, json!({"b": [board.to_string()], "qp": qp}))
            .await;
        1
    })
    .await;
    let lookup = "query ($b: ID!, $v: [String]!) { items_page_by_column_values(board_id: $b, limit: 50, columns: [{column_id: \"text\", column_values: $v}]) { cursor items { id } } }";
    // The first lookup on a column builds its text index (once per board and column).
    let t = Instant::now();
    let _: Lookup = c
        .post(lookup, json!({"b": board.to_string(), "v": ["SF-0"]}))
        .await;
    let first_lookup_ms = t.elapsed().as_secs_f64() * 1000.0;
    let lookups = rate(10_000, async |k| {
        let r: Lookup = c
            .post(
                lookup,
                json!({"b": board.to_string(), "v": [format!("SF-{}", (k * 7919) % n)]}),
            )
            .await;
        assert!(r.items_page_by_column_values.items.len() <= 1);
        1
    })
    .await;
    let by_ids = format!("query ($ids: [ID!]) {{ items(ids: $ids, limit: 100) {{ {ITEM} }} }}");
    let by_id = rate(100_000, async |done| {
        let chunk: Vec<String> = (0..100)
            .map(|i| ids[(done + i * stride) % ids.len()].to_string())
            .collect();
        let items: Items = c.post(&by_ids, json!({"ids": chunk})).await;
        assert_eq!(items.items.len(), 100);
        100
    })
    .await;
    let figures = [creates, updates, reads, polls, lookups, by_id].map(|f| f.cell());
    format!(
        "| {n:>7} | {} | seeded in {seed_s:.1} s; first lookup {first_lookup_ms:.0} ms |",
        figures.join(" | ")
    )
}

/// Every item of the board, 500 a page; items per second and how many were read.
async fn read_whole_board(c: &Client, board: i64, first: &str, next: &str) -> Figure {
    let (t, cpu0) = (Instant::now(), cpu());
    let mut read = 0;
    let first: FirstPage = c.post(first, json!({"b": [board.to_string()]})).await;
    let mut page = first
        .boards
        .into_iter()
        .next()
        .expect("the board")
        .items_page;
    loop {
        read += page.items.len();
        let Some(cursor) = page.cursor else {
            break;
        };
        page = c
            .post::<NextPage>(next, json!({"c": cursor}))
            .await
            .next_items_page;
    }
    Figure::since(t, cpu0, read)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn measure_serving_rates_at_five_thousand_and_a_hundred_thousand_items() {
    let mut lines = vec![
        "per second of wall time (per second of the process's CPU time)".to_string(),
        "| items | creates/s | updates/s | items read/s | polls/s | lookups/s | items by id/s | |"
            .to_string(),
        "|---|---|---|---|---|---|---|---|".to_string(),
    ];
    for n in sizes() {
        lines.push(measure_at(n).await);
    }
    println!("{}", lines.join("\n"));
}
