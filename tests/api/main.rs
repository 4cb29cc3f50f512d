//! Integration tests: the real app over HTTP against a real PostgreSQL.

mod actions;
mod api_auth;
mod api_tokens;
mod api_tokens_browser;
mod auth;
mod browser;
mod codes;
mod crash;
mod dashboard;
mod deals;
mod embedded;
mod errors;
mod fixtures;
mod helpers;
mod html;
mod layout;
mod not_found;
mod partners;
mod program_settings;
mod schema;
mod security;
mod settings;
mod sql;
mod startup;
mod tenancy;
mod uploads;
