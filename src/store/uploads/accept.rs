//! Accepting an upload: every valid staged row becomes a code (or updates
//! one), with history, in one transaction.

use super::check::{new_end, new_start, unchanged};
use super::{fail, get};
use crate::db::schema::{upload_rows, uploads};
use crate::domain::{BrandId, UploadId, UserId};
use crate::store::{violated_constraint, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};

pub enum AcceptOutcome {
    /// Just accepted now: created and updated codes, and the rows that
    /// matched a code they would not change (not written).
    Accepted {
        created: i64,
        updated: i64,
        unchanged: i64,
    },
    /// Nothing to do: it was accepted (or closed) before.
    AlreadyDone(String),
}

/// Creates (and updates) the codes of every valid staged row, with history,
/// in one transaction: all rows or none.
pub fn accept(
    conn: &mut PgConnection,
    brand: BrandId,
    user: UserId,
    upload: UploadId,
    now: DateTime<Utc>,
) -> StoreResult<AcceptOutcome> {
    // Ok(Err(reason)): the rows were refused before anything was written.
    let res = conn.transaction::<Result<AcceptOutcome, String>, StoreError, _>(|conn| {
        diesel::sql_query("SELECT 1 FROM uploads WHERE brand_id = $1 AND id = $2 FOR UPDATE")
            .bind::<BigInt, _>(brand.0)
            .bind::<BigInt, _>(upload.0)
            .execute(conn)?;
        let u = get(conn, brand, upload)?;
        if u.status != "reviewing" {
            return Ok(Ok(AcceptOutcome::AlreadyDone(u.status)));
        }
        let staged: i64 = upload_rows::table
            .filter(upload_rows::brand_id.eq(brand.0))
            .filter(upload_rows::upload_id.eq(upload.0))
            .count()
            .get_result(conn)?;
        if staged != u.valid_rows {
            return Err(StoreError::Conflict(
                "The review data of this upload is gone (the server restarted during the review). Upload the file again.".into(),
            ));
        }
        if staged == 0 {
            return Err(StoreError::Conflict("This upload has no valid rows to create.".into()));
        }
        // Foreign keys check each inserted row with a query of its own (about
        // 8 µs a row and key: 16 s of a 1,000,000-row accept). When the
        // connection may, the accept checks them for the whole set instead:
        // it locks the parents as the triggers would, refuses rows whose
        // parent is gone, and skips the per-row triggers in this transaction
        // only. Constraints, CHECKs and the exclusion constraint still apply.
        if set_based_parent_checks(conn)? {
            if let Some(row) = orphan_row(conn, brand, upload)? {
                return Ok(Err(gone_parent(Some(row))));
            }
        }
        // An uploaded code's creation is recorded on the code itself (upload,
        // created_by, created_at); its history page shows it as the first
        // entry. Later changes get history rows as usual.
        let created = diesel::sql_query(
            "INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule, match_mode,
                                      deal_id, active_start, active_end, time_zone, created_by, updated_by,
                                      created_at, updated_at, upload_id)
             SELECT brand_id, program_id, code, code_type, partner_id, credit_rule, match_mode, deal_id,
                    coalesce(active_start, $4), active_end, time_zone, $3, $3, $4, $4, $2
             FROM upload_rows WHERE brand_id = $1 AND upload_id = $2 AND existing_id IS NULL
             ORDER BY row_number",
        )
        .bind::<BigInt, _>(brand.0)
        .bind::<BigInt, _>(upload.0)
        .bind::<BigInt, _>(user.0)
        .bind::<Timestamptz, _>(now)
        .execute(conn)? as i64;
        // Rows that update existing codes (only when the upload asked for it):
        // each is compared with its code as it is now.
        let updated = if u.valid_rows == u.create_rows {
            0
        } else {
            // Lock the codes to update first, in a statement of its own: locking
            // them in the same statement as the UPDATE below skips every row (a
            // row updated by the current command cannot be locked), so `old` came
            // back empty and no history was written.
            diesel::sql_query(
                "SELECT c.id FROM promo_codes c JOIN upload_rows r ON r.brand_id = c.brand_id AND r.existing_id = c.id
                 WHERE r.brand_id = $1 AND r.upload_id = $2 ORDER BY c.id FOR UPDATE OF c",
            )
            .bind::<BigInt, _>(brand.0)
            .bind::<BigInt, _>(upload.0)
            .execute(conn)?;
            // Only rows that change their code are written (a file exported
            // and uploaded again changes nothing, and leaves no history).
            diesel::sql_query(format!(
                "WITH old AS (
                   SELECT c.id, c.partner_id, c.credit_rule, c.code_type, c.deal_id, c.active_start, c.active_end, c.time_zone
                   FROM promo_codes c JOIN upload_rows r ON r.brand_id = c.brand_id AND r.existing_id = c.id
                   WHERE r.brand_id = $1 AND r.upload_id = $2),
                 upd AS (
                   UPDATE promo_codes c SET code_type = r.code_type, partner_id = r.partner_id, credit_rule = r.credit_rule,
                          deal_id = r.deal_id, active_start = {new_start}, active_end = {new_end},
                          time_zone = r.time_zone, updated_by = $3, updated_at = $4
                   FROM upload_rows r
                   WHERE r.brand_id = $1 AND r.upload_id = $2 AND c.brand_id = r.brand_id AND c.id = r.existing_id
                     AND NOT {unchanged}
                   RETURNING c.brand_id, c.id, c.partner_id, c.credit_rule, c.code_type, c.deal_id, c.active_start, c.active_end, c.time_zone)
                 INSERT INTO code_history (brand_id, code_id, changed_by, changed_at, action, changes)
                 SELECT upd.brand_id, upd.id, $3, $4, 'upload_updated',
                        jsonb_strip_nulls(jsonb_build_object(
                          'upload', jsonb_build_array(NULL, $2),
                          'partner_id', CASE WHEN old.partner_id IS DISTINCT FROM upd.partner_id THEN jsonb_build_array(old.partner_id, upd.partner_id) END,
                          'credit_rule', CASE WHEN old.credit_rule IS DISTINCT FROM upd.credit_rule THEN jsonb_build_array(old.credit_rule, upd.credit_rule) END,
                          'code_type', CASE WHEN old.code_type IS DISTINCT FROM upd.code_type THEN jsonb_build_array(old.code_type, upd.code_type) END,
                          'deal_id', CASE WHEN old.deal_id IS DISTINCT FROM upd.deal_id THEN jsonb_build_array(old.deal_id, upd.deal_id) END,
                          'active_start', CASE WHEN old.active_start IS DISTINCT FROM upd.active_start THEN jsonb_build_array(old.active_start, upd.active_start) END,
                          'active_end', CASE WHEN old.active_end IS DISTINCT FROM upd.active_end THEN jsonb_build_array(old.active_end, upd.active_end) END,
                          'time_zone', CASE WHEN old.time_zone IS DISTINCT FROM upd.time_zone THEN jsonb_build_array(old.time_zone, upd.time_zone) END))
                 FROM upd JOIN old ON old.id = upd.id",
                new_start = new_start(),
                new_end = new_end(),
                unchanged = unchanged(),
            ))
            .bind::<BigInt, _>(brand.0)
            .bind::<BigInt, _>(upload.0)
            .bind::<BigInt, _>(user.0)
            .bind::<Timestamptz, _>(now)
            .execute(conn)? as i64
        };
        // The statement triggers that keep `programs.codes_version` (the
        // version caches of a program's codes follow) do not run under
        // session_replication_role = replica: bump it here, as they would
        // (for every program of the brand: a few rows, where finding the
        // programs of a million staged rows would take a pass over them).
        diesel::sql_query("UPDATE programs SET codes_version = codes_version + 1 WHERE brand_id = $1")
            .bind::<BigInt, _>(brand.0)
            .execute(conn)?;
        diesel::update(uploads::table.filter(uploads::brand_id.eq(brand.0)).filter(uploads::id.eq(upload.0)))
            .set((
                uploads::status.eq("accepted"),
                uploads::accepted_at.eq(now),
                uploads::create_rows.eq(created),
                uploads::update_rows.eq(updated),
            ))
            .execute(conn)?;
        // The staged rows go after the commit (`purge_staged`): deleting a
        // million rows here would hold the transaction for seconds more.
        Ok(Ok(AcceptOutcome::Accepted {
            created,
            updated,
            unchanged: staged - created - updated,
        }))
    });
    match res {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(message)) => {
            fail(conn, brand, upload, &message)?;
            Err(StoreError::Conflict(message))
        }
        Err(StoreError::Db(e)) => {
            let message = match violated_constraint(&e) {
                Some((_, name)) if name == "promo_codes_no_overlap" => {
                    "Nothing was created: a code with the same value was created elsewhere since the review, \
                     and now overlaps a row of this file. Upload the file again to see which row."
                        .to_string()
                }
                Some((diesel::result::DatabaseErrorKind::ForeignKeyViolation, _)) => gone_parent(None),
                Some((_, name)) => format!("Nothing was created: the database refused a row ({name})."),
                None => return Err(StoreError::Db(e)),
            };
            fail(conn, brand, upload, &message)?;
            Err(StoreError::Conflict(message))
        }
        Err(e) => Err(e),
    }
}

/// Why an accept created nothing when a row's program, partner or deal is
/// gone (the row is known when the set-based check found it).
fn gone_parent(row: Option<i64>) -> String {
    let which = row.map_or_else(|| "a row".to_string(), |r| format!("row {r}"));
    format!(
        "Nothing was created: {which} names a program, partner or deal that no longer exists. \
         Upload the file again to see the row's error."
    )
}

/// Whether this transaction may check foreign keys for the whole set and
/// skip the per-row triggers: that takes a superuser (the private cluster's
/// `postgres`). Otherwise the triggers check each row, slower but the same.
fn set_based_parent_checks(conn: &mut PgConnection) -> StoreResult<bool> {
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        value: String,
    }
    let su: Setting =
        diesel::sql_query("SELECT current_setting('is_superuser') AS value").get_result(conn)?;
    if su.value != "on" {
        return Ok(false);
    }
    diesel::sql_query("SET LOCAL session_replication_role = replica").execute(conn)?;
    Ok(true)
}

/// What the foreign keys of the staged rows would check, for the whole set:
/// the brand's programs, partners and deals are locked against deletion and
/// key changes (FOR KEY SHARE, as the triggers lock them) until the commit,
/// then the first row (if any) whose program, partner or deal is not among
/// them is returned.
fn orphan_row(
    conn: &mut PgConnection,
    brand: BrandId,
    upload: UploadId,
) -> StoreResult<Option<i64>> {
    for table in ["programs", "partners", "deals"] {
        diesel::sql_query(format!(
            "SELECT 1 FROM {table} WHERE brand_id = $1 FOR KEY SHARE"
        ))
        .bind::<BigInt, _>(brand.0)
        .execute(conn)?;
    }
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        row_number: Option<i64>,
    }
    // Hash joins against the brand's (few) parents: one pass over the rows.
    let row: Row = diesel::sql_query(
        "SELECT min(r.row_number) AS row_number FROM upload_rows r
         LEFT JOIN programs p ON p.brand_id = r.brand_id AND p.id = r.program_id
         LEFT JOIN partners pa ON pa.brand_id = r.brand_id AND pa.id = r.partner_id
         LEFT JOIN deals d ON d.brand_id = r.brand_id AND d.id = r.deal_id
         WHERE r.brand_id = $1 AND r.upload_id = $2
           AND (p.id IS NULL OR (r.partner_id IS NOT NULL AND pa.id IS NULL) OR (r.deal_id IS NOT NULL AND d.id IS NULL))",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(upload.0)
    .get_result(conn)?;
    Ok(row.row_number)
}
