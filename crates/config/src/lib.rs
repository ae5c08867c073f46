//! The `sightline.yml` configuration.
//!
//! One YAML file configures the whole program. Sections that exist in Prometheus
//! (`global`, `scrape_configs`) keep Prometheus' names and semantics so a team can paste
//! theirs, or point `prometheus_config:` at an existing `prometheus.yml`.
//!
//! Loading is strict: unknown keys and type errors are rejected with the file, line,
//! column and key path, so a typo never silently disables a scrape job or an alert.
//!
//! - [`schema`]: the typed configuration tree and its defaults.
//! - [`load`]: reading a file, `${ENV}` expansion, decoding, merging, validation.
//! - [`error`]: the located error type.
//! - [`env`]: `${VAR}` expansion.
//! - [`locate`]: maps a key path back to its line and column for semantic errors.
//! - [`prometheus_file`]: the subset of `prometheus.yml` Sightline imports.
//! - [`alerting`]: the Alertmanager-syntax `alerting` section.

pub mod alerting;
pub mod env;
pub mod error;
pub mod load;
pub mod locate;
pub mod prometheus_file;
pub mod schema;

pub use error::ConfigError;
pub use load::{load_file, load_str, LoadedConfig};
pub use schema::{
    GlobalConfig, LogConfig, SelfMonitoringConfig, ServerConfig, SightlineConfig, StorageSection,
};
