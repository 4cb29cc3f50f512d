//! Login throttling: after too many failed attempts for one email or from
//! one address within a window, further attempts are refused until the
//! window passes. In memory, per process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginThrottle {
    window: Duration,
    per_email: u32,
    per_ip: u32,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(Duration::from_secs(15 * 60), 5, 50)
    }
}

impl LoginThrottle {
    pub fn new(window: Duration, per_email: u32, per_ip: u32) -> Self {
        LoginThrottle {
            window,
            per_email,
            per_ip,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(email: &str, ip: &str) -> [(String, bool); 2] {
        [
            (format!("e:{}", email.trim().to_lowercase()), true),
            (format!("i:{ip}"), false),
        ]
    }

    /// `Some(wait)` when attempts for this email or address are blocked.
    pub fn blocked(&self, email: &str, ip: &str) -> Option<Duration> {
        let now = Instant::now();
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        Self::keys(email, ip).iter().find_map(|(k, is_email)| {
            let (count, first) = map.get(k)?;
            let limit = if *is_email {
                self.per_email
            } else {
                self.per_ip
            };
            let elapsed = now.duration_since(*first);
            (*count >= limit && elapsed < self.window).then(|| self.window - elapsed)
        })
    }

    pub fn record_failure(&self, email: &str, ip: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (_, first)| now.duration_since(*first) < window);
        }
        for (k, _) in Self::keys(email, ip) {
            let entry = map.entry(k).or_insert((0, now));
            if now.duration_since(entry.1) >= self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    pub fn record_success(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("e:{}", email.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_success_clears_the_email() {
        let t = LoginThrottle::new(Duration::from_secs(60), 3, 10);
        for _ in 0..2 {
            t.record_failure("A@x.test", "1.2.3.4");
        }
        assert!(t.blocked("a@x.test", "1.2.3.4").is_none());
        t.record_failure("a@x.test ", "1.2.3.4");
        assert!(t.blocked("a@x.test", "9.9.9.9").is_some(), "per email");
        assert!(
            t.blocked("b@x.test", "1.2.3.4").is_none(),
            "ip limit is higher"
        );
        t.record_success("a@x.test");
        assert!(t.blocked("a@x.test", "1.2.3.4").is_none());
    }

    #[test]
    fn window_expires() {
        let t = LoginThrottle::new(Duration::from_millis(30), 1, 10);
        t.record_failure("a@x.test", "ip");
        assert!(t.blocked("a@x.test", "ip").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(t.blocked("a@x.test", "ip").is_none());
    }
}
