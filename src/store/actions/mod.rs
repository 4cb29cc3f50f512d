//! Actions (conversions): stored with every input and the crediting
//! decision, read for their page, the reports and the brand API, and changed
//! later (approve, reverse, modify) with each change kept in
//! `action_updates`. Every function is scoped by brand.
//!
//! Layout: this module holds the row types and single-action reads;
//! `insert` (new actions with their decision, idempotent per order),
//! `update` (state changes and modifications with their history) and
//! `list` (pages of actions) sit beside it, and `detail` (everything the
//! action page shows of one action).

pub mod detail;
pub mod list;
pub mod update;

use super::{OptionalExt, StoreResult};
use crate::db::schema::actions;
use crate::domain::{ActionId, BrandId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;

/// An action as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = actions)]
pub struct ActionRow {
    pub brand_id: i64,
    pub id: i64,
    pub program_id: i64,
    pub order_id: String,
    pub event_date: DateTime<Utc>,
    /// Every code the order carried, in order.
    pub entered_codes: Vec<String>,
    /// The entered code that decided (the first that matched), if any.
    pub entered_code: Option<String>,
    pub matched_code_id: Option<i64>,
    pub credited_partner_id: Option<i64>,
    pub winning_partner_id: Option<i64>,
    pub involved_partner_ids: Vec<i64>,
    pub credit_reason: String,
    pub valid: bool,
    pub state: String,
    pub reversal_reason: Option<String>,
    pub click_id: Option<i64>,
    pub customer_id: Option<String>,
    pub customer_status: Option<String>,
    pub currency: String,
    pub sale_amount: Decimal,
    pub discount: Decimal,
    pub payout: Decimal,
    pub items: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The fields as received, `[[name, value], ...]`.
    pub payload: serde_json::Value,
    pub event_type: Option<String>,
    /// The click id the conversion named, as sent.
    pub click_ref: Option<String>,
    pub visitor_id: Option<String>,
    /// The clicks the decision was made from, oldest first.
    pub journey: serde_json::Value,
    /// The partner the rules chose but could not credit (partner_inactive).
    pub chosen_partner_id: Option<i64>,
    pub locking_date: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub reversed_at: Option<DateTime<Utc>>,
    /// `api`, `upload` or `demo`.
    pub source: String,
    pub upload_id: Option<i64>,
    pub token_id: Option<i64>,
}

/// One action of the brand.
pub fn get(conn: &mut PgConnection, brand: BrandId, id: ActionId) -> StoreResult<ActionRow> {
    actions::table
        .filter(actions::brand_id.eq(brand.0))
        .filter(actions::id.eq(id.0))
        .select(ActionRow::as_select())
        .first(conn)
        .found()
}
