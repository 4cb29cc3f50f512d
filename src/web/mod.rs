//! HTTP: handlers by resource, middleware, and the app factory.

pub mod actions;
pub mod api;
pub mod assets;
pub mod auth;
pub mod codes;
pub mod csrf;
pub mod csv;
pub mod dashboard;
pub mod deals;
pub mod error;
pub mod estimates;
pub mod health;
pub mod help;
pub mod layout;
pub mod pages;
pub mod partners;
pub mod session;
pub mod settings;
pub mod throttle;
pub mod uploads;

use crate::config::Config;
use crate::db::PgPool;
use crate::domain::forms::FieldErrors;
use crate::store::StoreError;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::{time::Duration as CookieDuration, Key, SameSite};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{from_fn, DefaultHeaders, Next};
use actix_web::{web, App, HttpResponse, HttpServer};
use askama::Template;
use diesel::PgConnection;
use error::AppError;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument;

pub struct AppState {
    pub pool: PgPool,
    pub config: Config,
    pub throttle: throttle::LoginThrottle,
    /// Show the demo login on the login page.
    pub demo_login: bool,
    /// Recent estimates of large code-list totals, by brand and filter.
    pub estimates: estimates::Estimates,
    /// Recent dashboard counts of large brands.
    pub dashboard: estimates::DashboardCounts,
    /// The code list's programs, partners and deals, by brand and version.
    pub choices: codes::ChoicesCache,
}

impl AppState {
    /// The state of a server (`main`) or of a test's server: empty caches,
    /// a fresh login throttle.
    pub fn new(pool: PgPool, config: Config, demo_login: bool) -> AppState {
        AppState {
            pool,
            config,
            throttle: throttle::LoginThrottle::default(),
            demo_login,
            estimates: Default::default(),
            dashboard: Default::default(),
            choices: Default::default(),
        }
    }
}

/// Runs store code on a pooled connection, off the async workers.
pub async fn db<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, StoreError> + Send + 'static,
{
    let pool = state.pool.clone();
    blocking(move || {
        let mut conn = pool
            .get()
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        f(&mut conn).map_err(AppError::from)
    })
    .await
}

/// Runs `f` on the blocking thread pool, inside the caller's tracing span:
/// what it logs carries the request's id.
pub async fn blocking<T, F>(f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
{
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f))
        .await
        .map_err(AppError::internal)?
}

/// Renders a template with a status; a template error is a 500 page.
pub fn page<T: Template>(status: StatusCode, tpl: &T) -> HttpResponse {
    match tpl.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be rendered; the error has been logged.")
        }
    }
}

/// A response body made on its own thread with a database connection, in
/// chunks (large CSV exports): memory stays flat, and a client that goes
/// away stops the work. `produce` gets the connection and a `send` that
/// returns false once the client is gone; an error ends the body.
pub fn stream_blocking<F>(
    pool: crate::db::PgPool,
    produce: F,
) -> impl futures_util::Stream<Item = Result<web::Bytes, AppError>>
where
    F: FnOnce(&mut PgConnection, &dyn Fn(Vec<u8>) -> bool) -> Result<(), AppError> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, AppError>>(4);
    let span = tracing::Span::current();
    std::thread::spawn(move || {
        let _request = span.enter();
        let result = match pool.get() {
            Ok(mut conn) => produce(&mut conn, &|chunk| {
                tx.blocking_send(Ok(web::Bytes::from(chunk))).is_ok()
            }),
            Err(e) => Err(AppError::Unavailable(e.to_string())),
        };
        if let Err(e) = result {
            // The response has begun: the error ends its body, and is logged here.
            e.log();
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// After a form is saved: its success message, and the saved thing's page.
pub fn saved(
    user: &session::CurrentUser,
    message: impl Into<String>,
    location: &str,
) -> HttpResponse {
    user.flash("success", message);
    see_other(location)
}

/// A store's refusal of a form, beside the field it is about: a conflict (a
/// name or number already taken) beside `field`, a refused value beside its
/// own field. Any other error is passed on.
pub fn refusal(e: AppError, field: &'static str) -> Result<FieldErrors, AppError> {
    let mut errors = FieldErrors::new();
    match e {
        AppError::Conflict(message) => errors.add(field, message),
        AppError::Invalid { field, message } => errors.add(field, message),
        other => return Err(other),
    }
    Ok(errors)
}

pub use crate::text::percent_encode as urlencode;

/// All routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    assets::configure(cfg);
    api::configure(cfg);
    actions::configure(cfg);
    health::configure(cfg);
    help::configure(cfg);
    auth::configure(cfg);
    dashboard::configure(cfg);
    codes::configure(cfg);
    deals::configure(cfg);
    partners::configure(cfg);
    settings::configure(cfg);
    uploads::configure(cfg);
    pages::configure(cfg);
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

/// Gives each request an id (its `X-Request-Id` header) and runs it inside
/// a `request` span with that id, its method and path, so that every line
/// logged while it is handled names it; then logs its status and duration.
async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = REQUEST_IDS.fetch_add(1, Ordering::Relaxed);
    let quiet = req.path() == "/healthz";
    let span = tracing::info_span!(
        "request",
        request_id = id,
        method = %req.method(),
        path = %req.path()
    );
    let start = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if !quiet {
        tracing::info!(parent: &span, status, ms = format!("{ms:.1}"), "request");
    }
    if let Ok(v) = header::HeaderValue::from_str(&id.to_string()) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
}

/// Starts the HTTP server on `listener`.
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let key_bytes = state
        .config
        .session_key_bytes()
        .map_err(std::io::Error::other)?;
    let key = Key::try_from(&key_bytes[..]).map_err(|e| std::io::Error::other(e.to_string()))?;
    let secure = state.config.cookie_secure();
    let limit_mb = state.config.upload_limit_mb;
    let upload_limit = (limit_mb as usize).saturating_mul(1024 * 1024);
    // Background jobs (automatic approval) run beside the server, on its
    // runtime.
    crate::jobs::start(&state.pool, &state.config);
    let state = web::Data::new(state);
    let token_touches = web::Data::new(api::TokenTouches::default());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let server = HttpServer::new(move || {
        let session = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name("promodesk_session".to_string())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_secure(secure)
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(PersistentSession::default().session_ttl(CookieDuration::hours(12)))
            .build();
        App::new()
            .app_data(state.clone())
            .app_data(token_touches.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(4 * 1024 * 1024)
                    .error_handler(error::form_error),
            )
            .app_data(web::PathConfig::default().error_handler(error::path_error))
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            .app_data(web::PayloadConfig::new(8 * 1024 * 1024))
            .app_data(
                actix_multipart::form::MultipartFormConfig::default()
                    .total_limit(upload_limit)
                    .memory_limit(1024 * 1024)
                    .error_handler(move |e, req| uploads::multipart_error(e, req, limit_mb)),
            )
            .configure(configure)
            .default_service(web::to(not_found))
            .wrap(from_fn(csrf::guard))
            .wrap(from_fn(error::render_errors))
            .wrap(session)
            .wrap(security_headers())
            .wrap(from_fn(log_requests))
    })
    .workers(workers)
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Log lines, captured.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    #[test]
    fn blocking_work_logs_inside_the_request_span() {
        // The subscriber must be global: the work runs on another thread.
        let logs = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        let thread = actix_web::rt::System::new().block_on(
            async {
                blocking(|| {
                    tracing::warn!("inside the blocking work");
                    Ok(std::thread::current().id())
                })
                .await
            }
            .instrument(tracing::info_span!("request", request_id = 424242_u64)),
        );
        assert_ne!(thread.expect("ran"), std::thread::current().id());
        let text = String::from_utf8(logs.0.lock().expect("logs").clone()).expect("utf-8");
        let line = text
            .lines()
            .find(|l| l.contains("inside the blocking work"))
            .unwrap_or_else(|| panic!("not logged: {text}"));
        assert!(line.contains("request{request_id=424242}"), "{line}");
    }
}
