//! Command lines without secrets: a secret passed as a flag is visible to every user of the
//! machine (`ps`, `/proc/<pid>/cmdline`) and stays in shell history. Every Tandem binary parses
//! its arguments through [`parse`], which refuses the secret-bearing flags on the command line
//! (their environment variables, or a `…_FILE` where one exists, are the way in) and a
//! database or Redis URL given on the command line with a password in it.

use clap::ArgMatches;
use clap::parser::ValueSource;

/// Argument ids (field names) that hold secrets, and the variable each is read from.
pub const SECRET_ARGS: &[(&str, &str)] = &[
    ("auth_secret", "TANDEM_AUTH_SECRET"),
    ("service_key", "TANDEM_SERVICE_KEY"),
    ("token", "TANDEM_TOKEN"),
    ("signing_secret", "TANDEM_MONDAY_SIGNING_SECRET"),
    ("client_secret", "TANDEM_SALESFORCE_CLIENT_SECRET"),
    ("encryption_keys", "TANDEM_ENCRYPTION_KEYS"),
    ("oidc_client_secret", "TANDEM_CONSOLE_OIDC_CLIENT_SECRET"),
];

/// URL arguments refused on the command line when they carry a password.
const URL_ARGS: &[(&str, &str)] = &[("database_url", "DATABASE_URL"), ("redis_url", "REDIS_URL")];

/// Parses the process's arguments into `P`, exiting as clap does on bad input — and on a
/// secret given as a flag, naming the variable to use instead (never the value).
pub fn parse<P: clap::Parser>() -> P {
    let matches = P::command().get_matches();
    if let Err(message) = refuse_secrets(&matches) {
        P::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit();
    }
    P::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut P::command()).exit())
}

/// An error naming the first secret found among `matches` (or its subcommands') command-line
/// values.
pub fn refuse_secrets(matches: &ArgMatches) -> Result<(), String> {
    // `try_contains_id` first: `value_source` panics on an id this command does not define
    // (a global argument's value is listed in its subcommands' matches too).
    let on_command_line = |id: &str| {
        matches.try_contains_id(id).unwrap_or(false)
            && matches.value_source(id) == Some(ValueSource::CommandLine)
    };
    for (id, var) in SECRET_ARGS {
        if on_command_line(id) {
            return Err(format!(
                "--{} takes a secret, which a command line shows to every user of the machine: set {var} (or {var}_FILE) instead",
                id.replace('_', "-")
            ));
        }
    }
    for (id, var) in URL_ARGS {
        if on_command_line(id)
            && let Ok(Some(url)) = matches.try_get_one::<String>(id)
            && crate::storage::redact_url(url) != *url
        {
            return Err(format!(
                "--{} has a password in it, which a command line shows to every user of the machine: set {var} instead",
                id.replace('_', "-")
            ));
        }
    }
    match matches.subcommand() {
        Some((_, sub)) => refuse_secrets(sub),
        None => Ok(()),
    }
}

/// The secret in `var`, or else in the file `var_FILE` names (trailing newline dropped).
pub fn secret_from_env(var: &str) -> Result<Option<String>, String> {
    if let Ok(value) = std::env::var(var)
        && !value.is_empty()
    {
        return Ok(Some(value));
    }
    let file_var = format!("{var}_FILE");
    match std::env::var_os(&file_var) {
        Some(path) if !path.is_empty() => std::fs::read_to_string(&path)
            .map(|text| Some(text.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|e| format!("{file_var} `{}`: {e}", path.to_string_lossy())),
        _ => Ok(None),
    }
}

/// clap's value parser for a secret flag or variable: held as a [`secrecy::SecretString`],
/// never printed.
pub fn secret(text: &str) -> Result<secrecy::SecretString, std::convert::Infallible> {
    Ok(secrecy::SecretString::from(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Parser, Debug)]
    struct Args {
        #[arg(long, env = "TANDEM_TEST_ARGV_SECRET", hide_env_values = true)]
        auth_secret: Option<String>,
        #[arg(long, env = "TANDEM_TEST_ARGV_DB")]
        database_url: Option<String>,
        #[arg(long)]
        account: Option<String>,
    }

    fn refused(argv: &[&str]) -> Result<(), String> {
        refuse_secrets(&Args::command().get_matches_from(argv))
    }

    #[test]
    fn a_secret_or_a_url_with_a_password_is_refused_on_the_command_line() {
        let e = refused(&["x", "--auth-secret", "hunter2hunter2"]).unwrap_err();
        assert!(e.contains("TANDEM_AUTH_SECRET"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = refused(&["x", "--database-url", "postgres://a:hunter2@db/t"]).unwrap_err();
        assert!(e.contains("DATABASE_URL") && !e.contains("hunter2"), "{e}");
        let e = refused(&["x", "--database-url", "postgres://a@db/t?password=hunter2"]);
        assert!(e.is_err());
        assert!(refused(&["x", "--database-url", "postgres://a@db/t", "--account", "a"]).is_ok());
        assert!(refused(&["x"]).is_ok());
    }
}
