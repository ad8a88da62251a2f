//! `tandem token`: mint a user token for a development stack (`TANDEM_DEV_AUTH=1`) and
//! scripts against it. It mints users only: services sign with their own keys, and a
//! production deployment takes its users' tokens from the identity provider.

use std::time::Duration;
use tandem_service::argv::secret;

use anyhow::Context as _;
use secrecy::SecretString;
use tandem_service::Identity;
use tandem_service::auth::AuthArgs;

#[derive(clap::Args)]
pub struct TokenArgs {
    /// The account the user acts in.
    #[arg(long)]
    account: String,
    /// The user's email.
    #[arg(long)]
    user: String,
    /// How long the token is valid: a number with s, m, h or d (e.g. 90m).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: Duration,
    /// The development secret (at least 32 characters): TANDEM_AUTH_SECRET or the file
    /// TANDEM_AUTH_SECRET_FILE names, never the command line.
    #[arg(long, env = "TANDEM_AUTH_SECRET", hide = true, value_parser = secret)]
    auth_secret: Option<SecretString>,
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let auth_secret = match args.auth_secret {
        Some(s) => Some(s),
        None => tandem_service::argv::secret_from_env("TANDEM_AUTH_SECRET")
            .map_err(anyhow::Error::msg)?
            .map(SecretString::from),
    };
    let auth = AuthArgs {
        auth_secret,
        ..AuthArgs::default()
    };
    let most = auth.max_token_lifetime();
    if args.ttl > most {
        anyhow::bail!(
            "--ttl is longer than the {} h a token may live (TANDEM_OIDC_MAX_TOKEN_LIFETIME_SECONDS): services would refuse it",
            most.as_secs() / 3600
        );
    }
    let signer = auth.dev_signer().map_err(anyhow::Error::msg)?;
    let identity = Identity::User {
        account: args.account,
        email: args.user,
    };
    println!("{}", signer.mint(&identity, args.ttl));
    Ok(())
}

fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .with_context(|| format!("--ttl `{text}` must start with a number"))
        .map_err(|e| e.to_string())?;
    let seconds = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("--ttl `{text}`: unit must be s, m, h or d")),
    };
    if seconds == 0 {
        return Err("--ttl must be more than 0".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;
    use std::time::Duration;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_ttl("45"), Ok(Duration::from_secs(45)));
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("5w").is_err());
        assert!(parse_ttl("0s").is_err());
    }
}
