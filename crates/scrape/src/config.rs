//! The `scrape_configs` section, field for field as in Prometheus' `prometheus.yml`,
//! so a user can paste an existing configuration. Unknown fields are rejected by
//! serde; [`validate_jobs`] checks what serde cannot (cross-field rules, duplicates).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sightline_model::{ByteSize, Labels, PromDuration};

use crate::relabel::{is_valid_label_name, RelabelConfig};

fn yes() -> bool {
    true
}
fn default_metrics_path() -> String {
    "/metrics".into()
}
fn default_scheme() -> String {
    "http".into()
}
fn default_refresh() -> PromDuration {
    PromDuration(Duration::from_secs(300))
}
fn default_global_interval() -> PromDuration {
    PromDuration(Duration::from_secs(60))
}
fn default_global_timeout() -> PromDuration {
    PromDuration(Duration::from_secs(10))
}

/// The parts of Prometheus' `global` section that scraping uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScrapeGlobals {
    /// Default interval for jobs without their own (Prometheus: 1m).
    #[serde(default = "default_global_interval")]
    pub scrape_interval: PromDuration,
    /// Default timeout for jobs without their own (Prometheus: 10s).
    #[serde(default = "default_global_timeout")]
    pub scrape_timeout: PromDuration,
    /// Labels identifying this server to the outside (remote write, alerts). As in
    /// Prometheus they are not added to scraped series; they seed the scrape offsets.
    #[serde(default, with = "labels_map")]
    pub external_labels: Labels,
}

impl Default for ScrapeGlobals {
    fn default() -> Self {
        ScrapeGlobals {
            scrape_interval: default_global_interval(),
            scrape_timeout: default_global_timeout(),
            external_labels: Labels::empty(),
        }
    }
}

/// serde for [`Labels`] written as a YAML/JSON map of name to value.
pub mod labels_map {
    use super::*;

    /// Serialises labels as a map.
    pub fn serialize<S: serde::Serializer>(l: &Labels, s: S) -> Result<S::Ok, S::Error> {
        let m: BTreeMap<&str, &str> = l
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        m.serialize(s)
    }

    /// Parses a map into labels, rejecting invalid names.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        let m = BTreeMap::<String, String>::deserialize(d)?;
        for k in m.keys() {
            if !is_valid_label_name(k) {
                return Err(serde::de::Error::custom(format!(
                    "{k:?} is not a valid label name"
                )));
            }
        }
        Ok(Labels::from_pairs(m))
    }
}

/// HTTP basic authentication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password, inline.
    #[serde(default)]
    pub password: Option<String>,
    /// Password read from this file at every scrape (so rotation needs no reload).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// The `Authorization` header (`type` defaults to Bearer).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme, `Bearer` by default.
    #[serde(default = "default_auth_type", rename = "type")]
    pub auth_type: String,
    /// The credentials, inline.
    #[serde(default)]
    pub credentials: Option<String>,
    /// Credentials read from this file at every scrape.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
}

fn default_auth_type() -> String {
    "Bearer".into()
}

/// TLS settings for https targets.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM CA bundle used to verify the target.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM client key.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Name expected in the target's certificate (not supported by the HTTP client in
    /// use: a configuration setting it is accepted and logged at startup).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Skips certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// A fixed list of targets sharing labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels attached to every target of the group.
    #[serde(default, with = "labels_map")]
    pub labels: Labels,
}

/// Targets read from JSON or YAML files in Prometheus' file_sd format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// File paths; the last path component may be a glob such as `*.json`.
    pub files: Vec<String>,
    /// How often to re-read the files even when their mtimes did not change (5m).
    #[serde(default = "default_refresh")]
    pub refresh_interval: PromDuration,
}

/// An exposition format a job may ask for, in Prometheus' spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScrapeProtocol {
    /// OpenMetrics text 1.0.0.
    #[serde(rename = "OpenMetricsText1.0.0")]
    OpenMetricsText1_0_0,
    /// OpenMetrics text 0.0.1.
    #[serde(rename = "OpenMetricsText0.0.1")]
    OpenMetricsText0_0_1,
    /// Prometheus text 1.0.0.
    #[serde(rename = "PrometheusText1.0.0")]
    PrometheusText1_0_0,
    /// Prometheus text 0.0.4.
    #[serde(rename = "PrometheusText0.0.4")]
    PrometheusText0_0_4,
    /// Prometheus protobuf: accepted in configurations but never requested, since
    /// Sightline has no protobuf exposition parser.
    PrometheusProto,
}

impl ScrapeProtocol {
    /// The media type sent in `Accept`, or None when this protocol is never asked for.
    pub fn media_type(self) -> Option<&'static str> {
        match self {
            ScrapeProtocol::OpenMetricsText1_0_0 => {
                Some("application/openmetrics-text;version=1.0.0")
            }
            ScrapeProtocol::OpenMetricsText0_0_1 => {
                Some("application/openmetrics-text;version=0.0.1")
            }
            ScrapeProtocol::PrometheusText1_0_0 => Some("text/plain;version=1.0.0"),
            ScrapeProtocol::PrometheusText0_0_4 => Some("text/plain;version=0.0.4"),
            ScrapeProtocol::PrometheusProto => None,
        }
    }

    /// Prometheus' default preference order (without native histograms).
    pub fn defaults() -> Vec<ScrapeProtocol> {
        vec![
            ScrapeProtocol::OpenMetricsText1_0_0,
            ScrapeProtocol::OpenMetricsText0_0_1,
            ScrapeProtocol::PrometheusText1_0_0,
            ScrapeProtocol::PrometheusText0_0_4,
        ]
    }
}

/// One entry of `scrape_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// The job name, the `job` label of its targets by default; unique.
    pub job_name: String,
    /// How often to scrape; the global interval when unset.
    #[serde(default)]
    pub scrape_interval: Option<PromDuration>,
    /// Per-scrape timeout; the global timeout (capped at the interval) when unset.
    #[serde(default)]
    pub scrape_timeout: Option<PromDuration>,
    /// HTTP path (default `/metrics`).
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    /// `http` or `https`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// URL query parameters.
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    /// Keep the exposed labels on conflict with target labels.
    #[serde(default)]
    pub honor_labels: bool,
    /// Use the timestamps the target exposes (default true).
    #[serde(default = "yes")]
    pub honor_timestamps: bool,
    /// Whether series with explicit timestamps also get staleness markers.
    #[serde(default)]
    pub track_timestamps_staleness: bool,
    /// Basic authentication.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// Authorization header.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// Legacy bearer token.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// Legacy bearer token file.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// TLS settings.
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
    /// Follow HTTP redirects (default true).
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// Fixed targets.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    /// File-based discovery.
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Rules applied to discovered targets.
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Rules applied to every scraped series.
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Max samples per scrape after metric relabelling (0 = unlimited).
    #[serde(default)]
    pub sample_limit: u64,
    /// Max labels per series (0 = unlimited).
    #[serde(default)]
    pub label_limit: u64,
    /// Max label name length (0 = unlimited).
    #[serde(default)]
    pub label_name_length_limit: u64,
    /// Max label value length (0 = unlimited).
    #[serde(default)]
    pub label_value_length_limit: u64,
    /// Max uncompressed body size (unset or 0 = unlimited).
    #[serde(default)]
    pub body_size_limit: Option<ByteSize>,
    /// Formats to ask for, in order of preference.
    #[serde(default)]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    /// Format assumed when the target sends no or an unknown content type.
    #[serde(default)]
    pub fallback_scrape_protocol: Option<ScrapeProtocol>,
    /// Ask for gzip (default true).
    #[serde(default = "yes")]
    pub enable_compression: bool,
    /// How many dropped targets to keep for the API (0 = all).
    #[serde(default)]
    pub keep_dropped_targets: u64,
}

impl ScrapeConfig {
    /// A job with Prometheus' defaults and no targets, for tests and programmatic use.
    pub fn new(job_name: impl Into<String>) -> Self {
        ScrapeConfig {
            job_name: job_name.into(),
            scrape_interval: None,
            scrape_timeout: None,
            metrics_path: default_metrics_path(),
            scheme: default_scheme(),
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: None,
            follow_redirects: true,
            static_configs: Vec::new(),
            file_sd_configs: Vec::new(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            body_size_limit: None,
            scrape_protocols: None,
            fallback_scrape_protocol: None,
            enable_compression: true,
            keep_dropped_targets: 0,
        }
    }

    /// The interval in force: the job's, else the global one.
    pub fn effective_interval(&self, g: &ScrapeGlobals) -> Duration {
        self.scrape_interval.unwrap_or(g.scrape_interval).0
    }

    /// The timeout in force: the job's, else the global one capped at the interval
    /// (Prometheus' rule, so a short job interval never inherits a longer timeout).
    pub fn effective_timeout(&self, g: &ScrapeGlobals) -> Duration {
        match self.scrape_timeout {
            Some(t) => t.0,
            None => g.scrape_timeout.0.min(self.effective_interval(g)),
        }
    }

    /// The protocols to ask for, defaults applied.
    pub fn protocols(&self) -> Vec<ScrapeProtocol> {
        self.scrape_protocols
            .clone()
            .unwrap_or_else(ScrapeProtocol::defaults)
    }

    /// Checks one job; every message names the job and the field.
    pub fn validate(&self, g: &ScrapeGlobals) -> Result<(), String> {
        let job = &self.job_name;
        if job.is_empty() {
            return Err("scrape config: job_name must not be empty".into());
        }
        let iv = self.effective_interval(g);
        let to = self.effective_timeout(g);
        if iv.is_zero() {
            return Err(format!(
                "job {job:?}: scrape_interval must be greater than 0"
            ));
        }
        if to.is_zero() {
            return Err(format!(
                "job {job:?}: scrape_timeout must be greater than 0"
            ));
        }
        if to > iv {
            return Err(format!(
                "job {job:?}: scrape_timeout ({}) greater than scrape_interval ({})",
                PromDuration(to),
                PromDuration(iv)
            ));
        }
        if self.scheme != "http" && self.scheme != "https" {
            return Err(format!(
                "job {job:?}: scheme must be \"http\" or \"https\", got {:?}",
                self.scheme
            ));
        }
        if !self.metrics_path.starts_with('/') {
            return Err(format!(
                "job {job:?}: metrics_path {:?} must start with '/'",
                self.metrics_path
            ));
        }
        let mut auths = 0;
        if self.basic_auth.is_some() {
            auths += 1;
        }
        if self.authorization.is_some() {
            auths += 1;
        }
        if self.bearer_token.is_some() || self.bearer_token_file.is_some() {
            auths += 1;
        }
        if auths > 1 {
            return Err(format!(
                "job {job:?}: at most one of basic_auth, authorization and bearer_token/bearer_token_file may be set"
            ));
        }
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(format!(
                "job {job:?}: at most one of bearer_token and bearer_token_file may be set"
            ));
        }
        if let Some(b) = &self.basic_auth {
            if b.password.is_some() && b.password_file.is_some() {
                return Err(format!(
                    "job {job:?}: basic_auth: at most one of password and password_file may be set"
                ));
            }
        }
        if let Some(a) = &self.authorization {
            if a.credentials.is_some() && a.credentials_file.is_some() {
                return Err(format!(
                    "job {job:?}: authorization: at most one of credentials and credentials_file may be set"
                ));
            }
            if a.auth_type.eq_ignore_ascii_case("basic") {
                return Err(format!(
                    "job {job:?}: authorization: type Basic is not allowed, use basic_auth"
                ));
            }
        }
        if let Some(t) = &self.tls_config {
            if t.cert_file.is_some() != t.key_file.is_some() {
                return Err(format!(
                    "job {job:?}: tls_config: cert_file and key_file must be set together"
                ));
            }
        }
        if let Some(p) = &self.scrape_protocols {
            if p.is_empty() {
                return Err(format!("job {job:?}: scrape_protocols must not be empty"));
            }
            let mut seen = HashSet::new();
            for x in p {
                if !seen.insert(x) {
                    return Err(format!("job {job:?}: scrape_protocols: duplicate {x:?}"));
                }
            }
        }
        for (i, sc) in self.static_configs.iter().enumerate() {
            for t in &sc.targets {
                if t.is_empty() || t.contains('/') {
                    return Err(format!(
                        "job {job:?}: static_configs[{i}]: {t:?} is not a valid host:port target"
                    ));
                }
            }
        }
        for (i, f) in self.file_sd_configs.iter().enumerate() {
            for p in &f.files {
                let ok = p.ends_with(".json") || p.ends_with(".yml") || p.ends_with(".yaml");
                if !ok {
                    return Err(format!(
                        "job {job:?}: file_sd_configs[{i}]: {p:?} must end in .json, .yml or .yaml"
                    ));
                }
                if let Err(e) = glob::Pattern::new(p) {
                    return Err(format!(
                        "job {job:?}: file_sd_configs[{i}]: invalid pattern {p:?}: {e}"
                    ));
                }
            }
        }
        for (field, rules) in [
            ("relabel_configs", &self.relabel_configs),
            ("metric_relabel_configs", &self.metric_relabel_configs),
        ] {
            for (i, r) in rules.iter().enumerate() {
                r.validate()
                    .map_err(|e| format!("job {job:?}: {field}[{i}]: {e}"))?;
            }
        }
        Ok(())
    }
}

/// Validates the globals and every job, including unique job names.
pub fn validate_jobs(g: &ScrapeGlobals, jobs: &[ScrapeConfig]) -> Result<(), String> {
    if g.scrape_interval.0.is_zero() {
        return Err("global: scrape_interval must be greater than 0".into());
    }
    if g.scrape_timeout.0 > g.scrape_interval.0 {
        return Err(format!(
            "global: scrape_timeout ({}) greater than scrape_interval ({})",
            g.scrape_timeout, g.scrape_interval
        ));
    }
    let mut names = HashSet::new();
    for j in jobs {
        if !names.insert(j.job_name.as_str()) {
            return Err(format!(
                "found multiple scrape configs with job name {:?}",
                j.job_name
            ));
        }
        j.validate(g)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_yaml_with_defaults() {
        let y = r#"
job_name: node
scrape_interval: 15s
static_configs:
  - targets: ["localhost:9100"]
    labels: {env: prod}
file_sd_configs:
  - files: ["/etc/sd/*.json"]
basic_auth: {username: u, password: p}
scrape_protocols: [OpenMetricsText1.0.0, PrometheusText0.0.4]
body_size_limit: 10MB
metric_relabel_configs:
  - source_labels: [__name__]
    regex: go_.*
    action: drop
"#;
        let c: ScrapeConfig = serde_yaml::from_str(y).unwrap();
        assert_eq!(c.metrics_path, "/metrics");
        assert_eq!(c.scheme, "http");
        assert!(c.honor_timestamps && c.enable_compression && !c.honor_labels);
        assert_eq!(c.static_configs[0].labels.get("env"), Some("prod"));
        assert_eq!(
            c.file_sd_configs[0].refresh_interval.0,
            Duration::from_secs(300)
        );
        assert_eq!(c.body_size_limit, Some(ByteSize(10 << 20)));
        let g = ScrapeGlobals::default();
        assert_eq!(c.effective_interval(&g), Duration::from_secs(15));
        assert_eq!(c.effective_timeout(&g), Duration::from_secs(10));
        c.validate(&g).unwrap();
    }

    #[test]
    fn timeout_defaults_are_capped_at_interval() {
        let g = ScrapeGlobals::default();
        let mut c = ScrapeConfig::new("j");
        c.scrape_interval = Some(PromDuration(Duration::from_secs(5)));
        assert_eq!(c.effective_timeout(&g), Duration::from_secs(5));
        assert_eq!(
            ScrapeConfig::new("x").effective_interval(&g),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn unknown_fields_rejected() {
        let e =
            serde_yaml::from_str::<ScrapeConfig>("job_name: a\nscrape_intervall: 1s").unwrap_err();
        assert!(e.to_string().contains("scrape_intervall"), "{e}");
        assert!(serde_yaml::from_str::<ScrapeConfig>(
            "job_name: a\nstatic_configs: [{targets: [a:1], lables: {}}]"
        )
        .is_err());
    }

    #[test]
    fn validation_names_job_and_field() {
        let g = ScrapeGlobals::default();
        let mut c = ScrapeConfig::new("api");
        c.scrape_interval = Some(PromDuration(Duration::from_secs(5)));
        c.scrape_timeout = Some(PromDuration(Duration::from_secs(6)));
        let e = c.validate(&g).unwrap_err();
        assert!(e.contains("\"api\"") && e.contains("scrape_timeout"), "{e}");

        let c2: ScrapeConfig = serde_yaml::from_str(
            "job_name: b\nmetric_relabel_configs: [{action: hashmod, target_label: x}]",
        )
        .unwrap();
        let e = c2.validate(&g).unwrap_err();
        assert!(
            e.contains("metric_relabel_configs[0]") && e.contains("modulus"),
            "{e}"
        );

        let e = validate_jobs(&g, &[ScrapeConfig::new("a"), ScrapeConfig::new("a")]).unwrap_err();
        assert!(
            e.contains("multiple scrape configs") && e.contains("\"a\""),
            "{e}"
        );

        let e = serde_yaml::from_str::<ScrapeConfig>(
            "job_name: b\nrelabel_configs: [{regex: '[', action: drop}]",
        )
        .unwrap_err();
        assert!(e.to_string().contains("invalid regular expression"), "{e}");
    }

    #[test]
    fn globals_parse() {
        let g: ScrapeGlobals =
            serde_yaml::from_str("scrape_interval: 30s\nexternal_labels: {dc: eu}").unwrap();
        assert_eq!(g.scrape_timeout.0, Duration::from_secs(10));
        assert_eq!(g.external_labels.get("dc"), Some("eu"));
    }
}
