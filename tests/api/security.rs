use crate::helpers::{acme, body_of, program_form, TestApp};
use promodesk::domain::Role;

#[actix_web::test]
async fn posts_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    let (_app, _brand, c) = acme(Role::Admin).await;
    let fields = [("media_id", "501"), ("name", "Sneaky")];
    let res = c.post_raw("/partners", &fields).await;
    assert!(body_of(res, 403).await.contains("This form has expired"));
    let res = c
        .post_raw(
            "/partners",
            &[
                ("media_id", "501"),
                ("name", "Sneaky"),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    // A valid token from another site's page (Origin header) is refused too.
    let token = c.csrf().await;
    let res = c
        .http
        .post(c.url("/partners"))
        .header("Origin", "https://evil.example")
        .form(&[
            ("media_id", "501"),
            ("name", "Sneaky"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 403);
    // Logging out needs the token as well.
    assert_eq!(c.post_raw("/logout", &[]).await.status(), 403);
    let list = c.ok("/partners").await;
    assert!(!list.contains("Sneaky"));
    // And with the token it works.
    let res = c.post("/partners", &fields).await;
    assert_eq!(res.status(), 303);
}

#[actix_web::test]
async fn login_form_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.client();
    let res = c
        .post_raw(
            "/login",
            &[
                ("email", "ann@acme.test"),
                ("password", crate::helpers::PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
}

#[actix_web::test]
async fn pages_carry_security_headers() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c.get("/login").await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    let csp = h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(
        h.get("x-frame-options").and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    assert_eq!(
        h.get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    assert_eq!(
        h.get("referrer-policy").and_then(|v| v.to_str().ok()),
        Some("same-origin")
    );
    let cookie = h
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("promodesk_session="))
        .expect("session cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[actix_web::test]
async fn healthz_checks_the_database() {
    let app = TestApp::spawn().await;
    let res = app.client().get("/healthz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body, serde_json::json!({"status": "ok", "database": "ok"}));

    // The database goes away under the running server.
    app.db.drop_now();
    let res = app.client().get("/healthz").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({"status": "error", "database": "unreachable"})
    );
}

#[actix_web::test]
async fn roles_are_enforced_by_the_guard() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "vic@acme.test", Role::Viewer);
    app.user(&brand, "max@acme.test", Role::Manager);
    let partner = app.partner(&brand, 700, "Blog One");

    let viewer = app.login("vic@acme.test").await;
    assert_eq!(viewer.get("/partners").await.status(), 200, "viewers read");
    assert_eq!(viewer.get("/partners/new").await.status(), 403);
    let res = viewer
        .post("/partners", &[("media_id", "701"), ("name", "Viewer Made")])
        .await;
    assert_eq!(res.status(), 403);
    let res = viewer
        .post(
            &format!("/partners/{partner}"),
            &[("media_id", "700"), ("name", "Renamed")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let list = viewer.ok("/partners").await;
    assert!(
        !list.contains("Viewer Made") && !list.contains("Renamed") && list.contains("Blog One")
    );

    let manager = app.login("max@acme.test").await;
    let res = manager
        .post(
            "/partners",
            &[("media_id", "702"), ("name", "Manager Made")],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Program settings need an admin.
    let path = format!("/settings/programs/{}", brand.program);
    let res = manager.post(&path, &program_form("Hijacked", "UTC")).await;
    assert_eq!(res.status(), 403);
    let settings = manager.ok("/settings").await;
    assert!(!settings.contains("Hijacked"));
}
