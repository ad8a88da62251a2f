//! Phone numbers in the form monday's phone column accepts: E.164 digits (`+14155552000`)
//! plus an ISO 3166-1 alpha-2 country (`US`).
//!
//! monday refuses a phone value with anything but digits (an optional leading `+`) or
//! without a two-letter upper-case `countryShortName` (monday-graphql.md §4), so a Salesforce
//! phone such as `(415) 555-2000` must be normalised first:
//! - formatting is dropped: spaces, `-`, `.`, `(`, `)`, `/`;
//! - a leading `+` (or `00`) means the number is international: its calling code gives the
//!   country (`+44 20 7946 0958` → `+442079460958`, `GB`; `+1` goes to the default country
//!   when that is a North American Numbering Plan country, else `US`);
//! - otherwise the number is national in the default country (the mapping's
//!   `default_phone_country`, else the conversion context's, else `US`): a national trunk
//!   `0` (or `1` in North America) is dropped and the country's calling code prepended;
//! - anything else (letters, extensions, too few or too many digits) is not a phone number,
//!   and converting it fails for that field with a message saying why.
//!
//! Towards Salesforce, Tandem writes the E.164 form (`+14155552000`): unambiguous, and read
//! back it normalises to the same number, so a round trip moves nothing.

/// The country used for a number without a leading `+` when neither the mapping nor the
/// context names one.
pub const FALLBACK_COUNTRY: &str = "US";

/// A number in monday's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+` and 8 to 15 digits.
    pub e164: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

/// Normalises `raw` (any common written form) to E.164 plus a country, reading a national
/// number in `default_country`. `Err` carries the reason, for the field's error message.
pub fn normalize(raw: &str, default_country: &str) -> Result<Phone, String> {
    let default_country = default_country.trim().to_ascii_uppercase();
    let s = raw.trim();
    let mut digits = String::with_capacity(s.len());
    let mut plus = false;
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '\u{a0}' | '-' | '.' | '(' | ')' | '/' | '\u{2010}'..='\u{2015}' => {}
            _ => {
                return Err(format!(
                    "not a phone number: {c:?} is not allowed (only digits, a leading +, spaces, dashes, dots, brackets and slashes)"
                ));
            }
        }
    }
    if digits.is_empty() {
        return Err("not a phone number: it holds no digits".into());
    }
    if !plus && let Some(rest) = digits.strip_prefix("00") {
        plus = true;
        digits = rest.to_owned();
    }
    let (code, national, country) = if plus {
        let Some((code, countries)) = calling_code(&digits) else {
            return Err(format!(
                "+{digits} does not start with a known country calling code"
            ));
        };
        let country = if countries.contains(&default_country.as_str()) {
            default_country
        } else {
            countries[0].to_owned()
        };
        (code, digits[code.len()..].to_owned(), country)
    } else {
        let Some(code) = code_of_country(&default_country) else {
            return Err(format!(
                "{default_country:?} is not a country Tandem knows the calling code of; write the number with a leading + and its country code"
            ));
        };
        let national = if code == "1" {
            digits
                .strip_prefix('1')
                .filter(|_| digits.len() == 11)
                .unwrap_or(&digits)
        } else if matches!(default_country.as_str(), "IT" | "SM" | "VA") {
            &digits
        } else {
            digits.strip_prefix('0').unwrap_or(&digits)
        };
        (code, national.to_owned(), default_country)
    };
    let total = code.len() + national.len();
    if code == "1" && national.len() != 10 {
        return Err(format!(
            "a North American number has 10 digits after the country code, this one has {}",
            national.len()
        ));
    }
    if national.len() < 4 || !(8..=15).contains(&total) {
        return Err(format!(
            "an international number has 8 to 15 digits, this one would have {total}"
        ));
    }
    Ok(Phone {
        e164: format!("+{code}{national}"),
        country,
    })
}

/// The calling code `digits` starts with and the countries sharing it (primary first).
fn calling_code(digits: &str) -> Option<(&'static str, &'static [&'static str])> {
    (1..=3).rev().find_map(|n| {
        let prefix = digits.get(..n)?;
        CODES
            .iter()
            .find(|(c, _)| *c == prefix)
            .map(|(c, cs)| (*c, *cs))
    })
}

fn code_of_country(iso: &str) -> Option<&'static str> {
    CODES
        .iter()
        .find(|(_, cs)| cs.contains(&iso))
        .map(|(c, _)| *c)
}

/// ITU-T E.164 country calling codes and the countries using them (primary first).
#[rustfmt::skip]
const CODES: &[(&str, &[&str])] = &[
    ("1", &["US", "CA", "PR", "DO", "JM", "TT", "BS", "BB", "BM", "KY", "GU", "VI", "AG", "DM", "GD", "KN", "LC", "VC", "AI", "MS", "TC", "VG", "SX", "AS", "MP"]),
    ("7", &["RU", "KZ"]),
    ("20", &["EG"]), ("27", &["ZA"]), ("30", &["GR"]), ("31", &["NL"]), ("32", &["BE"]),
    ("33", &["FR"]), ("34", &["ES"]), ("36", &["HU"]), ("39", &["IT", "VA", "SM"]),
    ("40", &["RO"]), ("41", &["CH"]), ("43", &["AT"]), ("44", &["GB", "GG", "IM", "JE"]),
    ("45", &["DK"]), ("46", &["SE"]), ("47", &["NO"]), ("48", &["PL"]), ("49", &["DE"]),
    ("51", &["PE"]), ("52", &["MX"]), ("53", &["CU"]), ("54", &["AR"]), ("55", &["BR"]),
    ("56", &["CL"]), ("57", &["CO"]), ("58", &["VE"]), ("60", &["MY"]), ("61", &["AU"]),
    ("62", &["ID"]), ("63", &["PH"]), ("64", &["NZ"]), ("65", &["SG"]), ("66", &["TH"]),
    ("81", &["JP"]), ("82", &["KR"]), ("84", &["VN"]), ("86", &["CN"]), ("90", &["TR"]),
    ("91", &["IN"]), ("92", &["PK"]), ("93", &["AF"]), ("94", &["LK"]), ("95", &["MM"]),
    ("98", &["IR"]), ("211", &["SS"]), ("212", &["MA"]), ("213", &["DZ"]), ("216", &["TN"]),
    ("218", &["LY"]), ("220", &["GM"]), ("221", &["SN"]), ("225", &["CI"]), ("233", &["GH"]),
    ("234", &["NG"]), ("237", &["CM"]), ("243", &["CD"]), ("244", &["AO"]), ("249", &["SD"]),
    ("251", &["ET"]), ("254", &["KE"]), ("255", &["TZ"]), ("256", &["UG"]), ("260", &["ZM"]),
    ("263", &["ZW"]), ("264", &["NA"]), ("267", &["BW"]), ("230", &["MU"]), ("250", &["RW"]),
    ("350", &["GI"]), ("351", &["PT"]), ("352", &["LU"]), ("353", &["IE"]), ("354", &["IS"]),
    ("355", &["AL"]), ("356", &["MT"]), ("357", &["CY"]), ("358", &["FI", "AX"]),
    ("359", &["BG"]), ("370", &["LT"]), ("371", &["LV"]), ("372", &["EE"]), ("373", &["MD"]),
    ("374", &["AM"]), ("375", &["BY"]), ("376", &["AD"]), ("377", &["MC"]), ("380", &["UA"]),
    ("381", &["RS"]), ("382", &["ME"]), ("383", &["XK"]), ("385", &["HR"]), ("386", &["SI"]),
    ("387", &["BA"]), ("389", &["MK"]), ("420", &["CZ"]), ("421", &["SK"]), ("423", &["LI"]),
    ("501", &["BZ"]), ("502", &["GT"]), ("503", &["SV"]), ("504", &["HN"]), ("505", &["NI"]),
    ("506", &["CR"]), ("507", &["PA"]), ("509", &["HT"]), ("591", &["BO"]), ("593", &["EC"]),
    ("595", &["PY"]), ("598", &["UY"]), ("673", &["BN"]), ("679", &["FJ"]), ("852", &["HK"]),
    ("853", &["MO"]), ("855", &["KH"]), ("856", &["LA"]), ("880", &["BD"]), ("886", &["TW"]),
    ("960", &["MV"]), ("961", &["LB"]), ("962", &["JO"]), ("963", &["SY"]), ("964", &["IQ"]),
    ("965", &["KW"]), ("966", &["SA"]), ("967", &["YE"]), ("968", &["OM"]), ("970", &["PS"]),
    ("971", &["AE"]), ("972", &["IL"]), ("973", &["BH"]), ("974", &["QA"]), ("975", &["BT"]),
    ("976", &["MN"]), ("977", &["NP"]), ("992", &["TJ"]), ("993", &["TM"]), ("994", &["AZ"]),
    ("995", &["GE"]), ("996", &["KG"]), ("998", &["UZ"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str, country: &str) -> (String, String) {
        let p = normalize(raw, country).unwrap_or_else(|e| panic!("{raw}: {e}"));
        (p.e164, p.country)
    }

    #[test]
    fn written_forms_normalise_to_e164_and_a_country() {
        let want = |n: &str, c: &str| (n.to_owned(), c.to_owned());
        assert_eq!(ok("(415) 555-2000", "US"), want("+14155552000", "US"));
        assert_eq!(ok("415.555.2000", "us"), want("+14155552000", "US"));
        assert_eq!(ok("1-415-555-2000", "US"), want("+14155552000", "US"));
        assert_eq!(ok("+1 (415) 555-2000", "GB"), want("+14155552000", "US"));
        assert_eq!(ok("+1 416 555 2000", "CA"), want("+14165552000", "CA"));
        assert_eq!(ok("+44 20 7946 0958", "US"), want("+442079460958", "GB"));
        assert_eq!(ok("0044 20 7946 0958", "US"), want("+442079460958", "GB"));
        assert_eq!(ok("020 7946 0958", "GB"), want("+442079460958", "GB"));
        assert_eq!(ok("06 12 34 56 78", "FR"), want("+33612345678", "FR"));
        assert_eq!(ok("06 1234 5678", "IT"), want("+390612345678", "IT"));
        assert_eq!(ok("+420 601 234 567", "US"), want("+420601234567", "CZ"));
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        for (raw, reason) in [
            ("call me maybe", "not a phone number"),
            ("415-555-2000 ext. 12", "not a phone number"),
            ("---", "holds no digits"),
            ("555-2000", "10 digits"),
            ("+999 1234 5678", "known country calling code"),
            ("+44 1234 5678 9012 3456", "8 to 15 digits"),
        ] {
            let err = normalize(raw, "US").unwrap_err();
            assert!(err.contains(reason), "{raw}: {err}");
        }
        let err = normalize("020 7946 0958", "ZZ").unwrap_err();
        assert!(err.contains("leading +"), "{err}");
    }
}
