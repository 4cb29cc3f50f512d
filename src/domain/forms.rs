//! Field-level validation errors shared by every form.

use std::collections::BTreeMap;

/// Messages keyed by form field name; a form re-renders them beside each field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }
    /// `Ok(v)` when no error was recorded.
    pub fn into_result<T>(self, v: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(v)
        } else {
            Err(self)
        }
    }
}

/// Parses an optional decimal field: empty is `None`.
pub fn optional_decimal(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    min: rust_decimal::Decimal,
    max: Option<rust_decimal::Decimal>,
) -> Option<rust_decimal::Decimal> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<rust_decimal::Decimal>() {
        Ok(v) if v < min => {
            errors.add(field, format!("Must be at least {min}."));
            None
        }
        Ok(v) if max.is_some_and(|m| v > m) => {
            errors.add(
                field,
                format!("Must be at most {}.", max.unwrap_or_default()),
            );
            None
        }
        Ok(v) if v.scale() > 4 => {
            errors.add(field, "Use at most 4 decimal places.");
            None
        }
        Ok(v) => Some(v),
        Err(_) => {
            errors.add(
                field,
                format!("`{raw}` is not a number; write it like 12.5"),
            );
            None
        }
    }
}

/// Trims a required text field, checking its length.
pub fn required_text(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    max: usize,
) -> String {
    let v = raw.trim();
    if v.is_empty() {
        errors.add(field, "Required.");
    } else if v.chars().count() > max {
        errors.add(field, format!("At most {max} characters."));
    }
    v.to_string()
}

/// Parses a required id field (a whole number above 0): an empty field is
/// refused with `missing`, any other value that is not an id with what
/// `invalid` says of it. A refused field gives 0.
pub fn required_id(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    missing: &str,
    invalid: impl FnOnce(&str) -> String,
) -> i64 {
    let raw = raw.trim();
    match raw.parse::<i64>() {
        Ok(v) if v > 0 => v,
        _ if raw.is_empty() => {
            errors.add(field, missing);
            0
        }
        _ => {
            errors.add(field, invalid(raw));
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn decimals_parse_with_bounds() {
        let mut e = FieldErrors::new();
        assert_eq!(
            optional_decimal(&mut e, "p", " ", Decimal::ZERO, None),
            None
        );
        assert_eq!(
            optional_decimal(&mut e, "p", "12.5", Decimal::ZERO, None),
            Some(Decimal::new(125, 1))
        );
        assert!(e.is_empty());
        assert_eq!(
            optional_decimal(&mut e, "p", "-1", Decimal::ZERO, None),
            None
        );
        assert!(e.get("p").is_some_and(|m| m.contains("at least")));
        let mut e = FieldErrors::new();
        optional_decimal(&mut e, "q", "abc", Decimal::ZERO, None);
        assert!(e.get("q").is_some_and(|m| m.contains("not a number")));
        let mut e = FieldErrors::new();
        optional_decimal(
            &mut e,
            "q",
            "101",
            Decimal::ZERO,
            Some(Decimal::ONE_HUNDRED),
        );
        assert!(e.get("q").is_some_and(|m| m.contains("at most 100")));
    }

    #[test]
    fn ids_are_whole_numbers_above_zero() {
        let invalid = |raw: &str| format!("`{raw}` is not an id.");
        let mut e = FieldErrors::new();
        assert_eq!(required_id(&mut e, "id", " 42 ", "Required.", invalid), 42);
        assert!(e.is_empty());
        assert_eq!(required_id(&mut e, "id", "  ", "Required.", invalid), 0);
        assert_eq!(e.get("id"), Some("Required."));
        for bad in ["0", "-3", "4.5", "x"] {
            let mut e = FieldErrors::new();
            assert_eq!(required_id(&mut e, "id", bad, "Required.", invalid), 0);
            assert_eq!(e.get("id"), Some(format!("`{bad}` is not an id.").as_str()));
        }
    }

    #[test]
    fn first_error_per_field_wins() {
        let mut e = FieldErrors::new();
        e.add("a", "one");
        e.add("a", "two");
        assert_eq!(e.get("a"), Some("one"));
        assert!(e.clone().into_result(()).is_err());
        assert!(FieldErrors::new().into_result(1).is_ok());
    }
}
