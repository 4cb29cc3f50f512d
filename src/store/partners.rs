//! Partners (media partners).

use super::{violated_constraint, OptionalExt, StoreError, StoreResult};
use crate::db::schema::partners;
use crate::domain::money::format_amount_exact;
use crate::domain::partner::{NewPartner, Payout};
use crate::domain::{BrandId, PartnerId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct Partner {
    pub brand_id: i64,
    pub id: i64,
    pub media_id: i64,
    pub name: String,
    pub status: String,
    pub credit_group: String,
    pub payout_percent: Option<Decimal>,
    pub payout_flat: Option<Decimal>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Partner {
    pub fn payout_label(&self) -> String {
        match (self.payout_percent, self.payout_flat) {
            (Some(p), _) => format!("{}%", p.normalize()),
            (_, Some(f)) => format!("{} flat", format_amount_exact(f, 2)),
            _ => "—".into(),
        }
    }
}

pub fn list(conn: &mut PgConnection, brand: BrandId) -> StoreResult<Vec<Partner>> {
    Ok(partners::table
        .filter(partners::brand_id.eq(brand.0))
        .order((partners::name.asc(), partners::id.asc()))
        .select(Partner::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut PgConnection, brand: BrandId, id: PartnerId) -> StoreResult<Partner> {
    partners::table
        .filter(partners::brand_id.eq(brand.0))
        .filter(partners::id.eq(id.0))
        .select(Partner::as_select())
        .first(conn)
        .found()
}

/// The columns a partner writes, on create and on save (no payout or
/// email: NULL).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = partners, treat_none_as_null = true, treat_none_as_default_value = false)]
struct PartnerColumns<'a> {
    media_id: i64,
    name: &'a str,
    status: &'a str,
    credit_group: &'a str,
    payout_percent: Option<Decimal>,
    payout_flat: Option<Decimal>,
    email: Option<&'a str>,
}

impl<'a> From<&'a NewPartner> for PartnerColumns<'a> {
    fn from(p: &'a NewPartner) -> Self {
        let (payout_percent, payout_flat) = Payout::columns(p.payout);
        PartnerColumns {
            media_id: p.media_id,
            name: &p.name,
            status: p.status.as_str(),
            credit_group: p.credit_group.as_str(),
            payout_percent,
            payout_flat,
            email: p.email.as_deref(),
        }
    }
}

/// Explains a duplicate Media Id with the name of the partner that has it.
fn media_id_conflict(
    conn: &mut PgConnection,
    brand: BrandId,
    e: diesel::result::Error,
    media_id: i64,
) -> StoreError {
    match violated_constraint(&e) {
        Some((DatabaseErrorKind::UniqueViolation, _)) => {
            let holder: Option<String> = partners::table
                .filter(partners::brand_id.eq(brand.0))
                .filter(partners::media_id.eq(media_id))
                .select(partners::name)
                .first(conn)
                .optional()
                .unwrap_or(None);
            StoreError::Conflict(match holder {
                Some(name) => format!("Media Id {media_id} already belongs to the partner {name}."),
                None => format!("Media Id {media_id} is already taken."),
            })
        }
        _ => e.into(),
    }
}

pub fn create(conn: &mut PgConnection, brand: BrandId, p: &NewPartner) -> StoreResult<Partner> {
    let res = diesel::insert_into(partners::table)
        .values((partners::brand_id.eq(brand.0), PartnerColumns::from(p)))
        .returning(Partner::as_returning())
        .get_result(conn);
    res.map_err(|e| media_id_conflict(conn, brand, e, p.media_id))
}

pub fn update(
    conn: &mut PgConnection,
    brand: BrandId,
    id: PartnerId,
    p: &NewPartner,
) -> StoreResult<Partner> {
    let res = diesel::update(
        partners::table
            .filter(partners::brand_id.eq(brand.0))
            .filter(partners::id.eq(id.0)),
    )
    .set((
        PartnerColumns::from(p),
        partners::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Partner::as_returning())
    .get_result(conn);
    match res {
        Err(diesel::result::Error::NotFound) => Err(StoreError::NotFound),
        r => r.map_err(|e| media_id_conflict(conn, brand, e, p.media_id)),
    }
}
