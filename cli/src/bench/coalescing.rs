//! Scenario 3, coalescing: edits made between two cycles reach the other side as one write
//! per record holding the final values. 100 edits of one item, then a burst mix: edits drawn
//! Zipf-distributed over a set of items, in bursts with a cycle after each.

use serde_json::json;

use crate::bench::efficiency::Linked;
use crate::bench::harness;
use crate::bench::measure::{Ctx, measure};
use crate::bench::report::{Row, thousands};

pub struct Params {
    pub single_edits: usize,
    pub records: usize,
    pub edits: usize,
    pub bursts: usize,
    pub exponent: f64,
    pub seed: u64,
}

/// splitmix64: a tiny seeded generator, so the burst mix is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Samples ranks 0..n with P(k) ∝ 1/(k+1)^s.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 0..n {
            total += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf
            .partition_point(|&c| c < u)
            .min(self.cdf.len().saturating_sub(1))
    }
}

pub async fn run(ctx: &Ctx, p: &Params) -> anyhow::Result<Vec<Row>> {
    const S: &str = "3 coalescing";
    let linked = Linked::start(ctx, p.records.max(1)).await?;
    let mut rows = Vec::new();

    // 100 edits of one item inside one window.
    let item = linked.items[0];
    for e in 0..p.single_edits {
        linked
            .stack
            .monday
            .set_values(item, json!({"date4": {"date": harness::date(100 + e)}}))
            .map_err(|e| anyhow::anyhow!("editing item {item}: {e}"))?;
    }
    let params = format!("{} edits of one item in one window", p.single_edits);
    match linked.cycle(ctx, 1).await {
        Ok((_, m)) => {
            let writes = m.calls.salesforce_writes;
            rows.push(
                Row::new(S, &params, "Salesforce write calls")
                    .value(writes as f64, writes.to_string())
                    .goal("1", writes == 1),
            );
        }
        Err(e) => rows.push(Row::failed(S, params, &e)),
    }

    // A Zipf burst mix.
    let zipf = Zipf::new(p.records, p.exponent);
    let mut rng = Rng::new(p.seed);
    let per_burst = p.edits.div_ceil(p.bursts.max(1));
    let (mut edits, mut updated, mut write_calls) = (0usize, 0u64, 0usize);
    let mut edit_no = 0usize;
    let params = format!(
        "{} edits, Zipf s={} over {} items, {} bursts (a cycle after each)",
        thousands(p.edits as u64),
        p.exponent,
        thousands(p.records as u64),
        p.bursts
    );
    let mut burst_result: anyhow::Result<()> = Ok(());
    while edits < p.edits {
        let burst = per_burst.min(p.edits - edits);
        linked.age()?;
        for _ in 0..burst {
            let k = zipf.sample(&mut rng);
            edit_no += 1;
            // Dates cycle through 100 values: an edit rarely restores the value a cycle last wrote.
            let date = harness::date(200 + edit_no % 100);
            let item = linked.items[k];
            linked
                .stack
                .monday
                .set_values(item, json!({"date4": {"date": date}}))
                .map_err(|e| anyhow::anyhow!("editing item {item}: {e}"))?;
        }
        edits += burst;
        let outcome = measure(ctx, &linked.stack, async || {
            linked.stack.sync(&linked.integration).await
        })
        .await;
        match outcome {
            Ok((run, m)) => {
                updated += run.counters.unwrap_or_default().updated;
                write_calls += m.calls.salesforce_writes;
                // Read the echoes back so the next burst's cycle counts its own writes only.
                linked.stack.sync(&linked.integration).await?;
            }
            Err(e) => {
                burst_result = Err(e);
                break;
            }
        }
    }
    match burst_result {
        Ok(()) => {
            let ratio = edits as f64 / updated.max(1) as f64;
            rows.push(
                Row::new(S, &params, "edits per record written (coalescing ratio)")
                    .value(
                        ratio,
                        format!(
                            "{ratio:.2} ({} edits → {} record writes in {write_calls} calls)",
                            thousands(edits as u64),
                            thousands(updated)
                        ),
                    )
                    .note("report"),
            );
        }
        Err(e) => rows.push(Row::failed(S, params, &e)),
    }
    linked.stop().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_low_ranks_and_stays_in_range() {
        let zipf = Zipf::new(1_000, 1.0);
        let mut rng = Rng::new(7);
        let mut counts = vec![0usize; 1_000];
        for _ in 0..20_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        // P(rank 0) = 1/H(1000) ≈ 0.134.
        let top = counts[0] as f64 / 20_000.0;
        assert!((0.11..0.16).contains(&top), "{top}");
        assert!(counts[0] > counts[9] && counts[9] > counts[500]);
    }

    #[test]
    fn the_generator_is_reproducible() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        assert_eq!(
            (0..5).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
    }
}
