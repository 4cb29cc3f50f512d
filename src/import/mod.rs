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

#[cfg(test)]
mod tests {
    use super::header::check_header;
    use super::reader::{detect_kind, open};
    use super::rows::{validate_row, Lookups};
    use std::io::Write;
    use std::time::Instant;

    /// End to end over a large generated CSV: `IMPORT_ROWS=1000000 cargo test --release --lib
    /// import::tests::throughput -- --ignored --nocapture` (the issue's target: a few seconds).
    #[test]
    #[ignore]
    fn throughput() {
        let n: u64 = std::env::var("IMPORT_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let mut f = tempfile::NamedTempFile::new().expect("temp");
        {
            let mut w = std::io::BufWriter::new(f.as_file_mut());
            writeln!(w, "Promo Code,Program Id,Media Id,Type,Credit Rule,Match Mode,Deal Id,Active Start Date,Active End Date,Timezone").expect("write");
            for i in 0..n {
                match i % 10 {
                    0 => writeln!(w, "SUMMER{}.*,1,1001,TRACKING,ALWAYS,RE,,,,", i % 7),
                    1 => writeln!(
                        w,
                        "VIP{i},1,,RESTRICTED,,LI,5,2026-07-01,2026-08-01T00:00:00-04:00,"
                    ),
                    _ => writeln!(
                        w,
                        "CODE{i},1,1001,TRACKING,WINNER,LI,,2026-07-01T09:00,,America/New_York"
                    ),
                }
                .expect("write");
            }
            w.flush().expect("flush");
        }
        let mut lookups = Lookups::default();
        lookups.programs.insert(1, chrono_tz::America::New_York);
        lookups.partners.insert(1001, 1);
        lookups.deals.insert(5, 1);
        let started = Instant::now();
        let (fields, mut rows) = open(f.path(), detect_kind("big.csv", b"Promo")).expect("open");
        let header = check_header(&fields).expect("header");
        let (mut valid, mut invalid) = (0u64, 0u64);
        let mut record = Vec::new();
        while let Some(r) = rows.next_into(&mut record) {
            let row = r.expect("row");
            match validate_row(row, &record, &header.map, &lookups) {
                Ok(_) => valid += 1,
                Err(_) => invalid += 1,
            }
        }
        let elapsed = started.elapsed();
        println!("{n} rows: {valid} valid, {invalid} invalid in {elapsed:?}");
        assert_eq!(valid + invalid, n);
        assert_eq!(invalid, 0);
    }
}
