//! `tandem`: run the stack, mint tokens, and (as the product grows) configure and inspect.

mod bench;
mod configure;
mod demo;
mod dev_certs;
mod dev_issuer;
mod files;
mod login;
mod service_keys;
mod token;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tandem keeps monday.com boards and Salesforce objects in step, both ways.
#[derive(Parser)]
#[command(name = "tandem", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the five services in one process (development and demos).
    Up(Box<up::UpArgs>),
    /// Run one more sync-orchestrator replica beside running services.
    Orchestrator(Box<up::OrchestratorArgs>),
    /// Run the performance scenarios against the simulators, Postgres and Redis; print a table.
    Bench(Box<bench::BenchArgs>),
    /// Print a user token minted from TANDEM_AUTH_SECRET (development mode only).
    Token(token::TokenArgs),
    /// Make a key for each service: how services prove who they are to each other.
    ServiceKeys(service_keys::ServiceKeysArgs),
    /// Sign in at the identity provider; later commands use the token it gives.
    Login(login::LoginArgs),
    /// Run a development identity provider (OpenID Connect) for a local trial.
    DevIssuer(Box<dev_issuer::DevIssuerArgs>),
    /// Make a private CA and a certificate for each service (a local stack with TLS).
    DevCerts(dev_certs::DevCertsArgs),
    #[command(flatten)]
    Configure(Box<configure::Command>),
    /// The whole product on simulated monday and Salesforce accounts, step by step.
    Demo(Box<demo::DemoArgs>),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = tandem_service::argv::parse();
    match cli.command {
        Command::Up(args) => {
            tandem_service::process::run("tandem", |shutdown| async move {
                up::run(*args, shutdown).await.map_err(|e| format!("{e:#}"))
            })
            .await
        }
        Command::Orchestrator(args) => {
            tandem_service::process::run("tandem", |shutdown| async move {
                up::orchestrator(*args, shutdown)
                    .await
                    .map_err(|e| format!("{e:#}"))
            })
            .await
        }
        Command::Demo(args) => report("demo", demo::run(*args).await),
        Command::Bench(args) => report("bench", bench::run(*args).await),
        Command::Token(args) => report("token", token::run(args)),
        Command::ServiceKeys(args) => report("service-keys", service_keys::run(args)),
        Command::Login(args) => report("login", login::run(args).await),
        Command::DevIssuer(args) => {
            tandem_service::process::run("tandem", |shutdown| async move {
                dev_issuer::run(*args, shutdown)
                    .await
                    .map_err(|e| format!("{e:#}"))
            })
            .await
        }
        Command::DevCerts(args) => report("dev-certs", dev_certs::run(args)),
        Command::Configure(command) => configure::run(*command).await,
    }
}

/// A command's outcome as its exit code, its error on stderr.
fn report(command: &str, outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem {command}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
