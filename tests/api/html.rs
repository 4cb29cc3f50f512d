//! Reading the app's pages in tests: every scraper in one place.

/// The session's CSRF token on a page's form.
pub fn csrf_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The page's `<main>`: what the page says, without the header every page
/// shows (brand name, user, navigation) or the footer.
pub fn main_of(html: &str) -> &str {
    let start = html
        .find("<main")
        .unwrap_or_else(|| panic!("no <main> in {html}"));
    let end = html[start..]
        .find("</main>")
        .unwrap_or_else(|| panic!("no </main> in {html}"))
        + start;
    &html[start..end]
}

/// Decodes the HTML entities the templates produce.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text without tags, entities decoded.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// The page's text with whitespace collapsed: what a user reads.
pub fn text_of(html: &str) -> String {
    strip_tags(html)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts that the page says `text` (in what a user reads).
pub fn assert_says(html: &str, text: &str) {
    let read = text_of(html);
    assert!(read.contains(text), "{text:?} not in: {read}");
}

/// The items of the form page's error box (or the start of the page's text
/// when it has none), for a failure's message.
pub fn flash_errors(html: &str) -> String {
    html.split("flash-error")
        .nth(1)
        .map(|s| text_of(s.split("</div>").next().unwrap_or("")))
        .unwrap_or_else(|| text_of(html).chars().take(2000).collect())
}

/// The messages of the form's fields in error (`<p class="error">`).
pub fn field_errors(html: &str) -> Vec<String> {
    html.split("class=\"error\"")
        .skip(1)
        .map(|s| {
            let inner = s.split_once('>').map(|(_, r)| r).unwrap_or("");
            text_of(inner.split("</p>").next().unwrap_or(""))
        })
        .collect()
}

/// The error message shown in the form field that holds the input `field`.
pub fn error_beside(body: &str, field: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{field}\""))?;
    let rest = &body[start..];
    let end = rest.find("class=\"field").unwrap_or(rest.len());
    let marker = "<p class=\"error\">";
    let at = rest[..end].find(marker)? + marker.len();
    let len = rest[at..].find("</p>")?;
    Some(rest[at..at + len].to_string())
}

/// The codes of a page's code tables (the list, a partner's page), in the
/// order shown.
pub fn codes_in(html: &str) -> Vec<String> {
    html.split("<td class=\"code\"><a href=\"/codes/")
        .skip(1)
        .filter_map(|s| {
            s.split_once("\">")
                .and_then(|(_, rest)| rest.split_once("</a>"))
                .map(|(c, _)| c.to_string())
        })
        .collect()
}

/// The value of the hidden field or selected option named `name` on a form.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let hidden = format!("name=\"{name}\" value=\"");
    if let Some(i) = html.find(&hidden) {
        let rest = &html[i + hidden.len()..];
        return rest.split('"').next().map(str::to_string);
    }
    let select = html.split(&format!("name=\"{name}\"")).nth(1)?;
    let select = select.split("</select>").next()?;
    let selected = select.split("<option").find(|o| o.contains(" selected"))?;
    selected
        .split("value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .map(str::to_string)
}

/// The value of the `<input>` named `name`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let start = html[..at].rfind('<')?;
    let tag = &html[start..at + html[at..].find('>')?];
    let value = tag.split(" value=\"").nth(1)?;
    value.split('"').next().map(str::to_string)
}

/// What follows `heading` on the page (a section's tables), if it is there.
pub fn section<'a>(html: &'a str, heading: &str) -> Option<&'a str> {
    html.split_once(heading).map(|(_, rest)| rest)
}

/// The head of the first table of `html` (up to `</thead>`).
pub fn table_head(html: &str) -> &str {
    html.split("</thead>").next().unwrap_or("")
}

/// The first table row (`<tr>...`) of `html` with a cell of exactly `text`.
pub fn row_with<'a>(html: &'a str, text: &str) -> Option<&'a str> {
    html.split("<tr>")
        .find(|tr| tr.contains(&format!(">{text}</td>")))
}

/// The `<option>`s of the `<select id="{id}">`: (value, selected).
fn select_options(html: &str, id: &str) -> Vec<(String, bool)> {
    let start = html
        .find(&format!("<select id=\"{id}\""))
        .unwrap_or_else(|| panic!("no select #{id} in {html}"));
    let select = &html[start..];
    let select = &select[..select.find("</select>").expect("end of select")];
    select
        .split("<option value=\"")
        .skip(1)
        .filter_map(|s| {
            let selected = s.split('>').next().unwrap_or("").contains("selected");
            s.split_once('"').map(|(v, _)| (v.to_string(), selected))
        })
        .collect()
}

/// The option values of the `<select id="{id}">` of a page.
pub fn options(html: &str, id: &str) -> Vec<String> {
    select_options(html, id)
        .into_iter()
        .map(|(v, _)| v)
        .collect()
}

/// The selected option values of the `<select id="{id}">` of a page.
pub fn selected(html: &str, id: &str) -> Vec<String> {
    select_options(html, id)
        .into_iter()
        .filter_map(|(v, s)| s.then_some(v))
        .collect()
}

/// A review count by its label ("Rows", "Valid", "To create", ...).
pub fn count_value(html: &str, label: &str) -> i64 {
    let marker = format!("<span class=\"count-label\">{label}</span><span class=\"count-value\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no count {label:?} on the page"))
        + marker.len();
    let end = html[start..].find('<').expect("end of count") + start;
    html[start..end].trim().parse().expect("a number")
}

/// The review counts of these labels.
pub fn counts(html: &str, labels: &[&str]) -> Vec<i64> {
    labels.iter().map(|l| count_value(html, l)).collect()
}

/// The text of each cell of a table row (`<tr>...</tr>`), tags stripped.
pub fn cells(tr: &str) -> Vec<String> {
    tr.split("<td")
        .skip(1)
        .map(|td| {
            let inner = td.split_once('>').map(|(_, r)| r).unwrap_or("");
            strip_tags(inner.split("</td>").next().unwrap_or(""))
        })
        .collect()
}

/// One line of an upload review's error table.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    pub row: i64,
    pub column: String,
    pub value: String,
    pub message: String,
}

/// The review's error table ("Row", "Column", "Value", "Problem").
pub fn error_table(html: &str) -> Vec<ErrorRow> {
    let Some(section) = section(html, "<h2>Errors</h2>") else {
        return Vec::new();
    };
    let head = table_head(section);
    assert!(
        head.contains(">Row</th>") && head.contains(">Column</th>"),
        "error table head: {head}"
    );
    let body = section
        .split("<tbody>")
        .nth(1)
        .and_then(|s| s.split("</tbody>").next())
        .expect("error table body");
    body.split("<tr>")
        .skip(1)
        .map(|tr| {
            let cells = cells(tr);
            assert_eq!(cells.len(), 4, "error row cells: {tr}");
            ErrorRow {
                row: cells[0].trim().parse().expect("row number"),
                column: cells[1].clone(),
                value: cells[2].clone(),
                message: cells[3].clone(),
            }
        })
        .collect()
}

/// The dashboard's figures: label, link and number.
pub fn figures(html: &str) -> Vec<(String, String, i64)> {
    html.split("<span class=\"kpi-label\">")
        .skip(1)
        .map(|s| {
            let label = s.split('<').next().unwrap_or("").to_string();
            let href = s
                .split_once("href=\"")
                .and_then(|(_, r)| r.split_once('"'))
                .map(|(h, _)| h.replace("&amp;", "&"))
                .unwrap_or_default();
            let value = s
                .split_once("\">")
                .and_then(|(_, r)| r.split_once("\">"))
                .and_then(|(_, r)| r.split_once('<'))
                .map(|(v, _)| v.replace(',', ""))
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1);
            (label, href, value)
        })
        .collect()
}

/// The texts of the links to `prefix...` of a page (`/actions/`: the order
/// ids of an action list), in the order shown.
pub fn link_texts(html: &str, prefix: &str) -> Vec<String> {
    html.split(&format!("<a href=\"{prefix}"))
        .skip(1)
        .filter_map(|s| {
            let inner = s.split_once('>')?.1;
            Some(text_of(inner.split("</a>").next()?))
        })
        .collect()
}

/// The href of the first link labelled `label`.
pub fn href_of(html: &str, label: &str) -> Option<String> {
    let at = html.find(&format!(">{label}</a>"))?;
    let start = html[..at].rfind("href=\"")? + "href=\"".len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

#[test]
fn main_of_leaves_out_the_header_and_footer() {
    let page = "<header>Acme · Dashboard</header><main id=\"main\"><h1>Codes</h1></main><footer>x</footer>";
    assert_eq!(main_of(page), "<main id=\"main\"><h1>Codes</h1>");
    assert!(!main_of(page).contains("Dashboard"));
}

#[test]
fn input_value_reads_the_named_input() {
    let html = r#"<input id="a" name="active_start" type="datetime-local" value="2026-07-01T09:00"><input name="b">"#;
    assert_eq!(
        input_value(html, "active_start").as_deref(),
        Some("2026-07-01T09:00")
    );
    assert_eq!(input_value(html, "b"), None);
}

#[test]
fn field_errors_reads_each_message() {
    let html =
        "<p class=\"error\">Required.</p><input><p class=\"error\" id=\"e\">Too <b>long</b>.</p>";
    assert_eq!(field_errors(html), vec!["Required.", "Too long."]);
}

#[test]
fn links_read_in_order_with_their_targets() {
    let html = r#"<a href="/actions/2" class="mono">B-2</a> <a href="/codes/1">X</a><a href="/actions/1">A-1</a><a href="/x?a=1&amp;b=2" rel="next">Older →</a>"#;
    assert_eq!(link_texts(html, "/actions/"), vec!["B-2", "A-1"]);
    assert_eq!(href_of(html, "Older →").as_deref(), Some("/x?a=1&b=2"));
    assert_eq!(href_of(html, "Newer"), None);
}
