//! Programs (campaigns) and their tracking settings.

use super::forms::{required_text, FieldErrors};
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
        }
        let landing_url = self.landing_url.trim().to_string();
        if !(landing_url.starts_with("https://") || landing_url.starts_with("http://"))
            || landing_url.len() < 11
            || landing_url.chars().any(char::is_whitespace)
        {
            errors.add("landing_url", "A full web address starting with https://");
        }
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
