//! A code's history: what each change did (`{"field": [from, to]}`), and
//! the entries a code page shows.

use super::write::CodeColumns;
use crate::db::schema::code_history;
use crate::domain::{BrandId, CodeId, UserId};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// One entry of a code's history.
#[derive(Debug, Clone, QueryableByName)]
pub struct HistoryRow {
    #[diesel(sql_type = Timestamptz)]
    pub changed_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub changed_by: Option<String>,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub changes: Value,
}

pub fn history(
    conn: &mut PgConnection,
    brand: BrandId,
    id: CodeId,
) -> StoreResult<Vec<HistoryRow>> {
    Ok(diesel::sql_query(
        // A code created by an upload has no history row for its creation:
        // the code records its upload, who and when.
        "SELECT changed_at, changed_by, action, changes FROM (
           SELECT h.changed_at, u.email AS changed_by, h.action, h.changes, h.id AS seq
           FROM code_history h LEFT JOIN users u ON u.brand_id = h.brand_id AND u.id = h.changed_by
           WHERE h.brand_id = $1 AND h.code_id = $2
           UNION ALL
           SELECT c.created_at, u.email, 'uploaded',
                  jsonb_build_object('code', jsonb_build_array(NULL, c.code), 'upload', jsonb_build_array(NULL, c.upload_id)),
                  0
           FROM promo_codes c LEFT JOIN users u ON u.brand_id = c.brand_id AND u.id = c.created_by
           WHERE c.brand_id = $1 AND c.id = $2 AND c.upload_id IS NOT NULL) t
         ORDER BY changed_at DESC, seq DESC",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(id.0)
    .load(conn)?)
}

/// The history's view of a code: every edited field, dates as RFC 3339.
pub(super) fn snapshot(c: &CodeColumns) -> Map<String, Value> {
    let time = |t: Option<DateTime<Utc>>| json!(t.map(|t| t.to_rfc3339()));
    let dec = |d: Option<Decimal>| json!(d.map(|d| d.normalize().to_string()));
    let mut m = Map::new();
    m.insert("program_id".into(), json!(c.program_id));
    m.insert("code".into(), json!(c.code));
    m.insert("code_type".into(), json!(c.code_type));
    m.insert("partner_id".into(), json!(c.partner_id));
    m.insert("credit_rule".into(), json!(c.credit_rule));
    m.insert("match_mode".into(), json!(c.match_mode));
    m.insert("deal_id".into(), json!(c.deal_id));
    m.insert("active_start".into(), time(c.active_start));
    m.insert("active_end".into(), time(c.active_end));
    m.insert("time_zone".into(), json!(c.time_zone));
    m.insert("payout_percent".into(), dec(c.payout_percent));
    m.insert("payout_flat".into(), dec(c.payout_flat));
    m.insert("comments".into(), json!(c.comments));
    m
}

/// `{"field": [from, to]}` for the fields that differ.
pub(super) fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (k, v) in after {
        let old = before.get(k).cloned().unwrap_or(Value::Null);
        if &old != v {
            out.insert(k.clone(), json!([old, v]));
        }
    }
    Value::Object(out)
}

pub(super) fn record(
    conn: &mut PgConnection,
    brand: BrandId,
    code: i64,
    user: Option<UserId>,
    action: &str,
    changes: Value,
) -> QueryResult<usize> {
    diesel::insert_into(code_history::table)
        .values((
            code_history::brand_id.eq(brand.0),
            code_history::code_id.eq(code),
            code_history::changed_by.eq(user.map(|u| u.0)),
            code_history::action.eq(action),
            code_history::changes.eq(changes),
        ))
        .execute(conn)
}
