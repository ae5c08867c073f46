//! Prometheus-compatible scraping: exposition parsers, relabelling, targets and scrape loops.
//!
//! Users paste the `scrape_configs` of an existing `prometheus.yml`; this crate makes
//! them behave as Prometheus does:
//!
//! - [`config`]: the configuration structs, defaults and validation.
//! - [`relabel`]: every relabelling action, hashmod bit-compatible with Prometheus.
//! - [`parse`]: Prometheus text and OpenMetrics parsers, and whole-file batches.
//! - [`discovery`]: static and file-based target discovery.
//! - [`target`]: turning discovered label sets into targets.
//! - [`client`]: the HTTP request of a scrape.
//! - [`scrape_loop`]: the per-target loop, staleness and report series.
//! - [`manager`]: pools per job, reloads, and the targets APIs.
//! - [`metrics`]: the self-metrics of scraping.

pub mod client;
pub mod config;
pub mod discovery;
pub mod manager;
pub mod metrics;
pub mod parse;
pub mod relabel;
pub mod scrape_loop;
pub mod target;

pub use config::{validate_jobs, ScrapeConfig, ScrapeGlobals};
pub use manager::{ActiveTarget, ManagerOptions, ScrapeManager, TargetMetadata, TargetsSnapshot};
pub use parse::{
    format_from_content_type, parse_to_batch, BatchOptions, Entry, Format, ParseError, Parser,
};
pub use relabel::{relabel, RelabelConfig};
pub use scrape_loop::Health;
pub use target::DroppedTarget;
