//! Creating and changing codes, each change with its history entry in the
//! same transaction.

use super::conflicts::{code_write_error, is_overlap, overlap_conflict, Place};
use super::history::{diff, record, snapshot};
use super::{get, has_credited, CodeRow};
use crate::db::schema::promo_codes;
use crate::domain::code::{CodeStatus, NewCode};
use crate::domain::partner::Payout;
use crate::domain::{BrandId, CodeId, DealId, ProgramId, UserId};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// The columns a user edits, as written to the table: shared by insert,
/// update and the history snapshot.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = promo_codes, treat_none_as_null = true)]
pub(super) struct CodeColumns {
    pub(super) program_id: i64,
    pub(super) code: String,
    pub(super) code_type: String,
    pub(super) partner_id: Option<i64>,
    pub(super) credit_rule: Option<String>,
    pub(super) match_mode: String,
    pub(super) deal_id: Option<i64>,
    pub(super) active_start: Option<DateTime<Utc>>,
    pub(super) active_end: Option<DateTime<Utc>>,
    pub(super) time_zone: String,
    pub(super) payout_percent: Option<Decimal>,
    pub(super) payout_flat: Option<Decimal>,
    pub(super) comments: String,
}

impl From<&NewCode> for CodeColumns {
    fn from(c: &NewCode) -> Self {
        let (payout_percent, payout_flat) = Payout::columns(c.payout);
        CodeColumns {
            program_id: c.program_id.0,
            code: c.code.clone(),
            code_type: c.code_type.as_str().into(),
            partner_id: c.partner_id.map(|p| p.0),
            credit_rule: c.credit_rule.map(|r| r.as_str().into()),
            match_mode: c.match_mode.as_str().into(),
            deal_id: c.deal_id.map(|d| d.0),
            active_start: c.active_start,
            active_end: c.active_end,
            time_zone: c.time_zone.name().into(),
            payout_percent,
            payout_flat,
            comments: c.comments.clone(),
        }
    }
}

impl From<&CodeRow> for CodeColumns {
    fn from(r: &CodeRow) -> Self {
        CodeColumns {
            program_id: r.program_id,
            code: r.code.clone(),
            code_type: r.code_type.clone(),
            partner_id: r.partner_id,
            credit_rule: r.credit_rule.clone(),
            match_mode: r.match_mode.clone(),
            deal_id: r.deal_id,
            active_start: r.active_start,
            active_end: r.active_end,
            time_zone: r.time_zone.clone(),
            payout_percent: r.payout_percent,
            payout_flat: r.payout_flat,
            comments: r.comments.clone(),
        }
    }
}

/// Creates a code and its first history entry, in one transaction.
pub fn create(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    c: &NewCode,
) -> StoreResult<CodeId> {
    let res = conn.transaction::<i64, diesel::result::Error, _>(|conn| {
        let cols = CodeColumns::from(c);
        let id: i64 = diesel::insert_into(promo_codes::table)
            .values((
                &cols,
                promo_codes::brand_id.eq(brand.0),
                promo_codes::created_by.eq(user.0),
                promo_codes::updated_by.eq(user.0),
            ))
            .returning(promo_codes::id)
            .get_result(conn)?;
        let changes = diff(&Map::new(), &snapshot(&cols));
        record(conn, brand, id, Some(user), "created", changes)?;
        Ok(id)
    });
    match res {
        Ok(id) => Ok(CodeId(id)),
        Err(e) => Err(code_write_error(conn, brand, c, None, e)),
    }
}

/// Saves an edit with a history entry of what changed. The value of a code
/// that has credited an action cannot change.
pub fn update(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    id: CodeId,
    c: &NewCode,
) -> StoreResult<()> {
    let res = conn.transaction::<(), StoreError, _>(|conn| {
        let before = get_for_update(conn, brand, id)?;
        let value_changed = before.code != c.code || before.match_mode != c.match_mode.as_str() || before.program_id != c.program_id.0;
        if value_changed && has_credited(conn, brand, id)? {
            return Err(StoreError::Conflict(
                "This code has credited orders, so its value, match mode and program cannot change. \
                 Expire it and create a new code instead."
                    .into(),
            ));
        }
        let cols = CodeColumns::from(c);
        let changes = diff(&snapshot(&CodeColumns::from(&before)), &snapshot(&cols));
        if changes.as_object().is_some_and(|m| m.is_empty()) {
            return Ok(());
        }
        diesel::update(promo_codes::table.filter(promo_codes::brand_id.eq(brand.0)).filter(promo_codes::id.eq(id.0)))
            .set((&cols, promo_codes::updated_by.eq(user.0), promo_codes::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .map_err(StoreError::Db)?;
        record(conn, brand, id.0, Some(user), "updated", changes)?;
        Ok(())
    });
    match res {
        Err(StoreError::Db(e)) => Err(code_write_error(conn, brand, c, Some(id), e)),
        other => other,
    }
}

fn get_for_update(conn: &mut PgConnection, brand: BrandId, id: CodeId) -> StoreResult<CodeRow> {
    diesel::sql_query("SELECT 1 FROM promo_codes WHERE brand_id = $1 AND id = $2 FOR UPDATE")
        .bind::<BigInt, _>(brand.0)
        .bind::<BigInt, _>(id.0)
        .execute(conn)?;
    get(conn, brand, id)
}

/// Changes a code's dates (expire, reactivate, bulk date change) with a
/// history entry; a resulting overlap is refused with the reason.
fn set_window(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    id: CodeId,
    action: &str,
    window: impl FnOnce(&CodeRow) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), String>,
) -> StoreResult<CodeRow> {
    let res = conn.transaction::<CodeRow, StoreError, _>(|conn| {
        let before = get_for_update(conn, brand, id)?;
        let (start, end) = window(&before).map_err(StoreError::Conflict)?;
        diesel::update(
            promo_codes::table
                .filter(promo_codes::brand_id.eq(brand.0))
                .filter(promo_codes::id.eq(id.0)),
        )
        .set((
            promo_codes::active_start.eq(start),
            promo_codes::active_end.eq(end),
            promo_codes::updated_by.eq(user.0),
            promo_codes::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map_err(StoreError::Db)?;
        let mut changes = Map::new();
        let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
        for (field, from, to) in [
            ("active_start", before.active_start, start),
            ("active_end", before.active_end, end),
        ] {
            if from != to {
                changes.insert(field.into(), json!([time(from), time(to)]));
            }
        }
        record(
            conn,
            brand,
            id.0,
            Some(user),
            action,
            Value::Object(changes),
        )?;
        Ok(before)
    });
    match res {
        Err(StoreError::Db(e)) if is_overlap(&e) => {
            // Look again to name the code in the way.
            let row = get(conn, brand, id)?;
            let place = Place {
                program: ProgramId(row.program_id),
                value: &row.code,
                start: None,
                end: None,
                except: Some(id),
            };
            Err(overlap_conflict(conn, brand, &place))
        }
        other => other,
    }
}

/// Expires a code at `at` (now when `None`), by the rule of
/// [`expiry_end`](crate::domain::code::expiry_end): a date before the code's
/// start is refused with the reason.
pub fn expire(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    id: CodeId,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<CodeRow> {
    set_window(conn, brand, user, id, "expired", |c| {
        let end = crate::domain::code::expiry_end(
            &c.code,
            c.active_start,
            c.active_end,
            at,
            now,
            c.tz(),
        )?;
        Ok((c.active_start, Some(end)))
    })
}

/// Reactivates a code: no end (`None`) or a new end in the future. Refused
/// when the code would overlap another active code with the same value.
pub fn reactivate(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    id: CodeId,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<CodeRow> {
    set_window(conn, brand, user, id, "reactivated", |c| {
        if let Some(e) = end {
            if e <= now {
                return Err("The new end date must be in the future.".into());
            }
            if c.active_start.is_some_and(|s| e <= s) {
                return Err("The new end date must be after the code's start.".into());
            }
        }
        if crate::domain::code::status_at(c.active_start, c.active_end, now) == CodeStatus::Active
            && c.active_end.is_none()
            && end.is_none()
        {
            return Err(format!("{} is already active with no end date.", c.code));
        }
        // A code cancelled before it began starts now again.
        let start = match (c.active_start, c.active_end) {
            (Some(s), Some(e)) if e <= s && s <= now => Some(now),
            _ => c.active_start,
        };
        Ok((start, end))
    })
}

/// Sets both dates (bulk "change active dates").
pub fn set_dates(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    id: CodeId,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> StoreResult<CodeRow> {
    set_window(conn, brand, user, id, "dates_changed", |_| {
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                return Err("The end must be after the start.".into());
            }
        }
        Ok((start, end))
    })
}

/// Applies a deal (or removes it with `None`); the deal must be of the
/// code's program.
pub fn apply_deal(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    id: CodeId,
    deal: Option<DealId>,
) -> StoreResult<CodeRow> {
    conn.transaction::<CodeRow, StoreError, _>(|conn| {
        let before = get_for_update(conn, brand, id)?;
        if let Some(d) = deal {
            let program: Option<i64> = crate::db::schema::deals::table
                .filter(crate::db::schema::deals::brand_id.eq(brand.0))
                .filter(crate::db::schema::deals::id.eq(d.0))
                .select(crate::db::schema::deals::program_id)
                .first(conn)
                .optional()?;
            match program {
                None => return Err(StoreError::Conflict("No such deal.".into())),
                Some(p) if p != before.program_id => {
                    return Err(StoreError::Conflict(format!(
                        "The deal belongs to another program than {} ({}).",
                        before.code, before.program_name
                    )))
                }
                _ => {}
            }
        }
        diesel::update(
            promo_codes::table
                .filter(promo_codes::brand_id.eq(brand.0))
                .filter(promo_codes::id.eq(id.0)),
        )
        .set((
            promo_codes::deal_id.eq(deal.map(|d| d.0)),
            promo_codes::updated_by.eq(user.0),
            promo_codes::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
        record(
            conn,
            brand,
            id.0,
            Some(user),
            "deal_applied",
            json!({"deal_id": [before.deal_id, deal.map(|d| d.0)]}),
        )?;
        Ok(before)
    })
}

/// What a change of many codes did: the codes changed (id and code), and
/// those refused (id, code, reason).
#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub done: Vec<(i64, String)>,
    pub refused: Vec<(i64, String, String)>,
}

/// Changes each code with `change`, which gets the code as it is and runs
/// one of the changes above, each in its own transaction: one refusal (an
/// overlap, an already expired code) does not undo the others, and each
/// outcome is reported. An id that is not one of the brand's codes is
/// refused as "No such code."; an error other than a refusal stops it.
pub fn for_each_code(
    conn: &mut PgConnection,
    brand: BrandId,
    ids: &[CodeId],
    mut change: impl FnMut(&mut PgConnection, &CodeRow) -> StoreResult<CodeRow>,
) -> StoreResult<BulkOutcome> {
    let mut out = BulkOutcome::default();
    for &id in ids {
        let row = match get(conn, brand, id) {
            Ok(r) => r,
            Err(StoreError::NotFound) => {
                out.refused
                    .push((id.0, format!("#{id}"), "No such code.".to_string()));
                continue;
            }
            Err(e) => return Err(e),
        };
        match change(conn, &row) {
            Ok(r) => out.done.push((id.0, r.code)),
            Err(StoreError::Conflict(m)) => {
                let name = get(conn, brand, id).map(|r| r.code).unwrap_or_default();
                out.refused.push((id.0, name, m));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
