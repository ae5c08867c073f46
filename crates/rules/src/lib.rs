//! Prometheus-compatible rules and SLOs for Sightline.
//!
//! - [`template`]: alert templating (a Go `text/template` subset with Prometheus'
//!   functions), parsed at load time.
pub mod alert;
pub mod api;
pub mod file;
pub mod group;
pub mod locate;
pub mod manager;
pub mod memdb;
pub mod metrics;
pub mod slo;
pub mod template;
