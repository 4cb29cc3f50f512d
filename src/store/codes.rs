//! Promo codes: the filtered list, create and edit with history, expire and
//! reactivate, and the conflicts the database reports.

pub use super::sql::Total;
use super::sql::{escape_like, Bind, Prepared, Where};
use super::{violated_constraint, StoreError, StoreResult};
use crate::db::schema::{actions, code_history, promo_codes};
use crate::domain::code::{CodeQuery, CodeSort, CodeStatus, NewCode, PAGE_SIZE};
use crate::domain::partner::Payout;
use crate::domain::{BrandId, CodeId, DealId, ProgramId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// Exact counts stop here; past it the page shows the planner's estimate.
pub const COUNT_CAP: i64 = 1_000;
/// A search with fewer matches than this sorts them instead of scanning.
const SEARCH_PROBE: i64 = 20_000;

/// A row of the code list (and of its CSV export).
#[derive(Debug, Clone, QueryableByName)]
pub struct CodeRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub program_id: i64,
    #[diesel(sql_type = Text)]
    pub program_name: String,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub code_type: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub partner_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub media_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub credit_rule: Option<String>,
    #[diesel(sql_type = Text)]
    pub match_mode: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub deal_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub deal_name: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_start: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub active_end: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub time_zone: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Numeric>)]
    pub payout_percent: Option<Decimal>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Numeric>)]
    pub payout_flat: Option<Decimal>,
    #[diesel(sql_type = Text)]
    pub comments: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

impl CodeRow {
    pub fn status(&self, now: DateTime<Utc>) -> CodeStatus {
        crate::domain::code::status_at(self.active_start, self.active_end, now)
    }
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

const ROW_COLUMNS: &str = "c.id, c.program_id, g.name AS program_name, c.code, c.code_type, c.partner_id, \
     p.name AS partner_name, p.media_id, c.credit_rule, c.match_mode, c.deal_id, d.name AS deal_name, \
     c.active_start, c.active_end, c.time_zone, c.payout_percent, c.payout_flat, c.comments, c.created_at, c.updated_at";

/// The same columns from the codes table alone (names filled in by the
/// caller): planning a four-table join cost 6x more than running it.
const LITE_COLUMNS: &str = "c.id, c.program_id, ''::text AS program_name, c.code, c.code_type, c.partner_id, \
     NULL::text AS partner_name, NULL::bigint AS media_id, c.credit_rule, c.match_mode, c.deal_id, \
     NULL::text AS deal_name, c.active_start, c.active_end, c.time_zone, c.payout_percent, c.payout_flat, \
     c.comments, c.created_at, c.updated_at";

const ROW_FROM: &str = " FROM promo_codes c \
     JOIN programs g ON g.brand_id = c.brand_id AND g.id = c.program_id \
     LEFT JOIN partners p ON p.brand_id = c.brand_id AND p.id = c.partner_id \
     LEFT JOIN deals d ON d.brand_id = c.brand_id AND d.id = c.deal_id ";

/// `%text%` for LIKE, with the wildcard characters escaped.
fn like_pattern(q: &str) -> String {
    format!("%{}%", escape_like(q.trim(), true))
}

/// Codes are searched by how they start (`text%`, answered by the key
/// index); a `*` stands for any characters, so `*10` finds codes containing
/// 10 (a slower scan).
pub fn code_search_pattern(q: &str) -> String {
    format!("{}%", escape_like(q.trim(), true))
}

/// The regex codes whose pattern starts with `^` or `(` (`^(?i)(SUMMER).*`),
/// found by their literal part: the key without its leading `^`, `(`,
/// `(?i)` and `(?:` (`promo_code_literal_key`, NULL for every other code;
/// migration `code_literal_search`, with its partial index). Their key
/// starts with `^` or `(`, so a search by key of a text that does not start
/// so never finds them: the two searches find different codes. The `?` is
/// the LIKE pattern.
const LITERAL_MATCH: &str = "promo_code_literal_key(c.match_mode, c.code_key) LIKE ?";

/// The LIKE pattern that finds regex codes by their literal part, when the
/// search is one for that: not a text that starts with `^` or `(` (a pattern
/// typed as stored, found by its key) or with `*` (a scan of every key,
/// which finds the pattern's text anyway).
fn literal_search_pattern(q: &str) -> Option<String> {
    let q = q.trim();
    (!q.starts_with(['^', '(', '*'])).then(|| code_search_pattern(q))
}

/// Which codes the search text selects.
#[derive(Debug, Clone, Copy)]
enum Search<'a> {
    /// All it finds: codes whose key starts with it, regex codes whose
    /// literal part does (when `literal`), and the codes of the partners
    /// whose name contains it.
    Any { partners: &'a [i64], literal: bool },
    /// Only the codes whose key starts with it.
    Key,
    /// Only the regex codes found by their literal part.
    Literal,
}

fn filters(brand: BrandId, f: &CodeQuery, now: DateTime<Utc>, search: Search<'_>) -> Where {
    let mut w = Where::default();
    w.push("c.brand_id = ?", vec![Bind::int(brand.0)]);
    if let Some(q) = &f.q {
        // Partners are few: their ids are looked up first, so the database
        // can combine the key index (code prefix) with the partner index.
        let pat = code_search_pattern(q);
        let literal = literal_search_pattern(q);
        match search {
            Search::Key => w.push("c.code_key LIKE ?", vec![Bind::text(pat)]),
            Search::Literal => w.push(LITERAL_MATCH, vec![Bind::text(literal.unwrap_or(pat))]),
            Search::Any {
                partners,
                literal: with_literal,
            } => {
                let mut sql = vec!["c.code_key LIKE ?"];
                let mut binds = vec![Bind::text(pat)];
                if let (true, Some(l)) = (with_literal, literal) {
                    sql.push(LITERAL_MATCH);
                    binds.push(Bind::text(l));
                }
                if !partners.is_empty() {
                    sql.push("c.partner_id = ANY(?)");
                    binds.push(Bind::ints(partners.to_vec()));
                }
                if sql.len() == 1 {
                    w.push(sql[0], binds);
                } else {
                    w.push(&format!("({})", sql.join(" OR ")), binds);
                }
            }
        }
    }
    match f.status {
        Some(CodeStatus::Active) => w.push(
            "(c.active_start IS NULL OR c.active_start <= ?) AND (c.active_end IS NULL OR (c.active_end > ? AND c.active_end > coalesce(c.active_start, '-infinity')))",
            vec![Bind::time(now), Bind::time(now)],
        ),
        Some(CodeStatus::Scheduled) => w.push(
            "c.active_start > ? AND (c.active_end IS NULL OR c.active_end > c.active_start)",
            vec![Bind::time(now)],
        ),
        Some(CodeStatus::Expired) => {
            w.push("(c.active_end <= ? OR c.active_end <= c.active_start)", vec![Bind::time(now)])
        }
        None => {}
    }
    if let Some(p) = f.partner {
        w.push("c.partner_id = ?", vec![Bind::int(p.0)]);
    }
    if let Some(t) = f.code_type {
        w.push("c.code_type = ?", vec![Bind::text(t.as_str())]);
    }
    if let Some(m) = f.match_mode {
        w.push("c.match_mode = ?", vec![Bind::text(m.as_str())]);
    }
    if let Some(r) = f.credit_rule {
        w.push("c.credit_rule = ?", vec![Bind::text(r.as_str())]);
    }
    if let Some(d) = f.deal {
        w.push("c.deal_id = ?", vec![Bind::int(d.0)]);
    }
    if let Some(p) = f.program {
        w.push("c.program_id = ?", vec![Bind::int(p.0)]);
    }
    w
}

/// The order of a list with no sort chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefaultOrder {
    /// Newest first, read backwards along the primary key.
    Newest,
    /// Newest first, but the few matches are found by another index and
    /// sorted: `c.id + 0` keeps the planner from walking the whole primary
    /// key backwards looking for rare matches.
    NewestFew,
    /// A search by code lists its matches by code: the key index reads them
    /// in order, so a page costs the same for 10 or 100,000 matches.
    ByCode,
}

/// The list's ORDER BY; none for the sort by partner, which [`by_partner`]
/// pages partner by partner. `few` (a search that matches fewer than
/// `SEARCH_PROBE` codes through several indexes) sorts the matches instead
/// of walking a sort index: `+ 0` and `+ interval '0 s'` keep the planner
/// from reading the index in order while it looks for rare matches (which
/// may all sit at its far end: a million rows read for 50).
fn order_by(f: &CodeQuery, default: DefaultOrder, few: bool) -> Option<String> {
    let dir = if f.desc { "DESC" } else { "ASC" };
    let (id, start, end) = if few {
        (
            "c.id + 0",
            "(c.active_start + interval '0 s')",
            "(c.active_end + interval '0 s')",
        )
    } else {
        ("c.id", "c.active_start", "c.active_end")
    };
    Some(match f.sort {
        None => match default {
            DefaultOrder::Newest => " ORDER BY c.id DESC".into(),
            DefaultOrder::NewestFew => " ORDER BY c.id + 0 DESC".into(),
            DefaultOrder::ByCode => " ORDER BY c.code_key, c.id".into(),
        },
        Some(CodeSort::Created) => format!(" ORDER BY {id} {dir}"),
        Some(CodeSort::Code) => format!(" ORDER BY c.code_key {dir}, c.id {dir}"),
        Some(CodeSort::Partner) => return None,
        // Read along promo_codes_start_idx / promo_codes_end_idx, backwards
        // when descending: no start is the earliest, no end the latest.
        Some(CodeSort::Start) if f.desc => {
            format!(" ORDER BY {start} DESC NULLS LAST, {id} DESC")
        }
        Some(CodeSort::Start) => format!(" ORDER BY {start} ASC NULLS FIRST, {id} ASC"),
        Some(CodeSort::End) if f.desc => format!(" ORDER BY {end} DESC NULLS FIRST, {id} DESC"),
        Some(CodeSort::End) => format!(" ORDER BY {end} ASC NULLS LAST, {id} ASC"),
    })
}

pub struct CodePage {
    pub rows: Vec<CodeRow>,
    pub total: Total,
}

/// Whether the search finds regex codes by their literal part (few codes, on
/// their own index): when it does not, the list keeps its plain plans.
fn literal_hits(conn: &mut PgConnection, brand: BrandId, f: &CodeQuery) -> StoreResult<bool> {
    let Some(pat) = f.q.as_deref().and_then(literal_search_pattern) else {
        return Ok(false);
    };
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let mut w = Where::default();
    w.push("c.brand_id = ?", vec![Bind::int(brand.0)]);
    w.push(LITERAL_MATCH, vec![Bind::text(pat)]);
    let found: Found = w
        .query(
            "SELECT EXISTS (SELECT 1 FROM promo_codes c",
            ") AS found",
            vec![],
        )
        .get_result(conn)?;
    Ok(found.found)
}

/// Partners whose name contains the search text.
fn partners_named(conn: &mut PgConnection, brand: BrandId, f: &CodeQuery) -> StoreResult<Vec<i64>> {
    let Some(q) = &f.q else { return Ok(Vec::new()) };
    use crate::db::schema::partners;
    Ok(partners::table
        .filter(partners::brand_id.eq(brand.0))
        .filter(super::lower(partners::name).like(like_pattern(q)))
        .select(partners::id)
        .load(conn)?)
}

/// One page of the filtered list, with its total.
///
/// Rows come without program, partner and deal names (except when sorted
/// by partner); the page fills them from the lists it shows anyway. A known
/// estimate of the total (from a recent page of the same filter) saves the
/// count.
pub fn list(
    conn: &mut PgConnection,
    brand: BrandId,
    f: &CodeQuery,
    now: DateTime<Utc>,
    known_estimate: Option<i64>,
) -> StoreResult<CodePage> {
    let hits = partners_named(conn, brand, f)?;
    let literal = literal_hits(conn, brand, f)?;
    let w = filters(
        brand,
        f,
        now,
        Search::Any {
            partners: &hits,
            literal,
        },
    );
    let offset = (i64::from(f.page) - 1) * PAGE_SIZE;
    // A search of codes only is listed by code. One that also matches
    // partner names probes how many codes match (at most a few thousand,
    // which the indexes find fast); few matches are sorted, many are read
    // in index order. So is one that finds regex codes by their literal
    // part, and any search sorted by partner (walking each partner's codes
    // for rare matches reads them all).
    let by_code = f.q.is_some() && hits.is_empty() && matches!(f.sort, None | Some(CodeSort::Code));
    let several_indexes = !hits.is_empty() || literal;
    let few = f.q.is_some()
        && !by_code
        && (several_indexes || f.sort == Some(CodeSort::Partner))
        && w.count_upto(conn, "promo_codes c", "", SEARCH_PROBE)? < SEARCH_PROBE;
    let default = match f.q {
        Some(_) if hits.is_empty() => DefaultOrder::ByCode,
        Some(_) if few => DefaultOrder::NewestFew,
        Some(_) | None => DefaultOrder::Newest,
    };
    let rows: Vec<CodeRow> = match order_by(f, default, few) {
        Some(_) if literal && by_code => by_code_with_literals(conn, brand, f, now, offset)?,
        Some(order) => w
            .query(
                &format!("SELECT {LITE_COLUMNS} FROM promo_codes c "),
                &format!("{order} LIMIT ? OFFSET ?"),
                vec![Bind::int(PAGE_SIZE), Bind::int(offset)],
            )
            .load(conn)?,
        None if few => few_by_partner(conn, &w, f.desc, offset)?,
        None => by_partner(conn, brand, &w, f.desc, offset)?,
    };
    // A first page that is not full is the whole result: no count needed.
    if f.page == 1 && (rows.len() as i64) < PAGE_SIZE {
        let n = rows.len() as i64;
        return Ok(CodePage {
            rows,
            total: Total::Exact(n),
        });
    }
    if let Some(estimate) = known_estimate {
        let seen = offset + rows.len() as i64;
        return Ok(CodePage {
            rows,
            total: Total::About(estimate.max(seen)),
        });
    }
    let total = w.total(conn, "promo_codes c", COUNT_CAP, offset + rows.len() as i64)?;
    Ok(CodePage { rows, total })
}

/// A page of a search listed by code that also finds regex codes by their
/// literal part. The codes found by key and those found by literal part are
/// read apart, each along its own index in order and no further than the
/// page, and merged by the text they were found by (so `^NCRX[0-9]{3}$`
/// lists among the codes starting with NCRX). An OR of the two would walk
/// the whole key index.
fn by_code_with_literals(
    conn: &mut PgConnection,
    brand: BrandId,
    f: &CodeQuery,
    now: DateTime<Utc>,
    offset: i64,
) -> StoreResult<Vec<CodeRow>> {
    let dir = if f.desc { "DESC" } else { "ASC" };
    let take = vec![Bind::int(offset + PAGE_SIZE)];
    let by_key = filters(brand, f, now, Search::Key).query(
        "(SELECT c.id, c.code_key AS found_by FROM promo_codes c",
        &format!(" ORDER BY c.code_key {dir}, c.id {dir} LIMIT ?)"),
        take.clone(),
    );
    let by_literal = filters(brand, f, now, Search::Literal).query(
        "(SELECT c.id, promo_code_literal_key(c.match_mode, c.code_key) AS found_by FROM promo_codes c",
        &format!(
            " ORDER BY promo_code_literal_key(c.match_mode, c.code_key) {dir}, c.id {dir} LIMIT ?)"
        ),
        take,
    );
    let (key_sql, mut binds) = by_key.into_parts();
    let (literal_sql, literal_binds) = by_literal.into_parts();
    binds.extend(literal_binds);
    binds.extend([Bind::int(brand.0), Bind::int(PAGE_SIZE), Bind::int(offset)]);
    Ok(Prepared::new(
        format!(
            "SELECT {LITE_COLUMNS} FROM ({key_sql} UNION ALL {literal_sql}) k \
             JOIN promo_codes c ON c.brand_id = ? AND c.id = k.id \
             ORDER BY k.found_by {dir}, k.id {dir} LIMIT ? OFFSET ?"
        ),
        binds,
    )
    .load(conn)?)
}

/// A page of few matches (see `SEARCH_PROBE`) sorted by partner, in the
/// order of [`by_partner`]: the matches are found by their indexes and
/// sorted.
fn few_by_partner(
    conn: &mut PgConnection,
    w: &Where,
    desc: bool,
    offset: i64,
) -> StoreResult<Vec<CodeRow>> {
    let dir = if desc { "DESC" } else { "ASC" };
    Ok(w.query(
        &format!(
            "SELECT {LITE_COLUMNS} FROM promo_codes c \
                 LEFT JOIN partners p ON p.brand_id = c.brand_id AND p.id = c.partner_id"
        ),
        &format!(
            " ORDER BY p.id IS NULL, lower(p.name) {dir}, p.id {dir}, c.id DESC LIMIT ? OFFSET ?"
        ),
        vec![Bind::int(PAGE_SIZE), Bind::int(offset)],
    )
    .load(conn)?)
}

/// A page of the list sorted by partner name (then newest first), codes
/// without a partner last. Partners are read in name order from their name
/// index and each gives at most `offset + PAGE_SIZE` of its codes, newest
/// first, from the partner index; the database stops reading once the page
/// is full, so the page costs about its offset, not the size of the brand.
fn by_partner(
    conn: &mut PgConnection,
    brand: BrandId,
    w: &Where,
    desc: bool,
    offset: i64,
) -> StoreResult<Vec<CodeRow>> {
    let dir = if desc { "DESC" } else { "ASC" };
    // The page's ids first (from the indexes alone when nothing else
    // filters), then its 50 rows: a deep page does not read the rows it skips.
    let mut rows: Vec<CodeRow> = w
        .query(
            "SELECT c.* FROM (SELECT lower(p.name) AS pn, p.id AS pid, x.id FROM partners p \
             CROSS JOIN LATERAL (SELECT c.id FROM promo_codes c",
            &format!(
                " AND c.partner_id = p.id ORDER BY c.id DESC LIMIT ?) x WHERE p.brand_id = ? \
                 ORDER BY lower(p.name) {dir}, p.id {dir}, x.id DESC LIMIT ? OFFSET ?) k \
                 CROSS JOIN LATERAL (SELECT {LITE_COLUMNS} FROM promo_codes c \
                 WHERE c.brand_id = ? AND c.id = k.id) c \
                 ORDER BY k.pn {dir}, k.pid {dir}, k.id DESC"
            ),
            vec![
                Bind::int(offset + PAGE_SIZE),
                Bind::int(brand.0),
                Bind::int(PAGE_SIZE),
                Bind::int(offset),
                Bind::int(brand.0),
            ],
        )
        .load(conn)?;
    let got = rows.len() as i64;
    if got == PAGE_SIZE {
        return Ok(rows);
    }
    // The codes with a partner end on this page (or before it): how many
    // there are tells where the codes without one start.
    let with_partner = if got > 0 || offset == 0 {
        offset + got
    } else {
        w.count_upto(
            conn,
            "promo_codes c",
            " AND c.partner_id IS NOT NULL",
            offset,
        )?
    };
    let rest: Vec<CodeRow> = w
        .query(
            &format!("SELECT {LITE_COLUMNS} FROM promo_codes c"),
            " AND c.partner_id IS NULL ORDER BY c.id DESC LIMIT ? OFFSET ?",
            vec![
                Bind::int(PAGE_SIZE - got),
                Bind::int(offset + got - with_partner),
            ],
        )
        .load(conn)?;
    rows.extend(rest);
    Ok(rows)
}

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
    if let Some(a) = after {
        w.push("c.id < ?", vec![Bind::int(a)]);
    }
    Ok(w.query(
        &format!("SELECT {ROW_COLUMNS}{ROW_FROM}"),
        " ORDER BY c.id DESC LIMIT ?",
        vec![Bind::int(batch)],
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

pub fn get(conn: &mut PgConnection, brand: BrandId, id: CodeId) -> StoreResult<CodeRow> {
    let mut w = Where::default();
    w.push("c.brand_id = ?", vec![Bind::int(brand.0)]);
    w.push("c.id = ?", vec![Bind::int(id.0)]);
    w.query(&format!("SELECT {ROW_COLUMNS}{ROW_FROM}"), "", vec![])
        .get_result(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// One entry of a code's history.
#[derive(Debug, Clone, QueryableByName)]
pub struct HistoryRow {
    #[diesel(sql_type = Timestamptz)]
    pub changed_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub changed_by: Option<String>,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub changes: Value,
}

pub fn history(
    conn: &mut PgConnection,
    brand: BrandId,
    id: CodeId,
) -> StoreResult<Vec<HistoryRow>> {
    Ok(diesel::sql_query(
        // A code created by an upload has no history row for its creation:
        // the code records its upload, who and when.
        "SELECT changed_at, changed_by, action, changes FROM (
           SELECT h.changed_at, u.email AS changed_by, h.action, h.changes, h.id AS seq
           FROM code_history h LEFT JOIN users u ON u.brand_id = h.brand_id AND u.id = h.changed_by
           WHERE h.brand_id = $1 AND h.code_id = $2
           UNION ALL
           SELECT c.created_at, u.email, 'uploaded',
                  jsonb_build_object('code', jsonb_build_array(NULL, c.code), 'upload', jsonb_build_array(NULL, c.upload_id)),
                  0
           FROM promo_codes c LEFT JOIN users u ON u.brand_id = c.brand_id AND u.id = c.created_by
           WHERE c.brand_id = $1 AND c.id = $2 AND c.upload_id IS NOT NULL) t
         ORDER BY changed_at DESC, seq DESC",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(id.0)
    .load(conn)?)
}

/// Whether an action was credited through this code (its value is then fixed).
pub fn has_credited(conn: &mut PgConnection, brand: BrandId, id: CodeId) -> StoreResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        actions::table
            .filter(actions::brand_id.eq(brand.0))
            .filter(actions::matched_code_id.eq(id.0)),
    ))
    .get_result(conn)?)
}

fn payout_columns(p: Option<Payout>) -> (Option<Decimal>, Option<Decimal>) {
    match p {
        Some(Payout::Percent(v)) => (Some(v), None),
        Some(Payout::Flat(v)) => (None, Some(v)),
        None => (None, None),
    }
}

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
fn overlap_conflict(
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

fn is_overlap(e: &diesel::result::Error) -> bool {
    violated_constraint(e).is_some_and(|(_, name)| name == "promo_codes_no_overlap")
}

/// Maps the database's refusal of a code to a message a user can act on.
fn code_write_error(
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

/// The columns a user edits, as written to the table: shared by insert,
/// update and the history snapshot.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = promo_codes, treat_none_as_null = true)]
struct CodeColumns {
    program_id: i64,
    code: String,
    code_type: String,
    partner_id: Option<i64>,
    credit_rule: Option<String>,
    match_mode: String,
    deal_id: Option<i64>,
    active_start: Option<DateTime<Utc>>,
    active_end: Option<DateTime<Utc>>,
    time_zone: String,
    payout_percent: Option<Decimal>,
    payout_flat: Option<Decimal>,
    comments: String,
}

impl From<&NewCode> for CodeColumns {
    fn from(c: &NewCode) -> Self {
        let (payout_percent, payout_flat) = payout_columns(c.payout);
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

/// The history's view of a code: every edited field, dates as RFC 3339.
fn snapshot(c: &CodeColumns) -> Map<String, Value> {
    let time = |t: Option<DateTime<Utc>>| json!(t.map(|t| t.to_rfc3339()));
    let dec = |d: Option<Decimal>| json!(d.map(|d| d.normalize().to_string()));
    let mut m = Map::new();
    m.insert("program_id".into(), json!(c.program_id));
    m.insert("code".into(), json!(c.code));
    m.insert("code_type".into(), json!(c.code_type));
    m.insert("partner_id".into(), json!(c.partner_id));
    m.insert("credit_rule".into(), json!(c.credit_rule));
    m.insert("match_mode".into(), json!(c.match_mode));
    m.insert("deal_id".into(), json!(c.deal_id));
    m.insert("active_start".into(), time(c.active_start));
    m.insert("active_end".into(), time(c.active_end));
    m.insert("time_zone".into(), json!(c.time_zone));
    m.insert("payout_percent".into(), dec(c.payout_percent));
    m.insert("payout_flat".into(), dec(c.payout_flat));
    m.insert("comments".into(), json!(c.comments));
    m
}

/// `{"field": [from, to]}` for the fields that differ.
fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (k, v) in after {
        let old = before.get(k).cloned().unwrap_or(Value::Null);
        if &old != v {
            out.insert(k.clone(), json!([old, v]));
        }
    }
    Value::Object(out)
}

fn record(
    conn: &mut PgConnection,
    brand: BrandId,
    code: i64,
    user: Option<UserId>,
    action: &str,
    changes: Value,
) -> QueryResult<usize> {
    diesel::insert_into(code_history::table)
        .values((
            code_history::brand_id.eq(brand.0),
            code_history::code_id.eq(code),
            code_history::changed_by.eq(user.map(|u| u.0)),
            code_history::action.eq(action),
            code_history::changes.eq(changes),
        ))
        .execute(conn)
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
        if before.active_start != start {
            changes.insert(
                "active_start".into(),
                json!([
                    before.active_start.map(|t| t.to_rfc3339()),
                    start.map(|t| t.to_rfc3339())
                ]),
            );
        }
        if before.active_end != end {
            changes.insert(
                "active_end".into(),
                json!([
                    before.active_end.map(|t| t.to_rfc3339()),
                    end.map(|t| t.to_rfc3339())
                ]),
            );
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
            let c = overlap_conflict(
                conn,
                brand,
                ProgramId(row.program_id),
                &row.code,
                None,
                None,
                Some(id),
            );
            Err(c)
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

/// A code that a new regex pattern would compete with.
#[derive(Debug, Clone, QueryableByName)]
pub struct ConflictCandidate {
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
) -> StoreResult<Vec<ConflictCandidate>> {
    Ok(diesel::sql_query(
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
    .load(conn)?)
}

fn like_prefix(prefix: &str) -> String {
    format!("{}%", escape_like(prefix, false))
}

/// The brand's codes per status (for the list's summary).
pub fn count_by_program(
    conn: &mut PgConnection,
    brand: BrandId,
    program: ProgramId,
) -> StoreResult<i64> {
    Ok(promo_codes::table
        .filter(promo_codes::brand_id.eq(brand.0))
        .filter(promo_codes::program_id.eq(program.0))
        .count()
        .get_result(conn)?)
}

/// A code's results so far.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct CodeResults {
    #[diesel(sql_type = BigInt)]
    pub actions: i64,
    #[diesel(sql_type = BigInt)]
    pub reversed: i64,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pub sale_amount: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pub payout: Decimal,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub first_action: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_action: Option<DateTime<Utc>>,
}

pub fn results(conn: &mut PgConnection, brand: BrandId, id: CodeId) -> StoreResult<CodeResults> {
    Ok(diesel::sql_query(
        "SELECT count(*) AS actions, count(*) FILTER (WHERE state = 'REVERSED') AS reversed,
                coalesce(sum(sale_amount) FILTER (WHERE state <> 'REVERSED'), 0) AS sale_amount,
                coalesce(sum(payout) FILTER (WHERE state <> 'REVERSED' AND valid), 0) AS payout,
                min(event_date) AS first_action, max(event_date) AS last_action
         FROM actions WHERE brand_id = $1 AND matched_code_id = $2",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(id.0)
    .get_result(conn)?)
}
