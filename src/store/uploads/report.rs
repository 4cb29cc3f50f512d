//! What a review shows: its first errors, a preview of the valid rows, and
//! the error report (the original rows with an `Error` column).

use super::check::unchanged;
use crate::db::schema::{upload_error_rows, upload_errors};
use crate::domain::{BrandId, UploadId};
use crate::store::codes::ActiveWindow;
use crate::store::StoreResult;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

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
    #[diesel(embed)]
    pub window: ActiveWindow,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub existing_id: Option<i64>,
    /// The row matches an existing code that it would leave as it is.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub unchanged: bool,
}

impl PreviewRow {
    /// The start as the code will show it: in the row's time zone.
    pub fn start_shown(&self) -> Option<String> {
        self.window.start_shown()
    }
    pub fn end_shown(&self) -> Option<String> {
        self.window.end_shown()
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
