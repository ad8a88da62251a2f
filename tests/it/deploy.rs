//! What the shipped deployment files expose: docker compose publishes nothing beyond this
//! machine.

use std::path::PathBuf;

use serde_norway::Value;

fn repo_file(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn docker_compose_publishes_every_port_on_loopback_only() {
    let compose: Value = serde_norway::from_str(&repo_file("docker-compose.yml")).unwrap();
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
