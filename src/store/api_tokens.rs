//! API auth tokens of a brand, and the authentication of API requests
//! (Account SID + token).

use super::{OptionalExt, StoreError, StoreResult};
use crate::db::schema::{api_tokens, brands, users};
use crate::domain::token::{self, TokenId};
use crate::domain::{BrandId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// The most live (not revoked) tokens a brand may have: authentication
/// compares a token with each of them.
pub const MAX_LIVE_TOKENS: i64 = 25;

/// A token as the settings page lists it (never its hash).
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: TokenId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The email of the user who created it (none once that user is gone).
    pub created_by: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just created: its text, shown once and not kept.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: TokenId,
    pub name: String,
    pub token: String,
}

/// Who an authenticated API request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPrincipal {
    pub brand: BrandId,
    pub token_id: TokenId,
    pub token_name: String,
}

/// What revoking found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now; the token's name.
    Now(String),
    /// It had been revoked before (kept as it was).
    Already(String),
}

/// Creates a token named `name` (already validated) and returns its text,
/// the only time it is known: only its hash is stored.
pub fn create(
    conn: &mut PgConnection,
    brand: BrandId,
    by: Option<UserId>,
    name: &str,
) -> StoreResult<NewToken> {
    conn.transaction(|conn| {
        // Two creations at once must not both pass the limit: they take the
        // brand row in turn (NO KEY UPDATE does not block inserts that
        // reference the brand).
        brands::table
            .find(brand.0)
            .select(brands::id)
            .for_no_key_update()
            .first::<i64>(conn)
            .found()?;
        let live: i64 = api_tokens::table
            .filter(api_tokens::brand_id.eq(brand.0))
            .filter(api_tokens::revoked_at.is_null())
            .count()
            .get_result(conn)?;
        if live >= MAX_LIVE_TOKENS {
            return Err(StoreError::Invalid {
                field: "name",
                message: format!(
                    "A brand may have at most {MAX_LIVE_TOKENS} active tokens; revoke one it no \
                     longer uses first."
                ),
            });
        }
        let text = token::generate();
        let (id, name): (i64, String) = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::brand_id.eq(brand.0),
                api_tokens::name.eq(name.trim()),
                api_tokens::token_hash.eq(&token::hash(&text)[..]),
                api_tokens::created_by.eq(by.map(|u| u.0)),
            ))
            .returning((api_tokens::id, api_tokens::name))
            .get_result(conn)?;
        Ok(NewToken {
            id: TokenId(id),
            name,
            token: text,
        })
    })
}

type ListRow = (
    i64,
    String,
    DateTime<Utc>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// The brand's tokens: live ones first, newest first.
pub fn list(conn: &mut PgConnection, brand: BrandId) -> StoreResult<Vec<TokenRow>> {
    let rows: Vec<ListRow> = api_tokens::table
        .left_join(
            users::table.on(users::brand_id
                .eq(api_tokens::brand_id)
                .and(users::id.nullable().eq(api_tokens::created_by))),
        )
        .filter(api_tokens::brand_id.eq(brand.0))
        .order((
            api_tokens::revoked_at.is_not_null().asc(),
            api_tokens::id.desc(),
        ))
        .select((
            api_tokens::id,
            api_tokens::name,
            api_tokens::created_at,
            users::email.nullable(),
            api_tokens::last_used_at,
            api_tokens::revoked_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, created_at, created_by, last_used_at, revoked_at)| TokenRow {
                id: TokenId(id),
                name,
                created_at,
                created_by,
                last_used_at,
                revoked_at,
            },
        )
        .collect())
}

/// Revokes a token of the brand: it never authenticates again. Another
/// brand's token id is not found.
pub fn revoke(conn: &mut PgConnection, brand: BrandId, id: TokenId) -> StoreResult<Revoked> {
    let scoped = api_tokens::table
        .filter(api_tokens::brand_id.eq(brand.0))
        .filter(api_tokens::id.eq(id.0));
    let now: Option<String> = diesel::update(scoped.filter(api_tokens::revoked_at.is_null()))
        .set(api_tokens::revoked_at.eq(diesel::dsl::now))
        .returning(api_tokens::name)
        .get_result(conn)
        .optional()?;
    match now {
        Some(name) => Ok(Revoked::Now(name)),
        None => scoped
            .select(api_tokens::name)
            .first(conn)
            .found()
            .map(Revoked::Already),
    }
}

/// The brand and token that `account_sid` and `token` authenticate, if
/// any: one query reads the brand of the SID with the hashes of its live
/// tokens, and the token is compared with each in constant time. A wrong
/// SID, a wrong token and a revoked token alike give `None`.
pub fn authenticate(
    conn: &mut PgConnection,
    account_sid: &str,
    token: &str,
) -> StoreResult<Option<ApiPrincipal>> {
    let rows: Vec<(i64, i64, String, Vec<u8>)> = brands::table
        .inner_join(api_tokens::table.on(api_tokens::brand_id.eq(brands::id)))
        .filter(brands::api_account_sid.eq(account_sid))
        .filter(api_tokens::revoked_at.is_null())
        .select((
            brands::id,
            api_tokens::id,
            api_tokens::name,
            api_tokens::token_hash,
        ))
        .load(conn)?;
    let found = token::find(token, rows.iter().map(|r| &r.3[..]));
    Ok(found
        .and_then(|i| rows.into_iter().nth(i))
        .map(|(brand, id, name, _)| ApiPrincipal {
            brand: BrandId(brand),
            token_id: TokenId(id),
            token_name: name,
        }))
}

/// Records that a token was used now, unless that was recorded less than a
/// minute ago (by any server). Callers also keep the time of their last
/// write, so a busy token costs one write a minute per server at most.
pub fn touch(conn: &mut PgConnection, brand: BrandId, id: TokenId) -> StoreResult<()> {
    diesel::sql_query(
        "UPDATE api_tokens SET last_used_at = now() \
         WHERE brand_id = $1 AND id = $2 \
           AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    )
    .bind::<diesel::sql_types::BigInt, _>(brand.0)
    .bind::<diesel::sql_types::BigInt, _>(id.0)
    .execute(conn)?;
    Ok(())
}
