//! The dashboard's key numbers.

use super::StoreResult;
use crate::domain::BrandId;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Numeric, Text};
use rust_decimal::Decimal;

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
