//! Bulk upload of promo codes (SPEC §5). The pure part: reading CSV and XLSX files row by row
//! ([`reader`]), checking the header ([`header`]) and validating each row ([`rows`]), with no
//! database and no HTTP. [`review`] runs them on an uploaded file and stages and checks its rows
//! through `store::uploads`, in one transaction: the one call a handler makes.
//!
//! ```text
//! let (fields, rows) = reader::open(path, reader::detect_kind(name, first_bytes))?;
//! let header = header::check_header(&fields)?;           // warnings: header.warnings
//! for r in rows { let (n, record) = r?; rows::validate_row(n, &record, &header.map, &lookups) }
//! ```

pub mod header;
pub mod reader;
pub mod review;
pub mod rows;
