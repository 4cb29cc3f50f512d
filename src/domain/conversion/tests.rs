//! Table-driven tests of the Conversions API request parser.

use super::*;
use chrono::TimeZone;
use chrono_tz::America::New_York;
use std::str::FromStr;

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json");
/// The three required fields, form-encoded.
const BASE: &str = "CampaignId=1000&OrderId=A1&EventDate=2026-07-01T10:00:00Z";

pub(super) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap()
}

pub(super) fn ny() -> ProgramDefaults<'static> {
    ProgramDefaults {
        time_zone: New_York,
        currency: "USD",
    }
}

fn req(
    content_type: Option<&str>,
    body: &str,
    query: &str,
) -> Result<ConversionInput, Vec<FieldError>> {
    RawFields::from_request(content_type, body.as_bytes(), query)
        .map_err(|e| vec![e])?
        .parse(&ny(), now())
}

fn form(body: &str) -> Result<ConversionInput, Vec<FieldError>> {
    req(FORM, body, "")
}

#[track_caller]
fn ok(r: Result<ConversionInput, Vec<FieldError>>) -> ConversionInput {
    match r {
        Ok(c) => c,
        Err(e) => panic!("expected a conversion, got {e:#?}"),
    }
}

#[track_caller]
fn errors(r: Result<ConversionInput, Vec<FieldError>>) -> Vec<FieldError> {
    match r {
        Ok(c) => panic!("expected errors, got {c:#?}"),
        Err(e) => e,
    }
}

/// `[name, value]` pairs of a payload.
fn pairs(payload: &serde_json::Value) -> Vec<(String, Option<String>)> {
    payload
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = p.as_array().unwrap();
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().map(str::to_owned),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Encodings

#[test]
#[rustfmt::skip]
fn every_encoding_gives_the_same_conversion() {
    let form_body = "CampaignId=1000&OrderId=A%2F1&EventDate=2026-07-01T10%3A00%3A00-04%3A00\
                     &OrderPromoCode=SUMMER10&ItemPrice1=19.99&ItemQuantity1=2&ItemSku1=S+1";
    let json_numbers = r#"{"CampaignId":1000,"OrderId":"A/1","EventDate":"2026-07-01T10:00:00-04:00",
        "OrderPromoCode":"SUMMER10","ItemPrice1":19.99,"ItemQuantity1":2,"ItemSku1":"S 1"}"#;
    let json_strings = r#"{"CampaignId":"1000","OrderId":"A\/1","EventDate":"2026-07-01T10:00:00-04:00",
        "OrderPromoCode":"SUMMER10","ItemPrice1":"19.99","ItemQuantity1":"2","ItemSku1":"S\u00201"}"#;
    let bom = format!("\u{feff} \n{json_numbers}\n");
    let leading_mark = format!("?{form_body}");
    let cases: &[(&str, Option<&str>, &str, &str)] = &[
        ("form", FORM, form_body, ""),
        ("form with a charset", Some("application/x-www-form-urlencoded; charset=UTF-8"), form_body, ""),
        ("JSON with numbers", JSON, json_numbers, ""),
        ("JSON with strings", JSON, json_strings, ""),
        ("JSON with a charset", Some("Application/JSON; charset=utf-8"), json_numbers, ""),
        ("JSON labelled form-encoded", FORM, json_strings, ""),
        ("JSON without a content type", None, json_numbers, ""),
        ("JSON as text/plain", Some("text/plain"), json_numbers, ""),
        ("JSON after a byte order mark and whitespace", JSON, &bom, ""),
        ("form labelled JSON", JSON, form_body, ""),
        ("form without a content type", None, form_body, ""),
        ("query string only", None, "", form_body),
        ("query string with a leading ?", FORM, "", &leading_mark),
        ("query string, whitespace body", FORM, " \r\n", form_body),
        ("body and query string", FORM,
            "OrderId=A%2F1&EventDate=2026-07-01T10%3A00%3A00-04%3A00&OrderPromoCode=SUMMER10",
            "CampaignId=1000&ItemPrice1=19.99&ItemQuantity1=2&ItemSku1=S+1"),
        ("JSON body and query string", JSON,
            r#"{"OrderId":"A/1","EventDate":"2026-07-01T10:00:00-04:00","OrderPromoCode":"SUMMER10"}"#,
            "CampaignId=1000&ItemPrice1=19.99&ItemQuantity1=2&ItemSku1=S+1"),
    ];
    for (what, ct, body, query) in cases {
        let c = ok(req(*ct, body, query));
        assert_eq!(c.campaign_id, ProgramId(1000), "{what}");
        assert_eq!(c.order_id, OrderRef::Given("A/1".into()), "{what}");
        assert_eq!(c.event_date, utc("2026-07-01T14:00:00Z"), "{what}");
        assert!(c.event_date_had_offset, "{what}");
        assert_eq!(c.entered_codes, ["SUMMER10"], "{what}");
        assert_eq!(c.sale_amount, dec("39.98"), "{what}");
        assert_eq!(c.sale_amount_from, SaleAmountFrom::Items, "{what}");
        assert_eq!(c.items.len(), 1, "{what}");
        assert_eq!(c.items[0].sku.as_deref(), Some("S 1"), "{what}");
        assert_eq!(c.items[0].quantity, 2, "{what}");
        assert_eq!(c.items[0].price, Some(dec("19.99")), "{what}");
        assert_eq!(c.currency, "USD", "{what}: the program's");
        assert_eq!(pairs(&c.payload).len(), 7, "{what}: every field, once");
    }
}

#[test]
fn the_body_wins_per_field_and_the_query_string_fills_in() {
    let c = ok(req(
        FORM,
        &format!("{BASE}&ClickId="),
        "OrderId=B2&ClickId=c1&CustomerId=u1&orderid=B3",
    ));
    assert_eq!(
        c.order_id,
        OrderRef::Given("A1".into()),
        "the body's OrderId"
    );
    assert_eq!(
        c.click_id.as_deref(),
        Some("c1"),
        "an empty body field is absent"
    );
    assert_eq!(c.customer_id.as_deref(), Some("u1"));
    assert_eq!(
        pairs(&c.payload),
        [
            ("CampaignId".into(), Some("1000".into())),
            ("OrderId".into(), Some("A1".into())),
            ("EventDate".into(), Some("2026-07-01T10:00:00Z".into())),
            ("ClickId".into(), Some("".into())),
            ("ClickId".into(), Some("c1".into())),
            ("CustomerId".into(), Some("u1".into())),
        ],
        "the payload holds what was read, body first"
    );
    // An alias in the body hides the preferred name in the query string (no conflict).
    let c = ok(req(
        FORM,
        "CampaignId=1000&Oid=A1&EventDate=NOW&ItemSku=X&Foo=1",
        "OrderId=B2&ItemSku1=Y&foo=2&Bar=3",
    ));
    assert_eq!(c.order_id, OrderRef::Given("A1".into()));
    assert_eq!(c.items[0].sku.as_deref(), Some("X"));
    let names: Vec<String> = pairs(&c.payload).into_iter().map(|p| p.0).collect();
    assert_eq!(
        names,
        ["CampaignId", "Oid", "EventDate", "ItemSku", "Foo", "Bar"]
    );
}

#[test]
fn empty_values_are_absent() {
    for (ct, body) in [
        (
            FORM,
            format!("{BASE}&ClickId=&OrderPromoCode=&CustomerId=+&CustomerStatus=&CurrencyCode=&ItemSku1=&OrderDiscount="),
        ),
        (
            JSON,
            r#"{"CampaignId":"1000","OrderId":"A1","EventDate":"2026-07-01T10:00:00Z","ClickId":"",
                "OrderPromoCode":null,"CustomerId":"  ","CustomerStatus":null,"CurrencyCode":"",
                "ItemSku1":"","OrderDiscount":null}"#
                .to_owned(),
        ),
    ] {
        let c = ok(req(ct, &body, ""));
        assert_eq!(c.click_id, None);
        assert!(c.entered_codes.is_empty());
        assert_eq!(c.customer_id, None);
        assert_eq!(c.customer_status, None);
        assert_eq!(c.currency, "USD");
        assert!(c.items.is_empty(), "a line of only empty fields is no line");
        assert_eq!(c.discount, Decimal::ZERO);
    }
}

#[test]
fn unknown_fields_are_kept_in_the_payload_and_ignored() {
    let c = ok(req(
        JSON,
        r#"{"CampaignId":1000,"OrderId":"A1","EventDate":"NOW","IpAddress":"10.0.0.1",
            "CustomerEmail":"","Numeric1":19.990,"GiftPurchase":false,"Note":null,"_method":"PUT",
            "items":[{"sku":"X","subTotal":"28.00"}],"Custom":{"a":[1,2]},"Big":123456789012345678901234567890}"#,
        "",
    ));
    assert_eq!(c.sale_amount, Decimal::ZERO);
    assert!(
        c.items.is_empty(),
        "a nested items array makes no item lines"
    );
    assert_eq!(
        pairs(&c.payload),
        [
            ("CampaignId".into(), Some("1000".into())),
            ("OrderId".into(), Some("A1".into())),
            ("EventDate".into(), Some("NOW".into())),
            ("IpAddress".into(), Some("10.0.0.1".into())),
            ("CustomerEmail".into(), Some("".into())),
            ("Numeric1".into(), Some("19.990".into())),
            ("GiftPurchase".into(), Some("false".into())),
            ("Note".into(), None),
            ("_method".into(), Some("PUT".into())),
            (
                "items".into(),
                Some(r#"[{"sku":"X","subTotal":"28.00"}]"#.into())
            ),
            ("Custom".into(), Some(r#"{"a":[1,2]}"#.into())),
            ("Big".into(), Some("123456789012345678901234567890".into())),
        ],
        "every field, in order, numbers with their exact text"
    );
    assert_eq!(c.event_date, now());
}

#[test]
fn repeated_fields_are_kept_in_the_payload() {
    let c = ok(form(&format!(
        "{BASE}&OrderPromoCode=A&OrderPromoCode=B&X=1&X=2"
    )));
    assert_eq!(c.entered_codes, ["A", "B"]);
    let p = pairs(&c.payload);
    assert_eq!(p.len(), 7);
    assert_eq!(p[5], ("X".into(), Some("1".into())));
    assert_eq!(p[6], ("X".into(), Some("2".into())));
}

// ---------------------------------------------------------------------------------------------
// Names and aliases

#[test]
#[rustfmt::skip]
fn aliases_and_case_variants_are_read() {
    let cases: &[(&str, &str)] = &[
        ("CampaignId=7&Oid=O-1&EventDate=NOW", "order O-1"),
        ("campaignid=7&orderid=O-1&eventdate=now", "order O-1"),
        ("CAMPAIGNID=7&OID=O-1&EVENTDATE=NOW", "order O-1"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&PromoCode=P1", "codes P1"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&promocode=P1", "codes P1"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&OrderPromoCode=P1&PromoCode=P2", "codes P1,P2"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&Currency=eur", "currency EUR"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&CurrencyCode=GBP", "currency GBP"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&EventTypeId=4000", "type 4000"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&ActionTrackerId=28303", "type 28303"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&EventTypeCode=SALE", "type SALE"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&EventTypeCode=SALE&EventTypeId=4000", "type 4000"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&EventTypeId=4000&ActionTrackerId=4000", "type 4000"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&itemsubtotal1=5", "sale 5.00"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&ItemSubtotal=5", "sale 5.00"),
        ("CampaignId=7&OrderId=O-1&EventDate=NOW&Amount1=5&Quantity1=3&Sku1=S&Category1=C", "sale 5.00"),
    ];
    for (body, want) in cases {
        let c = ok(form(body));
        assert_eq!(c.campaign_id, ProgramId(7), "{body}");
        let got = match want.split_once(' ').unwrap().0 {
            "order" => format!("order {}", c.order_id.clone().or_generate(String::new)),
            "codes" => format!("codes {}", c.entered_codes.join(",")),
            "currency" => format!("currency {}", c.currency),
            "type" => format!("type {}", c.event_type.clone().unwrap_or_default()),
            "sale" => format!("sale {}", c.sale_amount),
            other => unreachable!("{other}"),
        };
        assert_eq!(&got, want, "{body}");
    }
    let c = ok(form("CampaignId=7&OrderId=O-1&EventDate=NOW&Amount1=5&Quantity1=3&Sku1=S&Category1=C"));
    assert_eq!(
        c.items,
        [Item { line: 1, sku: Some("S".into()), category: Some("C".into()), name: None, quantity: 3,
                price: None, subtotal: dec("5.00"), promo_code: None }],
        "legacy Amount{{n}} is the line's total"
    );
}

#[test]
fn promo_codes_are_split_trimmed_and_deduplicated() {
    let cases: &[(&str, &[&str])] = &[
        ("OrderPromoCode=SUMMER10", &["SUMMER10"]),
        ("OrderPromoCode=A%2C+B%2C%2CA+%2C+c", &["A", "B", "c"]),
        ("OrderPromoCode=%2C%2C", &[]),
        ("OrderPromoCode=a&OrderPromoCode=A", &["a", "A"]),
        ("PromoCode=X&OrderPromoCode=Y%2CX", &["X", "Y"]),
        ("OrderPromoCode=10OFF-FORGE", &["10OFF-FORGE"]),
    ];
    for (extra, want) in cases {
        let c = ok(form(&format!("{BASE}&{extra}")));
        assert_eq!(c.entered_codes, *want, "{extra}");
    }
}

#[test]
fn customer_status_new_or_returning_in_any_case() {
    for (raw, want) in [
        ("New", CustomerStatus::New),
        ("NEW", CustomerStatus::New),
        ("new", CustomerStatus::New),
        ("Returning", CustomerStatus::Returning),
        ("RETURNING", CustomerStatus::Returning),
        ("+returning+", CustomerStatus::Returning),
    ] {
        let c = ok(form(&format!("{BASE}&CustomerStatus={raw}")));
        assert_eq!(c.customer_status, Some(want), "{raw}");
    }
    assert_eq!(CustomerStatus::New.as_str(), "New");
    assert_eq!(CustomerStatus::Returning.as_str(), "Returning");
}

#[test]
fn the_currency_is_checked_and_defaults_to_the_programs() {
    let c = RawFields::from_request(FORM, BASE.as_bytes(), "")
        .unwrap()
        .parse(
            &ProgramDefaults {
                time_zone: New_York,
                currency: "EUR",
            },
            now(),
        )
        .unwrap();
    assert_eq!(c.currency, "EUR");
    assert_eq!(
        ok(form(&format!("{BASE}&CurrencyCode=+jpy+"))).currency,
        "JPY"
    );
}

// ---------------------------------------------------------------------------------------------
// Dates

#[test]
#[rustfmt::skip]
fn event_dates_in_every_accepted_form() {
    // (EventDate, the instant, had an offset). The program is in America/New_York.
    let cases: &[(&str, &str, bool)] = &[
        ("2026-07-01T10:00:00Z", "2026-07-01T10:00:00Z", true),
        ("2026-07-01t10:00:00z", "2026-07-01T10:00:00Z", true),
        ("2026-07-01T10:00:00+00:00", "2026-07-01T10:00:00Z", true),
        ("2026-07-01T10:00:00-07:00", "2026-07-01T17:00:00Z", true),
        ("2026-07-01T10:00:00\u{2212}07:00", "2026-07-01T17:00:00Z", true),
        ("2026-07-01T10:00:00-0700", "2026-07-01T17:00:00Z", true),
        ("2026-07-01T10:00:00+05", "2026-07-01T05:00:00Z", true),
        ("2026-07-01T10:00:00+05:30", "2026-07-01T04:30:00Z", true),
        ("2026-07-01T10:00:00 05:30", "2026-07-01T04:30:00Z", true),
        ("2026-07-01 10:00:00Z", "2026-07-01T10:00:00Z", true),
        ("2026-07-01T10:00Z", "2026-07-01T10:00:00Z", true),
        ("2026-07-01T10:00:00.123Z", "2026-07-01T10:00:00.123Z", true),
        ("2026-07-01T10:00:00,5Z", "2026-07-01T10:00:00.5Z", true),
        ("2026-07-01T10:00:00.123456789123Z", "2026-07-01T10:00:00.123456789Z", true),
        ("2026-07-01T10:00:00.000-04:00", "2026-07-01T14:00:00Z", true),
        ("2038-01-19T03:14:08Z", "2038-01-19T03:14:08Z", true),
        ("2023-02-15T22:55:32-08:00", "2023-02-16T06:55:32Z", true),
        // No offset: New York's wall clock (EDT in July, EST in January).
        ("2026-07-01T10:00:00", "2026-07-01T14:00:00Z", false),
        ("2026-01-15T10:00:00", "2026-01-15T15:00:00Z", false),
        ("2026-07-01T10:00", "2026-07-01T14:00:00Z", false),
        ("2026-07-01", "2026-07-01T04:00:00Z", false),
        ("  2026-07-01T10:00:00.250  ", "2026-07-01T14:00:00.250Z", false),
        // 1:30 happens twice on 1 Nov 2026 (EDT, then EST): the first.
        ("2026-11-01T01:30:00", "2026-11-01T05:30:00Z", false),
        ("2026-11-01T01:30:00-05:00", "2026-11-01T06:30:00Z", true),
        // Just after the gap of 8 Mar 2026 (2:00 to 3:00 does not exist).
        ("2026-03-08T03:00:00", "2026-03-08T07:00:00Z", false),
        ("2026-03-08T01:59:59", "2026-03-08T06:59:59Z", false),
        ("NOW", "2026-07-01T12:00:00Z", true),
        ("now", "2026-07-01T12:00:00Z", true),
        (" Now ", "2026-07-01T12:00:00Z", true),
    ];
    for (raw, want, had_offset) in cases {
        let (t, o) = parse_event_date(raw, New_York, now()).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!((t, o), (utc(want), *had_offset), "{raw}");
        let body = serde_json::json!({"CampaignId": 1, "OrderId": "x", "EventDate": raw}).to_string();
        let c = ok(req(JSON, &body, ""));
        assert_eq!((c.event_date, c.event_date_had_offset), (utc(want), *had_offset), "{raw}");
    }
}

#[test]
#[rustfmt::skip]
fn bad_event_dates_say_what_to_send() {
    let cases: &[(&str, &str)] = &[
        ("2026-03-08T02:30:00", "2026-03-08T02:30:00 does not exist in America/New_York"),
        ("2026-03-08T02:00", "does not exist in America/New_York"),
        ("21-Oct-2015 18:25:59 HKT", "Dates such as 21-Oct-2015 18:25:59 HKT are not read"),
        ("1-Oct-2015 18:25:59 HKT", "Dates such as 21-Oct-2015"),
        ("yesterday", "Not a date (`yesterday`): use ISO 8601 such as 2026-07-01T10:00:00-07:00"),
        ("1719828000", "Not a date"),
        ("2026/07/01 10:00", "Not a date"),
        ("07/01/2026", "Not a date"),
        ("2026-7-1", "Not a date"),
        ("2026-07-01T10", "Not a date"),
        ("2026-07-01T10:00:00 EST", "Not a date"),
        ("2026-07-01T10:00:00Zulu", "Not a date"),
        ("2026-07-01T10:00:00.Z", "Not a date"),
        ("2026-07-01T10:00:00+5", "Not a date"),
        ("2026-07-01X10:00:00Z", "Not a date"),
        ("2026-02-30T10:00:00Z", "2026-02-30 is not a day of the calendar"),
        ("2026-13-01", "is not a day of the calendar"),
        ("2026-07-01T25:00:00Z", "`25:00:00` is not a time of day"),
        ("2026-07-01T23:59:60Z", "is not a time of day"),
        ("2026-07-01T10:61Z", "is not a time of day"),
        ("2026-07-01T10:00:00+24:00", "`+24:00` is not a UTC offset"),
        ("2026-07-01T10:00:00+05:60", "is not a UTC offset"),
    ];
    for (raw, want) in cases {
        let e = parse_event_date(raw, New_York, now()).unwrap_err();
        assert!(e.contains(want), "{raw}: {e}");
        let body = format!("CampaignId=1&OrderId=x&EventDate={}", raw.replace('+', "%2B").replace(' ', "+"));
        let e = errors(form(&body));
        assert_eq!(e.len(), 1, "{raw}: {e:?}");
        assert_eq!(e[0].field, "EventDate", "{raw}");
        assert!(e[0].message.contains(want), "{raw}: {}", e[0].message);
    }
}

// ---------------------------------------------------------------------------------------------
// Order ids

#[test]
fn the_order_id_macro_asks_for_a_generated_id() {
    for raw in ["IR_AN_64_TS", "ir_an_64_ts", " IR_AN_64_TS "] {
        let c = ok(form(&format!(
            "CampaignId=1&OrderId={}&EventDate=NOW",
            raw.replace(' ', "+")
        )));
        assert_eq!(c.order_id, OrderRef::Generate, "{raw}");
        assert_eq!(c.order_id.or_generate(|| "gen-1".into()), "gen-1");
    }
    let c = ok(form("CampaignId=1&OrderId=IR_AN_64_TS1&EventDate=NOW"));
    assert_eq!(c.order_id, OrderRef::Given("IR_AN_64_TS1".into()));
    assert_eq!(c.order_id.or_generate(|| unreachable!()), "IR_AN_64_TS1");
}

// ---------------------------------------------------------------------------------------------
// Amounts

#[test]
#[rustfmt::skip]
fn the_sale_amount_rules() {
    use SaleAmountFrom::{Amount, Items, Nothing, OrderSubTotalPostDiscount as Total};
    // (fields besides BASE, sale amount, from, discount)
    let cases: &[(&str, &str, SaleAmountFrom, &str)] = &[
        ("OrderSubTotalPostDiscount=95&ItemPrice1=50&ItemQuantity1=2&Amount=10&OrderDiscount=5", "95.00", Total, "5.00"),
        ("OrderSubTotalPostDiscount=0", "0", Total, "0"),
        // The reference's own example: 2 × 10 + 6.99 − 5.
        ("OrderDiscount=5&ItemQuantity1=2&ItemPrice1=10&ItemQuantity2=1&ItemPrice2=6.99", "21.99", Items, "5.00"),
        ("ItemPrice1=10&ItemQuantity1=2&ItemPrice2=6.99", "26.99", Items, "0"),
        ("ItemPrice1=19.99", "19.99", Items, "0"),
        ("ItemSubTotal1=28.00&ItemSubTotal2=99.00", "127.00", Items, "0"),
        ("ItemPrice1=10&ItemQuantity1=3&ItemSubTotal1=25", "25.00", Items, "0"),
        ("ItemSubTotal=28.00&ItemSku=X&ItemQuantity=2", "28.00", Items, "0"),
        ("ItemPrice=4&ItemQuantity=2", "8.00", Items, "0"),
        ("ItemSubTotal1=100&OrderDiscount=15", "85.00", Items, "15.00"),
        ("ItemSubTotal1=100&OrderDiscount=100", "0.00", Items, "100.00"),
        ("ItemSubTotal1=1&ItemSubTotal3=3", "4.00", Items, "0"),
        ("ItemPrice1=10&ItemQuantity1=0", "0.00", Items, "0"),
        ("ItemSubTotal=0&ItemSku=sBTCUSDT&ItemQuantity=1", "0.00", Items, "0"),
        ("ItemSubTotal1=1e2", "100.00", Items, "0"),
        ("Amount=123&Currency=EUR", "123.00", Amount, "0"),
        ("Amount=123&OrderDiscount=23", "123.00", Amount, "23.00"),
        ("ItemSku1=X&ItemQuantity1=2&Amount=50", "50.00", Amount, "0"),
        ("ItemSubTotal1=10&Amount=50", "10.00", Items, "0"),
        ("", "0", Nothing, "0"),
        ("OrderDiscount=5", "0", Nothing, "5.00"),
        // Rounding to cents, half away from zero; an item's price is kept as sent.
        ("ItemPrice1=19.999", "20.00", Items, "0"),
        ("ItemPrice1=0.333&ItemQuantity1=3", "1.00", Items, "0"),
        ("ItemPrice1=0.005", "0.01", Items, "0"),
        ("OrderSubTotalPostDiscount=2.675", "2.68", Total, "0"),
        ("Amount=0.30000000000000004", "0.30", Amount, "0"),
        ("OrderSubTotalPostDiscount=999999999999.99", "999999999999.99", Total, "0"),
    ];
    for (extra, sale, from, discount) in cases {
        let c = ok(form(&format!("{BASE}&{extra}")));
        assert_eq!(c.sale_amount, dec(sale), "{extra}");
        assert_eq!(c.sale_amount_from, *from, "{extra}");
        assert_eq!(c.discount, dec(discount), "{extra}");
        assert_eq!(c.sale_amount.scale(), 2, "{extra}: cents");
        assert_eq!(c.discount.scale(), 2, "{extra}: cents");
    }
    let c = ok(form(&format!("{BASE}&ItemPrice1=0.333&ItemQuantity1=3")));
    assert_eq!(c.items[0].price, Some(dec("0.333")));
    assert_eq!(c.items[0].subtotal, dec("1.00"));
}

#[test]
fn item_lines_are_kept_in_order_with_their_fields() {
    let c = ok(form(&format!(
        "{BASE}&ItemSku3=C&ItemPrice3=3&ItemName3=Third&ItemSku1=A&ItemCategory1=Cat&ItemName1=First\
         &ItemQuantity1=2&ItemPrice1=1.5&ItemPromoCode1=10OFF-ACME&ItemSku=A"
    )));
    assert_eq!(
        c.items,
        [
            Item {
                line: 1,
                sku: Some("A".into()),
                category: Some("Cat".into()),
                name: Some("First".into()),
                quantity: 2,
                price: Some(dec("1.5")),
                subtotal: dec("3.00"),
                promo_code: Some("10OFF-ACME".into()),
            },
            Item {
                line: 3,
                sku: Some("C".into()),
                category: None,
                name: Some("Third".into()),
                quantity: 1,
                price: Some(dec("3")),
                subtotal: dec("3.00"),
                promo_code: None,
            },
        ]
    );
    assert_eq!(c.sale_amount, dec("6.00"));
    assert!(
        c.entered_codes.is_empty(),
        "ItemPromoCode is not an entered code"
    );
    let json = serde_json::to_value(&c.items[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"line": 1, "sku": "A", "category": "Cat", "name": "First", "quantity": 2,
            "price": "1.5", "subtotal": "3.00", "promo_code": "10OFF-ACME"}),
        "items serialise with amounts as strings"
    );
    let many: String = (1..=MAX_ITEMS)
        .map(|n| format!("&ItemSubTotal{n}=1"))
        .collect();
    let c = ok(form(&format!("{BASE}{many}")));
    assert_eq!(c.items.len(), 1000);
    assert_eq!(c.sale_amount, dec("1000.00"));
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
#[rustfmt::skip]
fn every_error_names_its_field() {
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(String, &str, &str)> = vec![
        ("CampaignId=1&EventDate=NOW".into(), "OrderId", "Required: the order's id"),
        ("CampaignId=1&OrderId=A".into(), "EventDate", "Required: when the order was placed"),
        ("OrderId=A&EventDate=NOW".into(), "CampaignId", "Required: the program's id"),
        ("CampaignId=abc&OrderId=A&EventDate=NOW".into(), "CampaignId", "Not a program id (`abc`)"),
        ("CampaignId=0&OrderId=A&EventDate=NOW".into(), "CampaignId", "positive whole number"),
        ("CampaignId=-3&OrderId=A&EventDate=NOW".into(), "CampaignId", "positive whole number"),
        ("CampaignId=1.0&OrderId=A&EventDate=NOW".into(), "CampaignId", "positive whole number"),
        ("CampaignId=%2B1&OrderId=A&EventDate=NOW".into(), "CampaignId", "positive whole number"),
        ("CampaignId=99999999999999999999&OrderId=A&EventDate=NOW".into(), "CampaignId", "positive whole number"),
        (format!("{BASE}&ItemPrice1=1&ItemPrice2=-5"), "ItemPrice2", "Must not be negative (`-5`)"),
        (format!("{BASE}&OrderDiscount=-1"), "OrderDiscount", "Must not be negative"),
        (format!("{BASE}&ItemSubTotal3=-0.01"), "ItemSubTotal3", "Must not be negative"),
        (format!("{BASE}&OrderDiscount=1%2C5"), "OrderDiscount", "Not an amount (`1,5`): use digits with a point"),
        (format!("{BASE}&Amount=abc"), "Amount", "Not an amount"),
        (format!("{BASE}&ItemPrice1=%2419.99"), "ItemPrice1", "Not an amount"),
        (format!("{BASE}&OrderSubTotalPostDiscount=1000000000000"), "OrderSubTotalPostDiscount", "Too large"),
        (format!("{BASE}&OrderSubTotalPostDiscount=999999999999.995"), "OrderSubTotalPostDiscount", "Too large"),
        (format!("{BASE}&ItemPrice1=999999999999&ItemQuantity1=2"), "ItemPrice1", "Price × quantity is 10^12 or more"),
        (format!("{BASE}&ItemSubTotal1=999999999999&ItemSubTotal2=1"), "ItemSubTotal2", "The items' total is 10^12 or more"),
        (format!("{BASE}&ItemSubTotal1=10&OrderDiscount=15"), "OrderDiscount", "The discount (15.00) is more than the items' total (10.00)"),
        (format!("{BASE}&CurrencyCode=XYZ"), "CurrencyCode", "Unknown currency `XYZ`: use an ISO 4217 code"),
        (format!("{BASE}&Currency=dollars"), "Currency", "Unknown currency"),
        (format!("{BASE}&CurrencyCode=XAU"), "CurrencyCode", "Unknown currency"),
        (format!("CampaignId=1&EventDate=NOW&OrderId={}", long(65)), "OrderId", "At most 64 characters (this one has 65)"),
        (format!("CampaignId=1&EventDate=NOW&Oid={}", long(65)), "Oid", "At most 64 characters"),
        (format!("{BASE}&ClickId={}", long(65)), "ClickId", "At most 64 characters"),
        (format!("{BASE}&CustomerId={}", long(256)), "CustomerId", "At most 255 characters (this one has 256)"),
        (format!("{BASE}&EventTypeId={}", long(65)), "EventTypeId", "At most 64 characters"),
        (format!("{BASE}&EventTypeId=1&EventTypeCode={}", long(65)), "EventTypeCode", "At most 64 characters"),
        (format!("{BASE}&ItemName2={}", long(256)), "ItemName2", "At most 255 characters"),
        (format!("{BASE}&OrderPromoCode=A%2C{}", long(256)), "OrderPromoCode", "A promo code has at most 255 characters"),
        (format!("{BASE}&ItemQuantity3=1.5"), "ItemQuantity3", "A whole number of items such as 2 (not `1.5`)"),
        (format!("{BASE}&ItemQuantity3=-1"), "ItemQuantity3", "must not be negative"),
        (format!("{BASE}&ItemQuantity=two"), "ItemQuantity", "A whole number of items"),
        (format!("{BASE}&ItemQuantity1=1000000001"), "ItemQuantity1", "at most 1000000000"),
        (format!("{BASE}&CustomerStatus=VIP"), "CustomerStatus", "Use New or Returning (not `VIP`)"),
        (format!("{BASE}&CustomerStatus=Existing"), "CustomerStatus", "Use New or Returning"),
        (format!("{BASE}&Oid=B2"), "Oid", "Given more than once with different values (OrderId `A1`, Oid `B2`)"),
        (format!("{BASE}&OrderId=B2"), "OrderId", "Given more than once"),
        (format!("{BASE}&ItemSku=A&ItemSku1=B"), "ItemSku1", "Given more than once"),
        (format!("{BASE}&EventTypeId=1&ActionTrackerId=2"), "ActionTrackerId", "Given more than once"),
        (format!("{BASE}&CurrencyCode=USD&Currency=EUR"), "Currency", "Given more than once"),
        (format!("{BASE}&ItemSku0=A"), "ItemSku0", "Item lines are numbered from 1 to 1000"),
        (format!("{BASE}&ItemSubTotal1001=1"), "ItemSubTotal1001", "numbered from 1 to 1000"),
        (format!("{BASE}&ItemPrice99999999999=1"), "ItemPrice99999999999", "numbered from 1 to 1000"),
        ("CampaignId=1&OrderId=A%00B&EventDate=NOW".into(), "OrderId", "Contains a NUL character"),
        (format!("{BASE}&Note=a%00"), "Note", "Contains a NUL character"),
        (format!("{BASE}&a%00b=1"), "a\u{fffd}b", "Contains a NUL character"),
        (format!("{BASE}&Note=a\0b"), "Note", "Contains a NUL character"),
        ("CampaignId=1&OrderId=A%0AB&EventDate=NOW".into(), "OrderId", "May not contain control characters"),
        (format!("{BASE}&ClickId=a%09b"), "ClickId", "May not contain control characters"),
    ];
    for (body, field, message) in &cases {
        let e = errors(form(body));
        assert_eq!(e.len(), 1, "{body}: {e:#?}");
        assert_eq!(e[0].field, *field, "{body}");
        assert!(e[0].message.contains(message), "{body}: {}", e[0].message);
        let control = |s: &str| s.chars().any(char::is_control);
        assert!(!control(&e[0].message) && !control(&e[0].field), "{body}");
    }
    // Just inside the limits.
    ok(form(&format!("CampaignId=1&EventDate=NOW&OrderId={}", long(64))));
    ok(form(&format!("CampaignId=1&EventDate=NOW&OrderId={}", "é".repeat(64))));
    ok(form(&format!("{BASE}&ClickId={}&CustomerId={}", long(64), long(255))));
    ok(form(&format!("{BASE}&OrderId=A1&Oid=+A1+&ItemSku=A&ItemSku1=A")));
    let codes: String = (0..MAX_CODES).map(|i| format!("C{i},")).collect();
    ok(form(&format!("{BASE}&OrderPromoCode={codes}")));
    let e = errors(form(&format!("{BASE}&OrderPromoCode={codes}C99")));
    assert_eq!(e[0].message, "At most 20 promo codes per order.");
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let e = errors(form(
        "EventDate=yesterday&ClickId=&CurrencyCode=XYZ&ItemPrice2=-5&ItemQuantity3=x&CustomerStatus=VIP",
    ));
    let mut fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "CampaignId",
            "CurrencyCode",
            "CustomerStatus",
            "EventDate",
            "ItemPrice2",
            "ItemQuantity3",
            "OrderId"
        ]
    );
}

#[test]
fn json_values_that_are_not_text() {
    let e = errors(req(
        JSON,
        r#"{"CampaignId":1,"OrderId":{"id":"A1"},"EventDate":"NOW","ItemSku1":["a"],"Other":{"x":1}}"#,
        "",
    ));
    let got: Vec<(&str, &str)> = e
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "OrderId",
                "Send OrderId as text or a number, not a JSON object or array."
            ),
            (
                "ItemSku1",
                "Send ItemSku1 as text or a number, not a JSON object or array."
            ),
        ],
        "a refused OrderId is not reported as missing too"
    );
    let e = errors(req(
        JSON,
        r#"{"CampaignId":1,"OrderId":"A\u0000","EventDate":"NOW"}"#,
        "",
    ));
    assert_eq!(e[0].field, "OrderId");
    assert!(e[0].message.contains("NUL"));
    let c = ok(req(
        JSON,
        r#"{"CampaignId":1,"OrderId":true,"EventDate":"NOW","CustomerId":12.50}"#,
        "",
    ));
    assert_eq!(c.order_id, OrderRef::Given("true".into()));
    assert_eq!(
        c.customer_id.as_deref(),
        Some("12.50"),
        "a number's exact text"
    );
}

#[test]
#[rustfmt::skip]
fn bodies_that_cannot_be_read() {
    type Case<'a> = (Option<&'a str>, &'a [u8], &'a str, &'a str, &'a str);
    let cases: &[Case] = &[
        (FORM, b"OrderId=\xff\xfe", "", "Body", "Not UTF-8 text (at byte 8)"),
        (JSON, b"{\"OrderId\":\"\xe9\"}", "", "Body", "Not UTF-8 text"),
        (FORM, b"OrderId=%E9t%E9", "", "OrderId", "Not UTF-8 text once percent-decoded"),
        (None, b"", "Foo%FF=1", "Foo\u{fffd}", "Not UTF-8 text once percent-decoded"),
        (JSON, b"{\"CampaignId\": 1,}", "", "Body", "Not valid JSON (at byte 17: expected a field name"),
        (FORM, b"{CampaignId=1}", "", "Body", "Not valid JSON"),
        (JSON, b"{\"a\":1} trailing", "", "Body", "unexpected text after the JSON object"),
        (JSON, b"[{\"CampaignId\":1}]", "", "Body", "A JSON array: send one conversion per request"),
        (Some("multipart/form-data; boundary=x"), b"--x\r\n", "", "Content-Type", "Multipart bodies are not read"),
    ];
    for (ct, body, query, field, message) in cases {
        let e = RawFields::from_request(*ct, body, query).unwrap_err();
        assert_eq!(e.field, *field, "{body:?}");
        assert!(e.message.contains(message), "{body:?}: {}", e.message);
    }
    // A multipart content type with no body: the query string counts.
    let f = RawFields::from_request(Some("multipart/form-data"), b"", BASE).unwrap();
    ok(f.parse(&ny(), now()));
    // A form body labelled form that starts with `[` is a form.
    assert!(RawFields::from_request(FORM, b"[x]=1", "").is_ok());
}

// ---------------------------------------------------------------------------------------------
// The two steps

#[test]
fn campaign_id_first_then_parse() {
    let f = RawFields::from_request(FORM, b"campaignid=+42+&OrderId=A", "").unwrap();
    assert_eq!(f.campaign_id(), Ok(ProgramId(42)));
    let e = f.errors_without_program(now());
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].field, "EventDate");

    let f = RawFields::from_request(FORM, b"OrderId=A&EventDate=bad", "").unwrap();
    assert_eq!(f.campaign_id().unwrap_err().field, "CampaignId");
    let fields: Vec<String> = f
        .errors_without_program(now())
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        ["CampaignId", "EventDate"],
        "every error, with no program"
    );

    let f = RawFields::from_request(FORM, b"CampaignId=x", "").unwrap();
    assert!(f.campaign_id().unwrap_err().message.contains("`x`"));
    let f = RawFields::from_request(FORM, b"CampaignId=1&CampaignId=2", "").unwrap();
    assert!(f
        .campaign_id()
        .unwrap_err()
        .message
        .contains("Given more than once"));
    let f = RawFields::from_request(FORM, b"CampaignId=1&CampaignId=1&CampaignId=", "").unwrap();
    assert_eq!(f.campaign_id(), Ok(ProgramId(1)));
    let f = RawFields::from_request(FORM, BASE.as_bytes(), "").unwrap();
    assert!(f.errors_without_program(now()).is_empty());
    assert_eq!(f.get("orderid"), Some("A1"));
    assert_eq!(f.get("Oid"), None, "get reads one name, no aliases");
    assert_eq!(f.len(), 3);
    assert!(f.iter().all(|f| f.source == Source::Body));
    let f = RawFields::from_request(None, b"", "CampaignId=1").unwrap();
    assert!(f.iter().all(|f| f.source == Source::Query));
    assert!(RawFields::from_request(None, b"", "").unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Real clients (reference-api.md §1.5)

/// stape-io/impact-tag (GTM server tag): JSON, `EventDate` with `+00:00`, `ClickId` `''`
/// without the cookie, GA4 item values as numbers or strings, `OrderDiscount` a number.
#[test]
fn stape_gtm_tag() {
    let body = r#"{"ClickId":"","EventDate":"2026-07-01T09:30:15+00:00","EventTypeId":"38245",
        "CampaignId":"16662","OrderId":"T-10042","ItemSku1":"SKU-1","ItemName1":"Blue shirt",
        "ItemCategory1":"Apparel","ItemQuantity1":2,"ItemPrice1":29.99,"ItemSku2":12345,
        "ItemName2":"Socks","ItemQuantity2":"1","ItemPrice2":"5.5","CurrencyCode":"EUR",
        "OrderPromoCode":"SUMMER10","OrderDiscount":6.5,"IpAddress":"203.0.113.9"}"#;
    let c = ok(req(JSON, body, ""));
    assert_eq!(c.campaign_id, ProgramId(16662));
    assert_eq!(c.order_id, OrderRef::Given("T-10042".into()));
    assert_eq!(c.event_date, utc("2026-07-01T09:30:15Z"));
    assert_eq!(c.click_id, None, "an empty ClickId is absent");
    assert_eq!(c.event_type.as_deref(), Some("38245"));
    assert_eq!(c.currency, "EUR");
    assert_eq!(c.entered_codes, ["SUMMER10"]);
    assert_eq!(c.items.len(), 2);
    assert_eq!(c.items[1].sku.as_deref(), Some("12345"));
    assert_eq!(c.discount, dec("6.50"));
    assert_eq!(c.sale_amount, dec("58.98"), "2 × 29.99 + 5.5 − 6.5");
    assert_eq!(c.sale_amount_from, SaleAmountFrom::Items);
}

/// Kilo-Org/cloud `impact.ts`: JSON; `ActionTrackerId` a number, `EventDate` from
/// `toISOString()`, `ItemSubTotal1` a string from `toFixed(2)`, `CustomerStatus` `NEW`,
/// `PromoCode`; non-sale events use the `IR_AN_64_TS` order id.
#[test]
fn kilo_sale_and_signup() {
    let sale = r#"{"CampaignId":"50754","ActionTrackerId":71659,"EventDate":"2026-04-09T10:05:00.000Z",
        "ClickId":"QiiWXOVnrQ3SQHl24jQjyxBGUkmzfJ3i1VHrWM0","CustomerId":"user_123",
        "CustomerEmail":"a9993e364706816aba3e25717850c26c9cd0d89d","CustomerStatus":"NEW",
        "OrderId":"inv_9f8e7d","ItemSubTotal1":"49.00","CurrencyCode":"USD",
        "ItemCategory1":"subscription","ItemName1":"Kilo Pro","ItemQuantity1":1,"PromoCode":"KILO20"}"#;
    let c = ok(req(JSON, sale, ""));
    assert_eq!(c.campaign_id, ProgramId(50754));
    assert_eq!(c.event_type.as_deref(), Some("71659"));
    assert_eq!(c.event_date, utc("2026-04-09T10:05:00Z"));
    assert_eq!(
        c.click_id.as_deref(),
        Some("QiiWXOVnrQ3SQHl24jQjyxBGUkmzfJ3i1VHrWM0")
    );
    assert_eq!(c.customer_status, Some(CustomerStatus::New));
    assert_eq!(c.entered_codes, ["KILO20"]);
    assert_eq!(c.sale_amount, dec("49.00"));
    assert_eq!(c.items[0].name.as_deref(), Some("Kilo Pro"));

    let signup = r#"{"CampaignId":"50754","ActionTrackerId":71655,"EventDate":"2026-04-09T10:05:00.000Z",
        "OrderId":"IR_AN_64_TS","CustomerId":"user_123","CustomerEmail":"a999","CustomerStatus":"NEW"}"#;
    let c = ok(req(JSON, signup, ""));
    assert_eq!(c.order_id, OrderRef::Generate);
    assert_eq!(c.sale_amount, Decimal::ZERO);
    assert_eq!(c.sale_amount_from, SaleAmountFrom::Nothing);
}

/// wealthsimple/impact_radius_api (Ruby, HTTParty): every field in the query string of a
/// `GET`, no body, no content type; `Oid`; legacy item names; `iso8601(3)` dates.
#[test]
fn wealthsimple_query_string() {
    let query =
        "CampaignId=5571&ActionTrackerId=12501&Oid=user-qpcxr83aaqk&CustomerId=user-qpcxr83aaqk\
                 &CustomerCountry=CA&Sku1=Wealthsimple%20Trade&Category1=CA%20Wealthsimple%20Trade\
                 &Amount1=100&Quantity1=1&EventDate=2026-07-01T10%3A00%3A00.000-04%3A00";
    let c = ok(req(None, "", query));
    assert_eq!(c.campaign_id, ProgramId(5571));
    assert_eq!(c.order_id, OrderRef::Given("user-qpcxr83aaqk".into()));
    assert_eq!(c.event_type.as_deref(), Some("12501"));
    assert_eq!(c.event_date, utc("2026-07-01T14:00:00Z"));
    assert_eq!(c.items[0].sku.as_deref(), Some("Wealthsimple Trade"));
    assert_eq!(
        c.items[0].category.as_deref(),
        Some("CA Wealthsimple Trade")
    );
    assert_eq!(c.sale_amount, dec("100.00"));
    assert_eq!(
        pairs(&c.payload)[4],
        ("CustomerCountry".into(), Some("CA".into()))
    );
    // Positive offsets sent without percent-encoding the `+`.
    let c = ok(req(None, "", &query.replace("-04%3A00", "+02:00")));
    assert_eq!(c.event_date, utc("2026-07-01T08:00:00Z"));
}

/// EverlyWell/freshpaint-function-impact-radius: `JSON.stringify` labelled
/// `application/x-www-form-urlencoded`, a nested `items` array, `EventTypeId` a number.
#[test]
fn everlywell_json_labelled_form() {
    // As the function sends it: no CampaignId and no EventDate (commented out in its source).
    let sent = r#"{"EventTypeId":35345,"CustomerEmail":"pat@example.com","CustomerId":"u-1",
        "CurrencyCode":"USD","OrderId":"O1234567","OrderDiscount":"15.00","OrderPromoCode":"15BUCKSOFF",
        "items":[{"category":"Kit","quantity":1,"sku":"1ABC2345","subTotal":"28.00","name":"Test kit"}]}"#;
    let e = errors(req(FORM, sent, ""));
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["CampaignId", "EventDate"]);
    // With the two fields its own comment documents ('CampaignId': '1000', 'EventDate': 'NOW').
    let with_them = sent.replacen('{', r#"{"CampaignId":"1000","EventDate":"NOW","#, 1);
    let c = ok(req(FORM, &with_them, ""));
    assert_eq!(c.order_id, OrderRef::Given("O1234567".into()));
    assert_eq!(c.event_date, now());
    assert_eq!(c.entered_codes, ["15BUCKSOFF"]);
    assert_eq!(c.discount, dec("15.00"));
    assert!(c.items.is_empty(), "the nested array is stored, not read");
    assert_eq!(c.sale_amount_from, SaleAmountFrom::Nothing);
    let p = pairs(&c.payload);
    assert_eq!(p.last().unwrap().0, "items");
    assert!(p
        .last()
        .unwrap()
        .1
        .as_deref()
        .unwrap()
        .starts_with(r#"[{"category":"Kit""#));
}

/// The reference's own API submission payloads (form-encoded).
#[test]
fn reference_submission_payloads() {
    let doc = "CampaignId=1000&EventTypeId=4000&EventDate=2024-08-01T23:55:24-08:00&OrderId=1234567890123\
               &ClickId=QiiWXOVnrQ3SQHl24jQjyx&CustomerId=BCZ2WVSH674563PDPYOTM3AXDQ&OrderPromoCode=10OFF-FORGE\
               &CustomerStatus=NEW&CustomerPostCode=93107&CurrencyCode=USD&OrderDiscount=5&IpAddress=192.0.2.1\
               &ItemSku1=12345&ItemName1=Anvil&ItemCategory1=Anvils&ItemQuantity1=2&ItemPrice1=10\
               &ItemSku2=55555&ItemName2=Hammer&ItemCategory2=Hammers&ItemQuantity2=1&ItemPrice2=6.99";
    // A literal `+` in a form is a space: the doc's offset is negative, so nothing to encode.
    let c = ok(form(doc));
    assert_eq!(c.event_date, utc("2024-08-02T07:55:24Z"));
    assert_eq!(c.sale_amount, dec("21.99"));
    assert_eq!(c.entered_codes, ["10OFF-FORGE"]);
    assert_eq!(c.customer_status, Some(CustomerStatus::New));

    let pasted = "CampaignId=15090&ActionTrackerId=28303&EventDate=2022-05-04T13%3A37%3A42Z&UserAgent=\
                  &IpAddress=10.80.10.214&OrderId=21&CustomerId=4222918&CustomerEmail=&CurrencyCode=USD\
                  &ItemSubTotal=0&ItemCategory=FirstTrade&ItemSku=sBTCUSDT&ItemQuantity=1";
    let c = ok(form(pasted));
    assert_eq!(c.order_id, OrderRef::Given("21".into()));
    assert_eq!(c.items.len(), 1);
    assert_eq!(c.items[0].line, 1);
    assert_eq!(c.items[0].sku.as_deref(), Some("sBTCUSDT"));
    assert_eq!(c.sale_amount, Decimal::ZERO);
}

#[test]
fn nul_characters_are_refused_wherever_they_come_from() {
    let cases: &[(Option<&str>, &str, &str, &str)] = &[
        (
            FORM,
            "CampaignId=1&OrderId=A%00&EventDate=NOW",
            "",
            "OrderId",
        ),
        (
            FORM,
            "CampaignId=1&OrderId=A\0&EventDate=NOW",
            "",
            "OrderId",
        ),
        (None, "", "CampaignId=1&OrderId=A&EventDate=NOW&X=%00", "X"),
        (
            JSON,
            r#"{"CampaignId":1,"OrderId":"A","EventDate":"NOW","X\u0000":1}"#,
            "",
            "X\u{fffd}",
        ),
        (
            JSON,
            r#"{"CampaignId":1,"OrderId":"A","EventDate":"NOW","X":"\u0000"}"#,
            "",
            "X",
        ),
        (
            JSON,
            r#"{"CampaignId":1,"OrderId":"A","EventDate":"NOW","X":null}"#,
            "Y=%00",
            "Y",
        ),
    ];
    for (ct, body, query, field) in cases {
        let e = errors(req(*ct, body, query));
        assert_eq!(e.len(), 1, "{body} {query}: {e:?}");
        assert_eq!(e[0].field, *field, "{body} {query}");
        assert!(e[0].message.contains("NUL"), "{body}");
    }
    // Escaped in a nested value, it is only text (`\u0000` spelled out): stored as is.
    let c = ok(req(
        JSON,
        r#"{"CampaignId":1,"OrderId":"A","EventDate":"NOW","X":["\u0000"]}"#,
        "",
    ));
    assert_eq!(pairs(&c.payload)[3].1.as_deref(), Some(r#"["\u0000"]"#));
}
