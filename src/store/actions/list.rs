//! Pages of a brand's actions, newest first, keyset-paginated by
//! `(event_date, id)`: a page reads only its rows however deep it is.
//! (The interim `/reports/actions` list; the reports' filtered listing
//! builds on the same order.)

use crate::domain::BrandId;
use crate::store::sql::{Bind, Cursor, KeyValue, Keyset, KeysetPage, PageAt, Where};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;

/// One action of a list, with the names it shows.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ActionListRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub event_date: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub order_id: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Text)]
    pub credit_reason: String,
    #[diesel(sql_type = Bool)]
    pub valid: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub credited_partner_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub matched_code_id: Option<i64>,
    /// The matched code's value (an exact code, or a regex pattern).
    #[diesel(sql_type = Nullable<Text>)]
    pub code: Option<String>,
    /// `LI` or `RE`.
    #[diesel(sql_type = Nullable<Text>)]
    pub match_mode: Option<String>,
    /// The entered code that decided (for a regex code: what was typed).
    #[diesel(sql_type = Nullable<Text>)]
    pub entered_code: Option<String>,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Numeric)]
    pub sale_amount: Decimal,
    #[diesel(sql_type = Numeric)]
    pub payout: Decimal,
    /// The program's time zone, for the event date.
    #[diesel(sql_type = Text)]
    pub time_zone: String,
}

impl ActionListRow {
    /// The row's place in the list's order.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: KeyValue::Time(self.event_date),
            id: self.id,
        }
    }
}

const COLUMNS: &str = "SELECT a.id, a.event_date, a.order_id, a.state, a.credit_reason, a.valid,
        a.credited_partner_id, p.name AS partner_name, a.matched_code_id, c.code,
        c.match_mode, a.entered_code, a.currency, a.sale_amount, a.payout, g.time_zone
    FROM actions a
    JOIN programs g ON g.brand_id = a.brand_id AND g.id = a.program_id
    LEFT JOIN partners p ON p.brand_id = a.brand_id AND p.id = a.credited_partner_id
    LEFT JOIN promo_codes c ON c.brand_id = a.brand_id AND c.id = a.matched_code_id";

/// Where a page of the list may start: the first page, or after / before
/// a row of the list (a cursor whose key is not an event date is not one of
/// the list's: the first page).
pub fn page_at(after: Option<Cursor>, before: Option<Cursor>) -> PageAt {
    let of_list = |c: Cursor| matches!(c.key, KeyValue::Time(_)).then_some(c);
    match (after.and_then(of_list), before.and_then(of_list)) {
        (Some(c), _) => PageAt::After(c),
        (None, Some(c)) => PageAt::Before(c),
        (None, None) => PageAt::First,
    }
}

/// A page of the brand's actions, newest event first (ties: newest id).
pub fn recent(
    conn: &mut PgConnection,
    brand: BrandId,
    at: PageAt,
    limit: i64,
) -> StoreResult<KeysetPage<ActionListRow>> {
    let keyset = Keyset {
        key: "a.event_date",
        id: "a.id",
        at,
        limit,
    };
    let mut w = Where::new("a.brand_id = ?", vec![Bind::int(brand.0)]);
    let (tail, tail_binds) = keyset.apply(&mut w);
    let rows: Vec<ActionListRow> = w.query(COLUMNS, &tail, tail_binds).load(conn)?;
    Ok(keyset.page(rows, ActionListRow::cursor))
}
