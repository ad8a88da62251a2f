//! FindUsers: active Users by email, batched into SOQL `IN` queries. Salesforce compares text
//! case-insensitively and emails are not unique: every active user with a matching email is
//! returned, and the caller decides what to do with several. GetOrganization: the org's own
//! record (its default time zone and locale country), cached like describes.

use serde::Deserialize;
use std::sync::Arc;

use tandem_proto::v1::{
    FindUsersRequest, FindUsersResponse, GetOrganizationRequest, Organization, SalesforceUser,
};

use crate::api::Api;
use crate::error::Error;
use crate::poll::{get_exact, query_tail};
use crate::read::soql_string;

/// Emails per query (keeps the query string short).
const EMAILS_PER_QUERY: usize = 100;
/// The most emails one FindUsers may ask for.
pub const MAX_EMAILS: usize = 2_000;

#[derive(Deserialize)]
struct UserRow {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Email", default)]
    email: Option<String>,
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "IsActive", default)]
    active: bool,
}

#[derive(Deserialize)]
struct OrgRow {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "TimeZoneSidKey", default)]
    time_zone: Option<String>,
    #[serde(rename = "IsSandbox", default)]
    is_sandbox: bool,
    #[serde(rename = "DefaultLocaleSidKey", default)]
    default_locale: Option<String>,
}

#[derive(Deserialize)]
struct OrgPage {
    #[serde(default)]
    records: Vec<OrgRow>,
}

#[derive(Deserialize)]
struct UserPage {
    #[serde(default)]
    records: Vec<UserRow>,
    #[serde(rename = "nextRecordsUrl")]
    next: Option<String>,
}

fn check_emails(raw: &[String]) -> Result<Vec<String>, Error> {
    if raw.len() > MAX_EMAILS {
        return Err(Error::invalid(
            "emails",
            format!("asks for {} emails; at most {MAX_EMAILS}", raw.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, e) in raw.iter().enumerate() {
        let e = e.trim();
        let plausible = e.len() <= 254
            && e.split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
            && !e.chars().any(char::is_whitespace);
        if !plausible {
            return Err(Error::invalid(
                format!("emails[{i}]"),
                format!(
                    "`{}` is not an email address",
                    e.chars().take(80).collect::<String>()
                ),
            ));
        }
        let lower = e.to_lowercase();
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    Ok(out)
}

impl Api {
    #[tracing::instrument(skip_all, fields(connection_id = %r.connection_id, emails = r.emails.len()))]
    pub async fn find_users(&self, r: FindUsersRequest) -> Result<FindUsersResponse, Error> {
        let emails = check_emails(&r.emails)?;
        let mut session = self.session(&r.connection_id).await?;
        let mut users = Vec::new();
        for chunk in emails.chunks(EMAILS_PER_QUERY) {
            let list: Vec<String> = chunk.iter().map(|e| soql_string(e)).collect();
            let soql = format!(
                "SELECT Id, Email, Name, IsActive FROM User WHERE IsActive = true AND Email IN ({}) ORDER BY Id",
                list.join(", ")
            );
            let mut tail = query_tail(&soql);
            loop {
                let page: UserPage = get_exact(&mut session, &tail).await?;
                users.extend(page.records.into_iter().map(|u| SalesforceUser {
                    id: u.id,
                    email: u.email.unwrap_or_default(),
                    name: u.name.unwrap_or_default(),
                    active: u.active,
                }));
                match page.next {
                    Some(next) => tail = next,
                    None => break,
                }
            }
        }
        Ok(FindUsersResponse { users })
    }

    pub async fn organization(&self, r: GetOrganizationRequest) -> Result<Organization, Error> {
        let connection = crate::credentials::connection_id(&r.connection_id)?.to_owned();
        if let Some(org) = self.describes.organization(&connection) {
            return Ok((*org).clone());
        }
        let mut session = self.session(&r.connection_id).await?;
        let tail = query_tail(
            "SELECT Id, Name, TimeZoneSidKey, IsSandbox, DefaultLocaleSidKey FROM Organization",
        );
        let page: OrgPage = get_exact(&mut session, &tail).await?;
        let row = page.records.into_iter().next().ok_or_else(|| {
            Error::Protocol("Salesforce returned no Organization record".to_owned())
        })?;
        let org = Organization {
            id: row.id,
            name: row.name.unwrap_or_default(),
            // Salesforce's own default for an org that never set one.
            time_zone: row
                .time_zone
                .unwrap_or_else(|| "America/Los_Angeles".to_owned()),
            is_sandbox: row.is_sandbox,
            country: locale_country(row.default_locale.as_deref().unwrap_or_default()),
            default_locale: row.default_locale.unwrap_or_default(),
        };
        self.describes
            .remember_organization(connection, Arc::new(org.clone()));
        Ok(org)
    }
}

/// The country of a Salesforce locale (`en_US` → `US`, `de_DE_EURO` → `DE`,
/// `sr_Latn_RS` → `RS`), empty when it names none (`en`).
fn locale_country(locale: &str) -> String {
    locale
        .split('_')
        .skip(1)
        .find(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_uppercase()))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_name_their_country() {
        for (locale, country) in [
            ("en_US", "US"),
            ("en_GB", "GB"),
            ("de_DE_EURO", "DE"),
            ("sr_Latn_RS", "RS"),
            ("en", ""),
            ("", ""),
        ] {
            assert_eq!(locale_country(locale), country, "{locale}");
        }
    }

    #[test]
    fn emails_are_checked_lowercased_and_deduplicated() {
        let got = check_emails(&[
            "Ada@Acme.test".into(),
            "ada@acme.test".into(),
            "bo@x.io".into(),
        ])
        .unwrap();
        assert_eq!(got, ["ada@acme.test", "bo@x.io"]);
        for bad in ["", "nobody", "@x", "a@", "a b@x.io"] {
            match check_emails(&[bad.into()]) {
                Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "emails[0]"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
