//! Expiring (with a confirmation) and reactivating a code.

use super::display_window;
use crate::domain::code::{expiry_end, parse_local, CodeStatus};
use crate::domain::{CodeId, Role};
use crate::store::codes::{self, CodeRow};
use crate::web::error::AppError;
use crate::web::layout::Layout;
use crate::web::session::CurrentUser;
use crate::web::{db, page, see_other, AppState};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

#[derive(Deserialize)]
struct ExpireForm {
    #[serde(default)]
    at: String,
}

#[derive(Deserialize)]
struct ReactivateForm {
    #[serde(default)]
    active_end: String,
}

/// The confirmation of an expiry (the page's dialog without script), and
/// the same form again with the reason when an expiry is refused.
#[derive(Template)]
#[template(path = "codes/expire.html")]
struct ExpirePage {
    layout: Layout,
    code: CodeRow,
    start: String,
    end: String,
    scheduled: bool,
    expire_at: String,
    expire_error: Option<String>,
    in_dialog: bool,
}

fn expire_page(
    user: &CurrentUser,
    code: CodeRow,
    expire_at: String,
    expire_error: Option<String>,
) -> ExpirePage {
    let (start, end) = display_window(&code);
    ExpirePage {
        layout: user.layout("codes", format!("Expire {}", code.code)),
        scheduled: code.status(Utc::now()) == CodeStatus::Scheduled,
        code,
        start,
        end,
        expire_at,
        expire_error,
        in_dialog: false,
    }
}

#[get("/codes/{id}/expire")]
pub(super) async fn expire_confirm(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, id) = (user.brand(), CodeId(id.into_inner()));
    let row = db(&state, move |c| codes::get(c, brand, id)).await?;
    // An expired code cannot be expired again: the page says so first.
    let refusal = expiry_end(
        &row.code,
        row.active_start,
        row.active_end,
        None,
        Utc::now(),
        row.tz(),
    )
    .err();
    Ok(page(
        StatusCode::OK,
        &expire_page(&user, row, String::new(), refusal),
    ))
}

#[post("/codes/{id}/expire")]
pub(super) async fn expire(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<ExpireForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, uid, id) = (user.brand(), user.id(), CodeId(id.into_inner()));
    let row = db(&state, move |c| codes::get(c, brand, id)).await?;
    let typed = form.into_inner().at;
    // A refusal (a bad date, one before the start, an expired code) shows
    // the form again with the reason; nothing changes.
    let refused = |row: CodeRow, m: String| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &expire_page(&user, row, typed.trim().to_string(), Some(m)),
        )
    };
    let at = match parse_local(&typed, row.tz()) {
        Ok(at) => at,
        Err(m) => return Ok(refused(row, m)),
    };
    let now = Utc::now();
    match db(&state, move |c| codes::expire(c, brand, uid, id, at, now)).await {
        Ok(r) => user.flash("success", format!("{} expired.", r.code)),
        Err(AppError::Conflict(m)) => return Ok(refused(row, m)),
        Err(e) => return Err(e),
    }
    Ok(see_other(&format!("/codes/{id}")))
}

#[post("/codes/{id}/reactivate")]
pub(super) async fn reactivate(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<ReactivateForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, uid, id) = (user.brand(), user.id(), CodeId(id.into_inner()));
    let row = db(&state, move |c| codes::get(c, brand, id)).await?;
    let end = match parse_local(&form.active_end, row.tz()) {
        Ok(e) => e,
        Err(m) => {
            user.flash("error", m);
            return Ok(see_other(&format!("/codes/{id}")));
        }
    };
    let now = Utc::now();
    match db(&state, move |c| {
        codes::reactivate(c, brand, uid, id, end, now)
    })
    .await
    {
        Ok(r) => user.flash("success", format!("{} reactivated.", r.code)),
        Err(AppError::Conflict(m)) => user.flash("error", format!("Not reactivated: {m}")),
        Err(e) => return Err(e),
    }
    Ok(see_other(&format!("/codes/{id}")))
}
