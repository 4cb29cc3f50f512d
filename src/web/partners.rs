//! Partners: list, create, edit; a partner's page lists its codes.

use super::codes::{display_window, filter_is, shown_range, total_label};
use super::error::AppError;
use super::layout::Layout;
use super::session::CurrentUser;
use super::{db, page, refusal, saved, AppState};
use crate::domain::code::{
    CodeQuery, CodeQueryForm, CodeStatus, CodeType, CreditRule, MatchMode, PAGE_SIZE,
};
use crate::domain::forms::FieldErrors;
use crate::domain::partner::PartnerForm;
use crate::domain::{PartnerId, Role};
use crate::store::codes::{self, CodePage, CodeRow, Total};
use crate::store::deals::{self, Deal};
use crate::store::partners::{self, Partner};
use crate::store::programs::{self, Program};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};

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
    /// The partner's codes, on its own page.
    codes: Option<PartnerCodes>,
}

/// A partner's codes with the code list's filters (the partner fixed).
struct PartnerCodes {
    partner_id: i64,
    rows: Vec<CodeLine>,
    total: Total,
    query: CodeQuery,
    raw: CodeQueryForm,
    programs: Vec<Program>,
    deals: Vec<Deal>,
    /// The code list with the same filters (bulk actions, export).
    list_link: String,
    previous: Option<String>,
    next: Option<String>,
}

struct CodeLine {
    id: i64,
    code: String,
    status: CodeStatus,
    code_type: &'static str,
    match_mode: &'static str,
    credit_rule: &'static str,
    program: String,
    deal: Option<String>,
    start: String,
    end: String,
}

impl PartnerCodes {
    fn new(
        partner_id: i64,
        query: CodeQuery,
        raw: CodeQueryForm,
        found: CodePage,
        (programs, deals): (Vec<Program>, Vec<Deal>),
        now: DateTime<Utc>,
    ) -> PartnerCodes {
        // The page's links keep the filters but not the partner (it is in
        // the path).
        let here = CodeQuery {
            partner: None,
            ..query.clone()
        };
        let link = |page: u32| {
            let q = here.to_query(page, None);
            let sep = if q.is_empty() { "" } else { "?" };
            format!("/partners/{partner_id}{sep}{q}#codes")
        };
        let pages = (found.total.value() + PAGE_SIZE - 1) / PAGE_SIZE;
        PartnerCodes {
            partner_id,
            rows: code_lines(found.rows, &programs, &deals, now),
            total: found.total,
            list_link: format!("/codes?{}", query.to_query(1, None)),
            previous: (query.page > 1).then(|| link(query.page - 1)),
            next: (i64::from(query.page) < pages).then(|| link(query.page + 1)),
            query,
            raw,
            programs,
            deals,
        }
    }
    fn is(&self, field: &str, value: &str) -> bool {
        filter_is(&self.raw, field, value)
    }
    fn is_filtered(&self) -> bool {
        CodeQuery {
            partner: None,
            ..self.query.clone()
        }
        .is_filtered()
    }
    fn total_label(&self) -> String {
        total_label(self.total)
    }
    fn first_shown(&self) -> i64 {
        shown_range(self.query.page, self.rows.len()).0
    }
    fn last_shown(&self) -> i64 {
        shown_range(self.query.page, self.rows.len()).1
    }
}

fn code_lines(
    rows: Vec<CodeRow>,
    programs: &[Program],
    deals: &[Deal],
    now: DateTime<Utc>,
) -> Vec<CodeLine> {
    let label = |parsed: Option<&'static str>| parsed.unwrap_or("—");
    rows.into_iter()
        .map(|r| {
            let (start, end) = display_window(&r);
            CodeLine {
                id: r.id,
                status: r.status(now),
                code_type: label(CodeType::parse(&r.code_type).map(|t| t.label())),
                match_mode: label(MatchMode::parse(&r.match_mode).map(|m| m.label())),
                credit_rule: label(
                    r.credit_rule
                        .as_deref()
                        .and_then(CreditRule::parse)
                        .map(|c| c.label()),
                ),
                program: programs
                    .iter()
                    .find(|p| p.id == r.program_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                deal: r
                    .deal_id
                    .and_then(|d| deals.iter().find(|x| x.id == d))
                    .map(|d| d.name.clone()),
                start,
                end,
                code: r.code,
            }
        })
        .collect()
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
        codes: None,
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
        codes: None,
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
        Ok(p) => Ok(saved(
            &user,
            format!("Partner {} (Media Id {}) created.", p.name, p.media_id),
            &format!("/partners/{}", p.id),
        )),
        Err(e) => Ok(invalid(&user, None, form, refusal(e, "media_id")?)),
    }
}

/// The partner (its form) and its codes, filtered like the code list.
#[get("/partners/{id}")]
async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    raw: web::Query<CodeQueryForm>,
) -> Result<HttpResponse, AppError> {
    let (brand, id) = (user.brand(), PartnerId(id.into_inner()));
    let raw = raw.into_inner();
    let query = CodeQuery {
        partner: Some(id),
        ..raw.parse()
    };
    let now = Utc::now();
    let q = query.clone();
    let (p, found, programs, deals) = db(&state, move |c| {
        let p = partners::get(c, brand, id)?;
        let found = codes::list(c, brand, &q, now, None)?;
        Ok((p, found, programs::list(c, brand)?, deals::list(c, brand)?))
    })
    .await?;
    let codes = PartnerCodes::new(p.id, query, raw, found, (programs, deals), now);
    let tpl = FormPage {
        layout: user.layout("partners", p.name.clone()),
        partner_id: Some(p.id),
        form: form_of(&p),
        errors: FieldErrors::new(),
        codes: Some(codes),
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
        Ok(p) => Ok(saved(
            &user,
            format!("Partner {} saved.", p.name),
            &format!("/partners/{}", p.id),
        )),
        Err(e) => Ok(invalid(&user, Some(id.0), form, refusal(e, "media_id")?)),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(new)
        .service(create)
        .service(show)
        .service(update);
}
