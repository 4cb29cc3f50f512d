//! Background work of a server, beside the requests: each job is safe to run
//! on several servers at once (several app servers share one database), so
//! every server runs every job.
//!
//! - [`auto_approve`]: approves pending actions once their program's locking
//!   period has passed (`AUTO_APPROVE_INTERVAL_SECS`).

pub mod auto_approve;

use crate::config::Config;
use crate::db::PgPool;

/// Starts the jobs the configuration turns on, as tasks of the current
/// actix runtime (the server's): they end with it. Called by `web::serve`.
pub fn start(pool: &PgPool, config: &Config) {
    if config.auto_approve_interval_secs > 0 {
        auto_approve::spawn(
            pool.clone(),
            std::time::Duration::from_secs(config.auto_approve_interval_secs),
        );
    }
}
