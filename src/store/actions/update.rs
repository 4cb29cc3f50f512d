//! State changes of actions (approve, reverse, automatic approval), each
//! with its `action_updates` row in the same transaction.
//!
//! The rules are `domain::action`'s; they are applied here to the row as it
//! is under a lock (`SELECT ... FOR UPDATE`), so two managers clicking at
//! once, or a manager and the automatic approval, cannot both change it:
//! the second waits for the first and then sees the new state.

use super::{get, ActionRow};
use crate::db::schema::{action_updates, actions};
use crate::domain::action::{check_approve, check_reverse, ActionState, Refusal, ReversalReason};
use crate::domain::{ActionId, BrandId, UserId};
use crate::store::{OptionalExt, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};

/// Who changes an action: a user (by email), an API token (by name), or
/// the automatic approval.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    /// `action_updates.author`: the user's email or the token's name.
    pub name: &'a str,
    pub user: Option<UserId>,
    pub token: Option<i64>,
}

/// The author of automatic approvals.
pub const AUTO_APPROVAL_AUTHOR: &str = "automatic approval";

/// The state and locking date of one action, locked until the end of the
/// transaction.
fn lock(
    conn: &mut PgConnection,
    brand: BrandId,
    id: ActionId,
) -> StoreResult<(ActionState, DateTime<Utc>)> {
    let (state, locking): (String, DateTime<Utc>) = actions::table
        .filter(actions::brand_id.eq(brand.0))
        .filter(actions::id.eq(id.0))
        .select((actions::state, actions::locking_date))
        .for_update()
        .first(conn)
        .found()?;
    let state = ActionState::parse(&state)
        .ok_or_else(|| StoreError::Conflict(format!("The action's state {state} is unknown.")))?;
    Ok((state, locking))
}

#[allow(clippy::too_many_arguments)]
fn record(
    conn: &mut PgConnection,
    brand: BrandId,
    id: ActionId,
    kind: &str,
    reason: Option<&str>,
    author: Author<'_>,
    changes: serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::insert_into(action_updates::table)
        .values((
            action_updates::brand_id.eq(brand.0),
            action_updates::action_id.eq(id.0),
            action_updates::changed_at.eq(now),
            action_updates::kind.eq(kind),
            action_updates::reason.eq(reason),
            action_updates::author.eq(author.name),
            action_updates::user_id.eq(author.user.map(|u| u.0)),
            action_updates::token_id.eq(author.token),
            action_updates::changes.eq(changes),
        ))
        .execute(conn)?;
    Ok(())
}

/// Approves a pending action. `Ok(Err(refusal))` when the rules refuse it
/// (nothing changed); `NotFound` for an action that is not the brand's.
pub fn approve(
    conn: &mut PgConnection,
    brand: BrandId,
    id: ActionId,
    author: Author<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Result<ActionRow, Refusal>> {
    conn.transaction(|conn| {
        let (state, _) = lock(conn, brand, id)?;
        if let Err(refusal) = check_approve(state) {
            return Ok(Err(refusal));
        }
        diesel::update(
            actions::table
                .filter(actions::brand_id.eq(brand.0))
                .filter(actions::id.eq(id.0)),
        )
        .set((
            actions::state.eq(ActionState::Approved.as_str()),
            actions::approved_at.eq(now),
            actions::updated_at.eq(now),
        ))
        .execute(conn)?;
        record(
            conn,
            brand,
            id,
            "approved",
            None,
            author,
            serde_json::json!({ "state": [state.as_str(), ActionState::Approved.as_str()] }),
            now,
        )?;
        Ok(Ok(get(conn, brand, id)?))
    })
}

/// Reverses a pending or approved action that is not locked yet, with its
/// reason and an optional note (kept in the update's changes as
/// `"note": [null, text]`).
pub fn reverse(
    conn: &mut PgConnection,
    brand: BrandId,
    id: ActionId,
    reason: ReversalReason,
    note: Option<&str>,
    author: Author<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Result<ActionRow, Refusal>> {
    conn.transaction(|conn| {
        let (state, locking) = lock(conn, brand, id)?;
        if let Err(refusal) = check_reverse(state, locking, now) {
            return Ok(Err(refusal));
        }
        diesel::update(
            actions::table
                .filter(actions::brand_id.eq(brand.0))
                .filter(actions::id.eq(id.0)),
        )
        .set((
            actions::state.eq(ActionState::Reversed.as_str()),
            actions::reversal_reason.eq(reason.as_str()),
            actions::reversed_at.eq(now),
            actions::updated_at.eq(now),
        ))
        .execute(conn)?;
        let mut changes =
            serde_json::json!({ "state": [state.as_str(), ActionState::Reversed.as_str()] });
        if let Some(note) = note {
            changes["note"] = serde_json::json!([null, note]);
        }
        record(
            conn,
            brand,
            id,
            "reversed",
            Some(reason.as_str()),
            author,
            changes,
            now,
        )?;
        Ok(Ok(get(conn, brand, id)?))
    })
}

/// Approves up to `limit` of the brand's pending actions whose locking
/// date is at or before `now`, each with an `auto_approved` update, in one
/// statement (so one transaction). Gives how many it approved.
///
/// The batch is read along `actions_locking_idx (brand_id, locking_date)
/// WHERE state = 'PENDING'`, oldest locking date first, and locked
/// `FOR UPDATE SKIP LOCKED`: several servers running this at once each take
/// different rows instead of waiting for one another, and a row another
/// transaction changed meanwhile (a manager reversed it) is checked again
/// on its newest version, so it is no longer `PENDING` and is left alone.
/// An action is therefore approved exactly once, and never once reversed.
/// Every statement names one brand, so on a database sharded by brand
/// (Citus) it runs on that brand's shard alone.
pub fn auto_approve_batch(
    conn: &mut PgConnection,
    brand: BrandId,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<usize> {
    Ok(diesel::sql_query(
        "WITH due AS (
             SELECT id FROM actions
             WHERE brand_id = $1 AND state = 'PENDING' AND locking_date <= $2
             ORDER BY locking_date
             LIMIT $3
             FOR UPDATE SKIP LOCKED
         ), approved AS (
             UPDATE actions a
             SET state = 'APPROVED', approved_at = $2, updated_at = $2
             FROM due
             WHERE a.brand_id = $1 AND a.id = due.id AND a.state = 'PENDING'
             RETURNING a.id
         )
         INSERT INTO action_updates (brand_id, action_id, changed_at, kind, author, changes)
         SELECT $1, id, $2, 'auto_approved', $4, '{\"state\": [\"PENDING\", \"APPROVED\"]}'::jsonb
         FROM approved",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(limit)
    .bind::<Text, _>(AUTO_APPROVAL_AUTHOR)
    .execute(conn)?)
}

/// Every brand, by id: the automatic approval visits each (one cheap index
/// probe for a brand with nothing due).
pub fn brand_ids(conn: &mut PgConnection) -> StoreResult<Vec<BrandId>> {
    use crate::db::schema::brands;
    Ok(brands::table
        .select(brands::id)
        .order(brands::id.asc())
        .load::<i64>(conn)?
        .into_iter()
        .map(BrandId)
        .collect())
}
