//! The brand API under `/Advertisers/{AccountSid}/...`, in the reference
//! product's shape (existing integrations point at it unchanged): HTTP
//! Basic auth with the Account SID and an auth token (`auth`), replies as
//! XML by default or JSON (`reply`), errors in the reference error shape.
//! The browser UI's session and CSRF guard do not apply here
//! (`csrf::exempt`): a request carries its credentials itself.
//!
//! An endpoint takes `ApiAuth` (which reads only headers and path), reads
//! its body itself if it has one (at most `BODY_LIMIT` bytes), calls the
//! store through `api::db`, and answers `Result<HttpResponse, ApiError>`
//! with `Reply::...render(auth.format)`.

pub mod auth;
pub mod company;
pub mod reply;

pub use auth::{ApiAuth, TokenTouches};
pub use reply::{ApiError, ApiErrorKind, ApiFormat, FieldError, Fields, List, Paging, Reply};

use super::AppState;
use crate::store::StoreError;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::PgConnection;

/// The largest request body an endpoint reads (413 beyond).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The path every API route starts with.
pub const PREFIX: &str = "/Advertisers";

/// Runs store code on a pooled connection off the async workers, as
/// `web::db` does, with its errors in the API's shape.
pub async fn db<T, F>(state: &AppState, format: ApiFormat, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, StoreError> + Send + 'static,
{
    super::db(state, f)
        .await
        .map_err(|e| ApiError::from_app(format, e))
}

/// The API's routes. Its unknown paths are a 404 in the API's format.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .configure(company::configure)
            .default_service(web::to(unknown)),
    );
}

async fn unknown(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiFormat::of(&req).not_found(format!("There is no API resource at {}.", req.path())))
}
