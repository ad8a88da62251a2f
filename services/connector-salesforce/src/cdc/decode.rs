//! One Pub/Sub change event decoded: its Avro payload read with the schema `GetSchema` gave for
//! its schema id, the `ChangeEventHeader` turned into a `tandem.v1.ChangeEvent`, and the
//! changed/nulled field bitmaps into field names. A bitmap is a hex number whose bit `i` is the
//! field at position `i` of the event schema (`"0x…"`), or of the compound field at top-level
//! position `N` (`"N-0x…"`, named `Parent.Member`).

use apache_avro::types::Value as Avro;
use tandem_proto::v1::ChangeEvent;

use crate::error::Error;

/// Positions set in a `"0x…"` bitmap; `None` when it is not one.
pub fn positions(bitmap: &str) -> Option<Vec<usize>> {
    let digits = bitmap
        .strip_prefix("0x")
        .or_else(|| bitmap.strip_prefix("0X"))?;
    let mut out = Vec::new();
    for (i, c) in digits.chars().rev().enumerate() {
        let v = c.to_digit(16)? as usize;
        out.extend((0..4).filter(|b| v & (1 << b) != 0).map(|b| i * 4 + b));
    }
    Some(out)
}

/// The `client=` part of a `changeOrigin` (`com/salesforce/api/rest/62.0;client=tandem-x`).
pub fn origin_client(origin: &str) -> &str {
    origin
        .split(';')
        .find_map(|part| part.trim().strip_prefix("client="))
        .unwrap_or_default()
}

fn unwrap(v: &Avro) -> &Avro {
    match v {
        Avro::Union(_, inner) => inner,
        other => other,
    }
}

fn text(v: Option<&Avro>) -> String {
    match v.map(unwrap) {
        Some(Avro::String(s) | Avro::Enum(_, s)) => s.clone(),
        _ => String::new(),
    }
}

fn texts(v: Option<&Avro>) -> Vec<String> {
    match v.map(unwrap) {
        Some(Avro::Array(items)) => items.iter().map(|i| text(Some(i))).collect(),
        _ => Vec::new(),
    }
}

fn long(v: Option<&Avro>) -> Option<i64> {
    match v.map(unwrap) {
        Some(Avro::Long(n)) => Some(*n),
        Some(Avro::Int(n)) => Some(i64::from(*n)),
        Some(Avro::TimestampMillis(n)) => Some(*n),
        _ => None,
    }
}

/// Field names the bitmaps of one header list name, in the event's own field order.
fn names(fields: &[(String, Avro)], bitmaps: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for bitmap in bitmaps {
        let (parent, hex) = match bitmap.split_once('-') {
            Some((p, h)) => (Some(p.parse::<usize>().map_err(|_| bitmap.clone())?), h),
            None => (None, bitmap.as_str()),
        };
        let bits = positions(hex).ok_or_else(|| bitmap.clone())?;
        let name_at = |list: &[(String, Avro)], i: usize| {
            list.get(i)
                .map(|(n, _)| n.clone())
                .ok_or_else(|| bitmap.clone())
        };
        match parent {
            None => {
                for b in bits {
                    out.push(name_at(fields, b)?);
                }
            }
            Some(p) => {
                let (pname, value) = fields.get(p).ok_or_else(|| bitmap.clone())?;
                // A compound field whose members all stayed null may decode as null.
                let members: &[(String, Avro)] = match unwrap(value) {
                    Avro::Record(m) => m,
                    _ => &[],
                };
                for b in bits {
                    match members.get(b) {
                        Some((m, _)) => out.push(format!("{pname}.{m}")),
                        None => out.push(pname.clone()),
                    }
                }
            }
        }
    }
    out.dedup();
    Ok(out)
}

/// Decodes one event's payload with its schema.
pub fn event(
    schema: &apache_avro::Schema,
    payload: &[u8],
    replay_id: Vec<u8>,
) -> Result<ChangeEvent, Error> {
    let bad = |why: String| Error::Protocol(format!("a change event could not be read: {why}"));
    let value = apache_avro::from_avro_datum(schema, &mut &payload[..], None)
        .map_err(|e| bad(e.to_string()))?;
    let Avro::Record(fields) = value else {
        return Err(bad("its payload is not a record".to_owned()));
    };
    let header = fields
        .iter()
        .find(|(n, _)| n == "ChangeEventHeader")
        .map(|(_, v)| unwrap(v));
    let Some(Avro::Record(header)) = header else {
        return Err(bad("it has no ChangeEventHeader".to_owned()));
    };
    let h = |name: &str| header.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let change_origin = text(h("changeOrigin"));
    let bitmap_names = |list: &str| {
        names(&fields, &texts(h(list)))
            .map_err(|bitmap| bad(format!("{list} holds `{bitmap}`, not a field bitmap")))
    };
    Ok(ChangeEvent {
        replay_id,
        entity: text(h("entityName")),
        change_type: text(h("changeType")),
        record_ids: texts(h("recordIds")),
        origin_client: origin_client(&change_origin).to_owned(),
        change_origin,
        commit_timestamp: long(h("commitTimestamp")).map(tandem_proto::timestamp::from_millis),
        commit_user: text(h("commitUser")),
        changed_fields: bitmap_names("changedFields")?,
        nulled_fields: bitmap_names("nulledFields")?,
        transaction_key: text(h("transactionKey")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bitmaps_as_salesforce_writes_them() {
        let cases: [(&str, Option<Vec<usize>>); 6] = [
            ("0x04", Some(vec![2])),
            ("0x2080", Some(vec![7, 13])),
            ("0x0101", Some(vec![0, 8])),
            ("0x650004E0", Some(vec![5, 6, 7, 10, 24, 26, 29, 30])),
            ("0x650004e0", Some(vec![5, 6, 7, 10, 24, 26, 29, 30])),
            ("2080", None),
        ];
        for (bitmap, want) in cases {
            assert_eq!(positions(bitmap), want, "{bitmap}");
        }
    }

    #[test]
    fn finds_the_client_in_a_change_origin() {
        let cases = [
            (
                "com/salesforce/api/rest/62.0;client=tandem-abc",
                "tandem-abc",
            ),
            ("com/salesforce/api/soap/61.0;client=SfdxCLI", "SfdxCLI"),
            ("com/salesforce/api/rest/62.0", ""),
            ("", ""),
        ];
        for (origin, want) in cases {
            assert_eq!(origin_client(origin), want, "{origin}");
        }
    }

    #[test]
    fn names_top_level_and_compound_fields() {
        let fields = vec![
            ("ChangeEventHeader".to_owned(), Avro::Null),
            ("Name".to_owned(), Avro::Null),
            (
                "BillingAddress".to_owned(),
                Avro::Union(
                    1,
                    Box::new(Avro::Record(vec![
                        ("Street".to_owned(), Avro::Null),
                        ("City".to_owned(), Avro::Null),
                    ])),
                ),
            ),
            ("Stage__c".to_owned(), Avro::Null),
        ];
        let got = names(&fields, &["0x0A".to_owned(), "2-0x02".to_owned()]).unwrap();
        assert_eq!(got, ["Name", "Stage__c", "BillingAddress.City"]);
        assert_eq!(names(&fields, &["0x40".to_owned()]), Err("0x40".to_owned()));
        assert_eq!(
            names(&fields, &["x-0x1".to_owned()]),
            Err("x-0x1".to_owned())
        );
    }
}
