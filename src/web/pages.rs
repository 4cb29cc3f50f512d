//! Areas of the product that later work fills in: each answers a page that
//! says so, behind login, so navigation never leads to a dead end.

use super::error::AppError;
use super::layout::Layout;
use super::page;
use super::session::CurrentUser;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "placeholder/coming.html")]
struct ComingPage {
    layout: Layout,
    what: &'static str,
}

const PLANNED: &[(&str, &str, &str, &str)] = &[
    (
        "/reports/performance",
        "reports",
        "Performance by promo code",
        "Actions, revenue and payout per code.",
    ),
    (
        "/reports/invalid",
        "reports",
        "Invalid conversions",
        "Conversions refused credit, with the reason.",
    ),
    (
        "/orders/new",
        "uploads",
        "Orders upload",
        "A CSV of orders, credited like the Conversions API's.",
    ),
    (
        "/monitoring",
        "monitoring",
        "Monitoring",
        "Leaked, expired and unknown codes.",
    ),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, section, title, what) in PLANNED {
        cfg.route(
            path,
            web::get().to(move |user: CurrentUser| async move {
                let tpl = ComingPage {
                    layout: user.layout(section, *title),
                    what,
                };
                Ok::<HttpResponse, AppError>(page(StatusCode::OK, &tpl))
            }),
        );
    }
}
