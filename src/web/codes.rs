//! Promo codes: list (filters, sort, pages, selection), CSV export, create,
//! edit, detail with history, expire, reactivate and bulk changes.

use super::csv::{self, CsvWriter};
use super::error::AppError;
use super::layout::Layout;
use super::session::{verify_claims, CurrentUser, SessionClaims};
use super::{db, page, see_other, AppState};
use crate::cache::VersionedCache;
use crate::domain::code::{
    expiry_end, format_human, format_input, parse_local, CodeForm, CodeQuery, CodeQueryForm,
    CodeSort, CodeStatus, MatchMode, NewCode, PAGE_SIZE,
};
use crate::domain::conflicts;
use crate::domain::forms::FieldErrors;
use crate::domain::matcher;
use crate::domain::{BrandId, CodeId, DealId, ProgramId, Role};
use crate::import::header::EXPORT_HEADER;
use crate::store::codes::{self, CodeRow, HistoryRow, Total};
use crate::store::deals::{self, Deal};
use crate::store::partners::{self, Partner};
use crate::store::programs::{self, Program};
use crate::store::reports::{self, CodeResults};
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// What the filter bar and forms offer.
struct Choices {
    programs: Vec<Program>,
    partners: Vec<Partner>,
    deals: Vec<Deal>,
}

/// The code pages' choices by brand, stamped with `lists_version` (which
/// every change to the brand's programs, partners or deals bumps, on any app
/// server): a list page reads them once per change instead of three queries
/// a view. Cloning shares the same memory.
#[derive(Clone)]
pub struct ChoicesCache(Arc<VersionedCache<BrandId, Choices>>);

impl Default for ChoicesCache {
    fn default() -> Self {
        ChoicesCache(Arc::new(VersionedCache::new(Duration::from_secs(600))))
    }
}

impl ChoicesCache {
    fn get_or_load(
        &self,
        c: &mut diesel::PgConnection,
        brand: BrandId,
        version: i64,
    ) -> Result<Arc<Choices>, StoreError> {
        self.0.get_or_build(brand, version, || {
            Ok(Choices {
                programs: programs::list(c, brand)?,
                partners: partners::list(c, brand)?,
                deals: deals::list(c, brand)?,
            })
        })
    }
}

/// The brand's choices for a form, from the same memory as the list's.
async fn choices(state: &AppState, user: &CurrentUser) -> Result<Arc<Choices>, AppError> {
    let (brand, version) = (user.brand(), user.user.lists_version);
    let cache = state.choices.clone();
    db(state, move |c| cache.get_or_load(c, brand, version)).await
}

// ---------------------------------------------------------------- list

#[derive(Template)]
#[template(path = "codes/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ListRow>,
    total: Total,
    query: CodeQuery,
    raw: CodeQueryForm,
    choices: Arc<Choices>,
    pages: Vec<PageLink>,
    first_shown: i64,
    last_shown: i64,
    export_query: String,
}

struct ListRow {
    row: CodeRow,
    status: CodeStatus,
    start: String,
    end: String,
}

enum PageLink {
    Page {
        number: u32,
        query: String,
        current: bool,
    },
    Gap,
}

impl ListPage {
    fn sort_class(&self, column: &str) -> &'static str {
        match self.query.sort {
            Some(s) if s.as_str() == column => {
                if self.query.desc {
                    "sorted-desc"
                } else {
                    "sorted-asc"
                }
            }
            _ => "",
        }
    }
    fn aria_sort(&self, column: &str) -> &'static str {
        match self.sort_class(column) {
            "sorted-desc" => "descending",
            "sorted-asc" => "ascending",
            _ => "none",
        }
    }
    fn sort_link(&self, column: &str) -> String {
        CodeSort::parse(column)
            .map(|c| self.query.sort_link(c))
            .unwrap_or_default()
    }
    fn is(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "status" => &self.raw.status,
            "partner" => &self.raw.partner,
            "type" => &self.raw.code_type,
            "match_mode" => &self.raw.match_mode,
            "credit_rule" => &self.raw.credit_rule,
            "deal" => &self.raw.deal,
            "program" => &self.raw.program,
            _ => return false,
        };
        current.trim().eq_ignore_ascii_case(value)
    }
    /// The list's query, sent back by the bulk form (see `back_to_list`).
    fn back_query(&self) -> String {
        self.query.to_query(self.query.page, None)
    }
    /// A shown date and time (`2025-01-31 09:00 EST`) as its day and the
    /// rest, for a cell that may break between them.
    fn split_when<'a>(&self, when: &'a str) -> (&'a str, &'a str) {
        when.split_once(' ').unwrap_or((when, ""))
    }
    fn total_label(&self) -> String {
        match self.total {
            Total::Exact(n) => format!("{} code{}", thousands(n), if n == 1 { "" } else { "s" }),
            Total::About(n) => format!("about {} codes (estimated)", thousands(n)),
        }
    }
}

pub fn thousands(n: i64) -> String {
    crate::domain::money::format_amount(rust_decimal::Decimal::from(n), 0)
}

fn page_links(q: &CodeQuery, total: Total) -> Vec<PageLink> {
    let last = ((total.value() + PAGE_SIZE - 1) / PAGE_SIZE).max(1) as u32;
    let current = q.page;
    let mut wanted: Vec<u32> = vec![
        1,
        2,
        current.saturating_sub(2),
        current.saturating_sub(1),
        current,
        current + 1,
        current + 2,
        last - 1,
        last,
    ];
    wanted.retain(|p| *p >= 1 && *p <= last.max(current));
    wanted.sort_unstable();
    wanted.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for p in wanted {
        if p > prev + 1 {
            out.push(PageLink::Gap);
        }
        out.push(PageLink::Page {
            number: p,
            query: q.to_query(p, None),
            current: p == current,
        });
        prev = p;
    }
    out
}

/// Puts the program, partner and deal names on rows read without them.
fn fill_names(rows: &mut [CodeRow], choices: &Choices) {
    let programs: std::collections::HashMap<i64, &str> = choices
        .programs
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    let partners: std::collections::HashMap<i64, &Partner> =
        choices.partners.iter().map(|p| (p.id, p)).collect();
    let deals: std::collections::HashMap<i64, &str> = choices
        .deals
        .iter()
        .map(|d| (d.id, d.name.as_str()))
        .collect();
    for r in rows {
        if r.program_name.is_empty() {
            r.program_name = programs
                .get(&r.program_id)
                .map(|s| s.to_string())
                .unwrap_or_default();
        }
        if let (None, Some(pid)) = (&r.partner_name, r.partner_id) {
            if let Some(p) = partners.get(&pid) {
                r.partner_name = Some(p.name.clone());
                r.media_id = Some(p.media_id);
            }
        }
        if let (None, Some(did)) = (&r.deal_name, r.deal_id) {
            r.deal_name = deals.get(&did).map(|s| s.to_string());
        }
    }
}

fn display_window(row: &CodeRow) -> (String, String) {
    let tz = row.tz();
    (
        row.active_start
            .map(|t| format_human(t, tz))
            .unwrap_or_else(|| "—".into()),
        row.active_end
            .map(|t| format_human(t, tz))
            .unwrap_or_else(|| "never".into()),
    )
}

#[get("/codes")]
async fn list(
    state: web::Data<AppState>,
    claims: SessionClaims,
    raw: web::Query<CodeQueryForm>,
) -> Result<HttpResponse, AppError> {
    let raw = raw.into_inner();
    let query = raw.parse();
    let claim = claims.key();
    let brand = claim.brand();
    let now = Utc::now();
    let q = query.clone();
    let key = (brand, query.to_query(1, Some((CodeSort::Created, false))));
    let known = state.estimates.get(&key);
    // The busiest page: the session is checked on the connection that then
    // reads the page (one trip to the pool, not two), and nothing is read
    // unless the check holds.
    let cache = state.choices.clone();
    let found = db(&state, move |c| {
        let Some(user) = verify_claims(c, claim)? else {
            return Ok(None);
        };
        let page = codes::list(c, brand, &q, now, known)?;
        let choices = cache.get_or_load(c, brand, user.lists_version)?;
        Ok(Some((user, page, choices)))
    })
    .await?;
    let Some((user, mut page_data, choices)) = found else {
        return Err(claims.reject());
    };
    let user = claims.accept(user);
    if let Total::About(n) = page_data.total {
        state.estimates.put(key, n);
    }
    fill_names(&mut page_data.rows, &choices);
    let first_shown = (i64::from(query.page) - 1) * PAGE_SIZE + 1;
    let last_shown = first_shown + page_data.rows.len() as i64 - 1;
    let rows = page_data
        .rows
        .into_iter()
        .map(|row| {
            let (start, end) = display_window(&row);
            ListRow {
                status: row.status(now),
                start,
                end,
                row,
            }
        })
        .collect();
    let tpl = ListPage {
        layout: user.layout("codes", "Promo codes"),
        rows,
        pages: page_links(&query, page_data.total),
        total: page_data.total,
        export_query: query.to_query(1, None),
        query,
        raw,
        choices,
        first_shown,
        last_shown,
    };
    Ok(page(StatusCode::OK, &tpl))
}

// ---------------------------------------------------------------- CSV

/// The export's line of a code, in the columns of `EXPORT_HEADER`.
fn csv_record(r: &CodeRow, now: DateTime<Utc>) -> [String; 18] {
    let tz = r.tz();
    // Whole seconds, in the code's zone with its offset (which tells the
    // two 01:30 of the night the clocks go back apart). The app stores
    // instants to the microsecond (a code made or expired "now"); an
    // upload of this file with "update existing codes" takes a date
    // equal to the code's to the second for the code's own instant
    // (`same_time` in store/uploads.rs), so the file reads as people
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
async fn export(
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

// ---------------------------------------------------------------- form

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
async fn new(
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
            let tpl = form_page(user, code_id, posted.form, errors, choices);
            return Ok(Err(page(StatusCode::UNPROCESSABLE_ENTITY, &tpl)));
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

/// Shows a refusal of the store beside the field it concerns (the code
/// value for overlaps and locked values).
fn conflict_page(
    user: &CurrentUser,
    code_id: Option<i64>,
    form: CodeForm,
    refusal: AppError,
    choices: Arc<Choices>,
) -> HttpResponse {
    let mut errors = FieldErrors::new();
    match refusal {
        AppError::Invalid { field, message } => errors.add(field, message),
        other => errors.add("code", other.to_string()),
    }
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &form_page(user, code_id, form, errors, choices),
    )
}

#[post("/codes")]
async fn create(
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
            let tpl = form_page(&user, None, form, errors, choices(&state, &user).await?);
            return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &tpl));
        }
    };
    let (brand, uid) = (user.brand(), user.id());
    let value = c.code.clone();
    match db(&state, move |conn| codes::create(conn, brand, uid, &c)).await {
        Ok(id) => {
            user.flash("success", format!("Promo code {value} created."));
            Ok(see_other(&format!("/codes/{id}")))
        }
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. })) => Ok(conflict_page(
            &user,
            None,
            form,
            e,
            choices(&state, &user).await?,
        )),
        Err(e) => Err(e),
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
async fn edit(
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
async fn update(
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
        Ok(()) => {
            user.flash("success", "Promo code saved.");
            Ok(see_other(&format!("/codes/{id}")))
        }
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. })) => Ok(conflict_page(
            &user,
            Some(id.0),
            form,
            e,
            choices(&state, &user).await?,
        )),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- detail

#[derive(Template)]
#[template(path = "codes/show.html")]
struct ShowPage {
    layout: Layout,
    code: CodeRow,
    status: CodeStatus,
    start: String,
    end: String,
    created: String,
    history: Vec<HistoryView>,
    results: CodeResults,
    /// The expire form (in a dialog here): its value and refusal.
    scheduled: bool,
    expire_at: String,
    expire_error: Option<String>,
    in_dialog: bool,
}

struct HistoryView {
    when: String,
    who: String,
    action: String,
    changes: Vec<(String, String, String)>,
}

/// The fields a history entry may name, in the form's order, with their
/// labels.
const HISTORY_FIELDS: &[(&str, &str)] = &[
    ("upload", "upload"),
    ("program_id", "program"),
    ("code", "code"),
    ("code_type", "type"),
    ("match_mode", "match mode"),
    ("partner_id", "partner"),
    ("credit_rule", "credit rule"),
    ("deal_id", "deal"),
    ("active_start", "active start"),
    ("active_end", "active end"),
    ("time_zone", "time zone"),
    ("payout_percent", "payout percent"),
    ("payout_flat", "payout flat"),
    ("comments", "comments"),
];

/// How a value of a history entry reads: names for the ids of programs,
/// partners and deals (as they are named now), the reference vocabulary
/// for types and modes, dates in the code's zone.
fn history_value(field: &str, v: &serde_json::Value, tz: Tz, choices: &Choices) -> String {
    use serde_json::Value;
    let id = v.as_i64();
    let named = |name: Option<&str>| match (name, id) {
        (Some(n), _) => n.to_string(),
        (None, Some(i)) => format!("#{i}"),
        (None, None) => v.to_string(),
    };
    match (field, v) {
        (_, Value::Null) => "—".into(),
        (_, Value::String(s)) if s.is_empty() => "—".into(),
        ("program_id", _) => named(
            choices
                .programs
                .iter()
                .find(|p| Some(p.id) == id)
                .map(|p| p.name.as_str()),
        ),
        ("partner_id", _) => named(
            choices
                .partners
                .iter()
                .find(|p| Some(p.id) == id)
                .map(|p| p.name.as_str()),
        ),
        ("deal_id", _) => named(
            choices
                .deals
                .iter()
                .find(|d| Some(d.id) == id)
                .map(|d| d.name.as_str()),
        ),
        ("upload", _) => format!("upload #{v}"),
        ("match_mode", Value::String(s)) => MatchMode::parse(s)
            .map(|m| m.label().to_string())
            .unwrap_or_else(|| s.clone()),
        ("active_start" | "active_end", Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| format_human(t.with_timezone(&Utc), tz))
            .unwrap_or_else(|_| s.clone()),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

fn history_view(h: HistoryRow, tz: Tz, choices: &Choices) -> HistoryView {
    let order = |k: &str| {
        HISTORY_FIELDS
            .iter()
            .position(|(f, _)| *f == k)
            .unwrap_or(HISTORY_FIELDS.len())
    };
    let mut fields: Vec<(&String, &serde_json::Value)> = h
        .changes
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    fields.sort_by_key(|(k, _)| (order(k), k.as_str()));
    let changes = fields
        .into_iter()
        .map(|(k, v)| {
            let label = HISTORY_FIELDS
                .iter()
                .find(|(f, _)| f == k)
                .map(|(_, l)| l.to_string())
                .unwrap_or_else(|| k.replace('_', " "));
            (
                label,
                history_value(k, &v[0], tz, choices),
                history_value(k, &v[1], tz, choices),
            )
        })
        .collect();
    HistoryView {
        when: format_human(h.changed_at, tz),
        who: h.changed_by.unwrap_or_else(|| "system".into()),
        action: h.action.replace('_', " "),
        changes,
    }
}

#[get("/codes/{id}")]
async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (brand, id) = (user.brand(), CodeId(id.into_inner()));
    let (code, history, results) = db(&state, move |c| {
        Ok((
            codes::get(c, brand, id)?,
            codes::history(c, brand, id)?,
            reports::code_results(c, brand, id)?,
        ))
    })
    .await?;
    let choices = choices(&state, &user).await?;
    let now = Utc::now();
    let tz = code.tz();
    let (start, end) = display_window(&code);
    let tpl = ShowPage {
        layout: user.layout("codes", code.code.clone()),
        status: code.status(now),
        start,
        end,
        created: format_human(code.created_at, tz),
        history: history
            .into_iter()
            .map(|h| history_view(h, tz, &choices))
            .collect(),
        results,
        scheduled: code.status(now) == CodeStatus::Scheduled,
        code,
        expire_at: String::new(),
        expire_error: None,
        in_dialog: true,
    };
    Ok(page(StatusCode::OK, &tpl))
}

// ---------------------------------------------------------------- lifecycle

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
async fn expire_confirm(
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
async fn expire(
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
async fn reactivate(
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

// ---------------------------------------------------------------- bulk

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
async fn bulk(
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

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(export)
        .service(list)
        .service(new)
        .service(create)
        .service(bulk)
        .service(edit)
        .service(expire_confirm)
        .service(expire)
        .service(reactivate)
        .service(show)
        .service(update);
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-12_345), "-12,345");
    }
}
