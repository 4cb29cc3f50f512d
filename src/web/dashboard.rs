use super::error::AppError;
use super::layout::Layout;
use super::session::CurrentUser;
use super::{db, page, AppState};
use crate::store::dashboard::{self, CodeStats, ProgramRow, RevenueRow};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    layout: Layout,
    generated_at: String,
    stats: CodeStats,
    revenue: Vec<RevenueRow>,
    programs: Vec<ProgramRow>,
}

#[get("/")]
async fn index(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let (stats, revenue, programs) = db(&state, move |c| {
        Ok((
            dashboard::code_stats(c, brand)?,
            dashboard::revenue_30_days(c, brand)?,
            dashboard::programs(c, brand)?,
        ))
    })
    .await?;
    let tpl = DashboardPage {
        layout: user.layout("dashboard", "Dashboard"),
        generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        stats,
        revenue,
        programs,
    };
    Ok(page(StatusCode::OK, &tpl))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(index);
}
