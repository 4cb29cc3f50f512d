//! Partners (media partners / media sources).

use super::forms::{optional_decimal, required_id, required_text, FieldErrors};
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerStatus {
    Active,
    Inactive,
}

impl PartnerStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }
}

/// Credit groups rank partners when several touch one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CreditGroup {
    NonPreferred,
    Standard,
    Preferred,
}

impl CreditGroup {
    pub const ALL: [CreditGroup; 3] = [
        CreditGroup::Preferred,
        CreditGroup::Standard,
        CreditGroup::NonPreferred,
    ];
    pub fn parse(s: &str) -> Option<Self> {
        match s
            .trim()
            .to_ascii_uppercase()
            .replace([' ', '-'], "_")
            .as_str()
        {
            "PREFERRED" => Some(Self::Preferred),
            "STANDARD" => Some(Self::Standard),
            "NON_PREFERRED" => Some(Self::NonPreferred),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preferred => "PREFERRED",
            Self::Standard => "STANDARD",
            Self::NonPreferred => "NON_PREFERRED",
        }
    }
}

/// A payout: percent of the sale, or a flat amount per action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payout {
    Percent(Decimal),
    Flat(Decimal),
}

impl Payout {
    /// As stored: (percent, flat), at most one of them set.
    pub fn columns(p: Option<Payout>) -> (Option<Decimal>, Option<Decimal>) {
        match p {
            Some(Payout::Percent(v)) => (Some(v), None),
            Some(Payout::Flat(v)) => (None, Some(v)),
            None => (None, None),
        }
    }
}

/// Reads a payout from the pair of form fields; both filled is an error.
pub fn parse_payout(errors: &mut FieldErrors, percent: &str, flat: &str) -> Option<Payout> {
    let p = optional_decimal(
        errors,
        "payout_percent",
        percent,
        Decimal::ZERO,
        Some(Decimal::ONE_HUNDRED),
    );
    let f = optional_decimal(errors, "payout_flat", flat, Decimal::ZERO, None);
    match (p, f) {
        (Some(_), Some(_)) => {
            errors.add("payout_flat", "Give a percent or a flat amount, not both.");
            None
        }
        (Some(p), None) => Some(Payout::Percent(p)),
        (None, Some(f)) => Some(Payout::Flat(f)),
        (None, None) => None,
    }
}

/// The partner form as submitted (every field as typed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PartnerForm {
    #[serde(default)]
    pub media_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub credit_group: String,
    #[serde(default)]
    pub payout_percent: String,
    #[serde(default)]
    pub payout_flat: String,
    #[serde(default)]
    pub email: String,
}

/// A validated partner, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPartner {
    pub media_id: i64,
    pub name: String,
    pub status: PartnerStatus,
    pub credit_group: CreditGroup,
    pub payout: Option<Payout>,
    pub email: Option<String>,
}

impl PartnerForm {
    pub fn parse(&self) -> Result<NewPartner, FieldErrors> {
        let mut errors = FieldErrors::new();
        let media_id = required_id(
            &mut errors,
            "media_id",
            &self.media_id,
            "Required: the partner's numeric Media Id.",
            |raw| format!("`{raw}` is not a Media Id: use a whole number above 0."),
        );
        let name = required_text(&mut errors, "name", &self.name, 200);
        let status = if self.status.trim().is_empty() {
            PartnerStatus::Active
        } else {
            PartnerStatus::parse(&self.status).unwrap_or_else(|| {
                errors.add("status", "Choose active or inactive.");
                PartnerStatus::Active
            })
        };
        let credit_group = if self.credit_group.trim().is_empty() {
            CreditGroup::Preferred
        } else {
            CreditGroup::parse(&self.credit_group).unwrap_or_else(|| {
                errors.add(
                    "credit_group",
                    "Choose PREFERRED, STANDARD or NON_PREFERRED.",
                );
                CreditGroup::Preferred
            })
        };
        let payout = parse_payout(&mut errors, &self.payout_percent, &self.payout_flat);
        let email = self.email.trim();
        let email = if email.is_empty() {
            None
        } else if !looks_like_email(email) {
            errors.add("email", "Not an email address (name@example.com).");
            None
        } else {
            Some(email.to_string())
        };
        errors.into_result(NewPartner {
            media_id,
            name,
            status,
            credit_group,
            payout,
            email,
        })
    }
}

pub fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None)
        if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
           && !s.chars().any(char::is_whitespace) && s.len() <= 254)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PartnerForm {
        PartnerForm {
            media_id: "1001".into(),
            name: " Coupon Site ".into(),
            status: "active".into(),
            credit_group: "STANDARD".into(),
            payout_percent: "7.5".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_form_parses() {
        let p = form().parse().expect("valid");
        assert_eq!(p.media_id, 1001);
        assert_eq!(p.name, "Coupon Site");
        assert_eq!(p.credit_group, CreditGroup::Standard);
        assert_eq!(p.payout, Some(Payout::Percent(Decimal::new(75, 1))));
        assert_eq!(p.email, None);
    }

    #[test]
    fn each_bad_field_gets_its_message() {
        let f = PartnerForm {
            media_id: "x1".into(),
            name: "  ".into(),
            status: "gone".into(),
            credit_group: "best".into(),
            payout_percent: "5".into(),
            payout_flat: "2".into(),
            email: "nope".into(),
        };
        let e = f.parse().expect_err("invalid");
        for field in [
            "media_id",
            "name",
            "status",
            "credit_group",
            "payout_flat",
            "email",
        ] {
            assert!(e.has(field), "missing error for {field}: {e:?}");
        }
    }

    #[test]
    fn credit_groups_rank() {
        assert!(CreditGroup::Preferred > CreditGroup::Standard);
        assert!(CreditGroup::Standard > CreditGroup::NonPreferred);
        assert_eq!(
            CreditGroup::parse("non-preferred"),
            Some(CreditGroup::NonPreferred)
        );
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("a@b.co"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("a b@c.de"));
        assert!(!looks_like_email("@c.de"));
    }
}
