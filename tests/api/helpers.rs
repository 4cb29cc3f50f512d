//! The test harness: a real PostgreSQL (a private cluster started once per
//! run and shared by test binaries, or TEST_DATABASE_URL / DATABASE_URL), a
//! migrated template database, one fresh database per test cloned from it,
//! and the real app on a random port driven over HTTP.

use crate::html::{csrf_in, flash_errors};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use promodesk::config::Config;
use promodesk::db;
use promodesk::db::embedded::{Cluster, Tuning};
use promodesk::domain::{BrandId, ProgramId, Role, UserId};
use promodesk::store::{accounts, partners};
use promodesk::web::{self, AppState};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub const PASSWORD: &str = "correct horse battery";

/// The server of the whole run: its admin URL (database `postgres`).
pub fn admin_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Some(url) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .or_else(|| std::env::var("DATABASE_URL").ok())
        {
            if !url.trim().is_empty() {
                return url;
            }
        }
        let root = test_cluster_root();
        std::fs::create_dir_all(root.parent().expect("parent")).expect("target tmp dir");
        // Test binaries run at once: one of them starts the cluster.
        let lock = File::create(root.with_extension("lock")).expect("lock file");
        lock.lock().expect("lock the test cluster");
        let cluster =
            Cluster::at(&root).expect("PostgreSQL server binaries (apt-get install postgresql)");
        cluster
            .ensure_running(Tuning::FastUnsafe)
            .expect("start the test cluster");
        drop(lock);
        cluster.url("postgres")
    })
}

pub fn test_cluster_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-pg")
}

fn url_for(db: &str) -> String {
    let admin = admin_url();
    // Swap the database name in a URL of the form scheme://.../NAME?query.
    let (base, query) = admin
        .split_once('?')
        .map(|(b, q)| (b, Some(q)))
        .unwrap_or((admin, None));
    let cut = base.rfind('/').expect("database URL with a path");
    let mut url = format!("{}/{db}", &base[..cut]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// The migrated template database, created once (under an advisory lock:
/// test binaries race for it) and named by a hash of the migrations.
fn template() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut files: Vec<PathBuf> = walk(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations"
        )));
        files.sort();
        for f in files {
            f.file_name().hash(&mut hasher);
            std::fs::read(&f).expect("migration file").hash(&mut hasher);
        }
        let name = format!("promodesk_tpl_{:016x}", hasher.finish());
        let mut admin = PgConnection::establish(admin_url()).expect("connect to the test server");
        diesel::sql_query("SELECT pg_advisory_lock(4242)")
            .execute(&mut admin)
            .expect("advisory lock");
        #[derive(QueryableByName)]
        struct Exists {
            #[diesel(sql_type = Bool)]
            exists: bool,
        }
        let found: Exists = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
        )
        .bind::<Text, _>(&name)
        .get_result(&mut admin)
        .expect("query pg_database");
        if !found.exists {
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .expect("create template");
            db::migrate(&url_for(&name)).expect("migrate the template");
        }
        diesel::sql_query("SELECT pg_advisory_unlock(4242)")
            .execute(&mut admin)
            .expect("unlock");
        name
    })
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read migrations").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A fresh database, cloned from the template; dropped with the value.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let tpl = template();
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut admin = PgConnection::establish(admin_url()).expect("connect to the test server");
        diesel::sql_query(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\" STRATEGY FILE_COPY"
        ))
        .execute(&mut admin)
        .expect("clone the template database");
        let url = url_for(&name);
        TestDb { name, url }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to the test database")
    }
}

impl TestDb {
    /// Drops the database now, ending its connections: to the app, the
    /// database is down.
    pub fn drop_now(&self) {
        let mut admin = PgConnection::establish(admin_url()).expect("connect to the test server");
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .expect("drop the test database");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(admin_url()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// What the servers of this test binary logged (warnings and errors, with
/// their spans: a request's line names its `request_id`).
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().expect("log buffer")).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(Default::default)
}

#[derive(Clone)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the binary's global subscriber once: request handling logs on
/// the server's worker and blocking threads, not the test's.
fn capture_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let buffer = log_buffer().clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || LogWriter(buffer.clone()))
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.is_span() || *m.level() <= tracing::Level::WARN
            }));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("the test binary's only subscriber");
    });
}

/// The app running on a random port with its own database.
pub struct TestApp {
    pub addr: String,
    pub db: TestDb,
}

pub struct Brand {
    pub id: BrandId,
    pub program: ProgramId,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// The app with its test settings changed by `f` (e.g. a small upload
    /// limit).
    pub async fn spawn_with(f: impl FnOnce(&mut Config)) -> TestApp {
        capture_logs();
        let db = TestDb::new();
        let pool = db::pool(&db.url, 4).expect("pool");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
        let addr = format!("http://{}", listener.local_addr().expect("addr"));
        let mut config = Config::for_tests(db.url.clone());
        f(&mut config);
        let state = AppState::new(pool, config, false);
        let server = web::serve(listener, state).expect("start the server");
        actix_web::rt::spawn(server);
        TestApp { addr, db }
    }

    pub fn conn(&self) -> PgConnection {
        self.db.conn()
    }

    /// A brand with one program, "{name} US" (New York, tracking on).
    pub fn brand(&self, name: &str) -> Brand {
        let b = accounts::create_brand(&mut self.conn(), name).expect("brand");
        let mut brand = Brand {
            id: BrandId(b.id),
            program: ProgramId(0),
        };
        brand.program = self.program(&brand, &format!("{name} US")).create();
        brand
    }

    pub fn user(&self, brand: &Brand, email: &str, role: Role) -> UserId {
        let mut c = self.conn();
        let hash = password_auth::generate_hash(PASSWORD);
        accounts::create_user(&mut c, brand.id, email, role, &hash).expect("user")
    }

    /// An active, preferred partner; its id.
    pub fn partner(&self, brand: &Brand, media_id: i64, name: &str) -> i64 {
        let mut c = self.conn();
        partners::create(
            &mut c,
            brand.id,
            &promodesk::domain::partner::NewPartner {
                media_id,
                name: name.into(),
                status: promodesk::domain::partner::PartnerStatus::Active,
                credit_group: promodesk::domain::partner::CreditGroup::Preferred,
                payout: None,
                email: None,
            },
        )
        .expect("partner")
        .id
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> Client {
        Client::new(&self.addr)
    }

    /// A client logged in as `email`.
    pub async fn login(&self, email: &str) -> Client {
        let c = self.client();
        let res = c.login(email, PASSWORD).await;
        assert_eq!(res.status(), 303, "login of {email} failed");
        c
    }
}

/// A fresh app with the brand Acme (program "Acme US") and its user
/// ann@acme.test of `role`, logged in.
pub async fn acme(role: Role) -> (TestApp, Brand, Client) {
    let (app, brand, _, c) = acme_as("ann@acme.test", role).await;
    (app, brand, c)
}

/// [`acme`] with the user `email`; also the user's id.
pub async fn acme_as(email: &str, role: Role) -> (TestApp, Brand, UserId, Client) {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    let user = app.user(&brand, email, role);
    let c = app.login(email).await;
    (app, brand, user, c)
}

/// The program settings form: `name` and `time_zone`, in USD, landing on
/// the shop's home page.
pub fn program_form<'a>(name: &'a str, time_zone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("time_zone", time_zone),
        ("currency", "USD"),
        ("landing_url", "https://shop.example/"),
    ]
}

pub struct Client {
    pub addr: String,
    pub http: reqwest::Client,
}

/// The body of a response that must have `status` (a failure shows the body).
pub async fn body_of(res: reqwest::Response, status: u16) -> String {
    let got = res.status().as_u16();
    let url = res.url().path().to_string();
    let body = res.text().await.expect("body");
    assert_eq!(got, status, "{url}: {}", flash_errors(&body));
    body
}

impl Client {
    /// A browser-like client of the server at `addr` (`http://host:port`):
    /// keeps cookies, does not follow redirects.
    pub fn new(addr: &str) -> Client {
        Client {
            addr: addr.to_string(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// GET, returning status and body.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.text().await.expect("body"))
    }

    /// GET of a page that must answer 200; its body.
    pub async fn ok(&self, path: &str) -> String {
        body_of(self.get(path).await, 200).await
    }

    /// The session's CSRF token, read from a page's form.
    pub async fn csrf(&self) -> String {
        let (_, body) = self.page("/").await;
        if let Some(t) = csrf_in(&body) {
            return t;
        }
        let (_, body) = self.page("/login").await;
        csrf_in(&body).expect("a form with a CSRF token")
    }

    /// POSTs a form as given (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// POSTs a form with the session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all).await
    }

    /// POSTs a file to /uploads as the upload form does.
    pub async fn upload(
        &self,
        bytes: Vec<u8>,
        file_name: &str,
        update_existing: bool,
    ) -> reqwest::Response {
        let token = self.csrf().await;
        let mime = if file_name.ends_with(".xlsx") {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        } else {
            "text/csv"
        };
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str(mime)
            .expect("mime");
        let mut form = reqwest::multipart::Form::new()
            .text("csrf_token", token)
            .part("file", part);
        if update_existing {
            form = form.text("update_existing", "on");
        }
        self.http
            .post(self.url("/uploads"))
            .multipart(form)
            .send()
            .await
            .expect("POST /uploads")
    }

    /// Posts the new code form: a TRACKING, exact, ALWAYS code of `program`
    /// unless `fields` say otherwise (an empty value clears a field).
    pub async fn create_code(
        &self,
        program: ProgramId,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.code_form("/codes", program, fields).await
    }

    /// Posts a code form (`/codes` creates, `/codes/{id}` saves an edit)
    /// with the fields of [`Client::create_code`].
    pub async fn code_form(
        &self,
        path: &str,
        program: ProgramId,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let program = program.0.to_string();
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
        self.post(path, &all).await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        let (_, body) = self.page("/login").await;
        let token = csrf_in(&body).expect("login form token");
        self.post_raw(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ],
        )
        .await
    }
}

/// A `SELECT count(*) AS n ...` (or any query yielding one BIGINT `n`).
pub fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}
