use crate::helpers::{location, Brand, TestApp};
use diesel::prelude::*;
use promodesk::db::schema::deals as deals_table;
use promodesk::domain::deal::{DealKind, NewDeal};
use promodesk::domain::program::ProgramSettings;
use promodesk::domain::{DealId, ProgramId, Role};
use promodesk::store::{deals, programs};
use rust_decimal::Decimal;

/// A 20%-off deal in the brand's program, written directly.
fn deal(app: &TestApp, brand: &Brand, name: &str) -> i64 {
    let mut c = app.conn();
    deals::create(
        &mut c,
        brand.id,
        &NewDeal {
            program_id: brand.program,
            name: name.into(),
            kind: DealKind::PercentOff,
            value: Some(Decimal::new(20, 0)),
            currency: None,
        },
    )
    .expect("deal")
    .id
}

/// A second program of the brand.
fn program(app: &TestApp, brand: &Brand, name: &str) -> ProgramId {
    let mut c = app.conn();
    let p = programs::create(
        &mut c,
        brand.id,
        &ProgramSettings {
            name: name.into(),
            time_zone: "Europe/Berlin".into(),
            currency: "EUR".into(),
            landing_url: "https://shop.example/de/".into(),
            referral_window_days: 30,
            locking_days: 30,
            tracking_enabled: true,
        },
    )
    .expect("program");
    ProgramId(p.id)
}

/// The error message shown in the form field that holds the input `field`.
fn error_beside(body: &str, field: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{field}\""))?;
    let rest = &body[start..];
    let end = rest.find("class=\"field").unwrap_or(rest.len());
    let marker = "<p class=\"error\">";
    let at = rest[..end].find(marker)? + marker.len();
    let len = rest[at..].find("</p>")?;
    Some(rest[at..at + len].to_string())
}

/// Deals in the whole database, every brand.
fn count_all(app: &TestApp) -> i64 {
    deals_table::table
        .count()
        .get_result(&mut app.conn())
        .expect("count deals")
}

#[actix_web::test]
async fn create_list_and_edit_deals() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    let c = app.login("ann@acme.test").await;
    let (status, list) = c.page("/deals").await;
    assert_eq!(status, 200);
    assert!(list.contains("No deals yet") && list.contains("Add your first deal"));
    let (status, form) = c.page("/deals/new").await;
    assert_eq!(status, 200);
    assert!(
        form.contains(&format!(
            "<option value=\"{}\" selected>Acme US</option>",
            brand.program
        )),
        "the only program is chosen: {form}"
    );
    let program = brand.program.to_string();
    let res = c
        .post(
            "/deals",
            &[
                ("program_id", program.as_str()),
                ("name", "Summer 20"),
                ("kind", "PERCENT_OFF"),
                ("value", "20"),
                ("currency", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let path = location(&res);
    assert!(path.starts_with("/deals/"), "{path}");
    let (status, body) = c.page(&path).await;
    assert_eq!(status, 200);
    assert!(body.contains("Deal Summer 20 (20% off) created."), "{body}");
    assert!(body.contains("value=\"20\""));
    assert!(body.contains("<option value=\"PERCENT_OFF\" selected>Percent off</option>"));

    let res = c
        .post(
            &path,
            &[
                ("program_id", program.as_str()),
                ("name", "Summer sale"),
                ("kind", "AMOUNT_OFF"),
                ("value", "10"),
                ("currency", "usd"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let body = c.ok(&path).await;
    assert!(body.contains("Deal Summer sale saved."));
    assert!(body.contains("value=\"10.00\"") && body.contains("value=\"USD\""));
    let list = c.ok("/deals").await;
    for text in ["Summer sale", "Acme US", "10.00 USD off"] {
        assert!(list.contains(text), "{text} missing from the list: {list}");
    }
    assert!(!list.contains("Summer 20"));
}

#[actix_web::test]
async fn bad_deal_input_is_shown_beside_each_field() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    let c = app.login("ann@acme.test").await;
    let program = brand.program.to_string();
    let cases: [(&str, &str, &str, &str, &str); 3] = [
        (
            "PERCENT_OFF",
            "150",
            "",
            "value",
            "A percent off must be above 0 and at most 100.",
        ),
        (
            "AMOUNT_OFF",
            "10",
            "",
            "currency",
            "Required for an amount off: a three-letter code such as USD.",
        ),
        (
            "FREE_SHIPPING",
            "5",
            "",
            "value",
            "A free shipping deal has no value: leave it empty.",
        ),
    ];
    for (kind, value, currency, field, message) in cases {
        let res = c
            .post(
                "/deals",
                &[
                    ("program_id", program.as_str()),
                    ("name", "Launch offer"),
                    ("kind", kind),
                    ("value", value),
                    ("currency", currency),
                ],
            )
            .await;
        assert_eq!(res.status(), 422, "{kind}");
        let body = res.text().await.expect("body");
        assert_eq!(
            error_beside(&body, field).as_deref(),
            Some(message),
            "{kind}: {body}"
        );
        assert!(body.contains("has-error"), "{kind}: the field is marked");
        assert!(body.contains("value=\"Launch offer\""), "the name is kept");
        assert!(
            body.contains(&format!("value=\"{value}\"")),
            "the value is kept"
        );
        assert!(
            body.contains(&format!("<option value=\"{kind}\" selected>")),
            "the kind is kept"
        );
    }
    let res = c.post("/deals", &[("name", ""), ("kind", "")]).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert_eq!(
        error_beside(&body, "program_id").as_deref(),
        Some("Required: choose the program the deal belongs to.")
    );
    assert_eq!(
        error_beside(&body, "kind").as_deref(),
        Some("Required: choose the kind of deal.")
    );
    assert_eq!(error_beside(&body, "name").as_deref(), Some("Required."));
    assert_eq!(count_all(&app), 0, "nothing is written");
    let list = c.ok("/deals").await;
    assert!(list.contains("No deals yet"));
}

#[actix_web::test]
async fn a_deal_name_is_unique_in_its_program() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    let first = deal(&app, &brand, "Free shipping");
    let eu = program(&app, &brand, "Acme EU");
    let c = app.login("ann@acme.test").await;
    let us = brand.program.to_string();
    let res = c
        .post(
            "/deals",
            &[
                ("program_id", us.as_str()),
                ("name", "Free shipping"),
                ("kind", "FREE_SHIPPING"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert_eq!(
        error_beside(&body, "name").as_deref(),
        Some("A deal named Free shipping already exists in this program."),
        "{body}"
    );
    assert_eq!(count_all(&app), 1);

    // The same name in another program is another deal.
    let eu_id = eu.to_string();
    let res = c
        .post(
            "/deals",
            &[
                ("program_id", eu_id.as_str()),
                ("name", "Free shipping"),
                ("kind", "FREE_SHIPPING"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let second = location(&res);

    // Moving it next to its namesake is refused the same way.
    let res = c
        .post(
            &second,
            &[
                ("program_id", us.as_str()),
                ("name", "Free shipping"),
                ("kind", "FREE_SHIPPING"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(body.contains("A deal named Free shipping already exists in this program."));
    let mut conn = app.conn();
    let d = deals::get(&mut conn, brand.id, DealId(first)).expect("first deal");
    assert_eq!(d.kind, "PERCENT_OFF", "the first deal is untouched");
}

#[actix_web::test]
async fn viewers_see_deals_read_only_and_cannot_change_them() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "val@acme.test", Role::Viewer);
    let id = deal(&app, &brand, "Summer 20");
    let c = app.login("val@acme.test").await;
    let (status, list) = c.page("/deals").await;
    assert_eq!(status, 200);
    assert!(list.contains("Summer 20") && list.contains("20% off"));
    assert!(!list.contains("href=\"/deals/new\""), "no create link");
    let path = format!("/deals/{id}");
    let (status, body) = c.page(&path).await;
    assert_eq!(status, 200);
    assert!(body.contains("<fieldset disabled>"), "read-only: {body}");
    assert!(!body.contains("Save deal"));
    assert_eq!(c.get("/deals/new").await.status(), 403);

    let program = brand.program.to_string();
    let fields = [
        ("program_id", program.as_str()),
        ("name", "Viewer was here"),
        ("kind", "BOGO"),
    ];
    assert_eq!(c.post("/deals", &fields).await.status(), 403);
    assert_eq!(c.post(&path, &fields).await.status(), 403);
    assert_eq!(count_all(&app), 1, "nothing is written");
    let d = deals::get(&mut app.conn(), brand.id, DealId(id)).expect("deal");
    assert_eq!(
        (d.name.as_str(), d.kind.as_str()),
        ("Summer 20", "PERCENT_OFF")
    );
}

#[actix_web::test]
async fn another_brands_deal_is_not_found() {
    let app = TestApp::spawn().await;
    let a = app.brand("Acme");
    let b = app.brand("Bolt");
    app.user(&b, "bob@bolt.test", Role::Manager);
    let id = deal(&app, &a, "Acme secret sale");
    let c = app.login("bob@bolt.test").await;
    let path = format!("/deals/{id}");
    let (status, body) = c.page(&path).await;
    assert_eq!(status, 404);
    assert!(!body.contains("Acme secret sale"));
    for program in [a.program, b.program] {
        let program = program.to_string();
        let res = c
            .post(
                &path,
                &[
                    ("program_id", program.as_str()),
                    ("name", "Taken over"),
                    ("kind", "GIFT"),
                ],
            )
            .await;
        assert_eq!(res.status(), 404);
    }
    // Invalid input does not tell it apart either.
    assert_eq!(c.post(&path, &[("name", "")]).await.status(), 404);
    let list = c.ok("/deals").await;
    assert!(!list.contains("Acme secret sale"));
    let d = deals::get(&mut app.conn(), a.id, DealId(id)).expect("A's deal");
    assert_eq!(
        (d.name.as_str(), d.kind.as_str(), d.program_id),
        ("Acme secret sale", "PERCENT_OFF", a.program.0)
    );
}

#[actix_web::test]
async fn a_program_of_another_brand_is_no_such_program() {
    let app = TestApp::spawn().await;
    let a = app.brand("Acme");
    let b = app.brand("Bolt");
    app.user(&a, "ann@acme.test", Role::Manager);
    let id = deal(&app, &a, "Summer 20");
    let c = app.login("ann@acme.test").await;
    for program in [b.program.to_string(), "999999".to_string()] {
        let res = c
            .post(
                "/deals",
                &[
                    ("program_id", program.as_str()),
                    ("name", "Sneaky"),
                    ("kind", "BOGO"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422, "program {program}");
        let body = res.text().await.expect("body");
        assert!(
            error_beside(&body, "program_id").is_some_and(|e| e.starts_with("No such program")),
            "{body}"
        );
        assert!(body.contains("value=\"Sneaky\""), "the input is kept");

        let res = c
            .post(
                &format!("/deals/{id}"),
                &[
                    ("program_id", program.as_str()),
                    ("name", "Summer 20"),
                    ("kind", "PERCENT_OFF"),
                    ("value", "20"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422, "program {program}");
        assert!(res.text().await.expect("body").contains("No such program"));
    }
    assert_eq!(count_all(&app), 1, "nothing is written");
    let d = deals::get(&mut app.conn(), a.id, DealId(id)).expect("deal");
    assert_eq!(d.program_id, a.program.0);
}

#[actix_web::test]
async fn a_deal_that_codes_use_stays_in_its_program() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    let id = deal(&app, &brand, "Summer 20");
    let eu = program(&app, &brand, "Acme EU");
    diesel::sql_query(
        "INSERT INTO promo_codes (brand_id, program_id, code, code_type, match_mode, deal_id)
         VALUES ($1, $2, 'SUMMER20', 'RESTRICTED', 'LI', $3)",
    )
    .bind::<diesel::sql_types::BigInt, _>(brand.id.0)
    .bind::<diesel::sql_types::BigInt, _>(brand.program.0)
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut app.conn())
    .expect("a code with the deal");
    let c = app.login("ann@acme.test").await;
    let path = format!("/deals/{id}");
    let eu_id = eu.to_string();
    let res = c
        .post(
            &path,
            &[
                ("program_id", eu_id.as_str()),
                ("name", "Summer 20"),
                ("kind", "PERCENT_OFF"),
                ("value", "20"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(
        error_beside(&body, "program_id")
            .is_some_and(|e| e.contains("cannot move to another program")),
        "{body}"
    );
    // Within its program it can still change.
    let us = brand.program.to_string();
    let res = c
        .post(
            &path,
            &[
                ("program_id", us.as_str()),
                ("name", "Summer 25"),
                ("kind", "PERCENT_OFF"),
                ("value", "25"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let d = deals::get(&mut app.conn(), brand.id, DealId(id)).expect("deal");
    assert_eq!(
        (d.name.as_str(), d.program_id, d.label()),
        ("Summer 25", brand.program.0, "25% off".to_string())
    );
}
