//! Prometheus-compatible scraping: exposition parsers, relabelling, targets and scrape loops.
//!
//! Users paste the `scrape_configs` of an existing `prometheus.yml`; this crate makes
//! them behave as Prometheus does:
//!
//! - [`config`]: the configuration structs, defaults and validation.
//! - [`relabel`]: every relabelling action, hashmod bit-compatible with Prometheus.
//! - [`parse`]: Prometheus text and OpenMetrics parsers.

pub mod config;
pub mod parse;
pub mod relabel;

pub use config::{ScrapeConfig, ScrapeGlobals};
pub use parse::{format_from_content_type, parse_to_batch, Entry, Format, ParseError, Parser};
pub use relabel::{relabel, RelabelConfig};
