//! `Config::state_file`: orgs survive a restart.

use reqwest::Method;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_refresh_tokens_survive_a_restart() {
    let path =
        std::env::temp_dir().join(format!("salesforce-sim-state-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let config = salesforce_sim::Config {
        state_file: Some(path.clone()),
        ..Default::default()
    };

    let sim = salesforce_sim::bind(config.clone()).await.expect("bind");
    let handle = sim.handle();
    let id = handle
        .insert(
            "acme",
            "Project__c",
            json!({"Summary__c": "kept", "Tandem_Key__c": "k1"}),
        )
        .expect("insert");
    handle
        .set_cdc_selection("acme", &["Account"])
        .expect("cdc selection");
    let tokens = handle.mint_token("acme");
    let org_id = handle.org_id("acme");
    let shutdown = CancellationToken::new();
    let served = tokio::spawn(sim.serve(shutdown.clone()));
    shutdown.cancel();
    served.await.expect("join").expect("serve and save");
    assert!(path.exists());

    let sim = support::start(config).await;
    assert_eq!(sim.handle.org_id("acme"), org_id);
    assert_eq!(
        sim.handle.cdc_selection("acme"),
        vec!["Account".to_string()]
    );
    assert_eq!(
        sim.handle.record("acme", &id).expect("record")["Summary__c"],
        json!("kept")
    );
    let r = sim
        .client
        .post(format!("{}/services/oauth2/token", sim.base_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens.refresh_token.as_str()),
            ("client_id", "any"),
        ])
        .send()
        .await
        .expect("refresh");
    let (status, _, body) = support::read(r).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token");
    let r = sim
        .call_with(
            Method::GET,
            &sim.api("sobjects/Project__c/Tandem_Key__c/k1"),
            None,
            token,
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let new_id = sim
        .handle
        .insert("acme", "Account", json!({"Name": "after restart"}))
        .expect("insert");
    assert_ne!(new_id, id, "ids keep counting after a restart");
    let _ = std::fs::remove_file(&path);
}
