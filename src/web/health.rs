use super::AppState;
use actix_web::{get, web, HttpResponse};
use diesel::RunQueryDsl;

/// Liveness plus a database round trip.
#[get("/healthz")]
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || {
        let mut conn = pool.get().ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).ok()
    })
    .await
    .ok()
    .flatten()
    .is_some();
    if ok {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "error", "database": "unreachable"}))
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz);
}
