//! Staging a file's rows: valid rows into `upload_rows` by one COPY while
//! the file is read, errors through temporary files into `upload_errors`
//! and `upload_error_rows`.

use super::Staged;
use crate::db::schema::{upload_error_rows, upload_errors, upload_rows};
use crate::domain::{BrandId, UploadId};
use crate::import::rows::ValidRow;
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use diesel::pg::CopyFormat;
use diesel::prelude::*;
use diesel::ExecuteCopyFromDsl;
use std::cell::RefCell;
use std::io::{BufWriter, Read, Seek, Write};

/// Quotes a CSV field for COPY (CSV format): `None` is an unquoted empty
/// field (NULL); text is always quoted, so an empty string stays empty.
fn field(out: &mut Vec<u8>, v: Option<&str>) {
    if let Some(s) = v {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    }
}

/// A PostgreSQL array literal of text values.
fn array_literal(values: &[String]) -> String {
    let mut s = String::from("{");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        for ch in v.chars() {
            if ch == '"' || ch == '\\' {
                s.push('\\');
            }
            s.push(ch);
        }
        s.push('"');
    }
    s.push('}');
    s
}

fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

fn encode_valid(
    out: &mut Vec<u8>,
    brand: BrandId,
    upload: UploadId,
    r: &ValidRow,
    fields: &[String],
) {
    let cols: [Option<String>; 16] = [
        Some(brand.0.to_string()),
        Some(upload.0.to_string()),
        Some(r.row.to_string()),
        Some(r.program_id.to_string()),
        Some(r.code.clone()),
        Some(r.code_key.clone()),
        Some(r.code_type.as_str().to_string()),
        r.partner_id.map(|p| p.to_string()),
        r.credit_rule.map(|c| c.as_str().to_string()),
        Some(r.match_mode.as_str().to_string()),
        r.deal_id.map(|d| d.to_string()),
        time(r.active_start),
        time(r.active_end),
        Some(r.time_zone.name().to_string()),
        None,
        Some(array_literal(fields)),
    ];
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        field(out, c.as_deref());
    }
    out.push(b'\n');
}

/// What can stop a COPY: the database, the temporary files, or the file
/// being read (its message is shown to the user).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}")]
    Db(#[from] diesel::result::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Fatal(String),
}

impl From<CopyError> for StoreError {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Db(e) => StoreError::Db(e),
            CopyError::Io(source) => StoreError::Io {
                what: "the upload could not be buffered",
                source,
            },
            CopyError::Fatal(m) => StoreError::Conflict(m),
        }
    }
}

fn csv_io(e: csv::Error) -> CopyError {
    CopyError::Io(std::io::Error::other(e.to_string()))
}

#[derive(Debug, Default, Clone, Copy)]
pub struct StageCounts {
    pub valid: i64,
    pub invalid: i64,
}

/// `COPY table (columns) FROM STDIN (FORMAT csv)` of the data that `feed`
/// (a function of the COPY's writer) writes.
macro_rules! copy_csv {
    ($conn:expr, $table:ident($($column:ident),+ $(,)?), $feed:expr) => {
        diesel::copy_from($table::table)
            .from_raw_data(($($table::$column),+), $feed)
            .with_format(CopyFormat::Csv)
            .execute($conn)
    };
}

struct StageState<'a> {
    items: &'a mut dyn Iterator<Item = Staged>,
    errors: csv::Writer<BufWriter<std::fs::File>>,
    error_rows: csv::Writer<BufWriter<std::fs::File>>,
    counts: StageCounts,
    fatal: Option<String>,
}

impl StageState<'_> {
    /// Writes the valid rows to the COPY `w` (512 lines at a time) and the
    /// errors to their files, until the rows end or one is fatal.
    fn feed(
        &mut self,
        brand: BrandId,
        upload: UploadId,
        w: &mut dyn Write,
    ) -> Result<(), CopyError> {
        let mut line = Vec::with_capacity(512);
        let mut buffered = 0usize;
        for item in &mut *self.items {
            match item {
                Staged::Valid(r, fields) => {
                    encode_valid(&mut line, brand, upload, &r, &fields);
                    self.counts.valid += 1;
                    buffered += 1;
                    if buffered == 512 {
                        w.write_all(&line)?;
                        line.clear();
                        buffered = 0;
                    }
                }
                Staged::Invalid(row, fields, errs) => {
                    self.counts.invalid += 1;
                    let row_s = row.to_string();
                    for e in errs {
                        self.errors
                            .write_record([
                                brand.0.to_string().as_str(),
                                &upload.0.to_string(),
                                &row_s,
                                if e.column.is_empty() {
                                    "(row)"
                                } else {
                                    e.column
                                },
                                &e.value,
                                &e.message,
                            ])
                            .map_err(csv_io)?;
                    }
                    self.error_rows
                        .write_record([
                            brand.0.to_string().as_str(),
                            &upload.0.to_string(),
                            &row_s,
                            &array_literal(&fields),
                        ])
                        .map_err(csv_io)?;
                }
                Staged::Fatal(m) => {
                    self.fatal = Some(m.clone());
                    return Err(CopyError::Fatal(m));
                }
            }
        }
        w.write_all(&line)?;
        Ok(())
    }
}

/// Loads every row: valid ones into `upload_rows` by COPY while the file is
/// read (memory stays flat), errors into temporary files and then into
/// `upload_errors` / `upload_error_rows`. A fatal file error stops it and
/// is returned as `Conflict` with its message (the caller's transaction
/// then keeps nothing).
pub fn stage(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
    items: &mut dyn Iterator<Item = Staged>,
) -> StoreResult<StageCounts> {
    let io = |source| StoreError::Io {
        what: "could not buffer the upload's errors",
        source,
    };
    let errors_file = tempfile::tempfile().map_err(io)?;
    let rows_file = tempfile::tempfile().map_err(io)?;
    // Every field quoted: COPY reads an unquoted empty field as NULL, and an
    // error's value is often empty ("Required: ...").
    let writer = |file| {
        csv::WriterBuilder::new()
            .has_headers(false)
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(BufWriter::new(file))
    };
    let state = RefCell::new(StageState {
        items,
        errors: writer(errors_file),
        error_rows: writer(rows_file),
        counts: StageCounts::default(),
        fatal: None,
    });
    #[rustfmt::skip]
    let copied = copy_csv!(conn, upload_rows(
        brand_id, upload_id, row_number, program_id, code, code_key, code_type, partner_id,
        credit_rule, match_mode, deal_id, active_start, active_end, time_zone, existing_id, fields,
    ), |w: &mut dyn Write| state.borrow_mut().feed(brand, upload, w));
    let st = state.into_inner();
    if let Some(m) = st.fatal {
        return Err(StoreError::Conflict(m));
    }
    copied.map_err(StoreError::from)?;
    let counts = st.counts;
    copy_file(conn, st.errors, |conn, w| {
        copy_csv!(
            conn,
            upload_errors(brand_id, upload_id, row_number, column_name, value, message),
            w
        )
    })?;
    copy_file(conn, st.error_rows, |conn, w| {
        copy_csv!(
            conn,
            upload_error_rows(brand_id, upload_id, row_number, fields),
            w
        )
    })?;
    Ok(counts)
}

type CopyFn<'a> = &'a dyn Fn(&mut dyn Write) -> Result<(), CopyError>;

/// Feeds a buffered temporary CSV file to a COPY.
fn copy_file(
    conn: &mut PgConnection,
    writer: csv::Writer<BufWriter<std::fs::File>>,
    run: impl FnOnce(&mut PgConnection, CopyFn<'_>) -> Result<usize, CopyError>,
) -> StoreResult<()> {
    let io = |source| StoreError::Io {
        what: "could not read back the upload's errors",
        source,
    };
    let mut file = writer
        .into_inner()
        .map_err(|e| io(std::io::Error::other(e.to_string())))?
        .into_inner()
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    if file.stream_position().map_err(io)? == 0 {
        return Ok(());
    }
    file.rewind().map_err(io)?;
    let file = RefCell::new(file);
    let feed = |w: &mut dyn Write| -> Result<(), CopyError> {
        let mut f = file.borrow_mut();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            w.write_all(&buf[..n])?;
        }
    };
    run(conn, &feed).map_err(StoreError::from)?;
    Ok(())
}
