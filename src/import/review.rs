//! The review of an uploaded file, in one call: the file is read row by row
//! ([`reader`]), its header checked ([`header`](super::header)),
//! each row validated ([`rows`](super::rows)) and staged, and the staged rows
//! checked against each other and the brand's codes (`store::uploads`), all
//! in one transaction. A file refused on the way keeps nothing (not even its
//! upload number).

use super::header::{check_header, Column};
use super::reader::{self, FileError};
use super::rows::validate_row;
use crate::db::PgPool;
use crate::domain::{BrandId, UploadId, UserId};
use crate::store::uploads::{self, Staged};
use crate::store::StoreError;
use chrono::Utc;
use std::path::Path;

/// The file as received (a temporary file on disk).
#[derive(Debug, Clone, Copy)]
pub struct UploadedFile<'a> {
    pub path: &'a Path,
    /// The name it was sent with (it tells CSV from XLSX, with its first bytes).
    pub file_name: &'a str,
    pub size: i64,
}

/// What the upload asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewOptions {
    /// Rows that meet an existing code update it instead of being errors.
    pub update_existing: bool,
}

/// The outcome of a review: an upload to look at, or messages for the form
/// (nothing stored).
#[derive(Debug, PartialEq, Eq)]
pub enum Reviewed {
    Upload(UploadId),
    Refused(Vec<String>),
}

/// Why a review could not be made (not the file's fault).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The received file could not be read back.
    #[error("{0}")]
    Read(std::io::Error),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Reads, validates, stages and checks an uploaded file for `brand`, in one
/// transaction. Blocking: run it off the async workers. A file refused
/// before its rows are read (its kind, its header) does not take a
/// connection.
pub fn review_upload(
    pool: &PgPool,
    brand: BrandId,
    user: UserId,
    file: UploadedFile<'_>,
    options: ReviewOptions,
) -> Result<Reviewed, ReviewError> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(file.path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(ReviewError::Read)?;
    let kind = reader::detect_kind(file.file_name, &head[..n]);
    let (fields, rows) = match reader::open(file.path, kind) {
        Ok(v) => v,
        Err(e) => return Ok(Reviewed::Refused(vec![e.to_string()])),
    };
    if fields.iter().any(|f| f.contains('\0')) {
        return Ok(Reviewed::Refused(vec![FileError::Binary.to_string()]));
    }
    let checked = match check_header(&fields) {
        Ok(h) => h,
        Err(e) => return Ok(Reviewed::Refused(e.0)),
    };
    let mut conn = pool
        .get()
        .map_err(|e| ReviewError::Unavailable(e.to_string()))?;
    let lookups = uploads::lookups(&mut conn, brand).map_err(ReviewError::Store)?;
    let now = Utc::now();
    let res = diesel::Connection::transaction::<UploadId, StoreError, _>(&mut conn, |conn| {
        let id = uploads::create(
            conn,
            brand,
            user,
            &uploads::NewUpload {
                file_name: file.file_name,
                file_bytes: file.size,
                update_existing: options.update_existing,
                header: &fields,
                warnings: &checked.warnings,
            },
        )?;
        let map = &checked.map;
        let lookups = &lookups;
        let mut items = rows.map(|r| match r {
            // PostgreSQL text cannot hold a NUL character: binary data
            // past the first bytes that were sniffed.
            Ok((row, record)) if record.iter().any(|f| f.contains('\0')) => Staged::Fatal(format!(
                "Row {row} contains binary data (a NUL character): {}",
                FileError::Binary
            )),
            Ok((row, record)) => match validate_row(row, &record, map, lookups) {
                Ok(valid) => Staged::Valid(valid, record),
                Err(errs) => Staged::Invalid(row, record, errs),
            },
            Err(e) => Staged::Fatal(e.to_string()),
        });
        let counts = uploads::stage(conn, brand, id, &mut items)?;
        if counts.valid + counts.invalid == 0 {
            return Err(StoreError::Conflict(FileError::NoRows.to_string()));
        }
        let end_column = map
            .position(Column::ActiveEnd)
            .map(|position| uploads::EndColumn {
                position,
                header: map.header_name(Column::ActiveEnd),
            });
        uploads::check(conn, brand, id, options.update_existing, end_column, now)?;
        Ok(id)
    });
    match res {
        Ok(id) => Ok(Reviewed::Upload(id)),
        Err(StoreError::Conflict(m)) => Ok(Reviewed::Refused(vec![m])),
        Err(e) => Err(ReviewError::Store(e)),
    }
}
