//! Settings from the environment, with defaults that work on a fresh machine.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`; `None` starts a private PostgreSQL under `data_dir`.
    pub database_url: Option<String>,
    /// `BIND`, default `127.0.0.1:8080`.
    pub bind: String,
    /// `SESSION_KEY`: 64 bytes as 128 hex characters (or longer base64).
    pub session_key: Option<String>,
    /// `PUBLIC_URL`: where users reach the app; https makes cookies Secure.
    pub public_url: Option<String>,
    /// `COOKIE_SECURE`: overrides the Secure flag of the session cookie.
    pub cookie_secure: Option<bool>,
    /// `UPLOAD_LIMIT_MB`, default 256.
    pub upload_limit_mb: u64,
    /// `DATA_DIR`, default `./data`.
    pub data_dir: PathBuf,
    /// `POOL_SIZE`, default 2 x cores + 1.
    pub pool_size: u32,
    /// `AUTO_APPROVE_INTERVAL_SECS`, default 60: how often the server
    /// approves the pending actions whose locking period has ended; 0 turns
    /// the automatic approval off on this server.
    pub auto_approve_interval_secs: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The largest `UPLOAD_LIMIT_MB`: 10 GB (a limit given in bytes by mistake
/// is refused rather than taken as terabytes).
pub const MAX_UPLOAD_LIMIT_MB: u64 = 10_240;
/// The largest `POOL_SIZE`: the private cluster allows 200 connections.
pub const MAX_POOL_SIZE: u64 = 150;
/// The longest `AUTO_APPROVE_INTERVAL_SECS`: a day.
pub const MAX_AUTO_APPROVE_INTERVAL_SECS: u64 = 86_400;

/// The settings as read from the environment (`None`: unset or blank).
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub session_key: Option<String>,
    pub public_url: Option<String>,
    pub cookie_secure: Option<String>,
    pub upload_limit_mb: Option<String>,
    pub data_dir: Option<String>,
    pub pool_size: Option<String>,
    pub auto_approve_interval_secs: Option<String>,
}

impl RawSettings {
    pub fn from_env() -> RawSettings {
        RawSettings {
            database_url: env("DATABASE_URL"),
            bind: env("BIND"),
            session_key: env("SESSION_KEY"),
            public_url: env("PUBLIC_URL"),
            cookie_secure: env("COOKIE_SECURE"),
            upload_limit_mb: env("UPLOAD_LIMIT_MB"),
            data_dir: env("DATA_DIR"),
            pool_size: env("POOL_SIZE"),
            auto_approve_interval_secs: env("AUTO_APPROVE_INTERVAL_SECS"),
        }
    }
}

fn parse_bool(name: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{name}={v} is not true or false")),
    }
}

fn parse_number(name: &str, v: &str, max: u64) -> Result<u64, String> {
    v.parse::<u64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("{name}={v} is not a whole number from 1 to {max}"))
}

/// `host:port` with a port from 0 to 65535; the host is an IP address or
/// a name (looked up when the server listens).
fn check_bind(v: &str) -> Result<(), String> {
    let bad =
        || format!("BIND={v} is not an address and port such as 127.0.0.1:8080 or 0.0.0.0:80");
    if v.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let (host, port) = v.rsplit_once(':').ok_or_else(bad)?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if host_ok && port.parse::<u16>().is_ok() {
        Ok(())
    } else {
        Err(bad())
    }
}

/// An `http://` or `https://` address with a host and no spaces.
fn check_public_url(v: &str) -> Result<(), String> {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(h) if !h.is_empty() && !v.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(format!(
            "PUBLIC_URL={v} is not a web address such as https://promo.example.com"
        )),
    }
}

/// Only the scheme is shown: the URL may hold a password.
fn check_database_url(v: &str) -> Result<(), String> {
    if v.starts_with("postgres://") || v.starts_with("postgresql://") {
        Ok(())
    } else {
        let scheme = v.split_once("://").map(|(s, _)| s).unwrap_or("(none)");
        Err(format!(
            "DATABASE_URL must be a PostgreSQL URL starting with postgres:// or postgresql:// \
             (its scheme is {scheme})"
        ))
    }
}

const SESSION_KEY_HELP: &str =
    "SESSION_KEY must be 64 random bytes as 128 hex characters (openssl rand -hex 64)";

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_settings(RawSettings::from_env())
    }

    /// Checks every setting before anything starts; the error names each
    /// bad one (one a line).
    pub fn from_settings(raw: RawSettings) -> Result<Config, ConfigError> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u64)
            .unwrap_or(2);
        let mut errors: Vec<String> = Vec::new();
        let mut check = |r: Result<(), String>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };
        if let Some(v) = &raw.database_url {
            check(check_database_url(v));
        }
        if let Some(v) = &raw.bind {
            check(check_bind(v));
        }
        if let Some(v) = &raw.session_key {
            check(
                decode_key(v)
                    .map(|_| ())
                    .ok_or_else(|| SESSION_KEY_HELP.to_string()),
            );
        }
        if let Some(v) = &raw.public_url {
            check(check_public_url(v));
        }
        let cookie_secure = match raw
            .cookie_secure
            .as_deref()
            .map(|v| parse_bool("COOKIE_SECURE", v))
        {
            None => None,
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => {
                errors.push(e);
                None
            }
        };
        let mut number = |name: &str, v: &Option<String>, default: u64, max: u64| match v {
            None => default,
            Some(v) => parse_number(name, v, max).unwrap_or_else(|e| {
                errors.push(e);
                default
            }),
        };
        let upload_limit_mb = number(
            "UPLOAD_LIMIT_MB",
            &raw.upload_limit_mb,
            256,
            MAX_UPLOAD_LIMIT_MB,
        );
        let pool_size = number(
            "POOL_SIZE",
            &raw.pool_size,
            (cores * 2 + 1).min(MAX_POOL_SIZE),
            MAX_POOL_SIZE,
        );
        let auto_approve_interval_secs = match raw.auto_approve_interval_secs.as_deref() {
            None => 60,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= MAX_AUTO_APPROVE_INTERVAL_SECS)
                .unwrap_or_else(|| {
                    errors.push(format!(
                        "AUTO_APPROVE_INTERVAL_SECS={v} is not a whole number of seconds from 0 \
                         (off) to {MAX_AUTO_APPROVE_INTERVAL_SECS}"
                    ));
                    60
                }),
        };
        if !errors.is_empty() {
            return Err(ConfigError(errors.join("\n  ")));
        }
        Ok(Config {
            database_url: raw.database_url,
            bind: raw.bind.unwrap_or_else(|| "127.0.0.1:8080".into()),
            session_key: raw.session_key,
            public_url: raw.public_url,
            cookie_secure,
            upload_limit_mb,
            data_dir: PathBuf::from(raw.data_dir.unwrap_or_else(|| "data".into())),
            pool_size: pool_size as u32,
            auto_approve_interval_secs,
        })
    }

    /// Settings for tests and tools: nothing read from the environment.
    pub fn for_tests(database_url: String) -> Config {
        Config {
            database_url: Some(database_url),
            bind: "127.0.0.1:0".into(),
            session_key: Some(
                (0..64)
                    .map(|_| format!("{:02x}", rand::random::<u8>()))
                    .collect(),
            ),
            public_url: None,
            cookie_secure: Some(false),
            upload_limit_mb: 256,
            data_dir: PathBuf::from("data"),
            pool_size: 4,
            // Off: a test that wants it sets an interval (TestApp::spawn_with).
            auto_approve_interval_secs: 0,
        }
    }

    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.unwrap_or_else(|| {
            self.public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        })
    }

    /// The 64-byte session key: from `SESSION_KEY`, or generated once and
    /// kept in `<data_dir>/session.key` (mode 0600).
    pub fn session_key_bytes(&self) -> Result<Vec<u8>, ConfigError> {
        if let Some(k) = &self.session_key {
            return decode_key(k).ok_or_else(|| ConfigError(SESSION_KEY_HELP.into()));
        }
        let path = self.data_dir.join("session.key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Some(k) = decode_key(text.trim()) {
                return Ok(k);
            }
        }
        let key: Vec<u8> = (0..64).map(|_| rand::random::<u8>()).collect();
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| ConfigError(format!("creating {}: {e}", self.data_dir.display())))?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(&path, hex)
            .map_err(|e| ConfigError(format!("writing {}: {e}", path.display())))?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        Ok(key)
    }
}

fn decode_key(s: &str) -> Option<Vec<u8>> {
    if s.len() >= 128 && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
            .collect();
    }
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .ok()
        .filter(|k| k.len() >= 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_from_hex_or_base64() {
        let hex = "ab".repeat(64);
        assert_eq!(decode_key(&hex).map(|k| k.len()), Some(64));
        assert!(decode_key("short").is_none());
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        assert_eq!(decode_key(&b64), Some(vec![7u8; 64]));
    }

    #[test]
    fn secure_cookie_follows_public_url_unless_overridden() {
        let mut c = Config::for_tests("x".into());
        c.cookie_secure = None;
        assert!(!c.cookie_secure());
        c.public_url = Some("https://promo.example".into());
        assert!(c.cookie_secure());
        c.cookie_secure = Some(false);
        assert!(!c.cookie_secure());
    }

    fn settings(f: impl FnOnce(&mut RawSettings)) -> Result<Config, String> {
        let mut raw = RawSettings::default();
        f(&mut raw);
        Config::from_settings(raw).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_need_no_settings() {
        let c = settings(|_| {}).expect("defaults");
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.upload_limit_mb, 256);
        assert!(c.pool_size >= 3);
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.auto_approve_interval_secs, 60);
    }

    #[test]
    fn the_automatic_approval_interval_may_be_zero_to_turn_it_off() {
        let c = settings(|r| r.auto_approve_interval_secs = Some("0".into())).expect("off");
        assert_eq!(c.auto_approve_interval_secs, 0);
        let c = settings(|r| r.auto_approve_interval_secs = Some("5".into())).expect("5 s");
        assert_eq!(c.auto_approve_interval_secs, 5);
        for bad in ["-1", "1.5", "a minute", "86401"] {
            let e = settings(|r| r.auto_approve_interval_secs = Some(bad.into())).expect_err(bad);
            assert!(
                e.contains(&format!("AUTO_APPROVE_INTERVAL_SECS={bad}")),
                "{e}"
            );
        }
    }

    #[test]
    fn good_settings_are_taken() {
        let c = settings(|r| {
            r.database_url = Some("postgresql://u:p@db/promodesk".into());
            r.bind = Some("localhost:9000".into());
            r.session_key = Some("ab".repeat(64));
            r.public_url = Some("https://promo.example.com/".into());
            r.cookie_secure = Some("off".into());
            r.upload_limit_mb = Some("512".into());
            r.pool_size = Some("20".into());
        })
        .expect("valid");
        assert_eq!(
            (
                c.bind.as_str(),
                c.upload_limit_mb,
                c.pool_size,
                c.cookie_secure
            ),
            ("localhost:9000", 512, 20, Some(false))
        );
        assert!(settings(|r| r.bind = Some("[::1]:8080".into())).is_ok());
        assert!(settings(|r| r.public_url = Some("http://10.0.0.5:8080".into())).is_ok());
    }

    #[test]
    fn every_bad_setting_is_named() {
        let e = settings(|r| {
            r.database_url = Some("mysql://root:hunter2@db/x".into());
            r.bind = Some("8080".into());
            r.session_key = Some("not-a-key".into());
            r.public_url = Some("promo.example.com".into());
            r.cookie_secure = Some("maybe".into());
            r.upload_limit_mb = Some("1e3".into());
            r.pool_size = Some("4294967297".into());
        })
        .expect_err("invalid");
        for name in [
            "DATABASE_URL",
            "BIND=8080",
            "SESSION_KEY",
            "PUBLIC_URL=promo.example.com",
            "COOKIE_SECURE=maybe",
            "UPLOAD_LIMIT_MB=1e3",
            "POOL_SIZE=4294967297",
        ] {
            assert!(e.contains(name), "{name} in {e}");
        }
        assert!(!e.contains("hunter2") && !e.contains("not-a-key"), "{e}");
        assert!(settings(|r| r.pool_size = Some("0".into())).is_err());
        assert!(settings(|r| r.upload_limit_mb = Some("268435456".into())).is_err());
        assert!(settings(|r| r.public_url = Some("https://".into())).is_err());
        assert!(settings(|r| r.bind = Some("127.0.0.1:65536".into())).is_err());
    }
}
