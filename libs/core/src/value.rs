//! The canonical value: what a field holds, independent of either side's wire format.

use std::fmt;

use jiff::{Timestamp, civil::Date, tz::Offset};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A point in time together with the offset it was expressed in.
///
/// Two values are equal when they denote the same instant, whatever their offsets: a
/// Salesforce `…+0000` datetime and the same instant read back from monday compare equal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DateTime {
    pub instant: Timestamp,
    /// Offset from UTC, in seconds, that the source used.
    pub offset_seconds: i32,
}

impl DateTime {
    /// A UTC datetime.
    pub fn utc(instant: Timestamp) -> Self {
        Self {
            instant,
            offset_seconds: 0,
        }
    }

    /// The offset as a jiff [`Offset`] (UTC when out of range).
    pub fn offset(&self) -> Offset {
        Offset::from_seconds(self.offset_seconds).unwrap_or(Offset::UTC)
    }
}

impl PartialEq for DateTime {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}
impl Eq for DateTime {}

/// A field value in Tandem's own terms. Each side's converter reads into it and writes from
/// it; the merge compares these.
///
/// Empty things are [`Value::Null`]: an empty string, an empty label list and no people all
/// read as `Null`, so "empty on monday" and "null in Salesforce" compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    #[default]
    Null,
    Text(String),
    /// An exact decimal (no binary floating point on the way).
    Number(Decimal),
    Bool(bool),
    Date(Date),
    DateTime(DateTime),
    /// Picklist value(s), status label, dropdown labels — in order, no empty ones.
    Labels(Vec<String>),
    Link {
        url: String,
        text: Option<String>,
    },
    Phone {
        number: String,
        /// ISO 3166-1 alpha-2, upper case.
        country: Option<String>,
    },
    /// People, as lower-case email addresses.
    People(Vec<String>),
    /// A Salesforce lookup: the record Id and, when known, its name.
    Reference {
        id: String,
        name: Option<String>,
    },
}

impl Value {
    /// Text, or `Null` when empty.
    pub fn text(s: impl Into<String>) -> Self {
        let s = s.into();
        if s.is_empty() {
            Self::Null
        } else {
            Self::Text(s)
        }
    }

    /// Labels, or `Null` when none are left after dropping empty ones.
    pub fn labels<S: Into<String>>(labels: impl IntoIterator<Item = S>) -> Self {
        let v: Vec<String> = labels
            .into_iter()
            .map(Into::into)
            .filter(|s| !s.is_empty())
            .collect();
        if v.is_empty() {
            Self::Null
        } else {
            Self::Labels(v)
        }
    }

    /// People by email (lower-cased), or `Null` when none.
    pub fn people<S: AsRef<str>>(emails: impl IntoIterator<Item = S>) -> Self {
        let v: Vec<String> = emails
            .into_iter()
            .map(|e| e.as_ref().trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        if v.is_empty() {
            Self::Null
        } else {
            Self::People(v)
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// A short name of the variant, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "empty",
            Self::Text(_) => "text",
            Self::Number(_) => "number",
            Self::Bool(_) => "boolean",
            Self::Date(_) => "date",
            Self::DateTime(_) => "datetime",
            Self::Labels(_) => "labels",
            Self::Link { .. } => "link",
            Self::Phone { .. } => "phone",
            Self::People(_) => "people",
            Self::Reference { .. } => "reference",
        }
    }

    /// The value as display text (what a text column would show). `None` for `Null`.
    pub fn display_text(&self) -> Option<String> {
        Some(match self {
            Self::Null => return None,
            Self::Text(s) => s.clone(),
            Self::Number(d) => d.normalize().to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Date(d) => d.to_string(),
            Self::DateTime(dt) => dt
                .instant
                .to_zoned(jiff::tz::TimeZone::fixed(dt.offset()))
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            Self::Labels(l) => l.join(", "),
            Self::Link { url, .. } => url.clone(),
            Self::Phone { number, .. } => number.clone(),
            Self::People(p) => p.join(", "),
            Self::Reference { id, name } => name.clone().unwrap_or_else(|| id.clone()),
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.display_text() {
            Some(s) => f.write_str(&s),
            None => f.write_str("(empty)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_labels_and_people_are_null() {
        assert_eq!(Value::text(""), Value::Null);
        assert_eq!(Value::labels(["", ""]), Value::Null);
        assert_eq!(Value::people([" "]), Value::Null);
        assert_eq!(
            Value::people(["Ann@Example.COM"]),
            Value::People(vec!["ann@example.com".into()])
        );
    }

    #[test]
    fn datetimes_compare_by_instant() {
        let t: Timestamp = "2024-01-02T03:04:05Z".parse().unwrap();
        let a = DateTime::utc(t);
        let b = DateTime {
            instant: t,
            offset_seconds: 3600,
        };
        assert_eq!(Value::DateTime(a), Value::DateTime(b));
        assert_eq!(
            Value::DateTime(b).display_text().unwrap(),
            "2024-01-02T04:04:05+01:00"
        );
    }

    #[test]
    fn values_serialise_as_tagged_json_and_back() {
        let values = [
            Value::Null,
            Value::Number("12.50".parse().unwrap()),
            Value::Labels(vec!["a, b".into(), "c".into()]),
            Value::Date("2024-02-29".parse().unwrap()),
            Value::Link {
                url: "https://x.io".into(),
                text: Some("X".into()),
            },
        ];
        for v in values {
            let json = serde_json::to_string(&v).unwrap();
            let back: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(back, v, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Value::Number("1.5".parse().unwrap())).unwrap(),
            r#"{"type":"number","value":"1.5"}"#
        );
    }
}
