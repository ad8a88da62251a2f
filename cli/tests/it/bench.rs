//! `tandem bench`, smoke-sized: the table prints with the scenario's parameters, and the
//! figure that must be exact is (201 changed records take ⌈201/200⌉ = 2 Salesforce writes).

use std::process::Command;

fn bench(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("bench")
        .args(args)
        .env("DATABASE_URL", tandem_testkit::admin_database_url())
        .env("REDIS_URL", tandem_testkit::redis_url())
        .env_remove("RUST_LOG")
        .output()
        .expect("run tandem bench");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn two_hundred_and_one_changes_take_two_salesforce_writes_and_the_table_says_so() {
    let out = bench(&["--scenario", "write", "--write-sizes", "1,201"]);
    assert!(out.contains("Machine: "), "{out}");
    let header = out
        .lines()
        .find(|l| l.starts_with("| Scenario"))
        .unwrap_or_else(|| panic!("no table: {out}"));
    assert!(
        header.contains("| Parameters") && header.contains("| Goal"),
        "{header}"
    );
    let cells = |line: &str| -> Vec<String> {
        line.trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_owned())
            .collect()
    };
    let row = out
        .lines()
        .map(cells)
        .find(|c| {
            c.len() == 6 && c[1] == "Salesforce-bound, N=201" && c[2] == "Salesforce write calls"
        })
        .unwrap_or_else(|| panic!("no N=201 row: {out}"));
    assert_eq!(row[3], "2", "{out}");
    assert_eq!(row[5], "met", "{out}");
    assert!(
        !out.contains("FAILED"),
        "a scenario failed in the smoke run: {out}"
    );
}

#[test]
fn json_lines_carry_the_figures_for_machines() {
    let out = bench(&["--scenario", "read", "--read-sizes", "1", "--json"]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect();
    let empty = rows
        .iter()
        .find(|r| {
            r["parameters"] == "nothing changed" && r["figure"] == "Salesforce calls per cycle"
        })
        .unwrap_or_else(|| panic!("no empty-cycle row: {out}"));
    assert_eq!(empty["value"], 1.0, "{empty}");
    assert_eq!(empty["verdict"], "met", "{empty}");
}
