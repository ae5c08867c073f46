//! The `alerting` section: Alertmanager's own configuration syntax, inline or from
//! an existing `alertmanager.yml`.
//!
//! ```yaml
//! alerting:
//!   config_file: /etc/alertmanager/alertmanager.yml   # or, inline:
//!   route: {receiver: oncall, group_by: [alertname, service]}
//!   receivers:
//!     - name: oncall
//!       pagerduty_configs: [{routing_key: "${PD_KEY}"}]
//! ```
//!
//! Inline keys are decoded as part of `sightline.yml` (so an unknown key is reported
//! at its line there); the notifier's own checks (matchers, templates, receivers named
//! by routes) then run with their errors located in the same file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sightline_notifier::config::{
    GlobalConfig, InhibitRuleConfig, ReceiverConfig, RouteConfig, TimeIntervalConfig,
};
use sightline_notifier::Config as NotifierConfig;

use crate::error::ConfigError;

/// The `alerting` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingSection {
    /// An existing `alertmanager.yml` to use instead of inline keys (relative to
    /// sightline.yml).
    pub config_file: Option<PathBuf>,
    /// External Alertmanagers to forward alerts to as well (Prometheus'
    /// `alerting.alertmanagers`), for teams that keep theirs.
    pub alertmanagers: Vec<AlertmanagerTarget>,
    /// Alertmanager's `global`.
    pub global: Option<GlobalConfig>,
    /// Alertmanager's `route`.
    pub route: Option<RouteConfig>,
    /// Alertmanager's `inhibit_rules`.
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Alertmanager's `receivers`.
    pub receivers: Vec<ReceiverConfig>,
    /// Alertmanager's `templates`.
    pub templates: Vec<String>,
    /// Alertmanager's `time_intervals`.
    pub time_intervals: Vec<TimeIntervalConfig>,
    /// Alertmanager's deprecated `mute_time_intervals`.
    pub mute_time_intervals: Vec<TimeIntervalConfig>,
}

/// One entry of `alerting.alertmanagers`, in Prometheus' syntax (static targets).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerTarget {
    /// `http` or `https`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Prefix of the API path on the targets.
    #[serde(default)]
    pub path_prefix: String,
    /// Only `v2` is spoken.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Per-request timeout.
    #[serde(default)]
    pub timeout: Option<sightline_model::PromDuration>,
    /// `[{targets: [host:port, …]}]`.
    pub static_configs: Vec<StaticTargets>,
}

/// A `static_configs` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticTargets {
    /// `host:port` of each Alertmanager.
    pub targets: Vec<String>,
    /// Accepted for compatibility; not used.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

fn default_scheme() -> String {
    "http".into()
}

fn default_api_version() -> String {
    "v2".into()
}

impl AlertmanagerTarget {
    /// The `…/api/v2/alerts` URLs of this entry.
    pub fn urls(&self) -> Vec<String> {
        let prefix = self.path_prefix.trim_end_matches('/');
        self.static_configs
            .iter()
            .flat_map(|s| s.targets.iter())
            .map(|t| format!("{}://{}{}/api/v2/alerts", self.scheme, t, prefix))
            .collect()
    }
}

impl AlertingSection {
    fn has_inline(&self) -> bool {
        self.global.is_some()
            || self.route.is_some()
            || !self.inhibit_rules.is_empty()
            || !self.receivers.is_empty()
            || !self.templates.is_empty()
            || !self.time_intervals.is_empty()
            || !self.mute_time_intervals.is_empty()
    }

    /// Builds the notifier configuration: from `config_file`, from the inline keys,
    /// or, when neither is given, a single receiver `default` with no integrations
    /// (alerts are kept and shown, nothing is sent). `text` and `file` are the
    /// sightline.yml the section came from, for error locations.
    pub fn notifier_config(&self, text: &str, file: &Path) -> Result<NotifierConfig, ConfigError> {
        let map_err = |e: sightline_notifier::ConfigError| ConfigError {
            file: e.file,
            line: e.line,
            column: e.column,
            path: e.path.map(|p| {
                if p.is_empty() {
                    "alerting".into()
                } else {
                    format!("alerting.{p}")
                }
            }),
            message: e.message,
        };
        if let Some(rel) = &self.config_file {
            if self.has_inline() {
                return Err(ConfigError {
                    file: file.to_path_buf(),
                    line: None,
                    column: None,
                    path: Some("alerting.config_file".into()),
                    message: "config_file and inline Alertmanager keys cannot be combined".into(),
                });
            }
            let base = file.parent().unwrap_or(Path::new(""));
            let path = if rel.is_absolute() {
                rel.clone()
            } else {
                base.join(rel)
            };
            return sightline_notifier::load_file(&path).map_err(|e| ConfigError {
                file: e.file,
                line: e.line,
                column: e.column,
                path: e.path,
                message: e.message,
            });
        }
        if !self.has_inline() {
            let default = "route: {receiver: default}\nreceivers: [{name: default}]\n";
            return sightline_notifier::load_str(
                default,
                Path::new("<built-in alerting defaults>"),
            )
            .map_err(map_err);
        }
        let cfg = NotifierConfig {
            global: self.global.clone().unwrap_or_default(),
            route: self.route.clone(),
            inhibit_rules: self.inhibit_rules.clone(),
            receivers: self.receivers.clone(),
            templates: self.templates.clone(),
            time_intervals: self.time_intervals.clone(),
            mute_time_intervals: self.mute_time_intervals.clone(),
            base_dir: None,
        };
        sightline_notifier::finish_config(cfg, text, file).map_err(map_err)
    }
}
