//! REST calls on behalf of a connection: credentials from mapping-config, the org's budget
//! checked before and updated after each call, one refresh-and-retry on 401
//! `INVALID_SESSION_ID`, and non-2xx answers turned into errors with Salesforce's own words.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value as Json;
use tandem_proto::v1::ApiUsage;

use crate::budget::Budget;
use crate::credentials::{Credential, Credentials, connection_id};
use crate::error::Error;
use crate::hosts;
use crate::schema::DescribeCache;
use crate::transport::{Body, JSON, Reply, Request, Transport};

/// Everything the data RPCs share.
pub struct Api {
    pub(crate) transport: Transport,
    pub(crate) credentials: Credentials,
    pub(crate) budget: Budget,
    pub(crate) instance_override: Option<String>,
    pub(crate) version: String,
    pub(crate) describes: DescribeCache,
    pub(crate) overlap: Duration,
    /// Bulk API 2.0: thresholds, job size, polling.
    pub(crate) bulk: crate::config::BulkOptions,
}

/// One RPC's conversation with one org: counts the calls it makes and keeps the last usage.
pub struct Session<'a> {
    api: &'a Api,
    pub connection_id: String,
    credential: Arc<Credential>,
    pub calls: u32,
    usage: Option<(u64, u64)>,
    /// `Sforce-Call-Options` sent with every call of this session (writes name their client).
    pub call_options: Option<String>,
}

impl Api {
    /// Starts a session for a request's `connection_id` (fetching credentials if needed).
    pub async fn session(&self, raw_connection_id: &str) -> Result<Session<'_>, Error> {
        let id = connection_id(raw_connection_id)?;
        let credential = self.credentials.get(id).await?;
        Ok(Session {
            api: self,
            connection_id: id.to_owned(),
            credential,
            calls: 0,
            usage: None,
            call_options: None,
        })
    }
}

impl Session<'_> {
    /// `tail` relative to `/services/data/vXX.X/`, or an absolute path from Salesforce
    /// (`nextRecordsUrl`).
    fn url(&self, tail: &str) -> String {
        let base = hosts::instance_base(
            self.api.instance_override.as_deref(),
            &self.credential.instance_url,
        );
        if tail.starts_with("/services/") {
            format!("{base}{tail}")
        } else {
            format!("{base}/services/data/v{}/{tail}", self.api.version)
        }
    }

    /// The usage Salesforce reported last in this session, for responses.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.usage.map(|(used, limit)| ApiUsage {
            used: used as i64,
            limit: limit as i64,
        })
    }

    /// Sends a request and returns the answer, whatever its status — except 401 (refreshed
    /// once, then an error) and `REQUEST_LIMIT_EXCEEDED` (an error).
    pub async fn send(
        &mut self,
        method: Method,
        tail: &str,
        body: Body,
        idempotent: bool,
    ) -> Result<Reply, Error> {
        self.send_accepting(method, tail, body, idempotent, JSON)
            .await
    }

    /// [`Session::send`] with another `Accept` (CSV for Bulk API result files).
    pub async fn send_accepting(
        &mut self,
        method: Method,
        tail: &str,
        body: Body,
        idempotent: bool,
        accept: &'static str,
    ) -> Result<Reply, Error> {
        let org = self.credential.org_key();
        self.api.budget.check(&org).await?;
        let mut request = Request {
            method,
            url: self.url(tail),
            bearer: Some(self.credential.access_token.clone()),
            body,
            idempotent,
            call_options: self.call_options.clone(),
            accept,
        };
        let mut reply = self.exchange(&request, &org).await?;
        if reply.status == 401 {
            let fresh = self
                .api
                .credentials
                .refresh(&self.connection_id, &self.credential)
                .await?;
            self.credential = fresh;
            request.bearer = Some(self.credential.access_token.clone());
            request.url = self.url(tail);
            reply = self.exchange(&request, &org).await?;
            if reply.status == 401 {
                self.api.credentials.forget(&self.connection_id);
                let (code, message, _) = reply.error();
                return Err(Error::NeedsReauthentication {
                    connection_id: self.connection_id.clone(),
                    detail: format!("{code}: {message}"),
                });
            }
        }
        if reply.status == 403 {
            let (code, message, _) = reply.error();
            if code == "REQUEST_LIMIT_EXCEEDED" {
                return Err(Error::RequestLimit { code, message });
            }
        }
        Ok(reply)
    }

    /// A GET of a JSON resource; any non-2xx answer becomes an error.
    pub async fn get(&mut self, tail: &str) -> Result<Json, Error> {
        let reply = self.send(Method::GET, tail, Body::None, true).await?;
        if !reply.ok() {
            return Err(remote_error(&reply));
        }
        reply.json()
    }

    async fn exchange(&mut self, request: &Request, org: &str) -> Result<Reply, Error> {
        let result = self.api.transport.send(request).await;
        match &result {
            Ok(reply) => {
                self.calls += reply.attempts;
                if let Some((used, max)) = reply.usage {
                    self.usage = Some((used, max));
                    self.api.budget.record(org, used, max).await;
                }
            }
            Err(_) => self.calls += 1,
        }
        result
    }
}

/// A whole-request failure with Salesforce's code and message, verbatim.
pub fn remote_error(reply: &Reply) -> Error {
    let (code, message, fields) = reply.error();
    if reply.status >= 500 {
        return Error::Unavailable(format!("answered {} {code}: {message}", reply.status));
    }
    Error::Remote {
        status: reply.status,
        code,
        message,
        fields,
    }
}
