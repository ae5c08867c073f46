//! The part of a team's existing `prometheus.yml` that Sightline imports.
//!
//! `global` and `scrape_configs` are decoded strictly, as Prometheus itself does.
//! Sections that belong to features Sightline serves differently or not yet
//! (`remote_write`, `remote_read`, `storage`, `tracing`, …) are accepted and named in a
//! warning, so pointing at a production file never fails on them.

use std::collections::BTreeMap;

use serde::Deserialize;
use sightline_scrape::ScrapeConfig;

use crate::schema::GlobalConfig;

/// A decoded `prometheus.yml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PrometheusFile {
    /// The global section, if the file has one.
    pub global: Option<GlobalConfig>,
    /// Scrape jobs.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Extra files holding scrape jobs (globs, relative to the file).
    pub scrape_config_files: Vec<String>,
    /// Rule files, kept for the alerting engine.
    pub rule_files: Vec<String>,
    /// Everything else, reported as ignored.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_yaml::Value>,
}
