//! Reading a bulk-upload file (SPEC §5) row by row, from a file on disk.
//!
//! * CSV: streamed with the `csv` crate into one reused record, so memory does not grow with
//!   the file (one record is at most [`MAX_RECORD_BYTES`]). UTF-8 with or without BOM, CRLF, LF
//!   or CR line ends, quoted fields with commas, quotes and line breaks; rows may have fewer or
//!   more fields than the header.
//! * XLSX: the first worksheet, streamed cell by cell by calamine on a helper thread and handed
//!   over in small batches through a bounded channel, so the sheet itself is never held in
//!   memory. calamine does keep the workbook's shared-strings table (every distinct text of
//!   the workbook) in memory while reading; that table grows with the number of distinct texts
//!   (e.g. distinct promo codes), not with the number of rows or columns.
//!
//! Row numbers are the ones a spreadsheet shows: the header is row 1 (or the first non-blank
//! row), the first data row is row 2; a field with line breaks is one row; blank lines count as
//! rows (a spreadsheet shows them) but are skipped, as are rows whose fields are all blank.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use calamine::{open_workbook, DataRef, Reader, SheetType, Xlsx};

use super::header::{looks_like_header, strip_bom};

/// How far into a file binary content is looked for.
const SNIFF_BYTES: usize = 8 * 1024;
/// The longest accepted CSV record (all fields of one row), in bytes. Longer means a quoted
/// field is not closed and the rest of the file is being read into it.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;
/// The CSV reader's buffer.
const CSV_BUFFER: usize = 64 * 1024;
/// XLSX rows handed from the reading thread at a time, and batches in flight.
const XLSX_BATCH_ROWS: usize = 512;
const XLSX_BATCHES_IN_FLIGHT: usize = 4;

/// The kind of an uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Csv,
    Xlsx,
}

/// Tells CSV from XLSX: the content decides (an XLSX file is a zip archive, `PK\x03\x04`);
/// the name (`.xlsx`) only when there are too few bytes to tell.
pub fn detect_kind(file_name: &str, first_bytes: &[u8]) -> FileKind {
    let xlsx_name = file_name.trim().to_ascii_lowercase().ends_with(".xlsx");
    if first_bytes.starts_with(b"PK\x03\x04") || (first_bytes.len() < 4 && xlsx_name) {
        FileKind::Xlsx
    } else {
        FileKind::Csv
    }
}

/// Why a file cannot be read. `Display` gives a message a program manager can act on.
#[derive(Debug, Clone, PartialEq)]
pub enum FileError {
    /// No bytes, or nothing but blank lines.
    Empty,
    /// The first row names none of the template's columns: it is data, not a header.
    NoHeader,
    /// A header and nothing else.
    NoRows,
    /// Binary content (a NUL byte near the start) that is not an XLSX file.
    Binary,
    /// A row is not valid UTF-8 (e.g. saved as "CSV" in a legacy encoding, or UTF-16).
    NotUtf8 { row: u64 },
    /// A row cannot be read, e.g. a quoted field that is never closed.
    Malformed { row: u64, message: String },
    /// An XLSX file calamine cannot read; the text is calamine's reason.
    Xlsx(String),
    /// The file could not be read from disk.
    Io(String),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Empty => f.write_str("The file is empty."),
            FileError::NoHeader => f.write_str(
                "The first row is not a header: it must name the columns (Promo Code, Program Id, \
                 Media Id, Type, Credit Rule, Match Mode, …). Download the template to see them.",
            ),
            FileError::NoRows => f.write_str("The file has a header but no data rows."),
            FileError::Binary => f.write_str("This is not a CSV or XLSX file (it looks binary)."),
            FileError::NotUtf8 { row } => {
                write!(
                    f,
                    "Row {row} is not UTF-8 text: save the file as CSV UTF-8."
                )
            }
            FileError::Malformed { row, message } => write!(f, "Row {row}: {message}"),
            FileError::Xlsx(reason) => write!(
                f,
                "This XLSX file cannot be read ({reason}). Open it in your spreadsheet and save it \
                 again as .xlsx, or as CSV UTF-8."
            ),
            FileError::Io(reason) => write!(f, "The file could not be read: {reason}."),
        }
    }
}

impl std::error::Error for FileError {}

/// The data rows of an open file, in order: `(spreadsheet row number, fields)`. Blank rows are
/// skipped. A row that cannot be read is an `Err` for that row; reading may go on after a
/// [`FileError::NotUtf8`] row, and stops after any other error.
pub struct Rows {
    pending: Option<Result<(u64, Vec<String>), FileError>>,
    inner: Inner,
}

enum Inner {
    Csv(Box<CsvRows>),
    Xlsx(XlsxRows),
}

impl Rows {
    /// Reads the next data row into `out`, reusing its strings (the fast path: no allocation
    /// per row once the buffers have grown). Returns the row number.
    pub fn next_into(&mut self, out: &mut Vec<String>) -> Option<Result<u64, FileError>> {
        if let Some(p) = self.pending.take() {
            return Some(p.map(|(row, fields)| {
                *out = fields;
                row
            }));
        }
        match &mut self.inner {
            Inner::Csv(c) => c.next_into(out),
            Inner::Xlsx(x) => x.next().map(|r| {
                r.map(|(row, fields)| {
                    *out = fields;
                    row
                })
            }),
        }
    }
}

impl Iterator for Rows {
    type Item = Result<(u64, Vec<String>), FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        match &mut self.inner {
            Inner::Csv(c) => {
                let mut out = Vec::new();
                c.next_into(&mut out).map(|r| r.map(|row| (row, out)))
            }
            Inner::Xlsx(x) => x.next(),
        }
    }
}

/// Opens an uploaded file: its header fields (as in the file, BOM removed) and its data rows.
/// Fails with [`FileError::NoRows`] when no data row follows the header.
pub fn open(path: &Path, kind: FileKind) -> Result<(Vec<String>, Rows), FileError> {
    let (header, mut inner) = match kind {
        FileKind::Csv => {
            let (header, rows) = CsvRows::open(path)?;
            (header, Inner::Csv(Box::new(rows)))
        }
        FileKind::Xlsx => {
            let (header, rows) = XlsxRows::open(path)?;
            (header, Inner::Xlsx(rows))
        }
    };
    if !looks_like_header(&header) {
        return Err(FileError::NoHeader);
    }
    let first = match &mut inner {
        Inner::Csv(c) => {
            let mut out = Vec::new();
            c.next_into(&mut out).map(|r| r.map(|row| (row, out)))
        }
        Inner::Xlsx(x) => x.next(),
    };
    match first {
        None => Err(FileError::NoRows),
        pending => Ok((header, Rows { pending, inner })),
    }
}

fn io_error(e: &io::Error) -> FileError {
    FileError::Io(e.to_string())
}

fn is_blank(fields: &[String]) -> bool {
    fields.iter().all(|f| f.trim().is_empty())
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Stops reading when one record grows past [`MAX_RECORD_BYTES`] (an unclosed quote), so a
/// broken file cannot make one record as large as the file.
struct Guard {
    limit: AtomicU64,
    tripped: AtomicBool,
}

struct GuardedRead<R> {
    inner: R,
    read: u64,
    guard: Arc<Guard>,
    /// Old Mac files end lines with CR only: read them as LF.
    cr_to_lf: bool,
}

impl<R: Read> Read for GuardedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.cr_to_lf {
            for b in &mut buf[..n] {
                if *b == b'\r' {
                    *b = b'\n';
                }
            }
        }
        self.read += n as u64;
        if self.read > self.guard.limit.load(Ordering::Relaxed) {
            self.guard.tripped.store(true, Ordering::Relaxed);
            return Err(io::Error::other("record too long"));
        }
        Ok(n)
    }
}

struct CsvRows {
    rdr: csv::Reader<GuardedRead<File>>,
    record: csv::ByteRecord,
    guard: Arc<Guard>,
    path: PathBuf,
    file_len: u64,
    last_byte_lf: bool,
    /// Line breaks inside quoted fields so far (they do not start a spreadsheet row).
    embedded: u64,
    /// The spreadsheet row after the last record read.
    next_row: u64,
    done: bool,
}

impl CsvRows {
    fn open(path: &Path) -> Result<(Vec<String>, CsvRows), FileError> {
        let mut file = File::open(path).map_err(|e| io_error(&e))?;
        let file_len = file.metadata().map_err(|e| io_error(&e))?.len();
        if file_len == 0 {
            return Err(FileError::Empty);
        }
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| io_error(&e))?;
        if head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") {
            // UTF-16 (Excel's "Unicode Text"): not UTF-8 from the first row on.
            return Err(FileError::NotUtf8 { row: 1 });
        }
        if head.contains(&0) {
            return Err(FileError::Binary);
        }
        let cr_to_lf = head.contains(&b'\r') && !head.contains(&b'\n');
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1)).map_err(|e| io_error(&e))?;
        file.read_exact(&mut last).map_err(|e| io_error(&e))?;
        let last_byte_lf = last[0] == b'\n' || (cr_to_lf && last[0] == b'\r');
        file.seek(SeekFrom::Start(0)).map_err(|e| io_error(&e))?;
        let guard = Arc::new(Guard {
            limit: AtomicU64::new(MAX_RECORD_BYTES + CSV_BUFFER as u64),
            tripped: AtomicBool::new(false),
        });
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(sniff_delimiter(&head))
            .flexible(true)
            // LF only: CR stays in the data, so that a CRLF blank line is a (blank) record
            // that keeps the row count right; it is removed from the last field below.
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(CSV_BUFFER)
            .from_reader(GuardedRead {
                inner: file,
                read: 0,
                guard: guard.clone(),
                cr_to_lf,
            });
        let mut rows = CsvRows {
            rdr,
            record: csv::ByteRecord::new(),
            guard,
            path: path.to_path_buf(),
            file_len,
            last_byte_lf,
            embedded: 0,
            next_row: 1,
            done: false,
        };
        let mut header = Vec::new();
        match rows.next_into(&mut header) {
            None => Err(FileError::Empty),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => {
                if let Some(first) = header.first_mut() {
                    if first.starts_with('\u{feff}') {
                        *first = strip_bom(first).to_string();
                    }
                }
                Ok((header, rows))
            }
        }
    }

    fn next_into(&mut self, out: &mut Vec<String>) -> Option<Result<u64, FileError>> {
        loop {
            if self.done {
                return None;
            }
            let start = self.rdr.position().byte();
            self.guard.limit.store(
                start + MAX_RECORD_BYTES + CSV_BUFFER as u64,
                Ordering::Relaxed,
            );
            match self.rdr.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    let row = self.next_row;
                    if self.guard.tripped.load(Ordering::Relaxed) {
                        return Some(Err(FileError::Malformed {
                            row,
                            message: format!(
                                "this row is longer than {} MB: a quoted cell is probably missing \
                                 its closing quote (\"), so the rest of the file reads as one cell.",
                                MAX_RECORD_BYTES >> 20
                            ),
                        }));
                    }
                    return Some(Err(match e.into_kind() {
                        csv::ErrorKind::Io(e) => io_error(&e),
                        other => FileError::Malformed {
                            row,
                            message: format!("{other:?}"),
                        },
                    }));
                }
            }
            // Spreadsheet row = physical line where the record starts, less the line breaks
            // inside quoted fields before it. csv skips empty lines itself; they still count.
            let pos = self.rdr.position();
            let lines_after = pos.line().saturating_sub(1);
            let in_data = memchr_count(self.record.as_slice());
            let at_eof = pos.byte() >= self.file_len;
            let terminator = if at_eof {
                u64::from(self.last_byte_lf)
            } else {
                1
            };
            let row = (lines_after + 1)
                .saturating_sub(in_data + terminator + self.embedded)
                .max(self.next_row);
            self.embedded += in_data;
            self.next_row = row + 1;
            if at_eof && in_data > 0 && self.unclosed_quote(start) {
                self.done = true;
                return Some(Err(FileError::Malformed {
                    row,
                    message: "a quoted cell is missing its closing quote (\"), so the rest of \
                              the file reads as one cell."
                        .into(),
                }));
            }
            let n = self.record.len();
            let mut utf8 = true;
            out.truncate(n);
            for (i, field) in self.record.iter().enumerate() {
                let field = if i + 1 == n {
                    field.strip_suffix(b"\r").unwrap_or(field)
                } else {
                    field
                };
                let Ok(s) = std::str::from_utf8(field) else {
                    utf8 = false;
                    break;
                };
                match out.get_mut(i) {
                    Some(slot) => {
                        slot.clear();
                        slot.push_str(s);
                    }
                    None => out.push(s.to_owned()),
                }
            }
            if !utf8 {
                return Some(Err(FileError::NotUtf8 { row }));
            }
            if is_blank(out) {
                continue;
            }
            return Some(Ok(row));
        }
    }

    /// The last record runs to the end of the file with line breaks in it: an odd number of
    /// quotes in its raw bytes means a quoted field was opened and never closed.
    fn unclosed_quote(&self, start: u64) -> bool {
        let Ok(mut f) = File::open(&self.path) else {
            return false;
        };
        if f.seek(SeekFrom::Start(start)).is_err() {
            return false;
        }
        let mut raw = Vec::new();
        if f.take(MAX_RECORD_BYTES + CSV_BUFFER as u64)
            .read_to_end(&mut raw)
            .is_err()
        {
            return false;
        }
        raw.iter().filter(|&&b| b == b'"').count() % 2 == 1
    }
}

/// The field separator, from the header line: `,` (the template's), unless the line has more
/// `;` (what spreadsheets save as "CSV" where the decimal mark is a comma) or tabs.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let line = head
        .split(|b| *b == b'\n' || *b == b'\r')
        .find(|l| {
            l.iter()
                .any(|b| !b.is_ascii_whitespace() && !matches!(b, b',' | b';' | b'\t'))
        })
        .unwrap_or_default();
    let (mut counts, mut quoted) = ([0usize; 3], false);
    for b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    if counts[1] > counts[0] && counts[1] >= counts[2] {
        b';'
    } else if counts[2] > counts[0] && counts[2] > counts[1] {
        b'\t'
    } else {
        b','
    }
}

fn memchr_count(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

// ---------------------------------------------------------------------------------------------
// XLSX

type RowItem = Result<(u64, Vec<String>), FileError>;

/// Rows of the first worksheet, read on a helper thread (see the module documentation). The
/// thread ends when the sheet is read or when this is dropped; it sends non-empty batches and
/// then one empty batch as the end marker.
struct XlsxRows {
    rx: Receiver<Vec<RowItem>>,
    batch: std::vec::IntoIter<RowItem>,
    done: bool,
}

impl XlsxRows {
    fn open(path: &Path) -> Result<(Vec<String>, XlsxRows), FileError> {
        let len = std::fs::metadata(path).map_err(|e| io_error(&e))?.len();
        if len == 0 {
            return Err(FileError::Empty);
        }
        let (tx, rx) = sync_channel::<Vec<RowItem>>(XLSX_BATCHES_IN_FLIGHT);
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("xlsx-reader".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(XLSX_BATCH_ROWS);
                let result = read_xlsx(&path, |item| {
                    batch.push(item);
                    if batch.len() >= XLSX_BATCH_ROWS {
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(XLSX_BATCH_ROWS));
                        return tx.send(full).is_ok();
                    }
                    true
                });
                if let Err(e) = result {
                    batch.push(Err(e));
                }
                if !batch.is_empty() && tx.send(batch).is_err() {
                    return;
                }
                // The end marker: without it the reader knows the thread died.
                let _ = tx.send(Vec::new());
            })
            .map_err(|e| io_error(&e))?;
        let mut rows = XlsxRows {
            rx,
            batch: Vec::new().into_iter(),
            done: false,
        };
        match rows.next() {
            None => Err(FileError::Empty),
            Some(Err(e)) => Err(e),
            Some(Ok((_, header))) => Ok((header, rows)),
        }
    }
}

impl Iterator for XlsxRows {
    type Item = RowItem;

    fn next(&mut self) -> Option<RowItem> {
        loop {
            if let Some(item) = self.batch.next() {
                if item.is_err() {
                    self.done = true;
                }
                return Some(item);
            }
            if self.done {
                return None;
            }
            match self.rx.recv() {
                Ok(batch) if batch.is_empty() => {
                    self.done = true;
                    return None;
                }
                Ok(batch) => self.batch = batch.into_iter(),
                Err(_) => {
                    self.done = true;
                    return Some(Err(FileError::Xlsx("reading stopped unexpectedly".into())));
                }
            }
        }
    }
}

/// Reads the first worksheet cell by cell and hands each non-blank row to `emit` (which says
/// whether to go on).
fn read_xlsx(path: &Path, mut emit: impl FnMut(RowItem) -> bool) -> Result<(), FileError> {
    let mut book: Xlsx<BufReader<File>> =
        open_workbook(path).map_err(|e: calamine::XlsxError| FileError::Xlsx(e.to_string()))?;
    let Some(sheet) = book
        .sheets_metadata()
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
    else {
        return Err(FileError::Xlsx("it has no worksheet".into()));
    };
    let mut cells = book
        .worksheet_cells_reader(&sheet)
        .map_err(|e| FileError::Xlsx(e.to_string()))?;
    let mut current: Option<u32> = None;
    let mut fields: Vec<String> = Vec::new();
    let mut flush = |row: Option<u32>, fields: &mut Vec<String>| -> bool {
        let Some(row) = row else { return true };
        if is_blank(fields) {
            fields.clear();
            return true;
        }
        emit(Ok((u64::from(row) + 1, std::mem::take(fields))))
    };
    loop {
        let cell = cells
            .next_cell()
            .map_err(|e| FileError::Xlsx(e.to_string()))?;
        let Some(cell) = cell else { break };
        let (row, col) = cell.get_position();
        if current != Some(row) {
            if !flush(current, &mut fields) {
                return Ok(());
            }
            current = Some(row);
        }
        let value = cell_text(cell.get_value());
        if value.is_empty() {
            continue;
        }
        let col = col as usize;
        if fields.len() <= col {
            fields.resize(col + 1, String::new());
        }
        fields[col] = value;
    }
    flush(current, &mut fields);
    Ok(())
}

/// A cell as text: whole numbers without `.0` (a Media Id of 1001 reads `1001`), dates as
/// `YYYY-MM-DDTHH:MM:SS`, booleans as `TRUE`/`FALSE`, errors as Excel shows them (`#N/A`).
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) if d.is_datetime() => {
            let (y, mo, day, h, mi, s, _) = d.to_ymd_hms_milli();
            format!("{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}:{s:02}")
        }
        DataRef::DateTime(d) => number_text(d.as_f64()),
        DataRef::Error(e) => e.to_string(),
    }
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HEADER: &str = "Promo Code,Program Id,Media Id,Type,Credit Rule,Match Mode";

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("write");
        f.flush().expect("flush");
        f
    }

    fn read_all(bytes: &[u8]) -> Result<(Vec<String>, Vec<RowItem>), FileError> {
        let f = file(bytes);
        let (header, rows) = open(f.path(), FileKind::Csv)?;
        Ok((header, rows.collect()))
    }

    fn ok_rows(bytes: &[u8]) -> Vec<(u64, Vec<String>)> {
        let (_, rows) = read_all(bytes).expect("opens");
        rows.into_iter().map(|r| r.expect("row")).collect()
    }

    fn numbers(bytes: &[u8]) -> Vec<u64> {
        ok_rows(bytes).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn rows_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Rows>();
        assert_send::<FileError>();
    }

    #[test]
    fn detects_the_kind() {
        assert_eq!(detect_kind("codes.xlsx", b"PK\x03\x04rest"), FileKind::Xlsx);
        assert_eq!(detect_kind("codes.csv", b"PK\x03\x04rest"), FileKind::Xlsx);
        assert_eq!(detect_kind("CODES.XLSX", b""), FileKind::Xlsx);
        assert_eq!(detect_kind("codes.csv", b"Promo Code,"), FileKind::Csv);
        assert_eq!(
            detect_kind("codes.xlsx", b"Promo Code,"),
            FileKind::Csv,
            "the content wins"
        );
        assert_eq!(detect_kind("codes", b"Promo"), FileKind::Csv);
    }

    #[test]
    fn lf_and_crlf_read_the_same() {
        let lf = format!("{HEADER}\nA1,1,1001,TRACKING,ALWAYS,LI\nA2,1,,RESTRICTED,,LI\n");
        let crlf = lf.replace('\n', "\r\n");
        let a = read_all(lf.as_bytes()).expect("lf");
        let b = read_all(crlf.as_bytes()).expect("crlf");
        assert_eq!(a, b);
        assert_eq!(a.0.len(), 6);
        assert_eq!(a.0[5], "Match Mode");
        let rows: Vec<_> = a.1.into_iter().map(|r| r.expect("row")).collect();
        assert_eq!(
            rows[0],
            (
                2,
                vec!["A1", "1", "1001", "TRACKING", "ALWAYS", "LI"]
                    .into_iter()
                    .map(String::from)
                    .collect()
            )
        );
        assert_eq!(rows[1].0, 3);
        assert_eq!(rows[1].1[2], "");
        // Old Mac line ends (CR only), and no final line break.
        let cr = lf.trim_end().replace('\n', "\r");
        assert_eq!(
            read_all(cr.as_bytes()).expect("cr"),
            read_all(lf.as_bytes()).expect("lf")
        );
    }

    #[test]
    fn quoted_commas_quotes_and_line_breaks() {
        let data = format!(
            "{HEADER}\n\"A,1\",1,1001,TRACKING,ALWAYS,LI\n\"multi\nline\r\ncode\",1,,RESTRICTED,,LI\nB\"\"x,1,,RESTRICTED,,LI\n\"say \"\"hi\"\"\",1,,RESTRICTED,,LI\nLAST,1,,RESTRICTED,,LI"
        );
        let rows = ok_rows(data.as_bytes());
        let got: Vec<(u64, &str)> = rows.iter().map(|(n, f)| (*n, f[0].as_str())).collect();
        assert_eq!(
            got,
            vec![
                (2, "A,1"),
                (3, "multi\nline\r\ncode"),
                (4, "B\"\"x"),
                (5, "say \"hi\""),
                (6, "LAST")
            ]
        );
        assert_eq!(rows[1].1[3], "RESTRICTED");
        // The same with CRLF line ends and blank lines after a multi-line field.
        let data = format!("{HEADER}\r\n\"a\r\nb\",1\r\n\r\nX,2\r\n,,,\r\n  \r\nY,3\r\n");
        let rows = ok_rows(data.as_bytes());
        let got: Vec<(u64, &str, &str)> = rows
            .iter()
            .map(|(n, f)| (*n, f[0].as_str(), f[1].as_str()))
            .collect();
        assert_eq!(got, vec![(2, "a\r\nb", "1"), (4, "X", "2"), (7, "Y", "3")]);
    }

    #[test]
    fn semicolon_and_tab_separated_files_read_the_same() {
        let comma = format!("{HEADER}\r\n\"A;1\",1,1001,TRACKING,ALWAYS,\"LI\"\r\nB,2\r\n");
        let semi = comma.replace(',', ";");
        let tab = comma.replace(',', "\t");
        let expected = read_all(comma.as_bytes()).expect("comma");
        assert_eq!(
            expected.1[0].as_ref().map(|(_, f)| f[0].as_str()),
            Ok("A;1")
        );
        assert_eq!(
            expected.1[0].as_ref().map(|(_, f)| f[5].as_str()),
            Ok("LI"),
            "quoted last field, CRLF"
        );
        assert_eq!(read_all(semi.as_bytes()).expect("semicolon"), expected);
        assert_eq!(read_all(tab.as_bytes()).expect("tab"), expected);
        assert_eq!(sniff_delimiter(b"\n\nPromo Code;Program Id\n"), b';');
        assert_eq!(sniff_delimiter(b"\"a;b\",c\n"), b',');
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let data = format!("{HEADER}\n\nA,1\n\n\nB,2\n,,,,,\n\n\n\n");
        assert_eq!(numbers(data.as_bytes()), vec![3, 6]);
        let data = format!("{HEADER}\n\nA,1");
        assert_eq!(numbers(data.as_bytes()), vec![3]);
        // Blank lines before the header: the header is the first non-blank row.
        let data = format!("\n,,\n{HEADER}\nA,1\n");
        let (header, rows) = read_all(data.as_bytes()).expect("opens");
        assert_eq!(header[0], "Promo Code");
        assert_eq!(rows, vec![Ok((4, vec!["A".to_string(), "1".to_string()]))]);
    }

    #[test]
    fn a_bom_is_removed() {
        let data = format!("\u{feff}{HEADER}\nA,1\n");
        let (header, rows) = read_all(data.as_bytes()).expect("opens");
        assert_eq!(header[0], "Promo Code");
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn short_and_long_rows_are_kept() {
        let data = format!("{HEADER}\nA,1\nB,1,1001,TRACKING,ALWAYS,LI,extra,more\n");
        let rows = ok_rows(data.as_bytes());
        assert_eq!(rows[0].1, vec!["A", "1"]);
        assert_eq!(rows[1].1.len(), 8);
    }

    #[test]
    fn a_row_that_is_not_utf8_is_reported_by_number() {
        let mut data = format!("{HEADER}\nA,1\n\"two\nlines\",1\n").into_bytes();
        data.extend_from_slice(b"caf\xe9,1\nB,2\n");
        let (_, rows) = read_all(&data).expect("opens");
        assert_eq!(rows[2], Err(FileError::NotUtf8 { row: 4 }));
        assert_eq!(rows[3].as_ref().map(|(n, _)| *n), Ok(5), "reading goes on");
        assert_eq!(
            FileError::NotUtf8 { row: 4 }.to_string(),
            "Row 4 is not UTF-8 text: save the file as CSV UTF-8."
        );
        assert_eq!(
            read_all(b"Promo Code,Typ\xe9\nA,1\n").unwrap_err(),
            FileError::NotUtf8 { row: 1 }
        );
        assert_eq!(
            read_all(b"\xff\xfeP\0r\0").unwrap_err(),
            FileError::NotUtf8 { row: 1 }
        );
    }

    #[test]
    fn a_row_read_via_next_into_reuses_the_buffer() {
        let f = file(format!("{HEADER}\nA,1\n\nB,2,3\nC\n").as_bytes());
        let (_, mut rows) = open(f.path(), FileKind::Csv).expect("opens");
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(r) = rows.next_into(&mut buf) {
            got.push((r.expect("row"), buf.clone()));
        }
        assert_eq!(got[0], (2, vec!["A".to_string(), "1".to_string()]));
        assert_eq!(
            got[1],
            (4, vec!["B".to_string(), "2".to_string(), "3".to_string()])
        );
        assert_eq!(got[2], (5, vec!["C".to_string()]));
    }

    #[test]
    fn broken_files_get_clear_errors() {
        assert_eq!(read_all(b"").unwrap_err(), FileError::Empty);
        assert_eq!(read_all(b"\n\r\n,,\n").unwrap_err(), FileError::Empty);
        assert_eq!(read_all(b"\xef\xbb\xbf").unwrap_err(), FileError::Empty);
        assert_eq!(read_all(HEADER.as_bytes()).unwrap_err(), FileError::NoRows);
        assert_eq!(
            read_all(format!("{HEADER}\r\n\r\n,,,\r\n").as_bytes()).unwrap_err(),
            FileError::NoRows
        );
        assert_eq!(
            read_all(b"SUMMER10,1,1001,TRACKING,ALWAYS,LI\n").unwrap_err(),
            FileError::NoHeader
        );
        assert_eq!(
            read_all(b"Promo Code,x\x00\x01\x02\nA\n").unwrap_err(),
            FileError::Binary
        );
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&[0u8; 100]);
        assert_eq!(read_all(&png).unwrap_err(), FileError::Binary);
        assert_eq!(FileError::Empty.to_string(), "The file is empty.");
        assert_eq!(
            FileError::NoRows.to_string(),
            "The file has a header but no data rows."
        );
        assert_eq!(
            FileError::Binary.to_string(),
            "This is not a CSV or XLSX file (it looks binary)."
        );
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_its_row() {
        let data = format!("{HEADER}\nA,1\n\"B,1\nC,1\nD,1\n");
        let (_, rows) = read_all(data.as_bytes()).expect("opens");
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_ok());
        match &rows[1] {
            Err(FileError::Malformed { row: 3, message }) => {
                assert!(message.contains("closing quote"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        // A huge runaway field stops at the record limit instead of reading the whole file.
        let mut data = format!("{HEADER}\nA,1\n\"B,1\n").into_bytes();
        let line = b"C,1,1001,TRACKING,ALWAYS,LI\n";
        while (data.len() as u64) < MAX_RECORD_BYTES * 2 + 10 {
            data.extend_from_slice(line);
        }
        let (_, rows) = read_all(&data).expect("opens");
        assert_eq!(rows.len(), 2);
        match &rows[1] {
            Err(FileError::Malformed { row: 3, message }) => {
                assert!(message.contains("longer than 1 MB"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn xlsx_first_sheet_with_numbers_and_dates() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("codes.xlsx");
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        // The template's first six columns, a start date and a column of
        // the file's own.
        let mut headers = crate::import::header::TEST_HEADER[..6].to_vec();
        headers.extend(["Active Start Date", "Notes"]);
        for (c, h) in headers.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).expect("header");
        }
        let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
        let when = ExcelDateTime::parse_from_str("2026-07-01 09:30:00").expect("date");
        sheet.write_string(1, 0, "SUMMER10").expect("cell");
        sheet.write_number(1, 1, 1.0).expect("cell");
        sheet.write_number(1, 2, 1001.0).expect("cell");
        sheet.write_string(1, 3, "TRACKING").expect("cell");
        sheet.write_string(1, 4, "ALWAYS").expect("cell");
        sheet.write_string(1, 5, "LI").expect("cell");
        sheet
            .write_datetime_with_format(1, 6, &when, &date)
            .expect("cell");
        sheet.write_number(1, 7, 2.5).expect("cell");
        // Row 3 blank, row 4 short (only the code and the program).
        sheet.write_string(3, 0, "WINTER").expect("cell");
        sheet.write_number(3, 1, 2.0).expect("cell");
        sheet.write_boolean(3, 7, true).expect("cell");
        book.add_worksheet()
            .write_string(0, 0, "second sheet")
            .expect("cell");
        book.save(&path).expect("save");

        let head = std::fs::read(&path).expect("read");
        assert_eq!(detect_kind("codes.xlsx", &head[..8]), FileKind::Xlsx);
        let (header, rows) = open(&path, FileKind::Xlsx).expect("opens");
        assert_eq!(
            header,
            headers.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        );
        let rows: Vec<_> = rows.map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        assert_eq!(
            rows[0].1,
            vec![
                "SUMMER10",
                "1",
                "1001",
                "TRACKING",
                "ALWAYS",
                "LI",
                "2026-07-01T09:30:00",
                "2.5"
            ]
        );
        assert_eq!(rows[1].0, 4);
        assert_eq!(rows[1].1, vec!["WINTER", "2", "", "", "", "", "", "TRUE"]);
    }

    #[test]
    fn xlsx_errors() {
        let dir = tempfile::tempdir().expect("dir");
        let header_only = dir.path().join("h.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["Promo Code", "Program Id"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).expect("header");
        }
        book.save(&header_only).expect("save");
        assert_eq!(
            open(&header_only, FileKind::Xlsx).err(),
            Some(FileError::NoRows)
        );

        let empty = dir.path().join("e.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        book.add_worksheet();
        book.save(&empty).expect("save");
        assert_eq!(open(&empty, FileKind::Xlsx).err(), Some(FileError::Empty));

        let f = file(b"PK\x03\x04 not really a zip");
        match open(f.path(), FileKind::Xlsx) {
            Err(FileError::Xlsx(reason)) => assert!(!reason.is_empty()),
            other => panic!("{:?}", other.map(|(h, _)| h)),
        }
        let f = file(b"");
        assert_eq!(open(f.path(), FileKind::Xlsx).err(), Some(FileError::Empty));
    }

    #[test]
    fn many_xlsx_rows_stream_in_batches() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("many.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "Promo Code").expect("header");
        for r in 1..=2000u32 {
            sheet.write_string(r, 0, format!("C{r}")).expect("cell");
        }
        book.save(&path).expect("save");
        let (_, rows) = open(&path, FileKind::Xlsx).expect("opens");
        let numbers: Vec<u64> = rows.map(|r| r.expect("row").0).collect();
        assert_eq!(numbers, (2..=2001).collect::<Vec<u64>>());
        // Dropping the rows early ends the reading thread (no hang, no panic).
        let (_, mut rows) = open(&path, FileKind::Xlsx).expect("opens");
        assert!(rows.next().is_some());
        drop(rows);
    }
}
