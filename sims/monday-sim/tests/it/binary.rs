//! The `monday-sim` binary: its start-up lines and that it serves what it prints.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_its_url_token_and_board_then_serves_them() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_monday-sim"))
            .args(["--listen", "127.0.0.1:0", "--seed", "demo"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start monday-sim"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .take(3)
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .unwrap()
    .unwrap();
    let url = lines[0]
        .strip_prefix("monday-sim listening on ")
        .expect("first line")
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let token = lines[1]
        .strip_prefix("demo api token: ")
        .expect("token line")
        .to_string();
    let board = lines[2]
        .strip_prefix("demo board id: ")
        .expect("board line")
        .to_string();
    let r = crate::gql(
        &format!("{url}/v2"),
        &token,
        "query ($b: [ID!]) { boards(ids: $b) { name items_count } }",
        json!({"b": [board]}),
    )
    .await;
    assert_eq!(
        r.body["data"]["boards"][0],
        json!({"name": "Deals", "items_count": 40})
    );
}
