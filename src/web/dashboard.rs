use super::error::AppError;
use super::estimates::DASHBOARD_CACHE_FROM;
use super::layout::Layout;
use super::session::CurrentUser;
use super::{db, page, AppState};
use crate::domain::money::format_money;
use crate::store::reports::{self, CodeStats, ProgramRow, RevenueRow};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use askama::Template;
use rust_decimal::Decimal;

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    layout: Layout,
    generated_at: String,
    /// When the code counts come from a recent count (large brands).
    counted_at: Option<String>,
    stats: CodeStats,
    revenue: Vec<RevenueRow>,
    programs: Vec<ProgramRow>,
}

impl DashboardPage {
    fn count(&self, n: &i64) -> String {
        super::codes::thousands(*n)
    }
    fn money(&self, amount: &Decimal, currency: &str) -> String {
        format_money(*amount, currency)
    }
}

#[get("/")]
async fn index(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let cached = state.dashboard.0.get(&brand);
    let fresh = cached.is_none();
    let (counts, revenue) = db(&state, move |c| {
        let counts = match cached {
            Some((counts, at)) => (counts, Some(at)),
            None => (
                (reports::code_stats(c, brand)?, reports::programs(c, brand)?),
                None,
            ),
        };
        Ok((counts, reports::revenue_30_days(c, brand)?))
    })
    .await?;
    let ((stats, programs), counted_at) = counts;
    let total = stats.codes_active + stats.codes_scheduled + stats.codes_expired;
    if fresh && total >= DASHBOARD_CACHE_FROM {
        state
            .dashboard
            .0
            .put(brand, (stats.clone(), programs.clone()));
    }
    let now = chrono::Utc::now();
    let counted_at = counted_at.map(|at| {
        let age = chrono::Duration::from_std(at.elapsed()).unwrap_or_default();
        (now - age).format("%H:%M:%S UTC").to_string()
    });
    let tpl = DashboardPage {
        layout: user.layout("dashboard", "Dashboard"),
        generated_at: now.format("%Y-%m-%d %H:%M UTC").to_string(),
        counted_at,
        stats,
        revenue,
        programs,
    };
    Ok(page(StatusCode::OK, &tpl))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(index);
}
