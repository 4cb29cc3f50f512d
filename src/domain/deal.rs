//! Deals: the offer a promo code carries (percent off, free shipping, ...).

use super::forms::{required_id, required_text, FieldErrors};
use super::ProgramId;
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealKind {
    PercentOff,
    AmountOff,
    FreeShipping,
    Bogo,
    Gift,
    Other,
}

/// Whether a kind of deal carries a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRule {
    Required,
    Forbidden,
    Optional,
}

impl DealKind {
    pub const ALL: [DealKind; 6] = [
        DealKind::PercentOff,
        DealKind::AmountOff,
        DealKind::FreeShipping,
        DealKind::Bogo,
        DealKind::Gift,
        DealKind::Other,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        match s
            .trim()
            .to_ascii_uppercase()
            .replace([' ', '-'], "_")
            .as_str()
        {
            "PERCENT_OFF" => Some(Self::PercentOff),
            "AMOUNT_OFF" => Some(Self::AmountOff),
            "FREE_SHIPPING" => Some(Self::FreeShipping),
            "BOGO" => Some(Self::Bogo),
            "GIFT" => Some(Self::Gift),
            "OTHER" => Some(Self::Other),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PercentOff => "PERCENT_OFF",
            Self::AmountOff => "AMOUNT_OFF",
            Self::FreeShipping => "FREE_SHIPPING",
            Self::Bogo => "BOGO",
            Self::Gift => "GIFT",
            Self::Other => "OTHER",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::PercentOff => "Percent off",
            Self::AmountOff => "Amount off",
            Self::FreeShipping => "Free shipping",
            Self::Bogo => "Buy one, get one",
            Self::Gift => "Gift with purchase",
            Self::Other => "Other",
        }
    }

    pub fn value_rule(self) -> ValueRule {
        match self {
            Self::PercentOff | Self::AmountOff => ValueRule::Required,
            Self::FreeShipping | Self::Bogo | Self::Gift => ValueRule::Forbidden,
            Self::Other => ValueRule::Optional,
        }
    }

    /// Only an amount off is in a currency.
    pub fn has_currency(self) -> bool {
        self == Self::AmountOff
    }
}

/// The largest value the `deals.value` column (NUMERIC(14, 2)) holds.
fn max_value() -> Decimal {
    Decimal::new(99_999_999_999_999, 2)
}

/// How a deal reads in lists: "20% off", "2,500.00 USD off", "Free
/// shipping".
pub fn describe(kind: DealKind, value: Option<Decimal>, currency: Option<&str>) -> String {
    match (kind, value) {
        (DealKind::PercentOff, Some(v)) => format!("{}% off", v.normalize()),
        (DealKind::AmountOff, Some(v)) => {
            format!(
                "{} off",
                super::money::format_money_exact(v, currency.unwrap_or(""))
            )
        }
        (DealKind::Other, Some(v)) => format!("Other ({})", v.normalize()),
        (k, _) => k.label().to_string(),
    }
}

/// The deal form as submitted (every field as typed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DealForm {
    #[serde(default)]
    pub program_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub currency: String,
}

/// A validated deal, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeal {
    pub program_id: ProgramId,
    pub name: String,
    pub kind: DealKind,
    pub value: Option<Decimal>,
    pub currency: Option<String>,
}

impl DealForm {
    pub fn parse(&self) -> Result<NewDeal, FieldErrors> {
        let mut errors = FieldErrors::new();
        let program_id = required_id(
            &mut errors,
            "program_id",
            &self.program_id,
            "Required: choose the program the deal belongs to.",
            |_| "Choose a program from the list.".into(),
        );
        let name = required_text(&mut errors, "name", &self.name, 200);
        let kind = if self.kind.trim().is_empty() {
            errors.add("kind", "Required: choose the kind of deal.");
            None
        } else {
            let k = DealKind::parse(&self.kind);
            if k.is_none() {
                errors.add("kind", "Choose a kind of deal from the list.");
            }
            k
        };
        let value = parse_value(&mut errors, &self.value, kind);
        let currency = parse_currency(&mut errors, &self.currency, kind);
        errors.into_result(NewDeal {
            program_id: ProgramId(program_id),
            name,
            kind: kind.unwrap_or(DealKind::Other),
            value,
            currency,
        })
    }
}

fn parse_value(errors: &mut FieldErrors, raw: &str, kind: Option<DealKind>) -> Option<Decimal> {
    let raw = raw.trim();
    let value = if raw.is_empty() {
        None
    } else {
        match raw.parse::<Decimal>() {
            Ok(v) => Some(v),
            Err(_) => {
                errors.add(
                    "value",
                    format!("`{raw}` is not a number; write it like 12.5"),
                );
                return None;
            }
        }
    };
    // With no (valid) kind, only the number itself can be checked.
    let kind = kind?;
    match (kind.value_rule(), value) {
        (ValueRule::Forbidden, Some(_)) => {
            errors.add(
                "value",
                format!(
                    "A {} deal has no value: leave it empty.",
                    kind.label().to_lowercase()
                ),
            );
            None
        }
        (ValueRule::Forbidden, None) | (ValueRule::Optional, None) => None,
        (ValueRule::Required, None) => {
            errors.add(
                "value",
                match kind {
                    DealKind::PercentOff => "Required: the percent off, e.g. 20.",
                    _ => "Required: the amount off, e.g. 10.00.",
                },
            );
            None
        }
        (_, Some(v)) => {
            let problem = match kind {
                DealKind::PercentOff if v <= Decimal::ZERO || v > Decimal::ONE_HUNDRED => {
                    Some("A percent off must be above 0 and at most 100.".to_string())
                }
                DealKind::AmountOff if v <= Decimal::ZERO => {
                    Some("An amount off must be above 0.".to_string())
                }
                _ if v < Decimal::ZERO => Some("Must be at least 0.".to_string()),
                _ if v > max_value() => Some(format!("Must be at most {}.", max_value())),
                _ if v.normalize().scale() > 2 => Some("Use at most 2 decimal places.".to_string()),
                _ => None,
            };
            match problem {
                Some(m) => {
                    errors.add("value", m);
                    None
                }
                None => Some(v),
            }
        }
    }
}

fn parse_currency(errors: &mut FieldErrors, raw: &str, kind: Option<DealKind>) -> Option<String> {
    let currency = raw.trim().to_ascii_uppercase();
    let kind = kind?;
    if !kind.has_currency() {
        if !currency.is_empty() {
            errors.add(
                "currency",
                "Only an amount-off deal has a currency: leave it empty.",
            );
        }
        return None;
    }
    if currency.is_empty() {
        errors.add(
            "currency",
            "Required for an amount off: a three-letter code such as USD.",
        );
        None
    } else if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.add(
            "currency",
            format!(
                "`{}` is not a currency: use a three-letter code such as USD or EUR.",
                raw.trim()
            ),
        );
        None
    } else {
        Some(currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str, value: &str, currency: &str) -> DealForm {
        DealForm {
            program_id: "7".into(),
            name: " Summer sale ".into(),
            kind: kind.into(),
            value: value.into(),
            currency: currency.into(),
        }
    }

    fn error_of(f: DealForm, field: &str) -> String {
        let e = f.parse().expect_err("invalid");
        e.get(field)
            .unwrap_or_else(|| panic!("no error for {field}: {e:?}"))
            .to_string()
    }

    #[test]
    fn a_percent_off_deal_parses() {
        let d = form("PERCENT_OFF", "12.5", "").parse().expect("valid");
        assert_eq!(d.program_id, ProgramId(7));
        assert_eq!(d.name, "Summer sale");
        assert_eq!(d.kind, DealKind::PercentOff);
        assert_eq!(d.value, Some(Decimal::new(125, 1)));
        assert_eq!(d.currency, None);
    }

    #[test]
    fn an_amount_off_needs_a_currency_and_upper_cases_it() {
        let d = form("AMOUNT_OFF", "10", " usd ").parse().expect("valid");
        assert_eq!(d.value, Some(Decimal::new(10, 0)));
        assert_eq!(d.currency.as_deref(), Some("USD"));
        assert!(error_of(form("AMOUNT_OFF", "10", ""), "currency").contains("Required"));
        assert!(error_of(form("AMOUNT_OFF", "10", "US"), "currency").contains("not a currency"));
        assert!(error_of(form("AMOUNT_OFF", "10", "U5D"), "currency").contains("not a currency"));
        assert!(error_of(form("AMOUNT_OFF", "0", "USD"), "value").contains("above 0"));
        assert!(error_of(form("AMOUNT_OFF", "", "USD"), "value").contains("Required"));
        assert!(error_of(form("AMOUNT_OFF", "1.005", "USD"), "value").contains("2 decimal"));
        assert!(error_of(form("AMOUNT_OFF", "1000000000000", "USD"), "value").contains("at most"));
    }

    #[test]
    fn a_percent_off_is_above_0_and_at_most_100() {
        for bad in ["0", "-5", "100.01", "150"] {
            let m = error_of(form("PERCENT_OFF", bad, ""), "value");
            assert_eq!(m, "A percent off must be above 0 and at most 100.", "{bad}");
        }
        assert!(form("PERCENT_OFF", "100", "").parse().is_ok());
        assert!(error_of(form("PERCENT_OFF", "", ""), "value").contains("Required"));
        assert!(error_of(form("PERCENT_OFF", "abc", ""), "value").contains("not a number"));
        assert!(error_of(form("PERCENT_OFF", "20", "USD"), "currency").contains("leave it empty"));
    }

    #[test]
    fn kinds_without_a_value_refuse_one() {
        for (kind, label) in [
            ("FREE_SHIPPING", "free shipping"),
            ("BOGO", "buy one, get one"),
            ("GIFT", "gift with purchase"),
        ] {
            let m = error_of(form(kind, "5", ""), "value");
            assert_eq!(m, format!("A {label} deal has no value: leave it empty."));
            let d = form(kind, " ", "").parse().expect("valid");
            assert_eq!((d.value, d.currency), (None, None));
        }
    }

    #[test]
    fn other_takes_an_optional_value() {
        assert_eq!(form("OTHER", "", "").parse().expect("valid").value, None);
        assert_eq!(
            form("OTHER", "3", "").parse().expect("valid").value,
            Some(Decimal::new(3, 0))
        );
        assert!(error_of(form("OTHER", "-1", ""), "value").contains("at least 0"));
    }

    #[test]
    fn each_bad_field_gets_its_message() {
        let f = DealForm {
            program_id: "first".into(),
            name: "  ".into(),
            kind: "half price".into(),
            value: "x".into(),
            currency: String::new(),
        };
        let e = f.parse().expect_err("invalid");
        for field in ["program_id", "name", "kind", "value"] {
            assert!(e.has(field), "missing error for {field}: {e:?}");
        }
        let e = DealForm::default().parse().expect_err("invalid");
        for field in ["program_id", "name", "kind"] {
            assert!(e.has(field), "missing error for {field}: {e:?}");
        }
        let long = DealForm {
            name: "x".repeat(201),
            ..form("BOGO", "", "")
        };
        assert!(error_of(long, "name").contains("200"));
    }

    #[test]
    fn kinds_round_trip_and_read_well() {
        for k in DealKind::ALL {
            assert_eq!(DealKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(
            DealKind::parse("free shipping"),
            Some(DealKind::FreeShipping)
        );
        assert_eq!(DealKind::parse("half"), None);
        assert_eq!(DealKind::Bogo.label(), "Buy one, get one");
        assert_eq!(
            describe(DealKind::PercentOff, Some(Decimal::new(2000, 2)), None),
            "20% off"
        );
        assert_eq!(
            describe(DealKind::AmountOff, Some(Decimal::new(10, 0)), Some("USD")),
            "10.00 USD off"
        );
        assert_eq!(
            describe(
                DealKind::AmountOff,
                Some(Decimal::new(250000, 2)),
                Some("USD")
            ),
            "2,500.00 USD off"
        );
        assert_eq!(
            describe(
                DealKind::AmountOff,
                Some(Decimal::new(1000, 0)),
                Some("JPY")
            ),
            "1,000 JPY off"
        );
        assert_eq!(
            describe(DealKind::FreeShipping, None, None),
            "Free shipping"
        );
        assert_eq!(describe(DealKind::Other, None, None), "Other");
    }
}
