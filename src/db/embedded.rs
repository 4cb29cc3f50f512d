//! A private PostgreSQL cluster for the zero-setup default and for tests.
//!
//! It uses the server binaries installed on the machine (`initdb`, `pg_ctl`
//! on PATH or under `/usr/lib/postgresql/*/bin`), listens only on its own
//! Unix socket (no TCP port, so it never collides with a system server), and
//! trusts local connections: the socket directory is private to the user
//! that runs the cluster. PostgreSQL refuses to run as root, so when this
//! process is root the cluster runs as an unprivileged user (`postgres` by
//! default, `PROMODESK_PG_USER` to choose another).

use crate::text::percent_encode;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The port number names the socket file (`.s.PGSQL.5432`); nothing listens on TCP.
const SOCKET_PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries found (looked for initdb and pg_ctl on PATH and under \
         /usr/lib/postgresql/*/bin). Install them, e.g. `apt-get install postgresql` on Debian \
         or Ubuntu, or set DATABASE_URL to use an existing database"
    )]
    NoBinaries,
    #[error(
        "this process runs as root and PostgreSQL refuses to run as root; no unprivileged user \
         `{0}` exists to run it. Create one (`useradd --system {0}`) or set PROMODESK_PG_USER"
    )]
    NoUnprivilegedUser(String),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{0}: {1}")]
    Io(String, #[source] io::Error),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let what = what.into();
    move |e| EmbeddedError::Io(what, e)
}

const INCLUDE_LINE: &str = "include_if_exists = 'promodesk.conf'";

/// Durability settings: the app's default keeps data safe; tests trade
/// durability for speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuning {
    Durable,
    FastUnsafe,
}

/// Finds the directory that holds `initdb` and `pg_ctl`.
pub fn find_binaries() -> Result<PathBuf, EmbeddedError> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let initdb = dir.join("initdb");
            if initdb.is_file() && dir.join("pg_ctl").is_file() {
                // Debian links them into /usr/local/bin; use the real directory.
                let real = fs::canonicalize(&initdb).unwrap_or(initdb);
                if let Some(parent) = real.parent() {
                    if parent.join("pg_ctl").is_file() {
                        return Ok(parent.to_path_buf());
                    }
                }
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
                        .then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .map(|(_, p)| p)
        .ok_or(EmbeddedError::NoBinaries)
}

/// The unprivileged account the cluster runs as, when we are root.
#[derive(Clone, Copy, Debug)]
struct RunAs {
    uid: u32,
    gid: u32,
}

fn run_as() -> Result<Option<RunAs>, EmbeddedError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::env::var("PROMODESK_PG_USER").unwrap_or_else(|_| "postgres".into());
    let cname =
        CString::new(name.clone()).map_err(|_| EmbeddedError::NoUnprivilegedUser(name.clone()))?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy
    // the two fields out immediately and use it from one thread at start-up.
    let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
    if pw.is_null() {
        return Err(EmbeddedError::NoUnprivilegedUser(name));
    }
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    if uid == 0 {
        return Err(EmbeddedError::NoUnprivilegedUser(name));
    }
    Ok(Some(RunAs { uid, gid }))
}

/// A private cluster rooted at a directory: `<root>/pgdata` holds the data,
/// `<root>/postgres.log` the server log, and the socket lives in `<root>`
/// (or in a short directory under /tmp when that path is too long).
#[derive(Debug, Clone)]
pub struct Cluster {
    bin: PathBuf,
    root: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<RunAs>,
}

impl Cluster {
    /// Describes the cluster at `root` without touching the disk.
    pub fn at(root: &Path) -> Result<Cluster, EmbeddedError> {
        let bin = find_binaries()?;
        let run_as = run_as()?;
        let root = absolute(root)?;
        let data = root.join("pgdata");
        let mut socket_dir = root.clone();
        if socket_dir.join(".s.PGSQL.5432").as_os_str().len() > MAX_SOCKET_PATH {
            socket_dir = PathBuf::from(format!(
                "/tmp/promodesk-pg-{:016x}",
                fnv1a(root.as_os_str().as_encoded_bytes())
            ));
        }
        Ok(Cluster {
            bin,
            root,
            data,
            socket_dir,
            run_as,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn is_initialized(&self) -> bool {
        self.data.join("PG_VERSION").is_file()
    }

    /// Initializes the cluster if needed and starts it if it is not running.
    pub fn ensure_running(&self, tuning: Tuning) -> Result<(), EmbeddedError> {
        self.prepare_dir(&self.root)?;
        if self.socket_dir != self.root {
            self.prepare_dir(&self.socket_dir)?;
        }
        if !self.is_initialized() {
            self.init(tuning)?;
        }
        // A cluster still shutting down (a previous server just stopped)
        // would refuse connections: wait for it to finish, then start anew.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while self.is_stopping() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if !self.is_running() {
            self.write_settings(tuning)?;
            self.start()?;
        }
        Ok(())
    }

    fn prepare_dir(&self, dir: &Path) -> Result<(), EmbeddedError> {
        fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        // Parents must be traversable by the cluster's user.
        if let Some(parent) = dir.parent() {
            if let Ok(meta) = fs::metadata(parent) {
                let mode = meta.permissions().mode();
                if self.run_as.is_some() && mode & 0o001 == 0 {
                    let _ = fs::set_permissions(parent, fs::Permissions::from_mode(mode | 0o711));
                }
            }
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err(format!("setting permissions of {}", dir.display())))?;
        if let Some(ra) = self.run_as {
            chown(dir, Some(ra.uid), Some(ra.gid)).map_err(io_err(format!(
                "giving {} to the cluster user",
                dir.display()
            )))?;
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        if let Some(ra) = self.run_as {
            cmd.uid(ra.uid).gid(ra.gid);
            // std drops root's supplementary groups (setgroups) before setuid.
            cmd.current_dir(&self.root);
        }
        cmd.env("LC_ALL", "C.UTF-8")
            .env_remove("PGDATA")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, what: &str, mut cmd: Command) -> Result<Output, EmbeddedError> {
        let out = cmd.output().map_err(io_err(format!("running {what}")))?;
        if !out.status.success() {
            let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if detail.is_empty() {
                detail = String::from_utf8_lossy(&out.stdout).trim().to_string();
            }
            let log = fs::read_to_string(self.root.join("postgres.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            if !tail.is_empty() {
                detail.push_str("\nserver log: ");
                detail.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            }
            return Err(EmbeddedError::Command {
                what: what.to_string(),
                detail,
            });
        }
        Ok(out)
    }

    fn init(&self, tuning: Tuning) -> Result<(), EmbeddedError> {
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&self.data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]);
        if tuning == Tuning::FastUnsafe {
            cmd.arg("--no-sync");
        }
        self.run("initdb", cmd)?;
        Ok(())
    }

    /// Writes the cluster's settings to `promodesk.conf` in the data
    /// directory, included by `postgresql.conf`: rewritten before every
    /// start, so a cluster made by an older version gets today's settings.
    fn write_settings(&self, tuning: Tuning) -> Result<(), EmbeddedError> {
        let mut conf = format!(
            "# promodesk: written at every start of the private cluster; edits are lost.\n\
             listen_addresses = ''\nport = {SOCKET_PORT}\n\
             unix_socket_directories = '{}'\nunix_socket_permissions = 0700\nmax_connections = 200\n",
            self.socket_dir.display().to_string().replace('\'', "''")
        );
        if tuning == Tuning::FastUnsafe {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 256MB\n");
        } else {
            // Durable, sized for a brand with millions of codes: a bulk
            // accept of 1,000,000 codes writes about 1 GB of WAL, which with
            // the default max_wal_size (1 GB) forces checkpoints (and full
            // page images) in the middle of it.
            conf.push_str(
                "shared_buffers = 512MB\nmax_wal_size = 4GB\ncheckpoint_timeout = 15min\nwal_buffers = 32MB\n",
            );
        }
        let settings = self.data.join("promodesk.conf");
        fs::write(&settings, conf).map_err(io_err("writing promodesk.conf"))?;
        if let Some(ra) = self.run_as {
            chown(&settings, Some(ra.uid), Some(ra.gid))
                .map_err(io_err("giving promodesk.conf to the cluster user"))?;
        }
        // Included last, so it wins over what older versions appended.
        let path = self.data.join("postgresql.conf");
        let text = fs::read_to_string(&path).map_err(io_err("reading postgresql.conf"))?;
        if !text.contains(INCLUDE_LINE) {
            fs::write(&path, format!("{text}\n{INCLUDE_LINE}\n"))
                .map_err(io_err("writing postgresql.conf"))?;
        }
        Ok(())
    }

    /// The server's own status line in `postmaster.pid` says "stopping".
    fn is_stopping(&self) -> bool {
        fs::read_to_string(self.data.join("postmaster.pid"))
            .map(|t| t.lines().nth(7).is_some_and(|l| l.trim() == "stopping"))
            .unwrap_or(false)
    }

    pub fn is_running(&self) -> bool {
        if !self.is_initialized() {
            return false;
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data)
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        matches!(cmd.status(), Ok(s) if s.success())
    }

    fn start(&self) -> Result<(), EmbeddedError> {
        // A stale socket lock from a killed server would stop the start.
        let _ = fs::remove_file(self.socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}.lock")));
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.root.join("postgres.log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.run("starting PostgreSQL (pg_ctl start)", cmd)
            .map(|_| ())
    }

    /// Stops the cluster (fast shutdown: open sessions are ended).
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if !self.is_running() {
            return Ok(());
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        self.run("stopping PostgreSQL (pg_ctl stop)", cmd)
            .map(|_| ())
    }

    /// A libpq connection URL for a database of this cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://postgres@/{database}?host={}&port={SOCKET_PORT}",
            percent_encode(&self.socket_dir.display().to_string())
        )
    }
}

fn absolute(p: &Path) -> Result<PathBuf, EmbeddedError> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .map_err(io_err("reading the current directory"))?
            .join(p))
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encodes_socket_paths() {
        assert_eq!(percent_encode("/a b/c&d"), "/a%20b/c%26d");
    }

    #[test]
    fn long_roots_get_a_short_socket_dir() {
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
        let c = Cluster::at(&long).expect("cluster description");
        assert!(c.socket_dir().as_os_str().len() < 40);
        let short = Cluster::at(Path::new("/tmp/pd")).expect("cluster description");
        assert_eq!(short.socket_dir(), Path::new("/tmp/pd"));
    }
}
