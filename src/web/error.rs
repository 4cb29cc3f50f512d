//! The one error type handlers return, and how each case is shown: the
//! styled page for a browser, JSON for an API client ([`ErrorFormat`]). A
//! server-side failure (5xx) is logged once, with its cause chain, inside
//! the request's span (so with its request id); the client only hears that
//! something went wrong.

use super::layout::Layout;
use super::session::CurrentUser;
use crate::store::StoreError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

/// Any error, kept as the cause of an [`AppError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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
    /// An unexpected failure known only by its message. [`AppError::internal`]
    /// keeps the error itself, and so its causes, for the log.
    #[error("internal error: {0}")]
    Internal(String),
    /// An unexpected failure and the error that caused it.
    #[error("internal error")]
    Failed(#[source] BoxError),
}

impl AppError {
    /// An unexpected failure caused by `e` (logged with its chain).
    pub fn internal(e: impl Into<BoxError>) -> AppError {
        AppError::Failed(e.into())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Invalid { field, message } => AppError::Invalid { field, message },
            e @ (StoreError::Db(_) | StoreError::Io { .. }) => AppError::internal(e),
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
            AppError::Internal(_) | AppError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The page for a browser ([`render_errors`] makes the other formats).
    /// Called once per failed request, inside its span: a 5xx is logged here.
    fn error_response(&self) -> HttpResponse {
        self.log();
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
        let reply = self.reply();
        page_of(Layout::bare(&reply.heading), &reply)
    }
}

impl AppError {
    /// What the client is told: a heading and message for people, never an
    /// internal detail. A login required is a redirect on a page and 401 to
    /// an API client.
    pub fn reply(&self) -> ErrorReply {
        let (heading, message) = self.text();
        let status = match self {
            AppError::LoginRequired(_) => StatusCode::UNAUTHORIZED,
            e => e.status_code(),
        };
        let field = match self {
            AppError::Invalid { field, .. } => Some(*field),
            _ => None,
        };
        ErrorReply {
            status,
            heading,
            message,
            field,
        }
    }

    /// Logs a server-side failure (5xx) at error level with its causes. The
    /// log line carries the request id of the span it is logged in.
    pub fn log(&self) {
        let status = self.status_code();
        if status.is_server_error() {
            let chain = cause_chain(self);
            match self {
                AppError::Unavailable(_) => {
                    tracing::error!(status = status.as_u16(), error = %chain, "database unavailable")
                }
                _ => tracing::error!(status = status.as_u16(), error = %chain, "internal error"),
            }
        }
    }

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
            AppError::Internal(_) | AppError::Failed(_) => (
                "Something went wrong".to_string(),
                "An unexpected error occurred; nothing was changed. It has been logged.".to_string(),
            ),
            AppError::LoginRequired(_) => ("Login required".into(), "Please log in.".into()),
        }
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

/// `error` and its sources, outermost first: "internal error: database
/// error: relation ... does not exist". A cause whose text its parent
/// already shows is not repeated.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// What a client is told about an error, in any format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReply {
    #[serde(skip)]
    pub status: StatusCode,
    /// A short title (the page's heading).
    #[serde(skip)]
    pub heading: String,
    /// The message for people.
    #[serde(rename = "error")]
    pub message: String,
    /// The form or API field the error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl ErrorReply {
    /// The reply for an error that is not an [`AppError`] (one of the
    /// framework's own): a client error's text is shown, a server error's
    /// is not.
    fn of_other(error: &actix_web::Error, status: StatusCode) -> ErrorReply {
        let heading = status.canonical_reason().unwrap_or("Error").to_string();
        let message = if status.is_client_error() {
            error.to_string()
        } else {
            "An unexpected error occurred; nothing was changed. It has been logged.".to_string()
        };
        ErrorReply {
            status,
            heading,
            message,
            field: None,
        }
    }
}

/// How the errors of a request are rendered.
#[derive(Debug, Clone, Copy)]
pub enum ErrorFormat {
    /// The styled page, inside the user's layout when logged in.
    Page,
    /// `{"error": "...", "field": "..."}`, the field only when there is one.
    Json,
    /// An API's own shape (the brand API's reference errors, in JSON or
    /// XML as its request asks): its scope chooses it with
    /// [`ErrorFormat::choose`] before the handler runs, and every error of
    /// the request is rendered by this function.
    Custom(fn(&HttpRequest, &ErrorReply) -> HttpResponse),
}

impl ErrorFormat {
    /// The format a request gets unless its route chooses one: JSON for the
    /// API paths (`/Advertisers/...`, `/api/...`) and for clients that
    /// prefer JSON to HTML; the page otherwise.
    pub fn negotiate(path: &str, accept: Option<&str>) -> ErrorFormat {
        if path.starts_with("/Advertisers/") || path.starts_with("/api/") {
            return ErrorFormat::Json;
        }
        match accept {
            Some(accept) if prefers_json(accept) => ErrorFormat::Json,
            _ => ErrorFormat::Page,
        }
    }

    /// Renders this request's errors in `self` from now on (an API scope's
    /// middleware calls it before the handler).
    pub fn choose(self, req: &HttpRequest) {
        req.extensions_mut().insert(self);
    }

    /// The format chosen for `req`, else `negotiated`.
    fn chosen(req: &HttpRequest, negotiated: ErrorFormat) -> ErrorFormat {
        req.extensions()
            .get::<ErrorFormat>()
            .copied()
            .unwrap_or(negotiated)
    }
}

/// The JSON error body, `{"error": "...", "field": "..."}`.
pub fn json_response(reply: &ErrorReply) -> HttpResponse {
    HttpResponse::build(reply.status).json(reply)
}

/// Whether an `Accept` header ranks `application/json` above `text/html`
/// (wildcards count for neither: a browser's `*/*` is not a JSON client).
pub fn prefers_json(accept: &str) -> bool {
    let (mut json, mut html) = (0.0_f32, 0.0_f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/json" => json = json.max(q),
            "text/html" => html = html.max(q),
            _ => {}
        }
    }
    json > 0.0 && json > html
}

fn page_of(layout: Layout, reply: &ErrorReply) -> HttpResponse {
    let tpl = ErrorPage {
        layout,
        status: reply.status.as_u16(),
        heading: reply.heading.clone(),
        message: reply.message.clone(),
    };
    super::page(reply.status, &tpl)
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

/// Renders every error response of a request (raised by a handler, an
/// extractor such as PathConfig, a middleware inside this one or the default
/// service) in the request's [`ErrorFormat`]. An API client gets JSON (or
/// its API's own shape); a browser gets the page, which for a bad path or
/// id, a refused form... is rendered again inside the logged-in user's
/// layout. Strangers keep the bare page.
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let negotiated = ErrorFormat::negotiate(req.path(), accept);
    // (The request is not held before routing: routing needs it unshared.
    // Errors come back as responses; a middleware's own error passes on.)
    let res = next.call(req).await?;
    let Some(error) = res.response().error() else {
        return Ok(res.map_into_left_body());
    };
    // The brand API renders its own errors, in the reference shape.
    if error.as_error::<super::api::ApiError>().is_some() {
        return Ok(res.map_into_left_body());
    }
    let app_error = error.as_error::<AppError>();
    let response = match ErrorFormat::chosen(res.request(), negotiated) {
        ErrorFormat::Page => match app_error {
            Some(e) if e.shows_user() => {
                let reply = e.reply();
                let (http, _) = res.into_parts();
                let user = CurrentUser::from_request(&http, &mut Payload::None).await;
                let layout = match user {
                    Ok(user) => user.layout(section_of(http.path()), reply.heading.clone()),
                    Err(_) => Layout::bare(&reply.heading),
                };
                return Ok(
                    ServiceResponse::new(http, page_of(layout, &reply)).map_into_right_body()
                );
            }
            _ => return Ok(res.map_into_left_body()),
        },
        format => {
            let reply = match app_error {
                Some(e) => e.reply(),
                None => ErrorReply::of_other(error, res.status()),
            };
            match format {
                ErrorFormat::Custom(render) => render(res.request(), &reply),
                _ => json_response(&reply),
            }
        }
    };
    let (http, _) = res.into_parts();
    Ok(ServiceResponse::new(http, response).map_into_right_body())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::uploads::CopyError;

    fn io_error() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device")
    }

    #[test]
    fn json_is_for_api_paths_and_clients_that_prefer_it() {
        let json = |path, accept| matches!(ErrorFormat::negotiate(path, accept), ErrorFormat::Json);
        assert!(json("/Advertisers/IR123/Conversions", None));
        assert!(json("/api/openapi.json", Some("text/html")));
        assert!(json("/codes/12", Some("application/json")));
        assert!(json("/codes/12", Some("text/html;q=0.5, application/json")));
        assert!(!json("/codes/12", None));
        assert!(!json("/codes/12", Some("*/*")));
        assert!(
            !json("/codes/12", Some("text/html, application/json")),
            "a tie is the page"
        );
        assert!(!json(
            "/codes/12",
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        ));
        assert!(!json("/codes/12", Some("application/json;q=0")));
        assert!(!json("/api", None), "only below /api/");
        assert!(
            !json("/advertisers/x", None),
            "the API's paths are case-sensitive"
        );
    }

    #[test]
    fn the_json_body_has_the_message_and_the_field_when_there_is_one() {
        let invalid = AppError::Invalid {
            field: "partner",
            message: "No such partner.".into(),
        };
        let reply = invalid.reply();
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            serde_json::to_value(&reply).expect("json"),
            serde_json::json!({"error": "No such partner.", "field": "partner"})
        );
        let conflict = AppError::Conflict("Taken.".into()).reply();
        assert_eq!(
            serde_json::to_value(&conflict).expect("json"),
            serde_json::json!({"error": "Taken."})
        );
        let res = json_response(&reply);
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            res.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let body = res.into_body().try_into_bytes().expect("body");
        assert_eq!(
            &body[..],
            br#"{"error":"No such partner.","field":"partner"}"#
        );
    }

    /// The reference shape an API may render its errors in.
    fn reference(_: &HttpRequest, reply: &ErrorReply) -> HttpResponse {
        HttpResponse::build(reply.status).json(serde_json::json!({
            "Status": "ERROR",
            "Errors": [{"Field": reply.field, "Message": reply.message}],
        }))
    }

    async fn refused(req: HttpRequest) -> Result<HttpResponse, AppError> {
        if req.path().starts_with("/Advertisers/") {
            ErrorFormat::Custom(reference).choose(&req);
        }
        Err(AppError::Invalid {
            field: "EventDate",
            message: "Not a date.".into(),
        })
    }

    async fn answer(path: &str, accept: &str) -> (StatusCode, String, String) {
        use actix_web::{middleware::from_fn, test, web, App};
        let app = test::init_service(
            App::new()
                .wrap(from_fn(render_errors))
                .default_service(web::to(refused)),
        )
        .await;
        let req = test::TestRequest::get()
            .uri(path)
            .insert_header((header::ACCEPT, accept))
            .to_request();
        let res = test::call_service(&app, req).await;
        let status = res.status();
        let kind = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = test::read_body(res).await;
        (status, kind, String::from_utf8_lossy(&body).into_owned())
    }

    #[actix_web::test]
    async fn an_api_renders_its_errors_in_the_format_it_chose() {
        let (status, kind, body) = answer("/Advertisers/IR1/Conversions", "*/*").await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "application/json")
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).expect("json"),
            serde_json::json!({"Status": "ERROR", "Errors": [{"Field": "EventDate", "Message": "Not a date."}]})
        );
        // Elsewhere the default: JSON for a JSON client, the page for a browser.
        let (status, kind, body) = answer("/codes/1", "application/json").await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "application/json")
        );
        assert_eq!(body, r#"{"error":"Not a date.","field":"EventDate"}"#);
        let (status, kind, _) = answer("/api/x", "text/html").await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "application/json")
        );
        let (status, kind, body) = answer("/codes/1", "text/html").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(kind.starts_with("text/html"), "{kind}");
        assert!(body.contains("Not a date."), "{body}");
    }

    #[test]
    fn a_login_required_is_401_to_an_api_client() {
        let reply = AppError::LoginRequired("/codes".into()).reply();
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.message, "Please log in.");
    }

    #[test]
    fn a_server_error_tells_the_client_nothing_of_its_cause() {
        let e = AppError::from(StoreError::Db(diesel::result::Error::NotInTransaction));
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let reply = e.reply();
        assert!(!reply.message.contains("transaction"), "{}", reply.message);
        assert!(
            reply.message.contains("unexpected error"),
            "{}",
            reply.message
        );
    }

    #[test]
    fn io_failures_are_server_errors_not_conflicts() {
        let store = StoreError::from(CopyError::Io(io_error()));
        assert!(matches!(store, StoreError::Io { .. }), "{store:?}");
        let e = AppError::from(store);
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            cause_chain(&e),
            "internal error: the upload could not be buffered: no space left on device"
        );
    }

    #[test]
    fn the_cause_chain_names_each_cause_once() {
        // StoreError::Db shows its Diesel error and has it as its source.
        let e = AppError::from(StoreError::Db(diesel::result::Error::NotInTransaction));
        assert_eq!(
            cause_chain(&e),
            "internal error: database error: Cannot perform this operation outside of a transaction"
        );
        let e = AppError::internal(io_error());
        assert_eq!(cause_chain(&e), "internal error: no space left on device");
        assert_eq!(
            cause_chain(&AppError::Internal("state missing".into())),
            "internal error: state missing"
        );
    }
}
