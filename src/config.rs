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

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(2);
        let parse_bool = |name: &str| -> Result<Option<bool>, ConfigError> {
            match env(name).map(|v| v.to_ascii_lowercase()) {
                None => Ok(None),
                Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(Some(true)),
                Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(Some(false)),
                Some(v) => Err(ConfigError(format!("{name}={v} is not true or false"))),
            }
        };
        let number = |name: &str, default: u64| -> Result<u64, ConfigError> {
            match env(name) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ConfigError(format!("{name}={v} is not a whole number above 0"))
                }),
            }
        };
        Ok(Config {
            database_url: env("DATABASE_URL"),
            bind: env("BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            session_key: env("SESSION_KEY"),
            public_url: env("PUBLIC_URL"),
            cookie_secure: parse_bool("COOKIE_SECURE")?,
            upload_limit_mb: number("UPLOAD_LIMIT_MB", 256)?,
            data_dir: PathBuf::from(env("DATA_DIR").unwrap_or_else(|| "data".into())),
            pool_size: number("POOL_SIZE", u64::from(cores * 2 + 1))? as u32,
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
            return decode_key(k).ok_or_else(|| {
                ConfigError("SESSION_KEY must be 64 random bytes as 128 hex characters (openssl rand -hex 64)".into())
            });
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
}
