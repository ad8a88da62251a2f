//! A local Salesforce org speaking the REST API.
