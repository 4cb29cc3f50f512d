use crate::helpers::{location, TestApp};
use promodesk::domain::Role;

#[actix_web::test]
async fn create_edit_and_list_partners() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    let c = app.login("ann@acme.test").await;
    let res = c
        .post(
            "/partners",
            &[
                ("media_id", "4242"),
                ("name", "Coupon Planet"),
                ("status", "active"),
                ("credit_group", "STANDARD"),
                ("payout_percent", "7.5"),
                ("email", "team@coupons.example"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let path = location(&res);
    let (status, body) = c.page(&path).await;
    assert_eq!(status, 200);
    assert!(body.contains("Partner Coupon Planet (Media Id 4242) created."));
    assert!(body.contains("value=\"7.5\""));
    let res = c
        .post(
            &path,
            &[
                ("media_id", "4242"),
                ("name", "Coupon Planet Ltd"),
                ("status", "inactive"),
                ("credit_group", "STANDARD"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let list = c.ok("/partners").await;
    assert!(
        list.contains("Coupon Planet Ltd") && list.contains("inactive") && list.contains("4242")
    );
}

#[actix_web::test]
async fn bad_partner_input_is_shown_beside_each_field() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    let c = app.login("ann@acme.test").await;
    let res = c
        .post(
            "/partners",
            &[
                ("media_id", "abc"),
                ("name", ""),
                ("payout_percent", "5"),
                ("payout_flat", "2"),
                ("email", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(body.contains("`abc` is not a Media Id"));
    assert!(body.contains("Give a percent or a flat amount, not both."));
    assert!(body.contains("Not an email address"));
    assert!(body.contains("value=\"abc\""), "the input is kept");
    let list = c.ok("/partners").await;
    assert!(list.contains("No partners yet"));
}

#[actix_web::test]
async fn duplicate_media_id_names_the_partner_that_has_it() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    app.partner(&brand, 900, "First Partner");
    let c = app.login("ann@acme.test").await;
    let res = c
        .post(
            "/partners",
            &[("media_id", "900"), ("name", "Second Partner")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(
        body.contains("Media Id 900 already belongs to the partner First Partner."),
        "{body}"
    );
}

#[actix_web::test]
async fn admins_edit_program_settings_with_validation() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.login("ann@acme.test").await;
    let path = format!("/settings/programs/{}", brand.program);
    let res = c
        .post(
            &path,
            &[
                ("name", "Acme US"),
                ("time_zone", "Mars/Base"),
                ("currency", "USD"),
                ("landing_url", "https://shop.example/"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.expect("body").contains("IANA time zone"));
    let res = c
        .post(
            &path,
            &[
                ("name", "Acme USA"),
                ("time_zone", "America/Chicago"),
                ("currency", "usd"),
                ("landing_url", "https://acme.example/"),
                ("referral_window_days", "14"),
                ("tracking_enabled", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let mut conn = app.conn();
    let p = promodesk::store::programs::get(&mut conn, brand.id, brand.program).expect("program");
    assert_eq!(
        (
            p.name.as_str(),
            p.time_zone.as_str(),
            p.referral_window_days
        ),
        ("Acme USA", "America/Chicago", 14)
    );
}

/// The codes of a page's tables, in the order shown.
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
async fn a_partners_page_lists_its_codes_with_the_lists_filters() {
    use crate::dashboard::insert_code;
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Viewer);
    let planet = app.partner(&brand, 100, "Coupon Planet");
    let hunter = app.partner(&brand, 200, "Deal Hunter");
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    insert_code(&app, &brand, Some(planet), "PLANET10", None, None);
    insert_code(
        &app,
        &brand,
        Some(planet),
        "PLANET20",
        Some(now + day),
        None,
    );
    insert_code(
        &app,
        &brand,
        Some(planet),
        "PLANETOLD",
        None,
        Some(now - day),
    );
    insert_code(&app, &brand, Some(hunter), "HUNTER10", None, None);
    let c = app.login("ann@acme.test").await;

    let page = format!("/partners/{planet}");
    let (status, body) = c.page(&page).await;
    assert_eq!(status, 200);
    let mut shown = codes_in(&body);
    shown.sort();
    assert_eq!(shown, ["PLANET10", "PLANET20", "PLANETOLD"]);
    assert!(body.contains("3 codes"), "{body}");
    assert!(
        body.contains(&format!("href=\"/codes?partner={planet}\"")),
        "a link to the code list with this partner"
    );

    let (status, body) = c.page(&format!("{page}?status=expired")).await;
    assert_eq!(status, 200);
    assert_eq!(codes_in(&body), ["PLANETOLD"]);
    assert!(body.contains("1 code match these filters"), "{body}");
    assert!(body.contains("<option value=\"expired\" selected>"));
    // The code list opened from here shows the same codes, with its bulk actions.
    let list = format!("/codes?status=expired&#38;partner={planet}");
    assert!(body.contains(&format!("href=\"{list}\"")), "{body}");
    let listed = c.ok(&list.replace("&#38;", "&")).await;
    assert_eq!(codes_in(&listed), ["PLANETOLD"]);

    let body = c.ok(&format!("{page}?q=planet2")).await;
    assert_eq!(codes_in(&body), ["PLANET20"]);
    // The partner is fixed: a partner in the query does not swap it.
    let body = c.ok(&format!("{page}?partner={hunter}")).await;
    assert_eq!(codes_in(&body).len(), 3);
    assert!(!body.contains("HUNTER10"));
    let (status, body) = c.page(&format!("{page}?status=scheduled&q=old")).await;
    assert_eq!(status, 200);
    assert!(codes_in(&body).is_empty());
    assert!(
        body.contains("None of this partner's codes match these filters."),
        "{body}"
    );

    let lonely = app.partner(&brand, 300, "Lonely Partner");
    let (status, body) = c.page(&format!("/partners/{lonely}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("No promo codes for this partner yet."));
}

#[actix_web::test]
async fn a_partner_with_many_codes_pages_through_them() {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Viewer);
    let planet = app.partner(&brand, 100, "Coupon Planet");
    diesel::sql_query(
        "INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule,
                                  match_mode, time_zone)
         SELECT $1, $2, 'BULK' || lpad(n::text, 3, '0'), 'TRACKING', $3, 'ALWAYS', 'LI', 'UTC'
         FROM generate_series(1, 55) n",
    )
    .bind::<diesel::sql_types::BigInt, _>(brand.id.0)
    .bind::<diesel::sql_types::BigInt, _>(brand.program.0)
    .bind::<diesel::sql_types::BigInt, _>(planet)
    .execute(&mut app.conn())
    .expect("codes");
    let c = app.login("ann@acme.test").await;
    let first = c.ok(&format!("/partners/{planet}")).await;
    assert_eq!(codes_in(&first).len(), 50);
    assert!(first.contains("1–50 of 55 codes"), "{first}");
    let next = format!("/partners/{planet}?page=2#codes");
    assert!(first.contains(&format!("href=\"{next}\"")), "{first}");
    let second = c.ok(&next).await;
    let mut all = codes_in(&first);
    all.extend(codes_in(&second));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 55, "every code once");
}

#[actix_web::test]
async fn flat_payouts_read_with_thousands_separators() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    let c = app.login("ann@acme.test").await;
    let res = c
        .post(
            "/partners",
            &[
                ("media_id", "4242"),
                ("name", "Coupon Planet"),
                ("payout_flat", "2500"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (status, list) = c.page("/partners").await;
    assert_eq!(status, 200);
    assert!(list.contains("2,500.00 flat"), "{list}");
}
