//! Settings: programs and their tracking settings, API credentials.

use super::error::AppError;
use super::layout::Layout;
use super::session::CurrentUser;
use super::{db, page, refusal, saved, AppState};
use crate::domain::forms::FieldErrors;
use crate::domain::program::{time_zones, ProgramForm};
use crate::domain::{ProgramId, Role};
use crate::store::accounts;
use crate::store::programs::{self, Program};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "settings/index.html")]
struct IndexPage {
    layout: Layout,
    programs: Vec<Program>,
    account_sid: String,
}

#[derive(Template)]
#[template(path = "settings/program_form.html")]
struct ProgramPage {
    layout: Layout,
    program_id: Option<i64>,
    form: ProgramForm,
    errors: FieldErrors,
    /// The same list as the code form's.
    time_zones: &'static [&'static str],
}

impl ProgramPage {
    fn new(
        layout: Layout,
        program_id: Option<i64>,
        form: ProgramForm,
        errors: FieldErrors,
    ) -> ProgramPage {
        ProgramPage {
            layout,
            program_id,
            form,
            errors,
            time_zones: time_zones(),
        }
    }
    fn zone_selected(&self, zone: &str) -> bool {
        self.form.time_zone.trim() == zone
    }
    /// A value the list does not hold (an older name, or what was typed
    /// before the list) stays shown, and selected.
    fn zone_unlisted(&self) -> bool {
        !self.time_zones.contains(&self.form.time_zone.trim())
    }
    fn tracking_checked(&self) -> bool {
        self.form
            .tracking_enabled
            .as_deref()
            .is_some_and(|v| !v.is_empty() && v != "false")
    }
}

fn form_of(p: &Program) -> ProgramForm {
    ProgramForm {
        name: p.name.clone(),
        time_zone: p.time_zone.clone(),
        currency: p.currency.clone(),
        landing_url: p.landing_url.clone(),
        referral_window_days: p.referral_window_days.to_string(),
        locking_days: p.locking_days.to_string(),
        tracking_enabled: p.tracking_enabled.then(|| "on".to_string()),
    }
}

#[get("/settings")]
async fn index(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let (programs, b) = db(&state, move |c| {
        Ok((programs::list(c, brand)?, accounts::get_brand(c, brand)?))
    })
    .await?;
    let tpl = IndexPage {
        layout: user.layout("settings", "Settings"),
        programs,
        account_sid: b.api_account_sid,
    };
    Ok(page(StatusCode::OK, &tpl))
}

#[get("/settings/programs/new")]
async fn new(user: CurrentUser) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let form = ProgramForm {
        time_zone: "UTC".into(),
        currency: "USD".into(),
        referral_window_days: "30".into(),
        locking_days: "30".into(),
        ..Default::default()
    };
    let tpl = ProgramPage::new(
        user.layout("settings", "New program"),
        None,
        form,
        FieldErrors::new(),
    );
    Ok(page(StatusCode::OK, &tpl))
}

fn invalid(
    user: &CurrentUser,
    program_id: Option<i64>,
    form: ProgramForm,
    errors: FieldErrors,
) -> HttpResponse {
    let title = if program_id.is_some() {
        "Program settings"
    } else {
        "New program"
    };
    let tpl = ProgramPage::new(user.layout("settings", title), program_id, form, errors);
    page(StatusCode::UNPROCESSABLE_ENTITY, &tpl)
}

#[post("/settings/programs")]
async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<ProgramForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let form = form.into_inner();
    let parsed = match form.parse() {
        Ok(p) => p,
        Err(errors) => return Ok(invalid(&user, None, form, errors)),
    };
    let brand = user.brand();
    match db(&state, move |c| programs::create(c, brand, &parsed)).await {
        Ok(p) => Ok(saved(
            &user,
            format!("Program {} created.", p.name),
            &format!("/settings/programs/{}", p.id),
        )),
        Err(e) => Ok(invalid(&user, None, form, refusal(e, "name")?)),
    }
}

#[get("/settings/programs/{id}")]
async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (brand, id) = (user.brand(), ProgramId(id.into_inner()));
    let p = db(&state, move |c| programs::get(c, brand, id)).await?;
    let tpl = ProgramPage::new(
        user.layout("settings", p.name.clone()),
        Some(p.id),
        form_of(&p),
        FieldErrors::new(),
    );
    Ok(page(StatusCode::OK, &tpl))
}

#[post("/settings/programs/{id}")]
async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<ProgramForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let (brand, id) = (user.brand(), ProgramId(id.into_inner()));
    db(&state, move |c| programs::get(c, brand, id)).await?;
    let form = form.into_inner();
    let parsed = match form.parse() {
        Ok(p) => p,
        Err(errors) => return Ok(invalid(&user, Some(id.0), form, errors)),
    };
    match db(&state, move |c| programs::update(c, brand, id, &parsed)).await {
        Ok(p) => Ok(saved(
            &user,
            format!("Settings of {} saved.", p.name),
            &format!("/settings/programs/{}", p.id),
        )),
        Err(e) => Ok(invalid(&user, Some(id.0), form, refusal(e, "name")?)),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(index)
        .service(new)
        .service(create)
        .service(show)
        .service(update);
}
