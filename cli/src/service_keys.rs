//! `tandem service-keys`: a fresh Ed25519 key for each of the five services, and the list of
//! their public keys every service checks callers against (docs/security.md).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use tandem_service::names;
use tandem_service::service_key::KeySet;

#[derive(clap::Args)]
pub struct ServiceKeysArgs {
    /// Write `<service>.key` (the private key, mode 0600) for each service and
    /// `public-keys.env` into this directory (for Kubernetes secrets) instead of printing
    /// `.env` lines (for docker compose).
    #[arg(long)]
    dir: Option<PathBuf>,
}

pub fn run(args: ServiceKeysArgs) -> anyhow::Result<()> {
    let keys = KeySet::generate(&names::ALL);
    let public = format!("TANDEM_SERVICE_PUBLIC_KEYS={}\n", keys.public_text());
    let private = |name: &str| -> anyhow::Result<String> {
        Ok(keys
            .private_text(name)
            .context("a key was made for every service")?
            .expose_secret()
            .to_owned())
    };
    match args.dir {
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "# Tandem service keys: each service signs its calls with its own private key."
            )?;
            out.write_all(public.as_bytes())?;
            for name in names::ALL {
                writeln!(out, "{}={}", env_name(name), private(name)?)?;
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for name in names::ALL {
                crate::files::write_private(&dir.join(format!("{name}.key")), &private(name)?)?;
            }
            let path = dir.join("public-keys.env");
            std::fs::write(&path, public).with_context(|| format!("writing {}", path.display()))?;
            println!(
                "wrote {} (one private key per service, public-keys.env)",
                dir.display()
            );
        }
    }
    Ok(())
}

/// `TANDEM_SERVICE_KEY_CONNECTOR_SALESFORCE` for `connector-salesforce`: what the compose file
/// hands each service as its `TANDEM_SERVICE_KEY`.
fn env_name(service: &str) -> String {
    format!(
        "TANDEM_SERVICE_KEY_{}",
        service.replace('-', "_").to_uppercase()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn env_names_are_shell_names() {
        assert_eq!(
            super::env_name("connector-salesforce"),
            "TANDEM_SERVICE_KEY_CONNECTOR_SALESFORCE"
        );
    }
}
