//! Programs (campaigns) and their tracking settings.

use super::forms::{required_text, FieldErrors};
use super::money::is_currency;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProgramForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub landing_url: String,
    #[serde(default)]
    pub referral_window_days: String,
    #[serde(default)]
    pub locking_days: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    pub tracking_enabled: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSettings {
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    pub landing_url: String,
    pub referral_window_days: i32,
    pub locking_days: i32,
    pub tracking_enabled: bool,
}

pub fn parse_time_zone(s: &str) -> Option<chrono_tz::Tz> {
    s.trim().parse::<chrono_tz::Tz>().ok()
}

/// The time zones the forms offer (program and code forms alike): the IANA
/// names of the form Area/City, and UTC.
pub fn time_zones() -> &'static [&'static str] {
    static ZONES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ZONES.get_or_init(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|t| t.name())
            .filter(|n| n.contains('/') || *n == "UTC")
            .collect()
    })
}

/// The longest landing URL kept.
pub const LANDING_URL_CHARS: usize = 2000;

/// A program's landing URL as kept: a full `http(s)://` address of a host
/// (a domain name or an IP address), without a user name or password,
/// normalized (lower-case scheme and host, international names in their
/// ASCII form, spaces refused, other characters percent-encoded), so that a
/// tracking link can redirect to it as it is.
pub fn landing_url(raw: &str) -> Result<String, &'static str> {
    const FULL: &str =
        "A full web address starting with https://, such as https://shop.example.com/";
    let raw = raw.trim();
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    let authority = if lower.starts_with("https://") {
        &raw[8..]
    } else if lower.starts_with("http://") {
        &raw[7..]
    } else {
        return Err(FULL);
    };
    // (A browser would read "https:///shop" as the host "shop".)
    if authority.starts_with(['/', '\\'])
        || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(FULL);
    }
    if raw.chars().count() > LANDING_URL_CHARS {
        return Err("At most 2,000 characters.");
    }
    let url = url::Url::parse(raw).map_err(|_| FULL)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FULL);
    }
    let host_ok = match url.host() {
        Some(url::Host::Domain(d)) => {
            !d.is_empty()
                && d.split('.').all(|label| {
                    !label.is_empty()
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
        Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_)) => true,
        None => false,
    };
    if !host_ok {
        return Err(FULL);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("A web address without a user name or password.");
    }
    Ok(url.to_string())
}

fn days(errors: &mut FieldErrors, field: &'static str, raw: &str, default: i32, min: i32) -> i32 {
    let raw = raw.trim();
    if raw.is_empty() {
        return default;
    }
    match raw.parse::<i32>() {
        Ok(v) if (min..=365).contains(&v) => v,
        _ => {
            errors.add(field, format!("A whole number of days from {min} to 365."));
            default
        }
    }
}

impl ProgramForm {
    pub fn parse(&self) -> Result<ProgramSettings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = required_text(&mut errors, "name", &self.name, 200);
        let time_zone = match parse_time_zone(&self.time_zone) {
            Some(tz) => tz.name().to_string(),
            None => {
                errors.add(
                    "time_zone",
                    "Use an IANA time zone name such as America/New_York or UTC.",
                );
                String::new()
            }
        };
        let currency = self.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.add(
                "currency",
                "A three-letter ISO 4217 code such as USD or EUR.",
            );
        } else if !is_currency(&currency) {
            errors.add(
                "currency",
                format!("{currency} is not an ISO 4217 currency; use a code such as USD or EUR."),
            );
        }
        let landing_url = match landing_url(&self.landing_url) {
            Ok(url) => url,
            Err(message) => {
                errors.add("landing_url", message);
                self.landing_url.trim().to_string()
            }
        };
        let referral_window_days = days(
            &mut errors,
            "referral_window_days",
            &self.referral_window_days,
            30,
            1,
        );
        let locking_days = days(&mut errors, "locking_days", &self.locking_days, 30, 0);
        let tracking_enabled = self
            .tracking_enabled
            .as_deref()
            .is_some_and(|v| !v.is_empty() && v != "false");
        errors.into_result(ProgramSettings {
            name,
            time_zone,
            currency,
            landing_url,
            referral_window_days,
            locking_days,
            tracking_enabled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let f = ProgramForm {
            name: "Shop".into(),
            time_zone: "Europe/Paris".into(),
            currency: "eur".into(),
            landing_url: "https://shop.example".into(),
            referral_window_days: "".into(),
            locking_days: "14".into(),
            tracking_enabled: Some("on".into()),
        };
        let p = f.parse().expect("valid");
        assert_eq!(p.currency, "EUR");
        assert_eq!(p.referral_window_days, 30);
        assert_eq!(p.locking_days, 14);
        assert!(p.tracking_enabled);
    }

    #[test]
    fn the_offered_zones_parse_and_include_utc() {
        let zones = time_zones();
        assert!(zones.contains(&"UTC") && zones.contains(&"America/New_York"));
        assert!(!zones.contains(&"EST"), "abbreviations are not offered");
        assert!(zones.iter().all(|z| parse_time_zone(z).is_some()));
    }

    #[test]
    fn landing_urls_are_full_addresses_of_a_host() {
        for (raw, kept) in [
            ("https://shop.example/", "https://shop.example/"),
            ("  https://shop.example ", "https://shop.example/"),
            (
                "HTTPS://Shop.Example/Path?q=1",
                "https://shop.example/Path?q=1",
            ),
            ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
            ("https://[::1]/", "https://[::1]/"),
            (
                "https://bücher.example/ä",
                "https://xn--bcher-kva.example/%C3%A4",
            ),
            ("https://a.co", "https://a.co/"),
            (
                "https://shop.example/landing#top",
                "https://shop.example/landing#top",
            ),
        ] {
            assert_eq!(landing_url(raw).as_deref(), Ok(kept), "{raw}");
        }
        for raw in [
            "",
            "shop.example",
            "javascript:alert(1)",
            "ftp://shop.example/",
            "https:shop.example",
            "https:/shop.example",
            "https://",
            "https:///path",
            "https://shop example/",
            "https://shop.example/a b",
            "https://shop.example/\tx",
            "https://\"><b>x</b>",
            "https://sh<op.example/",
            "https://shop..example/",
            "https://-shop.example/",
            "https://sh_op.example/",
        ] {
            assert!(landing_url(raw).is_err(), "{raw}");
        }
        assert_eq!(
            landing_url("https://ann:secret@shop.example/"),
            Err("A web address without a user name or password.")
        );
        let long = format!("https://shop.example/{}", "a".repeat(2000));
        assert_eq!(landing_url(&long), Err("At most 2,000 characters."));
    }

    #[test]
    fn currencies_must_be_known_iso_codes() {
        let mut f = ProgramForm {
            name: "Shop".into(),
            time_zone: "UTC".into(),
            currency: "abc".into(),
            landing_url: "https://shop.example".into(),
            ..Default::default()
        };
        let e = f.parse().expect_err("unknown");
        assert!(e
            .get("currency")
            .is_some_and(|m| m.contains("ABC is not an ISO 4217 currency")));
        f.currency = " jpy ".into();
        assert_eq!(f.parse().map(|p| p.currency).as_deref(), Ok("JPY"));
    }

    #[test]
    fn rejects_bad_fields() {
        let f = ProgramForm {
            name: "".into(),
            time_zone: "Mars/Olympus".into(),
            currency: "EURO".into(),
            landing_url: "javascript:alert(1)".into(),
            referral_window_days: "0".into(),
            locking_days: "x".into(),
            tracking_enabled: None,
        };
        let e = f.parse().expect_err("invalid");
        for field in [
            "name",
            "time_zone",
            "currency",
            "landing_url",
            "referral_window_days",
            "locking_days",
        ] {
            assert!(e.has(field), "{field}");
        }
    }
}
