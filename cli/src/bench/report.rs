//! One figure per row, printed as a Markdown table (pasted as is into docs/performance.md)
//! or as JSON lines.

use serde::Serialize;

/// Whether a figure meets the goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Met,
    Missed,
    /// A figure the issue asks for without a pass/fail goal.
    Info,
    /// The scenario could not measure it: the product (or the bench) failed.
    Failed,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::Info => "",
            Verdict::Failed => "FAILED",
        }
    }

    pub fn of(met: bool) -> Self {
        if met { Verdict::Met } else { Verdict::Missed }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub parameters: String,
    pub figure: String,
    pub measured: String,
    /// The number behind `measured`, for machines.
    pub value: Option<f64>,
    pub goal: String,
    pub verdict: Verdict,
}

impl Row {
    pub fn new(scenario: &str, parameters: impl Into<String>, figure: impl Into<String>) -> Self {
        Row {
            scenario: scenario.to_owned(),
            parameters: parameters.into(),
            figure: figure.into(),
            measured: String::new(),
            value: None,
            goal: String::new(),
            verdict: Verdict::Info,
        }
    }

    pub fn value(mut self, value: f64, shown: impl Into<String>) -> Self {
        self.value = Some(value);
        self.measured = shown.into();
        self
    }

    pub fn text(mut self, shown: impl Into<String>) -> Self {
        self.measured = shown.into();
        self
    }

    pub fn goal(mut self, goal: impl Into<String>, met: bool) -> Self {
        self.goal = goal.into();
        self.verdict = Verdict::of(met);
        self
    }

    pub fn note(mut self, goal: impl Into<String>) -> Self {
        self.goal = goal.into();
        self
    }

    pub fn failed(scenario: &str, parameters: impl Into<String>, error: &anyhow::Error) -> Self {
        let mut row = Row::new(scenario, parameters, "scenario did not complete");
        row.measured = format!("{error:#}");
        row.verdict = Verdict::Failed;
        row
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "Scenario",
        "Parameters",
        "Figure",
        "Measured",
        "Goal",
        "Met",
    ];
    let body: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                cell(&r.scenario),
                cell(&r.parameters),
                cell(&r.figure),
                cell(&r.measured),
                cell(&r.goal),
                r.verdict.label().to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &body {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in body {
        out.push_str(&line(row.to_vec()));
    }
    out
}

/// Formats a count with thousands separators (10,000).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(1), "1");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_table_lines_up_and_escapes_pipes() {
        let rows = vec![
            Row::new("write", "N=201", "Salesforce write calls")
                .value(2.0, "2")
                .goal("= ⌈N/200⌉ = 2", true),
            Row::new("read", "a|b", "x").text("y"),
        ];
        let table = table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].contains("| met |"), "{table}");
        assert!(lines[3].contains("a\\|b"), "{table}");
        let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{table}");
    }
}
