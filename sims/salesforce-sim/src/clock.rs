//! Time in Salesforce's wire formats.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

const SF_DATETIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000");
const SF_DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// The current time truncated to milliseconds.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    let ms = t.millisecond();
    t.replace_nanosecond(u32::from(ms) * 1_000_000).unwrap_or(t)
}

/// `2024-01-02T03:04:05.000+0000`.
pub fn format_datetime(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(SF_DATETIME)
        .unwrap_or_default()
}

pub fn format_date(d: Date) -> String {
    d.format(SF_DATE).unwrap_or_default()
}

pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, SF_DATE).ok()
}

/// Accepts what Salesforce accepts in requests and SOQL: `Z`, `+hh:mm`, `+hhmm`, with or
/// without fractional seconds.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    // `+0000` / `-0530` offsets without a colon.
    let (head, sign, off) = match s.len().checked_sub(5) {
        Some(i) if matches!(s.as_bytes().get(i), Some(b'+') | Some(b'-')) => {
            (&s[..i], &s[i..i + 1], &s[i + 1..])
        }
        _ => return None,
    };
    if off.len() != 4 || !off.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fixed = format!("{head}{sign}{}:{}", &off[..2], &off[2..]);
    if let Ok(t) = OffsetDateTime::parse(&fixed, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let p = PrimitiveDateTime::parse(
        head,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    )
    .ok()?;
    let hours: i8 = off[..2].parse().ok()?;
    let minutes: i8 = off[2..].parse().ok()?;
    let (h, m) = if sign == "-" {
        (-hours, -minutes)
    } else {
        (hours, minutes)
    };
    Some(p.assume_offset(UtcOffset::from_hms(h, m, 0).ok()?))
}

/// Milliseconds since the epoch.
pub fn epoch_ms(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_salesforce() {
        let t = parse_datetime("2024-01-02T03:04:05Z").unwrap();
        assert_eq!(format_datetime(t), "2024-01-02T03:04:05.000+0000");
    }

    #[test]
    fn parses_request_forms() {
        for s in [
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.000+0000",
            "2024-01-02T05:04:05+02:00",
            "2024-01-02T03:04:05.000Z",
        ] {
            let t = parse_datetime(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(format_datetime(t), "2024-01-02T03:04:05.000+0000", "{s}");
        }
        assert!(parse_datetime("2024-01-02").is_none());
    }
}
