//! Settings: programs and their tracking settings, API credentials.

use super::error::AppError;
use super::layout::Layout;
use super::session::CurrentUser;
use super::{db, page, refusal, saved, see_other, AppState};
use crate::domain::forms::FieldErrors;
use crate::domain::program::{time_zones, ProgramForm};
use crate::domain::token::{TokenForm, TokenId};
use crate::domain::{ProgramId, Role};
use crate::store::accounts;
use crate::store::api_tokens::{self, NewToken, Revoked, TokenRow};
use crate::store::programs::{self, Program};
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "settings/index.html")]
struct IndexPage {
    layout: Layout,
    programs: Vec<Program>,
    account_sid: String,
    tokens: Vec<TokenRow>,
    /// A token just created: its text is on this page only.
    new_token: Option<NewToken>,
    token_form: TokenForm,
    token_errors: FieldErrors,
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

/// The settings page; after a token form, with its outcome.
async fn index_page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    new_token: Option<NewToken>,
    token_form: TokenForm,
    token_errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let (programs, b, tokens) = db(state, move |c| {
        Ok((
            programs::list(c, brand)?,
            accounts::get_brand(c, brand)?,
            api_tokens::list(c, brand)?,
        ))
    })
    .await?;
    let shows_secret = new_token.is_some();
    let tpl = IndexPage {
        layout: user.layout("settings", "Settings"),
        programs,
        account_sid: b.api_account_sid,
        tokens,
        new_token,
        token_form,
        token_errors,
    };
    let mut res = page(status, &tpl);
    if shows_secret {
        // The token is on this page only: no cache keeps it.
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

#[get("/settings")]
async fn index(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    index_page(
        &state,
        &user,
        StatusCode::OK,
        None,
        TokenForm::default(),
        FieldErrors::new(),
    )
    .await
}

/// Creates an API token and shows its text on the page it answers with,
/// once: only its hash is kept (not in the session either).
#[post("/settings/tokens")]
async fn create_token(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let form = form.into_inner();
    let name = match form.parse() {
        Ok(n) => n,
        Err(errors) => {
            return index_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
            )
            .await
        }
    };
    let (brand, by) = (user.brand(), user.id());
    match db(&state, move |c| {
        api_tokens::create(c, brand, Some(by), &name)
    })
    .await
    {
        Ok(t) => {
            tracing::info!(brand = %brand, token_id = %t.id, "API token created");
            index_page(
                &state,
                &user,
                StatusCode::OK,
                Some(t),
                TokenForm::default(),
                FieldErrors::new(),
            )
            .await
        }
        Err(AppError::Invalid { field, message }) => {
            let mut errors = FieldErrors::new();
            errors.add(field, message);
            index_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[post("/settings/tokens/{id}/revoke")]
async fn revoke_token(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let (brand, id) = (user.brand(), TokenId(id.into_inner()));
    let revoked = db(&state, move |c| api_tokens::revoke(c, brand, id)).await?;
    match revoked {
        Revoked::Now(name) => {
            tracing::info!(brand = %brand, token_id = %id, "API token revoked");
            user.flash(
                "success",
                format!("Token {name} revoked: it no longer authenticates."),
            )
        }
        Revoked::Already(name) => user.flash("info", format!("Token {name} was already revoked.")),
    }
    Ok(see_other("/settings#api-tokens"))
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
        .service(create_token)
        .service(revoke_token)
        .service(new)
        .service(create)
        .service(show)
        .service(update);
}
