//! The demo's output: headings, aligned key/value lines and tables, and one compact block per
//! cycle (what moved, API calls per side). Plain stdout, no colours: it reads the same in a
//! terminal, a log and a README.

use std::collections::BTreeMap;

use tandem_proto::v1 as pb;

use super::check::Values;
use super::sides::{Calls, Sides};

/// How many events of one kind a cycle block lists before summarising the rest.
const LIST_AT_MOST: usize = 4;

pub fn title(text: &str) {
    println!("{text}");
    println!("{}", "=".repeat(text.chars().count()));
}

pub fn section(text: &str) {
    println!();
    let rule = 78usize.saturating_sub(text.chars().count() + 4);
    println!("── {text} {}", "─".repeat(rule));
}

pub fn kv(key: &str, value: &str) {
    let mut lines = value.lines();
    println!("  {key:<14} {}", lines.next().unwrap_or_default());
    for line in lines {
        println!("  {:<14} {line}", "");
    }
}

pub fn note(text: &str) {
    println!("  {text}");
}

/// Rows with every column padded to its widest cell (the last column is not padded).
pub fn table(rows: &[Vec<String>]) {
    for line in table_lines(rows) {
        println!("{line}");
    }
}

/// The lines [`table`] prints.
pub fn table_lines(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter(|r| i + 1 < r.len())
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::from("  ");
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

pub fn status(run: &pb::Run) -> &'static str {
    match pb::RunStatus::try_from(run.status) {
        Ok(pb::RunStatus::Succeeded) => "succeeded",
        Ok(pb::RunStatus::PartiallyFailed) => "partially failed",
        Ok(pb::RunStatus::Failed) => "failed",
        Ok(pb::RunStatus::Running) => "running",
        _ => "unknown",
    }
}

pub fn trigger(run: &pb::Run) -> &'static str {
    match pb::Trigger::try_from(run.trigger) {
        Ok(pb::Trigger::Schedule) => "schedule",
        Ok(pb::Trigger::Webhook) => "webhook",
        Ok(pb::Trigger::Manual) => "sync now",
        Ok(pb::Trigger::Import) => "import",
        Ok(pb::Trigger::DryRun) => "dry run",
        _ => "?",
    }
}

/// `read 55 · created 1 · updated 2 · failed 1` (zero counters left out, `read` kept).
pub fn counters(run: &pb::Run) -> String {
    let c = run.counters.unwrap_or_default();
    // A dry run counts what it would have written.
    let would = if run.trigger == pb::Trigger::DryRun as i32 {
        "would be "
    } else {
        ""
    };
    let mut parts = vec![format!("read {}", c.read)];
    for (name, n) in [
        ("created", c.created),
        ("updated", c.updated),
        ("skipped", c.skipped),
        ("conflicts", c.conflicts),
        ("failed", c.failed),
    ] {
        if n > 0 {
            let name = match name {
                "created" | "updated" => format!("{would}{name}"),
                _ => name.to_owned(),
            };
            parts.push(format!("{name} {n}"));
        }
    }
    parts.join(" · ")
}

pub fn duration_ms(run: &pb::Run) -> Option<i64> {
    let (Some(a), Some(b)) = (run.started_at, run.finished_at) else {
        return None;
    };
    Some((b.seconds - a.seconds) * 1000 + i64::from(b.nanos - a.nanos) / 1_000_000)
}

pub fn calls(calls: &Calls) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    format!(
        "Salesforce {} ({}) · monday {} ({})",
        calls.salesforce,
        plural(calls.salesforce_writes, "write", "writes"),
        calls.monday,
        plural(calls.monday_writes, "mutation", "mutations"),
    )
}

/// The lines of a run's block: status and counters, what moved and why things did not.
pub fn run_block(run: &pb::Run, events: &[pb::RecordEvent], before: &Values, sides: &Sides) {
    let took = duration_ms(run).map_or_else(String::new, |ms| format!(" in {ms} ms"));
    kv("run", &format!("{}{took} · {}", status(run), counters(run)));
    if !run.error.is_empty() {
        kv("error", &run.error);
    }
    let mut shown: BTreeMap<i32, usize> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut details: Vec<Vec<String>> = Vec::new();
    for event in events {
        let action = pb::EventAction::try_from(event.action).unwrap_or_default();
        if action == pb::EventAction::Skipped && event.reason == "already linked" {
            continue;
        }
        let count = shown.entry(event.action).or_default();
        *count += 1;
        if *count > LIST_AT_MOST {
            continue;
        }
        let from_monday = event.source_side == pb::Side::Monday as i32;
        // A failure or conflict of a linked pair is the pair's, whichever way it went.
        let one_way = matches!(action, pb::EventAction::Created | pb::EventAction::Updated)
            || event.target_record_id.is_empty();
        let arrow = match (one_way, from_monday) {
            (false, _) => "",
            (true, true) => "monday → SF",
            (true, false) => "SF → monday",
        };
        let name = sides.name_of(&event.source_record_id);
        let what = match action {
            pb::EventAction::Updated => diff(event, from_monday, before, sides),
            pb::EventAction::Created if event.reason.is_empty() => "new".to_owned(),
            pb::EventAction::Failed if !event.errors.is_empty() => event
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.code, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            _ => event.reason.clone(),
        };
        rows.push(vec![
            String::new(),
            action_name(action).to_owned(),
            arrow.to_owned(),
            clip(&name, 34),
            what,
        ]);
        details.push(
            event
                .errors
                .iter()
                .filter(|e| !e.explanation.is_empty())
                .map(|e| format!("why: {}", e.explanation))
                .collect(),
        );
    }
    if rows.is_empty() {
        kv("moved", "nothing");
    } else {
        println!("  moved");
        for (line, why) in table_lines(&rows).into_iter().zip(&details) {
            println!("{line}");
            for w in why {
                println!("{:>14}{w}", "");
            }
        }
    }
    for (action, n) in shown {
        if n > LIST_AT_MOST {
            let name = action_name(pb::EventAction::try_from(action).unwrap_or_default());
            note(&format!("    … and {} more {name}", n - LIST_AT_MOST));
        }
    }
}

fn action_name(action: pb::EventAction) -> &'static str {
    match action {
        pb::EventAction::Created => "created",
        pb::EventAction::Updated => "updated",
        pb::EventAction::Skipped => "skipped",
        pb::EventAction::Failed => "FAILED",
        pb::EventAction::Conflict => "conflict",
        pb::EventAction::Unlinked => "unlinked",
        pb::EventAction::Unspecified => "?",
    }
}

/// `Amount 12000 → 15000; StageName …`: the target's mapped values before and now.
fn diff(event: &pb::RecordEvent, from_monday: bool, before: &Values, sides: &Sides) -> String {
    let target = &event.target_record_id;
    let (old, new) = if from_monday {
        (
            before.salesforce.get(target),
            super::check::salesforce_values(sides, &before.mappings, target),
        )
    } else {
        (
            before.monday.get(target),
            super::check::monday_values(sides, &before.mappings, target),
        )
    };
    let Some(old) = old else {
        return String::new();
    };
    let changes: Vec<String> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| {
            let label = if from_monday {
                k.clone()
            } else {
                sides.column_title(k).to_owned()
            };
            let was = old.get(k).map_or("", String::as_str);
            format!("{label} {} → {}", shown(was), shown(v))
        })
        .collect();
    changes.join("; ")
}

/// A value in a diff: clipped, and visible when empty.
fn shown(value: &str) -> String {
    if value.is_empty() {
        "(empty)".to_owned()
    } else {
        clip(value, 24)
    }
}

/// `text` cut to `max` characters (an ellipsis marks the cut), on one line.
pub fn clip(text: &str, max: usize) -> String {
    let one_line = text.replace('\n', " ⏎ ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}
