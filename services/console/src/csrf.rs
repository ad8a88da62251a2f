//! Cross-site request forgery: every form carries the session's own random token in a hidden
//! `csrf` field, and every POST is refused unless it sends that token back. (The session
//! cookie is SameSite=Lax as well, so most browsers would not even send it cross-site.)

use maud::{Markup, html};
use serde::Deserialize;

use crate::error::Error;
use crate::session::Session;

/// The name of the hidden field.
pub const FIELD: &str = "csrf";

/// A form with nothing but its CSRF token (the owner's actions).
#[derive(Debug, Deserialize)]
pub struct TokenOnly {
    #[serde(default)]
    pub csrf: String,
}

/// The hidden input every form of the console carries.
pub fn input(session: &Session) -> Markup {
    html! { input type="hidden" name=(FIELD) value=(session.data.csrf); }
}

/// Refuses a POST whose token is not the session's.
pub fn check(session: &Session, sent: &str) -> Result<(), Error> {
    if same(sent.as_bytes(), session.data.csrf.as_bytes()) {
        Ok(())
    } else {
        Err(Error::Csrf)
    }
}

/// Equal, in time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionData;

    fn session() -> Session {
        Session {
            id: "id".into(),
            data: SessionData::anonymous(),
        }
    }

    #[test]
    fn only_the_sessions_own_token_passes() {
        let s = session();
        assert!(check(&s, &s.data.csrf.clone()).is_ok());
        let other = session();
        for sent in ["", "x", other.data.csrf.as_str(), &s.data.csrf[1..]] {
            assert!(matches!(check(&s, sent), Err(Error::Csrf)), "{sent:?}");
        }
    }

    #[test]
    fn an_empty_token_never_matches_an_empty_session_token() {
        let mut s = session();
        s.data.csrf.clear();
        assert!(check(&s, "").is_err());
    }

    #[test]
    fn the_hidden_input_carries_the_token() {
        let s = session();
        let html = input(&s).into_string();
        assert!(html.contains(r#"name="csrf""#));
        assert!(html.contains(&s.data.csrf));
    }
}
