//! Cross-site request forgery protection for every state-changing request:
//! an Origin / Sec-Fetch-Site check, and the session's synchronizer token in
//! the `csrf_token` field of every url-encoded form. Multipart uploads carry
//! the same field and their handler checks it (their body is streamed, not
//! buffered here). The conversions API uses HTTP Basic auth, not cookies,
//! and is exempt.

use super::error::AppError;
use super::session::csrf_matches;
use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, Error};

/// Paths whose POSTs authenticate without cookies.
fn exempt(path: &str) -> bool {
    path.starts_with("/Advertisers/")
}

fn bytes_to_payload(buf: web::Bytes) -> actix_web::dev::Payload {
    let (_, mut pl) = actix_http::h1::Payload::create(true);
    pl.unread_data(buf);
    actix_web::dev::Payload::from(pl)
}

fn same_origin(req: &ServiceRequest) -> bool {
    if let Some(site) = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        if site == "cross-site" || site == "same-site" {
            return false;
        }
    }
    match req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some("null") => false,
        Some(origin) => {
            let info = req.connection_info();
            let host = info.host();
            origin
                .split_once("://")
                .map(|(_, rest)| rest.trim_end_matches('/') == host)
                .unwrap_or(false)
        }
    }
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || exempt(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    if !same_origin(&req) {
        tracing::warn!(path = req.path(), "cross-origin form post refused");
        return Ok(req.error_response(AppError::Csrf).map_into_right_body());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        // Checked by the upload handler, which reads the csrf_token field first.
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let body = if content_type.is_empty()
        || content_type.starts_with("application/x-www-form-urlencoded")
    {
        req.extract::<web::Bytes>().await.ok()
    } else {
        None
    };
    let token = body.as_ref().and_then(|b| {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(b)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v)
    });
    let session = req.get_session();
    match (token, body) {
        (Some(t), Some(body)) if csrf_matches(&session, &t) => {
            req.set_payload(bytes_to_payload(body));
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        _ => Ok(req.error_response(AppError::Csrf).map_into_right_body()),
    }
}
