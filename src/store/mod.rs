//! Diesel queries. Every function takes the `BrandId` it is scoped to (or
//! works on data before a brand is known, such as login by email).

pub mod accounts;
pub mod actions;
pub mod api_tokens;
pub mod clicks;
pub mod codes;
pub mod deals;
pub mod partners;
pub mod programs;
pub mod reports;
pub mod seed;
pub mod sql;
pub mod uploads;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A rule the database enforces was broken; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// A value of one form field was refused (e.g. a reference that is not
    /// the brand's); the field name lets the form show it in place.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("database error: {0}")]
    Db(#[from] DieselError),
    /// The server's own files failed (an upload's temporary buffers): not
    /// the user's doing, a server error.
    #[error("{what}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub type StoreResult<T> = Result<T, StoreError>;

/// The name of the constraint a database error broke, with its kind.
pub fn violated_constraint(e: &DieselError) -> Option<(DatabaseErrorKind, String)> {
    match e {
        DieselError::DatabaseError(kind, info) => {
            let kind = match kind {
                DatabaseErrorKind::UniqueViolation => DatabaseErrorKind::UniqueViolation,
                DatabaseErrorKind::ForeignKeyViolation => DatabaseErrorKind::ForeignKeyViolation,
                DatabaseErrorKind::CheckViolation => DatabaseErrorKind::CheckViolation,
                DatabaseErrorKind::NotNullViolation => DatabaseErrorKind::NotNullViolation,
                _ => DatabaseErrorKind::Unknown,
            };
            // Exclusion violations (SQLSTATE 23P01) come as Unknown; the
            // constraint name still tells them apart.
            Some((kind, info.constraint_name().unwrap_or_default().to_string()))
        }
        _ => None,
    }
}

/// Turns `NotFound` from Diesel into `StoreError::NotFound`.
pub trait OptionalExt<T> {
    fn found(self) -> StoreResult<T>;
}

impl<T> OptionalExt<T> for Result<T, DieselError> {
    fn found(self) -> StoreResult<T> {
        match self {
            Ok(v) => Ok(v),
            Err(DieselError::NotFound) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::Db(e)),
        }
    }
}
