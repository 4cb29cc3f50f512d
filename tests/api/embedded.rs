//! The zero-setup default: a private PostgreSQL cluster started by the app.

use promodesk::db::embedded::{Cluster, Tuning};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn a_private_cluster_starts_serves_and_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::at(&dir.path().join("pg")).expect("server binaries");
    assert!(!cluster.is_initialized());
    cluster.ensure_running(Tuning::FastUnsafe).expect("start");
    assert!(cluster.is_running());
    promodesk::db::create_database_if_missing(&cluster.url("postgres"), "promodesk")
        .expect("create database");
    let applied = promodesk::db::migrate(&cluster.url("promodesk")).expect("migrate");
    assert!(!applied.is_empty());
    // Starting again reuses the running cluster.
    cluster
        .ensure_running(Tuning::FastUnsafe)
        .expect("idempotent start");
    cluster.stop().expect("stop");
    assert!(!cluster.is_running());
    // And it starts again from its data.
    cluster.ensure_running(Tuning::FastUnsafe).expect("restart");
    assert!(promodesk::db::migrate(&cluster.url("promodesk"))
        .expect("no new migrations")
        .is_empty());
    assert_eq!(setting(&cluster, "fsync"), "off");
    cluster.stop().expect("stop again");
    // Its settings are written at every start: a cluster made with other
    // settings (by an older version, or for tests) gets today's.
    cluster
        .ensure_running(Tuning::Durable)
        .expect("durable start");
    assert_eq!(setting(&cluster, "fsync"), "on");
    assert_eq!(setting(&cluster, "max_wal_size"), "4GB");
    cluster.stop().expect("stop at last");
}

fn setting(cluster: &Cluster, name: &str) -> String {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Value {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let mut c = diesel::PgConnection::establish(&cluster.url("promodesk")).expect("connect");
    diesel::sql_query(format!("SELECT current_setting('{name}') AS value"))
        .get_result::<Value>(&mut c)
        .expect("setting")
        .value
}

#[actix_web::test]
async fn serve_without_database_url_runs_the_demo_and_stops_its_cluster() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let child = Command::new(env!("CARGO_BIN_EXE_promodesk"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", &data)
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run promodesk serve");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut addr = None;
    let mut printed = Vec::new();
    while addr.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the server prints its address");
        if let Some(rest) = line.split("running at ").nth(1) {
            addr = rest
                .split_whitespace()
                .next()
                .map(|s| s.trim_end_matches('/').to_string());
        }
        printed.push(line);
    }
    let addr = addr.expect("address");
    let demo_line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("demo login line");
    assert!(
        demo_line.contains("demo@promodesk.test / promodesk-demo"),
        "{demo_line}"
    );
    {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let health = http
            .get(format!("{addr}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(health.status(), 200);
        let login = http
            .get(format!("{addr}/login"))
            .send()
            .await
            .expect("login")
            .text()
            .await
            .expect("body");
        assert!(
            login.contains("demo@promodesk.test"),
            "the login page offers the demo login"
        );
        let token = crate::html::csrf_in(&login).expect("token");
        let res = http
            .post(format!("{addr}/login"))
            .form(&[
                ("email", "demo@promodesk.test"),
                ("password", "promodesk-demo"),
                ("csrf_token", token.as_str()),
            ])
            .send()
            .await
            .expect("post login");
        assert_eq!(res.status(), 303);
        let dash = http
            .get(format!("{addr}/"))
            .send()
            .await
            .expect("dashboard")
            .text()
            .await
            .expect("body");
        assert!(
            dash.contains("Northwind Outfitters") && dash.contains("Active codes"),
            "{dash}"
        );
    }
    // A CLI command beside the server uses the same cluster and leaves it
    // running; a second server on the same port is refused before it
    // touches the cluster.
    let cli = |args: &[&str], bind: &str| {
        Command::new(env!("CARGO_BIN_EXE_promodesk"))
            .args(args)
            .env_remove("DATABASE_URL")
            .env("DATA_DIR", &data)
            .env("BIND", bind)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run promodesk")
    };
    let out = cli(
        &[
            "user",
            "add",
            "--brand",
            "Northwind Outfitters",
            "--email",
            "cli@promodesk.test",
            "--password",
            "cli-password-1",
            "--role",
            "viewer",
        ],
        "127.0.0.1:0",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = addr.trim_start_matches("http://");
    let out = cli(&["serve"], port);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen on"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let health = reqwest::get(format!("{addr}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert!(
        health
            .text()
            .await
            .expect("body")
            .contains("\"database\":\"ok\""),
        "the server's database outlived the commands beside it"
    );

    // SIGTERM: graceful stop, and the private cluster goes down with it.
    // SAFETY: kill with a valid pid and signal.
    unsafe {
        libc::kill(child.0.id() as i32, libc::SIGTERM);
    }
    let status = child.0.wait().expect("wait");
    assert!(status.success(), "exit status {status:?}");
    let cluster = Cluster::at(&data.join("postgres")).expect("cluster");
    assert!(cluster.is_initialized());
    assert!(
        !cluster.is_running(),
        "the private cluster stopped with the server"
    );
}

/// A server process that a failing test does not leave running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two commands started together on a new data directory: one sets the
/// cluster up and starts it, the other waits and uses it; the last one out
/// stops it.
#[test]
fn commands_started_together_share_one_new_cluster() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_promodesk"))
            .arg("migrate")
            .env_remove("DATABASE_URL")
            .env("DATA_DIR", &data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run promodesk migrate")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cluster = Cluster::at(&data.join("postgres")).expect("cluster");
    assert!(cluster.is_initialized());
    assert!(!cluster.is_running(), "stopped by the last one out");
}
