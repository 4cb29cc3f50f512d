//! Property tests of the Conversions API request parser: it never panics, its results keep
//! their invariants, every encoding of the same fields reads the same, and its JSON, amount
//! and date readers agree with serde_json, rust_decimal and chrono.

use super::json::{parse_object, JsonValue};
use super::tests::{now, ny};
use super::*;
use chrono::{FixedOffset, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::America::New_York;
use proptest::prelude::*;
use std::fmt::Write as _;
use std::str::FromStr;

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    Some("multipart/form-data; boundary=x"),
    Some(""),
    Some(";;;"),
    Some("\u{0}\u{ff}"),
];

const NAMES: &[&str] = &[
    "CampaignId",
    "OrderId",
    "Oid",
    "EventDate",
    "OrderPromoCode",
    "PromoCode",
    "ClickId",
    "CustomerId",
    "CustomerStatus",
    "CurrencyCode",
    "Currency",
    "EventTypeId",
    "ActionTrackerId",
    "EventTypeCode",
    "OrderSubTotalPostDiscount",
    "OrderDiscount",
    "Amount",
    "ItemSku",
    "ItemCategory",
    "ItemName",
    "ItemQuantity",
    "ItemPrice",
    "ItemSubTotal",
    "ItemPromoCode",
    "Sku",
    "Category",
    "Quantity",
    "IpAddress",
    "items",
    "",
];

const VALUES: &[&str] = &[
    "",
    " ",
    "1000",
    "0",
    "-1",
    "1.5",
    "19.99",
    "19.999",
    "-0.00",
    "1e2",
    "1e-7",
    "1e999",
    "999999999999.995",
    "1000000000000",
    "NOW",
    "now",
    "2026-07-01T10:00:00Z",
    "2026-07-01T10:00:00",
    "2026-03-08T02:30:00",
    "2026-11-01T01:30:00",
    "2026-02-30",
    "2026-07-01T10:00:00+25:00",
    "21-Oct-2015 18:25:59 HKT",
    "IR_AN_64_TS",
    "New",
    "RETURNING",
    "usd",
    "EUR",
    "XYZ",
    "A,B,,A",
    ",",
    "é",
    "\u{0}",
    "a\nb",
    "%",
    "+",
    "&",
    "=",
    "{",
    "[1]",
    "x",
    "SUMMER10",
];

/// A field name: a known one (random ASCII case, maybe with a line number) or anything.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (prop::sample::select(NAMES), prop::option::of(0u32..1_005), any::<u64>()).prop_map(
            |(n, index, case)| {
                let mut s: String = n
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if case >> (i % 64) & 1 == 1 {
                            c.to_ascii_lowercase()
                        } else {
                            c
                        }
                    })
                    .collect();
                if let Some(i) = index {
                    write!(s, "{i}").unwrap();
                }
                s
            }
        ),
        1 => ".{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(VALUES).prop_map(str::to_owned),
        1 => "[0-9.eE+-]{0,16}",
        1 => ".{0,70}",
    ]
}

/// Fields near the vocabulary; half of the time after valid required fields, so that many
/// cases get past them.
fn fields() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        any::<bool>(),
        prop::collection::vec((name(), value()), 0..10),
    )
        .prop_map(|(base, more)| {
            let mut v = Vec::new();
            if base {
                for (n, x) in [
                    ("CampaignId", "1000"),
                    ("OrderId", "A1"),
                    ("EventDate", "NOW"),
                ] {
                    v.push((n.to_owned(), x.to_owned()));
                }
            }
            v.extend(more);
            v
        })
}

/// Form encoding of every byte but unreserved ones.
fn form_encode(fields: &[(String, String)]) -> String {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(b as char);
            } else {
                write!(out, "%{b:02X}").unwrap();
            }
        }
        out
    };
    fields
        .iter()
        .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A JSON object of string values (repeated names kept).
fn json_encode(fields: &[(String, String)]) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(n, v)| {
            format!(
                "{}:{}",
                serde_json::to_string(n).unwrap(),
                serde_json::to_string(v).unwrap()
            )
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

fn no_control(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// What every result must satisfy.
fn check(r: &Result<ConversionInput, Vec<FieldError>>) -> Result<(), TestCaseError> {
    match r {
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            for e in errors {
                prop_assert!(no_control(&e.field) && no_control(&e.message), "{e:?}");
                prop_assert!(!e.message.is_empty());
            }
        }
        Ok(c) => {
            prop_assert!(c.campaign_id.0 > 0);
            if let OrderRef::Given(id) = &c.order_id {
                prop_assert!(!id.is_empty() && id.chars().count() <= MAX_ORDER_ID_CHARS);
                prop_assert_eq!(id.trim(), id.as_str());
            }
            prop_assert!(c.sale_amount >= Decimal::ZERO && c.sale_amount < AMOUNT_LIMIT);
            prop_assert_eq!(c.sale_amount.scale(), 2);
            prop_assert!(c.discount >= Decimal::ZERO && c.discount < AMOUNT_LIMIT);
            prop_assert!(c.entered_codes.len() <= MAX_CODES);
            for (i, code) in c.entered_codes.iter().enumerate() {
                prop_assert!(!code.is_empty() && code.trim() == code && !code.contains(','));
                prop_assert!(!c.entered_codes[..i].contains(code), "no repeats");
            }
            prop_assert!(c.items.windows(2).all(|w| w[0].line < w[1].line));
            prop_assert!(c.items.iter().all(|i| (1..=MAX_ITEMS).contains(&i.line)));
            prop_assert!(c.items.iter().all(|i| i.subtotal >= Decimal::ZERO));
            prop_assert!(currency_code(&c.currency).is_some() || c.currency == "USD");
            prop_assert!(c.click_id.as_ref().is_none_or(|s| s.chars().count() <= 64));
            if c.sale_amount_from == SaleAmountFrom::Nothing {
                prop_assert!(c.sale_amount.is_zero());
            }
            let texts = c
                .payload
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| p.as_array().unwrap());
            for t in texts {
                prop_assert!(
                    t.as_str().is_none_or(|t| !t.contains('\0')),
                    "no NUL (PostgreSQL refuses it)"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Any bytes, any content type, any query string: an error or a conversion, never a panic.
    #[test]
    fn never_panics_on_arbitrary_bytes(
        ct in prop::sample::select(CONTENT_TYPES),
        body in prop::collection::vec(any::<u8>(), 0..300),
        query in ".{0,80}",
    ) {
        match RawFields::from_request(ct, &body, &query) {
            Err(e) => prop_assert!(no_control(&e.field) && no_control(&e.message)),
            Ok(f) => {
                let _ = f.campaign_id();
                let _ = f.payload();
                check(&f.parse(&ny(), now()))?;
                let _ = f.errors_without_program(now());
            }
        }
    }

    /// Bodies that look like requests (JSON-ish or form-ish text) reach deeper code.
    #[test]
    fn never_panics_on_request_like_text(
        ct in prop::sample::select(CONTENT_TYPES),
        body in prop_oneof![
            "[{}\\[\\]\":,0-9.eE+\\- tfnul\\\\aA]{0,60}",
            "\\{\"(CampaignId|OrderId|EventDate|ItemPrice1)\":[\"0-9a-z.:TZ\\-{}\\[\\],]{0,40}\\}",
            "[A-Za-z0-9=&%+.:\\-]{0,80}",
        ],
    ) {
        if let Ok(f) = RawFields::from_request(ct, body.as_bytes(), "") {
            check(&f.parse(&ny(), now()))?;
        }
    }

    /// Fields near the vocabulary, form-encoded: the result keeps its invariants; the same
    /// fields as a JSON object of strings, as a JSON object labelled form, and in the query
    /// string read exactly the same.
    #[test]
    fn every_encoding_of_the_same_fields_reads_the_same(fields in fields()) {
        let form_body = form_encode(&fields);
        let json_body = json_encode(&fields);
        let parse = |ct: Option<&str>, body: &str, query: &str| {
            RawFields::from_request(ct, body.as_bytes(), query)
                .map_err(|e| vec![e])
                .and_then(|f| f.parse(&ny(), now()))
        };
        let as_form = parse(Some("application/x-www-form-urlencoded"), &form_body, "");
        check(&as_form)?;
        let as_json = parse(Some("application/json"), &json_body, "");
        prop_assert_eq!(&as_form, &as_json);
        let as_labelled = parse(Some("application/x-www-form-urlencoded"), &json_body, "");
        prop_assert_eq!(&as_form, &as_labelled);
        let as_query = parse(None, "", &form_body);
        prop_assert_eq!(&as_form, &as_query);
    }

    /// Valid JSON objects (serde_json's own rendering) read back member by member.
    #[test]
    fn the_json_reader_reads_what_serde_json_writes(
        v in json_object(),
        pretty in any::<bool>(),
    ) {
        let text = if pretty {
            serde_json::to_string_pretty(&v).unwrap()
        } else {
            serde_json::to_string(&v).unwrap()
        };
        let members = parse_object(&text).map_err(|e| TestCaseError::fail(format!("{e:?}: {text}")))?;
        let serde_json::Value::Object(map) = &v else { unreachable!() };
        prop_assert_eq!(members.len(), map.len());
        for ((name, got), (want_name, want)) in members.iter().zip(map) {
            prop_assert_eq!(name.as_ref(), want_name.as_str());
            match (got, want) {
                (JsonValue::Str(s), serde_json::Value::String(w)) => prop_assert_eq!(s.as_ref(), w.as_str()),
                // The text serde_json wrote (serde_json's own float reading is not always
                // correctly rounded, which is why numbers are kept as text).
                (JsonValue::Number(n), serde_json::Value::Number(w)) => {
                    prop_assert_eq!(n.to_string(), w.to_string());
                }
                (JsonValue::Bool(b), serde_json::Value::Bool(w)) => prop_assert_eq!(b, w),
                (JsonValue::Null, serde_json::Value::Null) => {}
                (JsonValue::Nested(raw), w) => {
                    prop_assert!(w.is_object() || w.is_array());
                    let reread = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
                    prop_assert_eq!(reread(raw), reread(&serde_json::to_string(w).unwrap()));
                }
                (g, w) => prop_assert!(false, "{g:?} for {w:?}"),
            }
        }
    }

    /// On arbitrary JSON-like text, the reader accepts exactly what serde_json accepts as an
    /// object (but for numbers beyond f64, which serde_json refuses and which are read as text
    /// here), and reads the same strings.
    #[test]
    fn the_json_reader_accepts_what_serde_json_accepts(
        text in prop_oneof![
            "\\{[{}\\[\\]\":,0-9.eE+\\- \\ntfnul\\\\ud8ca]{0,40}",
            "\\{\"[a-z\\\\\"]{0,6}\":[\"0-9a-z.\\-\\\\{}\\[\\],u]{0,24}\\}",
        ],
    ) {
        let ours = parse_object(&text);
        let theirs = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text);
        match (&ours, &theirs) {
            (Ok(_), Err(e)) => prop_assert!(
                e.to_string().contains("out of range"),
                "accepted {text:?}, serde_json: {e}"
            ),
            (Err(e), Ok(_)) => prop_assert!(false, "refused {text:?}: {e:?}"),
            (Ok(members), Ok(map)) => {
                for (name, v) in members {
                    if let JsonValue::Str(s) = v {
                        // The last member of a name is serde_json's.
                        let last = members.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v);
                        if last == Some(v) {
                            prop_assert_eq!(map.get(name.as_ref()).and_then(|v| v.as_str()), Some(s.as_ref()));
                        }
                    }
                }
            }
            (Err(_), Err(_)) => {}
        }
    }

    /// Plain decimals read exactly as rust_decimal reads them; money is their cents.
    #[test]
    fn amounts_read_as_rust_decimal_reads_them(
        int in 0u64..1_000_000_000_000,
        frac in prop::option::of("[0-9]{1,12}"),
        exponent in prop::option::of(-20i32..12),
    ) {
        let text = match &frac {
            Some(f) => format!("{int}.{f}"),
            None => int.to_string(),
        };
        let want = Decimal::from_str(&text).unwrap();
        prop_assert_eq!(parse_amount(&text), Ok(want));
        prop_assert_eq!(
            parse_money(&text),
            Ok(want.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
                .map(|mut m| { m.rescale(2); m })
                .and_then(|m| if m < AMOUNT_LIMIT { Ok(m) } else { Err(AmountError::TooLarge) })
        );
        if let Some(e) = exponent {
            let sci = format!("{text}e{e}");
            let scaled = Decimal::from_scientific(&sci);
            match (parse_amount(&sci), scaled) {
                (Ok(got), Ok(w)) => prop_assert_eq!(got, w),
                (Err(AmountError::TooLarge), Ok(w)) => prop_assert!(w >= AMOUNT_LIMIT),
                (Err(AmountError::TooLarge), Err(_)) => {}
                // Beyond rust_decimal's 28 decimals: kept to 28 here (refused there).
                (Ok(_), Err(_)) if frac.as_ref().map_or(0, String::len) as i32 - e > 28 => {}
                (got, w) => prop_assert!(false, "{sci}: {got:?} vs {w:?}"),
            }
        }
    }

    /// Any instant written with any offset (and any fraction) reads back as that instant; a
    /// zone-less time reads as the New York wall clock it says (the earlier of two, and
    /// refused only in the spring-forward gap).
    #[test]
    fn dates_read_back(
        seconds in 0i64..4_102_444_800,
        nanos in 0u32..1_000_000_000,
        offset_minutes in -14 * 60i32..=14 * 60,
        fraction_digits in 0usize..=9,
    ) {
        let t = DateTime::from_timestamp(seconds, nanos).unwrap();
        let t = t - TimeDelta::nanoseconds(i64::from(t.timestamp_subsec_nanos() % 10u32.pow(9 - fraction_digits as u32)));
        let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
        let mut text = t.with_timezone(&offset).format("%Y-%m-%dT%H:%M:%S").to_string();
        if fraction_digits > 0 {
            let f = format!("{:09}", t.timestamp_subsec_nanos());
            write!(text, ".{}", &f[..fraction_digits]).unwrap();
        }
        let zoneless = text.clone();
        write!(text, "{}", offset).unwrap();
        prop_assert_eq!(parse_event_date(&text, New_York, now()), Ok((t, true)));

        let wall = NaiveDateTime::parse_from_str(&zoneless, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
        match parse_event_date(&zoneless, New_York, now()) {
            Ok((got, false)) => {
                prop_assert_eq!(got.with_timezone(&New_York).naive_local(), wall);
                prop_assert_eq!(Some(got), New_York.from_local_datetime(&wall).earliest().map(|d| d.with_timezone(&Utc)));
            }
            Ok(other) => prop_assert!(false, "{other:?}"),
            Err(e) => {
                prop_assert!(New_York.from_local_datetime(&wall).earliest().is_none(), "{zoneless}: {e}");
                prop_assert!(e.contains("does not exist in America/New_York"));
            }
        }
    }
}

/// JSON objects of small depth with every kind of value.
fn json_object() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| n.into()),
        any::<u64>().prop_map(|n| n.into()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.into()),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map(".{0,8}", value, 0..8)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
}
