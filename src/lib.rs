//! Promodesk: tracking promo codes for brands that run partner programs.

pub mod cache;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod import;
pub mod jobs;
pub mod store;
pub mod text;
pub mod web;
