use crate::helpers::{location, TestApp, PASSWORD};
use crate::html::main_of;
use promodesk::domain::Role;

#[actix_web::test]
async fn login_reaches_the_dashboard_and_logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.client();

    // Not logged in: the dashboard sends to the login page.
    let res = c.get("/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");

    let res = c.login("ANN@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let body = c.ok("/").await;
    // The page itself, not the header every page shows.
    let main = main_of(&body);
    assert!(
        main.contains("<h1>Dashboard</h1>") && main.contains("Acme · last 30 days"),
        "{body}"
    );

    let res = c.post("/logout", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    assert_eq!(c.get("/").await.status(), 303);
}

#[actix_web::test]
async fn wrong_password_and_unknown_email_get_the_same_clear_message() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.client();
    let res = c.login("ann@acme.test", "wrong password").await;
    assert_eq!(res.status(), 401);
    let body = res.text().await.expect("body");
    assert!(body.contains("Wrong email or password."));
    assert!(
        body.contains("value=\"ann@acme.test\""),
        "the email is kept in the form"
    );
    let res = c.login("nobody@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 401);
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("Wrong email or password."));
    assert_eq!(c.get("/").await.status(), 303, "still logged out");
}

#[actix_web::test]
async fn login_is_throttled_after_repeated_failures() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.client();
    for _ in 0..5 {
        assert_eq!(c.login("ann@acme.test", "guess").await.status(), 401);
    }
    // Even the right password is refused now.
    let res = c.login("ann@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("Too many failed sign-in attempts"));
    assert_eq!(c.get("/").await.status(), 303);
}

#[actix_web::test]
async fn login_renews_the_session() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.client();
    let login_page = c.ok("/login").await;
    let before = crate::html::csrf_in(&login_page).expect("token");
    let res = c
        .post_raw(
            "/login",
            &[
                ("email", "ann@acme.test"),
                ("password", PASSWORD),
                ("csrf_token", &before),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("promodesk_session="))
        .expect("a new session cookie at login")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let after = c.csrf().await;
    assert_ne!(before, after, "the CSRF token is renewed with the session");
    // The token of the anonymous session no longer works.
    let res = c.post_raw("/logout", &[("csrf_token", &before)]).await;
    assert_eq!(res.status(), 403);
}

#[actix_web::test]
async fn changing_the_password_ends_existing_sessions() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.login("ann@acme.test").await;
    assert_eq!(c.get("/").await.status(), 200);
    let mut conn = app.conn();
    let login = promodesk::store::accounts::find_login(&mut conn, "ann@acme.test")
        .expect("query")
        .expect("user");
    promodesk::store::accounts::set_password(
        &mut conn,
        brand.id,
        promodesk::domain::UserId(login.id),
        &password_auth::generate_hash("another password"),
    )
    .expect("set password");
    assert_eq!(c.get("/").await.status(), 303, "the old session is revoked");
}

#[actix_web::test]
async fn next_parameter_returns_to_the_page_asked_for() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.client();
    let res = c.get("/partners").await;
    assert_eq!(location(&res), "/login?next=/partners");
    let page = c.ok("/login?next=/partners").await;
    let token = crate::html::csrf_in(&page).expect("token");
    assert!(page.contains("name=\"next\" value=\"/partners\""));
    let res = c
        .post_raw(
            "/login",
            &[
                ("email", "ann@acme.test"),
                ("password", PASSWORD),
                ("csrf_token", &token),
                ("next", "/partners"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/partners");
}
