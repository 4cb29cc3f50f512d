//! Report queries: read-only figures over a brand's codes and actions (the
//! dashboard's counts, a code's results). Each takes the brand it is scoped
//! to; the pages that show them stay in `web`.

use super::StoreResult;
use crate::domain::{BrandId, CodeId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;

// ---------------------------------------------------------------- dashboard

#[derive(Debug, Clone, Default, QueryableByName)]
pub struct CodeStats {
    #[diesel(sql_type = BigInt)]
    pub codes_active: i64,
    #[diesel(sql_type = BigInt)]
    pub codes_scheduled: i64,
    #[diesel(sql_type = BigInt)]
    pub codes_expired: i64,
    #[diesel(sql_type = BigInt)]
    pub partners: i64,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct RevenueRow {
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = BigInt)]
    pub actions: i64,
    #[diesel(sql_type = BigInt)]
    pub with_code: i64,
    #[diesel(sql_type = Numeric)]
    pub sale_amount: Decimal,
    #[diesel(sql_type = Numeric)]
    pub payout: Decimal,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct ProgramRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub time_zone: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub tracking_enabled: bool,
    #[diesel(sql_type = BigInt)]
    pub codes: i64,
}

/// The counts by status, with the code list's status conditions (a code
/// whose end is not after its start is expired, even when its start is to
/// come), so that each number links to a list of as many codes.
pub fn code_stats(conn: &mut PgConnection, brand: BrandId) -> StoreResult<CodeStats> {
    Ok(diesel::sql_query(
        "SELECT
           count(*) FILTER (WHERE (active_start IS NULL OR active_start <= now())
                              AND (active_end IS NULL OR (active_end > now()
                                   AND active_end > coalesce(active_start, '-infinity')))) AS codes_active,
           count(*) FILTER (WHERE active_start > now()
                              AND (active_end IS NULL OR active_end > active_start)) AS codes_scheduled,
           count(*) FILTER (WHERE active_end <= now() OR active_end <= active_start) AS codes_expired,
           (SELECT count(*) FROM partners WHERE brand_id = $1) AS partners
         FROM promo_codes WHERE brand_id = $1",
    )
    .bind::<BigInt, _>(brand.0)
    .get_result(conn)?)
}

pub fn revenue_30_days(conn: &mut PgConnection, brand: BrandId) -> StoreResult<Vec<RevenueRow>> {
    Ok(diesel::sql_query(
        "SELECT currency, count(*) AS actions,
                count(*) FILTER (WHERE matched_code_id IS NOT NULL) AS with_code,
                coalesce(sum(sale_amount), 0) AS sale_amount,
                coalesce(sum(payout) FILTER (WHERE valid AND state <> 'REVERSED'), 0) AS payout
         FROM actions
         WHERE brand_id = $1 AND event_date > now() - interval '30 days'
         GROUP BY currency ORDER BY currency",
    )
    .bind::<BigInt, _>(brand.0)
    .load(conn)?)
}

pub fn programs(conn: &mut PgConnection, brand: BrandId) -> StoreResult<Vec<ProgramRow>> {
    Ok(diesel::sql_query(
        "SELECT p.id, p.name, p.time_zone, p.currency, p.tracking_enabled,
                (SELECT count(*) FROM promo_codes c WHERE c.brand_id = p.brand_id AND c.program_id = p.id) AS codes
         FROM programs p WHERE p.brand_id = $1 ORDER BY p.name",
    )
    .bind::<BigInt, _>(brand.0)
    .load(conn)?)
}

// ---------------------------------------------------------------- a code

/// A code's results so far.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct CodeResults {
    #[diesel(sql_type = BigInt)]
    pub actions: i64,
    #[diesel(sql_type = BigInt)]
    pub reversed: i64,
    #[diesel(sql_type = Numeric)]
    pub sale_amount: Decimal,
    #[diesel(sql_type = Numeric)]
    pub payout: Decimal,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub first_action: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_action: Option<DateTime<Utc>>,
}

/// A code's actions so far: how many, how many reversed, sales and payout
/// (of the valid, not reversed ones), first and last.
pub fn code_results(
    conn: &mut PgConnection,
    brand: BrandId,
    id: CodeId,
) -> StoreResult<CodeResults> {
    Ok(diesel::sql_query(
        "SELECT count(*) AS actions, count(*) FILTER (WHERE state = 'REVERSED') AS reversed,
                coalesce(sum(sale_amount) FILTER (WHERE state <> 'REVERSED'), 0) AS sale_amount,
                coalesce(sum(payout) FILTER (WHERE state <> 'REVERSED' AND valid), 0) AS payout,
                min(event_date) AS first_action, max(event_date) AS last_action
         FROM actions WHERE brand_id = $1 AND matched_code_id = $2",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(id.0)
    .get_result(conn)?)
}
