//! Bulk uploads: staging the rows of a file under review with COPY, finding
//! duplicates and conflicts with set-based SQL, and accepting all valid rows
//! in one transaction.

use super::{violated_constraint, StoreError, StoreResult};
use crate::db::schema::{
    deals, partners, programs, upload_error_rows, upload_errors, upload_rows, uploads,
};
use crate::domain::{BrandId, UploadId, UserId};
use crate::import::rows::{Lookups, RowError, ValidRow};
use chrono::{DateTime, Utc};
use diesel::pg::CopyFormat;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel::ExecuteCopyFromDsl;
use std::cell::RefCell;
use std::io::{BufWriter, Read, Seek, Write};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = uploads)]
pub struct Upload {
    pub brand_id: i64,
    pub id: i64,
    pub user_id: Option<i64>,
    pub kind: String,
    pub file_name: String,
    pub file_bytes: i64,
    pub status: String,
    pub update_existing: bool,
    pub total_rows: i64,
    pub valid_rows: i64,
    pub create_rows: i64,
    pub update_rows: i64,
    pub error_rows: i64,
    pub warnings: serde_json::Value,
    pub failure: Option<String>,
    pub header: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

/// What a reader hands the store, row by row.
pub enum Staged {
    Valid(ValidRow, Vec<String>),
    Invalid(u64, Vec<String>, Vec<RowError>),
    /// The file cannot be read on (e.g. not UTF-8): nothing is kept.
    Fatal(String),
}

/// Everything the row validation needs to know about the brand.
pub fn lookups(conn: &mut PgConnection, brand: BrandId) -> StoreResult<Lookups> {
    let progs: Vec<(i64, String)> = programs::table
        .filter(programs::brand_id.eq(brand.0))
        .select((programs::id, programs::time_zone))
        .load(conn)?;
    let parts: Vec<(i64, i64)> = partners::table
        .filter(partners::brand_id.eq(brand.0))
        .select((partners::media_id, partners::id))
        .load(conn)?;
    let ds: Vec<(i64, i64, String)> = deals::table
        .filter(deals::brand_id.eq(brand.0))
        .select((deals::id, deals::program_id, deals::name))
        .load(conn)?;
    Ok(Lookups {
        programs: progs
            .into_iter()
            .map(|(id, tz)| (id, tz.parse().unwrap_or(chrono_tz::UTC)))
            .collect(),
        partners: parts.into_iter().collect(),
        deals: ds.iter().map(|(id, p, _)| (*id, *p)).collect(),
        deal_names: ds
            .into_iter()
            .map(|(id, p, name)| ((p, name.trim().to_lowercase()), id))
            .collect(),
    })
}

/// A new upload's description, before its rows are read.
pub struct NewUpload<'a> {
    pub file_name: &'a str,
    pub file_bytes: i64,
    pub update_existing: bool,
    pub header: &'a [String],
    pub warnings: &'a [String],
}

/// Stores a new upload with the brand's next number (its id: uploads are
/// numbered 1, 2, 3 ... in each brand). Call it inside the transaction that
/// stages the rows: the number is taken under a lock of the brand's uploads
/// that the transaction holds to its end, so a refused file (rolled back)
/// leaves no gap, and two uploads of one brand never take the same number
/// (a second upload of the brand waits for the first one's review to end;
/// other brands do not wait).
pub fn create(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    u: &NewUpload<'_>,
) -> StoreResult<UploadId> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('promodesk.uploads', $1))")
        .bind::<BigInt, _>(brand.0)
        .execute(conn)?;
    let last: Option<i64> = uploads::table
        .filter(uploads::brand_id.eq(brand.0))
        .select(diesel::dsl::max(uploads::id))
        .first(conn)?;
    let id = diesel::insert_into(uploads::table)
        .values((
            uploads::brand_id.eq(brand.0),
            uploads::id.eq(last.unwrap_or(0) + 1),
            uploads::user_id.eq(user.0),
            uploads::file_name.eq(u.file_name),
            uploads::file_bytes.eq(u.file_bytes),
            uploads::update_existing.eq(u.update_existing),
            uploads::header.eq(u.header),
            uploads::warnings.eq(serde_json::json!(u.warnings)),
        ))
        .returning(uploads::id)
        .get_result(conn)?;
    Ok(UploadId(id))
}

pub fn get(conn: &mut PgConnection, brand: BrandId, id: UploadId) -> StoreResult<Upload> {
    uploads::table
        .filter(uploads::brand_id.eq(brand.0))
        .filter(uploads::id.eq(id.0))
        .select(Upload::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

pub fn list(
    conn: &mut PgConnection,
    brand: BrandId,
    limit: i64,
) -> StoreResult<Vec<(Upload, Option<String>)>> {
    use crate::db::schema::users;
    Ok(uploads::table
        .left_join(
            users::table.on(users::brand_id
                .eq(uploads::brand_id)
                .and(uploads::user_id.eq(users::id.nullable()))),
        )
        .filter(uploads::brand_id.eq(brand.0))
        .order(uploads::id.desc())
        .limit(limit)
        .select((Upload::as_select(), users::email.nullable()))
        .load(conn)?)
}

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

struct StageState<'a> {
    items: &'a mut dyn Iterator<Item = Staged>,
    errors: csv::Writer<BufWriter<std::fs::File>>,
    error_rows: csv::Writer<BufWriter<std::fs::File>>,
    counts: StageCounts,
    fatal: Option<String>,
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
    let copied = diesel::copy_from(upload_rows::table)
        .from_raw_data(
            (
                upload_rows::brand_id,
                upload_rows::upload_id,
                upload_rows::row_number,
                upload_rows::program_id,
                upload_rows::code,
                upload_rows::code_key,
                upload_rows::code_type,
                upload_rows::partner_id,
                upload_rows::credit_rule,
                upload_rows::match_mode,
                upload_rows::deal_id,
                upload_rows::active_start,
                upload_rows::active_end,
                upload_rows::time_zone,
                upload_rows::existing_id,
                upload_rows::fields,
            ),
            |w: &mut dyn Write| -> Result<(), CopyError> {
                let mut guard = state.borrow_mut();
                let st = &mut *guard;
                let mut line = Vec::with_capacity(512);
                let mut buffered = 0usize;
                for item in &mut *st.items {
                    match item {
                        Staged::Valid(r, fields) => {
                            encode_valid(&mut line, brand, upload, &r, &fields);
                            st.counts.valid += 1;
                            buffered += 1;
                            if buffered == 512 {
                                w.write_all(&line)?;
                                line.clear();
                                buffered = 0;
                            }
                        }
                        Staged::Invalid(row, fields, errs) => {
                            st.counts.invalid += 1;
                            let row_s = row.to_string();
                            for e in errs {
                                st.errors
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
                            st.error_rows
                                .write_record([
                                    brand.0.to_string().as_str(),
                                    &upload.0.to_string(),
                                    &row_s,
                                    &array_literal(&fields),
                                ])
                                .map_err(csv_io)?;
                        }
                        Staged::Fatal(m) => {
                            st.fatal = Some(m.clone());
                            return Err(CopyError::Fatal(m));
                        }
                    }
                }
                w.write_all(&line)?;
                Ok(())
            },
        )
        .with_format(CopyFormat::Csv)
        .execute(conn);
    let st = state.into_inner();
    if let Some(m) = st.fatal {
        return Err(StoreError::Conflict(m));
    }
    copied.map_err(StoreError::from)?;
    let counts = st.counts;
    copy_file(conn, st.errors, |conn, w| {
        diesel::copy_from(upload_errors::table)
            .from_raw_data(
                (
                    upload_errors::brand_id,
                    upload_errors::upload_id,
                    upload_errors::row_number,
                    upload_errors::column_name,
                    upload_errors::value,
                    upload_errors::message,
                ),
                w,
            )
            .with_format(CopyFormat::Csv)
            .execute(conn)
    })?;
    copy_file(conn, st.error_rows, |conn, w| {
        diesel::copy_from(upload_error_rows::table)
            .from_raw_data(
                (
                    upload_error_rows::brand_id,
                    upload_error_rows::upload_id,
                    upload_error_rows::row_number,
                    upload_error_rows::fields,
                ),
                w,
            )
            .with_format(CopyFormat::Csv)
            .execute(conn)
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

/// Moves staged rows that a query selects to the errors, with a message.
/// `select` yields `row_number, column_name, value, message` for the upload.
fn demote(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
    select: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
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
        .bind::<BigInt, _>(brand.0)
        .bind::<BigInt, _>(upload.0)
        .bind::<Timestamptz, _>(now)
        .execute(conn)? as i64)
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
/// whole seconds of instants the app keeps to the microsecond
/// (`web::codes::csv_rows`), and an exported file must change nothing.
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
fn new_start() -> String {
    format!(
        "(CASE WHEN r.active_start IS NULL OR {} THEN c.active_start ELSE r.active_start END)",
        same_time("r.active_start", "c.active_start")
    )
}

/// The end a row gives the code it updates (empty: no end).
fn new_end() -> String {
    format!(
        "(CASE WHEN {} THEN c.active_end ELSE r.active_end END)",
        same_time("r.active_end", "c.active_end")
    )
}

/// True when the row leaves the code it updates as it is: such a row is
/// not written at accept (no history entry, no new `updated_at`).
fn unchanged() -> String {
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
    demote(
        conn,
        brand,
        upload,
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
        now,
    )?;
    diesel::sql_query("RESET enable_nestloop").execute(conn)?;
    diesel::sql_query("RESET enable_mergejoin").execute(conn)?;
    let meeting = meeting_codes();
    let same = same_dates();
    if update_existing {
        // A row meeting several codes updates the one with its dates (to the
        // second: a value issued again right after its first code expired
        // may have both codes in the second the export writes).
        demote(
            conn,
            brand,
            upload,
            &format!(
                "WITH m AS (SELECT r.row_number, r.code, c.id, {same} AS same {meeting}),
                 g AS (SELECT row_number, code, count(*) AS n, count(*) FILTER (WHERE same) AS n_same,
                              string_agg('#' || id, ', ' ORDER BY id) AS ids
                       FROM m GROUP BY row_number, code)
                 SELECT row_number, 'Promo Code' AS column_name, code AS value,
                        'Matches ' || n || ' existing codes (' || ids || '): cannot tell which one to update.' AS message
                 FROM g WHERE n > 1 AND n_same <> 1"
            ),
            now,
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
        demote(
            conn,
            brand,
            upload,
            "SELECT row_number, 'Promo Code' AS column_name, code AS value,
                    'Updates the same existing code (#' || existing_id || ') as row ' || first_row
                    || ' in this file: keep one row per existing code.' AS message
             FROM (SELECT row_number, code, existing_id,
                          min(row_number) OVER (PARTITION BY existing_id) AS first_row
                   FROM upload_rows
                   WHERE brand_id = $1 AND upload_id = $2 AND existing_id IS NOT NULL) s
             WHERE row_number > first_row",
            now,
        )?;
        // An update may end a code at its start (it never begins, as the
        // app's expire does with a code that has not started), not before.
        if let Some(end) = end_column {
            demote(
                conn,
                brand,
                upload,
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
                now,
            )?;
        }
    } else {
        demote(
            conn,
            brand,
            upload,
            &format!(
                "SELECT DISTINCT ON (r.row_number) r.row_number, 'Promo Code' AS column_name, r.code AS value,
                        'Conflicts with the existing code ' || c.code || ' (#' || c.id || ') '
                        || CASE WHEN {same} THEN 'with the same dates' ELSE 'active at the same time' END || '. '
                        || 'Change the dates, expire that code, or upload with \"update existing codes\".' AS message
                 {meeting} ORDER BY r.row_number, {same} DESC, c.id"
            ),
            now,
        )?;
    }
    // A new code must end after it starts (an empty start: when it is
    // created), or it would never begin.
    if let Some(end) = end_column {
        demote(
            conn,
            brand,
            upload,
            &format!(
                "SELECT row_number, '{header}' AS column_name, coalesce(btrim(fields[{pos}]), '') AS value,
                        CASE WHEN active_start IS NULL THEN 'The end is in the past: give a start date too, or a later end.'
                             ELSE 'The end must be after the start.' END AS message
                 FROM upload_rows
                 WHERE brand_id = $1 AND upload_id = $2 AND existing_id IS NULL AND active_end <= coalesce(active_start, $3)",
                header = end.header,
                pos = end.position + 1,
            ),
            now,
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

/// One error of an upload, with the row it belongs to.
#[derive(Debug, Clone, Queryable)]
pub struct ErrorLine {
    pub row_number: i64,
    pub column_name: String,
    pub value: String,
    pub message: String,
}

pub fn first_errors(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
    limit: i64,
) -> StoreResult<Vec<ErrorLine>> {
    Ok(upload_errors::table
        .filter(upload_errors::brand_id.eq(brand.0))
        .filter(upload_errors::upload_id.eq(upload.0))
        .order((
            upload_errors::row_number.asc(),
            upload_errors::column_name.asc(),
        ))
        .limit(limit)
        .select((
            upload_errors::row_number,
            upload_errors::column_name,
            upload_errors::value,
            upload_errors::message,
        ))
        .load(conn)?)
}

/// A valid row as the review shows it, with the names of its partner and
/// deal, so that a user can check whom each code credits.
#[derive(Debug, Clone, QueryableByName)]
pub struct PreviewRow {
    #[diesel(sql_type = BigInt)]
    pub row_number: i64,
    #[diesel(sql_type = BigInt)]
    pub program_id: i64,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub code_type: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub media_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub credit_rule: Option<String>,
    #[diesel(sql_type = Text)]
    pub match_mode: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub deal_name: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_start: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_end: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub time_zone: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub existing_id: Option<i64>,
    /// The row matches an existing code that it would leave as it is.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub unchanged: bool,
}

impl PreviewRow {
    /// The start as the code will show it: in the row's time zone.
    pub fn start_shown(&self) -> Option<String> {
        self.active_start
            .map(|t| crate::domain::code::format_human(t, self.tz()))
    }
    pub fn end_shown(&self) -> Option<String> {
        self.active_end
            .map(|t| crate::domain::code::format_human(t, self.tz()))
    }
    fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// The first `limit` valid rows (the names are read for these rows only).
pub fn preview(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
    limit: i64,
) -> StoreResult<Vec<PreviewRow>> {
    Ok(diesel::sql_query(format!(
        "SELECT r.row_number, r.program_id, r.code, r.code_type, p.media_id, p.name AS partner_name,
                r.credit_rule, r.match_mode, d.name AS deal_name, r.active_start, r.active_end,
                r.time_zone, r.existing_id, coalesce(c.id IS NOT NULL AND {}, false) AS unchanged
         FROM (SELECT * FROM upload_rows WHERE brand_id = $1 AND upload_id = $2
               ORDER BY row_number LIMIT $3) r
         LEFT JOIN partners p ON p.brand_id = r.brand_id AND p.id = r.partner_id
         LEFT JOIN deals d ON d.brand_id = r.brand_id AND d.id = r.deal_id
         LEFT JOIN promo_codes c ON c.brand_id = r.brand_id AND c.id = r.existing_id
         ORDER BY r.row_number",
        unchanged()
    ))
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(upload.0)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// The most fields of a row with errors (rows may be wider than the header).
pub fn error_report_width(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
) -> StoreResult<usize> {
    use diesel::dsl::{max, sql};
    use diesel::sql_types::Integer;
    let width: Option<i32> = upload_error_rows::table
        .filter(upload_error_rows::brand_id.eq(brand.0))
        .filter(upload_error_rows::upload_id.eq(upload.0))
        .select(max(sql::<Integer>("cardinality(fields)")))
        .first(conn)?;
    Ok(width.unwrap_or(0).max(0) as usize)
}

/// The error report: the original rows with an `Error` column, in file
/// order, `batch` rows after `after`.
pub fn error_report_batch(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
    after: i64,
    batch: i64,
) -> StoreResult<Vec<(i64, Vec<String>, String)>> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = BigInt)]
        row_number: i64,
        #[diesel(sql_type = diesel::sql_types::Array<Text>)]
        fields: Vec<String>,
        #[diesel(sql_type = Text)]
        error: String,
    }
    let lines: Vec<Line> = diesel::sql_query(
        "SELECT r.row_number, r.fields,
                coalesce((SELECT string_agg(CASE WHEN e.column_name = '(row)' THEN e.message
                                                 ELSE e.column_name || ': ' || e.message END, '; ' ORDER BY e.column_name)
                          FROM upload_errors e
                          WHERE e.brand_id = r.brand_id AND e.upload_id = r.upload_id AND e.row_number = r.row_number), '') AS error
         FROM upload_error_rows r
         WHERE r.brand_id = $1 AND r.upload_id = $2 AND r.row_number > $3
         ORDER BY r.row_number LIMIT $4",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(upload.0)
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(batch)
    .load(conn)?;
    Ok(lines
        .into_iter()
        .map(|l| (l.row_number, l.fields, l.error))
        .collect())
}

pub enum AcceptOutcome {
    /// Just accepted now: created and updated codes, and the rows that
    /// matched a code they would not change (not written).
    Accepted {
        created: i64,
        updated: i64,
        unchanged: i64,
    },
    /// Nothing to do: it was accepted (or closed) before.
    AlreadyDone(String),
}

/// Creates (and updates) the codes of every valid staged row, with history,
/// in one transaction: all rows or none.
pub fn accept(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    upload: UploadId,
    now: DateTime<Utc>,
) -> StoreResult<AcceptOutcome> {
    // Ok(Err(reason)): the rows were refused before anything was written.
    let res = conn.transaction::<Result<AcceptOutcome, String>, StoreError, _>(|conn| {
        diesel::sql_query("SELECT 1 FROM uploads WHERE brand_id = $1 AND id = $2 FOR UPDATE")
            .bind::<BigInt, _>(brand.0)
            .bind::<BigInt, _>(upload.0)
            .execute(conn)?;
        let u = get(conn, brand, upload)?;
        if u.status != "reviewing" {
            return Ok(Ok(AcceptOutcome::AlreadyDone(u.status)));
        }
        let staged: i64 = upload_rows::table
            .filter(upload_rows::brand_id.eq(brand.0))
            .filter(upload_rows::upload_id.eq(upload.0))
            .count()
            .get_result(conn)?;
        if staged != u.valid_rows {
            return Err(StoreError::Conflict(
                "The review data of this upload is gone (the server restarted during the review). Upload the file again.".into(),
            ));
        }
        if staged == 0 {
            return Err(StoreError::Conflict("This upload has no valid rows to create.".into()));
        }
        // Foreign keys check each inserted row with a query of its own (about
        // 8 µs a row and key: 16 s of a 1,000,000-row accept). When the
        // connection may, the accept checks them for the whole set instead:
        // it locks the parents as the triggers would, refuses rows whose
        // parent is gone, and skips the per-row triggers in this transaction
        // only. Constraints, CHECKs and the exclusion constraint still apply.
        if set_based_parent_checks(conn)? {
            if let Some(row) = orphan_row(conn, brand, upload)? {
                return Ok(Err(gone_parent(Some(row))));
            }
        }
        // An uploaded code's creation is recorded on the code itself (upload,
        // created_by, created_at); its history page shows it as the first
        // entry. Later changes get history rows as usual.
        let created = diesel::sql_query(
            "INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule, match_mode,
                                      deal_id, active_start, active_end, time_zone, created_by, updated_by,
                                      created_at, updated_at, upload_id)
             SELECT brand_id, program_id, code, code_type, partner_id, credit_rule, match_mode, deal_id,
                    coalesce(active_start, $4), active_end, time_zone, $3, $3, $4, $4, $2
             FROM upload_rows WHERE brand_id = $1 AND upload_id = $2 AND existing_id IS NULL
             ORDER BY row_number",
        )
        .bind::<BigInt, _>(brand.0)
        .bind::<BigInt, _>(upload.0)
        .bind::<BigInt, _>(user.0)
        .bind::<Timestamptz, _>(now)
        .execute(conn)? as i64;
        // Rows that update existing codes (only when the upload asked for it):
        // each is compared with its code as it is now.
        let updated = if u.valid_rows == u.create_rows {
            0
        } else {
            // Lock the codes to update first, in a statement of its own: locking
            // them in the same statement as the UPDATE below skips every row (a
            // row updated by the current command cannot be locked), so `old` came
            // back empty and no history was written.
            diesel::sql_query(
                "SELECT c.id FROM promo_codes c JOIN upload_rows r ON r.brand_id = c.brand_id AND r.existing_id = c.id
                 WHERE r.brand_id = $1 AND r.upload_id = $2 ORDER BY c.id FOR UPDATE OF c",
            )
            .bind::<BigInt, _>(brand.0)
            .bind::<BigInt, _>(upload.0)
            .execute(conn)?;
            // Only rows that change their code are written (a file exported
            // and uploaded again changes nothing, and leaves no history).
            diesel::sql_query(format!(
                "WITH old AS (
                   SELECT c.id, c.partner_id, c.credit_rule, c.code_type, c.deal_id, c.active_start, c.active_end, c.time_zone
                   FROM promo_codes c JOIN upload_rows r ON r.brand_id = c.brand_id AND r.existing_id = c.id
                   WHERE r.brand_id = $1 AND r.upload_id = $2),
                 upd AS (
                   UPDATE promo_codes c SET code_type = r.code_type, partner_id = r.partner_id, credit_rule = r.credit_rule,
                          deal_id = r.deal_id, active_start = {new_start}, active_end = {new_end},
                          time_zone = r.time_zone, updated_by = $3, updated_at = $4
                   FROM upload_rows r
                   WHERE r.brand_id = $1 AND r.upload_id = $2 AND c.brand_id = r.brand_id AND c.id = r.existing_id
                     AND NOT {unchanged}
                   RETURNING c.brand_id, c.id, c.partner_id, c.credit_rule, c.code_type, c.deal_id, c.active_start, c.active_end, c.time_zone)
                 INSERT INTO code_history (brand_id, code_id, changed_by, changed_at, action, changes)
                 SELECT upd.brand_id, upd.id, $3, $4, 'upload_updated',
                        jsonb_strip_nulls(jsonb_build_object(
                          'upload', jsonb_build_array(NULL, $2),
                          'partner_id', CASE WHEN old.partner_id IS DISTINCT FROM upd.partner_id THEN jsonb_build_array(old.partner_id, upd.partner_id) END,
                          'credit_rule', CASE WHEN old.credit_rule IS DISTINCT FROM upd.credit_rule THEN jsonb_build_array(old.credit_rule, upd.credit_rule) END,
                          'code_type', CASE WHEN old.code_type IS DISTINCT FROM upd.code_type THEN jsonb_build_array(old.code_type, upd.code_type) END,
                          'deal_id', CASE WHEN old.deal_id IS DISTINCT FROM upd.deal_id THEN jsonb_build_array(old.deal_id, upd.deal_id) END,
                          'active_start', CASE WHEN old.active_start IS DISTINCT FROM upd.active_start THEN jsonb_build_array(old.active_start, upd.active_start) END,
                          'active_end', CASE WHEN old.active_end IS DISTINCT FROM upd.active_end THEN jsonb_build_array(old.active_end, upd.active_end) END,
                          'time_zone', CASE WHEN old.time_zone IS DISTINCT FROM upd.time_zone THEN jsonb_build_array(old.time_zone, upd.time_zone) END))
                 FROM upd JOIN old ON old.id = upd.id",
                new_start = new_start(),
                new_end = new_end(),
                unchanged = unchanged(),
            ))
            .bind::<BigInt, _>(brand.0)
            .bind::<BigInt, _>(upload.0)
            .bind::<BigInt, _>(user.0)
            .bind::<Timestamptz, _>(now)
            .execute(conn)? as i64
        };
        // The statement triggers that keep `programs.codes_version` (the
        // version caches of a program's codes follow) do not run under
        // session_replication_role = replica: bump it here, as they would
        // (for every program of the brand: a few rows, where finding the
        // programs of a million staged rows would take a pass over them).
        diesel::sql_query("UPDATE programs SET codes_version = codes_version + 1 WHERE brand_id = $1")
            .bind::<BigInt, _>(brand.0)
            .execute(conn)?;
        diesel::update(uploads::table.filter(uploads::brand_id.eq(brand.0)).filter(uploads::id.eq(upload.0)))
            .set((
                uploads::status.eq("accepted"),
                uploads::accepted_at.eq(now),
                uploads::create_rows.eq(created),
                uploads::update_rows.eq(updated),
            ))
            .execute(conn)?;
        // The staged rows go after the commit (`purge_staged`): deleting a
        // million rows here would hold the transaction for seconds more.
        Ok(Ok(AcceptOutcome::Accepted {
            created,
            updated,
            unchanged: staged - created - updated,
        }))
    });
    match res {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(message)) => {
            fail(conn, brand, upload, &message)?;
            Err(StoreError::Conflict(message))
        }
        Err(StoreError::Db(e)) => {
            let message = match violated_constraint(&e) {
                Some((_, name)) if name == "promo_codes_no_overlap" => {
                    "Nothing was created: a code with the same value was created elsewhere since the review, \
                     and now overlaps a row of this file. Upload the file again to see which row."
                        .to_string()
                }
                Some((diesel::result::DatabaseErrorKind::ForeignKeyViolation, _)) => gone_parent(None),
                Some((_, name)) => format!("Nothing was created: the database refused a row ({name})."),
                None => return Err(StoreError::Db(e)),
            };
            fail(conn, brand, upload, &message)?;
            Err(StoreError::Conflict(message))
        }
        Err(e) => Err(e),
    }
}

/// Why an accept created nothing when a row's program, partner or deal is
/// gone (the row is known when the set-based check found it).
fn gone_parent(row: Option<i64>) -> String {
    let which = row.map_or_else(|| "a row".to_string(), |r| format!("row {r}"));
    format!(
        "Nothing was created: {which} names a program, partner or deal that no longer exists. \
         Upload the file again to see the row's error."
    )
}

/// Whether this transaction may check foreign keys for the whole set and
/// skip the per-row triggers: that takes a superuser (the private cluster's
/// `postgres`). Otherwise the triggers check each row, slower but the same.
fn set_based_parent_checks(conn: &mut PgConnection) -> StoreResult<bool> {
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        value: String,
    }
    let su: Setting =
        diesel::sql_query("SELECT current_setting('is_superuser') AS value").get_result(conn)?;
    if su.value != "on" {
        return Ok(false);
    }
    diesel::sql_query("SET LOCAL session_replication_role = replica").execute(conn)?;
    Ok(true)
}

/// What the foreign keys of the staged rows would check, for the whole set:
/// the brand's programs, partners and deals are locked against deletion and
/// key changes (FOR KEY SHARE, as the triggers lock them) until the commit,
/// then the first row (if any) whose program, partner or deal is not among
/// them is returned.
fn orphan_row(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
) -> StoreResult<Option<i64>> {
    for table in ["programs", "partners", "deals"] {
        diesel::sql_query(format!(
            "SELECT 1 FROM {table} WHERE brand_id = $1 FOR KEY SHARE"
        ))
        .bind::<BigInt, _>(brand.0)
        .execute(conn)?;
    }
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        row_number: Option<i64>,
    }
    // Hash joins against the brand's (few) parents: one pass over the rows.
    let row: Row = diesel::sql_query(
        "SELECT min(r.row_number) AS row_number FROM upload_rows r
         LEFT JOIN programs p ON p.brand_id = r.brand_id AND p.id = r.program_id
         LEFT JOIN partners pa ON pa.brand_id = r.brand_id AND pa.id = r.partner_id
         LEFT JOIN deals d ON d.brand_id = r.brand_id AND d.id = r.deal_id
         WHERE r.brand_id = $1 AND r.upload_id = $2
           AND (p.id IS NULL OR (r.partner_id IS NOT NULL AND pa.id IS NULL) OR (r.deal_id IS NOT NULL AND d.id IS NULL))",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(upload.0)
    .get_result(conn)?;
    Ok(row.row_number)
}

/// Drops the staged rows of an upload that is no longer under review (after
/// an accept, in the background). Returns how many went.
pub fn purge_staged(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
) -> StoreResult<usize> {
    Ok(diesel::sql_query(
        "DELETE FROM upload_rows r USING uploads u
         WHERE r.brand_id = $1 AND r.upload_id = $2 AND u.brand_id = r.brand_id AND u.id = r.upload_id
           AND u.status <> 'reviewing'",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(upload.0)
    .execute(conn)?)
}

/// Drops the staged rows of every upload that is no longer under review, in
/// every brand: a maintenance step at server start, for rows whose
/// [`purge_staged`] did not run (the server stopped right after an accept).
pub fn purge_ended_staged(conn: &mut PgConnection) -> StoreResult<usize> {
    Ok(diesel::sql_query(
        "DELETE FROM upload_rows r USING uploads u
         WHERE u.brand_id = r.brand_id AND u.id = r.upload_id AND u.status <> 'reviewing'",
    )
    .execute(conn)?)
}

/// Marks an upload failed with a reason and drops its staged rows.
pub fn fail(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
    message: &str,
) -> StoreResult<()> {
    diesel::update(
        uploads::table
            .filter(uploads::brand_id.eq(brand.0))
            .filter(uploads::id.eq(upload.0)),
    )
    .set((uploads::status.eq("failed"), uploads::failure.eq(message)))
    .execute(conn)?;
    diesel::delete(
        upload_rows::table
            .filter(upload_rows::brand_id.eq(brand.0))
            .filter(upload_rows::upload_id.eq(upload.0)),
    )
    .execute(conn)?;
    Ok(())
}

/// Reviews left for more than a day are discarded (their staged rows go).
pub fn discard_stale(
    conn: &mut PgConnection,
    brand: BrandId,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let n = diesel::sql_query(
        "WITH gone AS (UPDATE uploads SET status = 'discarded'
                       WHERE brand_id = $1 AND status = 'reviewing' AND created_at < $2 - interval '24 hours'
                       RETURNING brand_id, id)
         DELETE FROM upload_rows r USING gone WHERE r.brand_id = gone.brand_id AND r.upload_id = gone.id",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<Timestamptz, _>(now)
    .execute(conn)?;
    Ok(n)
}
