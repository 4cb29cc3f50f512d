//! Clicks on tracking links, and the journeys conversions are credited from
//! (SPEC §6). Every function is scoped by brand.

use super::StoreResult;
use crate::db::schema::clicks;
use crate::domain::{BrandId, PartnerId, ProgramId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// A click to record.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = clicks)]
pub struct NewClick {
    pub brand_id: i64,
    pub program_id: i64,
    pub partner_id: i64,
    pub clicked_at: DateTime<Utc>,
    /// The opaque click id handed to the landing page.
    pub token: String,
    /// The visitor's first-party cookie.
    pub visitor_id: String,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
}

/// A recorded click, as a journey needs it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = clicks)]
pub struct Click {
    pub id: i64,
    pub program_id: i64,
    pub partner_id: i64,
    pub clicked_at: DateTime<Utc>,
    pub token: String,
    pub visitor_id: String,
}

impl Click {
    pub fn partner(&self) -> PartnerId {
        PartnerId(self.partner_id)
    }
}

/// Records clicks, all in one statement (the caller's transaction decides
/// when they are durable).
pub fn insert(conn: &mut PgConnection, batch: &[NewClick]) -> StoreResult<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    Ok(diesel::insert_into(clicks::table)
        .values(batch)
        .execute(conn)?)
}

/// The click a conversion names by its click id: only the brand's.
pub fn by_token(
    conn: &mut PgConnection,
    brand: BrandId,
    token: &str,
) -> StoreResult<Option<Click>> {
    Ok(clicks::table
        .filter(clicks::brand_id.eq(brand.0))
        .filter(clicks::token.eq(token))
        .select(Click::as_select())
        .first(conn)
        .optional()?)
}

/// A visitor's clicks in a program from `since` up to and including
/// `until`, oldest first (at most `limit`, the latest ones).
pub fn of_visitor(
    conn: &mut PgConnection,
    brand: BrandId,
    program: ProgramId,
    visitor_id: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<Click>> {
    let mut rows: Vec<Click> = clicks::table
        .filter(clicks::brand_id.eq(brand.0))
        .filter(clicks::program_id.eq(program.0))
        .filter(clicks::visitor_id.eq(visitor_id))
        .filter(clicks::clicked_at.ge(since))
        .filter(clicks::clicked_at.le(until))
        .order((clicks::clicked_at.desc(), clicks::id.desc()))
        .limit(limit)
        .select(Click::as_select())
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}
