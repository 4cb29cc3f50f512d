//! Promo codes, one module per concern: the filtered list (`list`), its CSV
//! export (`export`), create, edit, expire and reactivate (`write`), each
//! change's history (`history`), and the conflicts the database reports or a
//! new pattern meets (`conflicts`).

mod conflicts;
mod export;
mod history;
mod list;
mod write;

pub use self::conflicts::{conflict_candidates, overlapping, Overlap, Place};
pub use self::export::{export_batch, rows_by_ids};
pub use self::history::{history, HistoryRow};
pub use self::list::{code_search_pattern, list, CodePage, COUNT_CAP};
pub use self::write::{
    apply_deal, create, expire, for_each_code, reactivate, set_dates, update, BulkOutcome,
};
pub use super::sql::Total;

use super::sql::{Bind, Where};
use super::{StoreError, StoreResult};
use crate::db::schema::{actions, promo_codes};
use crate::domain::code::{format_human, CodeStatus};
use crate::domain::{BrandId, CodeId, ProgramId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use rust_decimal::Decimal;

/// A row of the code list (and of its CSV export).
#[derive(Debug, Clone, QueryableByName)]
pub struct CodeRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub program_id: i64,
    #[diesel(sql_type = Text)]
    pub program_name: String,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub code_type: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub partner_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub media_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub credit_rule: Option<String>,
    #[diesel(sql_type = Text)]
    pub match_mode: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub deal_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub deal_name: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_start: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_end: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub time_zone: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Numeric>)]
    pub payout_percent: Option<Decimal>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Numeric>)]
    pub payout_flat: Option<Decimal>,
    #[diesel(sql_type = Text)]
    pub comments: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

impl CodeRow {
    pub fn status(&self, now: DateTime<Utc>) -> CodeStatus {
        crate::domain::code::status_at(self.active_start, self.active_end, now)
    }
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// A code's active dates and the time zone they are shown in, as read: a
/// part of the rows that show a code's dates without the whole code.
#[derive(Debug, Clone, QueryableByName)]
pub struct ActiveWindow {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_start: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_end: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub time_zone: String,
}

impl ActiveWindow {
    /// The zone (UTC if its stored name no longer parses).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The start as shown, in the code's zone.
    pub fn start_shown(&self) -> Option<String> {
        self.active_start.map(|t| format_human(t, self.tz()))
    }

    pub fn end_shown(&self) -> Option<String> {
        self.active_end.map(|t| format_human(t, self.tz()))
    }

    /// "from 2026-06-01 00:00 EDT to 2026-09-01 00:00 EDT", "until ...",
    /// "with no start or end date".
    pub fn describe(&self) -> String {
        match (self.start_shown(), self.end_shown()) {
            (None, None) => "with no start or end date".into(),
            (Some(s), None) => format!("from {s} with no end"),
            (None, Some(e)) => format!("until {e}"),
            (Some(s), Some(e)) => format!("from {s} to {e}"),
        }
    }
}

const ROW_COLUMNS: &str = "c.id, c.program_id, g.name AS program_name, c.code, c.code_type, c.partner_id, \
     p.name AS partner_name, p.media_id, c.credit_rule, c.match_mode, c.deal_id, d.name AS deal_name, \
     c.active_start, c.active_end, c.time_zone, c.payout_percent, c.payout_flat, c.comments, c.created_at, c.updated_at";

/// The same columns from the codes table alone (names filled in by the
/// caller): planning a four-table join cost 6x more than running it.
const LITE_COLUMNS: &str = "c.id, c.program_id, ''::text AS program_name, c.code, c.code_type, c.partner_id, \
     NULL::text AS partner_name, NULL::bigint AS media_id, c.credit_rule, c.match_mode, c.deal_id, \
     NULL::text AS deal_name, c.active_start, c.active_end, c.time_zone, c.payout_percent, c.payout_flat, \
     c.comments, c.created_at, c.updated_at";

const ROW_FROM: &str = " FROM promo_codes c \
     JOIN programs g ON g.brand_id = c.brand_id AND g.id = c.program_id \
     LEFT JOIN partners p ON p.brand_id = c.brand_id AND p.id = c.partner_id \
     LEFT JOIN deals d ON d.brand_id = c.brand_id AND d.id = c.deal_id ";

pub fn get(conn: &mut PgConnection, brand: BrandId, id: CodeId) -> StoreResult<CodeRow> {
    let mut w = Where::default();
    w.push("c.brand_id = ?", vec![Bind::int(brand.0)]);
    w.push("c.id = ?", vec![Bind::int(id.0)]);
    w.query(&format!("SELECT {ROW_COLUMNS}{ROW_FROM}"), "", vec![])
        .get_result(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// Whether an action was credited through this code (its value is then fixed).
pub fn has_credited(conn: &mut PgConnection, brand: BrandId, id: CodeId) -> StoreResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        actions::table
            .filter(actions::brand_id.eq(brand.0))
            .filter(actions::matched_code_id.eq(id.0)),
    ))
    .get_result(conn)?)
}

/// The brand's codes per status (for the list's summary).
pub fn count_by_program(
    conn: &mut PgConnection,
    brand: BrandId,
    program: ProgramId,
) -> StoreResult<i64> {
    Ok(promo_codes::table
        .filter(promo_codes::brand_id.eq(brand.0))
        .filter(promo_codes::program_id.eq(program.0))
        .count()
        .get_result(conn)?)
}
