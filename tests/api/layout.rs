//! Page layout in real headless Chromium, checked by numbers: the codes
//! list fits its card at desktop widths and on an A4 page, nothing scrolls
//! sideways on a phone, the menu collapses there, the bulk bar shows only
//! what the chosen action needs; plus the bulk form's "nothing selected"
//! answer over HTTP.
//!
//! `PROMODESK_SCREENS=/some/dir cargo test --test api layout::` also saves
//! a screenshot of every page measured (and the printed list as a PDF).

use crate::browser::Browser;
use crate::helpers::{location, Brand, Client, TestApp};
use promodesk::domain::deal::{DealKind, NewDeal};
use promodesk::domain::Role;
use promodesk::store::deals;
use rust_decimal::Decimal;
use serde_json::Value;
use std::time::{Duration, Instant};

const LONG_REGEX: &str = "^(?i)(SUMMERSALE|WINTERSALE|SPRINGSALE)-[A-Z]{2}[0-9]{4}-(EU|US|UK)$";
const LONG_CODE: &str = "PARTNERWELCOMEBONUS2025EXTRALONGCODE";
const LONG_PARTNER: &str = "Northwind Premium Cashback & Loyalty Rewards Network";
const LONG_DEAL: &str = "Black Friday 25% off everything sitewide";

/// A brand whose codes list holds a long regex, a long code, a long
/// partner name and a long deal name, and a manager logged in over HTTP.
struct Shop {
    app: TestApp,
    brand: Brand,
    c: Client,
}

impl Shop {
    async fn new() -> Shop {
        let app = TestApp::spawn().await;
        let brand = app.brand("Acme Outdoor");
        app.user(&brand, "max@acme.test", Role::Manager);
        let long = app.partner(&brand, 100, LONG_PARTNER);
        let planet = app.partner(&brand, 200, "Coupon Planet");
        let hunter = app.partner(&brand, 300, "Deal Hunter");
        let deal = deals::create(
            &mut app.conn(),
            brand.id,
            &NewDeal {
                program_id: brand.program,
                name: LONG_DEAL.into(),
                kind: DealKind::PercentOff,
                value: Some(Decimal::new(25, 0)),
                currency: None,
            },
        )
        .expect("deal")
        .id;
        let c = app.login("max@acme.test").await;
        let shop = Shop { app, brand, c };
        let (long, planet, hunter, deal) = (
            long.to_string(),
            planet.to_string(),
            hunter.to_string(),
            deal.to_string(),
        );
        shop.code(&[
            ("code", LONG_REGEX),
            ("match_mode", "RE"),
            ("credit_rule", "WINNER"),
            ("partner_id", &long),
            ("deal_id", &deal),
            ("active_start", "2025-01-01T00:00"),
            ("active_end", "2030-12-31T23:59"),
        ])
        .await;
        shop.code(&[("code", LONG_CODE), ("code_type", "RESTRICTED")])
            .await;
        shop.code(&[
            ("code", "SUMMER10"),
            ("partner_id", &planet),
            ("credit_rule", "INVOLVED"),
            ("active_end", "2030-06-30T23:59"),
        ])
        .await;
        shop.code(&[
            ("code", "WINTER25"),
            ("partner_id", &hunter),
            ("active_start", "2031-01-01T00:00"),
        ])
        .await;
        shop.code(&[
            ("code", "SPRING5"),
            ("partner_id", &long),
            ("active_start", "2020-03-01T00:00"),
            ("active_end", "2020-05-31T23:59"),
        ])
        .await;
        shop
    }

    /// Creates a code through the form (a tracking, exact, ALWAYS code of
    /// the brand's program unless `fields` say otherwise).
    async fn code(&self, fields: &[(&str, &str)]) {
        let program = self.brand.program.0.to_string();
        let mut all: Vec<(&str, &str)> = vec![
            ("program_id", &program),
            ("code_type", "TRACKING"),
            ("credit_rule", "ALWAYS"),
            ("match_mode", "LI"),
        ];
        for (k, v) in fields {
            all.retain(|(key, _)| key != k);
            all.push((k, v));
        }
        let res = self.c.post("/codes", &all).await;
        let status = res.status();
        assert_eq!(
            status,
            303,
            "creating {fields:?}: {}",
            res.text().await.unwrap_or_default()
        );
    }

    async fn browser(&self) -> Browser {
        let b = Browser::start().await;
        b.login(&self.app.addr, "max@acme.test").await;
        b
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.addr)
    }
}

/// Measures the codes list: the card, its table, every header's right edge,
/// the lines of each partner cell, and whether each code cell keeps its
/// text inside (or truncates it with the full value as its title).
const MEASURE_LIST: &str = r#"
const table = document.querySelector('form.card table.table');
const card = table.closest('.card');
const wrap = table.closest('.table-wrap');
const box = e => e.getBoundingClientRect();
// The lines of text shown in a cell (lines a clamped box hides do not count).
const lines = el => {
  const clip = (el.firstElementChild || el).getBoundingClientRect();
  const r = document.createRange();
  r.selectNodeContents(el);
  const tops = [];
  for (const x of r.getClientRects()) {
    if (x.width > 0 && x.height < 40 && x.top >= clip.top - 1 && x.bottom <= clip.bottom + 1
        && !tops.some(t => Math.abs(t - x.top) < 4)) tops.push(x.top);
  }
  return tops.length;
};
const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
const col = name => heads.indexOf(name) + 1;
const cells = name => [...table.querySelectorAll(`tbody tr > td:nth-child(${col(name)})`)];
const visible = e => e.getClientRects().length > 0 && box(e).width > 0;
return {
  inner: innerWidth,
  doc_scroll: document.documentElement.scrollWidth,
  card_left: box(card).left,
  card_right: box(card).right,
  table_right: box(table).right,
  wrap_scroll: wrap.scrollWidth,
  wrap_client: wrap.clientWidth,
  heads: [...table.querySelectorAll('thead th')].map(th => ({
    text: th.textContent.trim(), right: box(th).right, width: Math.round(box(th).width),
    visible: visible(th)})),
  partner_lines: cells('Partner').map(td => [td.textContent.trim(), lines(td)]),
  codes: cells('Code').map(td => {
    const a = td.querySelector('a');
    return {text: a.textContent.trim(), title: a.title, right: box(td).right,
            overflows: td.scrollWidth > td.clientWidth + 1,
            truncated: a.scrollWidth > a.clientWidth + 1 || a.scrollHeight > a.clientHeight + 1,
            visible: visible(td)};
  }),
  spills: [...table.querySelectorAll('tbody td')].filter(visible)
    .filter(td => td.scrollWidth > td.clientWidth + 1).map(td => td.textContent.trim()),
  status_right: Math.max(...cells('Status').map(td => box(td).right)),
  partner_right: Math.max(...cells('Partner').map(td => box(td).right)),
  status_visible: cells('Status').every(visible),
  partner_visible: cells('Partner').every(visible),
};
"#;

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {key} in {v}"))
}

/// The list of codes fits inside its card: no column cut off or behind a
/// sideways scroll, nothing spilling out of its cell, long codes kept in
/// their cells (truncated ones carry the full value), partner names on at
/// most `partner_lines` lines.
fn assert_list_fits(m: &Value, what: &str, partner_lines: u64) {
    let card_right = num(m, "card_right");
    assert!(
        num(m, "table_right") <= card_right + 0.5,
        "{what}: the table ends at {} past its card's {card_right}: {m}",
        num(m, "table_right")
    );
    assert!(
        num(m, "wrap_scroll") <= num(m, "wrap_client"),
        "{what}: the table scrolls sideways in its card: {m}"
    );
    for h in m["heads"].as_array().expect("heads") {
        assert!(
            h["right"].as_f64().unwrap_or(f64::MAX) <= card_right + 0.5,
            "{what}: column {} is cut off: {m}",
            h["text"]
        );
    }
    assert!(
        m["heads"]
            .as_array()
            .expect("heads")
            .iter()
            .any(|h| h["text"] == "End" && h["visible"] == true),
        "{what}: no End column: {m}"
    );
    for p in m["partner_lines"].as_array().expect("partners") {
        assert!(
            p[1].as_u64().unwrap_or(99) <= partner_lines,
            "{what}: partner {} takes {} lines; columns {}",
            p[0],
            p[1],
            m["heads"]
        );
    }
    assert_eq!(
        m["spills"],
        serde_json::json!([]),
        "{what}: cells spill over"
    );
    let codes = m["codes"].as_array().expect("codes");
    assert!(codes.iter().any(|c| c["text"] == LONG_REGEX), "{m}");
    for c in codes {
        assert_eq!(c["overflows"], false, "{what}: code spills out: {c}");
        if c["truncated"] == true {
            assert_eq!(
                c["title"], c["text"],
                "{what}: a cut code shows it on hover"
            );
        }
    }
    assert!(
        num(m, "doc_scroll") <= num(m, "inner"),
        "{what}: the page scrolls sideways: {m}"
    );
}

#[actix_web::test]
async fn the_codes_list_fits_its_card_at_desktop_widths() {
    let shop = Shop::new().await;
    let b = shop.browser().await;
    let mut measured = Vec::new();
    for width in [1280, 1920] {
        b.viewport(width, 900).await;
        b.goto(&shop.url("/codes")).await;
        b.screenshot(&format!("codes-{width}")).await;
        measured.push((width, b.exec(MEASURE_LIST).await));
    }
    for (width, m) in measured {
        assert_eq!(num(&m, "inner") as u32, width, "{m}");
        assert_list_fits(&m, &format!("{width} px"), 2);
    }
}

/// Pages of a PDF (Chromium writes one `/Type /Page` object a page).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

#[actix_web::test]
async fn the_codes_list_prints_on_a4_without_clipping() {
    let shop = Shop::new().await;
    let b = shop.browser().await;
    // An A4 page's width inside its margins (210 mm - 2 x 12 mm) at 96 dpi.
    b.viewport(700, 1000).await;
    b.media("print").await;
    b.goto(&shop.url("/codes")).await;
    b.screenshot("codes-print").await;
    let m = b.exec(MEASURE_LIST).await;
    // The real thing: print.css as Chromium prints (no emulation).
    b.media("").await;
    b.viewport(1280, 900).await;
    let pdf = b.print_pdf().await;
    if let Ok(dir) = std::env::var("PROMODESK_SCREENS") {
        std::fs::write(format!("{dir}/codes.pdf"), &pdf).expect("write pdf");
    }
    // On paper nothing is cut: a long partner name may take a third line.
    assert_list_fits(&m, "print", 3);
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert_eq!(pdf_pages(&pdf), 1, "five codes fit on one A4 page");
}

/// Whether the page scrolls sideways (a phone's width).
const SIDEWAYS: &str = r#"
const wide = [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5 && e.getClientRects().length)
  .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40));
return {inner: innerWidth, scroll: document.documentElement.scrollWidth, wide};
"#;

async fn assert_no_sideways_scroll(b: &Browser, what: &str) {
    let m = b.exec(SIDEWAYS).await;
    assert_eq!(num(&m, "inner"), 390.0, "{m}");
    assert!(
        num(&m, "scroll") <= num(&m, "inner"),
        "{what} scrolls sideways at 390 px: {m}"
    );
}

/// Whether the main menu's links are shown, and where the toggle is.
const MENU: &str = r#"
const links = [...document.querySelectorAll('.mainnav a')];
const shown = e => e.getClientRects().length > 0 && e.getBoundingClientRect().width > 0;
const toggle = document.querySelector('.nav-toggle-label');
return {
  links: links.length,
  shown: links.filter(shown).length,
  inside: links.filter(shown).every(a => a.getBoundingClientRect().right <= innerWidth + 0.5),
  toggle: !!toggle && shown(toggle),
};
"#;

#[actix_web::test]
async fn at_a_phone_width_the_menu_collapses_and_nothing_scrolls_sideways() {
    let shop = Shop::new().await;
    let b = shop.browser().await;
    b.viewport(390, 844).await;
    b.goto(&shop.url("/codes")).await;
    b.screenshot("phone-codes").await;
    let menu = b.exec(MENU).await;
    assert_eq!(menu["links"], 9, "{menu}");
    assert_eq!(
        menu["shown"], 0,
        "the menu's links hide behind a toggle: {menu}"
    );
    assert_eq!(menu["toggle"], true, "{menu}");
    assert_no_sideways_scroll(&b, "/codes").await;
    let m = b.exec(MEASURE_LIST).await;
    assert_eq!(m["status_visible"], true, "{m}");
    assert_eq!(m["partner_visible"], true, "{m}");
    for c in m["codes"].as_array().expect("codes") {
        assert_eq!(c["visible"], true, "{m}");
        assert!(c["right"].as_f64().unwrap_or(f64::MAX) <= 390.0, "{m}");
        assert_eq!(c["overflows"], false, "code spills out: {c}");
    }
    assert!(num(&m, "status_right") <= 390.0, "{m}");
    assert!(num(&m, "partner_right") <= 390.0, "{m}");
    assert!(
        num(&m, "wrap_scroll") <= num(&m, "wrap_client"),
        "the list scrolls sideways: {m}"
    );
    // The toggle opens the menu, without JavaScript.
    b.click(".nav-toggle-label").await;
    b.screenshot("phone-menu-open").await;
    let menu = b.exec(MENU).await;
    assert_eq!(menu["shown"], 9, "{menu}");
    assert_eq!(menu["inside"], true, "{menu}");
    assert_no_sideways_scroll(&b, "the open menu").await;
    for path in [
        "/",
        "/uploads",
        "/uploads/new",
        "/help/regex",
        "/partners",
        "/deals",
    ] {
        b.goto(&shop.url(path)).await;
        assert_no_sideways_scroll(&b, path).await;
    }
    // At a desktop width the links are in the bar and the toggle is gone.
    b.viewport(1280, 900).await;
    b.goto(&shop.url("/codes")).await;
    let menu = b.exec(MENU).await;
    assert_eq!(menu["shown"], 9, "{menu}");
    assert_eq!(menu["toggle"], false, "{menu}");
}

const HEADER: &str = "Promo Code,Program Id,Media Id,Type,Credit Rule,Match Mode,Deal Id,Active Start Date,Active End Date,Timezone";

/// Uploads a file with one valid row and two with long bad values; returns
/// the review's path.
async fn review_with_errors(shop: &Shop) -> String {
    let p = shop.brand.program.0;
    let csv = format!(
        "{HEADER}\nAUTUMN20,{p},100,TRACKING,ALWAYS,LI,,,,\n\
         AUTUMN21,{p},100,TRACKING,ALWAYS,LI,,sometime-next-spring-after-the-big-catalogue-relaunch-2026,,\n\
         AUTUMN22,{p},100,TRACKING,ALWAYS,LI,,,,Europe/Somewhere_Far_Away_That_Is_Not_A_Real_Time_Zone\n"
    );
    let token = shop.c.csrf().await;
    let part = reqwest::multipart::Part::bytes(csv.into_bytes())
        .file_name("autumn.csv")
        .mime_str("text/csv")
        .expect("mime");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part("file", part);
    let res = shop
        .c
        .http
        .post(shop.c.url("/uploads"))
        .multipart(form)
        .send()
        .await
        .expect("POST /uploads");
    assert_eq!(res.status(), 303);
    location(&res)
}

#[actix_web::test]
async fn the_upload_error_table_wraps_at_a_phone_width() {
    let shop = Shop::new().await;
    let review = review_with_errors(&shop).await;
    let b = shop.browser().await;
    b.viewport(390, 844).await;
    b.goto(&shop.url(&review)).await;
    b.screenshot("phone-upload-review").await;
    let body = b.text("main").await;
    assert!(body.contains("Europe/Somewhere_Far_Away"), "{body}");
    assert_no_sideways_scroll(&b, &review).await;
    let m = b
        .exec(
            r#"return [...document.querySelectorAll('.table-wrap')].map(w =>
                 ({scroll: w.scrollWidth, client: w.clientWidth, text: w.textContent.trim().slice(0, 30)}));"#,
        )
        .await;
    let errors = &m[0];
    assert!(
        errors["text"].as_str().unwrap_or_default().contains("Row"),
        "{m}"
    );
    assert!(
        num(errors, "scroll") <= num(errors, "client"),
        "the error table scrolls sideways: {m}"
    );
}

#[actix_web::test]
async fn the_printed_upload_review_has_no_sentence_about_a_hidden_button() {
    let shop = Shop::new().await;
    let review = review_with_errors(&shop).await;
    let b = shop.browser().await;
    b.goto(&shop.url(&review)).await;
    let screen = b.text("main").await;
    assert!(
        screen.contains("Creates the 1 valid rows")
            && screen.contains("Download the error report")
            && screen.contains("fix them and upload that file again"),
        "{screen}"
    );
    b.viewport(700, 1000).await;
    b.media("print").await;
    b.screenshot("upload-review-print").await;
    let printed = b.text("main").await;
    assert!(printed.contains("With errors"), "{printed}");
    assert!(printed.contains("Errors"), "{printed}");
    for gone in [
        "Accept",
        "Creates the 1 valid rows",
        "Download the error report",
        "fix them and upload that file again",
    ] {
        assert!(!printed.contains(gone), "printed: {gone:?} in {printed}");
    }
}

#[actix_web::test]
async fn the_regex_testers_error_is_shown_as_an_error() {
    let shop = Shop::new().await;
    let b = shop.browser().await;
    b.goto(&shop.url("/help/regex")).await;
    b.clear("#pattern").await;
    b.type_into("#pattern", "SUMMER(10").await;
    b.wait_text("#tester-results", |t| t.to_lowercase().contains("unclosed"))
        .await;
    b.screenshot("regex-tester-error").await;
    let style = r#"const e = document.querySelector('#tester-results .error');
        return e ? getComputedStyle(e).color : null;"#;
    // --danger, as a form field's error.
    assert_eq!(b.exec(style).await, "rgb(198, 40, 40)", "live error");
    // Without the script: the server's answer looks the same.
    b.exec("window.beforePost = true; return null;").await;
    b.click("#regex-tester button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.exec("return window.beforePost === true;").await == true {
        assert!(Instant::now() < deadline, "the form was not posted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.wait_text("#tester-results", |t| t.to_lowercase().contains("unclosed"))
        .await;
    assert_eq!(b.exec(style).await, "rgb(198, 40, 40)", "posted error");
}

/// Whether the search box's placeholder fits in it, and its hint.
const SEARCH: &str = r#"
const q = document.getElementById('q');
const s = getComputedStyle(q);
const ctx = document.createElement('canvas').getContext('2d');
ctx.font = s.font;
const room = q.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
const hint = q.getAttribute('aria-describedby') && document.getElementById(q.getAttribute('aria-describedby'));
return {placeholder: q.placeholder, text: ctx.measureText(q.placeholder).width, room,
        hint: hint ? hint.textContent.trim() : '', hint_shown: !!hint && hint.getClientRects().length > 0};
"#;

#[actix_web::test]
async fn the_search_box_says_what_it_searches_in_full() {
    let shop = Shop::new().await;
    let b = shop.browser().await;
    for width in [1280, 390] {
        b.viewport(width, 900).await;
        b.goto(&shop.url("/codes")).await;
        let m = b.exec(SEARCH).await;
        assert!(
            num(&m, "text") <= num(&m, "room"),
            "{width} px: the placeholder is cut off: {m}"
        );
        let hint = m["hint"].as_str().unwrap_or_default();
        assert!(
            hint.contains("* = any text") && hint.contains("partner"),
            "{m}"
        );
        assert_eq!(m["hint_shown"], true, "{m}");
    }
}

/// The bulk bar's shown controls (by name) and its height.
const BULKBAR: &str = r#"
const bar = document.querySelector('.bulkbar');
const shown = e => e.getClientRects().length > 0 && e.getBoundingClientRect().width > 0;
const controls = [...bar.querySelectorAll('select, input, button')].filter(shown);
const tops = controls.map(c => c.getBoundingClientRect().top);
return {names: controls.filter(c => c.name).map(c => c.name),
        spread: Math.max(...tops) - Math.min(...tops),
        right: Math.max(...controls.map(c => c.getBoundingClientRect().right)),
        bar_right: bar.getBoundingClientRect().right};
"#;

#[actix_web::test]
async fn the_bulk_bar_shows_what_the_action_needs_on_one_line() {
    let shop = Shop::new().await;
    let b = shop.browser().await;
    b.viewport(1280, 900).await;
    b.goto(&shop.url("/codes")).await;
    for (action, fields) in [
        ("export", vec!["action"]),
        ("expire", vec!["action", "active_end"]),
        ("reactivate", vec!["action", "active_end"]),
        ("dates", vec!["action", "active_start", "active_end"]),
        ("deal", vec!["action", "deal_id"]),
    ] {
        b.click(&format!("#bulk-action option[value={action}]"))
            .await;
        b.screenshot(&format!("bulkbar-{action}")).await;
        let m = b.exec(BULKBAR).await;
        let names: Vec<&str> = m["names"]
            .as_array()
            .expect("names")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(names, fields, "{action}: {m}");
        assert!(num(&m, "spread") < 4.0, "{action}: the bar wraps: {m}");
        assert!(num(&m, "right") <= num(&m, "bar_right"), "{m}");
    }
}

#[actix_web::test]
async fn applying_a_bulk_action_to_nothing_says_so_and_keeps_the_search() {
    let shop = Shop::new().await;
    let b = shop.browser().await;
    b.goto(&shop.url("/codes?status=active")).await;
    b.type_into("#q", "SUMMER").await;
    b.click(".filters button[type=submit]").await;
    b.wait_text(".page-head", |t| t.contains("match these filters"))
        .await;
    b.click("#bulk-action option[value=expire]").await;
    b.click(".bulkbar button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.url().await.contains("/codes?") {
        assert!(Instant::now() < deadline, "stayed at {}", b.url().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let flash = b.wait_text(".flash", |t| !t.is_empty()).await;
    assert!(flash.contains("Select at least one code"), "{flash}");
    let q = b
        .exec(
            "return [document.getElementById('q').value, document.getElementById('status').value];",
        )
        .await;
    assert_eq!(q, serde_json::json!(["SUMMER", "active"]));
}

#[actix_web::test]
async fn bulk_with_no_codes_goes_back_to_the_same_list() {
    let shop = Shop::new().await;
    let (status, list) = shop
        .c
        .page("/codes?q=SUMMER&status=active&sort=-code&bogus=1")
        .await;
    assert_eq!(status, 200);
    assert!(
        list.contains(
            "<input type=\"hidden\" name=\"back\" value=\"q=SUMMER&#38;status=active&#38;sort=-code\">"
        ) || list.contains(
            "<input type=\"hidden\" name=\"back\" value=\"q=SUMMER&amp;status=active&amp;sort=-code\">"
        ),
        "the bulk form carries the list's query"
    );
    for (action, back, to) in [
        (
            "expire",
            "q=SUMMER&status=active&sort=-code",
            "/codes?q=SUMMER&status=active&sort=-code",
        ),
        ("export", "q=SUMMER&page=3", "/codes?q=SUMMER&page=3"),
        ("dates", "", "/codes"),
        // Only the list's own parameters go back, re-encoded.
        ("deal", "//evil.example/x", "/codes"),
        ("expire", "q=a%26b&x=https://evil.example", "/codes?q=a%26b"),
    ] {
        let res = shop
            .c
            .post("/codes/bulk", &[("action", action), ("back", back)])
            .await;
        assert_eq!(res.status(), 303, "{action} {back}");
        assert_eq!(location(&res), to, "{action} {back}");
    }
    let (status, page) = shop.c.page("/codes?q=SUMMER").await;
    assert_eq!(status, 200);
    assert!(page.contains("Select at least one code"), "{page}");
    assert!(page.contains("value=\"SUMMER\""), "the search is kept");
}

#[actix_web::test]
async fn the_upload_preview_keeps_a_long_pattern_inside_its_card() {
    let shop = Shop::new().await;
    let p = shop.brand.program.0;
    // Shop has LONG_REGEX already: a pattern as long, of other words.
    let long = LONG_REGEX.replace("SUMMER", "AUTUMN");
    let csv = format!("{HEADER}\n{long},{p},100,TRACKING,ALWAYS,RE,,,,\n");
    let token = shop.c.csrf().await;
    let part = reqwest::multipart::Part::bytes(csv.into_bytes())
        .file_name("long.csv")
        .mime_str("text/csv")
        .expect("mime");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part("file", part);
    let res = shop
        .c
        .http
        .post(shop.c.url("/uploads"))
        .multipart(form)
        .send()
        .await
        .expect("POST /uploads");
    assert_eq!(res.status(), 303);
    let review = location(&res);
    let b = shop.browser().await;
    b.viewport(1280, 900).await;
    b.goto(&shop.url(&review)).await;
    let body = b.text("main").await;
    assert!(body.contains("First valid rows"), "{body}");
    let m = b
        .exec(
            r#"const t = document.querySelector('.table-compact');
               const w = t.closest('.table-wrap');
               return {scroll: w.scrollWidth, client: w.clientWidth, text: t.textContent};"#,
        )
        .await;
    assert!(
        m["text"]
            .as_str()
            .unwrap_or_default()
            .contains("AUTUMNSALE"),
        "{m}"
    );
    assert!(
        num(&m, "scroll") <= num(&m, "client"),
        "the preview scrolls sideways at 1280 px: {m}"
    );
}
