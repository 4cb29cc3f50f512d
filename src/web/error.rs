//! The one error type handlers return, and how each case is shown.

use super::layout::Layout;
use crate::store::StoreError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
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
        let (heading, message) = match self {
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
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                (
                    "Something went wrong".to_string(),
                    "An unexpected error occurred; nothing was changed. It has been logged.".to_string(),
                )
            }
            AppError::LoginRequired(_) => unreachable_login(),
        };
        let status = self.status_code();
        let tpl = ErrorPage {
            layout: Layout::bare(&heading),
            status: status.as_u16(),
            heading,
            message,
        };
        super::page(status, &tpl)
    }
}

fn unreachable_login() -> (String, String) {
    ("Login required".into(), "Please log in.".into())
}
