//! A Conversions API request (SPEC §6, `POST /Advertisers/{AccountSid}/Conversions`) read into
//! a typed [`ConversionInput`], or every problem with it as [`FieldError`]s in the reference
//! product's terms (its field names, a message that says what to fix).
//!
//! Pure: no I/O, no clock (the caller passes `now`). Two steps, because the program's time zone
//! and currency are known only once `CampaignId` is read:
//!
//! ```text
//! let fields = RawFields::from_request(content_type, &body, query_string)?;  // Err: 422, [e]
//! let program_id = fields.campaign_id()?;   // Err: 422 with fields.errors_without_program(now)
//! // look the program up (brand-scoped; 404 when it is not the brand's)
//! let input = fields.parse(&ProgramDefaults { time_zone, currency: &program.currency }, now)?;
//! ```
//!
//! ## Encodings ([`RawFields::from_request`])
//!
//! * **Body.** Its first byte after whitespace (and a UTF-8 byte order mark) decides, whatever
//!   the `Content-Type` says (real clients label JSON as form-encoded): `{` is a JSON object,
//!   anything else form-encoded pairs. A JSON array under a JSON content type is refused (one
//!   conversion per request); `multipart/*` is refused (not read). The body must be UTF-8.
//! * **JSON values**: strings; numbers *with their exact text* (`19.990` stays `19.990`, a
//!   25-digit SKU keeps its digits; see `json.rs`); `true`/`false` as text; `null` is absent.
//!   A nested object or array is not a field: it is kept, as its raw JSON text, in the payload
//!   only (and refused under a field name the parser reads, e.g. `"OrderId": {…}`). So a
//!   client's `items: [{sku, subTotal, …}]` (EverlyWell's Freshpaint function) is stored but does
//!   not make item lines: the reference product documents no such field and ignores it, and
//!   crediting an amount the reference would not see would make Promodesk's numbers differ from
//!   it for the same traffic. (That client also sends no `CampaignId` and no `EventDate`, so the
//!   reference refuses it as well.)
//! * **Query string**: pairs like a form. Without a body, it is where the fields are (a client
//!   that sends conversions as `GET` with query parameters). With a body as well, each field is
//!   taken from the body when the body has it (non-empty), and the query string fills in the
//!   rest; "the same field" counts aliases and case (`Oid` in the body hides `OrderId` in the
//!   query string).
//! * **Names** are matched ignoring ASCII case (`names.rs`). Unknown fields are kept (in the
//!   payload) and otherwise ignored.
//! * **Empty values** (after trimming whitespace) are absent: `ClickId=`, `"OrderPromoCode": ""`.
//!   Values are trimmed.
//! * **A field given twice** (the same name twice, an alias and its name, `ItemSku` and
//!   `ItemSku1`) with the same value is read once; with different values it is refused, naming
//!   the second one: a conversion's inputs are never picked silently. Exception: promo codes
//!   (`OrderPromoCode`, `PromoCode`), whose values all count, in order.
//!
//! ## Fields ([`RawFields::parse`])
//!
//! * `CampaignId` (required): a positive whole number.
//! * `OrderId` or `Oid` (required): at most 64 characters, no control characters. The
//!   reference's macro `IR_AN_64_TS` (any case) asks for a generated unique id:
//!   [`OrderRef::Generate`]; the caller makes one (at most 64 characters), so each such
//!   conversion is a new order.
//! * `EventDate` (required): see [`parse_event_date`] (ISO 8601 with or without an offset, or
//!   `NOW`).
//! * `OrderPromoCode` or `PromoCode`: comma-separated codes, trimmed, empty ones dropped,
//!   repeats (exactly equal) dropped; at most [`MAX_CODES`] codes of at most 255 characters.
//! * `ClickId` (≤ 64 characters), `CustomerId` (≤ 255): no control characters.
//! * `CustomerStatus`: `New` or `Returning`, any case (`NEW`).
//! * `CurrencyCode` or `Currency`: an ISO 4217 code ([`currency_code`]), any case; else the
//!   program's currency.
//! * `EventTypeId` or `ActionTrackerId` (the same field), else `EventTypeCode`: the event type,
//!   at most 64 characters, no control characters (not checked against the program: one event
//!   type per program for now).
//! * Item lines `ItemSku{n}`, `ItemCategory{n}`, `ItemName{n}`, `ItemQuantity{n}`,
//!   `ItemPrice{n}`, `ItemSubTotal{n}`, `ItemPromoCode{n}` for n = 1 to [`MAX_ITEMS`]; the
//!   unindexed names are line 1; the legacy `Sku{n}`, `Category{n}`, `Quantity{n}`,
//!   `Amount{n}` (= `ItemSubTotal{n}`) are read too. Lines may have gaps (1 and 3) and are kept
//!   in order of n. Quantity: a whole number from 0, default 1. A line's subtotal is
//!   `ItemSubTotal` when given (it wins over price × quantity, which may differ by a line
//!   discount), else `ItemPrice` × quantity, else 0. Texts at most 255 characters.
//!   `ItemPromoCode` is stored, not used for crediting.
//! * Amounts (`OrderSubTotalPostDiscount`, `OrderDiscount`, `Amount`, item prices and
//!   subtotals) are exact decimals ([`parse_amount`]): never negative, below 10^12 (the columns
//!   are `NUMERIC(14, 2)`), rounded to cents half away from zero (`19.999` from float maths is
//!   `20.00`; item prices are kept exact and the line's subtotal is rounded).
//! * **Sale amount**: `OrderSubTotalPostDiscount` when given; else, when an item line has an
//!   amount (price or subtotal), the sum of the lines' subtotals minus `OrderDiscount` (a
//!   discount above that sum is refused); else `Amount` (legacy; already post-discount); else
//!   0. [`ConversionInput::sale_amount_from`] says which. `OrderDiscount` is stored as given
//!   in every case but subtracted only from the items.
//! * **Text safety**: a NUL character (`%00`, `\u0000`) in any name or value is refused
//!   (PostgreSQL's `text` and `jsonb` cannot store it). Messages and [`FieldError::field`]
//!   never contain control characters and quote at most 40 characters of a value.
//!
//! Every problem is reported, not only the first.

mod amount;

mod date;
mod form;
mod json;
mod names;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

pub use super::money::{currency_code, is_currency};
pub use amount::{
    parse_amount, parse_money, parse_quantity, to_cents, AmountError, AMOUNT_LIMIT, MAX_QUANTITY,
};
pub use date::parse_event_date;

use super::ProgramId;
use names::{classify, ItemField, Key, Known};

/// The reference product's order id macro: "generate a unique id for this order".
pub const ORDER_ID_MACRO: &str = "IR_AN_64_TS";
/// Item lines are numbered 1 to this.
pub const MAX_ITEMS: u32 = 1_000;
/// Entered promo codes per conversion.
pub const MAX_CODES: usize = 20;
pub const MAX_ORDER_ID_CHARS: usize = 64;
pub const MAX_CLICK_ID_CHARS: usize = 64;
pub const MAX_CUSTOMER_ID_CHARS: usize = 255;
pub const MAX_EVENT_TYPE_CHARS: usize = 64;
/// Any other text (item texts, each promo code): the reference's string type.
pub const MAX_TEXT_CHARS: usize = 255;
/// 0.00: amounts have two decimals, zero too.
const ZERO_CENTS: Decimal = Decimal::from_parts(0, 0, 0, false, 2);

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem with a request, in the reference shape (`{"Field": …, "Message": …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field as the client named it (`EventDate`, `ItemQuantity3`, `Oid`); `Body` or
    /// `Content-Type` for a body that cannot be read at all.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl FieldError {
    /// `field` is cleaned (control characters replaced, at most 100 characters).
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: clean(field, 100),
            message: message.into(),
        }
    }
}

/// `s` without control characters (each replaced by U+FFFD), cut to `max` characters (`…`).
fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '\u{fffd}' } else { c });
    }
    out
}

/// A value quoted in a message: `` `…` ``, at most 40 characters, no control characters.
fn shown(s: &str) -> String {
    format!("`{}`", clean(s, 40))
}

// ---------------------------------------------------------------------------------------------
// Raw fields

/// Where a field came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Body,
    Query,
}

/// A field's value as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue<'a> {
    /// Text (form values, JSON strings, the exact text of JSON numbers, `true`/`false`).
    Text(Cow<'a, str>),
    /// A JSON object or array, as its raw text: not a field, kept for the payload.
    Json(&'a str),
    /// JSON `null`: absent.
    Null,
}

/// One field as received.
#[derive(Debug, Clone)]
pub struct RawField<'a> {
    pub name: Cow<'a, str>,
    pub value: RawValue<'a>,
    pub source: Source,
    key: Key,
}

impl RawField<'_> {
    /// The trimmed text value, `None` when absent (empty, `null`, nested JSON).
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            RawValue::Text(t) => Some(t.trim()).filter(|t| !t.is_empty()),
            _ => None,
        }
    }
}

/// The fields of one request, in order (body first, then the query string's other fields),
/// borrowing from the body and query string where nothing had to be decoded.
#[derive(Debug, Clone, Default)]
pub struct RawFields<'a> {
    fields: Vec<RawField<'a>>,
    /// False when no name or value can hold a NUL (none in the raw text, no `%00`, no
    /// `\u0000`): then `parse` need not look for one in each field.
    nul_possible: bool,
}

/// True when text decoded from `raw` (form or JSON) may contain a NUL character.
fn nul_possible(raw: &[u8]) -> bool {
    (0..raw.len()).any(|i| match raw[i] {
        0 => true,
        b'%' => raw[i + 1..].starts_with(b"00"),
        b'\\' => raw[i + 1..].starts_with(b"u0000"),
        _ => false,
    })
}

/// The media type of a `Content-Type` header, without parameters, in lower case.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Equality of fields for "the body wins": aliases and `ItemSku`/`ItemSku1` are one field,
/// unknown names compare ignoring ASCII case.
#[derive(PartialEq, Eq, Hash)]
enum SameField {
    Key(Key),
    Unknown(String),
}

impl SameField {
    fn of(f: &RawField<'_>) -> SameField {
        match f.key {
            Key::Unknown => SameField::Unknown(f.name.to_ascii_lowercase()),
            k => SameField::Key(k.logical()),
        }
    }
}

impl<'a> RawFields<'a> {
    /// Reads the fields of a request: its `Content-Type` header (if any), its body (may be
    /// empty) and its query string (without `?`; a leading `?` is ignored). `Err` when the body
    /// or query string cannot be read at all (not UTF-8, broken JSON, multipart).
    pub fn from_request(
        content_type: Option<&str>,
        body: &'a [u8],
        query: &'a str,
    ) -> Result<RawFields<'a>, FieldError> {
        let media = content_type.map(media_type).unwrap_or_default();
        let mut fields: Vec<RawField<'a>> = Vec::new();
        let body = body
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(body)
            .trim_ascii();
        if !body.is_empty() {
            if media.starts_with("multipart/") {
                return Err(FieldError::new(
                    "Content-Type",
                    "Multipart bodies are not read: send the fields form-encoded \
                     (application/x-www-form-urlencoded) or as a JSON object.",
                ));
            }
            let text = std::str::from_utf8(body).map_err(|e| {
                FieldError::new(
                    "Body",
                    format!(
                        "Not UTF-8 text (at byte {}): send the body in UTF-8.",
                        e.valid_up_to()
                    ),
                )
            })?;
            if text.starts_with('{') {
                let members = json::parse_object(text).map_err(|e| {
                    FieldError::new(
                        "Body",
                        format!(
                            "Not valid JSON (at byte {}: {}): send one JSON object such as \
                             {{\"CampaignId\": \"1000\", \"OrderId\": \"A1\", …}}, or \
                             form-encoded fields.",
                            e.offset, e.what
                        ),
                    )
                })?;
                fields.reserve(members.len());
                for (name, value) in members {
                    let value = match value {
                        json::JsonValue::Str(s) => RawValue::Text(s),
                        json::JsonValue::Number(n) => RawValue::Text(Cow::Borrowed(n)),
                        json::JsonValue::Bool(b) => {
                            RawValue::Text(Cow::Borrowed(if b { "true" } else { "false" }))
                        }
                        json::JsonValue::Null => RawValue::Null,
                        json::JsonValue::Nested(raw) => RawValue::Json(raw),
                    };
                    let key = classify(&name);
                    fields.push(RawField {
                        name,
                        value,
                        source: Source::Body,
                        key,
                    });
                }
            } else if text.starts_with('[') && media.contains("json") {
                return Err(FieldError::new(
                    "Body",
                    "A JSON array: send one conversion per request, as a JSON object.",
                ));
            } else {
                push_pairs(&mut fields, text, Source::Body)?;
            }
        }
        let query = query.strip_prefix('?').unwrap_or(query);
        if !query.is_empty() {
            let body_len = fields.len();
            push_pairs(&mut fields, query, Source::Query)?;
            if body_len > 0 && fields.len() > body_len {
                let in_body: HashSet<SameField> = fields[..body_len]
                    .iter()
                    .filter(|f| f.text().is_some())
                    .map(SameField::of)
                    .collect();
                let mut i = 0;
                fields.retain(|f| {
                    i += 1;
                    i <= body_len || !in_body.contains(&SameField::of(f))
                });
            }
        }
        Ok(RawFields {
            fields,
            nul_possible: nul_possible(body) || nul_possible(query.as_bytes()),
        })
    }

    /// The fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = &RawField<'a>> {
        self.fields.iter()
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The first present (non-empty) value of a field by name, ASCII case ignored; no aliases.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name))
            .find_map(RawField::text)
    }

    /// Every field received, for storage: a JSON array of `[name, value]` pairs in order
    /// (JSONB keeps neither the order of an object's keys nor repeated keys). Values are
    /// strings as received (untrimmed; a number's exact text; a nested object or array as its
    /// JSON text), `null` for JSON `null`.
    pub fn payload(&self) -> serde_json::Value {
        use serde_json::Value;
        Value::Array(
            self.fields
                .iter()
                .map(|f| {
                    let value = match &f.value {
                        RawValue::Text(t) => Value::String(t.as_ref().to_owned()),
                        RawValue::Json(raw) => Value::String((*raw).to_owned()),
                        RawValue::Null => Value::Null,
                    };
                    Value::Array(vec![Value::String(f.name.as_ref().to_owned()), value])
                })
                .collect(),
        )
    }

    /// `CampaignId`: the program the conversion is for (a positive whole number).
    pub fn campaign_id(&self) -> Result<ProgramId, FieldError> {
        let mut errors = Vec::new();
        let mut slot = None;
        for f in &self.fields {
            if let (Key::Known(Known::CampaignId), Some(v)) = (f.key, f.text()) {
                put(&mut slot, &f.name, v, &mut errors);
            }
        }
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        campaign(slot)
    }

    /// Every problem with the request when its program is not known (no usable
    /// `CampaignId`): [`RawFields::parse`] in UTC, so a zone-less `EventDate` is not checked
    /// against the program's zone. Empty when the request is valid.
    pub fn errors_without_program(&self, now: DateTime<Utc>) -> Vec<FieldError> {
        let defaults = ProgramDefaults {
            time_zone: Tz::UTC,
            currency: "USD",
        };
        self.parse(&defaults, now).err().unwrap_or_default()
    }

    /// The typed conversion, or every problem with it. `now` is the arrival time (`NOW`).
    pub fn parse(
        &self,
        defaults: &ProgramDefaults<'_>,
        now: DateTime<Utc>,
    ) -> Result<ConversionInput, Vec<FieldError>> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut s = Slots::default();
        let mut lines: Vec<(u32, Line<'_>)> = Vec::new();
        let mut codes: Vec<(&str, &str)> = Vec::new();
        // Required fields sent but refused (NUL, nested JSON): not "required" on top.
        let mut refused: Vec<Known> = Vec::new();
        let mut refuse = |key: Key| {
            if let Key::Known(k) = key {
                refused.push(k.logical());
            }
        };

        for f in &self.fields {
            let name: &str = &f.name;
            let nul = || {
                FieldError::new(
                    name,
                    "Contains a NUL character (%00 or \\u0000), which cannot be stored: \
                     remove it.",
                )
            };
            if self.nul_possible && name.contains('\0') {
                errors.push(nul());
                refuse(f.key);
                continue;
            }
            let value = match &f.value {
                RawValue::Text(t) => t.trim(),
                RawValue::Null => continue,
                RawValue::Json(_) => {
                    if f.key != Key::Unknown {
                        refuse(f.key);
                        errors.push(FieldError::new(
                            name,
                            format!(
                                "Send {} as text or a number, not a JSON object or array.",
                                clean(name, 40)
                            ),
                        ));
                    }
                    continue;
                }
            };
            if self.nul_possible && value.contains('\0') {
                errors.push(nul());
                refuse(f.key);
                continue;
            }
            if value.is_empty() {
                continue;
            }
            match f.key {
                Key::Unknown => {}
                Key::Known(k) => match k.logical() {
                    Known::OrderPromoCode => codes.push((name, value)),
                    logical => put(s.slot(logical), name, value, &mut errors),
                },
                Key::Item(field, index) => {
                    let n = index.unwrap_or(1);
                    if n == 0 || n > MAX_ITEMS {
                        errors.push(FieldError::new(
                            name,
                            format!("Item lines are numbered from 1 to {MAX_ITEMS}."),
                        ));
                        continue;
                    }
                    let at = match lines.binary_search_by_key(&n, |(i, _)| *i) {
                        Ok(at) => at,
                        Err(at) => {
                            lines.insert(at, (n, Line::default()));
                            at
                        }
                    };
                    put(lines[at].1.slot(field), name, value, &mut errors);
                }
            }
        }

        let required = |k: Known, errors: &mut Vec<FieldError>, message: &str| {
            if !refused.contains(&k) {
                errors.push(FieldError::new(k.name(), message));
            }
        };
        let campaign_id = match s.campaign_id {
            None if refused.contains(&Known::CampaignId) => None,
            slot => campaign(slot).map_err(|e| errors.push(e)).ok(),
        };

        let order_id = match s.order_id {
            None => {
                required(
                    Known::OrderId,
                    &mut errors,
                    "Required: the order's id (OrderId), unique in the program.",
                );
                None
            }
            Some(v) if v.value.eq_ignore_ascii_case(ORDER_ID_MACRO) => Some(OrderRef::Generate),
            Some(v) => identifier(v, MAX_ORDER_ID_CHARS, &mut errors)
                .map(|id| OrderRef::Given(id.to_owned())),
        };

        let event_date = match s.event_date {
            None => {
                required(
                    Known::EventDate,
                    &mut errors,
                    "Required: when the order was placed (EventDate), in ISO 8601 such as \
                     2026-07-01T10:00:00-07:00, or NOW.",
                );
                None
            }
            Some(v) => parse_event_date(v.value, defaults.time_zone, now)
                .map_err(|m| errors.push(FieldError::new(v.name, m)))
                .ok(),
        };

        let click_id = s
            .click_id
            .and_then(|v| identifier(v, MAX_CLICK_ID_CHARS, &mut errors))
            .map(str::to_owned);
        let customer_id = s
            .customer_id
            .and_then(|v| identifier(v, MAX_CUSTOMER_ID_CHARS, &mut errors))
            .map(str::to_owned);

        let customer_status = s.customer_status.and_then(|v| {
            let status = CustomerStatus::parse(v.value);
            if status.is_none() {
                errors.push(FieldError::new(
                    v.name,
                    format!("Use New or Returning (not {}).", shown(v.value)),
                ));
            }
            status
        });

        let currency = match s.currency {
            None => defaults.currency.to_owned(),
            Some(v) => match currency_code(v.value) {
                Some(code) => code.to_owned(),
                None => {
                    errors.push(FieldError::new(
                        v.name,
                        format!(
                            "Unknown currency {}: use an ISO 4217 code such as USD or EUR.",
                            shown(v.value)
                        ),
                    ));
                    String::new()
                }
            },
        };

        let event_type = s
            .event_type_id
            .or(s.event_type_code)
            .and_then(|v| identifier(v, MAX_EVENT_TYPE_CHARS, &mut errors))
            .map(str::to_owned);
        if let (Some(_), Some(code)) = (s.event_type_id, s.event_type_code) {
            // Stored is the id; the code is still checked.
            identifier(code, MAX_EVENT_TYPE_CHARS, &mut errors);
        }

        // Promo codes: every occurrence, in order.
        let mut entered_codes: Vec<String> = Vec::new();
        for (name, value) in codes {
            for code in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if entered_codes.iter().any(|c| c == code) {
                    continue;
                }
                if too_long(code, MAX_TEXT_CHARS) {
                    errors.push(FieldError::new(
                        name,
                        format!(
                            "A promo code has at most {MAX_TEXT_CHARS} characters ({} has {}).",
                            shown(code),
                            code.chars().count()
                        ),
                    ));
                    continue;
                }
                if entered_codes.len() == MAX_CODES {
                    errors.push(FieldError::new(
                        name,
                        format!("At most {MAX_CODES} promo codes per order."),
                    ));
                    break;
                }
                entered_codes.push(code.to_owned());
            }
        }

        let total_post_discount = s.subtotal_post_discount.and_then(|v| money(v, &mut errors));
        let discount = s.discount.and_then(|v| money(v, &mut errors));
        let legacy_amount = s.amount.and_then(|v| money(v, &mut errors));

        // Item lines.
        let mut items = Vec::with_capacity(lines.len());
        let mut items_total = Some(ZERO_CENTS);
        let mut items_have_amount = false;
        let mut last_amount_field: Option<&str> = None;
        for (n, line) in &lines {
            let quantity = match line.quantity {
                None => Some(1),
                Some(v) => match parse_quantity(v.value) {
                    Ok(q) => Some(q),
                    Err(e) => {
                        let why = match e {
                            AmountError::Negative => "must not be negative".to_owned(),
                            AmountError::TooLarge => format!("at most {MAX_QUANTITY}"),
                            AmountError::Malformed => format!("not {}", shown(v.value)),
                        };
                        errors.push(FieldError::new(
                            v.name,
                            format!("A whole number of items such as 2 ({why})."),
                        ));
                        None
                    }
                },
            };
            let price = line.price.and_then(|v| exact_amount(v, &mut errors));
            let given_subtotal = line.subtotal.and_then(|v| money(v, &mut errors));
            let subtotal = match (given_subtotal, price, quantity) {
                (Some(st), _, _) => Some(st),
                (None, Some(p), Some(q)) => match p.checked_mul(Decimal::from(q)).map(to_cents) {
                    Some(st) if st < AMOUNT_LIMIT => Some(st),
                    _ => {
                        let name = line.price.map_or("ItemPrice", |v| v.name);
                        errors.push(FieldError::new(
                            name,
                            "Price × quantity is 10^12 or more: too large for an amount.",
                        ));
                        None
                    }
                },
                (None, None, _) => Some(ZERO_CENTS),
                (None, Some(_), None) => None,
            };
            if let Some(v) = line.subtotal.or(line.price) {
                items_have_amount = true;
                last_amount_field = Some(v.name);
            }
            items_total = match (items_total, subtotal) {
                (Some(t), Some(st)) => t.checked_add(st),
                _ => None,
            };
            let sku = line.sku.and_then(|v| text(v, MAX_TEXT_CHARS, &mut errors));
            let category = line
                .category
                .and_then(|v| text(v, MAX_TEXT_CHARS, &mut errors));
            let item_name = line.name.and_then(|v| text(v, MAX_TEXT_CHARS, &mut errors));
            let promo_code = line
                .promo_code
                .and_then(|v| text(v, MAX_TEXT_CHARS, &mut errors));
            items.push(Item {
                line: *n,
                sku: sku.map(str::to_owned),
                category: category.map(str::to_owned),
                name: item_name.map(str::to_owned),
                quantity: quantity.unwrap_or(1),
                price,
                subtotal: subtotal.unwrap_or(ZERO_CENTS),
                promo_code: promo_code.map(str::to_owned),
            });
        }

        let (sale_amount, sale_amount_from) = if let Some(total) = total_post_discount {
            (total, SaleAmountFrom::OrderSubTotalPostDiscount)
        } else if items_have_amount {
            let field = last_amount_field.unwrap_or("ItemSubTotal");
            match items_total {
                Some(sum) if sum >= AMOUNT_LIMIT => {
                    errors.push(FieldError::new(
                        field,
                        "The items' total is 10^12 or more: too large for an amount.",
                    ));
                    (ZERO_CENTS, SaleAmountFrom::Items)
                }
                Some(sum) => {
                    let off = discount.unwrap_or(ZERO_CENTS);
                    if off > sum {
                        errors.push(FieldError::new(
                            s.discount.map_or("OrderDiscount", |v| v.name),
                            format!(
                                "The discount ({off}) is more than the items' total ({sum}): \
                                 send the discount of this order, or \
                                 OrderSubTotalPostDiscount."
                            ),
                        ));
                    }
                    ((sum - off).max(ZERO_CENTS), SaleAmountFrom::Items)
                }
                // An item's amount was refused (reported above).
                None => (ZERO_CENTS, SaleAmountFrom::Items),
            }
        } else if let Some(amount) = legacy_amount {
            (amount, SaleAmountFrom::Amount)
        } else {
            (ZERO_CENTS, SaleAmountFrom::Nothing)
        };

        match (campaign_id, order_id, event_date) {
            (Some(campaign_id), Some(order_id), Some((event_date, event_date_had_offset)))
                if errors.is_empty() =>
            {
                Ok(ConversionInput {
                    campaign_id,
                    order_id,
                    event_date,
                    event_date_had_offset,
                    entered_codes,
                    click_id,
                    customer_id,
                    customer_status,
                    currency,
                    event_type,
                    items,
                    discount: discount.unwrap_or(ZERO_CENTS),
                    sale_amount,
                    sale_amount_from,
                    payload: self.payload(),
                })
            }
            _ => Err(errors),
        }
    }
}

fn push_pairs<'a>(
    fields: &mut Vec<RawField<'a>>,
    text: &'a str,
    source: Source,
) -> Result<(), FieldError> {
    form::parse_pairs(text, |name, value| {
        let key = classify(&name);
        fields.push(RawField {
            name,
            value: RawValue::Text(value),
            source,
            key,
        });
    })
    .map_err(|e| {
        FieldError::new(
            &e.name,
            "Not UTF-8 text once percent-decoded: percent-encode the UTF-8 bytes of the text.",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Reading values

/// A present value and the name it came under.
#[derive(Debug, Clone, Copy)]
struct Slot<'f> {
    name: &'f str,
    value: &'f str,
}

/// Keeps the first value of a field; a different second value is an error.
fn put<'f>(
    slot: &mut Option<Slot<'f>>,
    name: &'f str,
    value: &'f str,
    errors: &mut Vec<FieldError>,
) {
    match slot {
        None => *slot = Some(Slot { name, value }),
        Some(first) if first.value == value => {}
        Some(first) => errors.push(FieldError::new(
            name,
            format!(
                "Given more than once with different values ({} {}, {} {}): send it once.",
                clean(first.name, 40),
                shown(first.value),
                clean(name, 40),
                shown(value)
            ),
        )),
    }
}

#[derive(Default)]
struct Slots<'f> {
    campaign_id: Option<Slot<'f>>,
    order_id: Option<Slot<'f>>,
    event_date: Option<Slot<'f>>,
    click_id: Option<Slot<'f>>,
    customer_id: Option<Slot<'f>>,
    customer_status: Option<Slot<'f>>,
    currency: Option<Slot<'f>>,
    event_type_id: Option<Slot<'f>>,
    event_type_code: Option<Slot<'f>>,
    subtotal_post_discount: Option<Slot<'f>>,
    discount: Option<Slot<'f>>,
    amount: Option<Slot<'f>>,
    /// Never read: the aliases map to the fields above; promo codes are collected apart.
    unused: Option<Slot<'f>>,
}

impl<'f> Slots<'f> {
    /// The slot of a logical field (see [`Known::logical`]).
    fn slot(&mut self, k: Known) -> &mut Option<Slot<'f>> {
        match k {
            Known::CampaignId => &mut self.campaign_id,
            Known::OrderId => &mut self.order_id,
            Known::EventDate => &mut self.event_date,
            Known::ClickId => &mut self.click_id,
            Known::CustomerId => &mut self.customer_id,
            Known::CustomerStatus => &mut self.customer_status,
            Known::CurrencyCode => &mut self.currency,
            Known::EventTypeId => &mut self.event_type_id,
            Known::EventTypeCode => &mut self.event_type_code,
            Known::OrderSubTotalPostDiscount => &mut self.subtotal_post_discount,
            Known::OrderDiscount => &mut self.discount,
            Known::Amount => &mut self.amount,
            Known::Oid
            | Known::OrderPromoCode
            | Known::PromoCode
            | Known::Currency
            | Known::ActionTrackerId => &mut self.unused,
        }
    }
}

#[derive(Default)]
struct Line<'f> {
    sku: Option<Slot<'f>>,
    category: Option<Slot<'f>>,
    name: Option<Slot<'f>>,
    quantity: Option<Slot<'f>>,
    price: Option<Slot<'f>>,
    subtotal: Option<Slot<'f>>,
    promo_code: Option<Slot<'f>>,
}

impl<'f> Line<'f> {
    fn slot(&mut self, f: ItemField) -> &mut Option<Slot<'f>> {
        match f {
            ItemField::Sku => &mut self.sku,
            ItemField::Category => &mut self.category,
            ItemField::Name => &mut self.name,
            ItemField::Quantity => &mut self.quantity,
            ItemField::Price => &mut self.price,
            ItemField::SubTotal => &mut self.subtotal,
            ItemField::PromoCode => &mut self.promo_code,
        }
    }
}

fn campaign(slot: Option<Slot<'_>>) -> Result<ProgramId, FieldError> {
    let Some(v) = slot else {
        return Err(FieldError::new(
            Known::CampaignId.name(),
            "Required: the program's id (CampaignId), a whole number such as 1000.",
        ));
    };
    let b = v.value.as_bytes();
    match v.value.parse::<i64>() {
        Ok(id) if id > 0 && b.iter().all(u8::is_ascii_digit) => Ok(ProgramId(id)),
        _ => Err(FieldError::new(
            v.name,
            format!(
                "Not a program id ({}): a positive whole number such as 1000.",
                shown(v.value)
            ),
        )),
    }
}

fn too_long(s: &str, max_chars: usize) -> bool {
    s.len() > max_chars && s.chars().count() > max_chars
}

/// A text of at most `max` characters.
fn text<'f>(v: Slot<'f>, max: usize, errors: &mut Vec<FieldError>) -> Option<&'f str> {
    if too_long(v.value, max) {
        errors.push(FieldError::new(
            v.name,
            format!(
                "At most {max} characters (this one has {}).",
                v.value.chars().count()
            ),
        ));
        return None;
    }
    Some(v.value)
}

/// An id: a text of at most `max` characters without control characters.
fn identifier<'f>(v: Slot<'f>, max: usize, errors: &mut Vec<FieldError>) -> Option<&'f str> {
    let t = text(v, max, errors)?;
    if t.chars().any(char::is_control) {
        errors.push(FieldError::new(
            v.name,
            "May not contain control characters (tabs, line breaks).",
        ));
        return None;
    }
    Some(t)
}

fn amount_message(e: AmountError, value: &str) -> String {
    match e {
        AmountError::Malformed => format!(
            "Not an amount ({}): use digits with a point for decimals, such as 19.99.",
            shown(value)
        ),
        AmountError::Negative => format!("Must not be negative ({}).", shown(value)),
        AmountError::TooLarge => format!(
            "Too large ({}): amounts are below 1,000,000,000,000.",
            shown(value)
        ),
    }
}

/// An amount rounded to cents.
fn money(v: Slot<'_>, errors: &mut Vec<FieldError>) -> Option<Decimal> {
    parse_money(v.value)
        .map_err(|e| errors.push(FieldError::new(v.name, amount_message(e, v.value))))
        .ok()
}

/// An amount as sent (an item's price).
fn exact_amount(v: Slot<'_>, errors: &mut Vec<FieldError>) -> Option<Decimal> {
    parse_amount(v.value)
        .map_err(|e| errors.push(FieldError::new(v.name, amount_message(e, v.value))))
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The typed conversion

/// What the program gives a conversion that does not say.
#[derive(Debug, Clone, Copy)]
pub struct ProgramDefaults<'a> {
    /// For an `EventDate` without an offset.
    pub time_zone: Tz,
    /// For a conversion without `CurrencyCode`/`Currency` (the program's, stored upper case).
    pub currency: &'a str,
}

/// The order's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// As sent (trimmed).
    Given(String),
    /// `IR_AN_64_TS`: the caller generates a unique id (at most 64 characters).
    Generate,
}

impl OrderRef {
    /// The id sent, or `generate()` for the macro.
    pub fn or_generate(self, generate: impl FnOnce() -> String) -> String {
        match self {
            OrderRef::Given(id) => id,
            OrderRef::Generate => generate(),
        }
    }
}

/// `CustomerStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CustomerStatus {
    New,
    Returning,
}

impl CustomerStatus {
    /// `New` or `Returning`, any case, trimmed.
    pub fn parse(s: &str) -> Option<CustomerStatus> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("new") {
            Some(CustomerStatus::New)
        } else if s.eq_ignore_ascii_case("returning") {
            Some(CustomerStatus::Returning)
        } else {
            None
        }
    }

    /// As stored (`actions.customer_status`): `New`, `Returning`.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::New => "New",
            CustomerStatus::Returning => "Returning",
        }
    }
}

/// Which rule gave the sale amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SaleAmountFrom {
    OrderSubTotalPostDiscount,
    /// The items' subtotals minus `OrderDiscount`.
    Items,
    /// The legacy `Amount`.
    Amount,
    /// No amount was sent: 0.
    Nothing,
}

/// One item line. Serialises (for `actions.items`) with amounts as strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Its number n (`ItemSku{n}`; 1 for the unindexed names).
    pub line: u32,
    pub sku: Option<String>,
    pub category: Option<String>,
    pub name: Option<String>,
    /// 1 when not sent.
    pub quantity: u32,
    /// `ItemPrice` as sent (not rounded).
    pub price: Option<Decimal>,
    /// `ItemSubTotal`, else price × quantity, in cents; 0 when the line has no amount.
    pub subtotal: Decimal,
    /// `ItemPromoCode`: stored, not used for crediting.
    pub promo_code: Option<String>,
}

/// A valid conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionInput {
    pub campaign_id: ProgramId,
    pub order_id: OrderRef,
    /// The event instant (for `NOW`, the `now` given to [`RawFields::parse`]).
    pub event_date: DateTime<Utc>,
    /// False when `EventDate` had no offset (read in the program's zone).
    pub event_date_had_offset: bool,
    /// The entered promo codes, in order (trimmed, no empty ones, no repeats).
    pub entered_codes: Vec<String>,
    /// `ClickId` as sent.
    pub click_id: Option<String>,
    pub customer_id: Option<String>,
    pub customer_status: Option<CustomerStatus>,
    /// ISO 4217, upper case: `CurrencyCode`/`Currency`, else the program's.
    pub currency: String,
    /// `EventTypeId`/`ActionTrackerId`, else `EventTypeCode`.
    pub event_type: Option<String>,
    /// In order of their numbers.
    pub items: Vec<Item>,
    /// `OrderDiscount` in cents (0 when not sent).
    pub discount: Decimal,
    /// In cents, never negative, below 10^12.
    pub sale_amount: Decimal,
    pub sale_amount_from: SaleAmountFrom,
    /// [`RawFields::payload`]: every field received, in order.
    pub payload: serde_json::Value,
}
