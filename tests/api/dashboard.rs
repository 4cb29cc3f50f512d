//! The dashboard: each number links to the list it counts, and money reads
//! with thousands separators and its currency.

use crate::helpers::{Brand, TestApp};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel::RunQueryDsl;
use promodesk::domain::Role;

/// Inserts a code with the given window (None: open).
pub fn insert_code(
    app: &TestApp,
    brand: &Brand,
    partner: Option<i64>,
    code: &str,
    start: Option<chrono::DateTime<chrono::Utc>>,
    end: Option<chrono::DateTime<chrono::Utc>>,
) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let row: Id = diesel::sql_query(
        "INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule,
                                  match_mode, active_start, active_end, time_zone)
         VALUES ($1, $2, $3, 'TRACKING', $4, 'ALWAYS', 'LI', $5, $6, 'America/New_York')
         RETURNING id",
    )
    .bind::<BigInt, _>(brand.id.0)
    .bind::<BigInt, _>(brand.program.0)
    .bind::<Text, _>(code)
    .bind::<Nullable<BigInt>, _>(partner)
    .bind::<Nullable<Timestamptz>, _>(start)
    .bind::<Nullable<Timestamptz>, _>(end)
    .get_result(&mut app.conn())
    .expect("insert code");
    row.id
}

/// The number and link of each dashboard figure, by its label.
fn figures(html: &str) -> Vec<(String, String, i64)> {
    html.split("<span class=\"kpi-label\">")
        .skip(1)
        .map(|s| {
            let label = s.split('<').next().unwrap_or("").to_string();
            let href = s
                .split_once("href=\"")
                .and_then(|(_, r)| r.split_once('"'))
                .map(|(h, _)| h.replace("&amp;", "&"))
                .unwrap_or_default();
            let value = s
                .split_once("\">")
                .and_then(|(_, r)| r.split_once("\">"))
                .and_then(|(_, r)| r.split_once('<'))
                .map(|(v, _)| v.replace(',', ""))
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1);
            (label, href, value)
        })
        .collect()
}

#[actix_web::test]
async fn each_number_links_to_a_list_of_as_many() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Viewer);
    let partner = app.partner(&brand, 100, "Coupon Planet");
    app.partner(&brand, 200, "Deal Hunter");
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    for (i, (start, end)) in [
        (None, None),
        (Some(now - day), None),
        (Some(now - day), Some(now + day)),
        (Some(now + day), None),
        (Some(now + day), Some(now + day * 3)),
        (Some(now - day * 3), Some(now - day)),
        (None, Some(now - day)),
        // Expired before it started (what expiring a scheduled code does):
        // expired, not scheduled, on the dashboard as in the list.
        (Some(now + day), Some(now + day)),
    ]
    .into_iter()
    .enumerate()
    {
        insert_code(&app, &brand, Some(partner), &format!("C{i}"), start, end);
    }
    let c = app.login("ann@acme.test").await;
    let (status, body) = c.page("/").await;
    assert_eq!(status, 200);
    let found = figures(&body);
    let expected = [
        ("Active codes", "/codes?status=active", 3),
        ("Scheduled codes", "/codes?status=scheduled", 2),
        ("Expired codes", "/codes?status=expired", 3),
        ("Partners", "/partners", 2),
    ];
    for (label, href, n) in expected {
        assert!(
            found
                .iter()
                .any(|(l, h, v)| l == label && h == href && *v == n),
            "{label}: {n} linked to {href} in {found:?}"
        );
    }
    for (label, href, n) in &found {
        let (status, list) = c.page(href).await;
        assert_eq!(status, 200, "{label}: {href}");
        if href.starts_with("/codes") {
            let codes = list.matches("<td class=\"code\">").count() as i64;
            assert_eq!(codes, *n, "{label}: {href} lists {codes} codes");
            let total = format!("{n} code{}", if *n == 1 { "" } else { "s" });
            assert!(list.contains(&total), "{label}: {href} says {total}");
        } else {
            let partners = list.matches("<a href=\"/partners/").count() as i64;
            assert_eq!(partners, *n, "{label}: {href} lists {partners} partners");
        }
    }
    // The programs table links each program's count to its codes.
    let program_href = format!("/codes?program={}", brand.program);
    assert!(body.contains(&format!("href=\"{program_href}\"")), "{body}");
    let list = c.ok(&program_href).await;
    assert_eq!(list.matches("<td class=\"code\">").count(), 8);
}

#[actix_web::test]
async fn money_has_thousands_separators_and_its_currency() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Viewer);
    let mut conn = app.conn();
    for (order, currency, sale, payout) in [
        ("O-1", "USD", "173000.00", "12000.005"),
        ("O-2", "USD", "405.00", "345.67"),
        ("O-3", "JPY", "1234567.4", "1000"),
        ("O-4", "KWD", "1500.25", "0.5"),
    ] {
        diesel::sql_query(
            "INSERT INTO actions (brand_id, program_id, order_id, event_date, credit_reason, currency,
                                  sale_amount, payout, valid)
             VALUES ($1, $2, $3, now(), 'code_always', $4, $5::numeric, $6::numeric, true)",
        )
        .bind::<BigInt, _>(brand.id.0)
        .bind::<BigInt, _>(brand.program.0)
        .bind::<Text, _>(order)
        .bind::<Text, _>(currency)
        .bind::<Text, _>(sale)
        .bind::<Text, _>(payout)
        .execute(&mut conn)
        .expect("action");
    }
    let c = app.login("ann@acme.test").await;
    let (status, body) = c.page("/").await;
    assert_eq!(status, 200);
    for text in [
        "173,405.00 USD",
        "12,345.68 USD",
        "1,234,567 JPY",
        "1,000 JPY",
        "1,500.250 KWD",
        "0.500 KWD",
    ] {
        assert!(body.contains(text), "{text} in {body}");
    }
    assert!(!body.contains("173405"), "no bare amounts");
}
