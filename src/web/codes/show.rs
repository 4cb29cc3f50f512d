//! A code's page: its details, results and history.

use super::{choices, display_window, Choices};
use crate::domain::code::{format_human, CodeStatus, MatchMode};
use crate::domain::CodeId;
use crate::store::codes::{self, CodeRow, HistoryRow};
use crate::store::reports::{self, CodeResults};
use crate::web::error::AppError;
use crate::web::layout::Layout;
use crate::web::session::CurrentUser;
use crate::web::{db, page, AppState};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

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
pub(super) async fn show(
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
