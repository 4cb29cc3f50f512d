//! Promo code management through HTTP.

use crate::helpers::{acme_as, body_of, location, Brand, Client, TestApp};
use crate::html::{codes_in, field_errors, form_value, input_value};
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
    let (app, brand, _, c) = acme_as("max@acme.test", Role::Manager).await;
    let partner = app.partner(&brand, 100, "Coupon Planet");
    let other_partner = app.partner(&brand, 200, "Deal Hunter");
    Fixture {
        app,
        brand,
        partner,
        other_partner,
        c,
    }
}

impl Fixture {
    /// The code form's fields for a TRACKING, exact, ALWAYS code of the
    /// fixture's partner, with `fields` changed.
    fn form<'a>(
        &'a self,
        partner: &'a str,
        fields: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut all = vec![("partner_id", partner)];
        all.extend_from_slice(fields);
        all
    }

    /// Creates a code through the form; returns the response.
    async fn create(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        let partner = self.partner.to_string();
        let form = self.form(&partner, fields);
        self.c.code_form("/codes", self.brand.program, &form).await
    }

    /// Saves code `id` through its edit form; returns the response.
    async fn edit(&self, id: i64, fields: &[(&str, &str)]) -> reqwest::Response {
        let partner = self.partner.to_string();
        let form = self.form(&partner, fields);
        self.c
            .code_form(&format!("/codes/{id}"), self.brand.program, &form)
            .await
    }

    /// Creates a code and returns its id.
    async fn code(&self, fields: &[(&str, &str)]) -> i64 {
        let res = self.create(fields).await;
        let status = res.status();
        if status != 303 {
            let body = res.text().await.unwrap_or_default();
            panic!("create failed with {status}: {:?}", field_errors(&body));
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
    let page = f.c.ok(&format!("/codes/{re}")).await;
    assert!(page.contains("Regex (RE): the pattern matches the whole code"));
    let list = f.c.ok("/codes").await;
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
    let edit = f.c.ok(&format!("/codes/{id}/edit")).await;
    assert!(
        edit.contains("value=\"2026-07-01T09:00\"") && edit.contains("value=\"2026-12-24T18:30\""),
        "{edit}"
    );
    let show = f.c.ok(&format!("/codes/{id}")).await;
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

    let page = f.c.ok("/codes?status=expired").await;
    assert_eq!(codes_in(&page), vec!["OLD1"]);
    let page = f.c.ok("/codes?status=scheduled").await;
    assert_eq!(codes_in(&page), vec!["SOON"]);
    let page = f.c.ok("/codes?type=RESTRICTED").await;
    assert_eq!(codes_in(&page), vec!["STAFF"]);
    let page = f.c.ok("/codes?q=deal+hun").await;
    assert_eq!(codes_in(&page), vec!["ALPHA"], "search by partner name");
    let page = f.c.ok("/codes?q=bra").await;
    assert_eq!(
        codes_in(&page),
        vec!["BRAVO"],
        "search by the start of the code, any case"
    );
    let page = f.c.ok("/codes?q=rav").await;
    assert!(codes_in(&page).is_empty(), "not inside the code without *");
    let page = f.c.ok("/codes?q=*rav").await;
    assert_eq!(codes_in(&page), vec!["BRAVO"], "* stands for any text");
    let page = f.c.ok("/codes?q=o*1").await;
    assert_eq!(codes_in(&page), vec!["OLD1"], "* inside the text");
    let page = f.c.ok("/codes?q=_").await;
    assert!(codes_in(&page).is_empty(), "LIKE wildcards are literal");
    let page = f.c.ok("/codes?status=active&sort=code").await;
    assert_eq!(codes_in(&page), vec!["ALPHA", "BRAVO", "STAFF"]);
    let page = f.c.ok("/codes?status=active&sort=-code").await;
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
    for i in 0..130i64 {
        // 78 codes with a partner, then 52 without: page 3 starts past the
        // partners and must find where the codes without one continue.
        let (partner, name) = partners[(i % 5).min(3) as usize];
        let start = (i % 11 != 0).then(|| base + Duration::days(i % 5));
        let end = (i % 3 != 0).then(|| base + Duration::days(40 + i % 4));
        let code = format!("S{i:03}");
        let id = f
            .app
            .code(&f.brand, &code)
            .partner_or_none(partner)
            .window(start, end)
            .tz(chrono_tz::UTC)
            .create();
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

    // A search with few matches sorts them (instead of walking an index):
    // the same orders, of the matches only.
    let walk_q = |q: &'static str, sort: &'static str| {
        let c = &f.c;
        async move {
            let mut all = Vec::new();
            for page in 1..=3 {
                let (status, html) = c
                    .page(&format!("/codes?q={q}&sort={sort}&page={page}"))
                    .await;
                assert_eq!(status, 200);
                all.extend(codes_in(&html));
            }
            all
        }
    };
    let by_code = |v: &[&Made], keep: &dyn Fn(&Made) -> bool| {
        v.iter()
            .filter(|m| keep(m))
            .map(|m| m.code.clone())
            .collect::<Vec<_>>()
    };
    let s0 = |m: &Made| m.code.starts_with("S0");
    let dealers = |m: &Made| m.name.contains("deal");
    v.sort_by_key(|m| (m.partner.is_none(), m.name, m.partner, Reverse(m.id)));
    assert_eq!(walk_q("s0", "partner").await, by_code(&v, &s0));
    assert_eq!(walk_q("deal", "partner").await, by_code(&v, &dealers));
    v.sort_by_key(|m| {
        (
            m.partner.is_none(),
            Reverse(m.name),
            Reverse(m.partner),
            Reverse(m.id),
        )
    });
    assert_eq!(walk_q("s0", "-partner").await, by_code(&v, &s0));
    v.sort_by_key(|m| (m.start, m.id));
    assert_eq!(walk_q("deal", "start").await, by_code(&v, &dealers));
    v.reverse();
    assert_eq!(walk_q("deal", "-start").await, by_code(&v, &dealers));
    v.sort_by_key(|m| (m.end.is_none(), m.end, m.id));
    assert_eq!(walk_q("deal", "end").await, by_code(&v, &dealers));
    v.reverse();
    assert_eq!(walk_q("deal", "-end").await, by_code(&v, &dealers));
    v.sort_by_key(|m| m.id);
    assert_eq!(walk_q("deal", "created").await, by_code(&v, &dealers));
}

#[actix_web::test]
async fn csv_cells_cannot_carry_formulas() {
    let f = fixture().await;
    f.code(&[
        ("code", "=HYPERLINK(\"http://x\")"),
        ("comments", "+cmd|' /C calc'!A0"),
    ])
    .await;
    let body = export_of(f.c.get("/codes.csv").await).await;
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
    let page = f.c.ok(&format!("/codes/{now_id}")).await;
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
    let page = f.c.ok(&format!("/codes/{old}")).await;
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
    let other = f.other_partner.to_string();
    let res = f
        .edit(
            id,
            &[
                ("code", "EDITME"),
                ("partner_id", &other),
                ("credit_rule", "INVOLVED"),
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
    let page = f.c.ok(&format!("/codes/{id}")).await;
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
    let csv = export_of(res).await;
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
        "INSERT INTO actions (brand_id, program_id, order_id, event_date, matched_code_id, credit_reason, currency, locking_date)
         VALUES ($1, $2, 'O-1', now(), $3, 'code_always', 'USD', now())",
    )
    .bind::<diesel::sql_types::BigInt, _>(f.brand.id.0)
    .bind::<diesel::sql_types::BigInt, _>(f.brand.program.0)
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut conn)
    .expect("action");
    let res = f.edit(id, &[("code", "UNLOCKED")]).await;
    assert!(body_of(res, 422)
        .await
        .contains("Expire it and create a new code instead."));
    assert_eq!(f.row(id).code, "LOCKED");
}

/// The fields of a RESTRICTED exact code's form.
fn restricted<'a>(program: &'a str, code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("program_id", program),
        ("code", code),
        ("code_type", "RESTRICTED"),
        ("match_mode", "LI"),
    ]
}

/// The posts that change code `id`: its edit (with `edit` as the form),
/// expire and reactivate.
fn changes_of<'a>(
    id: i64,
    edit: &'a [(&'a str, &'a str)],
) -> Vec<(String, &'a [(&'a str, &'a str)])> {
    vec![
        (format!("/codes/{id}"), edit),
        (format!("/codes/{id}/expire"), &[("at", "")]),
        (format!("/codes/{id}/reactivate"), &[("active_end", "")]),
    ]
}

/// The export of the codes `res` answered (a 200 CSV).
async fn export_of(res: reqwest::Response) -> String {
    let kind = res.headers()["content-type"]
        .to_str()
        .expect("type")
        .to_string();
    let csv = body_of(res, 200).await;
    assert!(kind.starts_with("text/csv"), "{kind}");
    assert!(csv.starts_with("Code Id,Promo Code,"), "{csv}");
    csv
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
    let ids = id.to_string();
    let (new, changed) = (restricted(&program, "NEW"), restricted(&program, "CHANGED"));
    let bulk = [("action", "expire"), ("ids", ids.as_str())];
    let mut posts = changes_of(id, &changed);
    posts.push(("/codes".into(), &new));
    posts.push(("/codes/bulk".into(), &bulk));
    for (path, fields) in posts {
        assert_eq!(v.post(&path, fields).await.status(), 403, "{path}");
    }
    let row = f.row(id);
    assert_eq!((row.code.as_str(), row.active_end), ("KEEP", None));
    assert_eq!(
        codes::count_by_program(&mut f.app.conn(), f.brand.id, f.brand.program).expect("count"),
        1
    );
    // Viewers may export.
    let csv = export_of(
        v.post("/codes/bulk", &[("action", "export"), ("ids", &ids)])
            .await,
    )
    .await;
    assert!(csv.contains("KEEP"), "{csv}");
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
    let stolen = restricted(&program, "STOLEN");
    for (path, fields) in changes_of(id, &stolen) {
        assert_eq!(eve.post(&path, fields).await.status(), 404, "{path}");
    }
    let ids = id.to_string();
    let res = eve
        .post("/codes/bulk", &[("action", "expire"), ("ids", &ids)])
        .await;
    assert!(body_of(res, 200).await.contains("No such code."));
    let csv = export_of(
        eve.post("/codes/bulk", &[("action", "export"), ("ids", &ids)])
            .await,
    )
    .await;
    assert!(!csv.contains("SECRET"));
    let list = eve.ok("/codes").await;
    assert!(!list.contains("SECRET"));
    let csv = export_of(eve.get("/codes.csv").await).await;
    assert!(!csv.contains("SECRET"));
    // Eve cannot attach her code to Acme's program or partner either.
    let acme_program = f.brand.program.0.to_string();
    let res = eve.post("/codes", &restricted(&acme_program, "X")).await;
    assert_eq!(res.status(), 422);
    let acme_partner = f.partner.to_string();
    let res = eve
        .create_code(
            other.program,
            &[("code", "X"), ("partner_id", &acme_partner)],
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
    let page = f.c.ok("/codes").await;
    assert!(page.contains("Coupon Planet (100)"));
    assert!(!page.contains("Late Joiner"));

    // A partner added after the list was shown (remembered by the server)
    // is offered on the next view, and a renamed one under its new name.
    f.app.partner(&f.brand, 300, "Late Joiner");
    diesel::sql_query("UPDATE partners SET name = 'Coupon Planet Ltd' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(f.partner)
        .execute(&mut f.app.conn())
        .expect("rename");
    let page = f.c.ok("/codes").await;
    assert!(page.contains("Late Joiner (300)"), "new partner offered");
    assert!(page.contains("Coupon Planet Ltd (100)"), "renamed partner");
    assert!(!page.contains("Coupon Planet (100)"));
    // The code form reads the same remembered lists.
    let form = f.c.ok("/codes/new").await;
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
    let page = f.c.ok("/codes").await;
    assert!(page.contains("Winter Sale"), "new deal offered");
}

#[actix_web::test]
async fn a_search_by_code_lists_the_matches_by_code() {
    let f = fixture().await;
    for code in ["SUMB", "SUMC", "SUMA", "WINTER"] {
        f.code(&[("code", code)]).await;
    }
    let page = f.c.ok("/codes?q=sum").await;
    let a = page.find(">SUMA<").expect("SUMA listed");
    let b = page.find(">SUMB<").expect("SUMB listed");
    let c = page.find(">SUMC<").expect("SUMC listed");
    assert!(a < b && b < c, "by code, not newest first");
    assert!(!page.contains(">WINTER<"));
    // Without a search the list is newest first.
    let page = f.c.ok("/codes").await;
    let newest = page.find(">WINTER<").expect("WINTER listed");
    assert!(newest < page.find(">SUMB<").expect("SUMB listed"));
}

/// A second program of the brand: Berlin, tracking off. Its name sorts
/// before the fixture's "Acme US".
pub fn eu_program(app: &TestApp, brand: &Brand) -> i64 {
    app.program(brand, "Acme EU")
        .tz("Europe/Berlin")
        .currency("EUR")
        .tracking(false)
        .create()
        .0
}

#[actix_web::test]
async fn a_new_code_defaults_to_a_tracking_program_and_its_time_zone() {
    let f = fixture().await;
    let eu = eu_program(&f.app, &f.brand);
    let (status, form) = f.c.page("/codes/new").await;
    assert_eq!(status, 200);
    assert_eq!(
        form_value(&form, "program_id").as_deref(),
        Some(f.brand.program.0.to_string().as_str()),
        "the program with tracking on, not the first by name (tracking off)"
    );
    assert_eq!(
        form_value(&form, "timezone").as_deref(),
        Some("America/New_York")
    );
    assert_eq!(
        form_value(&form, "timezone_default").as_deref(),
        Some("America/New_York")
    );
    assert!(
        form.contains(&format!(
            "<option value=\"{eu}\" data-time-zone=\"Europe/Berlin\""
        )),
        "each program names its zone for the page's script"
    );
    // Asked for, the other program and its zone.
    let form = f.c.ok(&format!("/codes/new?program={eu}")).await;
    assert_eq!(
        form_value(&form, "program_id").as_deref(),
        Some(eu.to_string().as_str())
    );
    assert_eq!(
        form_value(&form, "timezone").as_deref(),
        Some("Europe/Berlin")
    );
}

#[actix_web::test]
async fn a_code_for_another_program_with_the_zone_left_at_its_default_gets_that_programs_zone() {
    let f = fixture().await;
    let eu = eu_program(&f.app, &f.brand);
    // The form drawn for the Berlin program; the user picks the New York
    // one and leaves the zone as it was (no script changed it).
    let form = f.c.ok(&format!("/codes/new?program={eu}")).await;
    let shown = form_value(&form, "timezone_default").expect("the zone the form defaulted to");
    assert_eq!(shown, "Europe/Berlin");
    let us = f.brand.program.0.to_string();
    let id = f
        .code(&[
            ("code", "USNINE"),
            ("program_id", &us),
            ("timezone", &shown),
            ("timezone_default", &shown),
            ("active_start", "2026-07-01T09:00"),
        ])
        .await;
    let row = f.row(id);
    assert_eq!(row.time_zone, "America/New_York");
    assert_eq!(
        row.active_start,
        Utc.with_ymd_and_hms(2026, 7, 1, 13, 0, 0).single(),
        "09:00 New York time (EDT)"
    );
    // A zone chosen by hand stays, whatever the program.
    let id = f
        .code(&[
            ("code", "PARISNINE"),
            ("program_id", &us),
            ("timezone", "Europe/Paris"),
            ("timezone_default", &shown),
            ("active_start", "2026-07-01T09:00"),
        ])
        .await;
    assert_eq!(f.row(id).time_zone, "Europe/Paris");
    // After an error the form shows the program's zone, now its default.
    let res = f
        .create(&[
            ("code", ""),
            ("program_id", &us),
            ("timezone", &shown),
            ("timezone_default", &shown),
        ])
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert_eq!(
        form_value(&body, "timezone").as_deref(),
        Some("America/New_York")
    );
    assert_eq!(
        form_value(&body, "timezone_default").as_deref(),
        Some("America/New_York")
    );

    // The edit form: the default is the program's zone; moved to the
    // Berlin program with the zone left, the code takes Berlin's.
    let edit =
        f.c.ok(&format!(
            "/codes/{}/edit",
            f.code(&[("code", "MOVEME")]).await
        ))
        .await;
    assert_eq!(
        form_value(&edit, "timezone_default").as_deref(),
        Some("America/New_York")
    );
    let moving = f.code(&[("code", "MOVING")]).await;
    let eu_s = eu.to_string();
    let res =
        f.c.post(
            &format!("/codes/{moving}"),
            &[
                ("program_id", eu_s.as_str()),
                ("code", "MOVING"),
                ("code_type", "RESTRICTED"),
                ("match_mode", "LI"),
                ("timezone", "America/New_York"),
                ("timezone_default", "America/New_York"),
                ("active_start", "2026-07-01T09:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let row = f.row(moving);
    assert_eq!(row.time_zone, "Europe/Berlin");
    assert_eq!(
        row.active_start,
        Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).single(),
        "09:00 Berlin time (CEST)"
    );
}

#[actix_web::test]
async fn regex_codes_are_found_by_their_literal_part() {
    let f = fixture().await;
    for (code, mode) in [
        ("^NCRX[0-9]{3}$", "RE"),
        ("^(?i)(nclx).*", "RE"),
        ("NC[0-9]+", "RE"),
        ("XNC.*", "RE"),
        ("NCAA", "LI"),
        ("NOPE", "LI"),
    ] {
        f.code(&[("code", code), ("match_mode", mode)]).await;
    }
    let (status, page) = f.c.page("/codes?q=NC").await;
    assert_eq!(status, 200);
    // Listed by the text they were found by: nc[0-9]+, ncaa, nclx).*, ncrx...
    assert_eq!(
        codes_in(&page),
        vec!["NC[0-9]+", "NCAA", "^(?i)(nclx).*", "^NCRX[0-9]{3}$"],
        "{page}"
    );
    assert!(page.contains("4 codes"));
    let page = f.c.ok("/codes?q=NC&sort=-code").await;
    assert_eq!(
        codes_in(&page),
        vec!["^NCRX[0-9]{3}$", "^(?i)(nclx).*", "NCAA", "NC[0-9]+"]
    );
    let page = f.c.ok("/codes?q=ncrx").await;
    assert_eq!(codes_in(&page), vec!["^NCRX[0-9]{3}$"]);
    let page = f.c.ok("/codes?q=%5ENCRX").await;
    assert_eq!(
        codes_in(&page),
        vec!["^NCRX[0-9]{3}$"],
        "as stored, by its key"
    );
    let page = f.c.ok("/codes?q=NC&match_mode=RE&sort=-created").await;
    assert_eq!(
        codes_in(&page),
        vec!["NC[0-9]+", "^(?i)(nclx).*", "^NCRX[0-9]{3}$"],
        "with other filters and sorts too (newest first)"
    );
    // With partners found by name too, and in the export.
    f.app.partner(&f.brand, 300, "NC Deals");
    let page = f.c.ok("/codes?q=nc").await;
    let mut found = codes_in(&page);
    found.sort();
    assert_eq!(
        found,
        vec!["NCAA", "NC[0-9]+", "^(?i)(nclx).*", "^NCRX[0-9]{3}$"]
    );
    let csv = export_of(f.c.get("/codes.csv?q=nc").await).await;
    assert!(csv.contains("^NCRX[0-9]{3}$") && csv.contains("^(?i)(nclx).*"));
    assert!(!csv.contains("XNC.*") && !csv.contains("NOPE"));
}

#[actix_web::test]
async fn a_search_finding_regex_codes_pages_through_every_match_in_order() {
    let f = fixture().await;
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut insert = |code: &str, mode: &str, found_by: &str| {
        let new = f
            .app
            .code(&f.brand, code)
            .window(None, None)
            .tz(chrono_tz::UTC);
        match mode {
            "RE" => new.regex(),
            _ => new,
        }
        .create();
        expected.push((found_by.to_string(), code.to_string()));
    };
    for i in 0..55 {
        insert(&format!("NCB{i:02}"), "LI", &format!("ncb{i:02}"));
    }
    insert("^NCA[0-9]+$", "RE", "nca[0-9]+$");
    insert("^(NCB30X)", "RE", "ncb30x)");
    insert("(?i)NCZ.*", "RE", "ncz.*");
    insert("OTHER", "LI", "");
    expected.retain(|(k, _)| !k.is_empty());
    expected.sort();
    let want: Vec<String> = expected.into_iter().map(|(_, c)| c).collect();
    let mut got = Vec::new();
    for page in 1..=2 {
        let (status, html) = f.c.page(&format!("/codes?q=NC&page={page}")).await;
        assert_eq!(status, 200);
        if page == 1 {
            assert!(html.contains("58 codes"), "{html}");
        }
        got.extend(codes_in(&html));
    }
    assert_eq!(got, want);
}

#[actix_web::test]
async fn expire_asks_first_without_script() {
    let f = fixture().await;
    let id = f.code(&[("code", "ASKME")]).await;
    let (status, show) = f.c.page(&format!("/codes/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        show.contains(&format!(
            "href=\"/codes/{id}/expire\" data-dialog=\"expire-dialog\""
        )),
        "{show}"
    );
    assert!(show.contains("<dialog id=\"expire-dialog\""));
    assert!(show.contains("<script src=\"/static/codes.js\""));
    // Without script the link opens the confirmation; nothing changes yet.
    let (status, confirm) = f.c.page(&format!("/codes/{id}/expire")).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("Expire <span class=\"mono\">ASKME</span>?"));
    assert!(confirm.contains(&format!("action=\"/codes/{id}/expire\"")));
    assert!(confirm.contains(&format!(
        "<a class=\"btn btn-ghost\" href=\"/codes/{id}\">Cancel</a>"
    )));
    assert_eq!(f.row(id).active_end, None);
    let res =
        f.c.post(&format!("/codes/{id}/expire"), &[("at", "")])
            .await;
    assert_eq!(res.status(), 303);
    assert!(f.row(id).active_end.is_some());
    // Viewers are not asked.
    f.app.user(&f.brand, "vic@acme.test", Role::Viewer);
    let v = f.app.login("vic@acme.test").await;
    assert_eq!(v.get(&format!("/codes/{id}/expire")).await.status(), 403);
}

#[actix_web::test]
async fn an_expire_date_before_the_start_is_refused_and_nothing_changes() {
    let f = fixture().await;
    let id = f
        .code(&[("code", "LATESTART"), ("active_start", "2030-03-01T00:00")])
        .await;
    let before = codes::history(&mut f.app.conn(), f.brand.id, CodeId(id)).expect("history");
    let (status, confirm) = f.c.page(&format!("/codes/{id}/expire")).await;
    assert_eq!(status, 200);
    assert!(
        confirm.contains("it then ends at its start and never becomes active.")
            && confirm.contains("Not before the code's start, 2030-03-01 00:00 EST."),
        "{confirm}"
    );
    let res =
        f.c.post(
            &format!("/codes/{id}/expire"),
            &[("at", "2030-01-15T12:00")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(
        body.contains(
            "The expire date 2030-01-15 12:00 EST is before the code&#x27;s start, 2030-03-01 00:00 EST"
        ) || body.contains(
            "The expire date 2030-01-15 12:00 EST is before the code&#39;s start, 2030-03-01 00:00 EST"
        ),
        "{body}"
    );
    assert!(
        body.contains("value=\"2030-01-15T12:00\""),
        "the date typed is kept"
    );
    assert!(body.contains("class=\"error\""));
    let row = f.row(id);
    assert_eq!(row.active_end, None, "unchanged");
    assert_eq!(
        row.active_start,
        Utc.with_ymd_and_hms(2030, 3, 1, 5, 0, 0).single()
    );
    assert_eq!(
        codes::history(&mut f.app.conn(), f.brand.id, CodeId(id))
            .expect("history")
            .len(),
        before.len()
    );
    // A date that is not one: the same page, with the reason.
    let res =
        f.c.post(&format!("/codes/{id}/expire"), &[("at", "soon")])
            .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.expect("body").contains("is not a date"));
    // From the start on it is accepted (ending at the start: never active).
    let res =
        f.c.post(
            &format!("/codes/{id}/expire"),
            &[("at", "2030-03-01T00:00")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(f.row(id).active_end, row.active_start);
}

#[actix_web::test]
async fn bulk_expire_refuses_a_date_before_a_codes_start_for_that_code() {
    let f = fixture().await;
    let started = f
        .code(&[("code", "STARTED"), ("active_start", "2026-01-01T00:00")])
        .await;
    let later = f
        .code(&[("code", "LATER30"), ("active_start", "2030-03-01T00:00")])
        .await;
    let (a, b) = (started.to_string(), later.to_string());
    let res =
        f.c.post(
            "/codes/bulk",
            &[
                ("action", "expire"),
                ("ids", &a),
                ("ids", &b),
                ("active_end", "2029-06-01T00:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.expect("body");
    assert!(body.contains("Expire: 1 done, 1 refused"), "{body}");
    assert!(
        body.contains("The expire date 2029-06-01 00:00 EDT is before the code"),
        "{body}"
    );
    assert_eq!(
        f.row(started).active_end,
        Utc.with_ymd_and_hms(2029, 6, 1, 4, 0, 0).single()
    );
    assert_eq!(f.row(later).active_end, None, "not clamped to its start");
}

#[actix_web::test]
async fn history_shows_names_and_the_reference_vocabulary() {
    let f = fixture().await;
    let id = f.code(&[("code", "NAMED")]).await;
    let other = f.other_partner.to_string();
    let deal = f
        .app
        .deal(&f.brand, "Winter Sale")
        .percent_off(15)
        .create()
        .to_string();
    let res = f
        .edit(
            id,
            &[
                ("code", "NAMED"),
                ("partner_id", &other),
                ("credit_rule", "WINNER"),
                ("deal_id", &deal),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (status, page) = f.c.page(&format!("/codes/{id}")).await;
    assert_eq!(status, 200);
    for change in [
        "<span>partner</span> <del>Coupon Planet</del> <ins>Deal Hunter</ins>",
        "<span>deal</span> <del>—</del> <ins>Winter Sale</ins>",
        "<span>credit rule</span> <del>ALWAYS</del> <ins>WINNER</ins>",
        "<span>program</span> <del>—</del> <ins>Acme US</ins>",
        "<span>match mode</span> <del>—</del> <ins>Exact (LI)</ins>",
        "<span>type</span> <del>—</del> <ins>TRACKING</ins>",
    ] {
        assert!(page.contains(change), "{change}: {page}");
    }
    assert!(!page.contains("partner id") && !page.contains("deal id"));
}

#[actix_web::test]
async fn enum_values_read_the_same_on_every_page() {
    let f = fixture().await;
    let re = f
        .code(&[
            ("code", "CASE.*"),
            ("match_mode", "RE"),
            ("credit_rule", "WINNER"),
        ])
        .await;
    f.code(&[
        ("code", "STAFFONLY"),
        ("code_type", "RESTRICTED"),
        ("partner_id", ""),
        ("credit_rule", ""),
    ])
    .await;
    let (status, list) = f.c.page("/codes").await;
    assert_eq!(status, 200);
    for text in [
        ">TRACKING</option>",
        ">RESTRICTED</option>",
        ">ALWAYS</option>",
        ">INVOLVED</option>",
        ">WINNER</option>",
        ">Exact (LI)</option>",
        ">Regex (RE)</option>",
        ">TRACKING</td>",
        "<span class=\"badge badge-warning\">RESTRICTED</span>",
        "<span class=\"badge badge-info\">Regex (RE)</span>",
        ">Exact (LI)</td>",
        ">WINNER</td>",
    ] {
        assert!(list.contains(text), "list: {text}");
    }
    for other in [
        ">Tracking<",
        ">Restricted<",
        "If winner",
        "If involved",
        ">Always<",
        ">Exact<",
        ">Regex<",
    ] {
        assert!(!list.contains(other), "list: {other}");
    }
    let (status, show) = f.c.page(&format!("/codes/{re}")).await;
    assert_eq!(status, 200);
    assert!(show.contains("<span class=\"badge badge-info\">Regex (RE)</span>"));
    assert!(show.contains("<dt>Type</dt><dd>TRACKING</dd>"));
    assert!(show.contains("<dt>Credit rule</dt><dd>WINNER</dd>"));
    assert!(show.contains("<ins>Regex (RE)</ins>"), "history");
    let (status, form) = f.c.page("/codes/new").await;
    assert_eq!(status, 200);
    assert!(form.contains(">Exact (LI)</option>") && form.contains(">Regex (RE)</option>"));
    assert!(form.contains(">TRACKING: credits its partner</option>"));
    assert!(form.contains(">WINNER: only if the partner won the journey</option>"));
    assert!(!form.contains("LI: exact"));
}

#[actix_web::test]
async fn an_edit_does_not_move_the_dates_it_shows_to_the_minute() {
    let f = fixture().await;
    // Created "now": its start has seconds, which the form does not show.
    let id = f.code(&[("code", "SECONDS")]).await;
    let start = f.row(id).active_start;
    let edit = f.c.ok(&format!("/codes/{id}/edit")).await;
    assert!(
        edit.contains("name=\"active_start\" type=\"datetime-local\""),
        "{edit}"
    );
    let shown = input_value(&edit, "active_start").expect("start shown");
    let res = f
        .edit(
            id,
            &[
                ("code", "SECONDS"),
                ("active_start", &shown),
                ("timezone", "America/New_York"),
                ("comments", "edited"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(f.row(id).active_start, start, "not moved to the minute");
    let history = codes::history(&mut f.app.conn(), f.brand.id, CodeId(id)).expect("history");
    let changes = history[0].changes.as_object().expect("object");
    assert_eq!(
        changes.keys().collect::<Vec<_>>(),
        vec!["comments"],
        "only what the user changed"
    );
}
