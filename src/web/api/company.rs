//! `GET /Advertisers/{AccountSid}/CompanyInformation` (and `.json`): the
//! brand the credentials belong to. Connectors call it to check their
//! credentials before anything else; read-only.

use super::{db, ApiAuth, ApiError, Reply};
use crate::store::accounts;
use crate::web::AppState;
use actix_web::{web, HttpResponse};

async fn show(state: web::Data<AppState>, auth: ApiAuth) -> Result<HttpResponse, ApiError> {
    let brand = auth.brand();
    let b = db(&state, auth.format, move |c| accounts::get_brand(c, brand)).await?;
    let reply = Reply::ok()
        .field("Id", b.id.to_string())
        .field("CompanyName", b.name)
        .field("AccountSid", b.api_account_sid.clone())
        .field(
            "Uri",
            format!("/Advertisers/{}/CompanyInformation", b.api_account_sid),
        );
    Ok(reply.render(auth.format))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/{AccountSid}/CompanyInformation", web::get().to(show))
        .route("/{AccountSid}/CompanyInformation.json", web::get().to(show));
}
