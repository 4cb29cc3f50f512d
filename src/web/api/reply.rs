//! Replies of the brand API in the reference product's shape, as JSON or
//! as XML (`<ImpactRadiusResponse>`), and its errors.
//!
//! A reply is an ordered list of fields: text values (the reference sends
//! numbers and ids as strings too), booleans, nested objects and lists.
//! A list has a singular name for its items (`Actions` / `Action`) and may
//! carry paging: in JSON the paging values are `@page`, `@numpages`...
//! beside the list in the same object; in XML they are attributes of the
//! list's element (`<Actions page="1" ...><Action>...</Action></Actions>`).
//!
//! Field and element names are `&'static str`: fixed in the code, never
//! taken from a request. Every text value is escaped. XML is written by the
//! small writer below rather than a library: the names are fixed, so all it
//! needs is text and attribute escaping, plus replacing the characters
//! XML 1.0 cannot carry at all (most control characters, even as character
//! references), which a general writer leaves to the caller.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::fmt;

/// The challenge of a 401.
pub const WWW_AUTHENTICATE: &str = "Basic realm=\"Promodesk API\"";

/// The format of a reply: JSON when the path ends in `.json` or the
/// request accepts `application/json`; XML otherwise (the reference
/// product's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFormat {
    Json,
    Xml,
}

impl ApiFormat {
    /// The format a request asks for.
    pub fn of(req: &HttpRequest) -> ApiFormat {
        let accept = req
            .headers()
            .get_all(header::ACCEPT)
            .map(|v| v.as_bytes())
            .collect::<Vec<_>>();
        ApiFormat::negotiate(req.path(), &accept)
    }

    /// The format for a path and its `Accept` header values. `Accept` names
    /// JSON when one of its media ranges is `application/json` with a
    /// non-zero quality; anything else (none, `*/*`, XML) is XML.
    pub fn negotiate(path: &str, accept: &[&[u8]]) -> ApiFormat {
        if path.ends_with(".json") || accept.iter().any(|v| accepts_json(v)) {
            ApiFormat::Json
        } else {
            ApiFormat::Xml
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ApiFormat::Json => "application/json",
            ApiFormat::Xml => "application/xml; charset=utf-8",
        }
    }

    /// An error in this format.
    pub fn error(self, kind: ApiErrorKind) -> ApiError {
        ApiError { format: self, kind }
    }

    /// 401: no, malformed or wrong credentials.
    pub fn unauthorized(self) -> ApiError {
        self.error(ApiErrorKind::Unauthorized)
    }

    /// 404 with a message naming what was not found.
    pub fn not_found(self, message: impl Into<String>) -> ApiError {
        self.error(ApiErrorKind::NotFound(message.into()))
    }

    /// 422 with the refused fields.
    pub fn invalid(self, errors: Vec<FieldError>) -> ApiError {
        self.error(ApiErrorKind::Validation(errors))
    }

    /// 413: a body over `limit` bytes.
    pub fn too_large(self, limit: usize) -> ApiError {
        self.error(ApiErrorKind::PayloadTooLarge(limit))
    }
}

fn accepts_json(value: &[u8]) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    value.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return false;
        }
        // "q=0" means "not this one".
        parts.all(|p| {
            let p = p.trim();
            match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("q") => {
                    v.trim().parse::<f32>().map(|q| q > 0.0).unwrap_or(true)
                }
                _ => true,
            }
        })
    })
}

/// Extracting the format never fails.
impl actix_web::FromRequest for ApiFormat {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(ApiFormat::of(req)))
    }
}

/// A value of a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Bool(bool),
    Object(Fields),
    List(List),
}

/// Named values in their order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(Vec<(&'static str, Value)>);

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    pub fn value(mut self, name: &'static str, value: Value) -> Fields {
        debug_assert!(is_name(name), "not an element name: {name}");
        debug_assert!(self.0.iter().all(|(n, _)| *n != name), "field {name} twice");
        self.0.push((name, value));
        self
    }

    /// A text field (numbers and ids too: the reference sends strings).
    pub fn field(self, name: &'static str, value: impl Into<String>) -> Fields {
        self.value(name, Value::Text(value.into()))
    }

    /// A text field that is empty when there is no value (`""`, `<Name/>`),
    /// as the reference sends absent values.
    pub fn opt_field(self, name: &'static str, value: Option<impl Into<String>>) -> Fields {
        self.field(name, value.map(Into::into).unwrap_or_default())
    }

    pub fn bool(self, name: &'static str, value: bool) -> Fields {
        self.value(name, Value::Bool(value))
    }

    pub fn object(self, name: &'static str, value: Fields) -> Fields {
        self.value(name, Value::Object(value))
    }

    pub fn list(self, name: &'static str, list: List) -> Fields {
        self.value(name, Value::List(list))
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.0.iter().map(|(n, v)| (*n, v))
    }
}

/// Items of one kind, each an object; `item` names one in XML.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    pub item: &'static str,
    pub paging: Option<Paging>,
    pub items: Vec<Fields>,
}

impl List {
    pub fn new(item: &'static str, items: Vec<Fields>) -> List {
        debug_assert!(is_name(item), "not an element name: {item}");
        List {
            item,
            paging: None,
            items,
        }
    }

    pub fn paged(item: &'static str, paging: Paging, items: Vec<Fields>) -> List {
        List {
            paging: Some(paging),
            ..List::new(item, items)
        }
    }
}

/// The paging of a list, as the reference sends it: numbers as strings,
/// `start` and `end` 0-based, URIs host-relative (`/Advertisers/...`) and
/// empty when there is no such page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub num_pages: u64,
    pub page_size: u64,
    pub total: u64,
    pub start: i64,
    pub end: i64,
    pub uri: String,
    pub first_page_uri: String,
    pub previous_page_uri: String,
    pub next_page_uri: String,
    pub last_page_uri: String,
}

impl Paging {
    /// (name, value) in the reference's order; JSON puts `@` before each.
    fn entries(&self) -> [(&'static str, String); 11] {
        [
            ("page", self.page.to_string()),
            ("numpages", self.num_pages.to_string()),
            ("pagesize", self.page_size.to_string()),
            ("total", self.total.to_string()),
            ("start", self.start.to_string()),
            ("end", self.end.to_string()),
            ("uri", self.uri.clone()),
            ("firstpageuri", self.first_page_uri.clone()),
            ("previouspageuri", self.previous_page_uri.clone()),
            ("nextpageuri", self.next_page_uri.clone()),
            ("lastpageuri", self.last_page_uri.clone()),
        ]
    }
}

/// A whole reply: its status, extra headers and fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Fields,
}

impl Reply {
    /// 200 with no fields yet: `Reply::ok().field("Status", "OK")...`.
    pub fn ok() -> Reply {
        Reply::new(StatusCode::OK)
    }

    pub fn new(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Fields::new(),
        }
    }

    /// 200 with a paged list: `Reply::list("Actions", "Action", paging, items)`.
    pub fn list(
        name: &'static str,
        item: &'static str,
        paging: Paging,
        items: Vec<Fields>,
    ) -> Reply {
        Reply::ok().with_list(name, List::paged(item, paging, items))
    }

    pub fn field(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.body = self.body.field(name, value);
        self
    }

    pub fn opt_field(mut self, name: &'static str, value: Option<impl Into<String>>) -> Reply {
        self.body = self.body.opt_field(name, value);
        self
    }

    pub fn bool(mut self, name: &'static str, value: bool) -> Reply {
        self.body = self.body.bool(name, value);
        self
    }

    pub fn object(mut self, name: &'static str, value: Fields) -> Reply {
        self.body = self.body.object(name, value);
        self
    }

    pub fn with_list(mut self, name: &'static str, list: List) -> Reply {
        self.body = self.body.list(name, list);
        self
    }

    /// Adds every field of `fields`, in order.
    pub fn fields(mut self, fields: Fields) -> Reply {
        for (name, value) in fields.0 {
            self.body = self.body.value(name, value);
        }
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Reply {
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn body(&self) -> &Fields {
        &self.body
    }

    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail (string keys, no floats).
        serde_json::to_string(&self.body).unwrap_or_else(|_| "{}".to_string())
    }

    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ImpactRadiusResponse>");
        write_fields(&mut out, &self.body);
        out.push_str("</ImpactRadiusResponse>");
        out
    }

    pub fn render(&self, format: ApiFormat) -> HttpResponse {
        let body = match format {
            ApiFormat::Json => self.to_json(),
            ApiFormat::Xml => self.to_xml(),
        };
        let mut res = HttpResponse::build(self.status);
        res.content_type(format.content_type())
            .insert_header((header::CACHE_CONTROL, "no-store"));
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.clone()));
        }
        res.body(body)
    }
}

fn is_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let paging_entries: usize = self
            .0
            .iter()
            .map(|(_, v)| match v {
                Value::List(List {
                    paging: Some(_), ..
                }) => 11,
                _ => 0,
            })
            .sum();
        let mut map = s.serialize_map(Some(self.0.len() + paging_entries))?;
        for (name, value) in &self.0 {
            if let Value::List(List {
                paging: Some(p), ..
            }) = value
            {
                for (k, v) in p.entries() {
                    map.serialize_entry(&format!("@{k}"), &v)?;
                }
            }
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(t) => s.serialize_str(t),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Object(f) => f.serialize(s),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.items.len()))?;
                for item in &l.items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

fn write_fields(out: &mut String, fields: &Fields) {
    for (name, value) in &fields.0 {
        match value {
            Value::Text(t) => write_text_element(out, name, t),
            Value::Bool(b) => write_text_element(out, name, if *b { "true" } else { "false" }),
            Value::Object(f) => {
                if f.0.is_empty() {
                    empty_element(out, name, None);
                } else {
                    open(out, name, None);
                    write_fields(out, f);
                    close(out, name);
                }
            }
            Value::List(l) => {
                if l.items.is_empty() {
                    empty_element(out, name, l.paging.as_ref());
                } else {
                    open(out, name, l.paging.as_ref());
                    for item in &l.items {
                        if item.0.is_empty() {
                            empty_element(out, l.item, None);
                        } else {
                            open(out, l.item, None);
                            write_fields(out, item);
                            close(out, l.item);
                        }
                    }
                    close(out, name);
                }
            }
        }
    }
}

fn write_text_element(out: &mut String, name: &str, text: &str) {
    if text.is_empty() {
        empty_element(out, name, None);
    } else {
        open(out, name, None);
        escape_into(out, text, false);
        close(out, name);
    }
}

fn attributes(out: &mut String, paging: Option<&Paging>) {
    if let Some(p) = paging {
        for (k, v) in p.entries() {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_into(out, &v, true);
            out.push('"');
        }
    }
}

fn open(out: &mut String, name: &str, paging: Option<&Paging>) {
    out.push('<');
    out.push_str(name);
    attributes(out, paging);
    out.push('>');
}

fn empty_element(out: &mut String, name: &str, paging: Option<&Paging>) {
    out.push('<');
    out.push_str(name);
    attributes(out, paging);
    out.push_str("/>");
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Escapes XML text (or an attribute value). Characters XML 1.0 cannot
/// carry (control characters other than tab and line breaks, U+FFFE,
/// U+FFFF) become U+FFFD; a carriage return is kept as `&#13;` (a parser
/// would turn a literal one into a line feed), and in attributes tabs and
/// line feeds too (a parser would turn them into spaces).
pub fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// One refused field of a request, by its reference name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The numbers of a rate limit, for a 429 and its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the limit resets (also the `Retry-After`).
    pub reset_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// 400: the request cannot be read at all (a message says why).
    BadRequest(String),
    /// 401 with `WWW-Authenticate`.
    Unauthorized,
    /// 403: authenticated, but the token may not do this.
    Forbidden(String),
    /// 404: what was not found (another brand's ids are not found either).
    NotFound(String),
    /// 409: a rule the database enforces.
    Conflict(String),
    /// 413: the body is over this many bytes.
    PayloadTooLarge(usize),
    /// 422: the refused fields.
    Validation(Vec<FieldError>),
    /// 429 with `Retry-After` and `X-RateLimit-*`.
    RateLimited(RateLimit),
    /// 503: the database did not answer.
    Unavailable,
    /// 500: logged with its detail, which the reply does not show.
    Internal(String),
}

/// An API error in the format of its request: rendered in the reference
/// error shape, `{"Status":"ERROR","Message":"...","Errors":[...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub format: ApiFormat,
    pub kind: ApiErrorKind,
}

impl ApiError {
    /// An error of the web layer (the `web::db` helper's), for the API.
    pub fn from_app(format: ApiFormat, e: super::super::error::AppError) -> ApiError {
        use super::super::error::AppError as E;
        // A server-side failure keeps its causes for the log (written once,
        // when the reply is made); the reply tells the client nothing of them.
        let kind = match e {
            E::NotFound => ApiErrorKind::NotFound("Not found".into()),
            E::Forbidden(m) => ApiErrorKind::Forbidden(m),
            E::BadRequest(m) => ApiErrorKind::BadRequest(m),
            E::Conflict(m) => ApiErrorKind::Conflict(m),
            E::Invalid { field, message } => {
                ApiErrorKind::Validation(vec![FieldError::new(field, message)])
            }
            E::Unavailable(_) => {
                e.log();
                ApiErrorKind::Unavailable
            }
            E::Internal(_) | E::Failed(_) => {
                ApiErrorKind::Internal(super::super::error::cause_chain(&e))
            }
            E::Csrf | E::LoginRequired(_) => ApiErrorKind::Internal(e.to_string()),
        };
        format.error(kind)
    }

    /// The reply this error answers with.
    pub fn reply(&self) -> Reply {
        let reply = Reply::new(self.status_code()).field("Status", "ERROR");
        match &self.kind {
            ApiErrorKind::BadRequest(m)
            | ApiErrorKind::Forbidden(m)
            | ApiErrorKind::NotFound(m)
            | ApiErrorKind::Conflict(m) => reply.field("Message", m.clone()),
            ApiErrorKind::Unauthorized => reply
                .field(
                    "Message",
                    "Authentication failed: use HTTP Basic auth with your Account SID as the \
                     user name and one of its auth tokens as the password.",
                )
                .header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(WWW_AUTHENTICATE),
                ),
            ApiErrorKind::PayloadTooLarge(limit) => reply.field(
                "Message",
                format!("The request body is over the limit of {} KB.", limit / 1024),
            ),
            ApiErrorKind::Validation(errors) => {
                reply.field("Message", "Validation Failed").with_list(
                    "Errors",
                    List::new(
                        "Error",
                        errors
                            .iter()
                            .map(|e| {
                                Fields::new()
                                    .field("Field", e.field.clone())
                                    .field("Message", e.message.clone())
                            })
                            .collect(),
                    ),
                )
            }
            ApiErrorKind::RateLimited(r) => {
                let n = |v: u64| HeaderValue::from(v);
                reply
                    .field(
                        "Message",
                        format!(
                            "Too many requests: the limit is {} an hour. Try again in {} seconds.",
                            r.limit, r.reset_secs
                        ),
                    )
                    .header(header::RETRY_AFTER, n(r.reset_secs))
                    .header(HeaderName::from_static("x-ratelimit-limit"), n(r.limit))
                    .header(
                        HeaderName::from_static("x-ratelimit-remaining"),
                        n(r.remaining),
                    )
                    .header(
                        HeaderName::from_static("x-ratelimit-reset"),
                        n(r.reset_secs),
                    )
            }
            ApiErrorKind::Unavailable => reply
                .field(
                    "Message",
                    "Temporarily unavailable: the database did not answer. Try again.",
                )
                .header(header::RETRY_AFTER, HeaderValue::from_static("5")),
            ApiErrorKind::Internal(_) => reply.field(
                "Message",
                "An unexpected error occurred; nothing was changed. It has been logged.",
            ),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ApiErrorKind::Internal(m) => write!(f, "internal error: {m}"),
            kind => write!(f, "{} ({kind:?})", self.status_code()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            ApiErrorKind::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiErrorKind::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiErrorKind::NotFound(_) => StatusCode::NOT_FOUND,
            ApiErrorKind::Conflict(_) => StatusCode::CONFLICT,
            ApiErrorKind::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiErrorKind::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiErrorKind::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiErrorKind::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiErrorKind::Internal(detail) = &self.kind {
            tracing::error!(error = %detail, "API internal error");
        }
        self.reply().render(self.format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    fn xml(inner: &str) -> String {
        format!("{PROLOG}<ImpactRadiusResponse>{inner}</ImpactRadiusResponse>")
    }

    #[test]
    fn json_when_the_path_ends_in_json_or_json_is_accepted() {
        use ApiFormat::{Json, Xml};
        let cases: &[(&str, &[&[u8]], ApiFormat)] = &[
            ("/Advertisers/S/Conversions", &[], Xml),
            ("/Advertisers/S/Conversions.json", &[], Json),
            ("/Advertisers/S/Conversions", &[b"application/json"], Json),
            ("/Advertisers/S/Conversions", &[b"Application/JSON"], Json),
            (
                "/Advertisers/S/Conversions",
                &[b"text/html, application/json;q=0.9"],
                Json,
            ),
            (
                "/Advertisers/S/Conversions",
                &[b"text/xml", b"application/json"],
                Json,
            ),
            (
                "/Advertisers/S/Conversions",
                &[b"application/json; q=0"],
                Xml,
            ),
            ("/Advertisers/S/Conversions", &[b"*/*"], Xml),
            ("/Advertisers/S/Conversions", &[b"application/xml"], Xml),
            ("/Advertisers/S/Conversions", &[b"application/jsonp"], Xml),
            ("/Advertisers/S/Conversions", &[b"\xff\xfe"], Xml),
            // The suffix wins over an Accept that asks for XML.
            (
                "/Advertisers/S/Conversions.json",
                &[b"application/xml"],
                Json,
            ),
            ("/Advertisers/S/Conversions.xml", &[], Xml),
        ];
        for (path, accept, want) in cases {
            assert_eq!(
                ApiFormat::negotiate(path, accept),
                *want,
                "{path} {accept:?}"
            );
        }
        assert_eq!(Json.content_type(), "application/json");
        assert_eq!(Xml.content_type(), "application/xml; charset=utf-8");
    }

    #[test]
    fn a_reply_renders_as_json_and_xml_in_field_order() {
        let r = Reply::ok()
            .field("Status", "OK")
            .field("ActionId", "123")
            .field("Uri", "/Advertisers/PDsid/Actions/123")
            .opt_field("PromoCode", None::<String>)
            .bool("Duplicate", false)
            .bool("Locked", true);
        assert_eq!(
            r.to_json(),
            r#"{"Status":"OK","ActionId":"123","Uri":"/Advertisers/PDsid/Actions/123","PromoCode":"","Duplicate":false,"Locked":true}"#
        );
        assert_eq!(
            r.to_xml(),
            xml("<Status>OK</Status><ActionId>123</ActionId><Uri>/Advertisers/PDsid/Actions/123</Uri><PromoCode/><Duplicate>false</Duplicate><Locked>true</Locked>")
        );
        assert_eq!(Reply::ok().to_json(), "{}");
        assert_eq!(Reply::ok().to_xml(), xml(""));
    }

    #[test]
    fn text_is_escaped() {
        let nasty = "a<b & \"c\" 'd' > e]]>\r\n\t\u{0}\u{1f}\u{7f}\u{FFFF}é😀";
        let r = Reply::ok().field("Message", nasty);
        assert_eq!(
            r.to_xml(),
            xml("<Message>a&lt;b &amp; \"c\" 'd' &gt; e]]&gt;&#13;\n\t\u{FFFD}\u{FFFD}\u{7f}\u{FFFD}é😀</Message>")
        );
        assert_eq!(
            r.to_json(),
            "{\"Message\":\"a<b & \\\"c\\\" 'd' > e]]>\\r\\n\\t\\u0000\\u001f\u{7f}\u{FFFF}é😀\"}"
        );
        // What goes out as JSON reads back as the same text.
        let back: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
        assert_eq!(back["Message"], nasty);
        // Attribute values escape quotes and keep tabs and line feeds.
        let mut out = String::new();
        escape_into(&mut out, "a\"b'<&>\t\n\r", true);
        assert_eq!(out, "a&quot;b'&lt;&amp;&gt;&#9;&#10;&#13;");
    }

    #[test]
    fn objects_nest() {
        let r = Reply::ok().object(
            "CorporateAddress",
            Fields::new().field("City", "Paris").field("Country", "FR"),
        );
        assert_eq!(
            r.to_json(),
            r#"{"CorporateAddress":{"City":"Paris","Country":"FR"}}"#
        );
        assert_eq!(
            r.to_xml(),
            xml("<CorporateAddress><City>Paris</City><Country>FR</Country></CorporateAddress>")
        );
        let empty = Reply::ok().object("Nothing", Fields::new());
        assert_eq!(empty.to_json(), r#"{"Nothing":{}}"#);
        assert_eq!(empty.to_xml(), xml("<Nothing/>"));
    }

    fn paging() -> Paging {
        Paging {
            page: 1,
            num_pages: 3,
            page_size: 2,
            total: 5,
            start: 0,
            end: 1,
            uri: "/Advertisers/S/Actions?CampaignId=7&State=PENDING".into(),
            first_page_uri: "/Advertisers/S/Actions?PageSize=2&Page=1&CampaignId=7".into(),
            previous_page_uri: String::new(),
            next_page_uri: "/Advertisers/S/Actions?PageSize=2&Page=2&CampaignId=7".into(),
            last_page_uri: "/Advertisers/S/Actions?PageSize=2&Page=3&CampaignId=7".into(),
        }
    }

    #[test]
    fn a_paged_list_puts_its_paging_beside_it_in_json_and_on_it_in_xml() {
        let items = vec![
            Fields::new().field("Id", "1").field("State", "PENDING"),
            Fields::new()
                .field("Id", "2")
                .opt_field("PromoCode", None::<&str>),
        ];
        let r = Reply::list("Actions", "Action", paging(), items);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.to_json(),
            concat!(
                r#"{"@page":"1","@numpages":"3","@pagesize":"2","@total":"5","@start":"0","@end":"1","#,
                r#""@uri":"/Advertisers/S/Actions?CampaignId=7&State=PENDING","#,
                r#""@firstpageuri":"/Advertisers/S/Actions?PageSize=2&Page=1&CampaignId=7","#,
                r#""@previouspageuri":"","#,
                r#""@nextpageuri":"/Advertisers/S/Actions?PageSize=2&Page=2&CampaignId=7","#,
                r#""@lastpageuri":"/Advertisers/S/Actions?PageSize=2&Page=3&CampaignId=7","#,
                r#""Actions":[{"Id":"1","State":"PENDING"},{"Id":"2","PromoCode":""}]}"#
            )
        );
        assert_eq!(
            r.to_xml(),
            xml(concat!(
                r#"<Actions page="1" numpages="3" pagesize="2" total="5" start="0" end="1" "#,
                r#"uri="/Advertisers/S/Actions?CampaignId=7&amp;State=PENDING" "#,
                r#"firstpageuri="/Advertisers/S/Actions?PageSize=2&amp;Page=1&amp;CampaignId=7" "#,
                r#"previouspageuri="" "#,
                r#"nextpageuri="/Advertisers/S/Actions?PageSize=2&amp;Page=2&amp;CampaignId=7" "#,
                r#"lastpageuri="/Advertisers/S/Actions?PageSize=2&amp;Page=3&amp;CampaignId=7">"#,
                r#"<Action><Id>1</Id><State>PENDING</State></Action>"#,
                r#"<Action><Id>2</Id><PromoCode/></Action></Actions>"#
            ))
        );
        let none = Reply::list(
            "Actions",
            "Action",
            Paging {
                total: 0,
                end: -1,
                ..Paging::default()
            },
            vec![],
        );
        assert!(none
            .to_json()
            .ends_with(r#""@lastpageuri":"","Actions":[]}"#));
        assert!(none
            .to_xml()
            .contains(r#" lastpageuri=""/></ImpactRadiusResponse>"#));
    }

    fn rendered(e: &ApiError) -> (u16, Vec<(String, String)>, String) {
        let res = e.error_response();
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = res
            .into_body()
            .try_into_bytes()
            .expect("a body in one piece");
        (
            status,
            headers,
            String::from_utf8(body.to_vec()).expect("utf-8"),
        )
    }

    fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn validation_errors_have_the_reference_shape() {
        let errors = vec![
            FieldError::new("EventDate", "Not a date: `yesterday`."),
            FieldError::new("OrderId", "Required."),
        ];
        let e = ApiFormat::Json.invalid(errors.clone());
        let (status, headers, body) = rendered(&e);
        assert_eq!(status, 422);
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_eq!(
            body,
            r#"{"Status":"ERROR","Message":"Validation Failed","Errors":[{"Field":"EventDate","Message":"Not a date: `yesterday`."},{"Field":"OrderId","Message":"Required."}]}"#
        );
        let (status, headers, body) = rendered(&ApiFormat::Xml.invalid(errors));
        assert_eq!(status, 422);
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/xml; charset=utf-8")
        );
        assert_eq!(
            body,
            xml("<Status>ERROR</Status><Message>Validation Failed</Message><Errors><Error><Field>EventDate</Field><Message>Not a date: `yesterday`.</Message></Error><Error><Field>OrderId</Field><Message>Required.</Message></Error></Errors>")
        );
        // Clients look for this exact text.
        assert!(body.contains("<Status>ERROR</Status>"));
    }

    #[test]
    fn each_error_has_its_status_and_headers() {
        let (status, headers, body) = rendered(&ApiFormat::Xml.unauthorized());
        assert_eq!(status, 401);
        assert_eq!(
            header(&headers, "www-authenticate"),
            Some("Basic realm=\"Promodesk API\"")
        );
        assert!(
            body.starts_with(&xml("<Status>ERROR</Status><Message>Authentication failed")[..80])
        );
        let (status, _, body) =
            rendered(&ApiFormat::Json.not_found("Campaign 9 is not one of yours."));
        assert_eq!(status, 404);
        assert_eq!(
            body,
            r#"{"Status":"ERROR","Message":"Campaign 9 is not one of yours."}"#
        );
        let (status, _, body) = rendered(&ApiFormat::Json.too_large(64 * 1024));
        assert_eq!(status, 413);
        assert!(body.contains("64 KB"), "{body}");
        let forbidden =
            ApiFormat::Json.error(ApiErrorKind::Forbidden("Not for this token.".into()));
        assert_eq!(rendered(&forbidden).0, 403);
        let limited = ApiFormat::Json.error(ApiErrorKind::RateLimited(RateLimit {
            limit: 1000,
            remaining: 0,
            reset_secs: 700,
        }));
        let (status, headers, _) = rendered(&limited);
        assert_eq!(status, 429);
        assert_eq!(header(&headers, "retry-after"), Some("700"));
        assert_eq!(header(&headers, "x-ratelimit-limit"), Some("1000"));
        assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("0"));
        assert_eq!(header(&headers, "x-ratelimit-reset"), Some("700"));
        // An internal error's detail stays in the log.
        let internal = ApiFormat::Json.error(ApiErrorKind::Internal("password=hunter2".into()));
        let (status, _, body) = rendered(&internal);
        assert_eq!(status, 500);
        assert!(!body.contains("hunter2"), "{body}");
        assert_eq!(
            rendered(&ApiFormat::Json.error(ApiErrorKind::Unavailable)).0,
            503
        );
    }

    #[test]
    fn web_errors_map_to_api_errors() {
        use crate::web::error::AppError;
        let f = ApiFormat::Json;
        assert_eq!(
            ApiError::from_app(f, AppError::NotFound).kind,
            ApiErrorKind::NotFound("Not found".into())
        );
        assert_eq!(
            ApiError::from_app(
                f,
                AppError::Invalid {
                    field: "CampaignId",
                    message: "Unknown.".into()
                }
            )
            .kind,
            ApiErrorKind::Validation(vec![FieldError::new("CampaignId", "Unknown.")])
        );
        assert_eq!(
            ApiError::from_app(f, AppError::Unavailable("down".into())).kind,
            ApiErrorKind::Unavailable
        );
    }

    #[test]
    fn replies_carry_their_status_and_headers() {
        let res = Reply::new(StatusCode::CREATED)
            .field("Status", "OK")
            .header(
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderValue::from_static("999"),
            )
            .render(ApiFormat::Xml);
        assert_eq!(res.status(), StatusCode::CREATED);
        let h = res.headers();
        assert_eq!(
            h.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()),
            Some("999")
        );
        assert_eq!(
            h.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
    }
}
