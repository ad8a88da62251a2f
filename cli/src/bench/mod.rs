//! `tandem bench`: reproducible scenarios against the simulators and a real Postgres and
//! Redis, run in this process through `tandem_stack::Embedded`, printed as one table of
//! figures with the parameters each was measured with (docs/performance.md explains them).
//! Every scenario starts a stack of its own on a database of its own, dropped at the end.

mod apart;
mod both_ways;
mod budget;
mod change_events;
mod coalescing;
mod db;
mod efficiency;
mod fleet;
mod fleet_kill;
mod harness;
mod latency;
mod measure;
mod memory;
mod procstat;
mod report;
mod spans;
mod throughput;

use std::time::{Duration, Instant};

use clap::ValueEnum;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use harness::Infra;
use measure::Ctx;
use report::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// 1: Salesforce write calls and monday requests for N changed records.
    Write,
    /// 2: Salesforce read calls for a cycle with M changed; calls of an empty cycle.
    Read,
    /// 3: edits per write, one record and a Zipf burst mix.
    Coalescing,
    /// 4: an import each way: records/s, CPU per record, where the time goes.
    Throughput,
    /// 5: edit-to-visible time with webhooks and with polling only.
    Latency,
    /// 6: RSS at rest and during a cycle with L links.
    Memory,
    /// 7: projected calls per day for a polled board, and the warning.
    Budget,
    /// 8: many integrations on several orchestrator replicas; a replica killed (not in `all`:
    /// it lasts two poll intervals and more).
    Fleet,
    All,
}

const EVERY: [Scenario; 7] = [
    Scenario::Write,
    Scenario::Read,
    Scenario::Coalescing,
    Scenario::Throughput,
    Scenario::Latency,
    Scenario::Memory,
    Scenario::Budget,
];

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Scenarios to run (repeatable); all by default.
    #[arg(long = "scenario", value_enum)]
    scenarios: Vec<Scenario>,
    /// Small sizes everywhere (a smoke run in seconds); explicit size flags still win.
    #[arg(long)]
    quick: bool,
    /// Print JSON lines instead of the table.
    #[arg(long)]
    json: bool,
    /// The Postgres server; a database `tandem_bench_<random>` is created on it per scenario
    /// and dropped afterwards.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1/test",
        hide_env_values = true
    )]
    database_url: String,
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true
    )]
    redis_url: String,
    /// Scenario 1: numbers of changed records (5,000 is the largest monday-bound batch a
    /// cycle survives today; 10,000 is the issue's).
    #[arg(long, value_delimiter = ',')]
    write_sizes: Option<Vec<usize>>,
    /// Scenario 2: numbers of changed records per poll cycle.
    #[arg(long, value_delimiter = ',')]
    read_sizes: Option<Vec<usize>>,
    /// Scenario 3: edits of one record inside a window.
    #[arg(long)]
    coalesce_edits: Option<usize>,
    /// Scenario 3: records the burst mix is spread over.
    #[arg(long)]
    zipf_records: Option<usize>,
    /// Scenario 3: edits in the burst mix.
    #[arg(long)]
    zipf_edits: Option<usize>,
    /// Scenario 3: bursts (a cycle after each).
    #[arg(long)]
    zipf_bursts: Option<usize>,
    /// Scenario 3: the Zipf exponent.
    #[arg(long, default_value_t = 1.0)]
    zipf_exponent: f64,
    /// Scenario 4: records imported monday → Salesforce (below Bulk API's threshold, and
    /// through it at 20,000 and 100,000).
    #[arg(long, value_delimiter = ',')]
    import_records: Option<Vec<usize>>,
    /// Scenario 4: records imported Salesforce → monday (monday's budget allows about 1,000
    /// creates a minute: 5,000 take five minutes; 0: none).
    #[arg(long, value_delimiter = ',')]
    monday_import_records: Option<Vec<usize>>,
    /// Scenario 4: records of the import killed half way and run again (0: none).
    #[arg(long)]
    resume_records: Option<usize>,
    /// Scenario 4: latency injected into every Salesforce call, in milliseconds.
    #[arg(long, default_value_t = 250)]
    salesforce_latency_ms: u64,
    /// Scenario 4: latency injected into every monday request, in milliseconds.
    #[arg(long, default_value_t = 400)]
    monday_latency_ms: u64,
    /// Scenario 5: single edits timed with webhooks on.
    #[arg(long)]
    latency_samples: Option<usize>,
    /// Scenario 5: single monday edits timed to Salesforce with the webhooks Tandem registers
    /// itself (then a burst both ways, and the echo check).
    #[arg(long)]
    registered_webhook_samples: Option<usize>,
    /// Scenario 5: single Salesforce edits timed to monday with change events (CDC).
    #[arg(long)]
    change_event_samples: Option<usize>,
    /// Scenario 5: single edits timed with polling only (each takes about one interval).
    #[arg(long)]
    poll_samples: Option<usize>,
    /// Scenario 5: the poll interval in seconds (30 is the shortest Tandem accepts).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(30..=86_400))]
    poll_interval: u32,
    /// Scenario 6: linked pairs.
    #[arg(long)]
    memory_links: Option<usize>,
    /// Scenario 7: the board's poll interval in minutes.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_440))]
    budget_poll_minutes: u32,
    /// Scenario 7: record changes a day (both sides together).
    #[arg(long, default_value_t = 2_000)]
    budget_changes_per_day: u64,
    /// Scenario 8: integrations in the fleet.
    #[arg(long)]
    fleet_integrations: Option<usize>,
    /// Scenario 8: integrations per tenant (a Tandem account, monday account and org each).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    fleet_per_tenant: u64,
    /// Scenario 8: orchestrator replicas, each its own process.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    fleet_replicas: u64,
    /// Scenario 8: the integrations' poll interval in seconds.
    #[arg(long, value_parser = clap::value_parser!(u32).range(30..=86_400))]
    fleet_interval: Option<u32>,
    /// Scenario 8: whole poll intervals measured.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100))]
    fleet_intervals: u32,
    /// Scenario 8: the fraction of boards that get a new item each interval.
    #[arg(long, default_value_t = 0.05)]
    fleet_changing: f64,
    /// Scenario 8: the replicas' scheduler tick (how often they read integration changes).
    #[arg(long, default_value_t = 5_000)]
    fleet_tick_ms: u64,
    /// Scenario 8: stream Salesforce change events too (a polled fleet without).
    #[arg(long)]
    fleet_change_events: bool,
}

/// Sizes: the flag if given, else the quick or the full default.
fn pick<T: Clone>(flag: &Option<T>, quick: bool, small: T, full: T) -> T {
    flag.clone().unwrap_or(if quick { small } else { full })
}

fn install_tracing() -> spans::Spans {
    let spans = spans::Spans::default();
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error")));
    let _ = tracing_subscriber::registry()
        .with(spans.clone())
        .with(log)
        .try_init();
    spans
}

/// A line saying where the figures were measured.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or_else(String::new, |kb| {
            format!(", {:.1} GiB RAM", kb as f64 / 1_048_576.0)
        });
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!("{cpus} CPUs ({model}){memory}, {build} build")
}

/// Sizes that cannot describe a scenario are refused before anything starts.
fn check(args: &BenchArgs) -> anyhow::Result<()> {
    let positive = |name: &str, values: &[usize]| {
        if values.contains(&0) {
            anyhow::bail!("--{name} must hold sizes of at least 1, not 0");
        }
        Ok(())
    };
    positive(
        "import-records",
        args.import_records.as_deref().unwrap_or_default(),
    )?;
    for (name, value) in [
        ("memory-links", args.memory_links),
        ("zipf-records", args.zipf_records),
        ("zipf-bursts", args.zipf_bursts),
        ("coalesce-edits", args.coalesce_edits),
    ] {
        positive(name, &value.into_iter().collect::<Vec<_>>())?;
    }
    if !(args.fleet_changing.is_finite() && (0.0..=1.0).contains(&args.fleet_changing)) {
        anyhow::bail!(
            "--fleet-changing must be a fraction from 0 to 1, not {}",
            args.fleet_changing
        );
    }
    positive(
        "fleet-integrations",
        &args.fleet_integrations.into_iter().collect::<Vec<_>>(),
    )?;
    if !(args.zipf_exponent.is_finite() && args.zipf_exponent >= 0.0) {
        anyhow::bail!(
            "--zipf-exponent must be a number ≥ 0, not {}",
            args.zipf_exponent
        );
    }
    Ok(())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    check(&args)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let spans = install_tracing();
    let ctx = Ctx {
        infra: Infra {
            database_url: args.database_url.clone(),
            redis_url: args.redis_url.clone(),
        },
        spans,
    };
    let q = args.quick;
    let selected: Vec<Scenario> =
        if args.scenarios.is_empty() || args.scenarios.contains(&Scenario::All) {
            EVERY.to_vec()
        } else {
            EVERY
                .iter()
                .copied()
                .chain([Scenario::Fleet])
                .filter(|s| args.scenarios.contains(s))
                .collect()
        };
    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    for scenario in selected {
        let began = Instant::now();
        let result = match scenario {
            Scenario::Write => {
                let sizes = pick(
                    &args.write_sizes,
                    q,
                    vec![1, 200, 201],
                    vec![1, 199, 200, 201, 5_000, 10_000],
                );
                efficiency::write(&ctx, &sizes).await
            }
            Scenario::Read => {
                let sizes = pick(
                    &args.read_sizes,
                    q,
                    vec![1, 201],
                    vec![1, 2_000, 2_001, 10_000],
                );
                efficiency::read(&ctx, &sizes).await
            }
            Scenario::Coalescing => {
                let params = coalescing::Params {
                    single_edits: pick(&args.coalesce_edits, q, 20, 100),
                    records: pick(&args.zipf_records, q, 50, 1_000),
                    edits: pick(&args.zipf_edits, q, 200, 10_000),
                    bursts: pick(&args.zipf_bursts, q, 2, 10),
                    exponent: args.zipf_exponent,
                    seed: 42,
                };
                coalescing::run(&ctx, &params).await
            }
            Scenario::Throughput => {
                let params = throughput::Params {
                    salesforce_bound: pick(
                        &args.import_records,
                        q,
                        vec![500],
                        vec![5_000, 20_000, 100_000],
                    ),
                    monday_bound: pick(&args.monday_import_records, q, vec![100], vec![5_000])
                        .into_iter()
                        .filter(|&n| n > 0)
                        .collect(),
                    salesforce_latency: Duration::from_millis(if q {
                        10
                    } else {
                        args.salesforce_latency_ms
                    }),
                    monday_latency: Duration::from_millis(if q {
                        10
                    } else {
                        args.monday_latency_ms
                    }),
                    resume_records: pick(&args.resume_records, q, 0, 100_000),
                };
                throughput::run(&ctx, &params).await
            }
            Scenario::Latency => {
                let params = latency::Params {
                    webhook_samples: pick(&args.latency_samples, q, 3, 20),
                    poll_samples: pick(&args.poll_samples, q, 0, 6),
                    poll_interval_s: args.poll_interval,
                    debounce_s: 1,
                };
                let cdc = pick(&args.change_event_samples, q, 3, 50);
                let hooks = pick(&args.registered_webhook_samples, q, 3, 50);
                async {
                    let mut rows = latency::run(&ctx, &params).await?;
                    rows.extend(change_events::run(&ctx, cdc).await?);
                    rows.extend(both_ways::run(&ctx, hooks).await?);
                    Ok(rows)
                }
                .await
            }
            Scenario::Memory => {
                let links = pick(&args.memory_links, q, 1_000, 100_000);
                memory::run(&ctx, links).await
            }
            Scenario::Budget => {
                let params = budget::Params {
                    poll_minutes: args.budget_poll_minutes,
                    changes_per_day: args.budget_changes_per_day,
                };
                budget::run(&ctx, &params).await
            }
            Scenario::Fleet => {
                let params = fleet::Params {
                    integrations: pick(&args.fleet_integrations, q, 200, 10_000),
                    per_tenant: args.fleet_per_tenant as usize,
                    replicas: args.fleet_replicas as usize,
                    interval_s: pick(&args.fleet_interval, q, 30, 180),
                    intervals: args.fleet_intervals,
                    changing: args.fleet_changing,
                    tick_ms: args.fleet_tick_ms,
                    change_events: args.fleet_change_events,
                };
                fleet::run(&ctx, &params).await
            }
            Scenario::All => Ok(Vec::new()),
        };
        let name = format!("{scenario:?}").to_lowercase();
        match result {
            Ok(mut r) => rows.append(&mut r),
            Err(e) => rows.push(Row::failed(&name, "", &e)),
        }
        eprintln!(
            "tandem bench: {name} done in {:.1} s",
            began.elapsed().as_secs_f64()
        );
    }
    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
    } else {
        println!("Machine: {}", machine());
        println!();
        print!("{}", report::table(&rows));
        println!();
        println!("Total: {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}
