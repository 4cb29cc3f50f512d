//! Deals: list, create, edit.

use super::error::AppError;
use super::layout::Layout;
use super::session::CurrentUser;
use super::{db, page, refusal, saved, AppState};
use crate::domain::deal::{DealForm, DealKind};
use crate::domain::forms::FieldErrors;
use crate::domain::{BrandId, DealId, Role};
use crate::store::deals::{self, Deal};
use crate::store::programs;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use std::collections::HashMap;

/// A deal as the list shows it.
struct DealRow {
    id: i64,
    name: String,
    program: String,
    label: String,
}

#[derive(Template)]
#[template(path = "deals/list.html")]
struct ListPage {
    layout: Layout,
    deals: Vec<DealRow>,
}

/// A choice in the program select.
struct ProgramOption {
    id: i64,
    name: String,
}

#[derive(Template)]
#[template(path = "deals/form.html")]
struct FormPage {
    layout: Layout,
    /// `None` when creating.
    deal_id: Option<i64>,
    form: DealForm,
    errors: FieldErrors,
    programs: Vec<ProgramOption>,
}

impl FormPage {
    fn program_selected(&self, id: &i64) -> bool {
        self.form.program_id.trim() == id.to_string()
    }

    fn kind_known(&self) -> bool {
        DealKind::parse(&self.form.kind).is_some()
    }

    fn kind_selected(&self, kind: &str) -> bool {
        DealKind::parse(&self.form.kind).is_some_and(|k| k.as_str() == kind)
    }

    fn kinds(&self) -> [DealKind; 6] {
        DealKind::ALL
    }
}

fn form_of(d: &Deal) -> DealForm {
    DealForm {
        program_id: d.program_id.to_string(),
        name: d.name.clone(),
        kind: d.kind.clone(),
        value: d
            .value
            .map(|v| match DealKind::parse(&d.kind) {
                Some(DealKind::AmountOff) => format!("{v:.2}"),
                _ => v.normalize().to_string(),
            })
            .unwrap_or_default(),
        currency: d.currency.clone().unwrap_or_default(),
    }
}

async fn program_options(state: &AppState, brand: BrandId) -> Result<Vec<ProgramOption>, AppError> {
    let all = db(state, move |c| programs::list(c, brand)).await?;
    Ok(all
        .into_iter()
        .map(|p| ProgramOption {
            id: p.id,
            name: p.name,
        })
        .collect())
}

#[get("/deals")]
async fn list(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let (deals, programs) = db(&state, move |c| {
        Ok((deals::list(c, brand)?, programs::list(c, brand)?))
    })
    .await?;
    let names: HashMap<i64, String> = programs.into_iter().map(|p| (p.id, p.name)).collect();
    let deals = deals
        .into_iter()
        .map(|d| DealRow {
            program: names
                .get(&d.program_id)
                .cloned()
                .unwrap_or_else(|| format!("Program {}", d.program_id)),
            label: d.label(),
            id: d.id,
            name: d.name,
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        &ListPage {
            layout: user.layout("deals", "Deals"),
            deals,
        },
    ))
}

#[get("/deals/new")]
async fn new(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let programs = program_options(&state, user.brand()).await?;
    // One program: nothing to choose.
    let program_id = match programs.as_slice() {
        [only] => only.id.to_string(),
        _ => String::new(),
    };
    let form = DealForm {
        program_id,
        kind: DealKind::PercentOff.as_str().into(),
        ..Default::default()
    };
    let tpl = FormPage {
        layout: user.layout("deals", "New deal"),
        deal_id: None,
        form,
        errors: FieldErrors::new(),
        programs,
    };
    Ok(page(StatusCode::OK, &tpl))
}

/// Re-renders the form with messages (422).
async fn invalid(
    state: &AppState,
    user: &CurrentUser,
    deal_id: Option<i64>,
    form: DealForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let title = if deal_id.is_some() {
        "Edit deal"
    } else {
        "New deal"
    };
    let tpl = FormPage {
        layout: user.layout("deals", title),
        deal_id,
        form,
        errors,
        programs: program_options(state, user.brand()).await?,
    };
    Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &tpl))
}

#[post("/deals")]
async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<DealForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let form = form.into_inner();
    let parsed = match form.parse() {
        Ok(d) => d,
        Err(errors) => return invalid(&state, &user, None, form, errors).await,
    };
    let brand = user.brand();
    match db(&state, move |c| deals::create(c, brand, &parsed)).await {
        Ok(d) => Ok(saved(
            &user,
            format!("Deal {} ({}) created.", d.name, d.label()),
            &format!("/deals/{}", d.id),
        )),
        Err(e) => invalid(&state, &user, None, form, refusal(e, "name")?).await,
    }
}

#[get("/deals/{id}")]
async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (brand, id) = (user.brand(), DealId(id.into_inner()));
    let d = db(&state, move |c| deals::get(c, brand, id)).await?;
    let tpl = FormPage {
        layout: user.layout("deals", d.name.clone()),
        deal_id: Some(d.id),
        form: form_of(&d),
        errors: FieldErrors::new(),
        programs: program_options(&state, brand).await?,
    };
    Ok(page(StatusCode::OK, &tpl))
}

#[post("/deals/{id}")]
async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<DealForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, id) = (user.brand(), DealId(id.into_inner()));
    // 404 before validation, so another brand's id is never confirmed.
    db(&state, move |c| deals::get(c, brand, id)).await?;
    let form = form.into_inner();
    let parsed = match form.parse() {
        Ok(d) => d,
        Err(errors) => return invalid(&state, &user, Some(id.0), form, errors).await,
    };
    match db(&state, move |c| deals::update(c, brand, id, &parsed)).await {
        Ok(d) => Ok(saved(
            &user,
            format!("Deal {} saved.", d.name),
            &format!("/deals/{}", d.id),
        )),
        Err(e) => invalid(&state, &user, Some(id.0), form, refusal(e, "name")?).await,
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(new)
        .service(create)
        .service(show)
        .service(update);
}
