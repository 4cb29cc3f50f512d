//! Creating and editing a code: the form, its checks against the brand's
//! programs, partners and deals, and the conflicts of a regex code.

use super::{choices, Choices};
use crate::domain::code::{format_input, CodeForm, MatchMode, NewCode};
use crate::domain::conflicts;
use crate::domain::forms::FieldErrors;
use crate::domain::matcher;
use crate::domain::{CodeId, ProgramId, Role};
use crate::store::codes::{self, CodeRow};
use crate::store::programs::Program;
use crate::web::error::AppError;
use crate::web::layout::Layout;
use crate::web::session::CurrentUser;
use crate::web::{db, page, refusal, saved, AppState};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use chrono::Utc;
use chrono_tz::Tz;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "codes/form.html")]
struct FormPage {
    layout: Layout,
    code_id: Option<i64>,
    form: CodeForm,
    errors: FieldErrors,
    choices: Arc<Choices>,
    conflicts: Vec<String>,
    value_locked: bool,
    time_zones: Vec<&'static str>,
}

impl FormPage {
    fn is(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "program_id" => &self.form.program_id,
            "code_type" => &self.form.code_type,
            "partner_id" => &self.form.partner_id,
            "credit_rule" => &self.form.credit_rule,
            "match_mode" => &self.form.match_mode,
            "deal_id" => &self.form.deal_id,
            "timezone" => &self.form.timezone,
            _ => return false,
        };
        current.trim().eq_ignore_ascii_case(value)
    }
    fn program_name(&self, id: &i64) -> String {
        self.choices
            .programs
            .iter()
            .find(|p| p.id == *id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }
}

fn time_zones() -> Vec<&'static str> {
    crate::domain::program::time_zones().to_vec()
}

fn form_page(
    user: &CurrentUser,
    code_id: Option<i64>,
    form: CodeForm,
    errors: FieldErrors,
    choices: Arc<Choices>,
) -> FormPage {
    let title = if code_id.is_some() {
        "Edit promo code"
    } else {
        "New promo code"
    };
    FormPage {
        layout: user.layout("codes", title),
        code_id,
        form,
        errors,
        choices,
        conflicts: Vec::new(),
        value_locked: false,
        time_zones: time_zones(),
    }
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    program: String,
}

#[get("/codes/new")]
pub(super) async fn new(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let choices = choices(&state, &user).await?;
    // The program asked for, else the first one that tracks codes (a new
    // code is rarely for a program with tracking off), else the first.
    let program = q
        .program
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| choices.programs.iter().any(|p| p.id == *id))
        .or(choices
            .programs
            .iter()
            .find(|p| p.tracking_enabled)
            .or(choices.programs.first())
            .map(|p| p.id));
    let zone = program.and_then(|id| program_zone(&choices.programs, id));
    let mut form = CodeForm {
        program_id: program.map(|p| p.to_string()).unwrap_or_default(),
        code: q.code.trim().chars().take(500).collect(),
        code_type: "TRACKING".into(),
        credit_rule: "ALWAYS".into(),
        match_mode: "LI".into(),
        timezone: zone.map(|z| z.name()).unwrap_or("UTC").into(),
        ..Default::default()
    };
    form.follow_program_zone(zone);
    Ok(page(
        StatusCode::OK,
        &form_page(&user, None, form, FieldErrors::new(), choices),
    ))
}

/// The form posted, plus the "save despite the conflicts" confirmation.
#[derive(Deserialize)]
struct PostedCode {
    #[serde(flatten)]
    form: CodeForm,
    #[serde(default)]
    confirm_conflicts: String,
}

/// A program's time zone (UTC if its stored name no longer parses).
fn program_zone(programs: &[Program], id: i64) -> Option<Tz> {
    programs
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.time_zone.parse().unwrap_or(chrono_tz::UTC))
}

fn program_tz(programs: &[Program]) -> impl Fn(ProgramId) -> Option<Tz> + '_ {
    move |id| program_zone(programs, id.0)
}

/// The posted form with its time zone settled: left at its default, it is
/// the zone of the program posted (so a program changed without the page's
/// script brings its zone), which the form shows again after an error.
fn settle_zone(form: &mut CodeForm, choices: &Choices) {
    let zone = form
        .program_id
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| program_zone(&choices.programs, id));
    form.follow_program_zone(zone);
}

/// Checks that the chosen partner and deal exist in the brand and that the
/// deal is of the code's program.
fn check_refs(c: &NewCode, choices: &Choices, errors: &mut FieldErrors) {
    if let Some(p) = c.partner_id {
        if !choices.partners.iter().any(|x| x.id == p.0) {
            errors.add("partner_id", "No such partner.");
        }
    }
    if let Some(d) = c.deal_id {
        match choices.deals.iter().find(|x| x.id == d.0) {
            None => errors.add("deal_id", "No such deal."),
            Some(deal) if deal.program_id != c.program_id.0 => {
                errors.add("deal_id", "This deal belongs to another program.")
            }
            _ => {}
        }
    }
}

/// Codes of other partners that a regex code would compete with (read and
/// checked off the async workers: up to 200,000 candidates).
async fn regex_conflicts(
    state: &AppState,
    user: &CurrentUser,
    c: &NewCode,
    except: Option<CodeId>,
) -> Result<Vec<String>, AppError> {
    if c.match_mode != MatchMode::Regex || matcher::compile_code_regex(&c.code).is_err() {
        return Ok(Vec::new());
    }
    let (brand, program, partner) = (user.brand(), c.program_id, c.partner_id.map(|p| p.0));
    let pattern = c.code.clone();
    db(state, move |conn| {
        let prefix = conflicts::literal_prefix(&pattern);
        let limit = conflicts::MAX_CANDIDATES;
        let candidates =
            codes::conflict_candidates(conn, brand, program, partner, &prefix, except, limit)?;
        Ok(conflicts::regex_conflicts(&pattern, &candidates).messages())
    })
    .await
}

/// Validates a posted code: field errors, references, and (for regex codes)
/// conflicts that need confirmation. `Ok(None)` means the page was answered.
async fn validate(
    state: &AppState,
    user: &CurrentUser,
    code_id: Option<i64>,
    posted: PostedCode,
) -> Result<Result<NewCode, HttpResponse>, AppError> {
    let choices = choices(state, user).await?;
    let parsed = posted.form.parse(program_tz(&choices.programs));
    let mut errors = match &parsed {
        Ok(_) => FieldErrors::new(),
        Err(e) => e.clone(),
    };
    if let Ok(c) = &parsed {
        check_refs(c, &choices, &mut errors);
    }
    let c = match parsed {
        Ok(c) if errors.is_empty() => c,
        _ => {
            return Ok(Err(invalid(user, code_id, posted.form, errors, choices)));
        }
    };
    if posted.confirm_conflicts != "yes" {
        let conflicts = regex_conflicts(state, user, &c, code_id.map(CodeId)).await?;
        if !conflicts.is_empty() {
            let mut tpl = form_page(user, code_id, posted.form, FieldErrors::new(), choices);
            tpl.conflicts = conflicts;
            return Ok(Err(page(StatusCode::CONFLICT, &tpl)));
        }
    }
    Ok(Ok(c))
}

/// The form again with its errors (422).
fn invalid(
    user: &CurrentUser,
    code_id: Option<i64>,
    form: CodeForm,
    errors: FieldErrors,
    choices: Arc<Choices>,
) -> HttpResponse {
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &form_page(user, code_id, form, errors, choices),
    )
}

#[post("/codes")]
pub(super) async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    posted: web::Form<PostedCode>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let mut posted = posted.into_inner();
    settle_zone(&mut posted.form, &*choices(&state, &user).await?);
    let form = posted.form.clone();
    let c = match validate(&state, &user, None, posted).await? {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let c = match c.starting_now(Utc::now()) {
        Ok(c) => c,
        Err(errors) => {
            return Ok(invalid(
                &user,
                None,
                form,
                errors,
                choices(&state, &user).await?,
            ))
        }
    };
    let (brand, uid) = (user.brand(), user.id());
    let value = c.code.clone();
    match db(&state, move |conn| codes::create(conn, brand, uid, &c)).await {
        Ok(id) => Ok(saved(
            &user,
            format!("Promo code {value} created."),
            &format!("/codes/{id}"),
        )),
        // Overlaps and unknown references beside their field.
        Err(e) => {
            let errors = refusal(e, "code")?;
            Ok(invalid(
                &user,
                None,
                form,
                errors,
                choices(&state, &user).await?,
            ))
        }
    }
}

fn form_of(r: &CodeRow, choices: &Choices) -> CodeForm {
    let tz = r.tz();
    CodeForm {
        program_id: r.program_id.to_string(),
        code: r.code.clone(),
        code_type: r.code_type.clone(),
        partner_id: r.partner_id.map(|p| p.to_string()).unwrap_or_default(),
        credit_rule: r.credit_rule.clone().unwrap_or_default(),
        match_mode: r.match_mode.clone(),
        deal_id: r.deal_id.map(|d| d.to_string()).unwrap_or_default(),
        active_start: format_input(r.active_start, tz),
        active_end: format_input(r.active_end, tz),
        timezone: r.time_zone.clone(),
        // The program's zone, which the field follows when the program
        // changes, unless the code has a zone of its own.
        timezone_default: program_zone(&choices.programs, r.program_id)
            .map(|z| z.name().to_string())
            .unwrap_or_default(),
        payout_percent: r
            .payout_percent
            .map(|d| d.normalize().to_string())
            .unwrap_or_default(),
        payout_flat: r
            .payout_flat
            .map(|d| d.normalize().to_string())
            .unwrap_or_default(),
        comments: r.comments.clone(),
    }
}

#[get("/codes/{id}/edit")]
pub(super) async fn edit(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, id) = (user.brand(), CodeId(id.into_inner()));
    let (row, locked) = db(&state, move |c| {
        Ok((
            codes::get(c, brand, id)?,
            codes::has_credited(c, brand, id)?,
        ))
    })
    .await?;
    let choices = choices(&state, &user).await?;
    let form = form_of(&row, &choices);
    let mut tpl = form_page(&user, Some(id.0), form, FieldErrors::new(), choices);
    tpl.value_locked = locked;
    Ok(page(StatusCode::OK, &tpl))
}

#[post("/codes/{id}")]
pub(super) async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    posted: web::Form<PostedCode>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, uid, id) = (user.brand(), user.id(), CodeId(id.into_inner()));
    let before = db(&state, move |c| codes::get(c, brand, id)).await?;
    let mut posted = posted.into_inner();
    settle_zone(&mut posted.form, &*choices(&state, &user).await?);
    let form = posted.form.clone();
    let c = match validate(&state, &user, Some(id.0), posted).await? {
        Ok(c) => c.keeping_dates_of(before.active_start, before.active_end),
        Err(res) => return Ok(res),
    };
    match db(&state, move |conn| codes::update(conn, brand, uid, id, &c)).await {
        Ok(()) => Ok(saved(&user, "Promo code saved.", &format!("/codes/{id}"))),
        // Overlaps and locked values beside their field.
        Err(e) => {
            let errors = refusal(e, "code")?;
            Ok(invalid(
                &user,
                Some(id.0),
                form,
                errors,
                choices(&state, &user).await?,
            ))
        }
    }
}
