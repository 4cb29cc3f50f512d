//! Conflicts between codes: the codes a new pattern competes with, and the
//! database's refusals (overlaps, unknown references) as messages a user
//! can act on.

use super::ActiveWindow;
use crate::domain::code::{MatchMode, NewCode};
use crate::domain::conflicts::Candidate;
use crate::domain::{BrandId, CodeId, ProgramId};
use crate::store::sql::escape_like;
use crate::store::{violated_constraint, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};

/// An existing exact code with the same value whose dates overlap a range.
#[derive(Debug, Clone, QueryableByName)]
pub struct Overlap {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
    #[diesel(embed)]
    pub window: ActiveWindow,
}

/// Where a code would be: its program, its value and its dates (no start:
/// from the beginning of time, no end: for ever), leaving out the code
/// itself when it exists.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub program: ProgramId,
    pub value: &'a str,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub except: Option<CodeId>,
}

/// The exact codes (at most 5) that a code at `place` would overlap.
pub fn overlapping(
    conn: &mut PgConnection,
    brand: BrandId,
    place: &Place<'_>,
) -> StoreResult<Vec<Overlap>> {
    Ok(diesel::sql_query(
        "SELECT c.id, c.code, p.name AS partner_name, c.active_start, c.active_end, c.time_zone
         FROM promo_codes c LEFT JOIN partners p ON p.brand_id = c.brand_id AND p.id = c.partner_id
         WHERE c.brand_id = $1 AND c.program_id = $2 AND c.match_mode = 'LI'
           AND c.code_key = lower(btrim($3)) AND c.id <> $6
           AND tstzrange(c.active_start, c.active_end) && tstzrange(coalesce($4, '-infinity'::timestamptz), coalesce($5, 'infinity'::timestamptz), '[)')
         ORDER BY c.id LIMIT 5",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(place.program.0)
    .bind::<Text, _>(place.value)
    .bind::<Nullable<Timestamptz>, _>(place.start)
    .bind::<Nullable<Timestamptz>, _>(place.end)
    .bind::<BigInt, _>(place.except.map(|c| c.0).unwrap_or(0))
    .load(conn)?)
}

/// Explains an exclusion violation by naming the code(s) in the way. With
/// the constraint keyed by a 64-bit hash, a violation with no same-valued
/// code is a hash collision, and is said to be one.
pub(super) fn overlap_conflict(
    conn: &mut PgConnection,
    brand: BrandId,
    place: &Place<'_>,
) -> StoreError {
    match overlapping(conn, brand, place) {
        Ok(list) if !list.is_empty() => {
            let o = &list[0];
            StoreError::Conflict(format!(
                "The exact code {} (#{}{}) is already active {}; two codes with the same value (ignoring case) \
                 cannot be active at the same time in one program. Change the dates, or expire that code first.",
                o.code,
                o.id,
                o.partner_name.as_deref().map(|p| format!(", partner {p}")).unwrap_or_default(),
                o.window.describe()
            ))
        }
        Ok(_) => StoreError::Conflict(format!(
            "The code {} could not be saved: its value shares a 64-bit hash with another code of this program \
             (a hash collision, not a duplicate). Please choose a slightly different value.",
            place.value
        )),
        Err(e) => e,
    }
}

pub(super) fn is_overlap(e: &diesel::result::Error) -> bool {
    violated_constraint(e).is_some_and(|(_, name)| name == "promo_codes_no_overlap")
}

/// Maps the database's refusal of a code to a message a user can act on.
pub(super) fn code_write_error(
    conn: &mut PgConnection,
    brand: BrandId,
    c: &NewCode,
    except: Option<CodeId>,
    e: diesel::result::Error,
) -> StoreError {
    if is_overlap(&e) {
        let place = Place {
            program: c.program_id,
            value: &c.code,
            start: c.active_start,
            end: c.active_end,
            except,
        };
        return overlap_conflict(conn, brand, &place);
    }
    match violated_constraint(&e) {
        Some((diesel::result::DatabaseErrorKind::ForeignKeyViolation, name)) => {
            let (field, what) = if name.contains("partner") {
                ("partner_id", "partner")
            } else if name.contains("deal") {
                ("deal_id", "deal")
            } else {
                ("program_id", "program")
            };
            StoreError::Invalid {
                field,
                message: format!("No such {what} in your brand."),
            }
        }
        _ => e.into(),
    }
}

/// A code that a new regex pattern may compete with, as read.
#[derive(Debug, Clone, QueryableByName)]
struct CandidateRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub match_mode: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
}

/// Codes of other partners in a program that a pattern may conflict with:
/// exact codes whose value starts with `prefix` (all when empty, at most
/// `limit`), and every regex code. Expired codes are left out.
pub fn conflict_candidates(
    conn: &mut PgConnection,
    brand: BrandId,
    program: ProgramId,
    partner: Option<i64>,
    prefix: &str,
    except: Option<CodeId>,
    limit: i64,
) -> StoreResult<Vec<Candidate>> {
    let rows: Vec<CandidateRow> = diesel::sql_query(
        "SELECT c.id, c.code, c.match_mode, p.name AS partner_name
         FROM promo_codes c LEFT JOIN partners p ON p.brand_id = c.brand_id AND p.id = c.partner_id
         WHERE c.brand_id = $1 AND c.program_id = $2 AND c.partner_id IS DISTINCT FROM $3 AND c.id <> $6
           AND (c.active_end IS NULL OR c.active_end > now())
           AND (c.match_mode = 'RE' OR c.code_key LIKE $4)
         ORDER BY c.match_mode DESC, c.id LIMIT $5",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(program.0)
    .bind::<Nullable<BigInt>, _>(partner)
    .bind::<Text, _>(like_prefix(prefix))
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(except.map(|c| c.0).unwrap_or(0))
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Candidate {
            id: CodeId(r.id),
            // Anything but an exact code is tried as a pattern.
            match_mode: MatchMode::parse(&r.match_mode)
                .filter(|m| *m == MatchMode::Literal)
                .unwrap_or(MatchMode::Regex),
            code: r.code,
            partner_name: r.partner_name,
        })
        .collect())
}

fn like_prefix(prefix: &str) -> String {
    format!("{}%", escape_like(prefix, false))
}
