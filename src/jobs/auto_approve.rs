//! Automatic approval (SPEC §6 "Action states"): a pending action becomes
//! `APPROVED` once its locking date (the event date plus the program's
//! locking period, stored on the action) has passed.
//!
//! Every server runs a pass each interval. A pass visits each brand and
//! approves its due actions in batches of [`BATCH`] rows, one statement and
//! transaction per batch (`store::actions::update::auto_approve_batch`):
//! short transactions, row locks held only for one batch.
//!
//! Why several servers may run passes at once: each batch locks its rows
//! `FOR UPDATE SKIP LOCKED`, so two passes take different rows rather than
//! waiting, and a row is approved only while it is still `PENDING` on its
//! newest version. An action is approved exactly once, by whichever pass
//! locks it first, and a reversed one never. (A session advisory lock
//! letting one server run the pass would also work, but then a single slow
//! or stuck server holds everyone's approvals; with SKIP LOCKED the others
//! carry on.) Per-brand statements keep each one on the brand's part of the
//! `actions_locking_idx (brand_id, locking_date) WHERE state = 'PENDING'`
//! index, and on one shard of a database distributed by brand (Citus, where
//! `FOR UPDATE` is supported only on single-shard queries).

use crate::db::PgPool;
use crate::store::actions::update::{auto_approve_batch, brand_ids};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use std::time::Duration;

/// Actions approved per statement.
pub const BATCH: i64 = 1_000;

/// One pass: approves every pending action whose locking date is at or
/// before `now`, brand by brand, `batch` at a time. Gives how many it
/// approved (a concurrent pass may have taken others).
pub fn run_pass(conn: &mut PgConnection, now: DateTime<Utc>, batch: i64) -> StoreResult<u64> {
    let batch = batch.max(1);
    let mut total = 0u64;
    for brand in brand_ids(conn)? {
        loop {
            let n = auto_approve_batch(conn, brand, now, batch)?;
            total += n as u64;
            // A short batch: nothing more is due (or another pass holds it).
            if (n as i64) < batch {
                break;
            }
        }
    }
    Ok(total)
}

/// Runs a pass every `interval` (the first right away, catching up on what
/// came due while no server ran) on the current runtime, the work itself on
/// its blocking threads. A failed pass is logged and the next one tries
/// again.
pub fn spawn(pool: PgPool, interval: Duration) {
    actix_web::rt::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let pool = pool.clone();
            let pass = actix_web::rt::task::spawn_blocking(move || {
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                run_pass(&mut conn, Utc::now(), BATCH).map_err(|e| e.to_string())
            })
            .await;
            match pass {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(approved = n, "automatic approval"),
                Ok(Err(e)) => tracing::warn!(error = %e, "automatic approval failed"),
                Err(e) => tracing::warn!(error = %e, "automatic approval failed (panicked)"),
            }
        }
    });
}
