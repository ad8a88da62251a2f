//! Opaque keyset page tokens: stable while rows are added, because new rows sort first.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use time::OffsetDateTime;
use uuid::Uuid;

/// The size of a page: `requested`, or `default` when unset; 0 or more than `max` is refused
/// with a message naming `page.page_size`.
pub fn size(requested: Option<u32>, default: u32, max: u32) -> Result<i64, String> {
    match requested {
        None => Ok(i64::from(default)),
        Some(n) if (1..=max).contains(&n) => Ok(i64::from(n)),
        Some(n) => Err(format!(
            "page.page_size must be between 1 and {max}, not {n}"
        )),
    }
}

/// After the run started at `started_at` with `id`.
pub fn run_token(started_at: OffsetDateTime, id: Uuid) -> String {
    let micros = started_at.unix_timestamp_nanos() / 1_000;
    B64.encode(format!("r1:{micros}:{id}"))
}

pub fn parse_run_token(token: &str) -> Option<(OffsetDateTime, Uuid)> {
    let text = String::from_utf8(B64.decode(token).ok()?).ok()?;
    let mut parts = text.strip_prefix("r1:")?.splitn(2, ':');
    let micros: i128 = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).ok()?;
    Some((at, id))
}

/// After the event with sequence number `seq`.
pub fn event_token(seq: i64) -> String {
    B64.encode(format!("e1:{seq}"))
}

pub fn parse_event_token(token: &str) -> Option<i64> {
    let text = String::from_utf8(B64.decode(token).ok()?).ok()?;
    text.strip_prefix("e1:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_foreign_ones() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_456_000).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(parse_run_token(&run_token(at, id)), Some((at, id)));
        assert_eq!(parse_event_token(&event_token(42)), Some(42));
        assert_eq!(parse_event_token(&run_token(at, id)), None);
        assert_eq!(parse_run_token(&event_token(42)), None);
        assert_eq!(parse_run_token("not base64!"), None);
    }

    #[test]
    fn page_sizes_default_and_refuse_zero_or_huge() {
        assert_eq!(size(None, 50, 500), Ok(50));
        assert_eq!(size(Some(10), 50, 500), Ok(10));
        assert_eq!(size(Some(500), 50, 500), Ok(500));
        assert!(
            size(Some(0), 50, 500)
                .unwrap_err()
                .contains("page.page_size")
        );
        assert!(size(Some(501), 50, 500).is_err());
    }
}
