//! Database access: the connection pool, embedded migrations, and the
//! private cluster used when no `DATABASE_URL` is configured.

pub mod embedded;
pub mod schema;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::path::PathBuf;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgConn = PooledConnection<ConnectionManager<PgConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migrations failed: {0}")]
    Migrate(String),
}

/// Session settings of every pooled connection. JIT compilation costs
/// 20 ms or more on the list's queries over a million rows and gains
/// nothing on index scans that return 50 rows, so it is off. Statements
/// the connection keeps prepared are still planned for their values
/// (`force_custom_plan`): one generic plan shared by a brand of a million
/// codes and a brand of a hundred would suit one of them badly (say, walking
/// the whole primary key to find the small brand's newest codes). Measured:
/// about 5% fewer list pages per second than generic plans, still well
/// ahead of unprepared statements.
#[derive(Debug, Clone, Copy)]
struct SessionSettings;

impl diesel::r2d2::CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SET jit = off; SET plan_cache_mode = force_custom_plan")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds a pool. Connections are checked out lazily; `min_idle` 1 keeps
/// one warm. A checked-out connection is not pinged first (r2d2's default
/// `SELECT 1`): that was a third of the round trips of a list page. A
/// connection that broke (say, the database restarted) fails its one
/// request and is dropped by the pool instead of being handed out again.
pub fn pool(url: &str, size: u32) -> Result<PgPool, DbSetupError> {
    let manager = ConnectionManager::<PgConnection>::new(url);
    Pool::builder()
        .connection_customizer(Box::new(SessionSettings))
        .max_size(size.max(1))
        .min_idle(Some(1))
        .test_on_check_out(false)
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(manager)
        .map_err(|e| DbSetupError::Connect(e.to_string()))
}

/// Runs pending migrations on one connection.
pub fn migrate(url: &str) -> Result<Vec<String>, DbSetupError> {
    let mut conn =
        PgConnection::establish(url).map_err(|e| DbSetupError::Connect(e.to_string()))?;
    migrate_conn(&mut conn)
}

/// Runs the pending migrations, one process at a time: app servers (or a
/// server and `promodesk migrate`) that start together would otherwise both
/// apply the same migration, and one of them fail.
pub fn migrate_conn(conn: &mut PgConnection) -> Result<Vec<String>, DbSetupError> {
    use diesel::RunQueryDsl;
    // Any fixed key: it only has to be the same for every Promodesk process.
    const MIGRATION_LOCK: i64 = 0x5052_4f4d_4f44_4553; // "PROMODES"
    let lock = |conn: &mut PgConnection, sql: &str| {
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
            .execute(conn)
            .map(|_| ())
            .map_err(|e| DbSetupError::Migrate(e.to_string()))
    };
    lock(conn, "SELECT pg_advisory_lock($1)")?;
    let done: Result<Vec<String>, DbSetupError> = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|done| done.iter().map(|v| v.to_string()).collect())
        .map_err(|e| DbSetupError::Migrate(e.to_string()));
    lock(conn, "SELECT pg_advisory_unlock($1)")?;
    done
}

/// Creates `database` on the server at `admin_url` when it does not exist.
pub fn create_database_if_missing(admin_url: &str, database: &str) -> Result<(), DbSetupError> {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let mut conn =
        PgConnection::establish(admin_url).map_err(|e| DbSetupError::Connect(e.to_string()))?;
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(database)
            .get_result(&mut conn)
            .map_err(|e| DbSetupError::Connect(e.to_string()))?;
    if !found.exists {
        let ident = database.replace('"', "\"\"");
        diesel::sql_query(format!("CREATE DATABASE \"{ident}\""))
            .execute(&mut conn)
            .map_err(|e| DbSetupError::Connect(e.to_string()))?;
    }
    Ok(())
}

/// The database the app uses: `DATABASE_URL`, or a private cluster under
/// `<data_dir>/postgres`, started if it is not running. Every process that
/// uses the private cluster (servers, and CLI commands beside them) holds a
/// shared lock on `<data_dir>/cluster.lock` while it does; starting and
/// stopping happen under an exclusive lock on `<data_dir>/cluster.start.lock`,
/// one process at a time. The last user out stops the cluster
/// ([`Resolved::release`]).
pub fn resolve(config: &crate::config::Config) -> Result<Resolved, String> {
    if let Some(url) = &config.database_url {
        return Ok(Resolved {
            url: url.clone(),
            cluster: None,
            lock: None,
        });
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("creating {}: {e}", config.data_dir.display()))?;
    let users = lock_file(&config.data_dir.join(USERS_LOCK))?;
    // Counted as a user first (this waits while another process stops the
    // cluster), then started by one process at a time.
    users
        .lock_shared()
        .map_err(|e| format!("locking {USERS_LOCK}: {e}"))?;
    let start = lock_file(&config.data_dir.join(START_LOCK))?;
    start
        .lock()
        .map_err(|e| format!("locking {START_LOCK}: {e}"))?;
    let cluster =
        embedded::Cluster::at(&config.data_dir.join("postgres")).map_err(|e| e.to_string())?;
    let was_running = cluster.is_running();
    cluster
        .ensure_running(embedded::Tuning::Durable)
        .map_err(|e| e.to_string())?;
    create_database_if_missing(&cluster.url("postgres"), "promodesk").map_err(|e| e.to_string())?;
    drop(start);
    tracing::info!(
        socket = %cluster.socket_dir().display(),
        reused = was_running,
        "private PostgreSQL cluster running under {}",
        cluster.root().display()
    );
    Ok(Resolved {
        url: cluster.url("promodesk"),
        cluster: Some(cluster),
        lock: Some((users, config.data_dir.clone())),
    })
}

/// Held shared by every process that uses the private cluster.
const USERS_LOCK: &str = "cluster.lock";
/// Held exclusively while the private cluster starts or stops.
const START_LOCK: &str = "cluster.start.lock";

fn lock_file(path: &std::path::Path) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("opening {}: {e}", path.display()))
}

/// The database a command uses: `DATABASE_URL`, or the private cluster.
pub struct Resolved {
    pub url: String,
    /// The private cluster, when `DATABASE_URL` is unset.
    pub cluster: Option<embedded::Cluster>,
    /// The shared lock this process holds on the private cluster, and the
    /// directory of the lock files.
    lock: Option<(std::fs::File, PathBuf)>,
}

impl Resolved {
    /// Releases the private cluster, and stops it when no other process
    /// holds it: a server keeps running while `promodesk user add` comes and
    /// goes beside it, and a cluster left running by a killed server is
    /// stopped by the next one that exits.
    pub fn release(self) -> Result<(), String> {
        let (Some(cluster), Some((users, dir))) = (self.cluster, self.lock) else {
            return Ok(());
        };
        drop(users);
        let start = lock_file(&dir.join(START_LOCK))?;
        start
            .lock()
            .map_err(|e| format!("locking {START_LOCK}: {e}"))?;
        let last = lock_file(&dir.join(USERS_LOCK))?;
        match last.try_lock() {
            Ok(()) => {
                tracing::info!("stopping the private PostgreSQL cluster");
                cluster.stop().map_err(|e| e.to_string())
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::info!(
                    "the private PostgreSQL cluster is in use by another process: left running"
                );
                Ok(())
            }
            Err(std::fs::TryLockError::Error(e)) => Err(format!("locking {USERS_LOCK}: {e}")),
        }
    }
}
