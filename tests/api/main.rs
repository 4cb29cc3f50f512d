//! Integration tests: the real app over HTTP against a real PostgreSQL.

mod auth;
mod browser;
mod codes;
mod crash;
mod deals;
mod embedded;
mod helpers;
mod layout;
mod partners;
mod schema;
mod security;
mod tenancy;
mod uploads;
