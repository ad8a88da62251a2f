//! The body of every server binary's `main`: crypto provider, telemetry, signals, and a
//! one-line error with a non-zero exit when start-up or serving fails.

use std::fmt::Display;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

/// Every binary's `main`: the allocator tuned while the process has one thread, then `body`
/// on a multi-threaded runtime.
pub fn main<Fut>(body: impl FnOnce() -> Fut) -> ExitCode
where
    Fut: Future<Output = ExitCode>,
{
    limit_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(body()),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// glibc gives threads that allocate at once arenas of their own (up to 8 per core) and keeps
/// what they free in them: a service moving pages of 10,000 records grew with the size of an
/// import (peak RSS 212 MiB at 20,000 records, 343 MiB at 100,000), with two arenas it stays
/// flat (220 and 228 MiB; `tandem bench --scenario throughput`, docs/performance.md). The
/// operator's own `MALLOC_ARENA_MAX`, when set, is left to glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only tunes the allocator; it is called before any other thread
        // exists (the runtime is built after it).
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_arenas() {}

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
