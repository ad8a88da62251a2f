//! Did both sides converge? For every live link every mapped field is equal on both sides
//! (compared as [`Sides`] renders them: label text against picklist value, numbers as numbers,
//! people by email), every item and every opportunity is linked exactly once, and nothing was
//! duplicated.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use sqlx::PgPool;
use tandem_proto::v1 as pb;

use super::ORG;
use super::report;
use super::sides::{Sides, graphql};

/// Mapped values of linked records at one moment, for "what moved" in a cycle block.
#[derive(Debug, Default)]
pub struct Values {
    /// (monday column, Salesforce field) of every mapping.
    pub mappings: Vec<(String, String)>,
    pub salesforce: BTreeMap<String, BTreeMap<String, String>>,
    pub monday: BTreeMap<String, BTreeMap<String, String>>,
}

pub fn mappings(integration: &pb::Integration) -> Vec<(String, String)> {
    integration
        .spec
        .iter()
        .flat_map(|s| &s.mappings)
        .map(|m| (m.monday_column_id.clone(), m.salesforce_field.clone()))
        .collect()
}

/// The live links (Salesforce id, monday item id) of the integration.
pub async fn links(pool: &PgPool, integration_id: &str) -> anyhow::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT salesforce_id, monday_item_id FROM sync.links \
         WHERE integration_id = $1 AND unlinked_at IS NULL ORDER BY salesforce_id",
    )
    .bind(integration_id)
    .fetch_all(pool)
    .await
    .context("reading the integration's links")
}

pub async fn snapshot(
    pool: &PgPool,
    sides: &Sides,
    integration: &pb::Integration,
) -> anyhow::Result<Values> {
    let mappings = mappings(integration);
    let mut values = Values::default();
    for (sf, mo) in links(pool, &integration.id).await? {
        values
            .salesforce
            .insert(sf.clone(), salesforce_values(sides, &mappings, &sf));
        values
            .monday
            .insert(mo.clone(), monday_values(sides, &mappings, &mo));
    }
    values.mappings = mappings;
    Ok(values)
}

pub fn salesforce_values(
    sides: &Sides,
    mappings: &[(String, String)],
    id: &str,
) -> BTreeMap<String, String> {
    let Some(record) = sides.salesforce.record(ORG, id) else {
        return BTreeMap::new();
    };
    mappings
        .iter()
        .map(|(_, f)| (f.clone(), sides.salesforce_value(&record, f)))
        .collect()
}

pub fn monday_values(
    sides: &Sides,
    mappings: &[(String, String)],
    id: &str,
) -> BTreeMap<String, String> {
    let Some(item) = id.parse().ok().and_then(|id| sides.monday.item(id)) else {
        return BTreeMap::new();
    };
    mappings
        .iter()
        .map(|(c, _)| (c.clone(), sides.monday_value(&item, c)))
        .collect()
}

/// The outcome of the convergence check.
#[derive(Debug)]
pub struct Verdict {
    pub links: usize,
    pub items: usize,
    pub opportunities: usize,
    pub fields_compared: usize,
    pub fields_different: usize,
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn print(&self) {
        report::section("Converged?");
        report::kv(
            "linked pairs",
            &format!(
                "{} (monday items {}, opportunities {})",
                self.links, self.items, self.opportunities
            ),
        );
        report::kv(
            "fields equal",
            &format!(
                "{} of {} compared",
                self.fields_compared - self.fields_different,
                self.fields_compared
            ),
        );
        if self.problems.is_empty() {
            report::kv("verdict", "yes: both sides hold the same data");
        } else {
            report::kv("verdict", "NO");
            for p in self.problems.iter().take(10) {
                report::note(&format!("  {p}"));
            }
        }
    }

    pub fn into_result(self) -> anyhow::Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let more = match self.problems.len() {
            n if n > 3 => format!(" (and {} more)", n - 3),
            _ => String::new(),
        };
        anyhow::bail!(
            "the sides did not converge: {}{more}",
            self.problems
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        )
    }
}

pub async fn converged(
    pool: &PgPool,
    sides: &Sides,
    integration: &pb::Integration,
    monday_api_url: &str,
) -> anyhow::Result<Verdict> {
    let mappings = mappings(integration);
    let links = links(pool, &integration.id).await?;
    let data = graphql(
        monday_api_url,
        &sides.monday_token,
        &format!(
            "{{ boards(ids: [{}]) {{ items_page(limit: 500) {{ items {{ id }} }} }} }}",
            sides.board_id
        ),
    )
    .await?;
    let items: BTreeSet<String> = data["boards"][0]["items_page"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect();
    let opportunities = sides.salesforce.count(ORG, "Opportunity");
    let mut problems = Vec::new();
    let linked_items: BTreeSet<&String> = links.iter().map(|(_, m)| m).collect();
    let linked_records: BTreeSet<&String> = links.iter().map(|(s, _)| s).collect();
    if linked_items.len() != links.len() || linked_records.len() != links.len() {
        problems.push("a record is linked twice".to_owned());
    }
    for item in items.iter().filter(|i| !linked_items.contains(i)) {
        problems.push(format!(
            "monday item \"{}\" ({item}) has no Salesforce opportunity",
            sides.item_name(item)
        ));
    }
    if opportunities != links.len() {
        problems.push(format!(
            "{opportunities} opportunities but {} linked pairs (a duplicate or an unsynced record)",
            links.len()
        ));
    }
    if items.len() != links.len() {
        problems.push(format!(
            "{} monday items but {} linked pairs",
            items.len(),
            links.len()
        ));
    }
    let (mut compared, mut different) = (0, 0);
    for (sf, mo) in &links {
        let left = salesforce_values(sides, &mappings, sf);
        let right = monday_values(sides, &mappings, mo);
        for (column, field) in &mappings {
            compared += 1;
            let (a, b) = (
                left.get(field).map_or("", String::as_str),
                right.get(column).map_or("", String::as_str),
            );
            if a != b {
                different += 1;
                problems.push(format!(
                    "\"{}\": {field} is {a:?} in Salesforce but {} is {b:?} on monday",
                    sides.item_name(mo),
                    sides.column_title(column)
                ));
            }
        }
    }
    Ok(Verdict {
        links: links.len(),
        items: items.len(),
        opportunities,
        fields_compared: compared,
        fields_different: different,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::Verdict;

    fn verdict(problems: &[&str]) -> Verdict {
        Verdict {
            links: 2,
            items: 2,
            opportunities: 2,
            fields_compared: 4,
            fields_different: problems.len(),
            problems: problems.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn converged_sides_pass_and_differences_fail_naming_them() {
        assert!(verdict(&[]).into_result().is_ok());
        let error = verdict(&["a", "b", "c", "d", "e"])
            .into_result()
            .unwrap_err()
            .to_string();
        assert_eq!(error, "the sides did not converge: a; b; c (and 2 more)");
    }
}
