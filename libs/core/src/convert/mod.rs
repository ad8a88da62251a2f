//! Conversions: Salesforce JSON ⇄ canonical [`Value`](crate::Value) ⇄ monday column value.
//!
//! A value travels in three steps, each its own function so the merge can work on the
//! canonical values in between:
//! 1. read the source side: [`salesforce::read`] or [`monday::read`] (canonical, in the
//!    source's shape: a picklist reads as one label, a User lookup as a reference, …);
//! 2. change shape for the other side: [`to_monday`] / [`to_salesforce`], driven by the
//!    mapping's matrix [`Conversion`](crate::Conversion);
//! 3. write the target side: [`salesforce::write`] or [`monday::write`], which also checks
//!    the target's rules (field length, restricted picklist, labels on the board).
//!
//! [`salesforce_to_monday`] and [`monday_to_salesforce`] do all three at once;
//! [`read_salesforce_record`] and [`read_monday_item`] read whole records for the merge.

mod adapt;
pub mod monday;
pub mod phone;
mod raw;
mod record;
pub mod salesforce;
pub mod same;

use std::collections::HashMap;

use jiff::tz::TimeZone;

pub use adapt::{to_monday, to_salesforce};
pub use raw::{RawRecord, read_monday_raw, read_salesforce_raw};
pub use record::{
    ReadRecord, read_monday_columns, read_monday_item, read_salesforce_fields,
    read_salesforce_fields_named, read_salesforce_record, read_salesforce_record_named,
};

use crate::{CoreError, FieldMapping, Result};

/// Finds the same person on both sides by email. The orchestrator fills it from the
/// Salesforce `User` query and the monday `users` query.
pub trait UserDirectory {
    /// The email of a Salesforce user Id.
    fn salesforce_email(&self, user_id: &str) -> Option<String>;
    /// The Salesforce user Id of an email (case-insensitive).
    fn salesforce_user_id(&self, email: &str) -> Option<String>;
    /// The email of a monday user id.
    fn monday_email(&self, user_id: u64) -> Option<String>;
    /// The monday user id of an email (case-insensitive).
    fn monday_user_id(&self, email: &str) -> Option<u64>;
}

/// A [`UserDirectory`] held in memory.
#[derive(Debug, Clone, Default)]
pub struct UserMap {
    sf_by_id: HashMap<String, String>,
    sf_by_email: HashMap<String, String>,
    monday_by_id: HashMap<u64, String>,
    monday_by_email: HashMap<String, u64>,
}

impl UserMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Salesforce user (`Id`, `Email`).
    pub fn with_salesforce_user(mut self, id: impl Into<String>, email: &str) -> Self {
        self.add_salesforce_user(id, email);
        self
    }

    /// Adds a monday user (`id`, `email`).
    pub fn with_monday_user(mut self, id: u64, email: &str) -> Self {
        self.add_monday_user(id, email);
        self
    }

    pub fn add_salesforce_user(&mut self, id: impl Into<String>, email: &str) {
        let id = id.into();
        let email = email.trim().to_lowercase();
        self.sf_by_email.insert(email.clone(), id.clone());
        self.sf_by_id.insert(id, email);
    }

    /// Adds the email of a Salesforce user known by Id only (any user a record points to,
    /// read by Id, active or not): a User field mapped to a text/email column then writes
    /// this email even when no monday user has it. Unlike [`UserMap::add_salesforce_user`],
    /// the email is not matched back to this user (an inactive user cannot own records), and
    /// a user already added with [`UserMap::add_salesforce_user`] is left as it is.
    pub fn add_salesforce_user_email(&mut self, id: impl Into<String>, email: &str) {
        let email = email.trim().to_lowercase();
        if !email.is_empty() {
            self.sf_by_id.entry(id.into()).or_insert(email);
        }
    }

    pub fn add_monday_user(&mut self, id: u64, email: &str) {
        let email = email.trim().to_lowercase();
        self.monday_by_email.insert(email.clone(), id);
        self.monday_by_id.insert(id, email);
    }
}

impl UserDirectory for UserMap {
    fn salesforce_email(&self, user_id: &str) -> Option<String> {
        self.sf_by_id.get(user_id).cloned()
    }
    fn salesforce_user_id(&self, email: &str) -> Option<String> {
        self.sf_by_email.get(&email.trim().to_lowercase()).cloned()
    }
    fn monday_email(&self, user_id: u64) -> Option<String> {
        self.monday_by_id.get(&user_id).cloned()
    }
    fn monday_user_id(&self, email: &str) -> Option<u64> {
        self.monday_by_email
            .get(&email.trim().to_lowercase())
            .copied()
    }
}

/// What conversions need beyond the mapping: the org's time zone (for datetime ↔ date), the
/// user directory (for people) and the country of phone numbers written without `+`.
#[derive(Clone)]
pub struct ConvertContext<'a> {
    /// The Salesforce org's time zone (`TimeZoneSidKey`), e.g.
    /// `TimeZone::get("America/Los_Angeles")`.
    pub org_time_zone: TimeZone,
    pub users: &'a dyn UserDirectory,
    /// ISO 3166-1 alpha-2 country of national phone numbers (no leading `+`), e.g. from the
    /// org's default locale (`en_GB` → `GB`). A mapping's own `default_phone_country` wins;
    /// when neither is set, [`phone::FALLBACK_COUNTRY`] (`US`).
    pub default_phone_country: Option<String>,
}

impl<'a> ConvertContext<'a> {
    pub fn new(org_time_zone: TimeZone, users: &'a dyn UserDirectory) -> Self {
        Self {
            org_time_zone,
            users,
            default_phone_country: None,
        }
    }

    /// The same context with national phone numbers read in `country` (ISO alpha-2, any
    /// case; an empty string means none).
    pub fn with_phone_country(mut self, country: &str) -> Self {
        let c = country.trim().to_ascii_uppercase();
        self.default_phone_country = (!c.is_empty()).then_some(c);
        self
    }

    /// The phone country for `mapping`: its own default, else the context's, else `US`.
    pub fn phone_country(&self, mapping: &FieldMapping) -> String {
        mapping
            .options
            .default_phone_country
            .as_deref()
            .or(self.default_phone_country.as_deref())
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| phone::FALLBACK_COUNTRY.to_owned())
    }

    /// A context for an org whose `TimeZoneSidKey` is `tz_name` (an IANA name such as
    /// `Europe/Paris`, looked up in the tz database bundled into this crate).
    pub fn for_org(tz_name: &str, users: &'a dyn UserDirectory) -> Result<Self> {
        let tz = TimeZone::get(tz_name).map_err(|_| CoreError::InvalidValue {
            target: "the Salesforce org's time zone".into(),
            value: tz_name.into(),
            reason: "not a known IANA time zone".into(),
        })?;
        Ok(Self::new(tz, users))
    }
}

/// Salesforce JSON field value → monday column value (the JSON to put under the column id
/// in `column_values`), through read, reshape and write.
pub fn salesforce_to_monday(
    mapping: &FieldMapping,
    sf_json: &serde_json::Value,
    ctx: &ConvertContext<'_>,
) -> Result<serde_json::Value> {
    let v = salesforce::read(&mapping.salesforce, sf_json)?;
    let v = to_monday(mapping, &v, ctx)?;
    monday::write(&mapping.monday, &v, &mapping.options, ctx.users)
}

/// monday column `value` (the JSON string from `column_values.value`) and `text` →
/// Salesforce JSON field value, through read, reshape and write.
pub fn monday_to_salesforce(
    mapping: &FieldMapping,
    value: Option<&str>,
    text: Option<&str>,
    ctx: &ConvertContext<'_>,
) -> Result<serde_json::Value> {
    let v = monday::read(&mapping.monday, value, text, ctx.users)?;
    let v = to_salesforce(mapping, &v, ctx)?;
    salesforce::write(&mapping.salesforce, &v, &mapping.options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_known_by_id_only_give_their_email_but_are_not_matched_back() {
        let mut users = UserMap::new().with_salesforce_user("005A", "ann@x.io");
        users.add_salesforce_user_email("005B", " Old@X.io ");
        users.add_salesforce_user_email("005A", "other@x.io");
        assert_eq!(users.salesforce_email("005B").as_deref(), Some("old@x.io"));
        assert_eq!(users.salesforce_user_id("old@x.io"), None);
        assert_eq!(users.salesforce_email("005A").as_deref(), Some("ann@x.io"));
        assert_eq!(
            users.salesforce_user_id("ann@x.io").as_deref(),
            Some("005A")
        );
    }

    #[test]
    fn org_time_zones_come_from_the_bundled_database() {
        let users = UserMap::new();
        assert!(ConvertContext::for_org("Asia/Kolkata", &users).is_ok());
        let err = ConvertContext::for_org("Mars/Olympus", &users)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("not a known IANA time zone"),
            "{err}"
        );
    }
}
