//! Partners: list, create, edit.

use super::error::AppError;
use super::layout::Layout;
use super::session::CurrentUser;
use super::{db, page, see_other, AppState};
use crate::domain::forms::FieldErrors;
use crate::domain::partner::PartnerForm;
use crate::domain::{PartnerId, Role};
use crate::store::partners::{self, Partner};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "partners/list.html")]
struct ListPage {
    layout: Layout,
    partners: Vec<Partner>,
}

#[derive(Template)]
#[template(path = "partners/form.html")]
struct FormPage {
    layout: Layout,
    /// `None` when creating.
    partner_id: Option<i64>,
    form: PartnerForm,
    errors: FieldErrors,
}

impl FormPage {
    fn selected(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "status" => &self.form.status,
            _ => &self.form.credit_group,
        };
        current.eq_ignore_ascii_case(value)
    }
}

fn form_of(p: &Partner) -> PartnerForm {
    PartnerForm {
        media_id: p.media_id.to_string(),
        name: p.name.clone(),
        status: p.status.clone(),
        credit_group: p.credit_group.clone(),
        payout_percent: p
            .payout_percent
            .map(|d| d.normalize().to_string())
            .unwrap_or_default(),
        payout_flat: p
            .payout_flat
            .map(|d| d.normalize().to_string())
            .unwrap_or_default(),
        email: p.email.clone().unwrap_or_default(),
    }
}

#[get("/partners")]
async fn list(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let partners = db(&state, move |c| partners::list(c, brand)).await?;
    Ok(page(
        StatusCode::OK,
        &ListPage {
            layout: user.layout("partners", "Partners"),
            partners,
        },
    ))
}

#[get("/partners/new")]
async fn new(user: CurrentUser) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let form = PartnerForm {
        status: "active".into(),
        credit_group: "PREFERRED".into(),
        ..Default::default()
    };
    let tpl = FormPage {
        layout: user.layout("partners", "New partner"),
        partner_id: None,
        form,
        errors: FieldErrors::new(),
    };
    Ok(page(StatusCode::OK, &tpl))
}

/// Re-renders the form with messages; a store conflict lands on `media_id`.
fn invalid(
    user: &CurrentUser,
    partner_id: Option<i64>,
    form: PartnerForm,
    errors: FieldErrors,
) -> HttpResponse {
    let title = if partner_id.is_some() {
        "Edit partner"
    } else {
        "New partner"
    };
    let tpl = FormPage {
        layout: user.layout("partners", title),
        partner_id,
        form,
        errors,
    };
    page(StatusCode::UNPROCESSABLE_ENTITY, &tpl)
}

#[post("/partners")]
async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<PartnerForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let form = form.into_inner();
    let parsed = match form.parse() {
        Ok(p) => p,
        Err(errors) => return Ok(invalid(&user, None, form, errors)),
    };
    let brand = user.brand();
    match db(&state, move |c| partners::create(c, brand, &parsed)).await {
        Ok(p) => {
            user.flash(
                "success",
                format!("Partner {} (Media Id {}) created.", p.name, p.media_id),
            );
            Ok(see_other(&format!("/partners/{}", p.id)))
        }
        Err(AppError::Conflict(m)) => {
            let mut errors = FieldErrors::new();
            errors.add("media_id", m);
            Ok(invalid(&user, None, form, errors))
        }
        Err(e) => Err(e),
    }
}

#[get("/partners/{id}")]
async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (brand, id) = (user.brand(), PartnerId(id.into_inner()));
    let p = db(&state, move |c| partners::get(c, brand, id)).await?;
    let tpl = FormPage {
        layout: user.layout("partners", p.name.clone()),
        partner_id: Some(p.id),
        form: form_of(&p),
        errors: FieldErrors::new(),
    };
    Ok(page(StatusCode::OK, &tpl))
}

#[post("/partners/{id}")]
async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<PartnerForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, id) = (user.brand(), PartnerId(id.into_inner()));
    // 404 before validation, so another brand's id is never confirmed.
    db(&state, move |c| partners::get(c, brand, id)).await?;
    let form = form.into_inner();
    let parsed = match form.parse() {
        Ok(p) => p,
        Err(errors) => return Ok(invalid(&user, Some(id.0), form, errors)),
    };
    match db(&state, move |c| partners::update(c, brand, id, &parsed)).await {
        Ok(p) => {
            user.flash("success", format!("Partner {} saved.", p.name));
            Ok(see_other(&format!("/partners/{}", p.id)))
        }
        Err(AppError::Conflict(m)) => {
            let mut errors = FieldErrors::new();
            errors.add("media_id", m);
            Ok(invalid(&user, Some(id.0), form, errors))
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(new)
        .service(create)
        .service(show)
        .service(update);
}
