//! The typed configuration tree of `sightline.yml` and its defaults.
//!
//! ```yaml
//! global:                      # Prometheus' global section
//!   scrape_interval: 15s
//!   external_labels: {region: eu-1}
//! prometheus_config: /etc/prometheus/prometheus.yml   # optional: import its jobs
//! scrape_configs: []           # Prometheus' scrape_configs, unchanged
//! server:
//!   listen_address: 0.0.0.0:9090
//! query: {timeout: 2m, max_samples: 50000000, lookback_delta: 5m, max_concurrency: 20}
//! storage:
//!   path: data
//!   tsdb: {retention_time: 15d}
//! self_monitoring: {enabled: true, host_collector: true}
//! log: {level: info, format: logfmt}
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use sightline_model::{ByteSize, PromDuration};
use sightline_scrape::ScrapeConfig;
use sightline_tsdb::StorageConfig;

/// The whole `sightline.yml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SightlineConfig {
    /// Prometheus-compatible global settings.
    pub global: GlobalConfig,
    /// Path of an existing `prometheus.yml` whose `global` (when this file has none)
    /// and `scrape_configs` are imported, relative to this file.
    pub prometheus_config: Option<PathBuf>,
    /// Prometheus-compatible scrape jobs.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Listeners and HTTP limits.
    pub server: ServerConfig,
    /// Where and how data is stored.
    pub storage: StorageSection,
    /// Prometheus rule files (globs, relative to this file).
    pub rule_files: Vec<String>,
    /// Service level objectives, turned into recording rules and burn-rate alerts.
    pub slos: Vec<sightline_rules::slo::SloConfig>,
    /// Alertmanager-compatible notification routing (inline or `config_file`).
    pub alerting: crate::alerting::AlertingSection,
    /// PromQL limits (Prometheus' `--query.*` flags).
    pub query: sightline_prom_api::QueryConfig,
    /// The built-in monitoring of Sightline itself and of its host.
    pub self_monitoring: SelfMonitoringConfig,
    /// Log output of the process.
    pub log: LogConfig,
}

impl SightlineConfig {
    /// The global settings the scrape manager needs.
    pub fn scrape_globals(&self) -> sightline_scrape::ScrapeGlobals {
        sightline_scrape::ScrapeGlobals {
            scrape_interval: self.global.scrape_interval,
            scrape_timeout: self.global.scrape_timeout,
            external_labels: sightline_model::Labels::from_pairs(
                self.global.external_labels.clone(),
            ),
        }
    }
}

/// Prometheus' `global` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    /// Default scrape interval (Prometheus' default: 1m).
    pub scrape_interval: PromDuration,
    /// Default scrape timeout (Prometheus' default: 10s).
    pub scrape_timeout: PromDuration,
    /// Rule evaluation interval (used by the alerting engine).
    pub evaluation_interval: PromDuration,
    /// Labels added to every series and alert leaving this server.
    pub external_labels: BTreeMap<String, String>,
    /// Accepted for compatibility with prometheus.yml; Sightline has no query log file yet.
    pub query_log_file: Option<String>,
    /// Accepted for compatibility with prometheus.yml.
    pub scrape_failure_log_file: Option<String>,
    /// Default per-scrape sample limit for jobs that set none (0 = none).
    pub sample_limit: Option<u64>,
    /// Default per-series label limit for jobs that set none.
    pub label_limit: Option<u64>,
    /// Default body size limit for jobs that set none.
    pub body_size_limit: Option<ByteSize>,
    /// Delay applied to rule evaluation timestamps.
    pub rule_query_offset: Option<PromDuration>,
    /// Default scrape protocols in order of preference.
    pub scrape_protocols: Option<Vec<String>>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: PromDuration(std::time::Duration::from_secs(60)),
            scrape_timeout: PromDuration(std::time::Duration::from_secs(10)),
            evaluation_interval: PromDuration(std::time::Duration::from_secs(60)),
            external_labels: BTreeMap::new(),
            query_log_file: None,
            scrape_failure_log_file: None,
            sample_limit: None,
            label_limit: None,
            body_size_limit: None,
            rule_query_offset: None,
            scrape_protocols: None,
        }
    }
}

/// Listeners and HTTP limits. Each protocol defaults to the port its own tool uses,
/// so existing senders only change the host name.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Prometheus HTTP API, remote_write, `/metrics`, health and reload (Prometheus: 9090).
    pub listen_address: String,
    /// OTLP over gRPC (OpenTelemetry default: 4317); empty disables it.
    pub otlp_grpc_listen_address: String,
    /// OTLP over HTTP (OpenTelemetry default: 4318); empty disables it.
    pub otlp_http_listen_address: String,
    /// The URL users reach Sightline at, used in links (alerts, console).
    pub external_url: Option<String>,
    /// Largest request body accepted by ingest endpoints before decompression;
    /// larger bodies get 413.
    pub max_request_body: ByteSize,
    /// Largest decompressed ingest payload; larger ones get 413.
    pub max_decompressed_body: ByteSize,
    /// Ingest requests appended concurrently; more wait up to `ingest_queue_timeout`,
    /// then get 503 so senders back off and retry.
    pub max_concurrent_ingest: usize,
    /// How long an ingest request waits for a slot before 503.
    pub ingest_queue_timeout: PromDuration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen_address: "0.0.0.0:9090".into(),
            otlp_grpc_listen_address: "0.0.0.0:4317".into(),
            otlp_http_listen_address: "0.0.0.0:4318".into(),
            external_url: None,
            max_request_body: ByteSize(32 << 20),
            max_decompressed_body: ByteSize(256 << 20),
            max_concurrent_ingest: 64,
            ingest_queue_timeout: PromDuration(std::time::Duration::from_secs(5)),
        }
    }
}

/// The `storage` section.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// Data directory; `--data-dir` overrides it. Default `data`.
    pub path: Option<PathBuf>,
    /// The metrics TSDB.
    pub tsdb: StorageConfig,
}

/// The built-in self-monitoring: Sightline's own `/metrics` and a node_exporter-compatible
/// host collector, each scraped as a job.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SelfMonitoringConfig {
    /// Scrape Sightline's own `/metrics` as job `sightline`.
    pub enabled: bool,
    /// Serve `/metrics/node` and scrape it as job `node`.
    pub host_collector: bool,
    /// Scrape interval of both jobs.
    pub scrape_interval: PromDuration,
}

impl Default for SelfMonitoringConfig {
    fn default() -> Self {
        SelfMonitoringConfig {
            enabled: true,
            host_collector: true,
            scrape_interval: PromDuration(std::time::Duration::from_secs(15)),
        }
    }
}

/// Log output settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `debug`, `info`, `warn` or `error` (or any tracing filter directive).
    pub level: String,
    /// `logfmt` (human-readable key=value) or `json`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Logfmt,
        }
    }
}

/// Structured log encodings.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `key=value` lines.
    Logfmt,
    /// One JSON object per line.
    Json,
}
