//! Static files, compiled into the binary so the server runs from anywhere.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    ),
    (
        "print.css",
        "text/css; charset=utf-8",
        include_str!("../../static/print.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../static/favicon.svg"),
    ),
    (
        "regex-tester.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/regex-tester.js"),
    ),
    (
        "codes.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/codes.js"),
    ),
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/upload.js"),
    ),
];

#[get("/static/{name}")]
async fn asset(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, mime, body)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, *mime))
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(*body),
        None => HttpResponse::NotFound().finish(),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(asset);
}
