//! Bulk upload: file form, review with row-level errors, accept in one
//! transaction, error report, template, history.

use super::codes::thousands;
use super::csv;
use super::error::AppError;
use super::layout::Layout;
use super::session::{verify_csrf, CurrentUser};
use super::{db, page, see_other, AppState};
use crate::domain::{BrandId, Role, UploadId};
use crate::import::review::{review_upload, ReviewError, ReviewOptions, Reviewed, UploadedFile};
use crate::store::uploads::{self, AcceptOutcome, ErrorLine, PreviewRow, Upload};
use actix_multipart::form::tempfile::TempFile;
use actix_multipart::form::text::Text;
use actix_multipart::form::MultipartForm;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

#[derive(Template)]
#[template(path = "uploads/new.html")]
struct NewPage {
    layout: Layout,
    errors: Vec<String>,
    limit_mb: u64,
}

#[derive(Template)]
#[template(path = "uploads/list.html")]
struct ListPage {
    layout: Layout,
    uploads: Vec<(Upload, Option<String>)>,
}

#[derive(Template)]
#[template(path = "uploads/show.html")]
struct ShowPage {
    layout: Layout,
    upload: Upload,
    warnings: Vec<String>,
    errors: Vec<ErrorLine>,
    preview: Vec<PreviewRow>,
}

impl ShowPage {
    fn can_accept(&self) -> bool {
        self.upload.status == "reviewing" && self.upload.valid_rows > 0 && self.layout.can_manage()
    }

    /// Valid rows that match an existing code and would leave it as it is.
    fn unchanged_rows(&self) -> i64 {
        self.upload.valid_rows - self.upload.create_rows - self.upload.update_rows
    }
}

fn new_page(user: &CurrentUser, state: &AppState, errors: Vec<String>) -> HttpResponse {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        status,
        &NewPage {
            layout: user.layout("uploads", "Bulk upload"),
            errors,
            limit_mb: state.config.upload_limit_mb,
        },
    )
}

#[get("/uploads/new")]
async fn new(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    Ok(new_page(&user, &state, Vec::new()))
}

const TEMPLATE_CSV: &str = "Promo Code,Program Id,Media Id,Type,Credit Rule,Match Mode,Deal Id,Active Start Date,Active End Date,Timezone\r\n\
SUMMER10,1,10001,TRACKING,ALWAYS,LI,,2026-06-01T00:00:00-04:00,2026-09-01T00:00:00-04:00,America/New_York\r\n\
^(AVA)[0-9]{2}$,1,10005,TRACKING,WINNER,RE,,2026-06-01,,\r\n";

#[get("/uploads/template.csv")]
async fn template(_user: CurrentUser) -> HttpResponse {
    csv::attachment("promo-code-upload-template.csv").body(TEMPLATE_CSV)
}

#[get("/uploads")]
async fn list(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let brand = user.brand();
    let now = Utc::now();
    let uploads = db(&state, move |c| {
        uploads::discard_stale(c, brand, now)?;
        uploads::list(c, brand, 200)
    })
    .await?;
    Ok(page(
        StatusCode::OK,
        &ListPage {
            layout: user.layout("uploads", "Bulk upload"),
            uploads,
        },
    ))
}

#[derive(MultipartForm)]
pub struct UploadForm {
    csrf_token: Option<Text<String>>,
    file: Option<TempFile>,
    update_existing: Option<Text<String>>,
}

impl UploadForm {
    /// The file chosen (none when the form came without one) and what the
    /// upload asks for.
    fn into_parts(self) -> (Option<TempFile>, ReviewOptions) {
        let file = self
            .file
            .filter(|f| f.size > 0 || f.file_name.as_deref().is_some_and(|n| !n.is_empty()));
        let update_existing = self
            .update_existing
            .as_ref()
            .is_some_and(|v| !v.0.is_empty() && v.0 != "false");
        (file, ReviewOptions { update_existing })
    }
}

#[post("/uploads")]
async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: MultipartForm<UploadForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    verify_csrf(
        &user.session,
        form.csrf_token.as_ref().map(|t| t.0.as_str()).unwrap_or(""),
    )?;
    user.require(Role::Manager)?;
    let (Some(file), options) = form.into_parts() else {
        return Ok(new_page(
            &user,
            &state,
            vec!["Choose a CSV or XLSX file to upload.".into()],
        ));
    };
    let (brand, uid, pool) = (user.brand(), user.id(), state.pool.clone());
    // The temporary file lives (and is deleted) with `file`, moved in here.
    let outcome = web::block(move || {
        let name = file.file_name.as_deref().unwrap_or("upload.csv");
        let uploaded = UploadedFile {
            path: file.file.path(),
            file_name: name,
            size: file.size as i64,
        };
        review_upload(&pool, brand, uid, uploaded, options)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(review_error)?;
    match outcome {
        Reviewed::Upload(id) => Ok(see_other(&format!("/uploads/{id}"))),
        Reviewed::Refused(messages) => Ok(new_page(&user, &state, messages)),
    }
}

fn review_error(e: ReviewError) -> AppError {
    match e {
        ReviewError::Read(e) => AppError::Internal(e.to_string()),
        ReviewError::Unavailable(m) => AppError::Unavailable(m),
        ReviewError::Store(e) => e.into(),
    }
}

#[get("/uploads/{id}")]
async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (brand, id) = (user.brand(), UploadId(id.into_inner()));
    let now = Utc::now();
    let (upload, errors, preview) = db(&state, move |c| {
        uploads::discard_stale(c, brand, now)?;
        let upload = uploads::get(c, brand, id)?;
        // Valid rows are previewed while they wait for an accept.
        let preview = if upload.status == "reviewing" {
            uploads::preview(c, brand, id, 20)?
        } else {
            Vec::new()
        };
        Ok((upload, uploads::first_errors(c, brand, id, 100)?, preview))
    })
    .await?;
    let warnings = upload
        .warnings
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let title = format!("Upload #{}: {}", upload.id, upload.file_name);
    let tpl = ShowPage {
        layout: user.layout("uploads", title),
        upload,
        warnings,
        errors,
        preview,
    };
    Ok(page(StatusCode::OK, &tpl))
}

#[post("/uploads/{id}/accept")]
async fn accept(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Manager)?;
    let (brand, uid, id) = (user.brand(), user.id(), UploadId(id.into_inner()));
    let now = Utc::now();
    // A review left for more than a day is discarded (as the page says), also
    // when it is accepted without being opened again.
    db(&state, move |c| {
        uploads::discard_stale(c, brand, now)?;
        uploads::get(c, brand, id)
    })
    .await?;
    match db(&state, move |c| uploads::accept(c, brand, uid, id, now)).await {
        Ok(AcceptOutcome::Accepted {
            created,
            updated,
            unchanged,
        }) => {
            purge_after_accept(&state, brand, id);
            user.flash("success", accepted_message(created, updated, unchanged));
        }
        Ok(AcceptOutcome::AlreadyDone(status)) => user.flash(
            "info",
            format!("This upload is already {status}; nothing changed."),
        ),
        Err(AppError::Conflict(m)) => user.flash("error", m),
        Err(e) => return Err(e),
    }
    Ok(see_other(&format!("/uploads/{id}")))
}

/// The staged rows of an accepted upload are not needed any more; they go
/// after the answer (a million rows take a second or two to delete).
fn purge_after_accept(state: &web::Data<AppState>, brand: BrandId, id: UploadId) {
    let state = state.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = db(&state, move |c| uploads::purge_staged(c, brand, id)).await {
            tracing::warn!(upload = id.0, error = %e, "could not drop the staged rows of an accepted upload");
        }
    });
}

/// "1,200 codes created, 30 updated, 5 unchanged." (the counts that are
/// not all zero; created always).
fn accepted_message(created: i64, updated: i64, unchanged: i64) -> String {
    let mut msg = format!(
        "{} code{} created",
        thousands(created),
        if created == 1 { "" } else { "s" }
    );
    if updated > 0 || unchanged > 0 {
        msg.push_str(&format!(", {} updated", thousands(updated)));
    }
    if unchanged > 0 {
        msg.push_str(&format!(", {} unchanged", thousands(unchanged)));
    }
    format!("{msg}.")
}

/// The original rows with errors plus an `Error` column, streamed.
#[get("/uploads/{id}/errors.csv")]
async fn errors_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (brand, id) = (user.brand(), UploadId(id.into_inner()));
    let upload = db(&state, move |c| uploads::get(c, brand, id)).await?;
    let header = upload.header;
    let body = csv::stream(state.pool.clone(), move |conn, out| {
        // Rows wider than the header get unnamed header cells, so that the
        // Error column is the same column on every line.
        let width = header
            .len()
            .max(uploads::error_report_width(conn, brand, id)?);
        let mut head = header;
        head.resize(width, String::new());
        head.push("Error".into());
        out.lines.header(&head);
        let mut after = 0;
        loop {
            let batch = uploads::error_report_batch(conn, brand, id, after, 5_000)?;
            if batch.is_empty() {
                return Ok(());
            }
            for (row, mut fields, error) in batch {
                after = row;
                fields.resize(width, String::new());
                fields.push(error);
                out.lines.row(&fields);
            }
            if !out.flush() {
                return Ok(());
            }
        }
    });
    Ok(csv::attachment(&format!("upload-{id}-errors.csv")).streaming(body))
}

/// Turns a refused multipart body (too large, cut off) into a clear page.
pub fn multipart_error(
    err: actix_multipart::MultipartError,
    _req: &HttpRequest,
    limit_mb: u64,
) -> actix_web::Error {
    let text = err.to_string();
    let lower = text.to_lowercase();
    // The total limit is `Payload(Overflow)`, whose text is only "Payload error".
    let overflow = matches!(
        err,
        actix_multipart::MultipartError::Payload(actix_web::error::PayloadError::Overflow)
    );
    let message = if overflow
        || lower.contains("limit")
        || lower.contains("too large")
        || lower.contains("exceed")
    {
        format!("The file is larger than the upload limit of {limit_mb} MB. Split it into smaller files.")
    } else {
        format!("The upload could not be read ({text}). Try again.")
    };
    AppError::BadRequest(message).into()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(new)
        .service(template)
        .service(list)
        .service(create)
        .service(errors_csv)
        .service(accept)
        .service(show);
}

#[cfg(test)]
mod tests {
    use super::accepted_message;

    #[test]
    fn the_accept_message_counts_what_happened() {
        assert_eq!(accepted_message(1, 0, 0), "1 code created.");
        assert_eq!(accepted_message(1_200, 0, 0), "1,200 codes created.");
        assert_eq!(accepted_message(0, 3, 0), "0 codes created, 3 updated.");
        assert_eq!(
            accepted_message(2, 0, 5),
            "2 codes created, 0 updated, 5 unchanged."
        );
    }
}
