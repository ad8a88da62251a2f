//! The configuration commands as a user runs them: the `tandem` binary as a subprocess against
//! the embedded stack (both simulators and the five services) in this test process.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tandem_stack::{Embedded, EmbeddedConfig};
use tandem_testkit::{TestDb, infra};

const ORG: &str = "acme";
const EXAMPLE_BOARD: i64 = 1_234_567_890;

/// The stack, a Deals board at the monday simulator and the environment the CLI runs with.
pub(crate) struct Setup {
    pub(crate) env: Vec<(&'static str, String)>,
    pub(crate) monday: monday_sim::SimHandle,
    pub(crate) salesforce: salesforce_sim::SimHandle,
    pub(crate) monday_token: String,
    pub(crate) board: i64,
    dir: std::path::PathBuf,
    // Declared before the database: the services stop before it is dropped.
    _embedded: Embedded,
    _db: TestDb,
}

pub(crate) async fn setup() -> Setup {
    tandem_testkit::install_crypto();
    let db = TestDb::create().await;
    let keys: mapping_config::KeyRing = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        .parse()
        .unwrap();
    let embedded = Embedded::start(EmbeddedConfig::new(infra(&db), keys, ORG))
        .await
        .unwrap();
    let monday = embedded.monday.clone();
    let account = monday.create_account("Acme", "Ada Admin", "ada@acme.test");
    let created = monday.create_board(account.account_id, "Deals");
    for (id, title, kind, settings) in [
        (
            "status",
            "Stage",
            "status",
            serde_json::json!({"labels": {"0": "Prospecting", "1": "Closed Won", "5": "Closed Lost"}}),
        ),
        ("close_date", "Close date", "date", serde_json::json!({})),
        ("deal_value", "Deal value", "numbers", serde_json::json!({})),
        ("notes", "Notes", "long_text", serde_json::json!({})),
    ] {
        monday
            .add_column(created, id, title, kind, settings)
            .unwrap();
    }
    // The board id examples/integration.yaml names.
    let board = EXAMPLE_BOARD;
    monday.renumber_board(created, board).unwrap();
    embedded.salesforce.ensure_org(ORG);
    let dir = std::env::temp_dir().join(format!(
        "tandem-cli-{}",
        db.url().rsplit('/').next().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let peers = &embedded.peers;
    Setup {
        env: vec![
            (
                "TANDEM_MAPPING_CONFIG_URL",
                peers.mapping_config_url.clone(),
            ),
            (
                "TANDEM_SYNC_ORCHESTRATOR_URL",
                peers.sync_orchestrator_url.clone(),
            ),
            ("TANDEM_RUN_HISTORY_URL", peers.run_history_url.clone()),
            ("TANDEM_AUTH_SECRET", tandem_testkit::SECRET.to_owned()),
            ("TANDEM_ACCOUNT", "acme".to_owned()),
            ("TANDEM_EMAIL", "ada@acme.test".to_owned()),
        ],
        monday,
        salesforce: embedded.salesforce.clone(),
        monday_token: account.token,
        board,
        dir,
        _embedded: embedded,
        _db: db,
    }
}

pub(crate) fn command(env: &[(&'static str, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
    command.args(args).env_remove("TANDEM_TOKEN");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Runs `tandem ARGS` to completion (off the runtime's threads: the stack serves on them).
pub(crate) async fn tandem(env: &[(&'static str, String)], args: &[&str]) -> Output {
    let mut command = command(env, args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Succeeds and parses stdout as JSON.
pub(crate) fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}\nstdout: {}",
        text(&output.stderr),
        text(&output.stdout)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stdout)))
}

/// Fails with exactly one line on stderr, which is returned.
fn one_error_line(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure; stdout: {}",
        text(&output.stdout)
    );
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line, got: {stderr}");
    assert!(lines[0].starts_with("tandem: "), "{stderr}");
    lines[0].to_owned()
}

impl Setup {
    /// `tandem connect salesforce`: follows the printed authorize URL (the simulator approves
    /// at once and redirects to the CLI's own callback listener) and returns the connection id.
    pub(crate) async fn connect_salesforce(&self) -> String {
        let mut child = command(
            &self.env,
            &[
                "connect",
                "salesforce",
                "--subdomain",
                ORG,
                "--listen",
                "127.0.0.1:0",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (url_tx, url_rx) = tokio::sync::oneshot::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut seen = Vec::new();
            let mut url_tx = Some(url_tx);
            for line in lines.by_ref().map_while(Result::ok) {
                if line.starts_with("http")
                    && line.contains("authorize")
                    && let Some(tx) = url_tx.take()
                {
                    let _ = tx.send(line.clone());
                }
                seen.push(line);
            }
            seen
        });
        let url = url_rx.await.expect("the authorize URL on stdout");
        let answer = reqwest::Client::new().get(&url).send().await.unwrap();
        assert_eq!(
            answer.status().as_u16(),
            200,
            "{}",
            answer.text().await.unwrap()
        );
        assert!(answer.text().await.unwrap().contains("connected"));
        let status = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let lines = reader.join().unwrap();
        assert!(status.status.success(), "{}", text(&status.stderr));
        let redirect = lines
            .iter()
            .find_map(|l| l.strip_prefix("Redirect URI: "))
            .expect("the redirect URI is printed");
        assert!(
            redirect.starts_with("http://127.0.0.1:") && !redirect.contains(":0/"),
            "the bound port is shown: {redirect}"
        );
        let id = lines
            .iter()
            .find_map(|l| l.strip_prefix("id "))
            .expect("the connection id is printed")
            .trim()
            .to_owned();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("state") && l.ends_with("active")),
            "{lines:?}"
        );
        id
    }

    pub(crate) fn write(&self, name: &str, content: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_setup_from_connections_to_a_failure_in_the_history() {
    let setup = setup().await;
    let env = &setup.env;

    // connect monday: the token comes from the named variable and is never printed.
    let mut with_token = env.clone();
    with_token.push(("MY_MONDAY_TOKEN", setup.monday_token.clone()));
    let out = tandem(
        &with_token,
        &[
            "connect",
            "monday",
            "--token-env",
            "MY_MONDAY_TOKEN",
            "--json",
        ],
    )
    .await;
    let monday = json_of(&out);
    assert_eq!(monday["kind"], "monday");
    assert_eq!(monday["state"], "active");
    assert!(!text(&out.stdout).contains(&setup.monday_token));
    let monday_id = monday["id"].as_str().unwrap().to_owned();

    let salesforce_id = setup.connect_salesforce().await;

    // mapping suggest: with one connection of each kind, no connection flags are needed.
    let board = setup.board.to_string();
    let suggested = json_of(
        &tandem(
            env,
            &[
                "mapping",
                "suggest",
                "--board",
                &board,
                "--object",
                "Opportunity",
                "--json",
            ],
        )
        .await,
    );
    let name = suggested["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["mapping"]["monday_column_id"] == "name")
        .expect("name is suggested");
    assert_eq!(name["mapping"]["salesforce_field"], "Name");
    assert!(name["confidence"].as_f64().unwrap() > 0.5, "{name}");

    // validate: a file with a bad mapping names the field and exits non-zero.
    let bad = setup.write(
        "bad.yaml",
        &format!(
            "name: Deals\nmonday_connection_id: {monday_id}\nboard_id: {board}\n\
             salesforce_connection_id: {salesforce_id}\nsalesforce_object: Opportunity\nscope: two_way\n\
             mappings:\n  - monday_column_id: name\n    salesforce_field: Name\n\
             \x20 - monday_column_id: status\n    salesforce_field: NoSuchField\n"
        ),
    );
    let out = tandem(env, &["integration", "validate", "--file", &bad]).await;
    one_error_line(&out);
    let problems = text(&out.stdout);
    assert!(
        problems.contains("mappings[1].salesforce_field"),
        "{problems}"
    );
    assert!(problems.contains("NoSuchField"), "{problems}");

    // create from a file whose connections come from flags.
    let good = setup.write(
        "deals.yaml",
        &format!(
            "name: Deals ↔ Opportunities\nboard_id: {board}\nsalesforce_object: Opportunity\n\
             scope: two_way\nmappings:\n\
             \x20 - {{monday_column_id: name, salesforce_field: Name, direction: both}}\n\
             \x20 - {{monday_column_id: status, salesforce_field: StageName}}\n\
             \x20 - {{monday_column_id: close_date, salesforce_field: CloseDate}}\n"
        ),
    );
    let out = tandem(
        env,
        &[
            "integration",
            "validate",
            "--file",
            &good,
            "--monday-connection",
            &monday_id,
            "--salesforce-connection",
            &salesforce_id,
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // The example file is valid against a board like the one `tandem demo` seeds.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/integration.yaml");
    let out = tandem(
        env,
        &[
            "integration",
            "validate",
            "--file",
            example,
            "--monday-connection",
            &monday_id,
            "--salesforce-connection",
            &salesforce_id,
        ],
    )
    .await;
    // Valid; the only other line says the key column will be added (the board has none).
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], "valid", "{shown}");
    assert!(
        lines.iter().skip(2).all(|l| {
            l.starts_with("board_id  warning: Tandem will add a text column `tandem_key`")
        }),
        "{shown}"
    );
    let integration = json_of(
        &tandem(
            env,
            &[
                "integration",
                "create",
                "--file",
                &good,
                "--monday-connection",
                &monday_id,
                "--salesforce-connection",
                &salesforce_id,
                "--json",
            ],
        )
        .await,
    );
    let id = integration["id"].as_str().unwrap().to_owned();
    assert_eq!(
        integration["spec"]["mappings"][1]["salesforce_field"],
        "StageName"
    );
    let listed = json_of(&tandem(env, &["integration", "list", "--json"]).await);
    assert_eq!(listed[0]["id"], id.as_str());

    // import: the dry run writes nothing at monday; the import creates both items.
    for name in ["Theta", "Iota"] {
        setup
            .salesforce
            .insert(
                ORG,
                "Opportunity",
                serde_json::json!({"Name": name, "StageName": "Closed Won", "CloseDate": "2026-12-31"}),
            )
            .unwrap();
    }
    setup.monday.clear_requests();
    let dry = json_of(&tandem(env, &["import", &id, "--dry-run", "--json"]).await);
    assert_eq!(dry["trigger"], "dry_run");
    assert!(
        setup
            .monday
            .requests()
            .iter()
            .all(|r| !r.query.contains("mutation")),
        "the dry run wrote to monday"
    );
    let events = json_of(
        &tandem(
            env,
            &["history", "events", dry["id"].as_str().unwrap(), "--json"],
        )
        .await,
    );
    assert_eq!(events.as_array().unwrap().len(), 2, "{events}");
    let done = json_of(&tandem(env, &["import", &id, "--json"]).await);
    assert_eq!(done["trigger"], "import");
    assert_eq!(done["counters"]["created"], 2, "{done}");

    // sync now: an item without the required CloseDate fails at Salesforce, per record.
    setup
        .monday
        .create_item(
            setup.board,
            None,
            "Zeta",
            serde_json::json!({"status": {"label": "Prospecting"}}),
        )
        .unwrap();
    let out = tandem(env, &["sync", "now", &id]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.contains("partially_failed") || summary.contains("partially failed"),
        "{summary}"
    );
    assert!(summary.contains("failed 1"), "{summary}");

    let runs = json_of(&tandem(env, &["history", "runs", &id, "--failed", "--json"]).await);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "only the failed cycle: {runs:?}");
    let run = runs[0]["id"].as_str().unwrap().to_owned();
    let out = tandem(env, &["history", "runs", &id]).await;
    assert_eq!(
        text(&out.stdout).lines().count(),
        4,
        "header + 3 runs: {}",
        text(&out.stdout)
    );

    // A reader that stops early (`| head -1`) ends the command quietly, not with a panic.
    let mut closed = command(env, &["history", "runs", &id]);
    let out = tokio::task::spawn_blocking(move || {
        let mut child = closed
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");

    let out = tandem(env, &["history", "events", &run, "--errors"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("REQUIRED_FIELD_MISSING"), "{shown}");
    assert!(
        shown.contains("Required fields are missing: [CloseDate]"),
        "the remote's own message: {shown}"
    );
    assert!(
        shown.contains("fix: Salesforce needs a value for CloseDate"),
        "the suggested fix: {shown}"
    );

    let status = json_of(&tandem(env, &["sync", "status", &id, "--json"]).await);
    assert_eq!(status["last_run_id"], run.as_str());
    assert_eq!(status["state"], "active");
    let paused = json_of(
        &tandem(
            env,
            &["sync", "pause", &id, "--reason", "holiday", "--json"],
        )
        .await,
    );
    assert_eq!(paused["state"], "paused");

    // update from the settings `get --json` prints (a JSON file); a stale version is refused.
    let got = json_of(&tandem(env, &["integration", "get", &id, "--json"]).await);
    let read_version = got["version"].as_i64().unwrap();
    let mut spec = got["spec"].clone();
    spec["name"] = "Renamed".into();
    let file = setup.write("deals.json", &spec.to_string());
    let updated = json_of(
        &tandem(
            env,
            &["integration", "update", &id, "--file", &file, "--json"],
        )
        .await,
    );
    assert_eq!(updated["version"].as_i64(), Some(read_version + 1));
    assert_eq!(updated["spec"]["name"], "Renamed");
    let stale = read_version.to_string();
    let line = one_error_line(
        &tandem(
            env,
            &[
                "integration",
                "update",
                &id,
                "--file",
                &file,
                "--expect-version",
                &stale,
            ],
        )
        .await,
    );
    assert!(line.contains("version"), "{line}");

    // transfer, then the new owner deletes it.
    let moved = json_of(
        &tandem(
            env,
            &[
                "integration",
                "transfer",
                &id,
                "--to",
                "bob@acme.test",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(moved["owner"], "bob@acme.test");
    let mut bob = env.clone();
    bob.retain(|(k, _)| *k != "TANDEM_EMAIL");
    bob.push(("TANDEM_EMAIL", "bob@acme.test".to_owned()));
    let out = tandem(&bob, &["integration", "delete", &id]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    one_error_line(&tandem(env, &["integration", "get", &id]).await);

    // An unknown id: the service's message on one line.
    let unknown = "00000000-0000-4000-8000-000000000000";
    let line = one_error_line(&tandem(env, &["integration", "get", unknown]).await);
    assert!(
        line.contains("not found") || line.contains(unknown),
        "{line}"
    );
    one_error_line(&tandem(env, &["history", "events", unknown]).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_integration_created_paused_waits_for_resume() {
    let setup = setup().await;
    let env = &setup.env;
    let mut with_token = env.clone();
    with_token.push(("MY_MONDAY_TOKEN", setup.monday_token.clone()));
    let monday = json_of(
        &tandem(
            &with_token,
            &[
                "connect",
                "monday",
                "--token-env",
                "MY_MONDAY_TOKEN",
                "--json",
            ],
        )
        .await,
    );
    let monday_id = monday["id"].as_str().unwrap().to_owned();
    let salesforce_id = setup.connect_salesforce().await;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/integration.yaml");
    let created = json_of(
        &tandem(
            env,
            &[
                "integration",
                "create",
                "--paused",
                "--file",
                example,
                "--monday-connection",
                &monday_id,
                "--salesforce-connection",
                &salesforce_id,
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(created["state"], "paused", "{created}");
    assert_eq!(created["state_reason"], "created paused", "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // The human form says so too.
    let shown = text(&tandem(env, &["integration", "get", &id]).await.stdout);
    assert!(shown.contains("paused"), "{shown}");
    assert!(shown.contains("created paused"), "{shown}");

    // `sync resume` starts it.
    let out = tandem(env, &["sync", "resume", &id]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = json_of(&tandem(env, &["integration", "get", &id, "--json"]).await);
    assert_eq!(got["state"], "active", "{got}");
    assert_eq!(got["state_reason"], "", "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_one_line_and_every_command_has_help() {
    let env = vec![
        ("TANDEM_MAPPING_CONFIG_URL", "http://127.0.0.1:1".to_owned()),
        (
            "TANDEM_SYNC_ORCHESTRATOR_URL",
            "http://127.0.0.1:1".to_owned(),
        ),
        ("TANDEM_RUN_HISTORY_URL", "http://127.0.0.1:1".to_owned()),
        ("TANDEM_AUTH_SECRET", tandem_testkit::SECRET.to_owned()),
        ("TANDEM_ACCOUNT", "acme".to_owned()),
        ("TANDEM_EMAIL", "ada@acme.test".to_owned()),
    ];
    let line = one_error_line(&tandem(&env, &["integration", "list"]).await);
    assert_eq!(
        line,
        "tandem: mapping-config at http://127.0.0.1:1 is not reachable"
    );
    let line = one_error_line(&tandem(&env, &["history", "runs", "x"]).await);
    assert_eq!(
        line,
        "tandem: run-history at http://127.0.0.1:1 is not reachable"
    );

    // A bad file is reported (key and place) before any service is contacted.
    let dir = std::env::temp_dir().join(format!("tandem-cli-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("typo.yaml");
    std::fs::write(
        &file,
        "name: x\nmappings:\n  - monday_column_id: a\n    salesforce_feld: B\n",
    )
    .unwrap();
    let line = one_error_line(
        &tandem(
            &env,
            &["integration", "create", "--file", file.to_str().unwrap()],
        )
        .await,
    );
    assert!(
        line.contains("typo.yaml") && line.contains("salesforce_feld"),
        "{line}"
    );
    assert!(line.contains("mappings[0]"), "{line}");
    let line = one_error_line(
        &tandem(
            &env,
            &["integration", "create", "--file", "/no/such/file.yaml"],
        )
        .await,
    );
    assert!(line.contains("/no/such/file.yaml"), "{line}");

    let mut without = env.clone();
    without.retain(|(k, _)| *k != "TANDEM_AUTH_SECRET");
    let line = one_error_line(&tandem(&without, &["sync", "status", "x"]).await);
    assert!(line.contains("TANDEM_TOKEN"), "{line}");
    let line = one_error_line(
        &tandem(
            &env,
            &["connect", "monday", "--token-env", "TANDEM_NO_SUCH_VAR"],
        )
        .await,
    );
    assert!(line.contains("TANDEM_NO_SUCH_VAR"), "{line}");

    for command in [
        "connect salesforce",
        "connect monday",
        "connect list",
        "integration create",
        "integration get",
        "integration list",
        "integration update",
        "integration delete",
        "integration validate",
        "integration transfer",
        "mapping suggest",
        "sync now",
        "sync pause",
        "sync resume",
        "sync status",
        "import",
        "history runs",
        "history events",
    ] {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let out = tandem(&env, &args).await;
        assert!(out.status.success(), "{command} --help");
        assert!(text(&out.stdout).contains("Usage: tandem"), "{command}");
    }
    let mut child = command(&env, &["--help"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut help = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut help)
        .unwrap();
    assert!(child.wait().unwrap().success());
    for top in [
        "connect",
        "integration",
        "mapping",
        "sync",
        "import",
        "history",
    ] {
        assert!(help.contains(top), "{top} in {help}");
    }
}
