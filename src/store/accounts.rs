//! Brands and their users.

use super::{violated_constraint, StoreError, StoreResult};
use crate::db::schema::{brands, users};
use crate::domain::{BrandId, Role, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = brands)]
pub struct Brand {
    pub id: i64,
    pub name: String,
    pub api_account_sid: String,
    pub created_at: DateTime<Utc>,
}

/// What login needs to check a password.
#[derive(Debug, Clone, Queryable)]
pub struct LoginRow {
    pub brand_id: i64,
    pub id: i64,
    pub password_hash: String,
    pub auth_version: i32,
}

/// The user behind a session, with their brand's name.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub brand_id: BrandId,
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub auth_version: i32,
    pub brand_name: String,
    /// Bumped by every change to the brand's programs, partners and deals.
    pub lists_version: i64,
}

fn new_account_sid() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    format!("PD{}", Alphanumeric.sample_string(&mut rand::rng(), 30))
}

pub fn create_brand(conn: &mut PgConnection, name: &str) -> StoreResult<Brand> {
    Ok(diesel::insert_into(brands::table)
        .values((
            brands::name.eq(name.trim()),
            brands::api_account_sid.eq(new_account_sid()),
        ))
        .returning(Brand::as_returning())
        .get_result(conn)?)
}

pub fn find_brand_by_name(conn: &mut PgConnection, name: &str) -> StoreResult<Option<Brand>> {
    Ok(brands::table
        .filter(brands::name.eq(name.trim()))
        .select(Brand::as_select())
        .first(conn)
        .optional()?)
}

pub fn get_brand(conn: &mut PgConnection, brand: BrandId) -> StoreResult<Brand> {
    super::OptionalExt::found(
        brands::table
            .find(brand.0)
            .select(Brand::as_select())
            .first(conn),
    )
}

/// Creates a user; `password_hash` is an Argon2 PHC string.
pub fn create_user(
    conn: &mut PgConnection,
    brand: BrandId,
    email: &str,
    role: Role,
    password_hash: &str,
) -> StoreResult<UserId> {
    let res = diesel::insert_into(users::table)
        .values((
            users::brand_id.eq(brand.0),
            users::email.eq(email.trim()),
            users::role.eq(role.as_str()),
            users::password_hash.eq(password_hash),
        ))
        .returning(users::id)
        .get_result::<i64>(conn);
    match res {
        Ok(id) => Ok(UserId(id)),
        Err(e) => match violated_constraint(&e) {
            Some((DatabaseErrorKind::UniqueViolation, _)) => Err(StoreError::Conflict(format!(
                "a user with the email {} already exists",
                email.trim()
            ))),
            Some((DatabaseErrorKind::CheckViolation, _)) => Err(StoreError::Conflict(format!(
                "`{}` is not a valid email address",
                email.trim()
            ))),
            _ => Err(e.into()),
        },
    }
}

/// Sets a new password and ends the user's other sessions.
pub fn set_password(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    password_hash: &str,
) -> StoreResult<()> {
    diesel::update(
        users::table
            .filter(users::brand_id.eq(brand.0))
            .filter(users::id.eq(user.0)),
    )
    .set((
        users::password_hash.eq(password_hash),
        users::auth_version.eq(users::auth_version + 1),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn find_login(conn: &mut PgConnection, email: &str) -> StoreResult<Option<LoginRow>> {
    Ok(users::table
        .filter(super::lower(users::email).eq(super::lower(email.trim())))
        .select((
            users::brand_id,
            users::id,
            users::password_hash,
            users::auth_version,
        ))
        .first(conn)
        .optional()?)
}

pub fn record_login(conn: &mut PgConnection, brand: BrandId, user: UserId) -> StoreResult<()> {
    diesel::update(
        users::table
            .filter(users::brand_id.eq(brand.0))
            .filter(users::id.eq(user.0)),
    )
    .set(users::last_login_at.eq(diesel::dsl::now))
    .execute(conn)?;
    Ok(())
}

pub fn session_user(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
) -> StoreResult<Option<SessionUser>> {
    let row: Option<(i64, i64, String, String, i32, String, i64)> = users::table
        .inner_join(brands::table.on(brands::id.eq(users::brand_id)))
        .filter(users::brand_id.eq(brand.0))
        .filter(users::id.eq(user.0))
        .select((
            users::brand_id,
            users::id,
            users::email,
            users::role,
            users::auth_version,
            brands::name,
            brands::lists_version,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(
        |(b, u, email, role, auth_version, brand_name, lists_version)| {
            Some(SessionUser {
                brand_id: BrandId(b),
                user_id: UserId(u),
                email,
                role: Role::parse(&role)?,
                auth_version,
                brand_name,
                lists_version,
            })
        },
    ))
}
