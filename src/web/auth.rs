//! Login and logout.

use super::error::AppError;
use super::session::{self, anonymous_layout, CurrentUser};
use super::{db, page, AppState};
use crate::domain::{BrandId, UserId};
use crate::store::accounts;
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: super::layout::Layout,
    error: Option<String>,
    email: String,
    next: String,
    demo: bool,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Only same-site paths are followed after login.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains("://")
    {
        next
    } else {
        "/"
    }
}

/// A real Argon2 hash to verify against when the email is unknown, so both
/// cases take the same time.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password_auth::generate_hash("promodesk-dummy-password"))
}

#[get("/login")]
async fn login_form(
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<LoginQuery>,
) -> HttpResponse {
    if session.get::<i64>("uid").ok().flatten().is_some() {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .finish();
    }
    let tpl = LoginPage {
        layout: anonymous_layout(&session, "Sign in"),
        error: None,
        email: String::new(),
        next: safe_next(&q.next).to_string(),
        demo: state.demo_login,
    };
    page(StatusCode::OK, &tpl)
}

#[post("/login")]
async fn login(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let ip = req
        .connection_info()
        .realip_remote_addr()
        .unwrap_or("unknown")
        .to_string();
    let email = form.email.trim().to_string();
    let next = safe_next(&form.next).to_string();
    let fail = |status: StatusCode, message: String| {
        let tpl = LoginPage {
            layout: anonymous_layout(&session, "Sign in"),
            error: Some(message),
            email: email.clone(),
            next: next.clone(),
            demo: state.demo_login,
        };
        Ok(page(status, &tpl))
    };
    if let Some(wait) = state.throttle.blocked(&email, &ip) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return fail(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-in attempts. Try again in {minutes} minute(s)."),
        );
    }
    if email.is_empty() || form.password.is_empty() {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email and password.".into(),
        );
    }
    let lookup_email = email.clone();
    let row = db(&state, move |c| accounts::find_login(c, &lookup_email)).await?;
    let password = form.password;
    let (hash, row) = match row {
        Some(r) => (r.password_hash.clone(), Some(r)),
        None => (dummy_hash().to_string(), None),
    };
    let ok = super::blocking(move || Ok(password_auth::verify_password(password, &hash).is_ok()))
        .await?;
    match row {
        Some(r) if ok => {
            state.throttle.record_success(&email);
            let (brand, user) = (BrandId(r.brand_id), UserId(r.id));
            db(&state, move |c| accounts::record_login(c, brand, user)).await?;
            session::log_in(&session, brand, user, r.auth_version)?;
            tracing::info!(brand = brand.0, user = user.0, "login");
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next))
                .finish())
        }
        _ => {
            state.throttle.record_failure(&email, &ip);
            tracing::warn!(%ip, "failed login");
            fail(StatusCode::UNAUTHORIZED, "Wrong email or password.".into())
        }
    }
}

#[post("/logout")]
async fn logout(user: CurrentUser) -> HttpResponse {
    session::log_out(&user.session);
    session::push_flash(&user.session, "info", "You are logged out.");
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .finish()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login_form).service(login).service(logout);
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/codes?page=2"), "/codes?page=2");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next(""), "/");
    }
}
