//! Rows for the CSV export: every row of a filter in batches, or a chosen
//! selection.

use super::list::{filters, literal_hits, partners_named, Search};
use super::{CodeRow, ROW_COLUMNS, ROW_FROM};
use crate::domain::code::CodeQuery;
use crate::domain::BrandId;
use crate::store::sql::{Bind, Keyset, Where};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// Every row of a filter, `batch` at a time in the list's order (newest
/// first), for the CSV export: `after` is the last id of the previous batch.
pub fn export_batch(
    conn: &mut PgConnection,
    brand: BrandId,
    f: &CodeQuery,
    now: DateTime<Utc>,
    after: Option<i64>,
    batch: i64,
) -> StoreResult<Vec<CodeRow>> {
    let hits = partners_named(conn, brand, f)?;
    let literal = literal_hits(conn, brand, f)?;
    let mut w = filters(
        brand,
        f,
        now,
        Search::Any {
            partners: &hits,
            literal,
        },
    );
    // Newest first by id alone: `c.id < ? ORDER BY c.id DESC LIMIT ?`.
    let keyset = Keyset::by_id("c.id", after, batch);
    let (tail, tail_binds) = keyset.apply_limit(&mut w, batch);
    Ok(w.query(
        &format!("SELECT {ROW_COLUMNS}{ROW_FROM}"),
        &tail,
        tail_binds,
    )
    .load(conn)?)
}

/// Rows for a chosen set of ids (the export of a selection).
pub fn rows_by_ids(
    conn: &mut PgConnection,
    brand: BrandId,
    ids: &[i64],
) -> StoreResult<Vec<CodeRow>> {
    let mut w = Where::default();
    w.push("c.brand_id = ?", vec![Bind::int(brand.0)]);
    w.push("c.id = ANY(?)", vec![Bind::ints(ids.to_vec())]);
    Ok(w.query(
        &format!("SELECT {ROW_COLUMNS}{ROW_FROM}"),
        " ORDER BY c.id DESC",
        vec![],
    )
    .load(conn)?)
}
