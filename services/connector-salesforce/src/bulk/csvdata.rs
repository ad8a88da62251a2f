//! Bulk API 2.0 CSV both ways: writes as job data (comma, LF), the result files read back,
//! `sf__Error` as a [`RemoteError`], and query results as JSON text like REST answers.

use serde_json::Value as Json;
use serde_json::value::RawValue;
use tandem_proto::v1::RemoteError;

use crate::error::Error;

/// A write's value as a CSV cell: text as is, numbers as written, `#N/A` to empty a field.
pub fn cell(raw: &RawValue, field: &str) -> Result<String, Error> {
    let value: Json = serde_json::from_str(raw.get())
        .map_err(|e| Error::invalid(field, format!("is not JSON text: {e}")))?;
    Ok(match value {
        Json::Null => "#N/A".to_owned(),
        Json::String(s) if s.is_empty() => "#N/A".to_owned(),
        Json::String(s) => s,
        Json::Bool(b) => b.to_string(),
        Json::Number(_) => raw.get().trim().to_owned(),
        Json::Array(_) | Json::Object(_) => {
            return Err(Error::invalid(
                field,
                "a list or object cannot be written through Bulk API",
            ));
        }
    })
}

/// Job data: the header, then one line per row, quoted only where needed.
pub fn render(header: &[String], rows: &[Vec<String>]) -> Result<String, Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let bad = |e: csv::Error| Error::Protocol(format!("writing job data: {e}"));
    w.write_record(header).map_err(bad)?;
    for row in rows {
        w.write_record(row).map_err(bad)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Protocol(format!("writing job data: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Protocol(format!("job data: {e}")))
}

/// The size of one rendered row (for splitting jobs under the upload limit).
pub fn row_bytes(row: &[String]) -> usize {
    row.iter().map(|c| c.len() + 3).sum::<usize>() + 1
}

/// A result row: its leading `sf__` columns and the row as uploaded.
pub type ResultRow = (Vec<String>, Vec<String>);

/// A result file's rows.
pub fn parse_results(text: &str, leading: usize) -> Result<Vec<ResultRow>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header_len = reader
        .headers()
        .map_err(|e| Error::Protocol(format!("bulk result header: {e}")))?
        .len();
    if header_len < leading {
        return Err(Error::Protocol(format!(
            "bulk result file has {header_len} columns, expected at least {leading}"
        )));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Error::Protocol(format!("bulk result file: {e}")))?;
        let fields: Vec<String> = record.iter().map(str::to_owned).collect();
        if fields.len() != header_len {
            return Err(Error::Protocol(format!(
                "a bulk result row has {} columns, its header {header_len}",
                fields.len()
            )));
        }
        let (head, row) = fields.split_at(leading);
        out.push((head.to_vec(), row.to_vec()));
    }
    Ok(out)
}

/// `sf__Error` (`CODE:message:fields --`) as the contract's error, message verbatim.
pub fn remote_error(text: &str) -> RemoteError {
    let text = text.trim();
    let (head, fields) = match text.strip_suffix("--") {
        Some(body) => {
            let body = body.trim_end();
            match body.rsplit_once(':') {
                Some((head, fields)) => (head, fields),
                None => (body, ""),
            }
        }
        None => (text, ""),
    };
    let (code, message) = match head.split_once(':') {
        Some((code, message)) if !code.is_empty() && !code.contains(' ') => (code, message),
        _ => ("BULK_ERROR", head),
    };
    RemoteError {
        code: code.to_owned(),
        message: message.to_owned(),
        fields: fields
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect(),
        ..Default::default()
    }
}

/// A query result cell as the JSON text REST would answer for a field of `salesforce_type`:
/// empty is `null`, numbers and booleans bare, datetimes `…+0000`, the rest strings.
pub fn json_text(salesforce_type: &str, cell: &str) -> String {
    if cell.is_empty() {
        return "null".to_owned();
    }
    let quoted = || serde_json::to_string(cell).unwrap_or_else(|_| "null".to_owned());
    match salesforce_type {
        "boolean" if cell == "true" || cell == "false" => cell.to_owned(),
        "double" | "currency" | "percent" | "int" | "long"
            if cell.parse::<f64>().is_ok_and(f64::is_finite) =>
        {
            cell.to_owned()
        }
        "datetime" => match cell.strip_suffix('Z') {
            Some(head) if head.len() == 23 => {
                serde_json::to_string(&format!("{head}+0000")).unwrap_or_else(|_| quoted())
            }
            _ => quoted(),
        },
        _ => quoted(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn writes_become_cells_and_empty_values_empty_the_field() {
        let cases = [
            ("\"Acme, Inc\"", "Acme, Inc"),
            ("250.50", "250.50"),
            ("true", "true"),
            ("null", "#N/A"),
            ("\"\"", "#N/A"),
        ];
        for (json, want) in cases {
            assert_eq!(cell(&raw(json), "f").unwrap(), want, "{json}");
        }
        assert!(cell(&raw("[1]"), "f").is_err());
        let csv = render(
            &["Name".into(), "Notes__c".into()],
            &[vec!["Acme, Inc".into(), "say \"hi\"\nbye".into()]],
        )
        .unwrap();
        assert_eq!(
            csv,
            "Name,Notes__c\n\"Acme, Inc\",\"say \"\"hi\"\"\nbye\"\n"
        );
    }

    #[test]
    fn result_files_split_into_sf_columns_and_the_row() {
        let rows = parse_results(
            "\"sf__Id\",\"sf__Created\",Name\n\"001\",\"true\",\"A, B\"\n",
            2,
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![(vec!["001".into(), "true".into()], vec!["A, B".into()])]
        );
        assert!(parse_results("\"sf__Id\"\n", 2).is_err());
    }

    #[test]
    fn sf_errors_keep_salesforces_code_message_and_fields() {
        let e = remote_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --");
        assert_eq!(e.code, "REQUIRED_FIELD_MISSING");
        assert_eq!(e.message, "Required fields are missing: [Name]");
        assert_eq!(e.fields, vec!["Name"]);
        let e = remote_error("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        );
        assert!(e.fields.is_empty());
        assert_eq!(remote_error("something odd").message, "something odd");
    }

    #[test]
    fn query_cells_read_as_rest_json() {
        assert_eq!(json_text("string", ""), "null");
        assert_eq!(json_text("string", "a \"b\""), "\"a \\\"b\\\"\"");
        assert_eq!(json_text("currency", "250.50"), "250.50");
        assert_eq!(json_text("currency", "n/a"), "\"n/a\"");
        assert_eq!(json_text("boolean", "true"), "true");
        assert_eq!(
            json_text("datetime", "2026-01-02T03:04:05.000Z"),
            "\"2026-01-02T03:04:05.000+0000\""
        );
        assert_eq!(json_text("date", "2026-01-02"), "\"2026-01-02\"");
    }
}
