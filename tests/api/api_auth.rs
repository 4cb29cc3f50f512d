//! The brand API's authentication end to end, through its one read-only
//! endpoint `GET /Advertisers/{AccountSid}/CompanyInformation`: HTTP Basic
//! with the Account SID and a live token of that brand, the SID in the path
//! the authenticated one, replies in XML or JSON; and the API's exemption
//! from the browser UI's CSRF guard (for its paths only).

use crate::api_tokens::{account_sid, token_for};
use crate::helpers::TestApp;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use promodesk::domain::Role;
use promodesk::store::api_tokens;

const CHALLENGE: &str = "Basic realm=\"Promodesk API\"";

/// A client with no cookies, as an integration is.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

struct Answer {
    status: u16,
    content_type: String,
    challenge: Option<String>,
    sets_cookie: bool,
    body: String,
}

async fn answer(res: reqwest::Response) -> Answer {
    let h = res.headers();
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    Answer {
        status: res.status().as_u16(),
        content_type: get("content-type").unwrap_or_default(),
        challenge: get("www-authenticate"),
        sets_cookie: h.get("set-cookie").is_some(),
        body: res.text().await.expect("body"),
    }
}

async fn company(app: &TestApp, path_sid: &str, json: bool, creds: Option<(&str, &str)>) -> Answer {
    let suffix = if json { ".json" } else { "" };
    let mut req = http().get(format!(
        "{}/Advertisers/{path_sid}/CompanyInformation{suffix}",
        app.addr
    ));
    if let Some((user, token)) = creds {
        req = req.basic_auth(user, Some(token));
    }
    answer(req.send().await.expect("GET")).await
}

fn assert_unauthorized(a: &Answer, json: bool) {
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.challenge.as_deref(), Some(CHALLENGE));
    if json {
        assert_eq!(a.content_type, "application/json");
        let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
        assert_eq!(v["Status"], "ERROR");
        assert!(
            v["Message"]
                .as_str()
                .is_some_and(|m| m.contains("Account SID")),
            "{v}"
        );
    } else {
        assert_eq!(a.content_type, "application/xml; charset=utf-8");
        assert!(
            a.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ImpactRadiusResponse><Status>ERROR</Status><Message>"),
            "{}",
            a.body
        );
    }
    // Nothing of the brand is said.
    assert!(!a.body.contains("Acme"), "{}", a.body);
    assert!(!a.sets_cookie, "no session for the API");
}

fn last_used(
    app: &TestApp,
    brand: &crate::helpers::Brand,
) -> Option<chrono::DateTime<chrono::Utc>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        at: Option<chrono::DateTime<chrono::Utc>>,
    }
    diesel::sql_query("SELECT max(last_used_at) AS at FROM api_tokens WHERE brand_id = $1")
        .bind::<BigInt, _>(brand.id.0)
        .get_result::<Row>(&mut app.conn())
        .expect("last use")
        .at
}

#[actix_web::test]
async fn the_right_credentials_get_the_company_information_in_json_and_xml() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme & Sons <EU>");
    let sid = account_sid(&app, &acme);
    let (_, token) = token_for(&app, &acme, "Connector");
    assert_eq!(last_used(&app, &acme), None);

    let a = company(&app, &sid, true, Some((&sid, &token))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type, "application/json");
    assert!(!a.sets_cookie, "no session for the API");
    assert_eq!(
        a.body,
        format!(
            r#"{{"Id":"{}","CompanyName":"Acme & Sons <EU>","AccountSid":"{sid}","Uri":"/Advertisers/{sid}/CompanyInformation"}}"#,
            acme.id
        )
    );
    let used = last_used(&app, &acme).expect("the token's use is recorded");

    let a = company(&app, &sid, false, Some((&sid, &token))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type, "application/xml; charset=utf-8");
    assert_eq!(
        a.body,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ImpactRadiusResponse><Id>{}</Id><CompanyName>Acme &amp; Sons &lt;EU&gt;</CompanyName><AccountSid>{sid}</AccountSid><Uri>/Advertisers/{sid}/CompanyInformation</Uri></ImpactRadiusResponse>",
            acme.id
        )
    );
    // Written once a minute, not on every request.
    assert_eq!(last_used(&app, &acme), Some(used));

    // Accept: application/json without the suffix is JSON too.
    let res = http()
        .get(format!("{}/Advertisers/{sid}/CompanyInformation", app.addr))
        .basic_auth(&sid, Some(&token))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("GET");
    let a = answer(res).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "application/json");
    let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(v["CompanyName"], "Acme & Sons <EU>");

    // The settings page shows the use.
    app.user(&acme, "ann@acme.test", Role::Admin);
    let c = app.login("ann@acme.test").await;
    let (_, settings) = c.page("/settings").await;
    let list = &settings[settings.find("id=\"token-list\"").expect("list")..];
    assert!(
        list.contains(&used.format("%Y-%m-%d %H:%M UTC").to_string()),
        "{list}"
    );
}

#[actix_web::test]
async fn a_wrong_or_revoked_token_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    let sid = account_sid(&app, &acme);
    let (id, token) = token_for(&app, &acme, "Connector");
    let (_, other_token) = token_for(&app, &acme, "Other connector");
    for json in [true, false] {
        let a = company(&app, &sid, json, Some((&sid, "not-the-token"))).await;
        assert_unauthorized(&a, json);
        let a = company(&app, &sid, json, Some((&sid, &format!("{token}x")))).await;
        assert_unauthorized(&a, json);
    }
    assert_eq!(
        company(&app, &sid, true, Some((&sid, &token))).await.status,
        200
    );
    api_tokens::revoke(&mut app.conn(), acme.id, id).expect("revoke");
    for json in [true, false] {
        assert_unauthorized(&company(&app, &sid, json, Some((&sid, &token))).await, json);
    }
    // The brand's other token still works.
    assert_eq!(
        company(&app, &sid, true, Some((&sid, &other_token)))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn credentials_work_only_for_their_own_account() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    let other = app.brand("Other");
    let (sid_a, sid_b) = (account_sid(&app, &acme), account_sid(&app, &other));
    let (_, token_a) = token_for(&app, &acme, "A");
    let (_, token_b) = token_for(&app, &other, "B");
    for json in [true, false] {
        // Brand B's SID with a valid token of brand A.
        let a = company(&app, &sid_b, json, Some((&sid_b, &token_a))).await;
        assert_unauthorized(&a, json);
        // Valid credentials of A on B's path, and of B on A's path.
        let a = company(&app, &sid_b, json, Some((&sid_a, &token_a))).await;
        assert_unauthorized(&a, json);
        let a = company(&app, &sid_a, json, Some((&sid_b, &token_b))).await;
        assert_unauthorized(&a, json);
        // A SID in another case is another SID.
        let a = company(
            &app,
            &sid_a.to_lowercase(),
            json,
            Some((&sid_a.to_lowercase(), &token_a)),
        )
        .await;
        assert_unauthorized(&a, json);
    }
    // Each with its own.
    let a = company(&app, &sid_b, true, Some((&sid_b, &token_b))).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("\"CompanyName\":\"Other\""), "{}", a.body);
}

#[actix_web::test]
async fn missing_or_malformed_credentials_are_refused_with_a_challenge() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    let sid = account_sid(&app, &acme);
    let (_, token) = token_for(&app, &acme, "Connector");
    for json in [true, false] {
        assert_unauthorized(&company(&app, &sid, json, None).await, json);
    }
    let url = format!("{}/Advertisers/{sid}/CompanyInformation.json", app.addr);
    let b64 = |s: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let values: Vec<Vec<u8>> = vec![
        format!("Bearer {token}").into_bytes(),
        b"Basic".to_vec(),
        b"Basic !!!notbase64".to_vec(),
        format!("Basic {}", b64(sid.as_bytes())).into_bytes(),
        format!("Basic {}", b64(format!(":{token}").as_bytes())).into_bytes(),
        format!("Basic {}", b64(format!("{sid}:").as_bytes())).into_bytes(),
        // Not UTF-8 once decoded, or not even text.
        format!("Basic {}", b64(&[sid.as_bytes(), b":\xff\xfe"].concat())).into_bytes(),
        b"Basic \xff\xfe\xfd".to_vec(),
        // The token alone, or the SID and token the wrong way round.
        format!("Basic {}", b64(format!("{token}:{sid}").as_bytes())).into_bytes(),
        format!("Basic {}", b64(format!("{sid}:{token}:").as_bytes())).into_bytes(),
    ];
    for v in values {
        let res = http()
            .get(&url)
            .header(
                "Authorization",
                reqwest::header::HeaderValue::from_bytes(&v).expect("header value"),
            )
            .send()
            .await
            .expect("GET");
        let a = answer(res).await;
        assert_unauthorized(&a, true);
    }
    // The same header, well formed, works.
    let res = http()
        .get(&url)
        .header(
            "Authorization",
            format!("basic {}", b64(format!("{sid}:{token}").as_bytes())),
        )
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn unknown_api_paths_are_not_found_in_the_api_format() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    let sid = account_sid(&app, &acme);
    let res = http()
        .get(format!("{}/Advertisers/{sid}/Nothing.json", app.addr))
        .send()
        .await
        .expect("GET");
    let a = answer(res).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.content_type, "application/json");
    let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(v["Status"], "ERROR");
    let res = http()
        .get(format!("{}/Advertisers/{sid}/Nothing", app.addr))
        .send()
        .await
        .expect("GET");
    let a = answer(res).await;
    assert_eq!(a.status, 404);
    assert!(a.body.contains("<Status>ERROR</Status>"), "{}", a.body);
}

/// API paths carry their own credentials: the session CSRF guard lets
/// their POSTs through (here to a path with no POST route: the API's 404,
/// not the guard's 403). Every other path is still guarded, including
/// look-alikes of the API prefix.
#[actix_web::test]
async fn only_api_paths_are_exempt_from_the_csrf_guard() {
    let app = TestApp::spawn().await;
    let acme = app.brand("Acme");
    app.user(&acme, "ann@acme.test", Role::Admin);
    let sid = account_sid(&app, &acme);
    let c = app.login("ann@acme.test").await;
    let res = c
        .post_raw(
            &format!("/Advertisers/{sid}/CompanyInformation"),
            &[("a", "b")],
        )
        .await;
    let a = answer(res).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.body.contains("<Status>ERROR</Status>"), "{}", a.body);
    // JSON bodies and no body alike.
    let res = c
        .http
        .post(c.url(&format!("/Advertisers/{sid}/Conversions.json")))
        .header("Content-Type", "application/json")
        .body("{\"OrderId\":\"1\"}")
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 404);

    for path in [
        "/settings/tokens",
        "/advertisers/x/Conversions",
        "/ADVERTISERS/x/Conversions",
        "/%41dvertisers/x/Conversions",
        "/x/Advertisers/y",
        "/Advertisers",
        "/Advertisersx/y",
    ] {
        let res = c.post_raw(path, &[("name", "Sneaky")]).await;
        assert_eq!(res.status(), 403, "{path}");
        assert!(
            res.text()
                .await
                .expect("body")
                .contains("This form has expired"),
            "{path}"
        );
    }
    let (_, settings) = c.page("/settings").await;
    assert!(!settings.contains("<td>Sneaky</td>"), "{settings}");
}
