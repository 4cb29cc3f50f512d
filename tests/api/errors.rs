//! Errors: the page for a browser, JSON for an API client, and a server
//! error logged with its cause and its request's id.

use crate::helpers::{acme, logs, TestApp};
use diesel::RunQueryDsl;
use promodesk::domain::Role;

async fn broken_partners_table() -> (TestApp, crate::helpers::Client) {
    let (app, _brand, c) = acme(Role::Manager).await;
    diesel::sql_query("ALTER TABLE partners RENAME TO partners_lost")
        .execute(&mut app.conn())
        .expect("rename the table");
    (app, c)
}

fn request_id(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("X-Request-Id")
        .to_string()
}

#[actix_web::test]
async fn a_server_error_is_logged_with_its_cause_and_request_id() {
    let (_app, c) = broken_partners_table().await;
    let res = c.get("/partners").await;
    assert_eq!(res.status(), 500);
    let id = request_id(&res);
    let body = res.text().await.expect("body");
    assert!(body.contains("Something went wrong"), "{body}");
    assert!(
        !body.contains("does not exist"),
        "the cause stays in the log: {body}"
    );

    let logs = logs();
    let span = format!("request{{request_id={id} method=GET path=/partners}}");
    let line = logs
        .lines()
        .find(|l| l.contains(&span) && l.contains("internal error"))
        .unwrap_or_else(|| panic!("no error logged in {span}:\n{logs}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("status=500"), "{line}");
    assert!(
        line.contains(r#"database error: relation "partners" does not exist"#),
        "the cause chain: {line}"
    );
}

#[actix_web::test]
async fn a_server_error_answers_json_without_its_cause_to_an_api_client() {
    let (_app, c) = broken_partners_table().await;
    let res = c
        .http
        .get(c.url("/partners"))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 500);
    let id = request_id(&res);
    let json: serde_json::Value = res.json().await.expect("json");
    assert_eq!(
        json,
        serde_json::json!({"error": "An unexpected error occurred; nothing was changed. It has been logged."})
    );
    let span = format!("request{{request_id={id} ");
    assert!(
        logs()
            .lines()
            .any(|l| l.contains(&span) && l.contains("does not exist")),
        "logged as for a browser"
    );
}

/// GETs `path` with `accept`, returning status, content type and body.
async fn fetch(c: &crate::helpers::Client, path: &str, accept: &str) -> (u16, String, String) {
    let res = c
        .http
        .get(c.url(path))
        .header("Accept", accept)
        .send()
        .await
        .expect("GET");
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, kind, res.text().await.expect("body"))
}

const NOT_FOUND: &str = "There is nothing here, or it belongs to another brand.";

#[actix_web::test]
async fn api_paths_and_json_clients_get_json_errors_browsers_the_page() {
    let (_app, _brand, c) = acme(Role::Manager).await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let cases = [
        // path, Accept, status, the JSON's message (None: the page)
        ("/api/nothing", browser, 404, Some(NOT_FOUND)),
        ("/codes/99999999", "application/json", 404, Some(NOT_FOUND)),
        ("/codes/abc", "application/json", 404, Some(NOT_FOUND)),
        (
            "/codes/99999999",
            "text/html;q=0.9, application/json",
            404,
            Some(NOT_FOUND),
        ),
        ("/codes/99999999", browser, 404, None),
        ("/codes/99999999", "*/*", 404, None),
        ("/codes/99999999", "application/json, text/html", 404, None),
    ];
    for (path, accept, status, json) in cases {
        let (got, kind, body) = fetch(&c, path, accept).await;
        assert_eq!(got, status, "{path} ({accept}): {body}");
        match json {
            Some(message) => {
                assert_eq!(kind, "application/json", "{path} ({accept})");
                let value: serde_json::Value = serde_json::from_str(&body).expect("json");
                assert_eq!(value, serde_json::json!({ "error": message }), "{path}");
            }
            None => {
                assert!(kind.starts_with("text/html"), "{path} ({accept}): {kind}");
                assert!(body.contains("<h1>Not found</h1>"), "{path}: {body}");
                assert!(body.contains("ann@acme.test"), "{path}: the user's layout");
            }
        }
    }
    // The brand API answers in the reference product's shape (JSON on
    // request, XML otherwise).
    let (got, kind, body) = fetch(&c, "/Advertisers/IR1/Nothing.json", "*/*").await;
    assert_eq!(got, 404, "{body}");
    assert_eq!(kind, "application/json");
    let value: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(value["Status"], "ERROR", "{body}");
    let (got, kind, body) = fetch(&c, "/Advertisers/IR1/Nothing", "*/*").await;
    assert_eq!(got, 404, "{body}");
    assert!(kind.starts_with("application/xml"), "{kind}");
    assert!(body.contains("<Status>ERROR</Status>"), "{body}");
    // A bad query is a 400 with its message.
    let (status, kind, body) = fetch(
        &c,
        "/codes?status=active&status=expired",
        "application/json",
    )
    .await;
    assert_eq!((status, kind.as_str()), (400, "application/json"), "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        value["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("The address could not be read")),
        "{value}"
    );
}

#[actix_web::test]
async fn a_json_client_is_told_to_log_in_and_a_forged_post_is_refused_in_json() {
    let app = TestApp::spawn().await;
    let stranger = app.client();
    let (status, kind, body) = fetch(&stranger, "/codes", "application/json").await;
    assert_eq!((status, kind.as_str()), (401, "application/json"), "{body}");
    assert_eq!(body, r#"{"error":"Please log in."}"#);
    // A browser is sent to the login page, as before.
    let res = stranger.get("/codes").await;
    assert_eq!(res.status(), 303);
    assert_eq!(crate::helpers::location(&res), "/login?next=/codes");

    let res = stranger
        .http
        .post(stranger.url("/api/anything"))
        .form(&[("name", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 403);
    let value: serde_json::Value = res.json().await.expect("json");
    assert!(
        value["error"]
            .as_str()
            .is_some_and(|e| e.contains("form could not be accepted")),
        "{value}"
    );
}
