//! One action (conversion): everything it was credited from, the decision
//! explained in words (`domain::explain`), its later changes, and approve /
//! reverse for managers. Brand-scoped: another brand's action is a 404.
//! Also the interim list of recent actions (`/reports/actions`) that links
//! to each, until the reports' action listing replaces it.

use super::error::AppError;
use super::layout::Layout;
use super::session::CurrentUser;
use super::{db, page, saved, AppState};
use crate::domain::action::{parse_note, ActionState, Refusal, ReversalReason};
use crate::domain::code::{format_human, CodeType, CreditRule, MatchMode};
use crate::domain::crediting::{CreditReason, MisuseKind};
use crate::domain::explain::{
    self, parse_journey, CodeInfo, Explanation, Misused, PartnerInfo, Stored,
};
use crate::domain::money::format_money;
use crate::domain::partner::{CreditGroup, PartnerStatus};
use crate::domain::{ActionId, CodeId, PartnerId, Role};
use crate::store::actions::detail::{self, ActionDetail, CodeRef, UpdateRow};
use crate::store::actions::update::{self, Author};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use chrono::Utc;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashMap;

// ---------------------------------------------------------------- the page

/// A partner as the page links it.
struct PartnerLink {
    id: i64,
    name: String,
    media_id: i64,
}

struct CodeView {
    id: i64,
    code: String,
    detail: String,
}

struct JourneyRow {
    when: String,
    partner: Option<PartnerLink>,
    partner_id: i64,
    media_id: Option<i64>,
    /// "won the journey", "owns the code", "named by ClickId".
    marks: Vec<&'static str>,
}

struct ItemView {
    sku: String,
    name: String,
    category: String,
    quantity: String,
    subtotal: String,
}

struct UpdateView {
    when: String,
    who: String,
    what: String,
    reason: Option<String>,
    note: Option<String>,
    changes: Vec<(String, String, String)>,
}

struct MisuseView {
    entered: String,
    what: &'static str,
    code_id: Option<i64>,
}

/// What the reverse form was sent with, and its refusals.
#[derive(Default)]
struct ReverseState {
    reason: String,
    note: String,
    reason_error: Option<String>,
    note_error: Option<String>,
}

#[derive(Template)]
#[template(path = "actions/show.html")]
struct ShowPage {
    layout: Layout,
    id: i64,
    order_id: String,
    program_id: i64,
    program_name: String,
    time_zone: String,
    event_date: String,
    created: String,
    state: ActionState,
    state_since: Option<String>,
    reversal: Option<String>,
    locking: String,
    locked: bool,
    currency: String,
    sale_amount: String,
    discount: Option<String>,
    payout: String,
    customer_id: Option<String>,
    customer_status: Option<String>,
    entered_codes: Vec<String>,
    click_ref: Option<String>,
    event_type: Option<String>,
    source: &'static str,
    reason: &'static str,
    valid: bool,
    credited: Option<PartnerLink>,
    winner: Option<PartnerLink>,
    chosen: Option<PartnerLink>,
    code: Option<CodeView>,
    explanation: Explanation,
    journey: Vec<JourneyRow>,
    click: Option<(String, String)>,
    misuse: Vec<MisuseView>,
    items: Vec<ItemView>,
    updates: Vec<UpdateView>,
    can_approve: bool,
    can_reverse: bool,
    lock_note: Option<String>,
    reasons: &'static [ReversalReason],
    /// A refused approval or reversal (the action's state, its lock).
    refusal: Option<String>,
    form: ReverseState,
}

impl ShowPage {
    fn verdict_class(&self) -> &'static str {
        match self.explanation.verdict {
            explain::Verdict::Credited => "badge-active",
            explain::Verdict::NotCredited => "badge-danger",
            explain::Verdict::NobodyCredited => "badge-muted",
        }
    }

    fn state_class(&self) -> &'static str {
        match self.state {
            ActionState::Pending => "badge-scheduled",
            ActionState::Approved => "badge-active",
            ActionState::Reversed => "badge-danger",
        }
    }

    fn is_reason(&self, r: &ReversalReason) -> bool {
        self.form.reason.eq_ignore_ascii_case(r.as_str())
    }
}

fn code_info(c: &CodeRef) -> CodeInfo {
    CodeInfo {
        id: CodeId(c.id),
        value: c.code.clone(),
        match_mode: MatchMode::parse(&c.match_mode).unwrap_or(MatchMode::Literal),
        code_type: CodeType::parse(&c.code_type).unwrap_or(CodeType::Restricted),
        credit_rule: c.credit_rule.as_deref().and_then(CreditRule::parse),
        partner: c.partner_id.map(PartnerId),
        active_start: c.active_start,
        active_end: c.active_end,
    }
}

fn misuse_label(kind: &str) -> &'static str {
    match MisuseKind::parse(kind) {
        Some(MisuseKind::Unknown) => "unknown code",
        Some(MisuseKind::Expired) => "expired code",
        Some(MisuseKind::NotYetActive) => "code not active yet",
        None => "recorded for monitoring",
    }
}

/// A stored amount of an item line (a string or a number).
fn item_amount(v: Option<&serde_json::Value>, currency: &str) -> String {
    let d = match v {
        Some(serde_json::Value::String(s)) => s.parse::<Decimal>().ok(),
        Some(serde_json::Value::Number(n)) => n.to_string().parse::<Decimal>().ok(),
        _ => None,
    };
    d.map(|d| format_money(d, currency))
        .unwrap_or_else(|| "—".into())
}

fn item_text(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => "—".into(),
    }
}

fn items_of(items: &serde_json::Value, currency: &str) -> Vec<ItemView> {
    items
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|i| i.as_object())
                .map(|i| ItemView {
                    sku: item_text(i.get("sku")),
                    name: item_text(i.get("name")),
                    category: item_text(i.get("category")),
                    quantity: item_text(i.get("quantity")),
                    subtotal: item_amount(i.get("subtotal"), currency),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn update_view(u: UpdateRow, tz: Tz) -> UpdateView {
    let what = match u.kind.as_str() {
        "approved" => "approved",
        "auto_approved" => "approved automatically (locking period over)",
        "reversed" => "reversed",
        "modified" => "modified",
        _ => "changed",
    };
    let mut note = None;
    let mut changes = Vec::new();
    if let Some(map) = u.changes.as_object() {
        for (field, v) in map {
            let text = |x: &serde_json::Value| match x {
                serde_json::Value::Null => "—".to_string(),
                serde_json::Value::String(s) => ActionState::parse(s)
                    .map(|st| st.label().to_string())
                    .unwrap_or_else(|| s.clone()),
                other => other.to_string(),
            };
            if field == "note" {
                note = v.get(1).and_then(|n| n.as_str()).map(str::to_string);
                continue;
            }
            match (v.get(0), v.get(1)) {
                (Some(from), Some(to)) => {
                    changes.push((field.replace('_', " "), text(from), text(to)))
                }
                _ => changes.push((field.replace('_', " "), "—".into(), text(v))),
            }
        }
    }
    UpdateView {
        when: format_human(u.changed_at, tz),
        who: u.author,
        what: what.to_string(),
        reason: u.reason.as_deref().map(ReversalReason::describe),
        note,
        changes,
    }
}

impl ShowPage {
    fn new(
        user: &CurrentUser,
        d: ActionDetail,
        form: ReverseState,
        refusal: Option<String>,
    ) -> Self {
        let a = &d.action;
        let tz: Tz = d.program.time_zone.parse().unwrap_or(Tz::UTC);
        let now = Utc::now();
        let link = |id: i64| PartnerLink {
            id,
            name: d
                .partner(id)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| format!("partner #{id}")),
            media_id: d.partner(id).map(|p| p.media_id).unwrap_or_default(),
        };
        let partner_infos: HashMap<PartnerId, PartnerInfo> = d
            .partners
            .iter()
            .map(|p| {
                (
                    PartnerId(p.id),
                    PartnerInfo {
                        name: p.name.clone(),
                        credit_group: CreditGroup::parse(&p.credit_group)
                            .unwrap_or(CreditGroup::Preferred),
                        status: PartnerStatus::parse(&p.status).unwrap_or(PartnerStatus::Active),
                    },
                )
            })
            .collect();
        let journey = parse_journey(&a.journey);
        let code = d.code.as_ref().map(code_info);
        let misused: Vec<Misused> = d
            .misuse
            .iter()
            .filter_map(|m| {
                Some(Misused {
                    entered: m.entered_code.clone(),
                    kind: MisuseKind::parse(&m.kind)?,
                    code: m.code.as_ref().map(code_info),
                })
            })
            .collect();
        let reason = CreditReason::parse(&a.credit_reason).unwrap_or(CreditReason::Unattributed);
        let explanation = explain::explain(
            &Stored {
                reason,
                event_date: a.event_date,
                credited: a.credited_partner_id.map(PartnerId),
                winner: a.winning_partner_id.map(PartnerId),
                chosen: a.chosen_partner_id.map(PartnerId),
                entered_codes: &a.entered_codes,
                entered_code: a.entered_code.as_deref(),
                code: code.as_ref(),
                journey: &journey,
                misuse: &misused,
            },
            &partner_infos,
            tz,
        );
        // The winning click: the winner's last (crediting's own tie-break).
        let last_of = |p: i64| {
            journey
                .iter()
                .enumerate()
                .filter(|(_, c)| c.partner_id == p)
                .max_by_key(|(i, c)| (c.clicked_at, *i))
                .map(|(i, _)| i)
        };
        let winning_click = a.winning_partner_id.and_then(last_of);
        let owner = code.as_ref().and_then(|c| c.partner).map(|p| p.0);
        let journey_rows = journey
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut marks = Vec::new();
                if Some(i) == winning_click {
                    marks.push("won the journey");
                }
                if Some(c.partner_id) == owner {
                    marks.push("owns the code");
                }
                let named = match &c.click_id {
                    Some(explain::ClickRef::Id(x)) => a.click_id == Some(*x),
                    Some(explain::ClickRef::Token(t)) => a.click_ref.as_deref() == Some(t),
                    None => false,
                };
                if named {
                    marks.push("named by ClickId");
                }
                JourneyRow {
                    when: format_human(c.clicked_at, tz),
                    partner: d.partner(c.partner_id).map(|_| link(c.partner_id)),
                    partner_id: c.partner_id,
                    media_id: c.media_id,
                    marks,
                }
            })
            .collect();
        let state = ActionState::parse(&a.state).unwrap_or(ActionState::Pending);
        let locked = crate::domain::action::is_locked(a.locking_date, now);
        let can_manage = user.user.role.allows(Role::Manager);
        let can_approve = can_manage && crate::domain::action::check_approve(state).is_ok();
        let reverse_check = crate::domain::action::check_reverse(state, a.locking_date, now);
        let can_reverse = can_manage && reverse_check.is_ok();
        let lock_note = match reverse_check {
            Err(Refusal::Locked(_)) if state != ActionState::Reversed => {
                Some(Refusal::Locked(a.locking_date).message(tz))
            }
            _ => None,
        };
        let state_since = match state {
            ActionState::Pending => None,
            ActionState::Approved => a.approved_at.map(|t| format_human(t, tz)),
            ActionState::Reversed => a.reversed_at.map(|t| format_human(t, tz)),
        };
        let code_view = d.code.as_ref().map(|c| {
            let mode = MatchMode::parse(&c.match_mode)
                .map(|m| m.label())
                .unwrap_or("");
            let detail = match (c.code_type.as_str(), &c.credit_rule, c.partner_id) {
                ("TRACKING", Some(rule), Some(p)) => {
                    format!("{mode}, TRACKING, rule {rule}, of {}", link(p).name)
                }
                _ => format!("{mode}, {}", c.code_type),
            };
            CodeView {
                id: c.id,
                code: c.code.clone(),
                detail,
            }
        });
        let click = d
            .click
            .as_ref()
            .map(|c| (format_human(c.clicked_at, tz), link(c.partner_id).name));
        ShowPage {
            layout: user.layout("reports", format!("Action {}", a.order_id)),
            id: a.id,
            order_id: a.order_id.clone(),
            program_id: d.program.id,
            program_name: d.program.name.clone(),
            time_zone: d.program.time_zone.clone(),
            event_date: format_human(a.event_date, tz),
            created: format_human(a.created_at, tz),
            state,
            state_since,
            reversal: a.reversal_reason.as_deref().map(ReversalReason::describe),
            locking: format_human(a.locking_date, tz),
            locked,
            currency: a.currency.clone(),
            sale_amount: format_money(a.sale_amount, &a.currency),
            discount: (!a.discount.is_zero()).then(|| format_money(a.discount, &a.currency)),
            payout: format_money(a.payout, &a.currency),
            customer_id: a.customer_id.clone(),
            customer_status: a.customer_status.clone(),
            entered_codes: a.entered_codes.clone(),
            click_ref: a.click_ref.clone(),
            event_type: a.event_type.clone(),
            source: match a.source.as_str() {
                "api" => "Conversions API",
                "upload" => "orders upload",
                "demo" => "demo data",
                _ => "other",
            },
            reason: reason.as_str(),
            valid: a.valid,
            credited: a.credited_partner_id.map(link),
            winner: a.winning_partner_id.map(link),
            chosen: a.chosen_partner_id.map(link),
            code: code_view,
            explanation,
            journey: journey_rows,
            click,
            misuse: d
                .misuse
                .iter()
                .map(|m| MisuseView {
                    entered: m.entered_code.clone(),
                    what: misuse_label(&m.kind),
                    code_id: m.code.as_ref().map(|c| c.id),
                })
                .collect(),
            items: items_of(&a.items, &a.currency),
            updates: d
                .updates
                .iter()
                .cloned()
                .map(|u| update_view(u, tz))
                .collect(),
            can_approve,
            can_reverse,
            lock_note,
            reasons: &ReversalReason::ALL,
            refusal,
            form,
        }
    }
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: ActionId,
    status: StatusCode,
    form: ReverseState,
    refusal: Option<String>,
) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let d = db(state, move |c| detail::detail(c, brand, id)).await?;
    Ok(page(status, &ShowPage::new(user, d, form, refusal)))
}

#[get("/actions/{id}")]
async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = ActionId(id.into_inner());
    show_page(
        &state,
        &user,
        id,
        StatusCode::OK,
        ReverseState::default(),
        None,
    )
    .await
}

// ---------------------------------------------------------------- approve, reverse

/// The approve form carries only its CSRF token (checked by the guard);
/// reading it as a form also refuses any other kind of body.
#[derive(Deserialize)]
struct ApproveForm {}

#[derive(Deserialize)]
struct ReverseForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

/// The page again with a refusal (422), or back to it with the news.
async fn outcome(
    state: &AppState,
    user: &CurrentUser,
    id: ActionId,
    result: Result<(), Refusal>,
    done: &str,
    form: ReverseState,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(saved(user, done, &format!("/actions/{id}"))),
        Err(refusal) => {
            let brand = user.brand();
            let d = db(state, move |c| detail::detail(c, brand, id)).await?;
            let tz: Tz = d.program.time_zone.parse().unwrap_or(Tz::UTC);
            let message = refusal.message(tz);
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ShowPage::new(user, d, form, Some(message)),
            ))
        }
    }
}

#[post("/actions/{id}/approve")]
async fn approve(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _form: web::Form<ApproveForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, id, uid) = (user.brand(), ActionId(id.into_inner()), user.id());
    let email = user.user.email.clone();
    let result = db(&state, move |c| {
        let author = Author {
            name: &email,
            user: Some(uid),
            token: None,
        };
        update::approve(c, brand, id, author, Utc::now())
    })
    .await?;
    outcome(
        &state,
        &user,
        id,
        result.map(|_| ()),
        "Action approved.",
        ReverseState::default(),
    )
    .await
}

#[post("/actions/{id}/reverse")]
async fn reverse(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<ReverseForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, id, uid) = (user.brand(), ActionId(id.into_inner()), user.id());
    let ReverseForm { reason, note } = form.into_inner();
    let mut sent = ReverseState {
        reason: reason.trim().to_string(),
        note: note.trim().to_string(),
        ..ReverseState::default()
    };
    let parsed_reason = ReversalReason::parse(&reason);
    if parsed_reason.is_none() {
        sent.reason_error = Some(if reason.trim().is_empty() {
            "Choose why the action is reversed.".to_string()
        } else {
            format!(
                "{} is not a reversal reason; choose one from the list.",
                reason.trim()
            )
        });
    }
    let parsed_note = parse_note(&note);
    if let Err(e) = &parsed_note {
        sent.note_error = Some(e.clone());
    }
    let (Some(reason), Ok(note)) = (parsed_reason, parsed_note) else {
        return show_page(
            &state,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            sent,
            None,
        )
        .await;
    };
    let email = user.user.email.clone();
    let result = db(&state, move |c| {
        let author = Author {
            name: &email,
            user: Some(uid),
            token: None,
        };
        update::reverse(c, brand, id, reason, note.as_deref(), author, Utc::now())
    })
    .await?;
    outcome(
        &state,
        &user,
        id,
        result.map(|_| ()),
        &format!("Action reversed ({}).", reason.label()),
        sent,
    )
    .await
}

// ---------------------------------------------------------------- recent actions

/// Actions a page of the list shows.
const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
struct ListQuery {
    /// The older page: the rows after this cursor.
    #[serde(default)]
    after: Option<String>,
    /// The newer page: the rows before this cursor.
    #[serde(default)]
    before: Option<String>,
}

struct ListRow {
    id: i64,
    event_date: String,
    order_id: String,
    state: ActionState,
    state_class: &'static str,
    partner: Option<(i64, String)>,
    reason: String,
    valid: bool,
    code: Option<(i64, String)>,
    sale_amount: String,
    payout: String,
}

#[derive(Template)]
#[template(path = "actions/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ListRow>,
    prev: Option<String>,
    next: Option<String>,
    first_page: bool,
}

fn list_row(r: crate::store::actions::list::ActionListRow) -> ListRow {
    let tz: Tz = r.time_zone.parse().unwrap_or(Tz::UTC);
    let state = ActionState::parse(&r.state).unwrap_or(ActionState::Pending);
    ListRow {
        id: r.id,
        event_date: format_human(r.event_date, tz),
        order_id: r.order_id,
        state,
        state_class: match state {
            ActionState::Pending => "badge-scheduled",
            ActionState::Approved => "badge-active",
            ActionState::Reversed => "badge-danger",
        },
        partner: r.credited_partner_id.zip(r.partner_name),
        reason: r.credit_reason,
        valid: r.valid,
        // An exact code by its value; a regex code by what was entered (its
        // pattern is on its page).
        code: r.matched_code_id.zip(match r.match_mode.as_deref() {
            Some("RE") => r.entered_code.filter(|e| !e.trim().is_empty()).or(r.code),
            _ => r.code,
        }),
        sale_amount: format_money(r.sale_amount, &r.currency),
        payout: format_money(r.payout, &r.currency),
    }
}

#[get("/reports/actions")]
async fn recent(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    use crate::store::actions::list;
    use crate::store::sql::Cursor;
    let q = q.into_inner();
    let decode = |t: &Option<String>| t.as_deref().and_then(Cursor::decode);
    let at = list::page_at(decode(&q.after), decode(&q.before));
    let first_page = at == crate::store::sql::PageAt::First;
    let brand = user.brand();
    let found = db(&state, move |c| list::recent(c, brand, at, PAGE_SIZE)).await?;
    let tpl = ListPage {
        layout: user.layout("reports", "Recent actions"),
        rows: found.rows.into_iter().map(list_row).collect(),
        prev: found.prev,
        next: found.next,
        first_page,
    };
    Ok(page(StatusCode::OK, &tpl))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(approve)
        .service(reverse)
        .service(recent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_lines_read_amounts_as_strings_or_numbers() {
        let items = serde_json::json!([
            {"line": 1, "sku": "SKU-1", "name": "Shirt", "category": "Apparel", "quantity": 2, "price": "10.00", "subtotal": "20.00"},
            {"line": 2, "sku": null, "quantity": "1", "subtotal": 5.5},
            "not an item"
        ]);
        let rows = items_of(&items, "USD");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].sku.as_str(),
                rows[0].quantity.as_str(),
                rows[0].subtotal.as_str()
            ),
            ("SKU-1", "2", "20.00 USD")
        );
        assert_eq!(
            (
                rows[1].sku.as_str(),
                rows[1].name.as_str(),
                rows[1].quantity.as_str(),
                rows[1].subtotal.as_str()
            ),
            ("—", "—", "1", "5.50 USD")
        );
    }

    #[test]
    fn updates_read_states_by_label_and_keep_the_note_apart() {
        let u = UpdateRow {
            id: 1,
            changed_at: Utc::now(),
            kind: "reversed".into(),
            reason: Some("CONS_FRAUD".into()),
            author: "ann@acme.test".into(),
            user_id: Some(1),
            token_id: None,
            changes: serde_json::json!({"state": ["APPROVED", "REVERSED"], "note": [null, "chargeback"]}),
        };
        let v = update_view(u, Tz::UTC);
        assert_eq!(v.what, "reversed");
        assert_eq!(v.reason.as_deref(), Some("Customer fraud (CONS_FRAUD)"));
        assert_eq!(v.note.as_deref(), Some("chargeback"));
        assert_eq!(
            v.changes,
            vec![(
                "state".to_string(),
                "Approved".to_string(),
                "Reversed".to_string()
            )]
        );
    }
}
