//! A local monday.com account speaking GraphQL API v2.
