//! Login and logout.

use super::error::AppError;
use super::session::{self, anonymous_layout, CurrentUser};
use super::{db, page, see_other, AppState};
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
    let ip = client_ip(&req);
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
    if let Some((status, message)) = refused_unchecked(&state, &email, &ip, &form.password) {
        return fail(status, message);
    }
    match verified_login(&state, &email, form.password).await? {
        Some(r) => {
            state.throttle.record_success(&email);
            let (brand, user) = (BrandId(r.brand_id), UserId(r.id));
            db(&state, move |c| accounts::record_login(c, brand, user)).await?;
            session::log_in(&session, brand, user, r.auth_version)?;
            tracing::info!(brand = brand.0, user = user.0, "login");
            Ok(see_other(&next))
        }
        None => {
            state.throttle.record_failure(&email, &ip);
            tracing::warn!(%ip, "failed login");
            fail(StatusCode::UNAUTHORIZED, "Wrong email or password.".into())
        }
    }
}

/// A sign-in refused before any password is checked: too many failures of
/// this email or address, or an empty field.
fn refused_unchecked(
    state: &AppState,
    email: &str,
    ip: &str,
    password: &str,
) -> Option<(StatusCode, String)> {
    if let Some(wait) = state.throttle.blocked(email, ip) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return Some((
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-in attempts. Try again in {minutes} minute(s)."),
        ));
    }
    if email.is_empty() || password.is_empty() {
        return Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email and password.".into(),
        ));
    }
    None
}

/// The client's address, as the throttle counts failures by it.
fn client_ip(req: &HttpRequest) -> String {
    req.connection_info()
        .realip_remote_addr()
        .unwrap_or("unknown")
        .to_string()
}

/// The user with this email when the password is theirs. An unknown email
/// is checked against a dummy hash, so both answers take the same time.
async fn verified_login(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<Option<accounts::LoginRow>, AppError> {
    let lookup_email = email.to_string();
    let row = db(state, move |c| accounts::find_login(c, &lookup_email)).await?;
    let hash = match &row {
        Some(r) => r.password_hash.clone(),
        None => dummy_hash().to_string(),
    };
    let ok = super::blocking(move || Ok(password_auth::verify_password(password, &hash).is_ok()))
        .await?;
    Ok(row.filter(|_| ok))
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
