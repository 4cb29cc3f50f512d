//! Promo codes, one module per group of actions: the list (filters, sort,
//! pages, selection), its CSV export, the create and edit form, a code's
//! page with its history, expire and reactivate, and bulk changes. The
//! filter lists they share (`Choices`) are read once per change.

mod bulk;
mod export;
mod form;
mod lifecycle;
mod list;
mod show;

use super::error::AppError;
use super::session::CurrentUser;
use super::{db, AppState};
use crate::cache::VersionedCache;
use crate::domain::code::{format_human, CodeQueryForm, PAGE_SIZE};
use crate::domain::BrandId;
use crate::store::codes::{CodeRow, Total};
use crate::store::deals::{self, Deal};
use crate::store::partners::{self, Partner};
use crate::store::programs::{self, Program};
use crate::store::StoreError;
use actix_web::web;
use std::sync::Arc;
use std::time::Duration;

/// What the filter bar and forms offer.
struct Choices {
    programs: Vec<Program>,
    partners: Vec<Partner>,
    deals: Vec<Deal>,
}

/// The code pages' choices by brand, stamped with `lists_version` (which
/// every change to the brand's programs, partners or deals bumps, on any app
/// server): a list page reads them once per change instead of three queries
/// a view. Cloning shares the same memory.
#[derive(Clone)]
pub struct ChoicesCache(Arc<VersionedCache<BrandId, Choices>>);

impl Default for ChoicesCache {
    fn default() -> Self {
        ChoicesCache(Arc::new(VersionedCache::new(Duration::from_secs(600))))
    }
}

impl ChoicesCache {
    fn get_or_load(
        &self,
        c: &mut diesel::PgConnection,
        brand: BrandId,
        version: i64,
    ) -> Result<Arc<Choices>, StoreError> {
        self.0.get_or_build(brand, version, || {
            Ok(Choices {
                programs: programs::list(c, brand)?,
                partners: partners::list(c, brand)?,
                deals: deals::list(c, brand)?,
            })
        })
    }
}

/// The brand's choices for a form, from the same memory as the list's.
async fn choices(state: &AppState, user: &CurrentUser) -> Result<Arc<Choices>, AppError> {
    let (brand, version) = (user.brand(), user.user.lists_version);
    let cache = state.choices.clone();
    db(state, move |c| cache.get_or_load(c, brand, version)).await
}

pub fn thousands(n: i64) -> String {
    crate::domain::money::format_amount(rust_decimal::Decimal::from(n), 0)
}

/// How many codes a list shows: "1 code", "1,234 codes", "about 2,000,000
/// codes (estimated)".
pub fn total_label(total: Total) -> String {
    match total {
        Total::Exact(n) => format!("{} code{}", thousands(n), if n == 1 { "" } else { "s" }),
        Total::About(n) => format!("about {} codes (estimated)", thousands(n)),
    }
}

/// Whether the list's filter `field` (a query parameter: `status`, `type`,
/// `partner`...) is set to `value`, for the filter bar's selects.
pub fn filter_is(raw: &CodeQueryForm, field: &str, value: &str) -> bool {
    let current = match field {
        "status" => &raw.status,
        "partner" => &raw.partner,
        "type" => &raw.code_type,
        "match_mode" => &raw.match_mode,
        "credit_rule" => &raw.credit_rule,
        "deal" => &raw.deal,
        "program" => &raw.program,
        _ => return false,
    };
    current.trim().eq_ignore_ascii_case(value)
}

/// The first and last row numbers of a page of `rows` rows ("51–100 of ...").
pub fn shown_range(page: u32, rows: usize) -> (i64, i64) {
    let first = (i64::from(page) - 1) * PAGE_SIZE + 1;
    (first, first + rows as i64 - 1)
}

/// A code's start and end as a list shows them (no start: "—", no end:
/// "never").
pub fn display_window(row: &CodeRow) -> (String, String) {
    let tz = row.tz();
    (
        row.active_start
            .map(|t| format_human(t, tz))
            .unwrap_or_else(|| "—".into()),
        row.active_end
            .map(|t| format_human(t, tz))
            .unwrap_or_else(|| "never".into()),
    )
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(export::export)
        .service(list::list)
        .service(form::new)
        .service(form::create)
        .service(bulk::bulk)
        .service(form::edit)
        .service(lifecycle::expire_confirm)
        .service(lifecycle::expire)
        .service(lifecycle::reactivate)
        .service(show::show)
        .service(form::update);
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-12_345), "-12,345");
    }
}
