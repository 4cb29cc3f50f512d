//! CSV downloads: an attachment with a safe file name, cells that a
//! spreadsheet will not run as formulas (`domain::code::csv_safe`), and a
//! body streamed from its own thread with a database connection
//! ([`super::stream_blocking`]), so memory stays flat for a million rows.
//! Every export uses it: the code list (`/codes.csv`), a selection of codes,
//! an upload's error report, the upload template.

use super::error::AppError;
use crate::db::PgPool;
use crate::domain::code::csv_safe;
use actix_web::http::header;
use actix_web::{web, HttpResponse, HttpResponseBuilder};
use diesel::PgConnection;

/// `Cache-Control` of a download of the brand's data: never kept by a
/// browser or proxy.
pub const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

/// A file name for `Content-Disposition`: ASCII letters, digits, `.`, `_`
/// and `-` only (anything else, quotes and slashes included, becomes one
/// `-`), not starting with a dot, at most 120 characters; `export.csv` when
/// nothing is left.
pub fn safe_file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-') {
            out.push(ch);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out
        .trim_start_matches(['.', '-'])
        .chars()
        .take(120)
        .collect();
    if out.is_empty() {
        "export.csv".into()
    } else {
        out
    }
}

/// A `200 OK` CSV attachment named `file_name` (made safe), for a body or a
/// stream.
pub fn attachment(file_name: &str) -> HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", safe_file_name(file_name)),
        ));
    res
}

/// CSV lines in memory: a header as given, rows with every cell made
/// formula-safe. Records may differ in length (an error report's rows are
/// as wide as the file's).
pub struct CsvWriter(csv::Writer<Vec<u8>>);

impl Default for CsvWriter {
    fn default() -> Self {
        CsvWriter(Self::writer())
    }
}

impl CsvWriter {
    fn writer() -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new())
    }

    /// A line of names, written as they are.
    pub fn header<I, T>(&mut self, cells: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        // Writing to memory cannot fail.
        let _ = self.0.write_record(cells);
    }

    /// A line of values, each one made safe to open in a spreadsheet.
    pub fn row<I, T>(&mut self, cells: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let _ = self
            .0
            .write_record(cells.into_iter().map(|c| csv_safe(c.as_ref()).into_owned()));
    }

    /// The bytes written so far; the writer starts again empty.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::replace(&mut self.0, Self::writer())
            .into_inner()
            .unwrap_or_default()
    }
}

/// Where a streamed export writes: lines go out in chunks, one per
/// [`CsvOut::flush`] (after each batch of rows).
pub struct CsvOut<'a> {
    pub lines: CsvWriter,
    send: &'a dyn Fn(Vec<u8>) -> bool,
}

impl CsvOut<'_> {
    /// Sends the lines written since the last flush; false once the client
    /// has gone (the export should stop).
    pub fn flush(&mut self) -> bool {
        let chunk = self.lines.take();
        chunk.is_empty() || (self.send)(chunk)
    }
}

/// The body of a streamed CSV export: `produce` runs on its own thread with
/// a pooled connection, writes lines into the [`CsvOut`] it gets and
/// flushes them batch by batch; what is left is sent when it returns. An
/// error ends the body.
pub fn stream<F>(
    pool: PgPool,
    produce: F,
) -> impl futures_util::Stream<Item = Result<web::Bytes, AppError>>
where
    F: FnOnce(&mut PgConnection, &mut CsvOut<'_>) -> Result<(), AppError> + Send + 'static,
{
    super::stream_blocking(pool, move |conn, send| {
        let mut out = CsvOut {
            lines: CsvWriter::default(),
            send,
        };
        produce(conn, &mut out)?;
        out.flush();
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(
            safe_file_name("promo-codes-20260101-0930.csv"),
            "promo-codes-20260101-0930.csv"
        );
        assert_eq!(
            safe_file_name("upload-12-errors.csv"),
            "upload-12-errors.csv"
        );
        assert_eq!(safe_file_name("a\"b\\c/d\n.csv"), "a-b-c-d-.csv");
        assert_eq!(safe_file_name("Été 2026 (final).csv"), "t-2026-final-.csv");
        assert_eq!(safe_file_name("../../etc/passwd"), "etc-passwd");
        assert_eq!(safe_file_name("\"\""), "export.csv");
        assert_eq!(safe_file_name(""), "export.csv");
        assert_eq!(safe_file_name(&"x".repeat(300)).len(), 120);
    }

    #[test]
    fn an_attachment_is_csv_with_its_file_name() {
        let res = attachment("promo codes \"all\".csv").finish();
        let h = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(h(header::CONTENT_TYPE), "text/csv; charset=utf-8");
        assert_eq!(
            h(header::CONTENT_DISPOSITION),
            "attachment; filename=\"promo-codes-all-.csv\""
        );
        assert_eq!(h(header::CACHE_CONTROL), "");
        let res = attachment("x.csv").insert_header(NO_STORE).finish();
        assert_eq!(
            res.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
    }

    #[test]
    fn rows_are_formula_safe_and_headers_as_given() {
        let mut w = CsvWriter::default();
        w.header(["Code", "=Total"]);
        w.row(["=1+1", "plain", "-5", "@SUM(A1)", "a,b"]);
        w.row(["short"]);
        assert_eq!(
            String::from_utf8(w.take()).unwrap(),
            "Code,=Total\n'=1+1,plain,'-5,'@SUM(A1),\"a,b\"\nshort\n"
        );
        assert!(w.take().is_empty());
    }

    #[test]
    fn output_is_sent_a_flush_at_a_time() {
        let sent = std::cell::RefCell::new(Vec::<String>::new());
        let send = |chunk: Vec<u8>| {
            sent.borrow_mut().push(String::from_utf8(chunk).unwrap());
            true
        };
        let mut out = CsvOut {
            lines: CsvWriter::default(),
            send: &send,
        };
        out.lines.header(["A"]);
        assert!(out.flush());
        assert!(out.flush(), "nothing new: nothing sent");
        out.lines.row(["1"]);
        out.lines.row(["2"]);
        assert!(out.flush());
        assert_eq!(*sent.borrow(), vec!["A\n", "1\n2\n"]);
        let gone = |_: Vec<u8>| false;
        let mut out = CsvOut {
            lines: CsvWriter::default(),
            send: &gone,
        };
        out.lines.row(["1"]);
        assert!(!out.flush());
    }
}
