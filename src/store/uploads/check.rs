//! The checks of a review, as set-based SQL over the staged rows:
//! duplicates inside the file, conflicts with (or updates of) existing
//! codes, ends not after the start.

use super::{get, Upload};
use crate::domain::{BrandId, UploadId};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};

/// The upload a check runs for: `$1` (brand), `$2` (upload) and `$3` (the
/// review's time) of its statements.
#[derive(Debug, Clone, Copy)]
struct Review {
    brand: BrandId,
    upload: UploadId,
    now: DateTime<Utc>,
}

impl Review {
    /// Moves staged rows that a query selects to the errors, with a message.
    /// `select` yields `row_number, column_name, value, message` for the upload.
    fn demote(&self, conn: &mut PgConnection, select: &str) -> StoreResult<i64> {
        let sql = format!(
            "WITH bad AS ({select}),
         errs AS (INSERT INTO upload_errors (brand_id, upload_id, row_number, column_name, value, message)
                  SELECT $1, $2, row_number, column_name, value, message FROM bad
                  ON CONFLICT DO NOTHING),
         moved AS (DELETE FROM upload_rows r USING (SELECT DISTINCT row_number FROM bad) b
                   WHERE r.brand_id = $1 AND r.upload_id = $2 AND r.row_number = b.row_number
                   RETURNING r.row_number, r.fields)
         INSERT INTO upload_error_rows (brand_id, upload_id, row_number, fields)
         SELECT $1, $2, row_number, fields FROM moved ON CONFLICT DO NOTHING"
        );
        Ok(diesel::sql_query(sql)
            .bind::<BigInt, _>(self.brand.0)
            .bind::<BigInt, _>(self.upload.0)
            .bind::<Timestamptz, _>(self.now)
            .execute(conn)? as i64)
    }
}

// SQL of the checks and the accept. `$1` is the brand, `$2` the upload, `$3`
// (where used) the review's time; `r` is a staged row, `c` an existing code.

/// A staged row's period as a range, an empty start being `$3` (a new code
/// starts when it is created). An end that is not after the start gives an
/// empty range (a code that never begins), not an SQL error.
fn row_range(r: &str) -> String {
    format!(
        "tstzrange(least(coalesce({r}.active_start, $3), coalesce({r}.active_end, 'infinity')), \
         coalesce({r}.active_end, 'infinity'), '[)')"
    )
}

/// A date of the file (`file`) is the stored one (`stored`) when both are
/// empty, or they are equal, or equal to the second: the code export writes
/// whole seconds of instants the app keeps to the microsecond (`csv_record`
/// in web/codes/export.rs), and an exported file must change nothing.
/// Never NULL (a NULL would sort first in the `DESC` orders below).
fn same_time(file: &str, stored: &str) -> String {
    format!(
        "coalesce({file} = {stored} OR {file} = date_trunc('second', {stored}), \
                  {file} IS NULL AND {stored} IS NULL)"
    )
}

/// The row's dates are the code's (an empty start is any start).
fn same_dates() -> String {
    format!(
        "((r.active_start IS NULL OR {}) AND {})",
        same_time("r.active_start", "c.active_start"),
        same_time("r.active_end", "c.active_end")
    )
}

/// The start a row gives the code it updates: an empty start keeps the
/// code's, and so does the code's own start to the second.
pub(super) fn new_start() -> String {
    format!(
        "(CASE WHEN r.active_start IS NULL OR {} THEN c.active_start ELSE r.active_start END)",
        same_time("r.active_start", "c.active_start")
    )
}

/// The end a row gives the code it updates (empty: no end).
pub(super) fn new_end() -> String {
    format!(
        "(CASE WHEN {} THEN c.active_end ELSE r.active_end END)",
        same_time("r.active_end", "c.active_end")
    )
}

/// True when the row leaves the code it updates as it is: such a row is
/// not written at accept (no history entry, no new `updated_at`).
pub(super) fn unchanged() -> String {
    format!(
        "(r.code_type = c.code_type AND r.partner_id IS NOT DISTINCT FROM c.partner_id \
         AND r.credit_rule IS NOT DISTINCT FROM c.credit_rule AND r.deal_id IS NOT DISTINCT FROM c.deal_id \
         AND r.time_zone = c.time_zone \
         AND {} IS NOT DISTINCT FROM c.active_start AND {} IS NOT DISTINCT FROM c.active_end)",
        new_start(),
        new_end()
    )
}

/// The brand's codes a staged row meets: the same program, match mode and
/// value (an exact code's ignoring case, a pattern exactly), active at
/// overlapping times or with the same dates (that is how a code that never
/// began, end = start, is met: its range is empty).
fn meeting_codes() -> String {
    format!(
        "FROM upload_rows r
         JOIN promo_codes c ON c.brand_id = r.brand_id AND c.program_id = r.program_id
              AND c.match_mode = r.match_mode AND c.code_key = lower(btrim(r.code))
              AND (r.match_mode = 'LI' OR c.code = r.code)
              AND (tstzrange(c.active_start, c.active_end) && {} OR {})
         WHERE r.brand_id = $1 AND r.upload_id = $2",
        row_range("r"),
        same_dates()
    )
}

/// Where the file has its `Active End Date` column: the position in its
/// records and the header, for the errors of [`check`].
#[derive(Debug, Clone, Copy)]
pub struct EndColumn {
    pub position: usize,
    pub header: &'static str,
}

/// After staging: duplicates inside the file, then conflicts with existing
/// codes (errors, or updates when the upload asks for them), then ends that
/// are not after the start of a new code. Sets counts.
pub fn check(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
    update_existing: bool,
    end_column: Option<EndColumn>,
    now: DateTime<Utc>,
) -> StoreResult<Upload> {
    // Fresh statistics of the staging table, or the planner takes the rows
    // just copied for a handful and picks nested loops for the checks below
    // (seen: 30 s instead of 1 s for 100,000 rows on a new server).
    diesel::sql_query("ANALYZE upload_rows").execute(conn)?;
    let review = Review { brand, upload, now };
    // An exact code (ignoring case) or a pattern (exactly) may appear once
    // per overlapping period; later rows name the first. Empty start = from
    // now on.
    //
    // The staged rows have no statistics (just copied in, never analyzed), so
    // the planner estimates one row per upload and picks a nested loop over
    // the primary key for this self-join: quadratic (60,000 rows ran for
    // more than 20 minutes). A hash join on the code is linear (0.15 s).
    diesel::sql_query("SET LOCAL enable_nestloop = off").execute(conn)?;
    // A merge join sorts both sides by the folded code with the database's
    // collation (7.9 s for 1,000,000 rows); a hash join in memory takes
    // 2.2 s. The hash of a million staged rows fits in this much work_mem
    // (for this transaction only).
    diesel::sql_query("SET LOCAL enable_mergejoin = off").execute(conn)?;
    diesel::sql_query("SET LOCAL work_mem = '192MB'").execute(conn)?;
    review.demote(
        conn,
        &format!(
            "SELECT r.row_number, 'Promo Code' AS column_name, r.code AS value,
                'Duplicate of row ' || min(o.row_number) || ' in this file: the same '
                || CASE WHEN r.match_mode = 'LI' THEN 'code (ignoring case)' ELSE 'pattern' END
                || ' with overlapping dates.' AS message
         FROM upload_rows r
         JOIN upload_rows o ON o.brand_id = r.brand_id AND o.upload_id = r.upload_id AND o.program_id = r.program_id
              AND o.match_mode = r.match_mode AND lower(btrim(o.code)) = lower(btrim(r.code)) AND o.row_number < r.row_number
              AND (r.match_mode = 'LI' OR o.code = r.code)
              AND {} && {}
         WHERE r.brand_id = $1 AND r.upload_id = $2
         GROUP BY r.row_number, r.code, r.match_mode",
            row_range("o"),
            row_range("r")
        ),
    )?;
    diesel::sql_query("RESET enable_nestloop").execute(conn)?;
    diesel::sql_query("RESET enable_mergejoin").execute(conn)?;
    let meeting = meeting_codes();
    let same = same_dates();
    if update_existing {
        // A row meeting several codes updates the one with its dates (to the
        // second: a value issued again right after its first code expired
        // may have both codes in the second the export writes).
        review.demote(
            conn,
            &format!(
                "WITH m AS (SELECT r.row_number, r.code, c.id, {same} AS same {meeting}),
                 g AS (SELECT row_number, code, count(*) AS n, count(*) FILTER (WHERE same) AS n_same,
                              string_agg('#' || id, ', ' ORDER BY id) AS ids
                       FROM m GROUP BY row_number, code)
                 SELECT row_number, 'Promo Code' AS column_name, code AS value,
                        'Matches ' || n || ' existing codes (' || ids || '): cannot tell which one to update.' AS message
                 FROM g WHERE n > 1 AND n_same <> 1"
            ),
        )?;
        diesel::sql_query(format!(
            "UPDATE upload_rows u SET existing_id = m.id
             FROM (SELECT DISTINCT ON (r.row_number) r.row_number, c.id {meeting}
                   ORDER BY r.row_number, {same} DESC, c.id) m
             WHERE u.brand_id = $1 AND u.upload_id = $2 AND u.row_number = m.row_number"
        ))
        .bind::<BigInt, _>(brand.0)
        .bind::<BigInt, _>(upload.0)
        .bind::<Timestamptz, _>(now)
        .execute(conn)?;
        // Two rows (with dates apart) may both overlap one existing code:
        // only one can update it.
        review.demote(
            conn,
            "SELECT row_number, 'Promo Code' AS column_name, code AS value,
                    'Updates the same existing code (#' || existing_id || ') as row ' || first_row
                    || ' in this file: keep one row per existing code.' AS message
             FROM (SELECT row_number, code, existing_id,
                          min(row_number) OVER (PARTITION BY existing_id) AS first_row
                   FROM upload_rows
                   WHERE brand_id = $1 AND upload_id = $2 AND existing_id IS NOT NULL) s
             WHERE row_number > first_row",
        )?;
        // An update may end a code at its start (it never begins, as the
        // app's expire does with a code that has not started), not before.
        if let Some(end) = end_column {
            review.demote(
                conn,
                &format!(
                    "SELECT r.row_number, '{header}' AS column_name, coalesce(btrim(r.fields[{pos}]), '') AS value,
                            'The end is before the start of the code it updates (#' || c.id || '): give a start date too, or a later end.' AS message
                     FROM upload_rows r JOIN promo_codes c ON c.brand_id = r.brand_id AND c.id = r.existing_id
                     WHERE r.brand_id = $1 AND r.upload_id = $2 AND {ne} < {ns}",
                    header = end.header,
                    pos = end.position + 1,
                    ne = new_end(),
                    ns = new_start(),
                ),
            )?;
        }
    } else {
        review.demote(
            conn,
            &format!(
                "SELECT DISTINCT ON (r.row_number) r.row_number, 'Promo Code' AS column_name, r.code AS value,
                        'Conflicts with the existing code ' || c.code || ' (#' || c.id || ') '
                        || CASE WHEN {same} THEN 'with the same dates' ELSE 'active at the same time' END || '. '
                        || 'Change the dates, expire that code, or upload with \"update existing codes\".' AS message
                 {meeting} ORDER BY r.row_number, {same} DESC, c.id"
            ),
        )?;
    }
    // A new code must end after it starts (an empty start: when it is
    // created), or it would never begin.
    if let Some(end) = end_column {
        review.demote(
            conn,
            &format!(
                "SELECT row_number, '{header}' AS column_name, coalesce(btrim(fields[{pos}]), '') AS value,
                        CASE WHEN active_start IS NULL THEN 'The end is in the past: give a start date too, or a later end.'
                             ELSE 'The end must be after the start.' END AS message
                 FROM upload_rows
                 WHERE brand_id = $1 AND upload_id = $2 AND existing_id IS NULL AND active_end <= coalesce(active_start, $3)",
                header = end.header,
                pos = end.position + 1,
            ),
        )?;
    }
    refresh_counts(conn, brand, upload, update_existing)
}

/// Sets the counts of a review: rows to create, rows that change an existing
/// code (those that would change nothing are the rest of the valid rows),
/// rows with errors.
fn refresh_counts(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
    update_existing: bool,
) -> StoreResult<Upload> {
    let updates = if update_existing {
        format!(
            "(SELECT count(*) FROM upload_rows r JOIN promo_codes c ON c.brand_id = r.brand_id AND c.id = r.existing_id
              WHERE r.brand_id = $1 AND r.upload_id = $2 AND NOT {})",
            unchanged()
        )
    } else {
        "0".to_string()
    };
    diesel::sql_query(format!(
        "UPDATE uploads u SET
           valid_rows = s.valid, create_rows = s.creates, update_rows = {updates},
           error_rows = e.errors, total_rows = s.valid + e.errors
         FROM (SELECT count(*) AS valid, count(*) FILTER (WHERE existing_id IS NULL) AS creates
               FROM upload_rows WHERE brand_id = $1 AND upload_id = $2) s,
              (SELECT count(*) AS errors FROM upload_error_rows WHERE brand_id = $1 AND upload_id = $2) e
         WHERE u.brand_id = $1 AND u.id = $2"
    ))
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(upload.0)
    .execute(conn)?;
    get(conn, brand, upload)
}
