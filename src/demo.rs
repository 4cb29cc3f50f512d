//! The demo data set and its login.

use crate::store::seed::{self, Seeded};
use crate::store::StoreResult;
use diesel::PgConnection;

pub use crate::store::seed::{DEMO_EMAIL, DEMO_PASSWORD};

/// Seeds the demo brand (idempotent).
pub fn seed(conn: &mut PgConnection) -> StoreResult<Seeded> {
    let hash = password_auth::generate_hash(DEMO_PASSWORD);
    seed::seed_demo(conn, &hash)
}
