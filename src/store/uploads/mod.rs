//! Bulk uploads, one module per step: the upload itself (here), staging the
//! rows of a file under review with COPY (`stage`), finding duplicates and
//! conflicts with set-based SQL (`check`), the review's errors and preview
//! (`report`), and accepting all valid rows in one transaction (`accept`).

mod accept;
mod check;
mod report;
mod stage;

pub use self::accept::{accept, AcceptOutcome};
pub use self::check::{check, EndColumn};
pub use self::report::{
    error_report_batch, error_report_width, first_errors, preview, ErrorLine, PreviewRow,
};
pub use self::stage::{stage, CopyError, StageCounts};

use crate::db::schema::{deals, partners, programs, upload_rows, uploads};
use crate::domain::{BrandId, UploadId, UserId};
use crate::import::rows::{Lookups, RowError, ValidRow};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};

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
