//! The configuration and inspection commands (`connect`, `integration`, `mapping`, `sync`,
//! `import`, `history`): thin gRPC clients of a running stack. They live in one module so the
//! binary's command list gains them with a single flattened variant.

/// `println!` for command output: a closed stdout (`tandem … | head -1`) ends the command
/// quietly instead of panicking, and any other write failure is one line on stderr.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::configure::emit(format_args!($($arg)*))
    };
}

mod callback;
mod client;
mod connect;
mod events;
mod history;
mod integration;
mod mapping;
mod output;
mod progress;
mod spec_file;
mod sync;

use std::process::ExitCode;

/// The commands this module adds to `tandem`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Connect a Salesforce org (OAuth in the browser) or a monday account (API token).
    Connect(connect::ConnectArgs),
    /// Create, inspect, change, validate and hand over integrations.
    Integration(integration::IntegrationArgs),
    /// Field-mapping help: suggestions between a board and an object.
    Mapping(mapping::MappingArgs),
    /// Run, pause, resume and inspect an integration's sync.
    Sync(sync::SyncArgs),
    /// Import (backfill) existing records of one side into the other.
    Import(sync::ImportArgs),
    /// Runs and per-record events, with the remote's own error messages.
    History(history::HistoryArgs),
}

/// Runs a command; any failure is one line on stderr and a non-zero exit code.
pub async fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Connect(args) => connect::run(args).await,
        Command::Integration(args) => integration::run(args).await,
        Command::Mapping(args) => mapping::run(args).await,
        Command::Sync(args) => sync::run(args).await,
        Command::Import(args) => sync::import(args).await,
        Command::History(args) => history::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

pub fn emit(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("tandem: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// Error text on one line: scripts read stderr line by line.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser};

    /// As the binary declares it (a propagated `--version` clashes with any `version` arg).
    #[derive(Parser)]
    #[command(name = "tandem", version, propagate_version = true)]
    struct Cli {
        #[command(subcommand)]
        command: super::Command,
    }

    #[test]
    fn the_command_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_fit_on_one_line() {
        assert_eq!(super::one_line("a\n  b\r\n\nc"), "a b c");
    }
}
