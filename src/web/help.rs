//! Help: regex codes explained with a live tester, and the FAQ.

use super::error::AppError;
use super::layout::Layout;
use super::page;
use super::session::CurrentUser;
use crate::domain::matcher;
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};

#[derive(Template)]
#[template(path = "help/regex.html")]
struct RegexPage {
    layout: Layout,
    pattern: String,
    samples: String,
    outcome: Option<TestOutcome>,
}

#[derive(Template)]
#[template(path = "help/faq.html")]
struct FaqPage {
    layout: Layout,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TesterForm {
    #[serde(default)]
    pattern: String,
    #[serde(default)]
    samples: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleResult {
    sample: String,
    matches: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    error: Option<String>,
    results: Vec<SampleResult>,
    examples: Vec<String>,
}

/// Runs the pattern over the samples (one per line) with the same rules as
/// crediting.
fn run(form: &TesterForm) -> TestOutcome {
    let samples: Vec<&str> = form
        .samples
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(200)
        .collect();
    match matcher::test_pattern(form.pattern.trim(), &samples) {
        Ok(flags) => TestOutcome {
            error: None,
            results: samples
                .iter()
                .zip(flags)
                .map(|(s, m)| SampleResult {
                    sample: s.to_string(),
                    matches: m,
                })
                .collect(),
            examples: matcher::sample_matches(form.pattern.trim(), 5),
        },
        Err(e) => TestOutcome {
            error: Some(e.to_string()),
            results: Vec::new(),
            examples: Vec::new(),
        },
    }
}

const DEFAULT_SAMPLES: &str = "SUMMER10\nsummer10\nSUMMER\nXSUMMER10\nSUMMER-2026";

#[get("/help/regex")]
async fn regex_page(user: CurrentUser) -> HttpResponse {
    let form = TesterForm {
        pattern: "^(SUMMER).*".into(),
        samples: DEFAULT_SAMPLES.into(),
    };
    let outcome = Some(run(&form));
    let tpl = RegexPage {
        layout: user.layout("help", "Regex explained"),
        pattern: form.pattern,
        samples: form.samples,
        outcome,
    };
    page(StatusCode::OK, &tpl)
}

/// The tester: an HTML page for the form, JSON for the page's script.
#[post("/help/regex")]
async fn regex_test(
    user: CurrentUser,
    req: HttpRequest,
    form: web::Form<TesterForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if form.pattern.chars().count() > 1_000 || form.samples.len() > 20_000 {
        return Err(AppError::BadRequest(
            "Test at most a 1,000-character pattern and 200 sample codes.".into(),
        ));
    }
    let outcome = run(&form);
    // The same rule as an error's format: the tester's script asks for JSON.
    let wants_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(super::error::prefers_json);
    if wants_json {
        return Ok(HttpResponse::Ok().json(outcome));
    }
    let tpl = RegexPage {
        layout: user.layout("help", "Regex explained"),
        pattern: form.pattern,
        samples: form.samples,
        outcome: Some(outcome),
    };
    Ok(page(StatusCode::OK, &tpl))
}

#[get("/help/faq")]
async fn faq(user: CurrentUser) -> HttpResponse {
    page(
        StatusCode::OK,
        &FaqPage {
            layout: user.layout("help", "FAQ"),
        },
    )
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(regex_page).service(regex_test).service(faq);
}
