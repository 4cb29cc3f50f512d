//! Integration tests: the real app over HTTP against a real PostgreSQL.

mod auth;
mod browser;
mod codes;
mod crash;
mod dashboard;
mod deals;
mod embedded;
mod helpers;
mod layout;
mod not_found;
mod partners;
mod schema;
mod security;
mod settings;
mod sql;
mod startup;
mod tenancy;
mod uploads;
