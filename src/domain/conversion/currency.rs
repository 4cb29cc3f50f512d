//! The currencies a conversion may be in: ISO 4217's current codes of money (list one, as of
//! 2025), with the codes of recent replacements on both sides of the change (`ANG`/`XCG`,
//! `SLL`/`SLE`, `VES`/`VED`, `ZWL`/`ZWG`), since integrations are updated late. Left out: codes
//! that are not money one sells in (precious metals `XAU` `XAG` `XPD` `XPT`, bond units
//! `XBA`–`XBD`, `XDR` `XSU` `XUA`, testing `XTS`, "no currency" `XXX`) and withdrawn codes
//! (`HRK`, `VEF`, `MRO`, `STD`, `BYR`, `LTL`, `LVL`, `EEK`, …).

/// Sorted, for a binary search.
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS",
    "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
    "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY",
    "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
];

/// The code as stored (upper case) when `raw` (trimmed, any case) is a currency of
/// [`CODES`].
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
    CODES
        .binary_search_by(|c| c.as_bytes().cmp(&upper[..]))
        .ok()
        .map(|i| CODES[i])
}

/// True when `raw` is a currency code conversions may use.
pub fn is_currency(raw: &str) -> bool {
    currency_code(raw).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_known_codes_are_found() {
        assert!(CODES.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(CODES
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
        for (raw, code) in [
            ("USD", "USD"),
            ("usd", "USD"),
            (" eur ", "EUR"),
            ("JPY", "JPY"),
            ("ZWG", "ZWG"),
        ] {
            assert_eq!(currency_code(raw), Some(code), "{raw}");
        }
        for bad in ["", "US", "USDD", "XYZ", "XAU", "XXX", "HRK", "ÉUR", "U D"] {
            assert_eq!(currency_code(bad), None, "{bad}");
        }
        // Every currency whose decimals money.rs knows is accepted here too.
        for c in [
            "BIF", "CLP", "KRW", "VND", "XAF", "BHD", "KWD", "TND", "CLF", "UYW",
        ] {
            assert!(is_currency(c), "{c}");
        }
    }
}
