//! How amounts of money read on every page: thousands separators, the
//! currency's own number of decimals, and the currency code after the
//! amount ("173,405.00 USD", "1,235 JPY", "-12.500 KWD"). The code, not a
//! symbol: "$" would not tell USD from CAD or AUD, and money is never summed
//! across currencies.

use rust_decimal::{Decimal, RoundingStrategy};

/// The decimals of a currency's minor unit (ISO 4217); 2 when unknown.
pub fn minor_units(currency: &str) -> u32 {
    match currency.trim().to_ascii_uppercase().as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// The ISO 4217 codes of currencies money can be in (current, plus the
/// few replaced since 2023 that older systems still send): not the codes of
/// metals (XAU), testing (XTS), "no currency" (XXX) or accounting units
/// (XDR, XB*). Sorted, for the binary search.
const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR",
    "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW",
    "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
    "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
    "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
    "ZWL",
];

/// True for the code of a currency money can be in (ISO 4217), in upper
/// case as stored: "USD", not "usd" or "XYZ".
pub fn is_currency(code: &str) -> bool {
    CURRENCIES.binary_search(&code).is_ok()
}

/// The code as stored (upper case) when `raw` (trimmed, any case) is a
/// currency of [`CURRENCIES`]: what an API client or a file may send.
pub fn currency_code(raw: &str) -> Option<&'static str> {
    let b = raw.trim().as_bytes();
    if b.len() != 3 {
        return None;
    }
    let upper = [
        b[0].to_ascii_uppercase(),
        b[1].to_ascii_uppercase(),
        b[2].to_ascii_uppercase(),
    ];
    CURRENCIES
        .binary_search_by(|c| c.as_bytes().cmp(&upper[..]))
        .ok()
        .map(|i| CURRENCIES[i])
}

/// `amount` with thousands separators and exactly `decimals` decimals,
/// rounded half away from zero: "1,234,567.80".
pub fn format_amount(amount: Decimal, decimals: u32) -> String {
    let rounded = amount.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.*}", decimals as usize, rounded.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_str(), None),
    };
    let mut out = String::with_capacity(text.len() + whole.len() / 3 + 1);
    if negative {
        out.push('-');
    }
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// An amount in a currency: "173,405.00 USD".
pub fn format_money(amount: Decimal, currency: &str) -> String {
    let code = currency.trim().to_ascii_uppercase();
    let number = format_amount(amount, minor_units(&code));
    if code.is_empty() {
        number
    } else {
        format!("{number} {code}")
    }
}

/// A stored amount (a deal's value, a payout): like [`format_amount`] with
/// at least `min_decimals`, but never hiding a decimal the value has.
pub fn format_amount_exact(amount: Decimal, min_decimals: u32) -> String {
    format_amount(amount, min_decimals.max(amount.normalize().scale()))
}

/// A stored amount in a currency: "2,500.00 USD", and "10.5 JPY" rather
/// than a rounded "11 JPY" for a value the currency does not divide so.
pub fn format_money_exact(amount: Decimal, currency: &str) -> String {
    let code = currency.trim().to_ascii_uppercase();
    let number = format_amount_exact(amount, minor_units(&code));
    if code.is_empty() {
        number
    } else {
        format!("{number} {code}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes_are_read_in_any_case() {
        assert!(
            CURRENCIES.windows(2).all(|w| w[0] < w[1]),
            "sorted, no repeats"
        );
        for (raw, code) in [
            ("USD", "USD"),
            ("usd", "USD"),
            (" eur ", "EUR"),
            ("ZWG", "ZWG"),
        ] {
            assert_eq!(currency_code(raw), Some(code), "{raw}");
        }
        for bad in ["", "US", "USDD", "XYZ", "XAU", "XXX", "ÉUR", "U D"] {
            assert_eq!(currency_code(bad), None, "{bad}");
        }
    }
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn currencies_are_iso_4217_codes_in_upper_case() {
        assert!(CURRENCIES.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
        assert!(CURRENCIES
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
        for c in ["USD", "EUR", "JPY", "KWD", "CLF", "XOF", "AED", "ZWL"] {
            assert!(is_currency(c), "{c}");
        }
        for c in [
            "usd", "XYZ", "ABC", "XAU", "XTS", "XXX", "US", "USDD", "", " USD",
        ] {
            assert!(!is_currency(c), "{c}");
        }
        // Every currency with other decimals than 2 is known.
        for c in ["JPY", "KRW", "BHD", "KWD", "CLF", "UYW", "XPF"] {
            assert!(is_currency(c) && minor_units(c) != 2, "{c}");
        }
    }

    #[test]
    fn thousands_and_two_decimals() {
        assert_eq!(format_money(d("173405"), "USD"), "173,405.00 USD");
        assert_eq!(format_money(d("173405.5"), "usd"), "173,405.50 USD");
        assert_eq!(format_money(d("999.999"), "EUR"), "1,000.00 EUR");
        assert_eq!(
            format_money(d("1.005"), "EUR"),
            "1.01 EUR",
            "half away from zero"
        );
        assert_eq!(format_money(d("12"), "GBP"), "12.00 GBP");
        assert_eq!(format_money(d("100"), "EUR"), "100.00 EUR");
        assert_eq!(format_money(d("1000"), "EUR"), "1,000.00 EUR");
    }

    #[test]
    fn zero_and_negative() {
        assert_eq!(format_money(Decimal::ZERO, "USD"), "0.00 USD");
        assert_eq!(
            format_money(d("-0.001"), "USD"),
            "0.00 USD",
            "no minus zero"
        );
        assert_eq!(format_money(d("-1234.5"), "USD"), "-1,234.50 USD");
        assert_eq!(format_money(d("-0.5"), "JPY"), "-1 JPY");
    }

    #[test]
    fn large_amounts() {
        assert_eq!(
            format_money(d("1234567890123.45"), "USD"),
            "1,234,567,890,123.45 USD"
        );
        assert_eq!(
            format_money(d("-79228162514264337593543950335"), "JPY"),
            "-79,228,162,514,264,337,593,543,950,335 JPY"
        );
    }

    #[test]
    fn each_currency_has_its_decimals() {
        assert_eq!(format_money(d("1234.5"), "JPY"), "1,235 JPY");
        assert_eq!(format_money(d("1234.5"), "KRW"), "1,235 KRW");
        assert_eq!(format_money(d("1234.5"), "KWD"), "1,234.500 KWD");
        assert_eq!(format_money(d("0.0005"), "BHD"), "0.001 BHD");
        assert_eq!(format_money(d("1.23456"), "CLF"), "1.2346 CLF");
        assert_eq!(format_money(d("5"), "XYZ"), "5.00 XYZ", "unknown: 2");
        assert_eq!(format_money(d("5"), ""), "5.00");
    }

    #[test]
    fn stored_amounts_keep_their_decimals() {
        assert_eq!(format_money_exact(d("2500"), "USD"), "2,500.00 USD");
        assert_eq!(format_money_exact(d("10.50"), "JPY"), "10.5 JPY");
        assert_eq!(format_money_exact(d("1000.00"), "JPY"), "1,000 JPY");
        assert_eq!(format_money_exact(d("1.5"), "KWD"), "1.500 KWD");
        assert_eq!(format_amount_exact(d("0.125"), 2), "0.125");
        assert_eq!(format_amount_exact(d("5"), 2), "5.00");
    }

    #[test]
    fn amounts_without_a_currency() {
        assert_eq!(format_amount(d("2500"), 2), "2,500.00");
        assert_eq!(format_amount(d("7.5"), 0), "8");
        assert_eq!(format_amount(d("-999999.995"), 2), "-1,000,000.00");
    }
}
