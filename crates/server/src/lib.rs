//! Server wiring: turns a configuration into running listeners and engines.
//!
//! This crate owns no protocol and no engine; it connects them:
//! the TSDB (`sightline-tsdb`) behind an admission gate ([`backpressure`]); the scrape
//! manager (`sightline-scrape`); the remote_write and OTLP adapters; the built-in host
//! collector; and the HTTP endpoints that belong to the process itself (health,
//! readiness, reload, `/metrics`). See ARCHITECTURE.md for the path of each signal.
//!
//! - [`app`]: the shared state and the startup/shutdown sequence.
//! - [`routes`]: the HTTP router of the main listener.
//! - [`reload`]: applying a new configuration without losing data.
//! - [`self_jobs`]: the scrape jobs Sightline adds for itself (self, host, demo).
//! - [`targets_api`]: `/api/v1/targets` in Prometheus' JSON shape.
//! - [`status_api`]: `/api/v1/status/config`, `flags` and `runtimeinfo`.
//! - [`rules_api`]: `/api/v1/rules`, `/api/v1/alerts`, `/api/v1/slos`.
//! - [`alert_bridge`]: rule alerts → built-in notifier and external Alertmanagers.
//! - [`backpressure`]: bounded concurrent appends, "retry later" beyond.
//! - [`self_metrics`]: rendering of Sightline's own metrics.
//! - [`demo`]: the simulated microservices of `--demo`.

pub mod alert_bridge;
pub mod app;
pub mod backpressure;
pub mod demo;
pub mod reload;
pub mod routes;
pub mod rules_api;
pub mod self_jobs;
pub mod self_metrics;
pub mod status_api;
pub mod targets_api;

pub use app::{run, ServeOptions};
