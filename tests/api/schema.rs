//! Constraints the database itself enforces.

use crate::helpers::{Brand, TestApp};
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{BigInt, Text};

/// Inserts a RESTRICTED code of (brand, program): (value, match mode),
/// (start, end).
fn insert_code(
    conn: &mut PgConnection,
    (brand, program): (i64, i64),
    (code, mode): (&str, &str),
    (start, end): (Option<&str>, Option<&str>),
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO promo_codes (brand_id, program_id, code, code_type, match_mode, active_start, active_end)
         VALUES ($1, $2, $3, 'RESTRICTED', $4, $5::timestamptz, $6::timestamptz)",
    )
    .bind::<BigInt, _>(brand)
    .bind::<BigInt, _>(program)
    .bind::<Text, _>(code)
    .bind::<Text, _>(mode)
    .bind::<diesel::sql_types::Nullable<Text>, _>(start)
    .bind::<diesel::sql_types::Nullable<Text>, _>(end)
    .execute(conn)
}

fn is_overlap_violation(r: &QueryResult<usize>) -> bool {
    matches!(r, Err(diesel::result::Error::DatabaseError(_, info)) if info.constraint_name() == Some("promo_codes_no_overlap"))
}

/// Whether the statement was refused with this kind of violation.
fn violates(r: &QueryResult<usize>, kind: DatabaseErrorKind) -> bool {
    matches!(r, Err(diesel::result::Error::DatabaseError(k, _)) if std::mem::discriminant(k) == std::mem::discriminant(&kind))
}

/// An app with the brands Alpha and Beta, and a connection to its database.
async fn two_brands() -> (TestApp, Brand, Brand, PgConnection) {
    let app = TestApp::spawn().await;
    let a = app.brand("Alpha");
    let b = app.brand("Beta");
    let c = app.conn();
    (app, a, b, c)
}

#[actix_web::test]
async fn exact_codes_may_not_overlap_in_time_ignoring_case_and_spaces() {
    let (_app, a, b, mut c) = two_brands().await;
    let acme = (a.id.0, a.program.0);
    let (jun1, jun2, aug1, sep1) = (
        "2026-06-01T00:00:00Z",
        "2026-06-02T00:00:00Z",
        "2026-08-01T00:00:00Z",
        "2026-09-01T00:00:00Z",
    );
    insert_code(&mut c, acme, ("SUMMER10", "LI"), (Some(jun1), Some(sep1))).expect("first code");
    // Same value, other case and spaces, overlapping dates: refused.
    let r = insert_code(&mut c, acme, (" summer10 ", "LI"), (Some(aug1), None));
    assert!(is_overlap_violation(&r), "{r:?}");
    // Open start overlaps too.
    let r = insert_code(&mut c, acme, ("Summer10", "LI"), (None, Some(jun2)));
    assert!(is_overlap_violation(&r), "{r:?}");
    // Back to back (end is exclusive): allowed.
    insert_code(&mut c, acme, ("summer10", "LI"), (Some(sep1), None)).expect("next season");
    insert_code(&mut c, acme, ("SUMMER10", "LI"), (None, Some(jun1))).expect("earlier season");
    // A regex code with the same text is not an exact code.
    insert_code(&mut c, acme, ("SUMMER10", "RE"), (None, None)).expect("regex");
    // Another program or another brand may use the value.
    let beta = (b.id.0, b.program.0);
    insert_code(&mut c, beta, ("SUMMER10", "LI"), (None, None)).expect("other brand");
}

#[actix_web::test]
async fn tenant_rows_cannot_point_at_another_brands_rows() {
    let (_app, a, b, mut c) = two_brands().await;
    // Brand B's code in brand A's program: the composite foreign key refuses it.
    let r = insert_code(&mut c, (b.id.0, a.program.0), ("X1", "LI"), (None, None));
    assert!(
        violates(&r, DatabaseErrorKind::ForeignKeyViolation),
        "{r:?}"
    );
}

#[actix_web::test]
async fn tracking_codes_need_a_partner_and_restricted_codes_have_none() {
    let app = TestApp::spawn().await;
    let a = app.brand("Alpha");
    let partner = app.partner(&a, 1, "P");
    let mut c = app.conn();
    let r = diesel::sql_query(
        "INSERT INTO promo_codes (brand_id, program_id, code, code_type, match_mode) VALUES ($1, $2, 'T1', 'TRACKING', 'LI')",
    )
    .bind::<BigInt, _>(a.id.0)
    .bind::<BigInt, _>(a.program.0)
    .execute(&mut c);
    assert!(violates(&r, DatabaseErrorKind::CheckViolation), "{r:?}");
    let r = diesel::sql_query(
        "INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule, match_mode)
         VALUES ($1, $2, 'R1', 'RESTRICTED', $3, 'ALWAYS', 'LI')",
    )
    .bind::<BigInt, _>(a.id.0)
    .bind::<BigInt, _>(a.program.0)
    .bind::<BigInt, _>(partner)
    .execute(&mut c);
    assert!(violates(&r, DatabaseErrorKind::CheckViolation), "{r:?}");
}

#[test]
fn migrations_are_reversible() {
    use diesel_migrations::MigrationHarness;
    let db = crate::helpers::TestDb::new();
    let mut c = db.conn();
    c.revert_all_migrations(promodesk::db::MIGRATIONS)
        .expect("revert");
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let left: N = diesel::sql_query("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'")
        .get_result(&mut c)
        .expect("count");
    assert_eq!(left.n, 0);
    c.run_pending_migrations(promodesk::db::MIGRATIONS)
        .expect("migrate again");
}
