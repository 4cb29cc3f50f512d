//! Deals through HTTP: the form and its errors, names unique in a program,
//! roles and tenancy.

use crate::helpers::{acme, body_of, location, TestApp};
use crate::html::error_beside;
use diesel::prelude::*;
use promodesk::db::schema::deals as deals_table;
use promodesk::domain::{DealId, Role};
use promodesk::store::deals;

/// A 20%-off deal in the brand's program.
fn deal(app: &TestApp, brand: &crate::helpers::Brand, name: &str) -> i64 {
    app.deal(brand, name).percent_off(20).create()
}

/// The deal form's fields (the currency left empty).
fn form<'a>(
    program: &'a str,
    name: &'a str,
    kind: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("program_id", program),
        ("name", name),
        ("kind", kind),
        ("value", value),
    ]
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
    let (_app, brand, c) = acme(Role::Manager).await;
    let list = c.ok("/deals").await;
    assert!(list.contains("No deals yet") && list.contains("Add your first deal"));
    let form_page = c.ok("/deals/new").await;
    assert!(
        form_page.contains(&format!(
            "<option value=\"{}\" selected>Acme US</option>",
            brand.program
        )),
        "the only program is chosen: {form_page}"
    );
    let program = brand.program.to_string();
    let res = c
        .post("/deals", &form(&program, "Summer 20", "PERCENT_OFF", "20"))
        .await;
    assert_eq!(res.status(), 303);
    let path = location(&res);
    assert!(path.starts_with("/deals/"), "{path}");
    let body = c.ok(&path).await;
    assert!(body.contains("Deal Summer 20 (20% off) created."), "{body}");
    assert!(body.contains("value=\"20\""));
    assert!(body.contains("<option value=\"PERCENT_OFF\" selected>Percent off</option>"));

    let mut fields = form(&program, "Summer sale", "AMOUNT_OFF", "10");
    fields.push(("currency", "usd"));
    let res = c.post(&path, &fields).await;
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
    let (app, brand, c) = acme(Role::Manager).await;
    let program = brand.program.to_string();
    let cases: [(&str, &str, &str, &str); 3] = [
        (
            "PERCENT_OFF",
            "150",
            "value",
            "A percent off must be above 0 and at most 100.",
        ),
        (
            "AMOUNT_OFF",
            "10",
            "currency",
            "Required for an amount off: a three-letter code such as USD.",
        ),
        (
            "FREE_SHIPPING",
            "5",
            "value",
            "A free shipping deal has no value: leave it empty.",
        ),
    ];
    for (kind, value, field, message) in cases {
        let res = c
            .post("/deals", &form(&program, "Launch offer", kind, value))
            .await;
        let body = body_of(res, 422).await;
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
    let body = body_of(res, 422).await;
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
    let (app, brand, c) = acme(Role::Manager).await;
    let first = deal(&app, &brand, "Free shipping");
    let eu = app
        .program(&brand, "Acme EU")
        .tz("Europe/Berlin")
        .currency("EUR")
        .create();
    let us = brand.program.to_string();
    let shipping = |program| form(program, "Free shipping", "FREE_SHIPPING", "");
    let refused = "A deal named Free shipping already exists in this program.";
    let res = c.post("/deals", &shipping(&us)).await;
    let body = body_of(res, 422).await;
    assert_eq!(
        error_beside(&body, "name").as_deref(),
        Some(refused),
        "{body}"
    );
    assert_eq!(count_all(&app), 1);

    // The same name in another program is another deal.
    let eu_id = eu.to_string();
    let res = c.post("/deals", &shipping(&eu_id)).await;
    assert_eq!(res.status(), 303);
    let second = location(&res);

    // Moving it next to its namesake is refused the same way.
    let res = c.post(&second, &shipping(&us)).await;
    assert!(body_of(res, 422).await.contains(refused));
    let mut conn = app.conn();
    let d = deals::get(&mut conn, brand.id, DealId(first)).expect("first deal");
    assert_eq!(d.kind, "PERCENT_OFF", "the first deal is untouched");
}

#[actix_web::test]
async fn viewers_see_deals_read_only_and_cannot_change_them() {
    let (app, brand, c) = acme(Role::Viewer).await;
    let id = deal(&app, &brand, "Summer 20");
    let list = c.ok("/deals").await;
    assert!(list.contains("Summer 20") && list.contains("20% off"));
    assert!(!list.contains("href=\"/deals/new\""), "no create link");
    let path = format!("/deals/{id}");
    let body = c.ok(&path).await;
    assert!(body.contains("<fieldset disabled>"), "read-only: {body}");
    assert!(!body.contains("Save deal"));
    assert_eq!(c.get("/deals/new").await.status(), 403);

    let program = brand.program.to_string();
    let fields = form(&program, "Viewer was here", "BOGO", "");
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
            .post(&path, &form(&program, "Taken over", "GIFT", ""))
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
    let (app, a, c) = acme(Role::Manager).await;
    let b = app.brand("Bolt");
    let id = deal(&app, &a, "Summer 20");
    for program in [b.program.to_string(), "999999".to_string()] {
        let res = c
            .post("/deals", &form(&program, "Sneaky", "BOGO", ""))
            .await;
        let body = body_of(res, 422).await;
        assert!(
            error_beside(&body, "program_id").is_some_and(|e| e.starts_with("No such program")),
            "program {program}: {body}"
        );
        assert!(body.contains("value=\"Sneaky\""), "the input is kept");

        let res = c
            .post(
                &format!("/deals/{id}"),
                &form(&program, "Summer 20", "PERCENT_OFF", "20"),
            )
            .await;
        assert!(body_of(res, 422).await.contains("No such program"));
    }
    assert_eq!(count_all(&app), 1, "nothing is written");
    let d = deals::get(&mut app.conn(), a.id, DealId(id)).expect("deal");
    assert_eq!(d.program_id, a.program.0);
}

#[actix_web::test]
async fn a_deal_that_codes_use_stays_in_its_program() {
    let (app, brand, c) = acme(Role::Manager).await;
    let id = deal(&app, &brand, "Summer 20");
    let eu = app
        .program(&brand, "Acme EU")
        .tz("Europe/Berlin")
        .currency("EUR")
        .create();
    app.code(&brand, "SUMMER20").deal(id).create();
    let path = format!("/deals/{id}");
    let eu_id = eu.to_string();
    let res = c
        .post(&path, &form(&eu_id, "Summer 20", "PERCENT_OFF", "20"))
        .await;
    let body = body_of(res, 422).await;
    assert!(
        error_beside(&body, "program_id")
            .is_some_and(|e| e.contains("cannot move to another program")),
        "{body}"
    );
    // Within its program it can still change.
    let us = brand.program.to_string();
    let res = c
        .post(&path, &form(&us, "Summer 25", "PERCENT_OFF", "25"))
        .await;
    assert_eq!(res.status(), 303);
    let d = deals::get(&mut app.conn(), brand.id, DealId(id)).expect("deal");
    assert_eq!(
        (d.name.as_str(), d.program_id, d.label()),
        ("Summer 25", brand.program.0, "25% off".to_string())
    );
}
