//! Pure types and rules. Nothing here knows about HTTP or SQL.

pub mod action;
pub mod code;
pub mod conflicts;
pub mod conversion;
pub mod crediting;
pub mod deal;
pub mod explain;
pub mod forms;
pub mod matcher;
pub mod money;
pub mod partner;
pub mod program;
pub mod token;

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}
id_type!(BrandId, UserId, ProgramId, PartnerId, DealId, CodeId, UploadId, ActionId);

/// What a user may do. Ordered: each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Viewer,
    Manager,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Viewer => "viewer",
        }
    }
    /// True when this role may do what `needed` may do.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_lower_roles() {
        assert!(Role::Admin.allows(Role::Manager));
        assert!(Role::Manager.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Manager));
        assert!(!Role::Manager.allows(Role::Admin));
        assert_eq!(Role::parse(" Manager "), Some(Role::Manager));
        assert_eq!(Role::parse("owner"), None);
    }
}
