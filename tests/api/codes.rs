//! Promo code management through HTTP.

use crate::helpers::{location, Brand, Client, TestApp};
use chrono::{TimeZone, Utc};
use diesel::RunQueryDsl;
use promodesk::domain::{CodeId, Role};
use promodesk::store::codes;

struct Fixture {
    app: TestApp,
    brand: Brand,
    partner: i64,
    other_partner: i64,
    c: Client,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "max@acme.test", Role::Manager);
    let partner = app.partner(&brand, 100, "Coupon Planet");
    let other_partner = app.partner(&brand, 200, "Deal Hunter");
    let c = app.login("max@acme.test").await;
    Fixture {
        app,
        brand,
        partner,
        other_partner,
        c,
    }
}

impl Fixture {
    /// Creates a code through the form; returns the response.
    async fn create(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        let program = self.brand.program.0.to_string();
        let partner = self.partner.to_string();
        let mut all: Vec<(&str, &str)> = vec![
            ("program_id", &program),
            ("code_type", "TRACKING"),
            ("partner_id", &partner),
            ("credit_rule", "ALWAYS"),
            ("match_mode", "LI"),
        ];
        for (k, v) in fields {
            all.retain(|(key, _)| key != k);
            all.push((k, v));
        }
        self.c.post("/codes", &all).await
    }

    /// Creates a code and returns its id.
    async fn code(&self, fields: &[(&str, &str)]) -> i64 {
        let res = self.create(fields).await;
        let status = res.status();
        if status != 303 {
            let body = res.text().await.unwrap_or_default();
            let errors: Vec<&str> = body
                .split("class=\"error\"")
                .skip(1)
                .map(|s| s.split("</p>").next().unwrap_or(""))
                .collect();
            panic!("create failed with {status}: {errors:?}");
        }
        location(&res)
            .trim_start_matches("/codes/")
            .parse()
            .expect("code id")
    }

    fn row(&self, id: i64) -> codes::CodeRow {
        codes::get(&mut self.app.conn(), self.brand.id, CodeId(id)).expect("code row")
    }
}

#[actix_web::test]
async fn create_exact_and_regex_codes_and_see_them() {
    let f = fixture().await;
    let id = f.code(&[("code", " Summer10 ")]).await;
    let (status, page) = f.c.page(&format!("/codes/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Promo code Summer10 created."));
    assert!(page.contains("Coupon Planet") && page.contains("ALWAYS"));
    assert_eq!(f.row(id).code, "Summer10", "stored trimmed, case kept");
    let re = f
        .code(&[
            ("code", "^(?i)(FALL)[0-9]{2}$"),
            ("match_mode", "RE"),
            ("credit_rule", "WINNER"),
        ])
        .await;
    let (_, page) = f.c.page(&format!("/codes/{re}")).await;
    assert!(page.contains("RE (regular expression, whole code)"));
    let (_, list) = f.c.page("/codes").await;
    assert!(
        list.contains("Summer10")
            && list.contains("^(?i)(FALL)[0-9]{2}$")
            && list.contains("2 codes")
    );
}

#[actix_web::test]
async fn bad_and_empty_matching_regexes_are_explained() {
    let f = fixture().await;
    let res = f
        .create(&[("code", "SUMMER(10"), ("match_mode", "RE")])
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(body.contains("value=\"SUMMER(10\""), "input kept");
    assert!(body.contains("class=\"error\""), "{body}");
    assert!(
        body.to_lowercase().contains("not valid") || body.to_lowercase().contains("unclosed"),
        "{body}"
    );
    let res = f
        .create(&[("code", "(SUMMER)?"), ("match_mode", "RE")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .expect("body")
        .to_lowercase()
        .contains("empty"));
    assert_eq!(
        codes::count_by_program(&mut f.app.conn(), f.brand.id, f.brand.program).expect("count"),
        0
    );
}

#[actix_web::test]
async fn overlapping_exact_duplicates_are_refused_ignoring_case() {
    let f = fixture().await;
    f.code(&[
        ("code", "SAVE20"),
        ("active_start", "2026-01-01T00:00"),
        ("active_end", "2026-03-01T00:00"),
    ])
    .await;
    let res = f
        .create(&[("code", "save20"), ("active_start", "2026-02-01T00:00")])
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(body.contains("The exact code SAVE20"), "{body}");
    assert!(
        body.contains("already active from 2026-01-01 00:00 EST to 2026-03-01 00:00 EST"),
        "{body}"
    );
    // Not overlapping: allowed (the end is exclusive).
    f.code(&[
        ("code", "Save20"),
        ("active_start", "2026-03-01T00:00"),
        ("partner_id", &f.other_partner.to_string()),
    ])
    .await;
    assert_eq!(
        codes::count_by_program(&mut f.app.conn(), f.brand.id, f.brand.program).expect("count"),
        2
    );
}

#[actix_web::test]
async fn dates_round_trip_in_the_chosen_time_zone() {
    let f = fixture().await;
    let id = f
        .code(&[
            ("code", "PARIS"),
            ("timezone", "Europe/Paris"),
            ("active_start", "2026-07-01T09:00"),
            ("active_end", "2026-12-24T18:30"),
        ])
        .await;
    let row = f.row(id);
    assert_eq!(
        row.active_start,
        Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).single()
    );
    assert_eq!(
        row.active_end,
        Utc.with_ymd_and_hms(2026, 12, 24, 17, 30, 0).single()
    );
    let (_, edit) = f.c.page(&format!("/codes/{id}/edit")).await;
    assert!(
        edit.contains("value=\"2026-07-01T09:00\"") && edit.contains("value=\"2026-12-24T18:30\""),
        "{edit}"
    );
    let (_, show) = f.c.page(&format!("/codes/{id}")).await;
    assert!(show.contains("2026-07-01 09:00 CEST") && show.contains("2026-12-24 18:30 CET"));
    // Without a zone, the program's (America/New_York) applies.
    let ny = f
        .code(&[("code", "NEWYORK"), ("active_start", "2026-07-01T09:00")])
        .await;
    assert_eq!(
        f.row(ny).active_start,
        Utc.with_ymd_and_hms(2026, 7, 1, 13, 0, 0).single()
    );
}

#[actix_web::test]
async fn filters_sorting_and_csv_export_agree() {
    let f = fixture().await;
    let other = f.other_partner.to_string();
    f.code(&[("code", "BRAVO")]).await;
    f.code(&[("code", "ALPHA"), ("partner_id", &other)]).await;
    f.code(&[
        ("code", "OLD1"),
        ("active_start", "2020-01-01T00:00"),
        ("active_end", "2020-02-01T00:00"),
    ])
    .await;
    f.code(&[("code", "SOON"), ("active_start", "2099-01-01T00:00")])
        .await;
    f.code(&[
        ("code", "STAFF"),
        ("code_type", "RESTRICTED"),
        ("partner_id", ""),
        ("credit_rule", ""),
    ])
    .await;

    let (_, page) = f.c.page("/codes?status=expired").await;
    assert_eq!(codes_in(&page), vec!["OLD1"]);
    let (_, page) = f.c.page("/codes?status=scheduled").await;
    assert_eq!(codes_in(&page), vec!["SOON"]);
    let (_, page) = f.c.page("/codes?type=RESTRICTED").await;
    assert_eq!(codes_in(&page), vec!["STAFF"]);
    let (_, page) = f.c.page("/codes?q=deal+hun").await;
    assert_eq!(codes_in(&page), vec!["ALPHA"], "search by partner name");
    let (_, page) = f.c.page("/codes?q=bra").await;
    assert_eq!(
        codes_in(&page),
        vec!["BRAVO"],
        "search by the start of the code, any case"
    );
    let (_, page) = f.c.page("/codes?q=rav").await;
    assert!(codes_in(&page).is_empty(), "not inside the code without *");
    let (_, page) = f.c.page("/codes?q=*rav").await;
    assert_eq!(codes_in(&page), vec!["BRAVO"], "* stands for any text");
    let (_, page) = f.c.page("/codes?q=o*1").await;
    assert_eq!(codes_in(&page), vec!["OLD1"], "* inside the text");
    let (_, page) = f.c.page("/codes?q=_").await;
    assert!(codes_in(&page).is_empty(), "LIKE wildcards are literal");
    let (_, page) = f.c.page("/codes?status=active&sort=code").await;
    assert_eq!(codes_in(&page), vec!["ALPHA", "BRAVO", "STAFF"]);
    let (_, page) = f.c.page("/codes?status=active&sort=-code").await;
    let active_desc = codes_in(&page);
    assert_eq!(active_desc, vec!["STAFF", "BRAVO", "ALPHA"]);
    assert!(page.contains("3 codes"));

    let res = f.c.get("/codes.csv?status=active&sort=-code").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/csv"));
    let body = res.text().await.expect("csv");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().expect("header").clone();
    assert_eq!(&headers[1], "Promo Code");
    let mut exported: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[1].to_string())
        .collect();
    let mut listed = active_desc.clone();
    exported.sort();
    listed.sort();
    assert_eq!(
        exported, listed,
        "the export holds exactly the filtered rows"
    );
}

/// The codes of a list page, in the order shown.
fn codes_in(html: &str) -> Vec<String> {
    html.split("<td class=\"code\"><a href=\"/codes/")
        .skip(1)
        .filter_map(|s| {
            s.split_once("\">")
                .and_then(|(_, rest)| rest.split_once("</a>"))
                .map(|(c, _)| c.to_string())
        })
        .collect()
}

#[actix_web::test]
async fn sorts_by_partner_start_and_end_page_through_every_code_in_order() {
    use chrono::{DateTime, Duration};
    use std::cmp::Reverse;
    let f = fixture().await;
    // Partners sort by name, whatever its case; codes without one come last.
    let third = f.app.partner(&f.brand, 300, "aardvark deals");
    let partners = [
        (Some(f.partner), "coupon planet"),
        (Some(f.other_partner), "deal hunter"),
        (Some(third), "aardvark deals"),
        (None, ""),
    ];
    let base = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    struct Made {
        id: i64,
        code: String,
        partner: Option<i64>,
        name: &'static str,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    }
    let mut made = Vec::new();
    let mut conn = f.app.conn();
    for i in 0..130i64 {
        // 78 codes with a partner, then 52 without: page 3 starts past the
        // partners and must find where the codes without one continue.
        let (partner, name) = partners[(i % 5).min(3) as usize];
        let start = (i % 11 != 0).then(|| base + Duration::days(i % 5));
        let end = (i % 3 != 0).then(|| base + Duration::days(40 + i % 4));
        let code = format!("S{i:03}");
        let id: i64 = diesel::sql_query(
            "INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule, \
             match_mode, active_start, active_end, time_zone) VALUES ($1, $2, $3, $4, $5, $6, 'LI', $7, $8, 'UTC') \
             RETURNING id",
        )
        .bind::<diesel::sql_types::BigInt, _>(f.brand.id.0)
        .bind::<diesel::sql_types::BigInt, _>(f.brand.program.0)
        .bind::<diesel::sql_types::Text, _>(&code)
        .bind::<diesel::sql_types::Text, _>(if partner.is_some() { "TRACKING" } else { "RESTRICTED" })
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(partner)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(partner.map(|_| "ALWAYS"))
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(start)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(end)
        .get_result::<Id>(&mut conn)
        .expect("insert")
        .id;
        made.push(Made {
            id,
            code,
            partner,
            name,
            start,
            end,
        });
    }

    let walk = |sort: &'static str| {
        let c = &f.c;
        async move {
            let mut all = Vec::new();
            for page in 1..=4 {
                let (status, html) = c.page(&format!("/codes?sort={sort}&page={page}")).await;
                assert_eq!(status, 200);
                let got = codes_in(&html);
                assert!(got.len() <= 50);
                all.extend(got);
            }
            all
        }
    };
    let order = |v: &[&Made]| v.iter().map(|m| m.code.clone()).collect::<Vec<_>>();
    let mut v: Vec<&Made> = made.iter().collect();

    v.sort_by_key(|m| (m.partner.is_none(), m.name, m.partner, Reverse(m.id)));
    assert_eq!(walk("partner").await, order(&v), "by partner, A to Z");
    v.sort_by_key(|m| {
        (
            m.partner.is_none(),
            Reverse(m.name),
            Reverse(m.partner),
            Reverse(m.id),
        )
    });
    assert_eq!(walk("-partner").await, order(&v), "by partner, Z to A");

    v.sort_by_key(|m| (m.start, m.id)); // None (no start) first
    assert_eq!(walk("start").await, order(&v), "by start, earliest first");
    v.reverse();
    assert_eq!(walk("-start").await, order(&v), "by start, latest first");

    v.sort_by_key(|m| (m.end.is_none(), m.end, m.id)); // no end last
    assert_eq!(walk("end").await, order(&v), "by end, soonest first");
    v.reverse();
    assert_eq!(walk("-end").await, order(&v), "by end, never-ending first");
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

#[actix_web::test]
async fn csv_cells_cannot_carry_formulas() {
    let f = fixture().await;
    f.code(&[
        ("code", "=HYPERLINK(\"http://x\")"),
        ("comments", "+cmd|' /C calc'!A0"),
    ])
    .await;
    let body = f.c.get("/codes.csv").await.text().await.expect("csv");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let row = reader.records().next().expect("a row").expect("row");
    assert_eq!(&row[1], "'=HYPERLINK(\"http://x\")");
    assert_eq!(&row[17], "'+cmd|' /C calc'!A0");
}

#[actix_web::test]
async fn expire_now_or_at_a_date_and_the_history_keeps_it() {
    let f = fixture().await;
    let now_id = f.code(&[("code", "NOWCODE")]).await;
    let res =
        f.c.post(&format!("/codes/{now_id}/expire"), &[("at", "")])
            .await;
    assert_eq!(res.status(), 303);
    let (_, page) = f.c.page(&format!("/codes/{now_id}")).await;
    assert!(
        page.contains("NOWCODE expired.") && page.contains("badge-expired"),
        "{page}"
    );
    assert!(page.contains("<span class=\"what\">expired</span>"));
    assert!(f.row(now_id).active_end.is_some_and(|e| e <= Utc::now()));

    let later = f.code(&[("code", "LATER")]).await;
    f.c.post(
        &format!("/codes/{later}/expire"),
        &[("at", "2099-05-01T12:00")],
    )
    .await;
    let row = f.row(later);
    assert_eq!(
        row.active_end,
        Utc.with_ymd_and_hms(2099, 5, 1, 16, 0, 0).single(),
        "in the code's zone (EDT)"
    );
    let history = codes::history(&mut f.app.conn(), f.brand.id, CodeId(later)).expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].action, "expired");
    assert_eq!(history[0].changed_by.as_deref(), Some("max@acme.test"));
    assert_eq!(history[0].changes["active_end"][0], serde_json::Value::Null);
}

#[actix_web::test]
async fn reactivation_is_refused_when_it_would_overlap() {
    let f = fixture().await;
    let old = f
        .code(&[
            ("code", "WINTER"),
            ("active_start", "2020-01-01T00:00"),
            ("active_end", "2020-03-01T00:00"),
        ])
        .await;
    f.code(&[
        ("code", "winter"),
        ("partner_id", &f.other_partner.to_string()),
    ])
    .await;
    let res =
        f.c.post(&format!("/codes/{old}/reactivate"), &[("active_end", "")])
            .await;
    assert_eq!(res.status(), 303);
    let (_, page) = f.c.page(&format!("/codes/{old}")).await;
    assert!(
        page.contains("Not reactivated: The exact code winter"),
        "{page}"
    );
    assert!(
        page.contains("Deal Hunter"),
        "names the partner of the code in the way"
    );
    assert_eq!(
        f.row(old).active_end,
        Utc.with_ymd_and_hms(2020, 3, 1, 5, 0, 0).single(),
        "unchanged"
    );
    // Without a competitor it works.
    let lone = f
        .code(&[
            ("code", "LONELY"),
            ("active_start", "2020-01-01T00:00"),
            ("active_end", "2020-03-01T00:00"),
        ])
        .await;
    f.c.post(&format!("/codes/{lone}/reactivate"), &[("active_end", "")])
        .await;
    assert_eq!(f.row(lone).active_end, None);
}

#[actix_web::test]
async fn edits_are_recorded_field_by_field() {
    let f = fixture().await;
    let id = f.code(&[("code", "EDITME"), ("comments", "first")]).await;
    let program = f.brand.program.0.to_string();
    let other = f.other_partner.to_string();
    let res =
        f.c.post(
            &format!("/codes/{id}"),
            &[
                ("program_id", &program),
                ("code", "EDITME"),
                ("code_type", "TRACKING"),
                ("partner_id", &other),
                ("credit_rule", "INVOLVED"),
                ("match_mode", "LI"),
                ("comments", "second"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let history = codes::history(&mut f.app.conn(), f.brand.id, CodeId(id)).expect("history");
    assert_eq!(history[0].action, "updated");
    let changes = history[0].changes.as_object().expect("object");
    assert_eq!(changes["comments"], serde_json::json!(["first", "second"]));
    assert_eq!(
        changes["credit_rule"],
        serde_json::json!(["ALWAYS", "INVOLVED"])
    );
    assert!(!changes.contains_key("code"), "only what changed");
    let (_, page) = f.c.page(&format!("/codes/{id}")).await;
    assert!(
        page.contains("<del>first</del> <ins>second</ins>"),
        "{page}"
    );
}

#[actix_web::test]
async fn bulk_expire_reports_each_code() {
    let f = fixture().await;
    let a = f.code(&[("code", "BULK1")]).await;
    let b = f.code(&[("code", "BULK2")]).await;
    let gone = f
        .code(&[
            ("code", "GONE"),
            ("active_start", "2020-01-01T00:00"),
            ("active_end", "2020-02-01T00:00"),
        ])
        .await;
    let (a, b, g) = (a.to_string(), b.to_string(), gone.to_string());
    let res =
        f.c.post(
            "/codes/bulk",
            &[("action", "expire"), ("ids", &a), ("ids", &b), ("ids", &g)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.expect("body");
    assert!(body.contains("Expire: 2 done, 1 refused"), "{body}");
    assert!(
        body.contains("GONE already expired on 2020-02-01 00:00 EST."),
        "{body}"
    );
    assert!(f.row(a.parse().expect("id")).active_end.is_some());
    assert!(f.row(b.parse().expect("id")).active_end.is_some());
    // Bulk deal and dates.
    let res =
        f.c.post(
            "/codes/bulk",
            &[
                ("action", "dates"),
                ("ids", &a),
                ("active_start", "2030-01-01T00:00"),
                ("active_end", "2030-02-01T00:00"),
            ],
        )
        .await;
    assert!(res.text().await.expect("body").contains("1 done"));
    assert_eq!(
        f.row(a.parse().expect("id")).active_start,
        Utc.with_ymd_and_hms(2030, 1, 1, 5, 0, 0).single()
    );
    // Export of a selection.
    let res =
        f.c.post("/codes/bulk", &[("action", "export"), ("ids", &b)])
            .await;
    let csv = res.text().await.expect("csv");
    assert!(csv.contains("BULK2") && !csv.contains("BULK1"));
}

#[actix_web::test]
async fn regex_conflicts_are_shown_before_saving() {
    let f = fixture().await;
    f.code(&[
        ("code", "SPRING25"),
        ("partner_id", &f.other_partner.to_string()),
    ])
    .await;
    let res = f
        .create(&[("code", "SPRING.*"), ("match_mode", "RE")])
        .await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.expect("body");
    assert!(
        body.contains("matches the exact code SPRING25") && body.contains("Deal Hunter"),
        "{body}"
    );
    assert!(body.contains("name=\"confirm_conflicts\" value=\"yes\""));
    assert_eq!(
        codes::count_by_program(&mut f.app.conn(), f.brand.id, f.brand.program).expect("count"),
        1,
        "not saved yet"
    );
    let res = f
        .create(&[
            ("code", "SPRING.*"),
            ("match_mode", "RE"),
            ("confirm_conflicts", "yes"),
        ])
        .await;
    assert_eq!(res.status(), 303);
    // Two regexes of different partners that share matches.
    let res = f
        .create(&[
            ("code", "SPR[A-Z]NG[0-9]+"),
            ("match_mode", "RE"),
            ("partner_id", &f.other_partner.to_string()),
        ])
        .await;
    assert_eq!(res.status(), 409);
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("overlaps the regex code SPRING.*"));
}

#[actix_web::test]
async fn a_code_that_credited_an_order_keeps_its_value() {
    let f = fixture().await;
    let id = f.code(&[("code", "LOCKED")]).await;
    let mut conn = f.app.conn();
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "INSERT INTO actions (brand_id, program_id, order_id, event_date, matched_code_id, credit_reason, currency)
         VALUES ($1, $2, 'O-1', now(), $3, 'code_always', 'USD')",
    )
    .bind::<diesel::sql_types::BigInt, _>(f.brand.id.0)
    .bind::<diesel::sql_types::BigInt, _>(f.brand.program.0)
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut conn)
    .expect("action");
    let program = f.brand.program.0.to_string();
    let partner = f.partner.to_string();
    let res =
        f.c.post(
            &format!("/codes/{id}"),
            &[
                ("program_id", &program),
                ("code", "UNLOCKED"),
                ("code_type", "TRACKING"),
                ("partner_id", &partner),
                ("credit_rule", "ALWAYS"),
                ("match_mode", "LI"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("Expire it and create a new code instead."));
    assert_eq!(f.row(id).code, "LOCKED");
}

#[actix_web::test]
async fn viewers_cannot_change_codes() {
    let f = fixture().await;
    let id = f.code(&[("code", "KEEP")]).await;
    f.app.user(&f.brand, "vic@acme.test", Role::Viewer);
    let v = f.app.login("vic@acme.test").await;
    assert_eq!(v.get(&format!("/codes/{id}")).await.status(), 200);
    assert_eq!(v.get("/codes/new").await.status(), 403);
    assert_eq!(v.get(&format!("/codes/{id}/edit")).await.status(), 403);
    let program = f.brand.program.0.to_string();
    let res = v
        .post(
            "/codes",
            &[
                ("program_id", &program),
                ("code", "NEW"),
                ("code_type", "RESTRICTED"),
                ("match_mode", "LI"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    let ids = id.to_string();
    assert_eq!(
        v.post(&format!("/codes/{id}/expire"), &[("at", "")])
            .await
            .status(),
        403
    );
    assert_eq!(
        v.post(&format!("/codes/{id}/reactivate"), &[("active_end", "")])
            .await
            .status(),
        403
    );
    assert_eq!(
        v.post("/codes/bulk", &[("action", "expire"), ("ids", &ids)])
            .await
            .status(),
        403
    );
    assert_eq!(
        v.post(
            &format!("/codes/{id}"),
            &[
                ("program_id", &program),
                ("code", "CHANGED"),
                ("code_type", "RESTRICTED"),
                ("match_mode", "LI")
            ]
        )
        .await
        .status(),
        403
    );
    let row = f.row(id);
    assert_eq!((row.code.as_str(), row.active_end), ("KEEP", None));
    assert_eq!(
        codes::count_by_program(&mut f.app.conn(), f.brand.id, f.brand.program).expect("count"),
        1
    );
    // Viewers may export.
    assert_eq!(
        v.post("/codes/bulk", &[("action", "export"), ("ids", &ids)])
            .await
            .status(),
        200
    );
}

#[actix_web::test]
async fn another_brands_code_is_404_on_every_route() {
    let f = fixture().await;
    let id = f.code(&[("code", "SECRET")]).await;
    let other = f.app.brand("Other");
    f.app.user(&other, "eve@other.test", Role::Admin);
    let eve = f.app.login("eve@other.test").await;
    for path in [format!("/codes/{id}"), format!("/codes/{id}/edit")] {
        let (status, body) = eve.page(&path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("SECRET"));
    }
    let program = other.program.0.to_string();
    let fields = [
        ("program_id", program.as_str()),
        ("code", "STOLEN"),
        ("code_type", "RESTRICTED"),
        ("match_mode", "LI"),
    ];
    assert_eq!(
        eve.post(&format!("/codes/{id}"), &fields).await.status(),
        404
    );
    assert_eq!(
        eve.post(&format!("/codes/{id}/expire"), &[("at", "")])
            .await
            .status(),
        404
    );
    assert_eq!(
        eve.post(&format!("/codes/{id}/reactivate"), &[("active_end", "")])
            .await
            .status(),
        404
    );
    let ids = id.to_string();
    let res = eve
        .post("/codes/bulk", &[("action", "expire"), ("ids", &ids)])
        .await;
    assert!(res.text().await.expect("body").contains("No such code."));
    let csv = eve
        .post("/codes/bulk", &[("action", "export"), ("ids", &ids)])
        .await
        .text()
        .await
        .expect("csv");
    assert!(!csv.contains("SECRET"));
    let (_, list) = eve.page("/codes").await;
    assert!(!list.contains("SECRET"));
    assert!(!eve
        .get("/codes.csv")
        .await
        .text()
        .await
        .expect("csv")
        .contains("SECRET"));
    // Eve cannot attach her code to Acme's program or partner either.
    let acme_program = f.brand.program.0.to_string();
    let res = eve
        .post(
            "/codes",
            &[
                ("program_id", &acme_program),
                ("code", "X"),
                ("code_type", "RESTRICTED"),
                ("match_mode", "LI"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let acme_partner = f.partner.to_string();
    let res = eve
        .post(
            "/codes",
            &[
                ("program_id", &program),
                ("code", "X"),
                ("code_type", "TRACKING"),
                ("partner_id", &acme_partner),
                ("credit_rule", "ALWAYS"),
                ("match_mode", "LI"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let row = f.row(id);
    assert_eq!((row.code.as_str(), row.active_end), ("SECRET", None));
}

#[actix_web::test]
async fn the_regex_tester_answers_without_javascript() {
    let f = fixture().await;
    let res =
        f.c.post(
            "/help/regex",
            &[
                ("pattern", "^(?i)(SUMMER).*"),
                ("samples", "summer10\nWINTER\n  SUMMER  "),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.expect("body");
    assert!(body.contains("<code>summer10</code> matches"), "{body}");
    assert!(body.contains("<code>WINTER</code> does not match"));
    assert!(
        body.contains("<code>SUMMER</code> matches"),
        "samples are trimmed like entered codes"
    );
    let res =
        f.c.http
            .post(f.c.url("/help/regex"))
            .header("Accept", "application/json")
            .form(&[
                ("pattern", ".*"),
                ("samples", "x"),
                ("csrf_token", f.c.csrf().await.as_str()),
            ])
            .send()
            .await
            .expect("post");
    let json: serde_json::Value = res.json().await.expect("json");
    assert!(
        json["error"]
            .as_str()
            .is_some_and(|e| e.to_lowercase().contains("empty")),
        "{json}"
    );
}

#[actix_web::test]
async fn the_list_filters_follow_new_and_renamed_partners_and_deals() {
    let f = fixture().await;
    let (_, page) = f.c.page("/codes").await;
    assert!(page.contains("Coupon Planet (100)"));
    assert!(!page.contains("Late Joiner"));

    // A partner added after the list was shown (remembered by the server)
    // is offered on the next view, and a renamed one under its new name.
    f.app.partner(&f.brand, 300, "Late Joiner");
    diesel::sql_query("UPDATE partners SET name = 'Coupon Planet Ltd' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(f.partner)
        .execute(&mut f.app.conn())
        .expect("rename");
    let (_, page) = f.c.page("/codes").await;
    assert!(page.contains("Late Joiner (300)"), "new partner offered");
    assert!(page.contains("Coupon Planet Ltd (100)"), "renamed partner");
    assert!(!page.contains("Coupon Planet (100)"));
    // The code form reads the same remembered lists.
    let (_, form) = f.c.page("/codes/new").await;
    assert!(
        form.contains("Late Joiner · Media Id 300"),
        "new partner on the form"
    );
    assert!(form.contains("Coupon Planet Ltd · Media Id 100"));

    // The same for deals: one created through the form.
    let program = f.brand.program.0.to_string();
    let res =
        f.c.post(
            "/deals",
            &[
                ("program_id", program.as_str()),
                ("name", "Winter Sale"),
                ("kind", "PERCENT_OFF"),
                ("value", "15"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, page) = f.c.page("/codes").await;
    assert!(page.contains("Winter Sale"), "new deal offered");
}

#[actix_web::test]
async fn a_search_by_code_lists_the_matches_by_code() {
    let f = fixture().await;
    for code in ["SUMB", "SUMC", "SUMA", "WINTER"] {
        f.code(&[("code", code)]).await;
    }
    let (_, page) = f.c.page("/codes?q=sum").await;
    let a = page.find(">SUMA<").expect("SUMA listed");
    let b = page.find(">SUMB<").expect("SUMB listed");
    let c = page.find(">SUMC<").expect("SUMC listed");
    assert!(a < b && b < c, "by code, not newest first");
    assert!(!page.contains(">WINTER<"));
    // Without a search the list is newest first.
    let (_, page) = f.c.page("/codes").await;
    let newest = page.find(">WINTER<").expect("WINTER listed");
    assert!(newest < page.find(">SUMB<").expect("SUMB listed"));
}
