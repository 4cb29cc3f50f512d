//! Program settings (`/settings/programs/{id}`): every change is admin-only,
//! CSRF-checked, validated field by field, and scoped to the brand.

use crate::helpers::{location, TestApp};
use promodesk::domain::Role;
use promodesk::store::programs::{self, Program};

fn program(app: &TestApp, brand: &crate::helpers::Brand) -> Program {
    programs::get(&mut app.conn(), brand.id, brand.program).expect("program")
}

/// The fields of a program as the form posts them (TestApp::brand's values).
fn fields<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("name", "Acme US"),
        ("time_zone", "America/New_York"),
        ("currency", "USD"),
        ("landing_url", "https://shop.example/"),
        ("referral_window_days", "30"),
        ("locking_days", "30"),
        ("tracking_enabled", "on"),
    ];
    for (k, v) in changes {
        all.retain(|(f, _)| f != k);
        if !v.is_empty() || *k != "tracking_enabled" {
            all.push((k, v));
        }
    }
    all
}

fn same_settings(a: &Program, b: &Program) -> bool {
    (
        &a.name,
        &a.time_zone,
        &a.currency,
        &a.landing_url,
        a.referral_window_days,
        a.locking_days,
        a.tracking_enabled,
    ) == (
        &b.name,
        &b.time_zone,
        &b.currency,
        &b.landing_url,
        b.referral_window_days,
        b.locking_days,
        b.tracking_enabled,
    )
}

#[actix_web::test]
async fn an_admin_changes_every_setting() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.login("ann@acme.test").await;
    let path = format!("/settings/programs/{}", brand.program);
    let res = c
        .post(
            &path,
            &fields(&[
                ("name", "Acme Europe"),
                ("time_zone", "Europe/Paris"),
                ("currency", "eur"),
                ("landing_url", "https://shop.example.fr/landing?src=aff"),
                ("referral_window_days", "365"),
                ("locking_days", "0"),
                ("tracking_enabled", ""),
            ]),
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), path);
    let p = program(&app, &brand);
    assert_eq!(p.name, "Acme Europe");
    assert_eq!(p.time_zone, "Europe/Paris");
    assert_eq!(p.currency, "EUR");
    assert_eq!(p.landing_url, "https://shop.example.fr/landing?src=aff");
    assert_eq!((p.referral_window_days, p.locking_days), (365, 0));
    assert!(!p.tracking_enabled, "an unticked box turns tracking off");
    let (_, page) = c.page(&path).await;
    assert!(page.contains("Settings of Acme Europe saved."), "{page}");
    // And back on, with the shortest window.
    let res = c
        .post(&path, &fields(&[("referral_window_days", "1")]))
        .await;
    assert_eq!(res.status(), 303);
    let p = program(&app, &brand);
    assert!(p.tracking_enabled);
    assert_eq!(p.referral_window_days, 1);
}

#[actix_web::test]
async fn managers_and_viewers_cannot_change_program_settings() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "mia@acme.test", Role::Manager);
    app.user(&brand, "vic@acme.test", Role::Viewer);
    let before = program(&app, &brand);
    let path = format!("/settings/programs/{}", brand.program);
    for email in ["mia@acme.test", "vic@acme.test"] {
        let c = app.login(email).await;
        // The page shows the settings, but no way to change them.
        let (status, page) = c.page(&path).await;
        assert_eq!(status, 200);
        assert!(page.contains("<fieldset disabled>"), "{page}");
        assert!(!page.contains("Save settings"), "{page}");
        let (status, settings) = c.page("/settings").await;
        assert_eq!(status, 200);
        assert!(!settings.contains("New program"), "{settings}");
        assert_eq!(c.page("/settings/programs/new").await.0, 403);
        let res = c
            .post(
                &path,
                &fields(&[("currency", "EUR"), ("tracking_enabled", "")]),
            )
            .await;
        assert_eq!(res.status(), 403, "{email}");
        assert!(res
            .text()
            .await
            .expect("body")
            .contains("needs the admin role"));
        // Even an invalid form is refused for the role, not re-rendered.
        let res = c.post(&path, &fields(&[("currency", "EURO")])).await;
        assert_eq!(res.status(), 403, "{email}");
        let res = c
            .post("/settings/programs", &fields(&[("name", "Sneaky")]))
            .await;
        assert_eq!(res.status(), 403, "{email}");
    }
    assert!(same_settings(&program(&app, &brand), &before));
    assert_eq!(
        programs::list(&mut app.conn(), brand.id)
            .expect("list")
            .len(),
        1
    );
}

#[actix_web::test]
async fn program_settings_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let before = program(&app, &brand);
    let c = app.login("ann@acme.test").await;
    let path = format!("/settings/programs/{}", brand.program);
    let res = c
        .post_raw(&path, &fields(&[("tracking_enabled", "")]))
        .await;
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("This form has expired"));
    let mut forged = fields(&[("currency", "EUR")]);
    forged.push(("csrf_token", "forged"));
    assert_eq!(c.post_raw(&path, &forged).await.status(), 403);
    let res = c
        .post_raw("/settings/programs", &fields(&[("name", "Sneaky")]))
        .await;
    assert_eq!(res.status(), 403);
    assert!(same_settings(&program(&app, &brand), &before));
    assert_eq!(
        programs::list(&mut app.conn(), brand.id)
            .expect("list")
            .len(),
        1
    );
}

#[actix_web::test]
async fn bad_program_settings_are_refused_beside_their_field() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let before = program(&app, &brand);
    let c = app.login("ann@acme.test").await;
    let path = format!("/settings/programs/{}", brand.program);
    let cases: &[(&str, &str, &str)] = &[
        ("currency", "EURO", "three-letter ISO 4217 code"),
        ("currency", "E1R", "three-letter ISO 4217 code"),
        ("currency", "", "three-letter ISO 4217 code"),
        ("currency", "ABC", "not an ISO 4217 currency"),
        (
            "landing_url",
            "javascript:alert(1)",
            "starting with https://",
        ),
        ("landing_url", "shop.example", "starting with https://"),
        (
            "landing_url",
            "ftp://shop.example/",
            "starting with https://",
        ),
        ("landing_url", "https://", "starting with https://"),
        ("landing_url", "https:///path", "starting with https://"),
        (
            "landing_url",
            "https://shop example/",
            "starting with https://",
        ),
        (
            "landing_url",
            "https://\"><b>x</b>",
            "starting with https://",
        ),
        (
            "landing_url",
            "https://sh<op.example/",
            "starting with https://",
        ),
        (
            "landing_url",
            "https://ann:secret@shop.example/",
            "user name",
        ),
        ("referral_window_days", "0", "from 1 to 365"),
        ("referral_window_days", "366", "from 1 to 365"),
        ("referral_window_days", "-5", "from 1 to 365"),
        ("referral_window_days", "7.5", "from 1 to 365"),
        ("referral_window_days", "99999999999", "from 1 to 365"),
        ("locking_days", "366", "from 0 to 365"),
        ("locking_days", "-1", "from 0 to 365"),
        ("time_zone", "Mars/Olympus", "IANA time zone"),
        ("name", "   ", "Required."),
    ];
    for (field, value, message) in cases {
        let res = c.post(&path, &fields(&[(field, value)])).await;
        assert_eq!(res.status(), 422, "{field}={value}");
        let body = res.text().await.expect("body");
        // The message sits in the field's own block.
        let at = body
            .find(&format!(
                "<div class=\"field has-error\">\n      <label for=\"{field}\""
            ))
            .unwrap_or_else(|| panic!("{field}={value}: no error on the field: {body}"));
        let block = &body[at..];
        let block = &block[..block.find("</div>").expect("end of field")];
        assert!(
            block.contains("<p class=\"error\">") && block.contains(message),
            "{field}={value}: {block}"
        );
        // The refused value is shown again (escaped).
        assert!(!body.contains("<b>x</b>"), "{field}={value}: escaped");
    }
    assert!(same_settings(&program(&app, &brand), &before));
    // A new program is validated the same way, and nothing is created.
    let res = c
        .post(
            "/settings/programs",
            &fields(&[("name", "Acme EU"), ("currency", "ABC")]),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        programs::list(&mut app.conn(), brand.id)
            .expect("list")
            .len(),
        1
    );
}

#[actix_web::test]
async fn another_brands_program_settings_are_not_found() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    let other = app.brand("Other");
    app.user(&other, "oz@other.test", Role::Admin);
    let before = program(&app, &acme);
    let c = app.login("oz@other.test").await;
    let path = format!("/settings/programs/{}", acme.program);
    assert_eq!(c.page(&path).await.0, 404);
    let res = c.post(&path, &fields(&[("currency", "EUR")])).await;
    assert_eq!(res.status(), 404);
    assert!(same_settings(&program(&app, &acme), &before));
}
