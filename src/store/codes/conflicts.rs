//! Conflicts between codes: the codes a new pattern competes with, and the
//! database's refusals (overlaps, unknown references) as messages a user
//! can act on.

use crate::domain::code::{MatchMode, NewCode};
use crate::domain::conflicts::Candidate;
use crate::domain::{BrandId, CodeId, ProgramId};
use crate::store::sql::escape_like;
use crate::store::{violated_constraint, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};

/// The existing exact codes with the same value whose dates overlap a range.
#[derive(Debug, Clone, QueryableByName)]
pub struct Overlap {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_start: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_end: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub time_zone: String,
}

pub fn overlapping(
    conn: &mut PgConnection,
    brand: BrandId,
    program: ProgramId,
    value: &str,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    except: Option<CodeId>,
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
    .bind::<BigInt, _>(program.0)
    .bind::<Text, _>(value)
    .bind::<Nullable<Timestamptz>, _>(start)
    .bind::<Nullable<Timestamptz>, _>(end)
    .bind::<BigInt, _>(except.map(|c| c.0).unwrap_or(0))
    .load(conn)?)
}

fn describe_window(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>, tz: &str) -> String {
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let f = |t: DateTime<Utc>| crate::domain::code::format_human(t, tz);
    match (start, end) {
        (None, None) => "with no start or end date".into(),
        (Some(s), None) => format!("from {} with no end", f(s)),
        (None, Some(e)) => format!("until {}", f(e)),
        (Some(s), Some(e)) => format!("from {} to {}", f(s), f(e)),
    }
}

/// Explains an exclusion violation by naming the code(s) in the way. With
/// the constraint keyed by a 64-bit hash, a violation with no same-valued
/// code is a hash collision, and is said to be one.
pub(super) fn overlap_conflict(
    conn: &mut PgConnection,
    brand: BrandId,
    program: ProgramId,
    value: &str,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    except: Option<CodeId>,
) -> StoreError {
    match overlapping(conn, brand, program, value, start, end, except) {
        Ok(list) if !list.is_empty() => {
            let o = &list[0];
            StoreError::Conflict(format!(
                "The exact code {} (#{}{}) is already active {}; two codes with the same value (ignoring case) \
                 cannot be active at the same time in one program. Change the dates, or expire that code first.",
                o.code,
                o.id,
                o.partner_name.as_deref().map(|p| format!(", partner {p}")).unwrap_or_default(),
                describe_window(o.active_start, o.active_end, &o.time_zone)
            ))
        }
        Ok(_) => StoreError::Conflict(format!(
            "The code {value} could not be saved: its value shares a 64-bit hash with another code of this program \
             (a hash collision, not a duplicate). Please choose a slightly different value."
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
        return overlap_conflict(
            conn,
            brand,
            c.program_id,
            &c.code,
            c.active_start,
            c.active_end,
            except,
        );
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
