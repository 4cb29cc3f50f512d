//! The logged-in user, CSRF tokens and flash messages, all kept in the
//! (signed and encrypted) session cookie.

use super::error::AppError;
use super::layout::{Flash, Layout, UserView};
use super::{db, AppState};
use crate::domain::{BrandId, Role, UserId};
use crate::store::accounts::{self, SessionUser};
use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use std::future::Future;
use std::pin::Pin;

const USER_ID: &str = "uid";
const BRAND_ID: &str = "bid";
const AUTH_VERSION: &str = "av";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";

fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(CSRF) {
        return t;
    }
    let t = new_token();
    let _ = session.insert(CSRF, &t);
    t
}

/// Constant-time comparison of the submitted token with the session's.
pub fn csrf_matches(session: &Session, submitted: &str) -> bool {
    match session.get::<String>(CSRF) {
        Ok(Some(expected)) if !submitted.is_empty() && expected.len() == submitted.len() => {
            expected
                .bytes()
                .zip(submitted.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        }
        _ => false,
    }
}

pub fn verify_csrf(session: &Session, submitted: &str) -> Result<(), AppError> {
    if csrf_matches(session, submitted) {
        Ok(())
    } else {
        Err(AppError::Csrf)
    }
}

pub fn push_flash(session: &Session, kind: &str, message: impl Into<String>) {
    let mut list: Vec<Flash> = session.get(FLASH).ok().flatten().unwrap_or_default();
    list.push(Flash {
        kind: kind.to_string(),
        message: message.into(),
    });
    let _ = session.insert(FLASH, list);
}

pub fn take_flash(session: &Session) -> Vec<Flash> {
    let list: Vec<Flash> = session.get(FLASH).ok().flatten().unwrap_or_default();
    if !list.is_empty() {
        session.remove(FLASH);
    }
    list
}

/// Starts a fresh session for a user who just proved their password: a new
/// session (so a planted cookie cannot be reused) and a new CSRF token.
pub fn log_in(
    session: &Session,
    brand: BrandId,
    user: UserId,
    auth_version: i32,
) -> Result<(), AppError> {
    session.renew();
    session.remove(CSRF);
    let insert = |k: &str, v: i64| session.insert(k, v).map_err(AppError::internal);
    insert(BRAND_ID, brand.0)?;
    insert(USER_ID, user.0)?;
    insert(AUTH_VERSION, i64::from(auth_version))?;
    let _ = session.insert(CSRF, new_token());
    Ok(())
}

pub fn log_out(session: &Session) {
    session.purge();
}

/// Layout for a page seen without logging in (login, errors).
pub fn anonymous_layout(session: &Session, title: &str) -> Layout {
    Layout {
        title: title.to_string(),
        section: "",
        user: None,
        csrf: csrf_token(session),
        flash: take_flash(session),
    }
}

/// The logged-in user of a request. Extracting it from a request without a
/// valid session redirects to the login page.
pub struct CurrentUser {
    pub user: SessionUser,
    pub session: Session,
}

impl CurrentUser {
    pub fn brand(&self) -> BrandId {
        self.user.brand_id
    }

    pub fn id(&self) -> UserId {
        self.user.user_id
    }

    /// The one role guard: every handler that changes data calls it.
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        if self.user.role.allows(needed) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "Your role ({}) cannot do this; it needs the {} role. Ask an admin of {}.",
                self.user.role, needed, self.user.brand_name
            )))
        }
    }

    pub fn layout(&self, section: &'static str, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            section,
            user: Some(UserView {
                email: self.user.email.clone(),
                brand_name: self.user.brand_name.clone(),
                role: self.user.role.to_string(),
            }),
            csrf: csrf_token(&self.session),
            flash: take_flash(&self.session),
        }
    }

    pub fn flash(&self, kind: &str, message: impl Into<String>) {
        push_flash(&self.session, kind, message);
    }
}

/// The ids a signed session cookie carries, not yet checked against the
/// user row. `CurrentUser` checks them on its own connection; a hot page may
/// check them on the connection it reads with (one trip to the database
/// pool instead of two) through `SessionClaims::key` and `verify_claims`.
pub struct SessionClaims {
    key: ClaimKey,
    session: Session,
    next: String,
}

/// What a claim check needs on a database thread.
#[derive(Debug, Clone, Copy)]
pub struct ClaimKey {
    brand: BrandId,
    user: UserId,
    auth_version: i64,
}

impl ClaimKey {
    pub fn brand(&self) -> BrandId {
        self.brand
    }
}

/// The user behind a claim when it still holds: the user exists in the
/// brand and the password (or role) has not changed since the login.
pub fn verify_claims(
    conn: &mut diesel::PgConnection,
    key: ClaimKey,
) -> Result<Option<SessionUser>, crate::store::StoreError> {
    Ok(accounts::session_user(conn, key.brand, key.user)?
        .filter(|u| i64::from(u.auth_version) == key.auth_version))
}

impl SessionClaims {
    pub fn key(&self) -> ClaimKey {
        self.key
    }

    /// The user the claim was checked for.
    pub fn accept(self, user: SessionUser) -> CurrentUser {
        CurrentUser {
            user,
            session: self.session,
        }
    }

    /// The claim no longer holds: the session is dropped and the answer is
    /// the login page (back here afterwards).
    pub fn reject(self) -> AppError {
        self.session.purge();
        AppError::LoginRequired(self.next)
    }
}

impl FromRequest for SessionClaims {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let next = if req.method() == actix_web::http::Method::GET {
            req.uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let ids = (
            session.get::<i64>(BRAND_ID).ok().flatten(),
            session.get::<i64>(USER_ID).ok().flatten(),
            session.get::<i64>(AUTH_VERSION).ok().flatten(),
        );
        std::future::ready(match ids {
            (Some(b), Some(u), Some(av)) => Ok(SessionClaims {
                key: ClaimKey {
                    brand: BrandId(b),
                    user: UserId(u),
                    auth_version: av,
                },
                session,
                next,
            }),
            _ => Err(AppError::LoginRequired(next)),
        })
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let claims = SessionClaims::from_request(req, payload).into_inner();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let claims = claims?;
            let state =
                state.ok_or_else(|| AppError::Internal("application state missing".into()))?;
            let key = claims.key();
            match db(&state, move |c| verify_claims(c, key)).await? {
                Some(user) => Ok(claims.accept(user)),
                None => Err(claims.reject()),
            }
        })
    }
}
