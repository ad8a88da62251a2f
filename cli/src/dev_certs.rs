//! `tandem dev-certs`: a private CA and a certificate it signed for each service, the console
//! and the development identity provider — so a local stack (the compose file) runs with TLS on
//! every listener, as production does. The CA's private key is not kept: nothing else can be
//! signed with it. For production, certificates come from the operators' own CA (cert-manager,
//! a service mesh, a vault).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use tandem_dev_issuer::pem;
use tandem_service::service_key::names;

/// The names certificates are made for: the five services, the console, the issuer.
const NAMES: [&str; 7] = [
    names::CONNECTOR_SALESFORCE,
    names::CONNECTOR_MONDAY,
    names::MAPPING_CONFIG,
    names::SYNC_ORCHESTRATOR,
    names::RUN_HISTORY,
    "console",
    "issuer",
];

#[derive(clap::Args, Debug)]
pub struct DevCertsArgs {
    /// The directory to write `ca.pem`, `<name>.pem` and `<name>-key.pem` into. When it
    /// already holds `ca.pem` nothing is written (a compose stack's certificates survive its
    /// restarts).
    #[arg(long)]
    dir: PathBuf,
    /// Days the certificates are valid.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=825))]
    days: u32,
}

pub fn run(args: DevCertsArgs) -> anyhow::Result<()> {
    if args.dir.join("ca.pem").exists() {
        println!(
            "{} already holds ca.pem: keeping its certificates",
            args.dir.display()
        );
        return Ok(());
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let certificates = make(&NAMES, args.days).map_err(|e| anyhow!("making certificates: {e}"))?;
    for (file, text, private) in certificates {
        let path = args.dir.join(file);
        write(&path, &text, private)?;
    }
    println!(
        "wrote {}: ca.pem and a certificate with its key for {} (each also valid for localhost and 127.0.0.1)",
        args.dir.display(),
        NAMES.join(", ")
    );
    Ok(())
}

fn write(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    if private {
        crate::files::write_private(path, text)
    } else {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }
}

/// `(file name, PEM, private?)` for the CA and each name's certificate and key.
fn make(names: &[&str], days: u32) -> Result<Vec<(String, String, bool)>, rcgen::Error> {
    let now = time::OffsetDateTime::now_utc();
    let validity = |params: &mut rcgen::CertificateParams| {
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(i64::from(days));
    };
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Tandem development CA");
    validity(&mut ca);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca, &ca_key);
    let mut out = vec![(
        "ca.pem".to_owned(),
        pem("CERTIFICATE", ca_cert.der()),
        false,
    )];
    for name in names {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec![
            (*name).to_owned(),
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, *name);
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        validity(&mut params);
        let cert = params.signed_by(&key, &issuer)?;
        out.push((format!("{name}.pem"), pem("CERTIFICATE", cert.der()), false));
        out.push((
            format!("{name}-key.pem"),
            pem("PRIVATE KEY", &key.serialize_der()),
            true,
        ));
    }
    Ok(out)
}
