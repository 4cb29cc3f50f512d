//! The one error type handlers return, and how each case is shown.

use super::layout::Layout;
use super::session::CurrentUser;
use crate::store::StoreError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("the form expired or came from another site")]
    Csrf,
    #[error("login required")]
    LoginRequired(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// A form field's value was refused by the store.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Invalid { field, message } => AppError::Invalid { field, message },
            StoreError::Db(e) => AppError::Internal(e.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub heading: String,
    pub message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::LoginRequired(_) => StatusCode::SEE_OTHER,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::LoginRequired(next) = self {
            let location = if next.is_empty() || next == "/" {
                "/login".to_string()
            } else {
                format!("/login?next={}", super::urlencode(next))
            };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        if let AppError::Internal(detail) = self {
            tracing::error!(error = %detail, "internal error");
        }
        let (heading, message) = self.text();
        self.page(Layout::bare(&heading), heading, message)
    }
}

impl AppError {
    /// The page's heading and message.
    fn text(&self) -> (String, String) {
        match self {
            AppError::NotFound => ("Not found".to_string(), "There is nothing here, or it belongs to another brand.".to_string()),
            AppError::Forbidden(m) => ("Not allowed".to_string(), m.clone()),
            AppError::Csrf => (
                "This form has expired".to_string(),
                "For your security the form could not be accepted: it was open too long, or it came from \
                 another site. Go back, reload the page and submit it again."
                    .to_string(),
            ),
            AppError::BadRequest(m) | AppError::Conflict(m) | AppError::Invalid { message: m, .. } => {
                ("That did not work".to_string(), m.clone())
            }
            AppError::Unavailable(_) => (
                "Temporarily unavailable".to_string(),
                "The database did not answer. Try again in a moment.".to_string(),
            ),
            AppError::Internal(_) => (
                "Something went wrong".to_string(),
                "An unexpected error occurred; nothing was changed. It has been logged.".to_string(),
            ),
            AppError::LoginRequired(_) => unreachable_login(),
        }
    }

    fn page(&self, layout: Layout, heading: String, message: String) -> HttpResponse {
        let status = self.status_code();
        let tpl = ErrorPage {
            layout,
            status: status.as_u16(),
            heading,
            message,
        };
        super::page(status, &tpl)
    }

    /// Errors shown inside the logged-in user's layout (navigation, user
    /// menu). Not the database's own failures: their page asks nothing more
    /// of it.
    fn shows_user(&self) -> bool {
        matches!(
            self,
            AppError::NotFound
                | AppError::Forbidden(_)
                | AppError::Csrf
                | AppError::BadRequest(_)
                | AppError::Conflict(_)
                | AppError::Invalid { .. }
        )
    }
}

/// The navigation section a path belongs to, for the error page's menu.
fn section_of(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "" => "dashboard",
        "codes" | "codes.csv" => "codes",
        "uploads" => "uploads",
        "partners" => "partners",
        "deals" => "deals",
        "reports" => "reports",
        "monitoring" => "monitoring",
        "settings" => "settings",
        "help" => "help",
        _ => "",
    }
}

/// Error pages (a bad path or id, a refused form...) get the layout of the
/// logged-in user: an error raised by a handler, an extractor (PathConfig)
/// or the default service is rendered again with the navigation when the
/// request's session holds a user. Strangers keep the bare page.
pub async fn with_user_layout(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // (The request is not held before routing: routing needs it unshared.
    // Errors come back as responses; a middleware's own error passes on.)
    let res = next.call(req).await?;
    let (text, status) = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(e) if e.shows_user() => (e.text(), e.status_code()),
        _ => return Ok(res.map_into_left_body()),
    };
    let (http, _) = res.into_parts();
    let user = CurrentUser::from_request(&http, &mut Payload::None).await;
    let (heading, message) = text;
    let layout = match user {
        Ok(user) => user.layout(section_of(http.path()), heading.clone()),
        Err(_) => Layout::bare(&heading),
    };
    let tpl = ErrorPage {
        layout,
        status: status.as_u16(),
        heading,
        message,
    };
    let res = super::page(status, &tpl);
    Ok(ServiceResponse::new(http, res).map_into_right_body())
}

/// A path that does not fit its route (`/codes/abc`) is not found.
pub fn path_error(_: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    AppError::NotFound.into()
}

pub fn query_error(e: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!("The address could not be read ({e}).")).into()
}

pub fn form_error(e: actix_web::error::UrlencodedError, _: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!(
        "The form could not be read ({e}). Go back and try again."
    ))
    .into()
}

fn unreachable_login() -> (String, String) {
    ("Login required".into(), "Please log in.".into())
}
