//! The body of every server binary's `main`: crypto provider, telemetry, signals, and a
//! one-line error with a non-zero exit when start-up or serving fails.

use std::fmt::Display;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

/// Runs `serve` until it returns; `serve` receives the token that the first SIGTERM/Ctrl-C
/// cancels. Telemetry is set up from the environment first and flushed at the end.
pub async fn run<F, Fut, E>(name: &'static str, serve: F) -> ExitCode
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    // One crypto provider for every TLS client (reqwest, sqlx): ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let telemetry =
        match tandem_telemetry::Config::from_env(name).and_then(|c| tandem_telemetry::init(&c)) {
            Ok(guard) => guard,
            Err(e) => {
                eprintln!("{name}: {e}");
                return ExitCode::FAILURE;
            }
        };
    let shutdown = crate::shutdown::on_signal();
    let result = serve(shutdown).await;
    let _ = tokio::task::spawn_blocking(move || drop(telemetry)).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
