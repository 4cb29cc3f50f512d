//! Bulk changes of the codes selected in the list.

use super::export::csv_record;
use crate::domain::code::{parse_local, CodeQueryForm};
use crate::domain::{CodeId, DealId, Role};
use crate::import::header::EXPORT_HEADER;
use crate::store::codes;
use crate::store::StoreError;
use crate::web::csv::{self, CsvWriter};
use crate::web::error::AppError;
use crate::web::layout::Layout;
use crate::web::session::CurrentUser;
use crate::web::{db, page, see_other, AppState};
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use askama::Template;
use chrono::Utc;

#[derive(Template)]
#[template(path = "codes/bulk_result.html")]
struct BulkPage {
    layout: Layout,
    action: String,
    done: Vec<(i64, String)>,
    refused: Vec<(i64, String, String)>,
}

/// The bulk form: `action`, repeated `ids`, and the fields some actions use.
struct BulkForm {
    action: String,
    ids: Vec<i64>,
    at: String,
    active_start: String,
    active_end: String,
    deal_id: String,
    /// The list's query the form was sent from.
    back: String,
}

fn parse_bulk(pairs: Vec<(String, String)>) -> BulkForm {
    let mut f = BulkForm {
        action: String::new(),
        ids: Vec::new(),
        at: String::new(),
        active_start: String::new(),
        active_end: String::new(),
        deal_id: String::new(),
        back: String::new(),
    };
    for (k, v) in pairs {
        match k.as_str() {
            "action" => f.action = v,
            "ids" | "ids[]" => {
                if let Ok(id) = v.trim().parse::<i64>() {
                    if !f.ids.contains(&id) {
                        f.ids.push(id);
                    }
                }
            }
            "at" => f.at = v,
            "active_start" => f.active_start = v,
            "active_end" => f.active_end = v,
            "deal_id" => f.deal_id = v,
            "back" => f.back = v,
            _ => {}
        }
    }
    f
}

const BULK_LIMIT: usize = 5_000;

/// The list a bulk form was sent from: only the list's own parameters of
/// `back`, parsed and written again (never an address of its own).
fn back_to_list(back: &str) -> String {
    let q = serde_urlencoded::from_str::<CodeQueryForm>(back.trim())
        .unwrap_or_default()
        .parse();
    match q.to_query(q.page, None) {
        s if s.is_empty() => "/codes".into(),
        s => format!("/codes?{s}"),
    }
}

#[post("/codes/bulk")]
pub(super) async fn bulk(
    state: web::Data<AppState>,
    user: CurrentUser,
    pairs: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let f = parse_bulk(pairs.into_inner());
    if f.ids.is_empty() {
        user.flash("warning", "Select at least one code first.");
        return Ok(see_other(&back_to_list(&f.back)));
    }
    if f.ids.len() > BULK_LIMIT {
        return Err(AppError::BadRequest(format!(
            "Select at most {BULK_LIMIT} codes at once."
        )));
    }
    let brand = user.brand();
    if f.action == "export" {
        let ids = f.ids.clone();
        let rows = db(&state, move |c| codes::rows_by_ids(c, brand, &ids)).await?;
        let (mut lines, now) = (CsvWriter::default(), Utc::now());
        lines.header(EXPORT_HEADER);
        for r in &rows {
            lines.row(csv_record(r, now));
        }
        return Ok(csv::attachment("promo-codes-selection.csv")
            .insert_header(csv::NO_STORE)
            .body(lines.take()));
    }
    user.require(Role::Manager)?;
    let uid = user.id();
    let now = Utc::now();
    let action = f.action.clone();
    let label = match action.as_str() {
        "expire" => "Expire",
        "reactivate" => "Reactivate",
        "dates" => "Change active dates",
        "deal" => "Apply deal",
        other => {
            return Err(AppError::BadRequest(format!(
                "Unknown bulk action `{other}`: choose expire, reactivate, dates or deal."
            )))
        }
    };
    let deal = if action == "deal" {
        match f.deal_id.trim() {
            "" => None,
            v => Some(DealId(v.parse::<i64>().map_err(|_| {
                AppError::BadRequest("Choose a deal from the list.".into())
            })?)),
        }
    } else {
        None
    };
    // Each code is changed in its own transaction: one refusal (an overlap,
    // an already expired code) does not undo the others, and each outcome
    // is reported.
    let outcome = db(&state, move |conn| {
        let mut done = Vec::new();
        let mut refused = Vec::new();
        for id in f.ids {
            let code = CodeId(id);
            let tz = match codes::get(conn, brand, code) {
                Ok(r) => r.tz(),
                Err(StoreError::NotFound) => {
                    refused.push((id, format!("#{id}"), "No such code.".to_string()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let date = |raw: &str| parse_local(raw, tz).map_err(StoreError::Conflict);
            let res = match action.as_str() {
                "expire" => date(if f.at.trim().is_empty() {
                    &f.active_end
                } else {
                    &f.at
                })
                .and_then(|at| codes::expire(conn, brand, uid, code, at, now)),
                "reactivate" => date(&f.active_end)
                    .and_then(|end| codes::reactivate(conn, brand, uid, code, end, now)),
                "dates" => date(&f.active_start)
                    .and_then(|s| date(&f.active_end).map(|e| (s, e)))
                    .and_then(|(s, e)| codes::set_dates(conn, brand, uid, code, s, e)),
                _ => codes::apply_deal(conn, brand, uid, code, deal),
            };
            match res {
                Ok(r) => done.push((id, r.code)),
                Err(StoreError::Conflict(m)) => {
                    let name = codes::get(conn, brand, code)
                        .map(|r| r.code)
                        .unwrap_or_default();
                    refused.push((id, name, m));
                }
                Err(e) => return Err(e),
            }
        }
        Ok((done, refused))
    })
    .await?;
    let tpl = BulkPage {
        layout: user.layout("codes", label),
        action: label.into(),
        done: outcome.0,
        refused: outcome.1,
    };
    Ok(page(StatusCode::OK, &tpl))
}
