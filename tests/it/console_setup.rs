//! Setting an integration up from the console's pages over plain HTTP, against the real
//! services and both simulators: connecting monday by token (a refused token is shown at its
//! field and nothing is kept), Salesforce over OAuth with the redirect landing back on the
//! console, choosing the board and the object, the suggested mapping prefilled, an
//! incompatible pair refused naming its row, the integration created paused, CSRF refused.

use tandem_proto::v1 as pb;
use tandem_testkit::authorized;

use crate::console::{ConsoleUnderTest, Visitor, csrf_of, start_console};
use crate::stack::{ORG, Stack, start_stack};

async fn connections(stack: &Stack) -> Vec<pb::Connection> {
    stack
        .config
        .clone()
        .list_connections(authorized(
            pb::ListConnectionsRequest::default(),
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner()
        .connections
}

async fn integrations(stack: &Stack) -> Vec<pb::Integration> {
    stack
        .config
        .clone()
        .list_integrations(authorized(
            pb::ListIntegrationsRequest::default(),
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner()
        .integrations
}

/// The value of `key=` in a URL's query.
fn query_value(url: &str, key: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {key} in {url}"))
}

/// Connects monday (token) and Salesforce (OAuth through the simulator, back to the
/// console's callback) from the pages; the two connection ids.
pub async fn connect_both(
    stack: &Stack,
    console: &ConsoleUnderTest,
    ada: &Visitor,
) -> (String, String) {
    let (_, page) = ada.get("/setup").await;
    let csrf = csrf_of(&page);
    let (status, location, body) = ada
        .post_form(
            "/setup/monday",
            &[
                ("csrf", csrf.clone()),
                ("monday_token", stack.monday_token.clone()),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let monday = location.strip_prefix("/setup?monday=").unwrap().to_owned();

    let (status, _, body) = ada
        .post_form(
            "/setup/salesforce",
            &[
                ("csrf", csrf.clone()),
                ("subdomain", ORG.to_owned()),
                ("environment", "production".to_owned()),
            ],
        )
        .await;
    // A page that moves on to Salesforce (a form may post only to the console).
    assert_eq!(status, 200, "{body}");
    let marker = r#"id="to-salesforce" href=""#;
    let at = body.find(marker).expect("the link to Salesforce") + marker.len();
    let authorize = body[at..at + body[at..].find('"').unwrap()].replace("&amp;", "&");
    assert!(body.contains(r#"http-equiv="refresh""#), "{body}");
    // To the simulator's authorize page, coming back to the console.
    assert_eq!(
        query_value(&authorize, "redirect_uri"),
        format!("{}/setup/salesforce/callback", console.base)
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = http.get(&authorize).send().await.unwrap();
    assert_eq!(approved.status(), 302);
    let back = approved.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&console.base), "{back}");
    let (status, location, body) = ada.get_raw(&back[console.base.len()..]).await;
    assert_eq!(status, 303, "{body}");
    let salesforce = location
        .strip_prefix("/setup?salesforce=")
        .unwrap()
        .to_owned();
    (monday, salesforce)
}

/// The editor's form as a list of pairs: the hidden settings and `rows` of
/// (column, field, direction).
fn editor_form(
    csrf: &str,
    monday: &str,
    salesforce: &str,
    board: i64,
    rows: &[(&str, &str, &str)],
    action: &str,
) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("csrf", csrf.to_owned()),
        ("monday_connection_id", monday.to_owned()),
        ("salesforce_connection_id", salesforce.to_owned()),
        ("board_id", board.to_string()),
        ("salesforce_object", "Opportunity".to_owned()),
        ("name", "Deals from the pages".to_owned()),
        ("scope", "two_way".to_owned()),
        ("conflict_policy", "newest".to_owned()),
        ("action", action.to_owned()),
    ];
    let keys: [[&'static str; 3]; 4] = [
        ["m.0.column", "m.0.field", "m.0.direction"],
        ["m.1.column", "m.1.field", "m.1.direction"],
        ["m.2.column", "m.2.field", "m.2.direction"],
        ["m.3.column", "m.3.field", "m.3.direction"],
    ];
    for (row, names) in rows.iter().zip(keys) {
        form.push((names[0], row.0.to_owned()));
        form.push((names[1], row.1.to_owned()));
        form.push((names[2], row.2.to_owned()));
    }
    form
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_user_sets_an_integration_up_from_the_pages_and_it_is_created_paused() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let console = start_console(&stack).await;
    let ada = Visitor::sign_in(&console, "acme", "ada@acme.test").await;

    // No integration yet: the first page points to setup.
    let (_, home) = ada.get("/").await;
    assert!(
        home.contains(r#"id="start-setup""#) && home.contains(r#"href="/setup""#),
        "{home}"
    );
    let (status, page) = ada.get("/setup").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<label for="monday-token">"#), "{page}");
    assert!(
        page.contains(r#"id="monday-token" name="monday_token" type="password""#),
        "{page}"
    );
    let csrf = csrf_of(&page);

    // A refused token: shown at its field, never echoed, nothing kept.
    let (status, _, body) = ada
        .post_form(
            "/setup/monday",
            &[
                ("csrf", csrf.clone()),
                ("monday_token", "wrong-token-123".to_owned()),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(r#"id="problem-monday-token""#), "{body}");
    assert!(
        body.contains("monday_token was refused by monday: it is wrong, expired or revoked"),
        "{body}"
    );
    assert!(
        !body.contains("wrong-token-123"),
        "the token is never echoed"
    );
    assert!(connections(&stack).await.is_empty(), "nothing was kept");
    // Without the session's CSRF token: refused before anything is asked.
    let (status, _, _) = ada
        .post_form(
            "/setup/monday",
            &[
                ("csrf", "forged".to_owned()),
                ("monday_token", stack.monday_token.clone()),
            ],
        )
        .await;
    assert_eq!(status, 403);
    assert!(connections(&stack).await.is_empty());
    // A subdomain that is a URL: refused at its field.
    let (status, _, body) = ada
        .post_form(
            "/setup/salesforce",
            &[
                ("csrf", csrf.clone()),
                ("subdomain", "https://acme.my.salesforce.com".to_owned()),
                ("environment", "production".to_owned()),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(r#"id="problem-subdomain""#), "{body}");

    let (monday, salesforce) = connect_both(&stack, &console, &ada).await;
    let kept = connections(&stack).await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter()
            .all(|c| c.state == pb::ConnectionState::Active as i32)
    );
    // Reused from the list next time.
    let (_, page) = ada.get("/setup").await;
    assert!(
        page.contains(&format!(r#"<option value="{monday}""#)),
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"<option value="{salesforce}""#)),
        "{page}"
    );

    // A callback this browser did not start is refused.
    let (status, _, body) = ada
        .get_raw("/setup/salesforce/callback?code=abc&state=forged")
        .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("did not start that Salesforce connection"),
        "{body}"
    );

    // Board and object, listed from the connections.
    let (status, page) = ada
        .get(&format!(
            "/setup/choose?monday={monday}&salesforce={salesforce}"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!(r#"<option value="{}">Deals"#, stack.board)),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="Opportunity" selected>"#),
        "{page}"
    );

    // The suggested mapping, prefilled, required fields marked.
    let (status, page) = ada
        .get(&format!(
            "/setup/mapping?monday={monday}&salesforce={salesforce}&board={}&object=Opportunity&name=Deals",
            stack.board
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"<option value="StageName" selected>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="required-fields""#) && page.contains("· required"),
        "{page}"
    );
    let csrf = csrf_of(&page);

    // An incompatible pair: refused, naming its row; nothing created.
    let rows = [
        ("name", "Name", "both"),
        ("date4", "Amount", "both"),
        ("status", "StageName", "both"),
        ("date4", "CloseDate", "both"),
    ];
    let form = editor_form(&csrf, &monday, &salesforce, stack.board, &rows, "create");
    let (status, _, body) = ada.post_form("/setup/mapping", &form).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(r#"id="problem-mappings-1-"#), "{body}");
    assert!(body.contains("Amount"), "{body}");
    assert!(integrations(&stack).await.is_empty());

    // Valid settings: validated, then created paused. A forged form creates nothing.
    let rows = [
        ("name", "Name", "both"),
        ("status", "StageName", "both"),
        ("date4", "CloseDate", "to_salesforce"),
    ];
    let form = editor_form(&csrf, &monday, &salesforce, stack.board, &rows, "validate");
    let (status, _, body) = ada.post_form("/setup/mapping", &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"id="valid""#), "{body}");
    let forged = editor_form("forged", &monday, &salesforce, stack.board, &rows, "create");
    let (status, _, _) = ada.post_form("/setup/mapping", &forged).await;
    assert_eq!(status, 403);
    assert!(integrations(&stack).await.is_empty());
    let form = editor_form(&csrf, &monday, &salesforce, stack.board, &rows, "create");
    let (status, location, body) = ada.post_form("/setup/mapping", &form).await;
    assert_eq!(status, 303, "{body}");
    let created = integrations(&stack).await;
    assert_eq!(created.len(), 1);
    let integration = &created[0];
    assert_eq!(location, format!("/integrations/{}", integration.id));
    assert_eq!(integration.state, pb::IntegrationState::Paused as i32);
    assert_eq!(integration.owner, "ada@acme.test");
    let spec = integration.spec.clone().unwrap();
    assert_eq!(spec.mappings.len(), 3);
    assert_eq!(
        spec.mappings[2].direction,
        pb::Direction::MondayToSalesforce as i32
    );
    let (_, page) = ada.get(&location).await;
    assert!(page.contains(r#"id="import-preview""#), "{page}");
    assert!(page.contains("created paused"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn conditions_built_from_rows_are_stored_as_and_or_groups() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let console = start_console(&stack).await;
    let ada = Visitor::sign_in(&console, "acme", "ada@acme.test").await;
    let (monday, salesforce) = connect_both(&stack, &console, &ada).await;
    let (_, page) = ada
        .get(&format!(
            "/setup/mapping?monday={monday}&salesforce={salesforce}&board={}&object=Opportunity",
            stack.board
        ))
        .await;
    let csrf = csrf_of(&page);
    let rows = [
        ("name", "Name", "both"),
        ("status", "StageName", "both"),
        ("date4", "CloseDate", "both"),
    ];
    // The add-group button gives one empty rule row to fill.
    let mut form = editor_form(
        &csrf,
        &monday,
        &salesforce,
        stack.board,
        &rows,
        "add_group:in",
    );
    let (status, _, body) = ada.post_form("/setup/mapping", &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"name="in.0.0.field""#), "{body}");
    // An operator that does not fit the field: refused at the conditions.
    form.retain(|(k, _)| *k != "action");
    let rule = |operator: &str| {
        [
            ("in.op", "or".to_owned()),
            ("in.0.op", "and".to_owned()),
            ("in.0.0.field", "Amount".to_owned()),
            ("in.0.0.operator", operator.to_owned()),
            ("in.0.0.value", "1000".to_owned()),
        ]
    };
    let mut bad = form.clone();
    bad.extend(rule("starts_with"));
    bad.push(("action", "validate".to_owned()));
    let (status, _, body) = ada.post_form("/setup/mapping", &bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(r#"id="problem-incoming-conditions""#),
        "{body}"
    );
    form.extend(rule("greater_than"));
    form.push(("action", "create".to_owned()));
    let (status, _, body) = ada.post_form("/setup/mapping", &form).await;
    assert_eq!(status, 303, "{body}");
    let spec = integrations(&stack).await[0].spec.clone().unwrap();
    let stored: serde_json::Value =
        serde_json::from_str(&spec.incoming_conditions.unwrap().json).unwrap();
    assert_eq!(stored["op"], "or");
    assert_eq!(stored["conditions"][0]["conditions"][0]["field"], "Amount");
    assert_eq!(
        stored["conditions"][0]["conditions"][0]["values"][0]["type"],
        "number"
    );
    assert!(spec.outgoing_conditions.is_none_or(|c| c.json.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn boards_and_objects_are_listed_only_through_the_callers_own_connections() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let console = start_console(&stack).await;
    let ada = Visitor::sign_in(&console, "acme", "ada@acme.test").await;
    let (monday, salesforce) = connect_both(&stack, &console, &ada).await;
    let mut config = stack.config.clone();
    let boards = |connection: &str, bearer: &str| {
        authorized(
            pb::ListConnectionBoardsRequest {
                monday_connection_id: connection.to_owned(),
            },
            bearer,
        )
    };
    let objects = |connection: &str, bearer: &str| {
        authorized(
            pb::ListConnectionObjectsRequest {
                salesforce_connection_id: connection.to_owned(),
            },
            bearer,
        )
    };
    // The owner: the board and the org's objects.
    let listed = config
        .list_boards(boards(&monday, &stack.bearer))
        .await
        .unwrap()
        .into_inner()
        .boards;
    assert!(
        listed
            .iter()
            .any(|b| b.id == stack.board.to_string() && b.name == "Deals"),
        "{listed:?}"
    );
    let listed = config
        .list_objects(objects(&salesforce, &stack.bearer))
        .await
        .unwrap()
        .into_inner()
        .objects;
    assert!(listed.iter().any(|o| o.name == "Opportunity"), "{listed:?}");
    // Another user of the account, another account, the wrong kind, a service: refused.
    let bob = tandem_testkit::user_bearer_in("acme", "bob@acme.test");
    let eve = tandem_testkit::user_bearer_in("globex", "eve@globex.test");
    let refused = config.list_boards(boards(&monday, &bob)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().starts_with("monday_connection_id: ")
            && refused.message().contains("belongs to ada@acme.test"),
        "{refused:?}"
    );
    let refused = config
        .list_objects(objects(&salesforce, &eve))
        .await
        .unwrap_err();
    assert!(refused.message().contains("does not exist"), "{refused:?}");
    let refused = config
        .list_objects(objects(&monday, &stack.bearer))
        .await
        .unwrap_err();
    assert!(
        refused.message().contains("is a monday connection"),
        "{refused:?}"
    );
    let service = tandem_testkit::service_bearer("sync-orchestrator");
    let refused = config
        .list_boards(boards(&monday, &service))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    // The console shows a refusal at the connection's field.
    let bobs = Visitor::sign_in(&console, "acme", "bob@acme.test").await;
    let (status, page) = bobs
        .get(&format!(
            "/setup/choose?monday={monday}&salesforce={salesforce}"
        ))
        .await;
    assert_eq!(status, 400);
    assert!(
        page.contains(r#"id="problem-monday-connection-id""#),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_edits_the_mapping_from_the_pages_and_others_are_refused() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    let console = start_console(&stack).await;
    let edit = format!("/integrations/{}/edit", integration.id);

    let bob = Visitor::sign_in(&console, "acme", "bob@acme.test").await;
    let (status, body) = bob.get(&edit).await;
    assert_eq!(status, 403, "{body}");

    let ada = Visitor::sign_in(&console, "acme", "ada@acme.test").await;
    let (status, page) = ada.get(&edit).await;
    assert_eq!(status, 200, "{page}");
    // The stored mapping, as rows to edit.
    assert!(
        page.contains(r#"<option value="StageName" selected>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="m-1-create_labels""#),
        "a status column offers labels: {page}"
    );
    let csrf = csrf_of(&page);
    let spec = integration.spec.clone().unwrap();
    let form = |version: i64| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("integration_id", integration.id.clone()),
            ("version", version.to_string()),
            ("monday_connection_id", spec.monday_connection_id.clone()),
            (
                "salesforce_connection_id",
                spec.salesforce_connection_id.clone(),
            ),
            ("board_id", spec.board_id.clone()),
            ("salesforce_object", spec.salesforce_object.clone()),
            ("name", "Renamed in the console".to_owned()),
            ("scope", "two_way".to_owned()),
            ("conflict_policy", "salesforce".to_owned()),
            ("action", "save".to_owned()),
        ];
        for (i, (column, field)) in [
            ("name", "Name"),
            ("status", "StageName"),
            ("date4", "CloseDate"),
        ]
        .iter()
        .enumerate()
        {
            let key = |part: &str| -> &'static str {
                Box::leak(format!("m.{i}.{part}").into_boxed_str())
            };
            form.push((key("column"), (*column).to_owned()));
            form.push((key("field"), (*field).to_owned()));
            form.push((key("direction"), "both".to_owned()));
        }
        form.push(("m.1.create_labels", "on".to_owned()));
        form
    };
    let (status, _, body) = ada
        .post_form("/setup/mapping", &form(integration.version + 1))
        .await;
    assert_eq!(status, 400, "a stale version: {body}");
    assert!(body.contains("changed since you read it"), "{body}");
    let (status, location, body) = ada
        .post_form("/setup/mapping", &form(integration.version))
        .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location, format!("/integrations/{}", integration.id));
    let saved = stack
        .config
        .clone()
        .get_integration(authorized(
            pb::GetIntegrationRequest {
                id: integration.id.clone(),
            },
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner();
    let spec = saved.spec.unwrap();
    assert_eq!(spec.name, "Renamed in the console");
    assert_eq!(
        spec.conflict_policy,
        pb::ConflictPolicy::SalesforceWins as i32
    );
    assert!(
        spec.mappings[1]
            .options
            .as_ref()
            .unwrap()
            .create_missing_labels
    );
    // Bob's own valid token and a forged save: the service refuses it.
    let (_, page) = bob.get("/setup").await;
    let mut forged = form(saved.version);
    forged[0].1 = csrf_of(&page);
    let (status, _, body) = bob.post_form("/setup/mapping", &forged).await;
    assert!(status == 400 || status == 403, "{status}: {body}");
    assert!(body.contains("belongs to"), "{body}");
}
