//! What every page's base layout needs.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct UserView {
    pub email: String,
    pub brand_name: String,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub section: &'static str,
    pub user: Option<UserView>,
    pub csrf: String,
    pub flash: Vec<Flash>,
}

impl Layout {
    /// A layout with no user and no session: error pages.
    pub fn bare(title: &str) -> Layout {
        Layout {
            title: title.to_string(),
            section: "",
            user: None,
            csrf: String::new(),
            flash: Vec::new(),
        }
    }

    pub fn user_brand(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.brand_name.as_str())
            .unwrap_or("")
    }

    pub fn can_manage(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role != "viewer")
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == "admin")
    }
}
