//! A server killed during an upload's accept leaves nothing half-written.

use crate::helpers::{count, location, Client, TestApp, PASSWORD};
use diesel::prelude::*;
use diesel::sql_types::Text;
use promodesk::domain::Role;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let c = Client::new(&addr);
    assert_eq!(c.login("ann@acme.test", PASSWORD).await.status(), 303);
    let res = c.upload(csv.into_bytes(), "big.csv", false).await;
    assert_eq!(res.status(), 303, "review");
    let review = location(&res);
    let upload_id: i64 = review
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("upload id");
    let token = c.csrf().await;

    // Accept, and kill the server while the INSERT of the codes runs.
    let accept = tokio::spawn({
        let http = c.http.clone();
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
    let activity = |conn: &mut PgConnection, filter: &str| {
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{}' AND {filter}",
                app.db.name
            ),
        )
    };
    loop {
        let running = activity(
            &mut watch,
            "state = 'active' AND query LIKE 'INSERT INTO promo_codes%'",
        );
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
        let busy = activity(&mut watch, "pid <> pg_backend_pid() AND state <> 'idle'");
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
