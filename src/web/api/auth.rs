//! HTTP Basic authentication of the brand API: the user name is the
//! brand's Account SID, the password one of its auth tokens, and the SID in
//! the path (`/Advertisers/{AccountSid}/...`) must be the authenticated one.

use super::reply::{ApiError, ApiFormat};
use crate::domain::token::TokenId;
use crate::domain::BrandId;
use crate::store::api_tokens::{self, ApiPrincipal};
use crate::web::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest `Authorization` value read (a SID of 64 characters and a
/// token of 43 take 148 in base64).
const MAX_CREDENTIALS: usize = 1024;

/// The name of the path segment that holds the Account SID.
pub const ACCOUNT_SID: &str = "AccountSid";

/// Credentials of an `Authorization: Basic` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub user: String,
    pub password: String,
}

/// Why an `Authorization` header was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicError {
    /// Another scheme (Bearer...), or no credentials after "Basic".
    NotBasic,
    TooLong,
    BadBase64,
    NotUtf8,
    /// The decoded text has no `:` between user and password.
    NoColon,
    EmptyUser,
    EmptyPassword,
}

/// Reads `Authorization: Basic base64(user:password)` (RFC 7617): the
/// scheme in any case, standard base64 with or without padding, UTF-8; the
/// user name ends at the first colon (a password may contain colons).
pub fn parse_basic(value: &[u8]) -> Result<BasicCredentials, BasicError> {
    let value = value.trim_ascii();
    if value.len() > MAX_CREDENTIALS {
        return Err(BasicError::TooLong);
    }
    let (scheme, rest) = match value.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(i) => (&value[..i], value[i..].trim_ascii()),
        None => return Err(BasicError::NotBasic),
    };
    if !scheme.eq_ignore_ascii_case(b"basic") || rest.is_empty() {
        return Err(BasicError::NotBasic);
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let decoded = engine.decode(rest).map_err(|_| BasicError::BadBase64)?;
    let text = String::from_utf8(decoded).map_err(|_| BasicError::NotUtf8)?;
    let (user, password) = text.split_once(':').ok_or(BasicError::NoColon)?;
    if user.is_empty() {
        return Err(BasicError::EmptyUser);
    }
    if password.is_empty() {
        return Err(BasicError::EmptyPassword);
    }
    Ok(BasicCredentials {
        user: user.to_string(),
        password: password.to_string(),
    })
}

/// A text that can be an Account SID (as the schema checks them): asking
/// the database about anything else is pointless.
fn plausible_sid(sid: &str) -> bool {
    (8..=64).contains(&sid.len()) && sid.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// When this server last wrote each token's `last_used_at`: it writes at
/// most once a minute per token (one per server, shared by its workers).
#[derive(Debug, Default)]
pub struct TokenTouches {
    last: Mutex<HashMap<(BrandId, TokenId), Instant>>,
}

impl TokenTouches {
    pub const EVERY: Duration = Duration::from_secs(60);

    /// True when the token's use should be written now (and notes that it
    /// is, so that concurrent requests do not all write).
    pub fn due(&self, brand: BrandId, token: TokenId, now: Instant) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return true;
        };
        match last.get(&(brand, token)) {
            Some(at) if now.saturating_duration_since(*at) < Self::EVERY => false,
            _ => {
                last.insert((brand, token), now);
                true
            }
        }
    }
}

/// An authenticated API request: who it acts for, and the format to answer
/// in. Extracting it reads only the headers and the path, never the body.
/// Missing, malformed or wrong credentials, or a path SID other than the
/// authenticated one, are a 401 in the request's format.
#[derive(Debug, Clone)]
pub struct ApiAuth {
    pub principal: ApiPrincipal,
    /// The authenticated (and path's) Account SID.
    pub account_sid: String,
    pub format: ApiFormat,
}

impl ApiAuth {
    pub fn brand(&self) -> BrandId {
        self.principal.brand
    }
}

impl FromRequest for ApiAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let format = ApiFormat::of(req);
        let credentials = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| parse_basic(v.as_bytes()));
        let path_sid = req.match_info().get(ACCOUNT_SID).map(str::to_string);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let touches = req.app_data::<web::Data<TokenTouches>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                format.error(super::reply::ApiErrorKind::Internal(
                    "application state missing".into(),
                ))
            })?;
            let Some(path_sid) = path_sid else {
                return Err(format.error(super::reply::ApiErrorKind::Internal(
                    "an API route without {AccountSid}".into(),
                )));
            };
            let creds = match credentials {
                Some(Ok(c)) => c,
                Some(Err(why)) => {
                    tracing::info!(?why, "API credentials unreadable");
                    return Err(format.unauthorized());
                }
                None => return Err(format.unauthorized()),
            };
            if creds.user != path_sid {
                tracing::info!("API credentials of another Account SID than the path's");
                return Err(format.unauthorized());
            }
            if !plausible_sid(&creds.user) {
                return Err(format.unauthorized());
            }
            let sid = creds.user.clone();
            let principal = super::db(&state, format, move |c| {
                let found = api_tokens::authenticate(c, &sid, &creds.password)?;
                if let Some(p) = &found {
                    let due = touches
                        .as_ref()
                        .is_none_or(|t| t.due(p.brand, p.token_id, Instant::now()));
                    if due {
                        // The request does not fail for its bookkeeping.
                        if let Err(e) = api_tokens::touch(c, p.brand, p.token_id) {
                            tracing::warn!(error = %e, "last use of an API token not written");
                        }
                    }
                }
                Ok(found)
            })
            .await?;
            match principal {
                Some(principal) => Ok(ApiAuth {
                    principal,
                    account_sid: creds.user,
                    format,
                }),
                None => {
                    tracing::info!("API credentials refused");
                    Err(format.unauthorized())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    fn ok(user: &str, password: &str) -> Result<BasicCredentials, BasicError> {
        Ok(BasicCredentials {
            user: user.into(),
            password: password.into(),
        })
    }

    #[test]
    fn reads_basic_credentials() {
        assert_eq!(
            parse_basic(basic("PDabc12345:tok-en_1").as_bytes()),
            ok("PDabc12345", "tok-en_1")
        );
        // The scheme in any case, spaces around, a password with colons.
        assert_eq!(
            parse_basic(format!("  bAsIc   {}  ", &basic("sid:a:b:")[6..]).as_bytes()),
            ok("sid", "a:b:")
        );
        // Padding may be left out ("a:bc" is "YTpiYw==").
        assert_eq!(parse_basic(b"Basic YTpiYw"), ok("a", "bc"));
        assert_eq!(parse_basic(b"Basic YTpiYw=="), ok("a", "bc"));
        // UTF-8 text is read as such.
        assert_eq!(parse_basic(basic("ü:ß").as_bytes()), ok("ü", "ß"));
    }

    #[test]
    fn refuses_what_is_not_basic_credentials() {
        for (value, why) in [
            (&b""[..], BasicError::NotBasic),
            (b"Basic", BasicError::NotBasic),
            (b"Basic   ", BasicError::NotBasic),
            (b"Bearer YTpiYw==", BasicError::NotBasic),
            (b"BasicYTpiYw==", BasicError::NotBasic),
            (b"Basic YTpiYw==!", BasicError::BadBase64),
            (b"Basic YTpi Yw==", BasicError::BadBase64),
            (b"Basic YTpiY", BasicError::BadBase64),
            (b"Basic ____", BasicError::BadBase64),
            // "a:\xff" and "\xc3(:b": not UTF-8.
            (b"Basic YTr/", BasicError::NotUtf8),
            (b"Basic wyg6Yg==", BasicError::NotUtf8),
            // "nocolon", ":b", "a:".
            (b"Basic bm9jb2xvbg==", BasicError::NoColon),
            (b"Basic OmI=", BasicError::EmptyUser),
            (b"Basic YTo=", BasicError::EmptyPassword),
            (b"Basic Og==", BasicError::EmptyUser),
        ] {
            assert_eq!(
                parse_basic(value),
                Err(why),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        let long = basic(&format!("sid:{}", "x".repeat(1000)));
        assert_eq!(parse_basic(long.as_bytes()), Err(BasicError::TooLong));
        // Bytes that are not text at all.
        assert_eq!(parse_basic(b"Basic \xff\xfe"), Err(BasicError::BadBase64));
    }

    #[test]
    fn sids_are_checked_for_shape_before_asking_the_database() {
        assert!(plausible_sid("PDabcdefgh0123456789"));
        assert!(!plausible_sid("short"));
        assert!(!plausible_sid("PD'; DROP TABLE brands;--"));
        assert!(!plausible_sid(&"a".repeat(65)));
    }

    #[test]
    fn a_tokens_use_is_written_once_a_minute() {
        let t = TokenTouches::default();
        let (b, k) = (BrandId(1), TokenId(7));
        let start = Instant::now();
        assert!(t.due(b, k, start));
        assert!(!t.due(b, k, start + Duration::from_secs(59)));
        assert!(t.due(b, TokenId(8), start), "each token on its own");
        assert!(t.due(BrandId(2), k, start), "each brand on its own");
        assert!(t.due(b, k, start + Duration::from_secs(60)));
        assert!(!t.due(b, k, start + Duration::from_secs(61)));
    }
}
