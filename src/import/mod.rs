//! Bulk upload of promo codes (SPEC §5), the pure part: reading CSV and XLSX files row by row
//! ([`reader`]), checking the header ([`header`]) and validating each row ([`rows`]). No
//! database and no HTTP here.
//!
//! ```text
//! let (fields, rows) = reader::open(path, reader::detect_kind(name, first_bytes))?;
//! let header = header::check_header(&fields)?;           // warnings: header.warnings
//! for r in rows { let (n, record) = r?; rows::validate_row(n, &record, &header.map, &lookups) }
//! ```

pub mod header;
pub mod reader;
pub mod rows;
