//! Statements built at run time (a list's filters, a report's choices) that
//! the connection still keeps prepared: [`Where`] collects conditions with
//! `?` marks and their bound values, [`Prepared`] is the statement Diesel
//! runs. Their text depends only on which conditions are used, never on the
//! values, so each shape is parsed and analysed once per connection.
//!
//! Also here: the capped count of a filter ([`Where::count_upto`]) and the
//! planner's estimate past it ([`Where::estimate`], together
//! [`Where::total`]), keyset pages ([`Keyset`]) with opaque cursors for URLs,
//! and LIKE escaping ([`escape_like`]).

use super::StoreResult;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, Bool, HasSqlType, Nullable, Text, Timestamptz};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// A value bound to one `?` mark, of any SQL type Diesel can send. Cloning
/// shares it.
#[derive(Clone)]
pub struct Bind(Arc<dyn BindValue>);

/// One value and the SQL type it is sent as.
trait BindValue: fmt::Debug + Send + Sync {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

struct Typed<ST, T> {
    value: T,
    sql_type: PhantomData<fn() -> ST>,
}

impl<ST, T: fmt::Debug> fmt::Debug for Typed<ST, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<ST, T> BindValue for Typed<ST, T>
where
    Pg: HasSqlType<ST>,
    T: ToSql<ST, Pg> + Send + Sync,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, T>(&self.value)
    }
}

impl Bind {
    /// `value` sent as the SQL type `ST` (`Bind::of::<Numeric, _>(amount)`).
    pub fn of<ST: 'static, T>(value: T) -> Bind
    where
        Pg: HasSqlType<ST>,
        T: ToSql<ST, Pg> + Send + Sync + 'static,
    {
        Bind(Arc::new(Typed::<ST, T> {
            value,
            sql_type: PhantomData,
        }))
    }
    /// A `bigint` (ids, limits, offsets).
    pub fn int(v: i64) -> Bind {
        Bind::of::<BigInt, _>(v)
    }
    /// A `bigint[]`, for `= ANY(?)`: one statement for any number of ids.
    pub fn ints(v: Vec<i64>) -> Bind {
        Bind::of::<Array<BigInt>, _>(v)
    }
    pub fn text(v: impl Into<String>) -> Bind {
        Bind::of::<Text, _>(v.into())
    }
    pub fn time(v: DateTime<Utc>) -> Bind {
        Bind::of::<Timestamptz, _>(v)
    }
    pub fn bool(v: bool) -> Bind {
        Bind::of::<Bool, _>(v)
    }
    /// A `bigint` that may be NULL.
    pub fn nullable_int(v: Option<i64>) -> Bind {
        Bind::of::<Nullable<BigInt>, _>(v)
    }
}

impl fmt::Debug for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A WHERE clause whose `?` marks stand for its values, in order.
#[derive(Debug, Clone, Default)]
pub struct Where {
    sql: String,
    binds: Vec<Bind>,
}

impl Where {
    /// The clause with one condition.
    pub fn new(fragment: &str, binds: Vec<Bind>) -> Where {
        let mut w = Where::default();
        w.push(fragment, binds);
        w
    }

    /// Adds a condition (`AND` after the first); `fragment` holds one `?`
    /// per value of `binds`.
    pub fn push(&mut self, fragment: &str, binds: Vec<Bind>) {
        debug_assert_eq!(fragment.matches('?').count(), binds.len());
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(fragment);
        self.binds.extend(binds);
    }

    /// The clause's text (`" WHERE a = ? AND b = ?"`, empty without conditions).
    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn binds(&self) -> &[Bind] {
        &self.binds
    }

    /// The whole statement, `head` + WHERE + `tail`, with its values bound.
    /// The connection keeps it prepared, keyed by its text: a page view
    /// then skips parsing and analysis. The text must therefore not carry
    /// values (ids, offsets) that make every statement new; `tail` may add
    /// `?` marks for `tail_binds`.
    pub fn query(&self, head: &str, tail: &str, tail_binds: Vec<Bind>) -> Prepared {
        let mut binds = self.binds.clone();
        binds.extend(tail_binds);
        Prepared {
            sql: format!("{head}{}{tail}", self.sql),
            binds,
        }
    }

    /// How many rows of `from` (a table and its alias, `promo_codes c`)
    /// match, counting no further than `cap`; `extra` adds conditions
    /// (`AND ...`, no values).
    pub fn count_upto(
        &self,
        conn: &mut PgConnection,
        from: &str,
        extra: &str,
        cap: i64,
    ) -> StoreResult<i64> {
        let counted: Count = self.count_query(from, extra, cap).get_result(conn)?;
        Ok(counted.n)
    }

    fn count_query(&self, from: &str, extra: &str, cap: i64) -> Prepared {
        self.query(
            &format!("SELECT count(*) AS n FROM (SELECT 1 FROM {from}"),
            &format!("{extra} LIMIT ?) t"),
            vec![Bind::int(cap)],
        )
    }

    /// The planner's estimate of how many rows of `from` match (no rows are
    /// read; 0 when the plan cannot be read).
    pub fn estimate(&self, conn: &mut PgConnection, from: &str) -> StoreResult<i64> {
        let plan: Plan = self.estimate_query(from).get_result(conn)?;
        Ok(plan_rows(&plan.plan))
    }

    fn estimate_query(&self, from: &str) -> Prepared {
        self.query(
            &format!("EXPLAIN (FORMAT JSON) SELECT 1 FROM {from}"),
            "",
            vec![],
        )
    }

    /// How many rows of `from` match: exact up to `cap`, else the planner's
    /// estimate, never below `cap + 1` nor below `seen` (rows known to exist,
    /// e.g. those of the pages shown so far).
    pub fn total(
        &self,
        conn: &mut PgConnection,
        from: &str,
        cap: i64,
        seen: i64,
    ) -> StoreResult<Total> {
        let counted = self.count_upto(conn, from, "", cap + 1)?;
        if counted <= cap {
            return Ok(Total::Exact(counted));
        }
        let estimate = self.estimate(conn, from)?;
        Ok(Total::About(estimate.max(cap + 1).max(seen)))
    }
}

/// The rows `EXPLAIN (FORMAT JSON)` expects its plan's top node to give.
fn plan_rows(plan: &str) -> i64 {
    serde_json::from_str::<serde_json::Value>(plan)
        .ok()
        .and_then(|v| v[0]["Plan"]["Plan Rows"].as_f64())
        .map(|r| r as i64)
        .unwrap_or(0)
}

/// How many rows a filter matches: exact up to a cap, else estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(i64),
    About(i64),
}

impl Total {
    pub fn value(self) -> i64 {
        match self {
            Total::Exact(n) | Total::About(n) => n,
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Plan {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    plan: String,
}

/// A statement of text and values that the connection may keep prepared
/// (Diesel's `sql_query` is never kept). Its text must hold no `?` other
/// than the marks (no `?` in literals, no jsonb `?` operators): a mark and
/// a value without each other are an error.
#[derive(Debug, Clone)]
pub struct Prepared {
    sql: String,
    binds: Vec<Bind>,
}

impl Prepared {
    pub fn new(sql: String, binds: Vec<Bind>) -> Prepared {
        Prepared { sql, binds }
    }
    pub fn sql(&self) -> &str {
        &self.sql
    }
    pub fn binds(&self) -> &[Bind] {
        &self.binds
    }
    /// Its text and values, to build a larger statement around it.
    pub fn into_parts(self) -> (String, Vec<Bind>) {
        (self.sql, self.binds)
    }
}

impl QueryFragment<Pg> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut binds = self.binds.iter();
        for (i, part) in self.sql.split('?').enumerate() {
            if i > 0 {
                match binds.next() {
                    Some(b) => b.0.push(&mut out)?,
                    None => {
                        return Err(diesel::result::Error::QueryBuilderError(
                            "a ? mark without a value".into(),
                        ))
                    }
                }
            }
            out.push_sql(part);
        }
        if binds.next().is_some() {
            return Err(diesel::result::Error::QueryBuilderError(
                "a value without its ? mark".into(),
            ));
        }
        Ok(())
    }
}

impl QueryId for Prepared {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Prepared {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<PgConnection> for Prepared {}

/// LIKE-escapes the text (lower-cased); `*` becomes the wildcard `%` when
/// `star` says so.
pub fn escape_like(q: &str, star: bool) -> String {
    let mut out = String::new();
    for ch in q.to_lowercase().chars() {
        match ch {
            '*' if star => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

// ---------------------------------------------------------------- keyset pages

/// The sort key of the row a keyset page starts after (or ends before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    Int(i64),
    Time(DateTime<Utc>),
    Text(String),
}

impl KeyValue {
    fn bind(&self) -> Bind {
        match self {
            KeyValue::Int(v) => Bind::int(*v),
            KeyValue::Time(v) => Bind::time(*v),
            KeyValue::Text(v) => Bind::text(v.clone()),
        }
    }
}

/// A row's place in a keyset order: its sort key and its id (which breaks
/// ties). Encoded for URLs as an opaque token ([`Cursor::encode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: KeyValue,
    pub id: i64,
}

impl Cursor {
    /// The cursor as a URL-safe token (base64 of a tagged text); a page
    /// link carries it, not the key itself.
    pub fn encode(&self) -> String {
        let key = match &self.key {
            KeyValue::Int(v) => format!("i{v}"),
            KeyValue::Time(t) => format!("t{}", t.timestamp_micros()),
            KeyValue::Text(s) => format!("s{s}"),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}~{key}", self.id))
    }

    /// A token of [`Cursor::encode`]; `None` for anything else (a link
    /// typed by hand, an old format): the caller shows the first page.
    pub fn decode(token: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim())
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (id, key) = text.split_once('~')?;
        let id = id.parse().ok()?;
        let key = match key.split_at_checked(1)? {
            ("i", v) => KeyValue::Int(v.parse().ok()?),
            ("t", v) => KeyValue::Time(DateTime::from_timestamp_micros(v.parse().ok()?)?),
            ("s", v) => KeyValue::Text(v.to_string()),
            _ => return None,
        };
        Some(Cursor { key, id })
    }
}

/// Where a keyset page is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PageAt {
    /// The first page (newest first).
    #[default]
    First,
    /// The rows after this one (older).
    After(Cursor),
    /// The rows before this one (newer), for a "previous" link.
    Before(Cursor),
}

/// A page of rows in descending `(key, id)` order that reads only its rows,
/// however deep it is: `WHERE (k, id) < (?, ?) ORDER BY k DESC, id DESC
/// LIMIT ?`, the values bound (the text depends only on whether a cursor is
/// given and which way). With `key` equal to `id` the order is by id alone
/// (`id < ?`). The page asks for one row more than `limit`, to know whether
/// another page follows.
#[derive(Debug, Clone)]
pub struct Keyset<'a> {
    /// The sort key's SQL (`c.created_at`), of a column that is never NULL.
    pub key: &'a str,
    /// The id's SQL (`c.id`).
    pub id: &'a str,
    pub at: PageAt,
    pub limit: i64,
}

/// One keyset page: its rows in order and the cursors of its neighbours.
#[derive(Debug, Clone, PartialEq)]
pub struct KeysetPage<R> {
    pub rows: Vec<R>,
    /// The page before (newer rows), as a token for `PageAt::Before`.
    pub prev: Option<String>,
    /// The page after (older rows), as a token for `PageAt::After`.
    pub next: Option<String>,
}

impl<'a> Keyset<'a> {
    /// Pages by id alone, newest first: the rows after `after` (its id), or
    /// the first ones (`id < ? ORDER BY id DESC LIMIT ?`).
    pub fn by_id(id: &'a str, after: Option<i64>, limit: i64) -> Keyset<'a> {
        Keyset {
            key: id,
            id,
            at: after.map_or(PageAt::First, |id| {
                PageAt::After(Cursor {
                    key: KeyValue::Int(id),
                    id,
                })
            }),
            limit,
        }
    }

    fn keyed_by_id(&self) -> bool {
        self.key == self.id
    }

    /// Adds the page's condition to `w`, and gives the statement's tail
    /// (`ORDER BY ... LIMIT ?`) with its value.
    pub fn apply(&self, w: &mut Where) -> (String, Vec<Bind>) {
        self.apply_limit(w, self.limit + 1)
    }

    /// As [`Keyset::apply`], asking for exactly `limit` rows (no probe of a
    /// next page): a batch of an export.
    pub fn apply_limit(&self, w: &mut Where, limit: i64) -> (String, Vec<Bind>) {
        let (k, id) = (self.key, self.id);
        let (cursor, op, dir) = match &self.at {
            PageAt::First => (None, "<", "DESC"),
            PageAt::After(c) => (Some(c), "<", "DESC"),
            PageAt::Before(c) => (Some(c), ">", "ASC"),
        };
        if let Some(c) = cursor {
            if self.keyed_by_id() {
                w.push(&format!("{id} {op} ?"), vec![Bind::int(c.id)]);
            } else {
                w.push(
                    &format!("({k}, {id}) {op} (?, ?)"),
                    vec![c.key.bind(), Bind::int(c.id)],
                );
            }
        }
        let order = if self.keyed_by_id() {
            format!(" ORDER BY {id} {dir} LIMIT ?")
        } else {
            format!(" ORDER BY {k} {dir}, {id} {dir} LIMIT ?")
        };
        (order, vec![Bind::int(limit)])
    }

    /// The page of the rows read with [`Keyset::apply`] (at most
    /// `limit + 1`, in the statement's order); `place` gives a row's cursor.
    pub fn page<R>(&self, mut rows: Vec<R>, place: impl Fn(&R) -> Cursor) -> KeysetPage<R> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit.max(0) as usize);
        let backwards = matches!(self.at, PageAt::Before(_));
        if backwards {
            rows.reverse();
        }
        let (has_prev, has_next) = match self.at {
            PageAt::First => (false, more),
            PageAt::After(_) => (true, more),
            PageAt::Before(_) => (more, true),
        };
        KeysetPage {
            prev: has_prev
                .then(|| rows.first().map(|r| place(r).encode()))
                .flatten(),
            next: has_next
                .then(|| rows.last().map(|r| place(r).encode()))
                .flatten(),
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn binds(binds: &[Bind]) -> String {
        format!("{binds:?}")
    }

    #[test]
    fn conditions_join_with_and_and_keep_their_values_in_order() {
        let mut w = Where::new("c.brand_id = ?", vec![Bind::int(7)]);
        assert_eq!(w.sql(), " WHERE c.brand_id = ?");
        w.push(
            "(c.code_key LIKE ? OR c.partner_id = ANY(?))",
            vec![Bind::text("ab%"), Bind::ints(vec![1, 2])],
        );
        w.push("c.deal_id IS NULL", vec![]);
        assert_eq!(
            w.sql(),
            " WHERE c.brand_id = ? AND (c.code_key LIKE ? OR c.partner_id = ANY(?)) AND c.deal_id IS NULL"
        );
        assert_eq!(binds(w.binds()), r#"[7, "ab%", [1, 2]]"#);
        assert!(Where::default().sql().is_empty());
    }

    #[test]
    fn a_statement_is_head_clause_and_tail_with_the_tail_values_last() {
        let w = Where::new("c.brand_id = ?", vec![Bind::int(7)]);
        let q = w.query(
            "SELECT c.id FROM promo_codes c",
            " ORDER BY c.id DESC LIMIT ? OFFSET ?",
            vec![Bind::int(50), Bind::int(100)],
        );
        assert_eq!(
            q.sql(),
            "SELECT c.id FROM promo_codes c WHERE c.brand_id = ? ORDER BY c.id DESC LIMIT ? OFFSET ?"
        );
        assert_eq!(binds(q.binds()), "[7, 50, 100]");
    }

    #[test]
    fn the_text_depends_on_the_filters_used_not_on_their_values() {
        let page = |brand: i64, offset: i64| {
            Where::new("c.brand_id = ?", vec![Bind::int(brand)]).query(
                "SELECT 1 FROM promo_codes c",
                " LIMIT ? OFFSET ?",
                vec![Bind::int(50), Bind::int(offset)],
            )
        };
        assert_eq!(page(1, 0).sql(), page(2, 5_000).sql());
        assert_ne!(binds(page(1, 0).binds()), binds(page(2, 5_000).binds()));
    }

    #[test]
    fn the_capped_count_and_the_estimate_wrap_the_same_clause() {
        let w = Where::new("c.brand_id = ?", vec![Bind::int(7)]);
        let count = w.count_query("promo_codes c", " AND c.partner_id IS NULL", 1_001);
        assert_eq!(
            count.sql(),
            "SELECT count(*) AS n FROM (SELECT 1 FROM promo_codes c WHERE c.brand_id = ? AND c.partner_id IS NULL LIMIT ?) t"
        );
        assert_eq!(binds(count.binds()), "[7, 1001]");
        let estimate = w.estimate_query("promo_codes c");
        assert_eq!(
            estimate.sql(),
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM promo_codes c WHERE c.brand_id = ?"
        );
        assert_eq!(binds(estimate.binds()), "[7]");
    }

    #[test]
    fn the_estimate_is_the_plans_top_row_count() {
        assert_eq!(
            plan_rows(r#"[{"Plan": {"Node Type": "Seq Scan", "Plan Rows": 123456.0}}]"#),
            123_456
        );
        assert_eq!(plan_rows("not json"), 0);
        assert_eq!(plan_rows("[]"), 0);
    }

    fn render(q: &Prepared) -> Result<String, String> {
        use diesel::query_builder::QueryBuilder;
        let mut qb = diesel::pg::PgQueryBuilder::default();
        q.to_sql(&mut qb, &Pg).map_err(|e| e.to_string())?;
        Ok(qb.finish())
    }

    #[test]
    fn marks_and_values_must_pair() {
        let ok = Prepared::new("SELECT ? + ?".into(), vec![Bind::int(1), Bind::int(2)]);
        assert_eq!(render(&ok).as_deref(), Ok("SELECT $1 + $2"));
        let missing = Prepared::new("SELECT ? + ?".into(), vec![Bind::int(1)]);
        assert!(render(&missing).is_err_and(|e| e.contains("a ? mark without a value")));
        let extra = Prepared::new("SELECT ?".into(), vec![Bind::int(1), Bind::int(2)]);
        assert!(render(&extra).is_err_and(|e| e.contains("a value without its ? mark")));
    }

    #[test]
    fn binds_of_other_types() {
        use diesel::debug_query;
        let q = Prepared::new(
            "SELECT ?, ?, ?".into(),
            vec![
                Bind::bool(true),
                Bind::nullable_int(None),
                Bind::of::<diesel::sql_types::Numeric, _>(rust_decimal::Decimal::new(125, 2)),
            ],
        );
        assert_eq!(
            debug_query::<Pg, _>(&q).to_string(),
            "SELECT $1, $2, $3 -- binds: [true, None, 1.25]"
        );
    }

    #[test]
    fn like_text_is_escaped() {
        assert_eq!(escape_like("50%_OFF\\", false), "50\\%\\_off\\\\");
        assert_eq!(escape_like("*10", true), "%10");
        assert_eq!(escape_like("*10", false), "*10");
    }

    fn at(micros: i64) -> DateTime<Utc> {
        Utc.timestamp_micros(micros).unwrap()
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        for key in [
            KeyValue::Int(-5),
            KeyValue::Time(at(1_780_000_000_123_456)),
            KeyValue::Text("SUMMER~10 é".into()),
        ] {
            let c = Cursor { key, id: 42 };
            let token = c.encode();
            assert!(
                token
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'),
                "{token}"
            );
            assert_eq!(Cursor::decode(&token), Some(c));
        }
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        for bad in [
            String::new(),
            "%%%".into(),
            b64("42"),
            b64("42~x10"),
            b64("42~i"),
            b64("x~i10"),
            b64("42~tnot-a-time"),
        ] {
            assert_eq!(Cursor::decode(&bad), None, "{bad}");
        }
    }

    #[test]
    fn keyset_pages_bind_the_cursor_and_read_one_row_more() {
        let cursor = Cursor {
            key: KeyValue::Time(at(1_000_000)),
            id: 9,
        };
        let page = |at: PageAt| {
            let mut w = Where::new("c.brand_id = ?", vec![Bind::int(7)]);
            let keyset = Keyset {
                key: "c.created_at",
                id: "c.id",
                at,
                limit: 50,
            };
            let (tail, tail_binds) = keyset.apply(&mut w);
            w.query("SELECT c.id FROM promo_codes c", &tail, tail_binds)
        };
        let first = page(PageAt::First);
        assert_eq!(
            first.sql(),
            "SELECT c.id FROM promo_codes c WHERE c.brand_id = ? ORDER BY c.created_at DESC, c.id DESC LIMIT ?"
        );
        assert_eq!(binds(first.binds()), "[7, 51]");
        let after = page(PageAt::After(cursor.clone()));
        assert_eq!(
            after.sql(),
            "SELECT c.id FROM promo_codes c WHERE c.brand_id = ? AND (c.created_at, c.id) < (?, ?) \
             ORDER BY c.created_at DESC, c.id DESC LIMIT ?"
        );
        assert_eq!(binds(after.binds()), "[7, 1970-01-01T00:00:01Z, 9, 51]");
        let before = page(PageAt::Before(cursor));
        assert_eq!(
            before.sql(),
            "SELECT c.id FROM promo_codes c WHERE c.brand_id = ? AND (c.created_at, c.id) > (?, ?) \
             ORDER BY c.created_at ASC, c.id ASC LIMIT ?"
        );
    }

    #[test]
    fn a_keyset_by_id_alone_compares_the_id() {
        let mut w = Where::new("c.brand_id = ?", vec![Bind::int(7)]);
        let keyset = Keyset::by_id("c.id", Some(500), 5_000);
        let (tail, tail_binds) = keyset.apply_limit(&mut w, 5_000);
        let q = w.query("SELECT c.id FROM promo_codes c", &tail, tail_binds);
        assert_eq!(
            q.sql(),
            "SELECT c.id FROM promo_codes c WHERE c.brand_id = ? AND c.id < ? ORDER BY c.id DESC LIMIT ?"
        );
        assert_eq!(binds(q.binds()), "[7, 500, 5000]");
    }

    #[test]
    fn keyset_pages_know_their_neighbours() {
        let place = |id: &i64| Cursor {
            key: KeyValue::Int(*id),
            id: *id,
        };
        let keyset = |at: PageAt| Keyset {
            key: "k",
            id: "id",
            at,
            limit: 3,
        };
        let token = |id: i64| place(&id).encode();
        // The first page of more than three rows: a next page only.
        let first = keyset(PageAt::First).page(vec![10, 9, 8, 7], place);
        assert_eq!(first.rows, vec![10, 9, 8]);
        assert_eq!((first.prev, first.next), (None, Some(token(8))));
        // After 8: the rest, a previous page, no next one.
        let last = keyset(PageAt::After(place(&8))).page(vec![7, 6], place);
        assert_eq!(last.rows, vec![7, 6]);
        assert_eq!((last.prev, last.next), (Some(token(7)), None));
        // Before 7 (read ascending): the rows in page order, and more before.
        let back = keyset(PageAt::Before(place(&7))).page(vec![8, 9, 10, 11], place);
        assert_eq!(back.rows, vec![10, 9, 8]);
        assert_eq!((back.prev, back.next), (Some(token(10)), Some(token(8))));
        // Nothing at all.
        let empty = keyset(PageAt::First).page(Vec::<i64>::new(), place);
        assert_eq!((empty.rows.len(), empty.prev, empty.next), (0, None, None));
    }
}
