//! Prometheus-compatible rules and SLOs for Sightline.
//!
//! - [`template`]: alert templating (a Go `text/template` subset with Prometheus'
//!   functions), parsed at load time.
pub mod file;
pub mod locate;
pub mod template;
