//! Where to send a request: the OAuth host of an org (its My Domain, or the configured login
//! URL), and the REST base of a connection (the configured instance URL, or the credential's).

use tandem_proto::v1::SalesforceEnvironment;

use crate::error::Error;

/// The longest DNS label.
const MAX_LABEL: usize = 63;

/// Checks a My Domain subdomain (`acme`, `acme--uat`, `acme-dev-ed`) and returns it in lower
/// case. Anything with a scheme, dots or slashes is refused, naming `subdomain`.
pub fn subdomain(raw: &str) -> Result<String, Error> {
    let s = raw.trim();
    let reason = if s.is_empty() {
        Some("is required: give the My Domain name, e.g. `acme` for acme.my.salesforce.com")
    } else if s.contains("://") || s.contains('/') || s.contains('.') {
        Some(
            "must be only the My Domain name, not a URL or host: e.g. `acme` for https://acme.my.salesforce.com",
        )
    } else if s.len() > MAX_LABEL {
        Some("is longer than 63 characters")
    } else if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Some("may contain only letters, digits and hyphens")
    } else if s.starts_with('-') || s.ends_with('-') {
        Some("may not start or end with a hyphen")
    } else if s.contains("---") {
        Some("may not contain three hyphens in a row")
    } else {
        None
    };
    match reason {
        Some(r) => Err(Error::invalid(
            "subdomain",
            format!("`{}` {r}", shorten(raw)),
        )),
        None => Ok(s.to_ascii_lowercase()),
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

/// The environment, refusing UNSPECIFIED and unknown numbers.
pub fn environment(raw: i32) -> Result<SalesforceEnvironment, Error> {
    match SalesforceEnvironment::try_from(raw) {
        Ok(SalesforceEnvironment::Unspecified) | Err(_) => Err(Error::invalid(
            "environment",
            "must be PRODUCTION, SANDBOX or DEVELOPER",
        )),
        Ok(e) => Ok(e),
    }
}

/// `https://{sub}.my.salesforce.com`, `…sandbox.my…` or `…develop.my…`.
pub fn my_domain(subdomain: &str, environment: SalesforceEnvironment) -> String {
    let middle = match environment {
        SalesforceEnvironment::Sandbox => "sandbox.",
        SalesforceEnvironment::Developer => "develop.",
        SalesforceEnvironment::Production | SalesforceEnvironment::Unspecified => "",
    };
    format!("https://{subdomain}.{middle}my.salesforce.com")
}

/// Where OAuth requests of an org go: the configured login URL when set (the simulator),
/// otherwise the org's My Domain host.
pub fn oauth_base(
    login_override: Option<&str>,
    subdomain: &str,
    environment: SalesforceEnvironment,
) -> String {
    match login_override.filter(|u| !u.trim().is_empty()) {
        Some(url) => url.trim().trim_end_matches('/').to_owned(),
        None => my_domain(subdomain, environment),
    }
}

/// The host REST calls of a connection go to: the configured instance URL when set, else the
/// credential's `instance_url`.
pub fn instance_base(instance_override: Option<&str>, credential_instance_url: &str) -> String {
    match instance_override.filter(|u| !u.trim().is_empty()) {
        Some(url) => url.trim().trim_end_matches('/').to_owned(),
        None => credential_instance_url
            .trim()
            .trim_end_matches('/')
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_my_domain_names_and_lowercases_them() {
        for (raw, want) in [
            ("acme", "acme"),
            ("Acme", "acme"),
            ("acme--uat", "acme--uat"),
            ("orgfarm-8663634d5e-dev-ed", "orgfarm-8663634d5e-dev-ed"),
            ("a", "a"),
            (&"x".repeat(63), &"x".repeat(63)),
        ] {
            assert_eq!(subdomain(raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn refuses_urls_hosts_and_bad_characters_naming_the_field() {
        for raw in [
            "",
            "https://acme.my.salesforce.com",
            "acme.my.salesforce.com",
            "acme/evil",
            "acme_corp",
            "ac me",
            "-acme",
            "acme-",
            "a---b",
            "acme?x=1",
            &"x".repeat(64),
        ] {
            match subdomain(raw) {
                Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "subdomain"),
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn my_domain_host_per_environment() {
        use SalesforceEnvironment::*;
        assert_eq!(
            my_domain("acme", Production),
            "https://acme.my.salesforce.com"
        );
        assert_eq!(
            my_domain("acme--uat", Sandbox),
            "https://acme--uat.sandbox.my.salesforce.com"
        );
        assert_eq!(
            my_domain("acme-dev-ed", Developer),
            "https://acme-dev-ed.develop.my.salesforce.com"
        );
    }

    #[test]
    fn overrides_win_and_lose_their_trailing_slash() {
        use SalesforceEnvironment::*;
        assert_eq!(
            oauth_base(Some("http://127.0.0.1:7001/"), "acme", Production),
            "http://127.0.0.1:7001"
        );
        assert_eq!(
            oauth_base(None, "acme", Sandbox),
            "https://acme.sandbox.my.salesforce.com"
        );
        assert_eq!(
            instance_base(Some("http://sim:7001"), "https://na1.salesforce.com"),
            "http://sim:7001"
        );
        assert_eq!(
            instance_base(None, "https://acme.my.salesforce.com/"),
            "https://acme.my.salesforce.com"
        );
    }

    #[test]
    fn unspecified_environment_is_refused() {
        assert!(matches!(
            environment(0),
            Err(Error::InvalidArgument { field, .. }) if field == "environment"
        ));
        assert!(environment(99).is_err());
        assert_eq!(environment(2).unwrap(), SalesforceEnvironment::Sandbox);
    }
}
