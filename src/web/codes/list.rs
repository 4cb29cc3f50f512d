//! The code list: filters, sort, pages and the bulk selection.

use super::{display_window, filter_is, shown_range, total_label, Choices};
use crate::domain::code::{CodeQuery, CodeQueryForm, CodeSort, CodeStatus, PAGE_SIZE};
use crate::store::codes::{self, CodePage, CodeRow, Total};
use crate::store::partners::Partner;
use crate::web::error::AppError;
use crate::web::layout::Layout;
use crate::web::session::{verify_claims, SessionClaims};
use crate::web::{db, page, AppState};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Template)]
#[template(path = "codes/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ListRow>,
    total: Total,
    query: CodeQuery,
    raw: CodeQueryForm,
    choices: Arc<Choices>,
    pages: Vec<PageLink>,
    first_shown: i64,
    last_shown: i64,
    export_query: String,
}

struct ListRow {
    row: CodeRow,
    status: CodeStatus,
    start: String,
    end: String,
}

enum PageLink {
    Page {
        number: u32,
        query: String,
        current: bool,
    },
    Gap,
}

impl ListPage {
    fn new(
        layout: Layout,
        query: CodeQuery,
        raw: CodeQueryForm,
        found: CodePage,
        choices: Arc<Choices>,
        now: DateTime<Utc>,
    ) -> ListPage {
        let (first_shown, last_shown) = shown_range(query.page, found.rows.len());
        let rows = found
            .rows
            .into_iter()
            .map(|row| {
                let (start, end) = display_window(&row);
                ListRow {
                    status: row.status(now),
                    start,
                    end,
                    row,
                }
            })
            .collect();
        ListPage {
            layout,
            rows,
            pages: page_links(&query, found.total),
            total: found.total,
            export_query: query.to_query(1, None),
            query,
            raw,
            choices,
            first_shown,
            last_shown,
        }
    }

    fn sort_class(&self, column: &str) -> &'static str {
        match self.query.sort {
            Some(s) if s.as_str() == column => {
                if self.query.desc {
                    "sorted-desc"
                } else {
                    "sorted-asc"
                }
            }
            _ => "",
        }
    }
    fn aria_sort(&self, column: &str) -> &'static str {
        match self.sort_class(column) {
            "sorted-desc" => "descending",
            "sorted-asc" => "ascending",
            _ => "none",
        }
    }
    fn sort_link(&self, column: &str) -> String {
        CodeSort::parse(column)
            .map(|c| self.query.sort_link(c))
            .unwrap_or_default()
    }
    fn is(&self, field: &str, value: &str) -> bool {
        filter_is(&self.raw, field, value)
    }
    /// The list's query, sent back by the bulk form (see `back_to_list`).
    fn back_query(&self) -> String {
        self.query.to_query(self.query.page, None)
    }
    /// A shown date and time (`2025-01-31 09:00 EST`) as its day and the
    /// rest, for a cell that may break between them.
    fn split_when<'a>(&self, when: &'a str) -> (&'a str, &'a str) {
        when.split_once(' ').unwrap_or((when, ""))
    }
    fn total_label(&self) -> String {
        total_label(self.total)
    }
}

fn page_links(q: &CodeQuery, total: Total) -> Vec<PageLink> {
    let last = ((total.value() + PAGE_SIZE - 1) / PAGE_SIZE).max(1) as u32;
    let current = q.page;
    let mut wanted: Vec<u32> = vec![
        1,
        2,
        current.saturating_sub(2),
        current.saturating_sub(1),
        current,
        current + 1,
        current + 2,
        last - 1,
        last,
    ];
    wanted.retain(|p| *p >= 1 && *p <= last.max(current));
    wanted.sort_unstable();
    wanted.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for p in wanted {
        if p > prev + 1 {
            out.push(PageLink::Gap);
        }
        out.push(PageLink::Page {
            number: p,
            query: q.to_query(p, None),
            current: p == current,
        });
        prev = p;
    }
    out
}

/// Puts the program, partner and deal names on rows read without them.
fn fill_names(rows: &mut [CodeRow], choices: &Choices) {
    let programs: std::collections::HashMap<i64, &str> = choices
        .programs
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    let partners: std::collections::HashMap<i64, &Partner> =
        choices.partners.iter().map(|p| (p.id, p)).collect();
    let deals: std::collections::HashMap<i64, &str> = choices
        .deals
        .iter()
        .map(|d| (d.id, d.name.as_str()))
        .collect();
    for r in rows {
        if r.program_name.is_empty() {
            r.program_name = programs
                .get(&r.program_id)
                .map(|s| s.to_string())
                .unwrap_or_default();
        }
        if let (None, Some(pid)) = (&r.partner_name, r.partner_id) {
            if let Some(p) = partners.get(&pid) {
                r.partner_name = Some(p.name.clone());
                r.media_id = Some(p.media_id);
            }
        }
        if let (None, Some(did)) = (&r.deal_name, r.deal_id) {
            r.deal_name = deals.get(&did).map(|s| s.to_string());
        }
    }
}

#[get("/codes")]
pub(super) async fn list(
    state: web::Data<AppState>,
    claims: SessionClaims,
    raw: web::Query<CodeQueryForm>,
) -> Result<HttpResponse, AppError> {
    let raw = raw.into_inner();
    let query = raw.parse();
    let claim = claims.key();
    let brand = claim.brand();
    let now = Utc::now();
    let q = query.clone();
    let key = (brand, query.to_query(1, Some((CodeSort::Created, false))));
    let known = state.estimates.get(&key);
    // The busiest page: the session is checked on the connection that then
    // reads the page (one trip to the pool, not two), and nothing is read
    // unless the check holds.
    let cache = state.choices.clone();
    let found = db(&state, move |c| {
        let Some(user) = verify_claims(c, claim)? else {
            return Ok(None);
        };
        let page = codes::list(c, brand, &q, now, known)?;
        let choices = cache.get_or_load(c, brand, user.lists_version)?;
        Ok(Some((user, page, choices)))
    })
    .await?;
    let Some((user, mut page_data, choices)) = found else {
        return Err(claims.reject());
    };
    let user = claims.accept(user);
    if let Total::About(n) = page_data.total {
        state.estimates.put(key, n);
    }
    fill_names(&mut page_data.rows, &choices);
    let layout = user.layout("codes", "Promo codes");
    let tpl = ListPage::new(layout, query, raw, page_data, choices, now);
    Ok(page(StatusCode::OK, &tpl))
}
