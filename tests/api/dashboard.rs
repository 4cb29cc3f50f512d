//! The dashboard: each number links to the list it counts, and money reads
//! with thousands separators and its currency.

use crate::helpers::acme;
use crate::html::figures;
use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;
use promodesk::domain::Role;

#[actix_web::test]
async fn each_number_links_to_a_list_of_as_many() {
    let (app, brand, c) = acme(Role::Viewer).await;
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
        app.code(&brand, &format!("C{i}"))
            .partner(partner)
            .window(start, end)
            .create();
    }
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
    let (app, brand, c) = acme(Role::Viewer).await;
    let mut conn = app.conn();
    for (order, currency, sale, payout) in [
        ("O-1", "USD", "173000.00", "12000.005"),
        ("O-2", "USD", "405.00", "345.67"),
        ("O-3", "JPY", "1234567.4", "1000"),
        ("O-4", "KWD", "1500.25", "0.5"),
    ] {
        diesel::sql_query(
            "INSERT INTO actions (brand_id, program_id, order_id, event_date, credit_reason, currency,
                                  sale_amount, payout, valid, locking_date)
             VALUES ($1, $2, $3, now(), 'code_always', $4, $5::numeric, $6::numeric, true, now())",
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
