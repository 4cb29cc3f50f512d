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
    let (_, list) = c.page("/partners").await;
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
    let (_, list) = c.page("/partners").await;
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
