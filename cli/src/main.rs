//! `tandem`: run the stack, mint tokens, and (as the product grows) configure and inspect.

mod bench;
mod configure;
mod demo;
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
        Command::Demo(args) => match demo::run(*args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tandem demo: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Bench(args) => match bench::run(*args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tandem bench: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Token(args) => match token::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tandem token: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::ServiceKeys(args) => match service_keys::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tandem service-keys: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Configure(command) => configure::run(*command).await,
    }
}
