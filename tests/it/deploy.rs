//! What the shipped deployment files expose: docker compose publishes nothing beyond this
//! machine.

use std::path::PathBuf;

use serde::Deserialize as _;
use serde_norway::Value;

fn repo_file(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn docker_compose_publishes_every_port_on_loopback_only() {
    let compose = compose();
    let services = compose["services"].as_mapping().unwrap();
    let mut published = 0;
    for (name, service) in services {
        let Some(ports) = service.get("ports").and_then(Value::as_sequence) else {
            continue;
        };
        for port in ports {
            let port = port.as_str().unwrap_or_default();
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name:?} publishes {port:?} beyond this machine"
            );
            published += 1;
        }
    }
    // The five services, the webhook listener, both simulators, the collector, Prometheus.
    assert!(published >= 10, "{published}");
}

/// The compose file with its `<<:` merges applied.
fn compose() -> Value {
    let mut compose: Value = serde_norway::from_str(&repo_file("docker-compose.yml")).unwrap();
    compose.apply_merge().unwrap();
    compose
}

fn env_of<'a>(service: &'a Value, name: &str) -> Option<&'a str> {
    service["environment"].get(name).and_then(Value::as_str)
}

#[test]
fn docker_compose_runs_on_the_production_identity_path_with_tls_everywhere() {
    let compose = compose();
    let services = &compose["services"];
    let issuer = &services["issuer"];
    let issuer_url = env_of(issuer, "TANDEM_ISSUER_URL").unwrap();
    assert!(issuer_url.starts_with("https://issuer:"), "{issuer_url}");
    assert_eq!(env_of(issuer, "TANDEM_TLS_CERT"), Some("/certs/issuer.pem"));
    let console = &services["console"];
    assert!(
        env_of(console, "TANDEM_CONSOLE_SESSION_KEYS").is_some_and(|k| k.contains(":?")),
        "the console's Redis sessions are sealed with a key the operator must set"
    );
    let console_url = env_of(console, "TANDEM_CONSOLE_PUBLIC_URL").unwrap();
    assert!(
        console_url.starts_with("https://localhost:"),
        "{console_url}"
    );
    assert!(
        env_of(issuer, "TANDEM_ISSUER_REDIRECT_URIS")
            .unwrap()
            .split(',')
            .any(|uri| uri == format!("{console_url}/auth/callback")),
        "the provider sends the browser back to the console"
    );
    let peers = [
        "TANDEM_CONNECTOR_SALESFORCE_URL",
        "TANDEM_CONNECTOR_MONDAY_URL",
        "TANDEM_MAPPING_CONFIG_URL",
        "TANDEM_SYNC_ORCHESTRATOR_URL",
        "TANDEM_RUN_HISTORY_URL",
    ];
    for name in [
        "connector-salesforce",
        "connector-monday",
        "mapping-config",
        "sync-orchestrator",
        "run-history",
        "console",
    ] {
        let service = &services[name];
        for development in ["TANDEM_DEV_AUTH", "TANDEM_AUTH_SECRET"] {
            assert!(
                env_of(service, development).is_none(),
                "{name} sets {development}"
            );
        }
        assert_eq!(
            env_of(service, "TANDEM_OIDC_ISSUER"),
            Some(issuer_url),
            "{name}"
        );
        assert_eq!(
            env_of(service, "TANDEM_OIDC_AUDIENCE"),
            env_of(issuer, "TANDEM_OIDC_AUDIENCE")
        );
        assert_eq!(
            env_of(service, "TANDEM_OIDC_CA"),
            Some("/certs/ca.pem"),
            "{name}"
        );
        assert_eq!(
            env_of(service, "TANDEM_TLS_CA"),
            Some("/certs/ca.pem"),
            "{name}"
        );
        assert_eq!(
            env_of(service, "TANDEM_TLS_CERT"),
            Some(format!("/certs/{name}.pem").as_str()),
            "{name} serves TLS with its own certificate"
        );
        assert_eq!(
            env_of(service, "TANDEM_TLS_KEY"),
            Some(format!("/certs/{name}-key.pem").as_str())
        );
        for peer in peers {
            let url = env_of(service, peer).unwrap();
            assert!(url.starts_with("https://"), "{name}: {peer}={url}");
        }
        assert_eq!(
            service["depends_on"]["certs"]["condition"], "service_completed_successfully",
            "{name}"
        );
    }
    assert_eq!(
        strings(services["certs"]["command"].as_sequence().unwrap().iter()),
        ["tandem", "dev-certs", "--dir", "/certs"]
    );
}

/// Every document of every manifest in deploy/k8s.
fn k8s_documents() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/k8s");
    let mut docs = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in serde_norway::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc).unwrap();
            if !value.is_null() {
                docs.push(value);
            }
        }
    }
    docs
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn strings<'a>(v: impl Iterator<Item = &'a Value>) -> Vec<String> {
    v.filter_map(Value::as_str).map(str::to_owned).collect()
}

#[test]
fn each_pod_mounts_only_its_own_secrets_and_serves_tls() {
    let docs = k8s_documents();
    let deployments = kind(&docs, "Deployment");
    assert_eq!(deployments.len(), 6);
    for d in deployments {
        let app = d["metadata"]["name"].as_str().unwrap();
        if app == "console" {
            // Checked on its own below: it has no identity and serves no gRPC.
            continue;
        }
        let pod = &d["spec"]["template"]["spec"];
        let labels = &d["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/part-of"], "tandem", "{app}");
        let container = &pod["containers"][0];
        let env_secrets = strings(
            container["envFrom"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|e| &e["secretRef"]["name"]),
        );
        assert_eq!(env_secrets, [format!("tandem-secrets-{app}")], "{app}");
        let mut volume_secrets = strings(
            pod["volumes"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| &v["secret"]["secretName"]),
        );
        volume_secrets.sort();
        assert_eq!(
            volume_secrets,
            [format!("tandem-key-{app}"), format!("tandem-tls-{app}")],
            "{app}"
        );
        let env: Vec<String> = strings(
            container["env"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|e| &e["name"]),
        );
        for var in ["TANDEM_TLS_CERT", "TANDEM_TLS_KEY", "TANDEM_TLS_CA"] {
            assert!(env.iter().any(|e| e == var), "{app} lacks {var}");
        }
    }
    // Peers are called over TLS.
    let config = kind(&docs, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"] == "tandem-config")
        .unwrap();
    for (key, value) in config["data"].as_mapping().unwrap() {
        let key = key.as_str().unwrap();
        if key.starts_with("TANDEM_") && key.ends_with("_URL") && key != "TANDEM_MONDAY_API_URL" {
            assert!(
                value.as_str().unwrap().starts_with("https://"),
                "{key}: {value:?}"
            );
        }
    }
}

#[test]
fn the_console_holds_no_service_key_and_checks_the_services_certificates() {
    let docs = k8s_documents();
    let console = kind(&docs, "Deployment")
        .into_iter()
        .find(|d| d["metadata"]["name"] == "console")
        .expect("a console Deployment");
    let pod = &console["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let secrets = strings(
        container["envFrom"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|e| &e["secretRef"]["name"]),
    );
    assert_eq!(secrets, ["tandem-secrets-console"]);
    // Its own certificate (it serves HTTPS) and the CA; no service key.
    let volume_secrets = strings(
        pod["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| &v["secret"]["secretName"]),
    );
    assert_eq!(volume_secrets, ["tandem-tls-console"]);
    let env = |name: &str| {
        container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .map(str::to_owned)
    };
    for var in ["TANDEM_TLS_CERT", "TANDEM_TLS_KEY", "TANDEM_TLS_CA"] {
        assert!(env(var).is_some(), "the console lacks {var}");
    }
    assert!(env("TANDEM_SERVICE_KEY_FILE").is_none());
    assert!(
        env("TANDEM_CONSOLE_PUBLIC_URL").is_some_and(|u| u.starts_with("https://")),
        "browsers reach it over TLS"
    );
    assert!(
        kind(&docs, "Service")
            .iter()
            .any(|s| s["metadata"]["name"] == "console"),
        "a console Service"
    );
}

#[test]
fn only_tandems_pods_reach_the_internal_services() {
    let docs = k8s_documents();
    let policies = kind(&docs, "NetworkPolicy");
    // Everything is closed unless a policy opens it.
    assert!(
        policies.iter().any(|p| p["spec"]["podSelector"]
            .as_mapping()
            .is_some_and(|m| m.is_empty())
            && p["spec"].get("ingress").is_none()
            && strings(p["spec"]["policyTypes"].as_sequence().unwrap().iter())
                .contains(&"Ingress".to_owned())),
        "no default deny"
    );
    // Which policies select an app: by matchLabels or an `In` expression on `app`.
    let selects = |policy: &Value, app: &str| {
        let selector = &policy["spec"]["podSelector"];
        selector["matchLabels"]["app"] == app
            || selector["matchExpressions"]
                .as_sequence()
                .is_some_and(|all| {
                    all.iter().any(|e| {
                        e["key"] == "app"
                            && e["operator"] == "In"
                            && strings(e["values"].as_sequence().unwrap().iter())
                                .contains(&app.to_owned())
                    })
                })
    };
    for app in ["connector-salesforce", "connector-monday"] {
        for policy in policies.iter().filter(|p| selects(p, app)) {
            for rule in policy["spec"]["ingress"].as_sequence().unwrap() {
                let ports = strings(
                    rule["ports"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .map(|p| &p["port"]),
                );
                if !ports.contains(&"grpc".to_owned()) {
                    continue;
                }
                for from in rule["from"].as_sequence().unwrap() {
                    assert_eq!(
                        from["podSelector"]["matchLabels"]["app.kubernetes.io/part-of"], "tandem",
                        "{app}'s gRPC port is open to {from:?}"
                    );
                }
            }
        }
    }
    for app in [
        "mapping-config",
        "sync-orchestrator",
        "run-history",
        "console",
    ] {
        assert!(
            policies.iter().any(|p| selects(p, app)),
            "{app} is reachable by nobody"
        );
    }
}
