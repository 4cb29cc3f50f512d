//! The API credentials card in real headless Chromium: an admin creates a
//! token, copies it from the page (shown once), an integration uses it, and
//! the admin revokes it.

use crate::api_tokens::account_sid;
use crate::browser::Browser;
use crate::helpers::TestApp;
use promodesk::domain::Role;
use serde_json::json;

async fn company_status(app: &TestApp, sid: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!(
            "{}/Advertisers/{sid}/CompanyInformation.json",
            app.addr
        ))
        .basic_auth(sid, Some(token))
        .send()
        .await
        .expect("GET")
        .status()
        .as_u16()
}

#[actix_web::test]
async fn an_admin_creates_copies_and_revokes_a_token_in_the_browser() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    app.user(&acme, "ann@acme.test", Role::Admin);
    let sid = account_sid(&app, &acme);
    let b = Browser::start().await;
    b.login(&app.addr, "ann@acme.test").await;
    b.goto(&format!("{}/settings", app.addr)).await;
    assert_eq!(b.text("#account-sid").await, sid);

    b.type_into("#token-name", "Shopify store").await;
    b.click("#api-tokens button[type=submit]:not(.btn-danger)")
        .await;
    let token = b.wait_text("#auth-token", |t| t.len() == 43).await;
    b.screenshot("settings-api-token-created").await;
    assert_eq!(company_status(&app, &sid, &token).await, 200);

    // Shown once: not on the page when it is opened again.
    b.goto(&format!("{}/settings", app.addr)).await;
    let gone = b
        .exec("return document.getElementById('auth-token') === null")
        .await;
    assert_eq!(gone, json!(true));
    let row = b.text("#token-list tbody tr").await;
    assert!(
        row.contains("Shopify store") && row.contains("by ann@acme.test"),
        "{row}"
    );

    b.click("#token-list button.btn-danger").await;
    b.wait_text("#token-list tbody tr", |t| t.contains("Revoked"))
        .await;
    b.screenshot("settings-api-token-revoked").await;
    assert_eq!(company_status(&app, &sid, &token).await, 401);
}
