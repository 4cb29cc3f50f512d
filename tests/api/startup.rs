//! A bad configuration is refused through the real binary: before any
//! database work, with a message naming the setting and a plain non-zero
//! exit code (no crash, no signal).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with `env` on a fresh data directory; a process still
/// running after 60 s (a server that started) is killed and reported.
fn run(args: &[&str], env: &[(&str, &str)], data: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_promodesk"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SESSION_KEY")
        .env_remove("PUBLIC_URL")
        .env_remove("COOKIE_SECURE")
        .env_remove("UPLOAD_LIMIT_MB")
        .env_remove("POOL_SIZE")
        .env("DATA_DIR", data)
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run promodesk");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{args:?} with {env:?} kept running: the setting was accepted\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_refused(args: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let out = run(args, env, &data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        None,
        "{env:?}: killed by a signal\n{stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{env:?}: exit status {:?}\n{stderr}",
        out.status
    );
    for e in expected {
        assert!(stderr.contains(e), "{env:?}: no `{e}` in\n{stderr}");
    }
    assert!(
        !stderr.contains("panicked"),
        "{env:?}: a panic, not a message\n{stderr}"
    );
    assert!(
        !data.exists(),
        "{env:?}: the data directory (private cluster) was created before the refusal"
    );
}

#[test]
fn a_bad_session_key_is_refused_before_the_cluster_starts() {
    assert_refused(
        &["serve"],
        &[("SESSION_KEY", "bad")],
        &["SESSION_KEY", "openssl rand -hex 64"],
    );
}

#[test]
fn every_bad_setting_is_refused_before_anything_starts() {
    // The value is shown, except a database URL's (it may hold a password).
    let cases: &[(&str, &str, &[&str])] = &[
        ("BIND", "nonsense", &["BIND=nonsense"]),
        ("BIND", "127.0.0.1:99999", &["BIND=127.0.0.1:99999"]),
        ("BIND", "127.0.0.1", &["BIND=127.0.0.1 "]),
        ("UPLOAD_LIMIT_MB", "lots", &["UPLOAD_LIMIT_MB=lots"]),
        ("UPLOAD_LIMIT_MB", "0", &["UPLOAD_LIMIT_MB=0"]),
        (
            "UPLOAD_LIMIT_MB",
            "268435456",
            &["UPLOAD_LIMIT_MB=268435456"],
        ),
        ("POOL_SIZE", "0", &["POOL_SIZE=0"]),
        ("POOL_SIZE", "4294967297", &["POOL_SIZE=4294967297"]),
        (
            "PUBLIC_URL",
            "promo.example.com",
            &["PUBLIC_URL=promo.example.com"],
        ),
        (
            "PUBLIC_URL",
            "ftp://promo.example.com",
            &["PUBLIC_URL=ftp://"],
        ),
        ("PUBLIC_URL", "https://", &["PUBLIC_URL=https:// "]),
        ("COOKIE_SECURE", "maybe", &["COOKIE_SECURE=maybe"]),
        (
            "DATABASE_URL",
            "mysql://admin:secret@db.example/promodesk",
            &["DATABASE_URL", "postgres://"],
        ),
    ];
    for (name, value, expected) in cases {
        assert_refused(&["serve"], &[(name, value)], expected);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(
        &["serve"],
        &[("DATABASE_URL", "mysql://admin:secret@db.example/promodesk")],
        &dir.path().join("data"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "a database password is never printed"
    );
}

#[test]
fn all_bad_settings_are_named_at_once_and_commands_check_them_too() {
    assert_refused(
        &["serve"],
        &[("SESSION_KEY", "bad"), ("POOL_SIZE", "none")],
        &["SESSION_KEY", "POOL_SIZE=none"],
    );
    assert_refused(&["migrate"], &[("SESSION_KEY", "bad")], &["SESSION_KEY"]);
    assert_refused(&["demo-data"], &[("PUBLIC_URL", "x")], &["PUBLIC_URL"]);
}
