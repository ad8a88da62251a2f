use tandem_service::args::PeerArgs;
use tandem_testkit::{TestDb, any_port, infra};

#[tokio::test(flavor = "multi_thread")]
async fn refuses_to_start_without_encryption_keys() {
    let db = TestDb::create().await;
    let closed = "http://127.0.0.1:9".to_owned();
    let result = mapping_config::bind(mapping_config::Config {
        listen: any_port(),
        infra: infra(&db),
        peers: PeerArgs {
            connector_salesforce_url: closed.clone(),
            connector_monday_url: closed.clone(),
            mapping_config_url: closed.clone(),
            sync_orchestrator_url: closed.clone(),
            run_history_url: closed,
        },
        options: mapping_config::Options::default(),
    })
    .await;
    let Err(error) = result else {
        panic!("started without keys");
    };
    assert!(
        error
            .to_string()
            .contains("TANDEM_ENCRYPTION_KEYS is not set"),
        "{error}"
    );
}
