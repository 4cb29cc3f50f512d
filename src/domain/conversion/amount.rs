//! Amounts and quantities as sent: exact decimals, never through `f64`.
//!
//! Read: optional `-`, digits with an optional `.` and decimals (`19.99`, `5`, `5.`, `.5`),
//! and an optional exponent (`1.5e3`, `1E-7`: what JSON serialisers write for very large or
//! very small floats). Not read: thousands separators, a decimal comma, currency signs, `+`,
//! `NaN`, `Infinity`. A value is kept to 28 significant digits (further digits, below
//! 10^-15 of an amount under 10^12, are dropped; they cannot change its cents).

use rust_decimal::{Decimal, RoundingStrategy};

/// Amounts must stay below this (the columns are `NUMERIC(14, 2)`).
pub const AMOUNT_LIMIT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0); // 10^12

/// Why an amount or quantity was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    Malformed,
    Negative,
    /// At or above [`AMOUNT_LIMIT`] (or the quantity limit).
    TooLarge,
}

/// Parses an amount's text exactly (not rounded): never negative, below [`AMOUNT_LIMIT`]. A
/// negative zero (`-0.00`, what `toFixed(2)` makes of a tiny negative float) is zero.
pub fn parse_amount(raw: &str) -> Result<Decimal, AmountError> {
    let v = parse_decimal(raw.trim())?;
    if v >= AMOUNT_LIMIT {
        Err(AmountError::TooLarge)
    } else {
        Ok(v)
    }
}

/// Rounds to cents, half away from zero (`19.995 -> 20.00`), as the columns store it; the
/// result has exactly two decimals (`5 -> 5.00`).
pub fn to_cents(v: Decimal) -> Decimal {
    let mut c = v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    c.rescale(2);
    c
}

/// [`parse_amount`] then [`to_cents`], checking the limit again after rounding
/// (`999999999999.995` rounds up to the limit).
pub fn parse_money(raw: &str) -> Result<Decimal, AmountError> {
    let v = to_cents(parse_amount(raw)?);
    if v >= AMOUNT_LIMIT {
        Err(AmountError::TooLarge)
    } else {
        Ok(v)
    }
}

/// The most items one line may count.
pub const MAX_QUANTITY: u32 = 1_000_000_000;

/// A whole number of items, 0 to [`MAX_QUANTITY`]; `2.0` and `2e0` are 2.
pub fn parse_quantity(raw: &str) -> Result<u32, AmountError> {
    let v = parse_decimal(raw.trim())?;
    if !v.fract().is_zero() {
        return Err(AmountError::Malformed);
    }
    if v > Decimal::from(MAX_QUANTITY) {
        return Err(AmountError::TooLarge);
    }
    u32::try_from(v.mantissa() / 10i128.pow(v.scale())).map_err(|_| AmountError::TooLarge)
}

/// At most this many integer digits are read before the value is called too large (any
/// amount or quantity allowed has fewer).
const MAX_INTEGER_DIGITS: i64 = 13;
const MAX_SIGNIFICANT: usize = 28;

fn parse_decimal(s: &str) -> Result<Decimal, AmountError> {
    let b = s.as_bytes();
    let mut i = 0;
    let negative = b.first() == Some(&b'-');
    if negative {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_digits = &b[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        frac_digits = &b[start..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(AmountError::Malformed);
    }
    let mut exponent: i64 = 0;
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let exp_negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            // Clamped: beyond this any non-zero value is out of range either way.
            exponent = (exponent * 10 + i64::from(b[i] - b'0')).min(100_000);
            i += 1;
        }
        if i == start {
            return Err(AmountError::Malformed);
        }
        if exp_negative {
            exponent = -exponent;
        }
    }
    if i != b.len() {
        return Err(AmountError::Malformed);
    }
    // value = digits × 10^-(scale), digits = int ++ frac without leading zeros.
    let all = int_digits.iter().chain(frac_digits).copied();
    let leading_zeros = all.clone().take_while(|&c| c == b'0').count();
    let significant: Vec<u8> = all.skip(leading_zeros).collect();
    if significant.is_empty() {
        return Ok(Decimal::ZERO);
    }
    if negative {
        return Err(AmountError::Negative);
    }
    let mut scale = frac_digits.len() as i64 - exponent;
    if significant.len() as i64 - scale > MAX_INTEGER_DIGITS {
        return Err(AmountError::TooLarge);
    }
    // Keep at most 28 significant digits and a scale of at most 28 (drop the rest).
    let mut keep = significant.len().min(MAX_SIGNIFICANT);
    if scale - (significant.len() - keep) as i64 > 28 {
        let drop = scale - 28;
        keep = keep.min((significant.len() as i64 - drop).max(0) as usize);
    }
    scale -= (significant.len() - keep) as i64;
    if keep == 0 {
        return Ok(Decimal::ZERO);
    }
    let mut mantissa: i128 = significant[..keep]
        .iter()
        .fold(0, |m, &c| m * 10 + i128::from(c - b'0'));
    while scale < 0 {
        mantissa *= 10;
        scale += 1;
    }
    let scale = u32::try_from(scale).map_err(|_| AmountError::Malformed)?;
    Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| AmountError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn the_limit_is_ten_to_the_twelfth() {
        assert_eq!(AMOUNT_LIMIT, Decimal::from(1_000_000_000_000i64));
    }

    #[test]
    fn reads_amounts_exactly() {
        let ok: &[(&str, &str)] = &[
            ("19.99", "19.99"),
            ("19.990", "19.990"),
            (" 5 ", "5"),
            ("5.", "5"),
            (".5", "0.5"),
            ("0", "0"),
            ("-0", "0"),
            ("-0.00", "0"),
            ("000123.4500", "123.45"),
            ("1.5e3", "1500"),
            ("1.5E+3", "1500"),
            ("15e-1", "1.5"),
            ("1e-7", "0.0000001"),
            ("1e-100000000", "0"),
            ("0e99999999", "0"),
            ("999999999999.99", "999999999999.99"),
            (
                "0.1234567890123456789012345678901234",
                "0.1234567890123456789012345678",
            ),
            (
                "12.000000000000000000000000000000000001",
                "12.000000000000000000000000000",
            ),
        ];
        for (raw, want) in ok {
            assert_eq!(parse_amount(raw), Ok(d(want)), "{raw}");
        }
        let bad: &[(&str, AmountError)] = &[
            ("", AmountError::Malformed),
            ("-", AmountError::Malformed),
            (".", AmountError::Malformed),
            ("1,000.00", AmountError::Malformed),
            ("19,99", AmountError::Malformed),
            ("$5", AmountError::Malformed),
            ("+5", AmountError::Malformed),
            ("5 USD", AmountError::Malformed),
            ("1e", AmountError::Malformed),
            ("1e+", AmountError::Malformed),
            ("NaN", AmountError::Malformed),
            ("Infinity", AmountError::Malformed),
            ("0x10", AmountError::Malformed),
            ("1..2", AmountError::Malformed),
            ("-5", AmountError::Negative),
            ("-0.01", AmountError::Negative),
            ("1000000000000", AmountError::TooLarge),
            ("1e12", AmountError::TooLarge),
            ("1e99999999999", AmountError::TooLarge),
            ("99999999999999999999999999999999999", AmountError::TooLarge),
        ];
        for (raw, want) in bad {
            assert_eq!(parse_amount(raw), Err(*want), "{raw}");
        }
    }

    #[test]
    fn money_is_rounded_to_cents_half_away_from_zero() {
        assert_eq!(parse_money("19.999"), Ok(d("20.00")));
        assert_eq!(parse_money("0.005"), Ok(d("0.01")));
        assert_eq!(parse_money("0.0049999"), Ok(d("0.00")));
        assert_eq!(parse_money("2.675"), Ok(d("2.68")), "not 2.67 as via f64");
        assert_eq!(parse_money("0.30000000000000004"), Ok(d("0.30")));
        assert_eq!(parse_money("999999999999.995"), Err(AmountError::TooLarge));
        assert_eq!(parse_money("999999999999.994"), Ok(d("999999999999.99")));
    }

    #[test]
    fn quantities_are_whole_numbers() {
        assert_eq!(parse_quantity("2"), Ok(2));
        assert_eq!(parse_quantity("2.0"), Ok(2));
        assert_eq!(parse_quantity("2e0"), Ok(2));
        assert_eq!(parse_quantity("0"), Ok(0));
        assert_eq!(parse_quantity("1000000000"), Ok(MAX_QUANTITY));
        assert_eq!(parse_quantity("1000000001"), Err(AmountError::TooLarge));
        assert_eq!(parse_quantity("1.5"), Err(AmountError::Malformed));
        assert_eq!(parse_quantity("-1"), Err(AmountError::Negative));
        assert_eq!(parse_quantity("two"), Err(AmountError::Malformed));
    }
}
