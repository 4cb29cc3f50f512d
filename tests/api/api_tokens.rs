//! API credentials on /settings: the Account SID, auth tokens created
//! (shown once), listed and revoked by admins only, with CSRF; and the
//! store's authentication of an Account SID and token.

use crate::helpers::{location, Brand, TestApp};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz};
use promodesk::domain::token::{self, TokenId};
use promodesk::domain::Role;
use promodesk::store::api_tokens::{self, ApiPrincipal};
use promodesk::store::StoreError;

/// The text of the element with `id` (up to its first tag).
pub fn text_of_id(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[at..].find('>')? + at + 1;
    let end = html[start..].find('<')? + start;
    Some(html[start..end].to_string())
}

pub fn account_sid(app: &TestApp, brand: &Brand) -> String {
    promodesk::store::accounts::get_brand(&mut app.conn(), brand.id)
        .expect("brand")
        .api_account_sid
}

#[derive(QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bytea)]
    token_hash: Vec<u8>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Text)]
    row_text: String,
}

fn stored(app: &TestApp, brand: &Brand) -> Vec<Stored> {
    diesel::sql_query(
        "SELECT id, name, token_hash, last_used_at, revoked_at, t::text AS row_text
         FROM api_tokens t WHERE brand_id = $1 ORDER BY id",
    )
    .bind::<BigInt, _>(brand.id.0)
    .load(&mut app.conn())
    .expect("tokens")
}

/// Creates a token through the store (as an admin would).
pub fn token_for(app: &TestApp, brand: &Brand, name: &str) -> (TokenId, String) {
    let t = api_tokens::create(&mut app.conn(), brand.id, None, name).expect("token");
    (t.id, t.token)
}

#[actix_web::test]
async fn an_admin_creates_a_token_that_is_shown_once_and_kept_as_its_hash() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let sid = account_sid(&app, &brand);
    let c = app.login("ann@acme.test").await;

    let (status, settings) = c.page("/settings").await;
    assert_eq!(status, 200);
    assert_eq!(text_of_id(&settings, "account-sid"), Some(sid.clone()));
    assert!(!settings.contains("id=\"auth-token\""), "{settings}");
    assert!(settings.contains("No tokens yet."), "{settings}");

    let res = c
        .post("/settings/tokens", &[("name", "  Shopify store ")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body = res.text().await.expect("body");
    let plain = text_of_id(&body, "auth-token").expect("the token on the page");
    assert_eq!(plain.len(), token::TOKEN_CHARS, "{plain}");
    assert!(body.contains("shown only this once"), "{body}");

    // Stored as its SHA-256 hash; the text itself is nowhere in the row.
    let rows = stored(&app, &brand);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "Shopify store");
    assert_eq!(rows[0].token_hash, token::hash(&plain).to_vec());
    assert!(!rows[0].row_text.contains(&plain), "{}", rows[0].row_text);
    assert!(rows[0].revoked_at.is_none() && rows[0].last_used_at.is_none());
    let who = api_tokens::authenticate(&mut app.conn(), &sid, &plain).expect("query");
    assert_eq!(
        who,
        Some(ApiPrincipal {
            brand: brand.id,
            token_id: TokenId(rows[0].id),
            token_name: "Shopify store".into(),
        })
    );

    // Listed, never shown again.
    let (status, settings) = c.page("/settings").await;
    assert_eq!(status, 200);
    assert!(!settings.contains("id=\"auth-token\""), "{settings}");
    assert!(!settings.contains(&plain), "{settings}");
    let list = &settings[settings.find("id=\"token-list\"").expect("token list")..];
    assert!(list.contains("<td>Shopify store</td>"), "{list}");
    assert!(list.contains("by ann@acme.test"), "{list}");
    assert!(list.contains("Never"), "{list}");
    assert!(list.contains("Revoke"), "{list}");

    // A second token: both listed, newest first.
    let res = c.post("/settings/tokens", &[("name", "Backend")]).await;
    assert_eq!(res.status(), 200);
    let second = text_of_id(&res.text().await.expect("body"), "auth-token").expect("token");
    assert_ne!(second, plain);
    let (_, settings) = c.page("/settings").await;
    let (a, b) = (
        settings.find("<td>Backend</td>").expect("backend"),
        settings.find("<td>Shopify store</td>").expect("shopify"),
    );
    assert!(a < b);
}

#[actix_web::test]
async fn a_token_needs_a_name_of_at_most_100_characters() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let c = app.login("ann@acme.test").await;
    let res = c.post("/settings/tokens", &[("name", "   ")]).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(body.contains("<p class=\"error\">Required.</p>"), "{body}");
    assert!(!body.contains("id=\"auth-token\""));
    let long = "x".repeat(101);
    let res = c.post("/settings/tokens", &[("name", &long)]).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(body.contains("At most 100 characters."), "{body}");
    assert!(
        body.contains(&format!("value=\"{long}\"")),
        "kept in the field"
    );
    // No name field at all: the same message, not a 400.
    let res = c.post("/settings/tokens", &[]).await;
    assert_eq!(res.status(), 422);
    assert!(stored(&app, &brand).is_empty());
    // 100 characters are fine.
    let res = c
        .post("/settings/tokens", &[("name", &"y".repeat(100))])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(stored(&app, &brand).len(), 1);
}

#[actix_web::test]
async fn only_admins_create_or_revoke_tokens_or_see_their_forms() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "mia@acme.test", Role::Manager);
    app.user(&brand, "vic@acme.test", Role::Viewer);
    let (id, plain) = token_for(&app, &brand, "Shopify store");
    let sid = account_sid(&app, &brand);
    for email in ["mia@acme.test", "vic@acme.test"] {
        let c = app.login(email).await;
        let (status, settings) = c.page("/settings").await;
        assert_eq!(status, 200);
        assert_eq!(text_of_id(&settings, "account-sid"), Some(sid.clone()));
        assert!(settings.contains("<td>Shopify store</td>"), "{settings}");
        assert!(
            !settings.contains("action=\"/settings/tokens") && !settings.contains("Revoke"),
            "{email}: {settings}"
        );
        let res = c.post("/settings/tokens", &[("name", "Mine")]).await;
        assert_eq!(res.status(), 403, "{email}");
        let body = res.text().await.expect("body");
        assert!(
            body.contains("needs the admin role") && !body.contains("id=\"auth-token\""),
            "{body}"
        );
        let res = c.post(&format!("/settings/tokens/{id}/revoke"), &[]).await;
        assert_eq!(res.status(), 403, "{email}");
    }
    let rows = stored(&app, &brand);
    assert_eq!(rows.len(), 1, "nothing created");
    assert!(rows[0].revoked_at.is_none(), "nothing revoked");
    assert!(api_tokens::authenticate(&mut app.conn(), &sid, &plain)
        .expect("query")
        .is_some());
}

#[actix_web::test]
async fn token_forms_are_refused_without_the_csrf_token() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Admin);
    let (id, _) = token_for(&app, &brand, "Shopify store");
    let c = app.login("ann@acme.test").await;
    let res = c.post_raw("/settings/tokens", &[("name", "Sneaky")]).await;
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("This form has expired"));
    let res = c
        .post_raw(
            &format!("/settings/tokens/{id}/revoke"),
            &[("csrf_token", "forged")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let rows = stored(&app, &brand);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].revoked_at.is_none());
}

#[actix_web::test]
async fn a_revoked_token_stops_working_and_other_brands_tokens_are_not_found() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    let other = app.brand("Other");
    app.user(&acme, "ann@acme.test", Role::Admin);
    app.user(&other, "oz@other.test", Role::Admin);
    let (id, plain) = token_for(&app, &acme, "Shopify store");
    let sid = account_sid(&app, &acme);

    // Another brand's admin cannot revoke it: not found, still live.
    let oz = app.login("oz@other.test").await;
    let res = oz.post(&format!("/settings/tokens/{id}/revoke"), &[]).await;
    assert_eq!(res.status(), 404);
    let (status, theirs) = oz.page("/settings").await;
    assert_eq!(status, 200);
    assert!(!theirs.contains("<td>Shopify store</td>"), "{theirs}");
    assert!(stored(&app, &acme)[0].revoked_at.is_none());

    let ann = app.login("ann@acme.test").await;
    let res = ann
        .post(&format!("/settings/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/settings#api-tokens");
    let (_, settings) = ann.page("/settings").await;
    assert!(
        settings.contains("Token Shopify store revoked"),
        "{settings}"
    );
    let list = &settings[settings.find("id=\"token-list\"").expect("list")..];
    assert!(list.contains("Revoked 20"), "{list}");
    assert!(!list.contains(">Revoke</button>"), "{list}");
    let first = stored(&app, &acme)[0].revoked_at.expect("revoked");
    assert!(api_tokens::authenticate(&mut app.conn(), &sid, &plain)
        .expect("query")
        .is_none());

    // Again: said so, and the first time is kept.
    let res = ann
        .post(&format!("/settings/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let (_, settings) = ann.page("/settings").await;
    assert!(settings.contains("was already revoked"), "{settings}");
    assert_eq!(stored(&app, &acme)[0].revoked_at, Some(first));
    // An id that is nobody's, or not a number.
    let res = ann.post("/settings/tokens/999999/revoke", &[]).await;
    assert_eq!(res.status(), 404);
    let res = ann.post("/settings/tokens/abc/revoke", &[]).await;
    assert_eq!(res.status(), 404);
}

#[actix_web::test]
async fn authentication_needs_the_brands_sid_and_one_of_its_live_tokens() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    let other = app.brand("Other");
    let (a1, t1) = token_for(&app, &acme, "One");
    let (a2, t2) = token_for(&app, &acme, "Two");
    let (_, tb) = token_for(&app, &other, "Theirs");
    let (sid_a, sid_b) = (account_sid(&app, &acme), account_sid(&app, &other));
    let mut c = app.conn();
    let auth = |c: &mut PgConnection, sid: &str, t: &str| {
        api_tokens::authenticate(c, sid, t)
            .expect("query")
            .map(|p| (p.brand, p.token_id, p.token_name))
    };
    assert_eq!(auth(&mut c, &sid_a, &t1), Some((acme.id, a1, "One".into())));
    assert_eq!(auth(&mut c, &sid_a, &t2), Some((acme.id, a2, "Two".into())));
    assert_eq!(auth(&mut c, &sid_b, &tb).map(|p| p.0), Some(other.id));
    // Another brand's token with this SID, this token with another SID.
    assert_eq!(auth(&mut c, &sid_a, &tb), None);
    assert_eq!(auth(&mut c, &sid_b, &t1), None);
    // Wrong, empty, unknown SID, a hash given as the token.
    assert_eq!(auth(&mut c, &sid_a, &token::generate()), None);
    assert_eq!(auth(&mut c, &sid_a, ""), None);
    assert_eq!(auth(&mut c, "PDnobody", &t1), None);
    assert_eq!(auth(&mut c, &sid_a, &format!("{t1}x")), None);
    // Revoking one leaves the other working.
    api_tokens::revoke(&mut c, acme.id, a1).expect("revoke");
    assert_eq!(auth(&mut c, &sid_a, &t1), None);
    assert_eq!(auth(&mut c, &sid_a, &t2).map(|p| p.1), Some(a2));
    // Revoking through another brand is not found.
    assert!(matches!(
        api_tokens::revoke(&mut c, other.id, a2),
        Err(StoreError::NotFound)
    ));
    assert_eq!(auth(&mut c, &sid_a, &t2).map(|p| p.1), Some(a2));
}

#[actix_web::test]
async fn last_use_is_written_at_most_once_a_minute() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    let (id, _) = token_for(&app, &acme, "One");
    let mut c = app.conn();
    api_tokens::touch(&mut c, acme.id, id).expect("touch");
    let first = stored(&app, &acme)[0].last_used_at.expect("written");
    api_tokens::touch(&mut c, acme.id, id).expect("touch");
    assert_eq!(stored(&app, &acme)[0].last_used_at, Some(first));
    // A minute later it is written again.
    diesel::sql_query("UPDATE api_tokens SET last_used_at = now() - interval '61 seconds'")
        .execute(&mut c)
        .expect("age it");
    let aged = stored(&app, &acme)[0].last_used_at.expect("aged");
    api_tokens::touch(&mut c, acme.id, id).expect("touch");
    let again = stored(&app, &acme)[0].last_used_at.expect("written");
    assert!(again > aged, "{again} > {aged}");
}

#[actix_web::test]
async fn a_brand_has_at_most_25_live_tokens() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    app.user(&acme, "ann@acme.test", Role::Admin);
    let ids: Vec<TokenId> = (0..api_tokens::MAX_LIVE_TOKENS)
        .map(|i| token_for(&app, &acme, &format!("T{i}")).0)
        .collect();
    let c = app.login("ann@acme.test").await;
    let res = c.post("/settings/tokens", &[("name", "One more")]).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(body.contains("at most 25 active tokens"), "{body}");
    assert!(body.contains("value=\"One more\""), "{body}");
    // Revoked ones do not count.
    let res = c
        .post(&format!("/settings/tokens/{}/revoke", ids[0]), &[])
        .await;
    assert_eq!(res.status(), 303);
    let res = c.post("/settings/tokens", &[("name", "One more")]).await;
    assert_eq!(res.status(), 200);
}
