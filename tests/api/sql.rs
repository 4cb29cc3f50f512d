//! The shared statement builder (`store::sql`) against PostgreSQL: keyset
//! pages walk a table forwards and back without a gap or a repeat, and the
//! capped count and the estimate answer as the list uses them.

use crate::helpers::TestDb;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use promodesk::store::sql::{Bind, Cursor, KeyValue, Keyset, PageAt, Total, Where};

#[derive(QueryableByName, Debug, Clone, PartialEq)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamptz)]
    k: DateTime<Utc>,
}

/// 23 rows in group 1 (keys shared by three rows each: the id breaks the
/// ties) and 5 in group 2.
fn table(conn: &mut PgConnection) {
    diesel::sql_query(
        "CREATE TEMP TABLE t (id bigint PRIMARY KEY, grp bigint, k timestamptz NOT NULL)",
    )
    .execute(conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO t SELECT i, CASE WHEN i <= 23 THEN 1 ELSE 2 END,
                timestamptz '2026-01-01 00:00+00' + (i / 3) * interval '1 hour'
         FROM generate_series(1, 28) i",
    )
    .execute(conn)
    .unwrap();
}

fn read(conn: &mut PgConnection, at: PageAt) -> promodesk::store::sql::KeysetPage<Row> {
    let keyset = Keyset {
        key: "t.k",
        id: "t.id",
        at,
        limit: 5,
    };
    let mut w = Where::new("t.grp = ?", vec![Bind::int(1)]);
    let (tail, binds) = keyset.apply(&mut w);
    let rows: Vec<Row> = w
        .query("SELECT t.id, t.k FROM t", &tail, binds)
        .load(conn)
        .unwrap();
    keyset.page(rows, |r| Cursor {
        key: KeyValue::Time(r.k),
        id: r.id,
    })
}

#[test]
fn keyset_pages_walk_forwards_and_back() {
    let db = TestDb::new();
    let mut conn = db.conn();
    table(&mut conn);
    let all: Vec<Row> =
        diesel::sql_query("SELECT id, k FROM t WHERE grp = 1 ORDER BY k DESC, id DESC")
            .load(&mut conn)
            .unwrap();
    assert_eq!(all.len(), 23);
    // Forwards, page after page.
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut at = PageAt::First;
    loop {
        let page = read(&mut conn, at);
        assert!(page.rows.len() <= 5);
        seen.extend(page.rows.clone());
        pages.push(page.clone());
        match page.next {
            Some(token) => at = PageAt::After(Cursor::decode(&token).expect("a cursor")),
            None => break,
        }
    }
    assert_eq!(seen, all);
    assert_eq!(pages.len(), 5);
    assert!(pages[0].prev.is_none());
    // Back again from the last page: the same pages, in reverse.
    let mut back = vec![pages.last().unwrap().rows.clone()];
    let mut token = pages.last().unwrap().prev.clone();
    while let Some(t) = token {
        let page = read(&mut conn, PageAt::Before(Cursor::decode(&t).unwrap()));
        back.push(page.rows.clone());
        token = page.prev;
    }
    back.reverse();
    let expected: Vec<Vec<Row>> = pages.into_iter().map(|p| p.rows).collect();
    assert_eq!(back, expected);
}

#[test]
fn the_capped_count_and_the_estimate() {
    let db = TestDb::new();
    let mut conn = db.conn();
    table(&mut conn);
    diesel::sql_query("ANALYZE t").execute(&mut conn).unwrap();
    let group = |g: i64| Where::new("t.grp = ?", vec![Bind::int(g)]);
    assert_eq!(group(1).count_upto(&mut conn, "t", "", 10).unwrap(), 10);
    assert_eq!(group(2).count_upto(&mut conn, "t", "", 10).unwrap(), 5);
    assert_eq!(
        group(1)
            .count_upto(&mut conn, "t", " AND t.id > 20", 10)
            .unwrap(),
        3
    );
    assert_eq!(
        group(2).total(&mut conn, "t", 10, 0).unwrap(),
        Total::Exact(5)
    );
    // Past the cap: the planner's estimate, at least the cap + 1 and what
    // was seen.
    match group(1).total(&mut conn, "t", 10, 0).unwrap() {
        Total::About(n) => assert!((11..=28).contains(&n), "{n}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        group(1).total(&mut conn, "t", 10, 500).unwrap(),
        Total::About(500)
    );
    let estimate = Where::default().estimate(&mut conn, "t").unwrap();
    assert_eq!(estimate, 28);
}

#[test]
fn a_keyset_by_id_reads_batches_in_id_order() {
    let db = TestDb::new();
    let mut conn = db.conn();
    table(&mut conn);
    let mut ids = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let keyset = Keyset::by_id("t.id", after, 4);
        let mut w = Where::new("t.grp = ?", vec![Bind::int(1)]);
        let (tail, binds) = keyset.apply_limit(&mut w, 4);
        let batch: Vec<Row> = w
            .query("SELECT t.id, t.k FROM t", &tail, binds)
            .load(&mut conn)
            .unwrap();
        if batch.is_empty() {
            break;
        }
        after = batch.last().map(|r| r.id);
        ids.extend(batch.into_iter().map(|r| r.id));
    }
    assert_eq!(ids, (1..=23).rev().collect::<Vec<i64>>());
}
