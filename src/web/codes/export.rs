//! The CSV export of a filtered list (streamed) or of a selection.

use crate::domain::code::CodeQueryForm;
use crate::import::header::EXPORT_HEADER;
use crate::store::codes::{self, CodeRow};
use crate::web::csv;
use crate::web::error::AppError;
use crate::web::session::CurrentUser;
use crate::web::AppState;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};

/// The export's line of a code, in the columns of `EXPORT_HEADER`.
pub(super) fn csv_record(r: &CodeRow, now: DateTime<Utc>) -> [String; 18] {
    let tz = r.tz();
    // Whole seconds, in the code's zone with its offset (which tells the
    // two 01:30 of the night the clocks go back apart). The app stores
    // instants to the microsecond (a code made or expired "now"); an
    // upload of this file with "update existing codes" takes a date
    // equal to the code's to the second for the code's own instant
    // (`same_time` in store/uploads/check.rs), so the file reads as people
    // write dates and still changes nothing when uploaded again.
    let date = |t: Option<DateTime<Utc>>| {
        t.map(|t| {
            t.with_timezone(&tz)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
    };
    [
        r.id.to_string(),
        r.code.clone(),
        r.program_id.to_string(),
        r.program_name.clone(),
        r.media_id.map(|m| m.to_string()).unwrap_or_default(),
        r.partner_name.clone().unwrap_or_default(),
        r.code_type.clone(),
        r.credit_rule.clone().unwrap_or_default(),
        r.match_mode.clone(),
        r.deal_id.map(|d| d.to_string()).unwrap_or_default(),
        r.deal_name.clone().unwrap_or_default(),
        r.status(now).as_str().to_string(),
        date(r.active_start),
        date(r.active_end),
        r.time_zone.clone(),
        r.payout_percent
            .map(|d| d.normalize().to_string())
            .unwrap_or_default(),
        r.payout_flat
            .map(|d| d.normalize().to_string())
            .unwrap_or_default(),
        r.comments.clone(),
    ]
}

/// Streams every row of the filter, 5,000 at a time, so memory stays flat.
#[get("/codes.csv")]
pub(super) async fn export(
    state: web::Data<AppState>,
    user: CurrentUser,
    raw: web::Query<CodeQueryForm>,
) -> Result<HttpResponse, AppError> {
    let query = raw.into_inner().parse();
    let brand = user.brand();
    let now = Utc::now();
    let body = csv::stream(state.pool.clone(), move |conn, out| {
        out.lines.header(EXPORT_HEADER);
        if !out.flush() {
            return Ok(());
        }
        let mut after = None;
        loop {
            let rows = codes::export_batch(conn, brand, &query, now, after, 5_000)?;
            if rows.is_empty() {
                return Ok(());
            }
            after = rows.last().map(|r| r.id);
            for r in &rows {
                out.lines.row(csv_record(r, now));
            }
            if !out.flush() {
                return Ok(());
            }
        }
    });
    let name = format!("promo-codes-{}.csv", now.format("%Y%m%d-%H%M"));
    Ok(csv::attachment(&name)
        .insert_header(csv::NO_STORE)
        .streaming(body))
}
