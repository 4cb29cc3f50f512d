//! Every bad path or id answers the styled 404 page, with the navigation
//! when someone is logged in.

use crate::helpers::{acme, TestApp};
use promodesk::domain::Role;

const NAV: &str = "<nav class=\"mainnav\"";

fn assert_styled_404(path: &str, status: u16, body: &str, logged_in: bool) {
    assert_eq!(status, 404, "{path}: {body}");
    assert!(
        body.contains("class=\"error-page card\"") && body.contains("<h1>Not found</h1>"),
        "{path}: not the styled page: {body}"
    );
    assert_eq!(
        body.contains(NAV),
        logged_in,
        "{path}: navigation shown: {}",
        body.contains(NAV)
    );
    assert!(!body.contains("can not parse"), "{path}: {body}");
}

#[actix_web::test]
async fn bad_paths_and_ids_answer_the_styled_404_with_the_navigation() {
    let (_app, _brand, c) = acme(Role::Manager).await;
    for path in [
        "/codes/abc",
        "/codes/abc/edit",
        "/codes/99999999",
        "/codes/99999999999999999999999",
        "/partners/xyz",
        "/partners/99999999",
        "/deals/1x",
        "/uploads/abc",
        "/uploads/abc/errors.csv",
        "/settings/programs/abc",
        "/reports",
        "/nope",
        "/codes/1/nope",
    ] {
        let (status, body) = c.page(path).await;
        assert_styled_404(path, status, &body, true);
        assert!(
            body.contains("ann@acme.test") && body.contains("Log out"),
            "{path}: the user menu"
        );
    }
    // A form posted to a bad id: the same page.
    for path in ["/codes/abc/expire", "/partners/xyz", "/deals/abc"] {
        let res = c.post(path, &[("name", "x")]).await;
        let status = res.status().as_u16();
        let body = res.text().await.expect("body");
        assert_styled_404(path, status, &body, true);
    }
}

#[actix_web::test]
async fn planned_areas_say_so_inside_the_layout() {
    let (_app, _brand, c) = acme(Role::Viewer).await;
    let (status, body) = c.page("/orders/new").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(NAV) && body.contains("Not built yet"),
        "{body}"
    );
}

#[actix_web::test]
async fn strangers_get_the_styled_404_without_navigation_or_the_login() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (status, body) = c.page("/nope").await;
    assert_styled_404("/nope", status, &body, false);
    // Pages behind the login send a stranger to it, bad id or not.
    let res = c.get("/codes/abc").await;
    assert_eq!(res.status(), 303);
    assert_eq!(crate::helpers::location(&res), "/login?next=/codes/abc");
}

#[actix_web::test]
async fn a_query_string_that_cannot_be_read_is_the_styled_400() {
    let (_app, _brand, c) = acme(Role::Viewer).await;
    let (status, body) = c.page("/codes?status=active&status=expired").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("class=\"error-page card\"") && body.contains(NAV),
        "{body}"
    );
    assert!(body.contains("The address could not be read"), "{body}");
}
