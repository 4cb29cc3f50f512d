use clap::{Parser, Subcommand};
use diesel::Connection;
use promodesk::config::Config;
use promodesk::db;
use promodesk::domain::Role;
use promodesk::web::{self, AppState};
use std::net::TcpListener;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "promodesk",
    version,
    about = "Tracking promo codes for partner programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default). Without DATABASE_URL it starts a
    /// private PostgreSQL in ./data and seeds the demo brand.
    Serve {
        /// Seed the demo brand even when DATABASE_URL is set.
        #[arg(long)]
        demo: bool,
    },
    /// Run pending database migrations.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Seed the demo brand (login demo@promodesk.test / promodesk-demo).
    DemoData,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the brand is created when it does not exist.
    Add {
        #[arg(long)]
        brand: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// admin, manager or viewer.
        #[arg(long, default_value = "admin")]
        role: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => serve(demo),
        Command::Migrate => with_database(|url| {
            let done = db::migrate(url).map_err(|e| e.to_string())?;
            println!("{} migration(s) applied", done.len());
            Ok(())
        }),
        Command::User {
            command:
                UserCommand::Add {
                    brand,
                    email,
                    password,
                    role,
                },
        } => with_database(|url| {
            let role = Role::parse(&role)
                .ok_or_else(|| format!("unknown role `{role}`: use admin, manager or viewer"))?;
            if password.chars().count() < 10 {
                return Err("the password must have at least 10 characters".into());
            }
            db::migrate(url).map_err(|e| e.to_string())?;
            let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
            let hash = password_auth::generate_hash(&password);
            let brand_id = match promodesk::store::accounts::find_brand_by_name(&mut conn, &brand)
                .map_err(|e| e.to_string())?
            {
                Some(b) => b.id,
                None => {
                    promodesk::store::accounts::create_brand(&mut conn, &brand)
                        .map_err(|e| e.to_string())?
                        .id
                }
            };
            let id = promodesk::store::accounts::create_user(
                &mut conn,
                promodesk::domain::BrandId(brand_id),
                &email,
                role,
                &hash,
            )
            .map_err(|e| e.to_string())?;
            println!("user {email} (id {id}, {role}) added to brand {brand}");
            Ok(())
        }),
        Command::DemoData => with_database(|url| {
            db::migrate(url).map_err(|e| e.to_string())?;
            let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
            let s = promodesk::demo::seed(&mut conn).map_err(|e| e.to_string())?;
            println!(
                "demo brand {}: {} codes, {} actions; login {} / {}",
                if s.created {
                    "created"
                } else {
                    "already present"
                },
                s.codes,
                s.actions,
                promodesk::demo::DEMO_EMAIL,
                promodesk::demo::DEMO_PASSWORD
            );
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("promodesk: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `f` against the configured database, starting (and afterwards
/// stopping) the private cluster when DATABASE_URL is unset.
fn with_database(f: impl FnOnce(&str) -> Result<(), String>) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let database = db::resolve(&config)?;
    let result = f(&database.url);
    database.release()?;
    result
}

fn serve(demo: bool) -> Result<(), String> {
    let started = std::time::Instant::now();
    // Every setting is checked before anything starts (Config::from_env),
    // and the session key is read or made before any database work.
    let config = Config::from_env().map_err(|e| e.to_string())?;
    config.session_key_bytes().map_err(|e| e.to_string())?;
    // Listen first: a port in use is refused before any database work.
    let listener = TcpListener::bind(&config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let database = db::resolve(&config)?;
    let url = database.url.clone();
    let private = database.cluster.is_some();
    let mut maintenance_thread = None;
    let result = (|| {
        let applied = db::migrate(&url).map_err(|e| e.to_string())?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "migrations applied");
        }
        let demo_login = demo || private;
        if demo_login {
            let mut conn = diesel::PgConnection::establish(&url).map_err(|e| e.to_string())?;
            let s = promodesk::demo::seed(&mut conn).map_err(|e| e.to_string())?;
            tracing::info!(
                codes = s.codes,
                actions = s.actions,
                created = s.created,
                "demo brand ready"
            );
        }
        let pool = db::pool(&url, config.pool_size).map_err(|e| e.to_string())?;
        // Staged rows of uploads that ended (accepted, failed, discarded)
        // while a previous server stopped before dropping them: dropped
        // beside the start, which does not wait for it.
        let maintenance = pool.clone();
        maintenance_thread = Some(std::thread::spawn(move || {
            let purged = maintenance
                .get()
                .map_err(|e| e.to_string())
                .and_then(|mut c| {
                    promodesk::store::uploads::purge_ended_staged(&mut c).map_err(|e| e.to_string())
                });
            match purged {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "dropped the staged rows of ended uploads"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not drop the staged rows of ended uploads")
                }
            }
        }));
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let state = AppState::new(pool, config, demo_login);
        actix_web::rt::System::new()
            .block_on(async move {
                let server = web::serve(listener, state)?;
                println!(
                    "Promodesk is running at http://{addr}/ (ready in {:.1} s)",
                    started.elapsed().as_secs_f64()
                );
                if demo_login {
                    println!(
                        "Demo login: {} / {}",
                        promodesk::demo::DEMO_EMAIL,
                        promodesk::demo::DEMO_PASSWORD
                    );
                }
                server.await
            })
            .map_err(|e| e.to_string())
    })();
    // No connection may outlive the cluster, nor be open when the process
    // exits (libpq's teardown then aborts it): the clean-up thread, which
    // holds the pool, ends first.
    if let Some(t) = maintenance_thread {
        let _ = t.join();
    }
    database.release()?;
    result
}
