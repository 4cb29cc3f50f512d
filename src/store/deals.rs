//! Deals (the offers promo codes carry), each in one program.

use super::{violated_constraint, OptionalExt, StoreError, StoreResult};
use crate::db::schema::{deals, programs, promo_codes};
use crate::domain::deal::{describe, DealKind, NewDeal};
use crate::domain::{BrandId, DealId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deals)]
pub struct Deal {
    pub brand_id: i64,
    pub id: i64,
    pub program_id: i64,
    pub name: String,
    pub kind: String,
    pub value: Option<Decimal>,
    pub currency: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Deal {
    /// How the deal reads: "20% off", "10.00 USD off", "Free shipping".
    pub fn label(&self) -> String {
        match DealKind::parse(&self.kind) {
            Some(k) => describe(k, self.value, self.currency.as_deref()),
            None => self.kind.clone(),
        }
    }
}

/// The conflict when the form names a program the brand does not have (the
/// composite foreign key `(brand_id, program_id)` refuses it).
pub const NO_SUCH_PROGRAM: &str = "No such program: choose one from the list.";

const MOVE_REFUSED: &str = "This deal is used by promo codes of its program, so it cannot move to \
     another program. Create a new deal in that program instead.";

/// Every deal of the brand, by program name, then deal name.
pub fn list(conn: &mut PgConnection, brand: BrandId) -> StoreResult<Vec<Deal>> {
    Ok(deals::table
        .inner_join(
            programs::table.on(programs::brand_id
                .eq(deals::brand_id)
                .and(programs::id.eq(deals::program_id))),
        )
        .filter(deals::brand_id.eq(brand.0))
        .order((programs::name.asc(), deals::name.asc(), deals::id.asc()))
        .select(Deal::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut PgConnection, brand: BrandId, id: DealId) -> StoreResult<Deal> {
    deals::table
        .filter(deals::brand_id.eq(brand.0))
        .filter(deals::id.eq(id.0))
        .select(Deal::as_select())
        .first(conn)
        .found()
}

/// The columns a deal writes, on create and on save (no value or currency:
/// NULL).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = deals, treat_none_as_null = true, treat_none_as_default_value = false)]
struct DealColumns<'a> {
    program_id: i64,
    name: &'a str,
    kind: &'a str,
    value: Option<Decimal>,
    currency: Option<&'a str>,
}

impl<'a> From<&'a NewDeal> for DealColumns<'a> {
    fn from(d: &'a NewDeal) -> Self {
        DealColumns {
            program_id: d.program_id.0,
            name: &d.name,
            kind: d.kind.as_str(),
            value: d.value,
            currency: d.currency.as_deref(),
        }
    }
}

/// Explains a broken constraint: another brand's (or no) program, or a name
/// already used in the program.
fn map_err(e: diesel::result::Error, d: &NewDeal) -> StoreError {
    match violated_constraint(&e) {
        Some((DatabaseErrorKind::ForeignKeyViolation, _)) => StoreError::Invalid {
            field: "program_id",
            message: NO_SUCH_PROGRAM.into(),
        },
        Some((DatabaseErrorKind::UniqueViolation, _)) => StoreError::Invalid {
            field: "name",
            message: format!("A deal named {} already exists in this program.", d.name),
        },
        _ => e.into(),
    }
}

pub fn create(conn: &mut PgConnection, brand: BrandId, d: &NewDeal) -> StoreResult<Deal> {
    diesel::insert_into(deals::table)
        .values((deals::brand_id.eq(brand.0), DealColumns::from(d)))
        .returning(Deal::as_returning())
        .get_result(conn)
        .map_err(|e| map_err(e, d))
}

/// Saves a deal. A deal that promo codes use stays in their program, so a
/// code's deal is always a deal of the code's program.
pub fn update(
    conn: &mut PgConnection,
    brand: BrandId,
    id: DealId,
    d: &NewDeal,
) -> StoreResult<Deal> {
    conn.transaction(|conn| {
        let used_elsewhere: i64 = promo_codes::table
            .filter(promo_codes::brand_id.eq(brand.0))
            .filter(promo_codes::deal_id.eq(id.0))
            .filter(promo_codes::program_id.ne(d.program_id.0))
            .count()
            .get_result(conn)?;
        if used_elsewhere > 0 {
            return Err(StoreError::Invalid {
                field: "program_id",
                message: MOVE_REFUSED.into(),
            });
        }
        diesel::update(
            deals::table
                .filter(deals::brand_id.eq(brand.0))
                .filter(deals::id.eq(id.0)),
        )
        .set(DealColumns::from(d))
        .returning(Deal::as_returning())
        .get_result(conn)
        .map_err(|e| match e {
            diesel::result::Error::NotFound => StoreError::NotFound,
            e => map_err(e, d),
        })
    })
}
