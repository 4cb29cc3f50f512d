//! Browser tests in real headless Chromium (Debian's chromium +
//! chromium-driver), driven over the W3C WebDriver protocol.

use crate::helpers::{TestApp, PASSWORD};
use promodesk::domain::Role;
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process with one headless Chromium session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(&driver_bin)
            // Its own process group, so dropping the browser ends Chromium too.
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                         "--window-size=1366,900", format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("json");
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("json");
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn find(&self, css: &str) -> String {
        self.try_find(css)
            .await
            .unwrap_or_else(|v| panic!("no element {css}: {v}"))
    }

    /// The element, or the driver's answer when there is none (yet: a page
    /// that is still loading).
    async fn try_find(&self, css: &str) -> Result<String, Value> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().map(str::to_string).ok_or(v)
    }

    pub async fn clear(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.text_of(&e).await
    }

    async fn text_of(&self, element: &str) -> String {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Runs a script in the page and returns its result.
    #[allow(dead_code)]
    pub async fn exec(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Runs a Chrome DevTools command (chromedriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await
    }

    /// Lays the page out at `width` x `height` CSS pixels (a phone below
    /// 600 px: mobile viewport rules apply).
    pub async fn viewport(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await;
    }

    /// Lays the page out for `screen` or `print` (`""`: as the browser would).
    pub async fn media(&self, media: &str) {
        self.cdp("Emulation.setEmulatedMedia", json!({"media": media}))
            .await;
    }

    /// The whole page as a PNG, saved under `$PROMODESK_SCREENS/<name>.png`
    /// when that variable names a directory (to look at a layout).
    pub async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("PROMODESK_SCREENS") else {
            return;
        };
        let m = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &m["cssContentSize"];
        let (w, h) = (
            size["width"].as_f64().unwrap_or(1280.0),
            size["height"].as_f64().unwrap_or(900.0).min(6000.0),
        );
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                       "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}),
            )
            .await;
        let data = shot["data"].as_str().unwrap_or_default();
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("screenshot base64");
        std::fs::create_dir_all(&dir).expect("screens dir");
        std::fs::write(format!("{dir}/{name}.png"), bytes).expect("write screenshot");
    }

    /// Prints the page (WebDriver print: A4 portrait, default margins) and
    /// returns the PDF.
    pub async fn print_pdf(&self) -> Vec<u8> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/print",
                Some(
                    json!({"page": {"width": 21.0, "height": 29.7}, "orientation": "portrait",
                            "background": true}),
                ),
            )
            .await;
        let data = v.as_str().unwrap_or_else(|| panic!("print failed: {v}"));
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("pdf base64")
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the text of `css` satisfies `pred`.
    pub async fn wait_text(&self, css: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // Layout may break lines between inline parts: compare words. A
            // page that is still loading (after a click) may not have it yet.
            let t = match self.try_find(css).await {
                Ok(e) => self.text_of(&e).await,
                Err(v) => format!("(no element {css} yet: {v})"),
            }
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
            if pred(&t) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting on {css}; last text: {t}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn login(&self, app_addr: &str, email: &str) {
        self.goto(&format!("{app_addr}/login")).await;
        self.type_into("#email", email).await;
        self.type_into("#password", PASSWORD).await;
        self.click("button[type=submit]").await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.url().await.ends_with("/login") {
            assert!(
                Instant::now() < deadline,
                "login did not leave the login page"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SAFETY: kill with a process group id we created and a valid signal.
        unsafe {
            libc::kill(-(self.driver.id() as i32), libc::SIGKILL);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[actix_web::test]
async fn the_regex_tester_updates_as_you_type() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Viewer);
    let b = Browser::start().await;
    b.login(&app.addr, "ann@acme.test").await;
    b.goto(&format!("{}/help/regex", app.addr)).await;
    b.clear("#samples").await;
    b.type_into("#samples", "AB1234\nab1234\nXAB1234").await;
    b.clear("#pattern").await;
    b.type_into("#pattern", "^(AB|CD)[0-9]{4}$").await;
    // No submit: the script asks the server as you type.
    let text = b
        .wait_text("#tester-results", |t| {
            t.contains("XAB1234 does not match") && t.contains("AB1234 matches")
        })
        .await;
    assert!(text.contains("ab1234 does not match"), "{text}");
    b.clear("#pattern").await;
    b.type_into("#pattern", "(?i)AB[0-9]{4}").await;
    let text = b
        .wait_text("#tester-results", |t| t.contains("ab1234 matches"))
        .await;
    assert!(text.contains("XAB1234 does not match"), "{text}");
    b.clear("#pattern").await;
    b.type_into("#pattern", "AB(").await;
    b.wait_text("#tester-results", |t| {
        t.to_lowercase().contains("not valid") || t.to_lowercase().contains("unclosed")
    })
    .await;
}

/// Saves a screenshot of the page under target/screenshots (to look at).
async fn save_screenshot(b: &Browser, name: &str) {
    use base64::Engine;
    let v = b.cmd(reqwest::Method::GET, "/screenshot", None).await;
    let Some(png) = v
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
    else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.png")), png);
}

async fn wait_for(b: &Browser, script: &str, want: Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = b.exec(script).await;
        if got == want {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting on {script}: {got}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn the_code_forms_time_zone_follows_the_program() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    let eu = crate::codes::eu_program(&app, &brand);
    app.user(&brand, "max@acme.test", Role::Manager);
    let b = Browser::start().await;
    b.login(&app.addr, "max@acme.test").await;
    b.goto(&format!("{}/codes/new", app.addr)).await;
    let zone = "return document.getElementById('timezone').value";
    assert_eq!(b.exec(zone).await, json!("America/New_York"));
    b.click(&format!("#program_id option[value='{eu}']")).await;
    wait_for(&b, zone, json!("Europe/Berlin")).await;
    save_screenshot(&b, "code-form-zone-follows-program").await;
    // A zone chosen by hand stays when the program changes again.
    b.click("#timezone option[value='Asia/Tokyo']").await;
    b.click(&format!("#program_id option[value='{}']", brand.program.0))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(b.exec(zone).await, json!("Asia/Tokyo"));
    // Back to the program's zone, then to Berlin's: saved in Berlin time.
    b.click("#timezone option[value='America/New_York']").await;
    b.click(&format!("#program_id option[value='{eu}']")).await;
    wait_for(&b, zone, json!("Europe/Berlin")).await;
    b.click("#code_type option[value='RESTRICTED']").await;
    b.type_into("#code", "BERLINCODE").await;
    b.click("button.btn-primary[type=submit]").await;
    b.wait_text("main", |t| t.contains("Promo code BERLINCODE created."))
        .await;
    let row: Vec<String> = {
        use diesel::prelude::*;
        promodesk::db::schema::promo_codes::table
            .filter(promodesk::db::schema::promo_codes::code.eq("BERLINCODE"))
            .select(promodesk::db::schema::promo_codes::time_zone)
            .load(&mut app.conn())
            .expect("row")
    };
    assert_eq!(row, vec!["Europe/Berlin".to_string()]);
}

#[actix_web::test]
async fn expire_asks_in_a_dialog() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "max@acme.test", Role::Manager);
    let path = format!("/codes/{}", app.code(&brand, "DIALOG10").create());
    let b = Browser::start().await;
    b.login(&app.addr, "max@acme.test").await;
    b.goto(&format!("{}{path}", app.addr)).await;
    let open = "return document.getElementById('expire-dialog').open";
    assert_eq!(b.exec(open).await, json!(false));
    b.click("a[data-dialog='expire-dialog']").await;
    wait_for(&b, open, json!(true)).await;
    assert!(b.url().await.ends_with(&path), "no confirmation page");
    save_screenshot(&b, "code-expire-dialog").await;
    let ended = || {
        use diesel::prelude::*;
        promodesk::db::schema::promo_codes::table
            .filter(promodesk::db::schema::promo_codes::code.eq("DIALOG10"))
            .select(promodesk::db::schema::promo_codes::active_end)
            .first::<Option<chrono::DateTime<chrono::Utc>>>(&mut app.conn())
            .expect("row")
    };
    b.click("#expire-dialog button[formmethod=dialog]").await;
    wait_for(&b, open, json!(false)).await;
    assert_eq!(ended(), None, "cancelled: nothing changed");
    b.click("a[data-dialog='expire-dialog']").await;
    wait_for(&b, open, json!(true)).await;
    b.click("#expire-dialog button.btn-danger").await;
    b.wait_text("main", |t| t.contains("DIALOG10 expired."))
        .await;
    assert!(ended().is_some());
}
