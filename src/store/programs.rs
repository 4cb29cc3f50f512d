//! Programs (campaigns) and their tracking settings.

use super::{violated_constraint, OptionalExt, StoreError, StoreResult};
use crate::db::schema::programs;
use crate::domain::program::ProgramSettings;
use crate::domain::{BrandId, ProgramId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = programs)]
pub struct Program {
    pub brand_id: i64,
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    pub landing_url: String,
    pub referral_window_days: i32,
    pub tracking_enabled: bool,
    pub locking_days: i32,
    pub created_at: DateTime<Utc>,
}

pub fn list(conn: &mut PgConnection, brand: BrandId) -> StoreResult<Vec<Program>> {
    Ok(programs::table
        .filter(programs::brand_id.eq(brand.0))
        .order(programs::name.asc())
        .select(Program::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut PgConnection, brand: BrandId, id: ProgramId) -> StoreResult<Program> {
    programs::table
        .filter(programs::brand_id.eq(brand.0))
        .filter(programs::id.eq(id.0))
        .select(Program::as_select())
        .first(conn)
        .found()
}

/// The columns a program's settings write, on create and on save.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = programs, treat_none_as_default_value = false)]
struct ProgramColumns<'a> {
    name: &'a str,
    time_zone: &'a str,
    currency: &'a str,
    landing_url: &'a str,
    referral_window_days: i32,
    locking_days: i32,
    tracking_enabled: bool,
}

impl<'a> From<&'a ProgramSettings> for ProgramColumns<'a> {
    fn from(s: &'a ProgramSettings) -> Self {
        ProgramColumns {
            name: &s.name,
            time_zone: &s.time_zone,
            currency: &s.currency,
            landing_url: &s.landing_url,
            referral_window_days: s.referral_window_days,
            locking_days: s.locking_days,
            tracking_enabled: s.tracking_enabled,
        }
    }
}

fn map_err(e: diesel::result::Error, s: &ProgramSettings) -> StoreError {
    match violated_constraint(&e) {
        Some((DatabaseErrorKind::UniqueViolation, _)) => {
            StoreError::Conflict(format!("Another program is already named {}.", s.name))
        }
        _ => e.into(),
    }
}

pub fn create(
    conn: &mut PgConnection,
    brand: BrandId,
    s: &ProgramSettings,
) -> StoreResult<Program> {
    diesel::insert_into(programs::table)
        .values((programs::brand_id.eq(brand.0), ProgramColumns::from(s)))
        .returning(Program::as_returning())
        .get_result(conn)
        .map_err(|e| map_err(e, s))
}

pub fn update(
    conn: &mut PgConnection,
    brand: BrandId,
    id: ProgramId,
    s: &ProgramSettings,
) -> StoreResult<Program> {
    diesel::update(
        programs::table
            .filter(programs::brand_id.eq(brand.0))
            .filter(programs::id.eq(id.0)),
    )
    .set(ProgramColumns::from(s))
    .returning(Program::as_returning())
    .get_result(conn)
    .map_err(|e| match e {
        diesel::result::Error::NotFound => StoreError::NotFound,
        e => map_err(e, s),
    })
}
