//! The code list: its filters as one bound WHERE clause, its orders, and a
//! page with its (capped) total.

use super::{CodeRow, LITE_COLUMNS};
use crate::domain::code::{CodeQuery, CodeSort, CodeStatus, PAGE_SIZE};
use crate::domain::BrandId;
use crate::store::sql::{escape_like, Bind, Prepared, Total, Where};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// Exact counts stop here; past it the page shows the planner's estimate.
pub const COUNT_CAP: i64 = 1_000;
/// A search with fewer matches than this sorts them instead of scanning.
const SEARCH_PROBE: i64 = 20_000;

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
pub(super) enum Search<'a> {
    /// All it finds: codes whose key starts with it, regex codes whose
    /// literal part does (when `literal`), and the codes of the partners
    /// whose name contains it.
    Any { partners: &'a [i64], literal: bool },
    /// Only the codes whose key starts with it.
    Key,
    /// Only the regex codes found by their literal part.
    Literal,
}

pub(super) fn filters(
    brand: BrandId,
    f: &CodeQuery,
    now: DateTime<Utc>,
    search: Search<'_>,
) -> Where {
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
pub(super) fn literal_hits(
    conn: &mut PgConnection,
    brand: BrandId,
    f: &CodeQuery,
) -> StoreResult<bool> {
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
pub(super) fn partners_named(
    conn: &mut PgConnection,
    brand: BrandId,
    f: &CodeQuery,
) -> StoreResult<Vec<i64>> {
    let Some(q) = &f.q else { return Ok(Vec::new()) };
    use crate::db::schema::partners;
    Ok(partners::table
        .filter(partners::brand_id.eq(brand.0))
        .filter(crate::store::lower(partners::name).like(like_pattern(q)))
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
