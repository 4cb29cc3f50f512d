//! A server killed during an upload's accept leaves nothing half-written.

use crate::helpers::{TestApp, PASSWORD};
use crate::html::csrf_in;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use promodesk::domain::Role;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .map(|r| r.n)
        .unwrap_or(-1)
}

#[actix_web::test]
async fn killing_the_server_mid_commit_writes_nothing() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Manager);
    app.partner(&brand, 501, "Big Partner");
    // A file large enough that the commit takes a while.
    let rows = 60_000;
    let mut csv = String::from("Promo Code,Program Id,Media Id,Type,Credit Rule,Match Mode\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "KILL{i:07},{},501,TRACKING,ALWAYS,LI\n",
            brand.program.0
        ));
    }
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("big.csv");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(csv.as_bytes()))
        .expect("write file");

    let mut child = Command::new(env!("CARGO_BIN_EXE_promodesk"))
        .arg("serve")
        .env("DATABASE_URL", &app.db.url)
        .env("DATA_DIR", dir.path())
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run promodesk serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines.next().expect("server output").expect("line");
        if let Some(rest) = line.split("running at ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .expect("addr")
                .trim_end_matches('/')
                .to_string();
        }
    };
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http
        .get(format!("{addr}/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let token = csrf_in(&page).expect("token");
    http.post(format!("{addr}/login"))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("login");
    let page = http
        .get(format!("{addr}/uploads/new"))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("body");
    let token = csrf_in(&page).expect("token");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("big.csv"),
        );
    let res = http
        .post(format!("{addr}/uploads"))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 303, "review");
    let review = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let upload_id: i64 = review
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("upload id");

    // Accept, and kill the server while the INSERT of the codes runs.
    let accept = tokio::spawn({
        let http = http.clone();
        let url = format!("{addr}/uploads/{upload_id}/accept");
        async move {
            let _ = http
                .post(url)
                .form(&[("csrf_token", token.as_str())])
                .send()
                .await;
        }
    });
    let mut watch = app.conn();
    let deadline = Instant::now() + Duration::from_secs(60);
    let db_name = app.db.name.clone();
    loop {
        let running: i64 = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE 'INSERT INTO promo_codes%'",
        )
        .bind::<Text, _>(&db_name)
        .get_result::<N>(&mut watch)
        .map(|r| r.n)
        .unwrap_or(0);
        if running > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the commit never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    accept.abort();
    // The database notices the dead client and rolls the transaction back.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let busy: i64 = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'",
        )
        .bind::<Text, _>(&db_name)
        .get_result::<N>(&mut watch)
        .map(|r| r.n)
        .unwrap_or(0);
        if busy == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the killed commit did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let codes = count(&mut watch, "SELECT count(*) AS n FROM promo_codes");
    let history = count(&mut watch, "SELECT count(*) AS n FROM code_history");
    let status: Vec<(String,)> = {
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = Text)]
            status: String,
        }
        diesel::sql_query("SELECT status FROM uploads")
            .load::<S>(&mut watch)
            .expect("uploads")
            .into_iter()
            .map(|s| (s.status,))
            .collect()
    };
    assert_eq!((codes, history), (0, 0), "nothing half-written");
    assert_eq!(
        status,
        vec![("reviewing".to_string(),)],
        "the upload can still be accepted"
    );
    let staged = count(&mut watch, "SELECT count(*) AS n FROM upload_rows");
    assert_eq!(staged, rows, "the review is intact");
}
