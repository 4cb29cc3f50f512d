//! Bulk changes of the codes selected in the list.

use super::export::csv_record;
use crate::domain::code::{parse_local, CodeQueryForm};
use crate::domain::{BrandId, CodeId, DealId, Role, UserId};
use crate::import::header::EXPORT_HEADER;
use crate::store::codes::{self, CodeRow};
use crate::store::{StoreError, StoreResult};
use crate::web::csv::{self, CsvWriter};
use crate::web::error::AppError;
use crate::web::layout::Layout;
use crate::web::session::CurrentUser;
use crate::web::{db, page, see_other, AppState};
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use std::collections::HashSet;

#[derive(Template)]
#[template(path = "codes/bulk_result.html")]
struct BulkPage {
    layout: Layout,
    action: String,
    done: Vec<(i64, String)>,
    refused: Vec<(i64, String, String)>,
}

/// The bulk form: `action`, repeated `ids`, and the fields some actions use.
#[derive(Debug, Default)]
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

impl BulkForm {
    /// The form's fields; ids in the order given, each once.
    fn parse(pairs: Vec<(String, String)>) -> BulkForm {
        let mut f = BulkForm::default();
        let mut seen = HashSet::new();
        for (k, v) in pairs {
            match k.as_str() {
                "action" => f.action = v,
                "ids" | "ids[]" => {
                    if let Ok(id) = v.trim().parse::<i64>() {
                        if seen.insert(id) {
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
}

/// What the bulk form asks for, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BulkAction {
    /// The selected codes as CSV (any role).
    Export,
    /// A change of each selected code (managers).
    Change(Change),
}

/// A change of each selected code. Dates stay as typed: each code reads
/// them in its own time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    /// At this date (empty: now).
    Expire {
        at: String,
    },
    /// Until this date (empty: no end).
    Reactivate {
        end: String,
    },
    Dates {
        start: String,
        end: String,
    },
    /// This deal (`None`: no deal).
    Deal(Option<DealId>),
}

impl BulkAction {
    /// The action of the form, or why it is refused.
    fn parse(f: &BulkForm) -> Result<BulkAction, String> {
        Ok(BulkAction::Change(match f.action.as_str() {
            "export" => return Ok(BulkAction::Export),
            // "Expire at" is the end field of the bar; `at` is also taken.
            "expire" => Change::Expire {
                at: if f.at.trim().is_empty() {
                    f.active_end.clone()
                } else {
                    f.at.clone()
                },
            },
            "reactivate" => Change::Reactivate {
                end: f.active_end.clone(),
            },
            "dates" => Change::Dates {
                start: f.active_start.clone(),
                end: f.active_end.clone(),
            },
            "deal" => Change::Deal(match f.deal_id.trim() {
                "" => None,
                v => Some(DealId(
                    v.parse::<i64>()
                        .map_err(|_| "Choose a deal from the list.".to_string())?,
                )),
            }),
            other => {
                return Err(format!(
                    "Unknown bulk action `{other}`: choose expire, reactivate, dates or deal."
                ))
            }
        }))
    }
}

impl Change {
    fn label(&self) -> &'static str {
        match self {
            Change::Expire { .. } => "Expire",
            Change::Reactivate { .. } => "Reactivate",
            Change::Dates { .. } => "Change active dates",
            Change::Deal(_) => "Apply deal",
        }
    }

    /// Makes the change to one code (a date that does not parse in the
    /// code's zone refuses that code).
    fn apply(
        &self,
        conn: &mut PgConnection,
        (brand, user): (BrandId, UserId),
        row: &CodeRow,
        now: DateTime<Utc>,
    ) -> StoreResult<CodeRow> {
        let (code, tz) = (CodeId(row.id), row.tz());
        let date = |raw: &str| parse_local(raw, tz).map_err(StoreError::Conflict);
        match self {
            Change::Expire { at } => {
                date(at).and_then(|at| codes::expire(conn, brand, user, code, at, now))
            }
            Change::Reactivate { end } => {
                date(end).and_then(|end| codes::reactivate(conn, brand, user, code, end, now))
            }
            Change::Dates { start, end } => date(start)
                .and_then(|s| date(end).map(|e| (s, e)))
                .and_then(|(s, e)| codes::set_dates(conn, brand, user, code, s, e)),
            Change::Deal(deal) => codes::apply_deal(conn, brand, user, code, *deal),
        }
    }
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
pub(super) async fn bulk(
    state: web::Data<AppState>,
    user: CurrentUser,
    pairs: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let f = BulkForm::parse(pairs.into_inner());
    if f.ids.is_empty() {
        user.flash("warning", "Select at least one code first.");
        return Ok(see_other(&back_to_list(&f.back)));
    }
    if f.ids.len() > BULK_LIMIT {
        return Err(AppError::BadRequest(format!(
            "Select at most {BULK_LIMIT} codes at once."
        )));
    }
    let action = BulkAction::parse(&f);
    // Anyone may export; changes take a manager (asked before the action's
    // own errors).
    if action != Ok(BulkAction::Export) {
        user.require(Role::Manager)?;
    }
    match action.map_err(AppError::BadRequest)? {
        BulkAction::Export => export_selection(&state, &user, f.ids).await,
        BulkAction::Change(change) => change_each(&state, &user, f.ids, change).await,
    }
}

/// The selected codes as a CSV file, in the export's columns.
async fn export_selection(
    state: &AppState,
    user: &CurrentUser,
    ids: Vec<i64>,
) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let rows = db(state, move |c| codes::rows_by_ids(c, brand, &ids)).await?;
    let (mut lines, now) = (CsvWriter::default(), Utc::now());
    lines.header(EXPORT_HEADER);
    for r in &rows {
        lines.row(csv_record(r, now));
    }
    Ok(csv::attachment("promo-codes-selection.csv")
        .insert_header(csv::NO_STORE)
        .body(lines.take()))
}

/// Makes the change to each code, each in its own transaction, and shows
/// what was done and what was refused.
async fn change_each(
    state: &AppState,
    user: &CurrentUser,
    ids: Vec<i64>,
    change: Change,
) -> Result<HttpResponse, AppError> {
    let (who, now) = ((user.brand(), user.id()), Utc::now());
    let label = change.label();
    let ids: Vec<CodeId> = ids.into_iter().map(CodeId).collect();
    let outcome = db(state, move |conn| {
        codes::for_each_code(conn, who.0, &ids, |conn, row| {
            change.apply(conn, who, row, now)
        })
    })
    .await?;
    let tpl = BulkPage {
        layout: user.layout("codes", label),
        action: label.into(),
        done: outcome.done,
        refused: outcome.refused,
    };
    Ok(page(StatusCode::OK, &tpl))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BulkForm {
        BulkForm::parse(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn ids_come_once_in_the_order_given() {
        let f = form(&[
            ("ids", "3"),
            ("ids[]", " 1 "),
            ("ids", "3"),
            ("ids", "x"),
            ("action", "expire"),
            ("back", "status=active"),
        ]);
        assert_eq!(f.ids, vec![3, 1]);
        assert_eq!(
            (f.action.as_str(), f.back.as_str()),
            ("expire", "status=active")
        );
    }

    #[test]
    fn actions_parse_once_with_their_fields() {
        let parse = |pairs: &[(&str, &str)]| BulkAction::parse(&form(pairs));
        assert_eq!(parse(&[("action", "export")]), Ok(BulkAction::Export));
        assert_eq!(
            parse(&[("action", "expire"), ("active_end", "2026-01-01")]),
            Ok(BulkAction::Change(Change::Expire {
                at: "2026-01-01".into()
            }))
        );
        assert_eq!(
            parse(&[
                ("action", "expire"),
                ("at", "2026-02-01"),
                ("active_end", "x")
            ]),
            Ok(BulkAction::Change(Change::Expire {
                at: "2026-02-01".into()
            }))
        );
        assert_eq!(
            parse(&[
                ("action", "dates"),
                ("active_start", "a"),
                ("active_end", "b")
            ]),
            Ok(BulkAction::Change(Change::Dates {
                start: "a".into(),
                end: "b".into()
            }))
        );
        assert_eq!(
            parse(&[("action", "deal"), ("deal_id", " 7 ")]),
            Ok(BulkAction::Change(Change::Deal(Some(DealId(7)))))
        );
        assert_eq!(
            parse(&[("action", "deal"), ("deal_id", "")]),
            Ok(BulkAction::Change(Change::Deal(None)))
        );
        assert_eq!(
            parse(&[("action", "deal"), ("deal_id", "seven")]),
            Err("Choose a deal from the list.".into())
        );
        // Only the deal action reads the deal.
        assert!(parse(&[("action", "reactivate"), ("deal_id", "seven")]).is_ok());
        assert_eq!(
            parse(&[("action", "Expire")]),
            Err("Unknown bulk action `Expire`: choose expire, reactivate, dates or deal.".into())
        );
    }

    #[test]
    fn the_list_to_go_back_to_is_rebuilt_from_its_filters() {
        assert_eq!(back_to_list(""), "/codes");
        assert_eq!(back_to_list("status=active"), "/codes?status=active");
        assert_eq!(back_to_list("https://evil.example/"), "/codes");
    }
}
