//! Job data in and results out: CSV with the job's column delimiter and line ending.

use super::job::{Delimiter, LineEnding};

/// Parsed job data: the header and the rows, each as many fields as the header.
#[derive(Debug, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Why job data could not be read; the text is the job's `errorMessage`.
#[derive(Debug, PartialEq)]
pub struct DataError(pub String);

/// Parses one upload. Salesforce refuses data whose line endings differ from the job's
/// `lineEnding`, and rows with another number of fields than the header.
pub fn parse(
    data: &[u8],
    delimiter: Delimiter,
    line_ending: LineEnding,
) -> Result<Table, DataError> {
    let has_crlf = data.windows(2).any(|w| w == b"\r\n");
    let has_bare_lf = data
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'));
    let wrong = match line_ending {
        LineEnding::Lf => has_crlf && !quoted_only(data, b"\r\n"),
        LineEnding::Crlf => has_bare_lf && !quoted_only(data, b"\n"),
    };
    if wrong {
        return Err(DataError(format!(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {}",
            line_ending.as_str()
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter.byte())
        .has_headers(true)
        .flexible(true)
        .from_reader(data);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| DataError(format!("InvalidBatch : Failed to parse CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(DataError("InvalidBatch : Empty CSV header".into()));
    }
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| DataError(format!("InvalidBatch : Failed to parse CSV: {e}")))?;
        if record.len() != header.len() {
            return Err(DataError(format!(
                "InvalidBatch : Wrong number of columns in row {}: expected {}, found {}",
                n + 1,
                header.len(),
                record.len()
            )));
        }
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(Table { header, rows })
}

/// Whether every occurrence of `needle` sits inside a quoted field (line breaks in values).
fn quoted_only(data: &[u8], needle: &[u8]) -> bool {
    let mut quoted = false;
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'"' {
            quoted = !quoted;
        } else if !quoted && data[i..].starts_with(needle) {
            if needle == b"\n" && i > 0 && data[i - 1] == b'\r' {
                i += 1;
                continue;
            }
            return false;
        }
        i += 1;
    }
    true
}

/// Writes CSV the way Salesforce answers it: every value in double quotes.
pub struct Writer {
    out: String,
    delimiter: char,
    eol: &'static str,
}

impl Writer {
    pub fn new(delimiter: Delimiter, line_ending: LineEnding) -> Writer {
        Writer {
            out: String::new(),
            delimiter: delimiter.byte() as char,
            eol: match line_ending {
                LineEnding::Lf => "\n",
                LineEnding::Crlf => "\r\n",
            },
        }
    }

    /// A row of quoted fields followed by plain ones (the job's own header names).
    pub fn row<'a>(
        &mut self,
        quoted: impl IntoIterator<Item = &'a str>,
        plain: impl IntoIterator<Item = &'a str>,
    ) {
        let mut first = true;
        for field in quoted {
            self.sep(&mut first);
            self.quoted(field);
        }
        for field in plain {
            self.sep(&mut first);
            if field.contains([self.delimiter, '"', '\r', '\n']) {
                self.quoted(field);
            } else {
                self.out.push_str(field);
            }
        }
        self.out.push_str(self.eol);
    }

    fn sep(&mut self, first: &mut bool) {
        if !*first {
            self.out.push(self.delimiter);
        }
        *first = false;
    }

    fn quoted(&mut self, field: &str) {
        self.out.push('"');
        self.out.push_str(&field.replace('"', "\"\""));
        self.out.push('"');
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_delimiter_and_quoted_line_breaks() {
        let t = parse(
            b"Name|Note\n\"A|1\"|\"two\nlines\"\nB|\n",
            Delimiter::Pipe,
            LineEnding::Lf,
        )
        .unwrap();
        assert_eq!(t.header, vec!["Name", "Note"]);
        assert_eq!(t.rows, vec![vec!["A|1", "two\nlines"], vec!["B", ""]]);
        let t = parse(b"Name\tX\r\na\tb\r\n", Delimiter::Tab, LineEnding::Crlf).unwrap();
        assert_eq!(t.rows, vec![vec!["a", "b"]]);
    }

    #[test]
    fn refuses_line_endings_other_than_the_jobs() {
        let e = parse(b"Name\r\na\r\n", Delimiter::Comma, LineEnding::Lf).unwrap_err();
        assert!(e.0.contains("Current LineEnding setting is LF"), "{e:?}");
        let e = parse(b"Name\na\n", Delimiter::Comma, LineEnding::Crlf).unwrap_err();
        assert!(e.0.contains("setting is CRLF"), "{e:?}");
        assert!(parse(b"Name,N\na,\"x\r\ny\"\n", Delimiter::Comma, LineEnding::Lf).is_ok());
    }

    #[test]
    fn refuses_rows_with_another_number_of_fields() {
        let e = parse(b"A,B\n1\n", Delimiter::Comma, LineEnding::Lf).unwrap_err();
        assert!(e.0.starts_with("InvalidBatch"), "{e:?}");
    }

    #[test]
    fn writes_quoted_values_and_plain_header_names() {
        let mut w = Writer::new(Delimiter::Comma, LineEnding::Crlf);
        w.row(["sf__Id", "sf__Created"], ["Name", "a,b"]);
        w.row(["001", "true", "say \"hi\"", ""], []);
        assert_eq!(
            w.finish(),
            "\"sf__Id\",\"sf__Created\",Name,\"a,b\"\r\n\"001\",\"true\",\"say \"\"hi\"\"\",\"\"\r\n"
        );
    }
}
