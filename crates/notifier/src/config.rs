//! The notifier configuration in Alertmanager's own YAML syntax, with Alertmanager's
//! defaults, loaded strictly (unknown keys rejected) with `file:line:column` errors.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sightline_model::PromDuration;

use crate::matchers::parse_matcher;

/// A configuration error located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<inline>`).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Key path such as `receivers[0].pagerduty_configs[0].routing_key`.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(p) = self.path.as_deref().filter(|p| !p.is_empty() && *p != ".") {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

fn d_resolve_timeout() -> PromDuration {
    PromDuration(std::time::Duration::from_secs(300))
}
fn d_pd_url() -> String {
    "https://events.pagerduty.com/v2/enqueue".into()
}
fn d_true() -> bool {
    true
}

/// The whole `alertmanager.yml` (or Sightline's `alerting` section).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Defaults shared by all receivers.
    #[serde(default)]
    pub global: GlobalConfig,
    /// The routing tree; its root must name a receiver.
    pub route: Option<RouteConfig>,
    /// Rules muting target alerts while source alerts fire.
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Where notifications go.
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
    /// Template files (`{{ define }}` blocks) to load, globs relative to the config.
    #[serde(default)]
    pub templates: Vec<String>,
    /// Named time intervals for mute/active time intervals.
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalConfig>,
    /// Deprecated spelling of `time_intervals`, still accepted.
    #[serde(default)]
    pub mute_time_intervals: Vec<TimeIntervalConfig>,
    /// Directory relative file paths (`*_file`, `templates`) are resolved against:
    /// the configuration file's directory, set by the loaders.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

/// `global:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// End time given to alerts posted without `endsAt` (default 5m).
    #[serde(default = "d_resolve_timeout")]
    pub resolve_timeout: PromDuration,
    /// Default Slack webhook URL.
    pub slack_api_url: Option<String>,
    /// File holding the default Slack webhook URL.
    pub slack_api_url_file: Option<PathBuf>,
    /// PagerDuty Events v2 endpoint.
    #[serde(default = "d_pd_url")]
    pub pagerduty_url: String,
    /// Default HTTP client settings.
    pub http_config: Option<HttpConfig>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            resolve_timeout: d_resolve_timeout(),
            slack_api_url: None,
            slack_api_url_file: None,
            pagerduty_url: d_pd_url(),
            http_config: None,
        }
    }
}

/// The basics of Prometheus' `http_config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// HTTP basic authentication.
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header.
    pub authorization: Option<Authorization>,
    /// Bearer token (legacy form).
    pub bearer_token: Option<String>,
    /// Proxy URL.
    pub proxy_url: Option<String>,
    /// Whether redirects are followed (default true).
    pub follow_redirects: Option<bool>,
    /// TLS settings.
    pub tls_config: Option<TlsConfig>,
}

/// `basic_auth:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Option<String>,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
}

/// `authorization:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Scheme (default Bearer).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Credentials.
    pub credentials: Option<String>,
    /// File holding the credentials.
    pub credentials_file: Option<PathBuf>,
}

/// `tls_config:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Skip certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// CA file.
    pub ca_file: Option<PathBuf>,
    /// Server name.
    pub server_name: Option<String>,
}

/// One node of the routing tree.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Receiver for alerts ending at this node (inherited when absent).
    pub receiver: Option<String>,
    /// Labels that split alerts into groups; `...` groups by all labels.
    pub group_by: Option<Vec<String>>,
    /// Matchers in Alertmanager's string syntax.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Legacy equality matchers.
    #[serde(default, rename = "match")]
    pub match_: BTreeMap<String, String>,
    /// Legacy regex matchers.
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    /// Keep matching siblings after this node matched.
    #[serde(default, rename = "continue")]
    pub continue_: bool,
    /// Wait before the first notification of a new group (default 30s).
    pub group_wait: Option<PromDuration>,
    /// Wait between notifications of a group whose content changed (default 5m).
    pub group_interval: Option<PromDuration>,
    /// Wait before re-sending an unchanged notification (default 4h).
    pub repeat_interval: Option<PromDuration>,
    /// Time intervals during which notifications are muted.
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside which notifications are muted.
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    /// Child routes.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// One inhibition rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Matchers selecting the muting alerts.
    #[serde(default)]
    pub source_matchers: Vec<String>,
    /// Matchers selecting the muted alerts.
    #[serde(default)]
    pub target_matchers: Vec<String>,
    /// Legacy equality matchers for sources.
    #[serde(default)]
    pub source_match: BTreeMap<String, String>,
    /// Legacy regex matchers for sources.
    #[serde(default)]
    pub source_match_re: BTreeMap<String, String>,
    /// Legacy equality matchers for targets.
    #[serde(default)]
    pub target_match: BTreeMap<String, String>,
    /// Legacy regex matchers for targets.
    #[serde(default)]
    pub target_match_re: BTreeMap<String, String>,
    /// Labels that must be equal on source and target.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// A named set of time ranges.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    /// The name routes refer to.
    pub name: String,
    /// The ranges; the interval is active when any matches.
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalSpec>,
}

/// One time range: all given fields must match.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalSpec {
    /// `start_time`/`end_time` pairs as `HH:MM`.
    #[serde(default)]
    pub times: Vec<TimeRange>,
    /// `monday:friday`, `saturday`…
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// `1:5`, `-3:-1`…
    #[serde(default)]
    pub days_of_month: Vec<String>,
    /// `january:march`, `1:3`…
    #[serde(default)]
    pub months: Vec<String>,
    /// `2024:2026`…
    #[serde(default)]
    pub years: Vec<String>,
    /// `UTC` (default), `Local`, or an IANA zone name such as `Europe/Berlin`.
    pub location: Option<String>,
}

/// `HH:MM` to `HH:MM` (end exclusive, `24:00` allowed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// Start of the range.
    pub start_time: String,
    /// End of the range.
    pub end_time: String,
}

/// A named receiver with its integrations.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Unique name.
    pub name: String,
    /// PagerDuty Events v2 integrations.
    #[serde(default)]
    pub pagerduty_configs: Vec<PagerDutyConfig>,
    /// Slack incoming webhooks.
    #[serde(default)]
    pub slack_configs: Vec<SlackConfig>,
    /// Generic webhooks (Alertmanager's version 4 payload).
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
}

/// A PagerDuty link.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdLink {
    /// Target (template).
    pub href: String,
    /// Text (template).
    #[serde(default)]
    pub text: String,
}

/// A PagerDuty image.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdImage {
    /// Image URL (template).
    pub src: String,
    /// Alt text (template).
    #[serde(default)]
    pub alt: String,
    /// Link (template).
    #[serde(default)]
    pub href: String,
}

/// `pagerduty_configs:` entry (Events API v2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Send resolve events (default true).
    #[serde(default = "d_true")]
    pub send_resolved: bool,
    /// Integration key (32 characters).
    pub routing_key: Option<String>,
    /// File holding the integration key.
    pub routing_key_file: Option<PathBuf>,
    /// Events endpoint (default `global.pagerduty_url`).
    pub url: Option<String>,
    /// Client name shown in PagerDuty.
    pub client: Option<String>,
    /// Link back from PagerDuty.
    pub client_url: Option<String>,
    /// Summary template (Alertmanager calls it description).
    pub description: Option<String>,
    /// Severity template: critical, error, warning or info.
    pub severity: Option<String>,
    /// Source template.
    pub source: Option<String>,
    /// Class template.
    pub class: Option<String>,
    /// Component template.
    pub component: Option<String>,
    /// Group template.
    pub group: Option<String>,
    /// Extra custom details (templates).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    /// Links.
    #[serde(default)]
    pub links: Vec<PdLink>,
    /// Images.
    #[serde(default)]
    pub images: Vec<PdImage>,
    /// HTTP client settings.
    pub http_config: Option<HttpConfig>,
    /// Sightline: one PagerDuty incident per alert instead of per group, so a new
    /// alert in an open group opens its own incident.
    #[serde(default)]
    pub dedup_key_per_alert: bool,
    /// Sightline: resolve at PagerDuty alerts that become silenced or inhibited after
    /// they were paged (default true), so incidents do not stay open.
    #[serde(default = "d_true")]
    pub resolve_when_muted: bool,
}

/// A Slack attachment field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackField {
    /// Title (template).
    pub title: String,
    /// Value (template).
    pub value: String,
    /// Side by side.
    pub short: Option<bool>,
}

/// `slack_configs:` entry (incoming webhook).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Send resolved notifications (default false).
    #[serde(default)]
    pub send_resolved: bool,
    /// Webhook URL (default `global.slack_api_url`).
    pub api_url: Option<String>,
    /// File holding the webhook URL.
    pub api_url_file: Option<PathBuf>,
    /// Channel override.
    pub channel: Option<String>,
    /// Username override.
    pub username: Option<String>,
    /// Emoji icon.
    pub icon_emoji: Option<String>,
    /// Icon URL.
    pub icon_url: Option<String>,
    /// Attachment title (template).
    pub title: Option<String>,
    /// Attachment title link (template).
    pub title_link: Option<String>,
    /// Attachment pretext (template).
    pub pretext: Option<String>,
    /// Attachment text (template).
    pub text: Option<String>,
    /// Attachment color (template).
    pub color: Option<String>,
    /// Attachment footer (template).
    pub footer: Option<String>,
    /// Fallback text (template).
    pub fallback: Option<String>,
    /// Attachment fields.
    #[serde(default)]
    pub fields: Vec<SlackField>,
    /// Default for `short` of fields.
    #[serde(default)]
    pub short_fields: bool,
    /// Link @names.
    #[serde(default)]
    pub link_names: bool,
    /// Fields rendered as markdown.
    #[serde(default)]
    pub mrkdwn_in: Vec<String>,
    /// Image URL.
    pub image_url: Option<String>,
    /// Thumbnail URL.
    pub thumb_url: Option<String>,
    /// Callback id.
    pub callback_id: Option<String>,
    /// HTTP client settings.
    pub http_config: Option<HttpConfig>,
}

/// `webhook_configs:` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Send resolved notifications (default true).
    #[serde(default = "d_true")]
    pub send_resolved: bool,
    /// Endpoint.
    pub url: Option<String>,
    /// File holding the endpoint.
    pub url_file: Option<PathBuf>,
    /// At most this many alerts per message (0 = all).
    #[serde(default)]
    pub max_alerts: u64,
    /// Per-request timeout.
    pub timeout: Option<PromDuration>,
    /// HTTP client settings.
    pub http_config: Option<HttpConfig>,
}

/// Loads an `alertmanager.yml` file.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        path: None,
        message: format!("cannot read: {e}"),
    })?;
    load_str(&text, path)
}

/// Parses and validates configuration text; `file` names it in errors.
pub fn load_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let de = serde_yaml::Deserializer::from_str(text);
    let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let loc = inner.location();
        let mut message = inner.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        let (mut line, mut column) = (
            loc.as_ref().map(|l| l.line()),
            loc.as_ref().map(|l| l.column()),
        );
        // serde_yaml reports errors raised inside a value's own deserializer (a bad
        // duration, say) at the enclosing mapping; point at the key instead.
        if let (Some(l), Some(key)) = (line, last_key(&path)) {
            if let Some((kl, kc)) = find_key_after(text, l, key) {
                line = Some(kl);
                column = Some(kc);
            }
        }
        ConfigError {
            file: file.to_path_buf(),
            line,
            column,
            path: Some(path),
            message,
        }
    })?;
    finish(cfg, text, file)
}

/// Checks and completes a decoded configuration: cross-field validation, template
/// and matcher compilation, and the base directory for relative `*_file` paths
/// (`file`'s directory). `text` is the file the configuration was decoded from, used
/// to point errors at a line; it may be a larger file embedding the configuration
/// (Sightline's `alerting:` section).
pub fn finish(mut cfg: Config, text: &str, file: &Path) -> Result<Config, ConfigError> {
    let located = |(path, needle, message): Invalid| {
        let (line, column) = locate(text, &needle);
        ConfigError {
            file: file.to_path_buf(),
            line,
            column,
            path: Some(path),
            message,
        }
    };
    validate(&cfg).map_err(located)?;
    cfg.base_dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf);
    crate::compiled::Compiled::build(&cfg, cfg.base_dir.as_deref()).map_err(located)?;
    Ok(cfg)
}

fn last_key(path: &str) -> Option<&str> {
    let last = path.rsplit('.').next()?;
    let key = last.split('[').next()?;
    (!key.is_empty() && key != "?").then_some(key)
}

/// The first `key:` at or after 1-based line `from`, as (line, column).
fn find_key_after(text: &str, from: usize, key: &str) -> Option<(usize, usize)> {
    let pat = format!("{key}:");
    for (i, line) in text.lines().enumerate().skip(from.saturating_sub(1)) {
        let t = line.trim_start().trim_start_matches("- ");
        if t.starts_with(&pat) {
            return Some((i + 1, line.find(&pat).unwrap_or(0) + 1));
        }
    }
    None
}

/// Finds the first line containing `needle` (a key or value from the offending
/// node) to point at the error.
pub(crate) fn locate(text: &str, needle: &str) -> (Option<usize>, Option<usize>) {
    if needle.is_empty() {
        return (None, None);
    }
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = line.find(needle) {
            return (Some(i + 1), Some(c + 1));
        }
    }
    (None, None)
}

type Invalid = (String, String, String);

fn validate(cfg: &Config) -> Result<(), Invalid> {
    let mut names = HashSet::new();
    for (i, r) in cfg.receivers.iter().enumerate() {
        if !names.insert(r.name.as_str()) {
            return Err((
                format!("receivers[{i}].name"),
                r.name.clone(),
                format!("receiver {:?} is defined twice", r.name),
            ));
        }
        for (j, pd) in r.pagerduty_configs.iter().enumerate() {
            if pd.routing_key.is_none() && pd.routing_key_file.is_none() {
                return Err((
                    format!("receivers[{i}].pagerduty_configs[{j}]"),
                    "pagerduty_configs".into(),
                    "one of routing_key or routing_key_file is required".into(),
                ));
            }
            if pd.routing_key.is_some() && pd.routing_key_file.is_some() {
                return Err((
                    format!("receivers[{i}].pagerduty_configs[{j}]"),
                    "routing_key_file".into(),
                    "at most one of routing_key and routing_key_file may be set".into(),
                ));
            }
        }
        for (j, s) in r.slack_configs.iter().enumerate() {
            if s.api_url.is_none()
                && s.api_url_file.is_none()
                && cfg.global.slack_api_url.is_none()
                && cfg.global.slack_api_url_file.is_none()
            {
                return Err((
                    format!("receivers[{i}].slack_configs[{j}]"),
                    "slack_configs".into(),
                    "no api_url: set api_url, api_url_file or global.slack_api_url".into(),
                ));
            }
        }
        for (j, w) in r.webhook_configs.iter().enumerate() {
            if w.url.is_none() == w.url_file.is_none() {
                return Err((
                    format!("receivers[{i}].webhook_configs[{j}]"),
                    "webhook_configs".into(),
                    "exactly one of url or url_file is required".into(),
                ));
            }
        }
    }
    let Some(root) = &cfg.route else {
        return Err(("route".into(), String::new(), "no route provided".into()));
    };
    if root.receiver.is_none() {
        return Err((
            "route.receiver".into(),
            "route:".into(),
            "the root route must name a receiver".into(),
        ));
    }
    if !root.matchers.is_empty() || !root.match_.is_empty() || !root.match_re.is_empty() {
        return Err((
            "route".into(),
            "route:".into(),
            "the root route must not have any matchers".into(),
        ));
    }
    let mut intervals = HashSet::new();
    for ti in cfg.time_intervals.iter().chain(&cfg.mute_time_intervals) {
        if !intervals.insert(ti.name.as_str()) {
            return Err((
                "time_intervals".into(),
                ti.name.clone(),
                format!("time interval {:?} is defined twice", ti.name),
            ));
        }
    }
    validate_route(root, "route", &names, &intervals)?;
    for (i, r) in cfg.inhibit_rules.iter().enumerate() {
        for m in r.source_matchers.iter().chain(&r.target_matchers) {
            parse_matcher(m).map_err(|e| (format!("inhibit_rules[{i}]"), m.clone(), e))?;
        }
    }
    Ok(())
}

fn validate_route(
    r: &RouteConfig,
    path: &str,
    receivers: &HashSet<&str>,
    intervals: &HashSet<&str>,
) -> Result<(), Invalid> {
    if let Some(rcv) = &r.receiver {
        if !receivers.contains(rcv.as_str()) {
            return Err((
                format!("{path}.receiver"),
                format!("receiver: {rcv}"),
                format!("undefined receiver {rcv:?} used in route"),
            ));
        }
    }
    for m in &r.matchers {
        parse_matcher(m).map_err(|e| (format!("{path}.matchers"), m.clone(), e))?;
    }
    if let Some(g) = &r.group_by {
        if g.iter().any(|l| l == "...") && g.len() > 1 {
            return Err((
                format!("{path}.group_by"),
                "...".into(),
                "cannot have wildcard group_by (`...`) and other labels at the same time".into(),
            ));
        }
        let mut seen = HashSet::new();
        for l in g {
            if !seen.insert(l) {
                return Err((
                    format!("{path}.group_by"),
                    l.clone(),
                    format!("duplicated label {l:?} in group_by"),
                ));
            }
        }
    }
    if r.group_interval.is_some_and(|d| d.0.is_zero()) {
        return Err((
            format!("{path}.group_interval"),
            "group_interval".into(),
            "group_interval cannot be zero".into(),
        ));
    }
    if r.repeat_interval.is_some_and(|d| d.0.is_zero()) {
        return Err((
            format!("{path}.repeat_interval"),
            "repeat_interval".into(),
            "repeat_interval cannot be zero".into(),
        ));
    }
    for n in r.mute_time_intervals.iter().chain(&r.active_time_intervals) {
        if !intervals.contains(n.as_str()) {
            return Err((
                path.to_string(),
                n.clone(),
                format!("undefined time interval {n:?} used in route"),
            ));
        }
    }
    for (i, c) in r.routes.iter().enumerate() {
        validate_route(c, &format!("{path}.routes[{i}]"), receivers, intervals)?;
    }
    Ok(())
}
