//! SLOs as first-class configuration (Sloth-like), turned into Prometheus rules.
//!
//! An `slos:` entry names a service, an objective (`99.99`), a window (30d) and
//! an SLI, either an events ratio (`error_query` / `total_query`, both per-second
//! rates with a `{{.window}}` placeholder) or a latency threshold over a classic
//! histogram. [`generate`] turns it into recording rules for the error ratio over
//! 5m, 30m, 1h, 2h, 6h, 1d, 3d and the SLO window, error-budget series, and the
//! SRE workbook's multi-window multi-burn-rate alerts; [`status`] computes the
//! live numbers for `/api/v1/slos`.
//!
//! # Evaluation interval
//!
//! After a total outage begins, the 5m and 1h error ratios exceed the page
//! threshold (14.4 × budget; 0.144 % at 99.99 %) as soon as one scrape carrying
//! errors is stored: one 15 s scrape of 100 % errors is 5 % of a 5m window and
//! 0.42 % of a 1h window. No `for` is used on the burn-rate alerts (the long
//! window already smooths noise), so the page leaves Sightline at the first
//! evaluation after that scrape, and reaches the receiver after `group_wait`:
//!
//! `detection ≤ scrape_interval + evaluation_interval + group_wait`.
//!
//! The rules that feed the page alert therefore run in their own group every
//! [`DEFAULT_FAST_INTERVAL`] (10 s), or the SLO's `interval` (use
//! [`recommended_interval`] to derive it from the scrape interval: there is no
//! point in evaluating more often than new data arrive). The long windows (2h…
//! 30d) only feed tickets and budget figures and run every
//! [`DEFAULT_SLOW_INTERVAL`]. The error counter should exist (at 0) before the
//! outage; a series created by the first error needs a second scrape before
//! `rate()` sees it.

pub mod generate;
pub mod status;

use serde::Deserialize;
use sightline_model::PromDuration;
use std::collections::BTreeMap;
use std::time::Duration;

pub use generate::{generate_groups, generate_rule_file};
pub use status::{slo_status, slo_status_json, SloStatus};

/// Interval of the group feeding the page alerts.
pub const DEFAULT_FAST_INTERVAL: Duration = Duration::from_secs(10);
/// Interval of the group computing long windows, budgets and tickets.
pub const DEFAULT_SLOW_INTERVAL: Duration = Duration::from_secs(60);
/// Windows of the error-ratio recording rules (plus the SLO window).
pub const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// One SLO.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloConfig {
    /// The service (label `slo_service`).
    pub service: String,
    /// The SLO's name within the service (label `slo_name`).
    pub name: String,
    /// Target in percent, e.g. `99.99`.
    pub objective: f64,
    /// Compliance window (default 30d).
    #[serde(default = "default_window")]
    pub window: PromDuration,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Extra labels on every generated series and alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// How good and bad events are counted.
    pub sli: SliConfig,
    /// Alert settings.
    #[serde(default)]
    pub alerting: SloAlerting,
    /// Evaluation interval of the page-feeding group (default 10s).
    #[serde(default)]
    pub interval: Option<PromDuration>,
}

fn default_window() -> PromDuration {
    PromDuration(Duration::from_secs(30 * 86400))
}

/// The SLI: exactly one of `events` or `latency`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SliConfig {
    /// Error and total event rates.
    #[serde(default)]
    pub events: Option<EventsSli>,
    /// Requests slower than a histogram bucket are errors.
    #[serde(default)]
    pub latency: Option<LatencySli>,
}

/// Events SLI: per-second rates with a `{{.window}}` placeholder.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventsSli {
    /// e.g. `sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))`.
    pub error_query: String,
    /// e.g. `sum(rate(http_requests_total{job="api"}[{{.window}}]))`.
    pub total_query: String,
}

/// Latency SLI over a classic histogram.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LatencySli {
    /// Histogram base name (`http_request_duration_seconds`).
    pub metric: String,
    /// Requests slower than this are errors; must be an `le` bucket boundary.
    pub threshold_seconds: f64,
    /// Label matchers without braces, e.g. `job="api", route!="/health"`.
    #[serde(default)]
    pub selector: String,
}

/// Alerting options.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloAlerting {
    /// Alert name (default `SLOBurnRate`).
    #[serde(default)]
    pub name: Option<String>,
    /// Extra labels of the page alert (`severity="page"` is always set).
    #[serde(default)]
    pub page_labels: BTreeMap<String, String>,
    /// Extra labels of the ticket alert (`severity="ticket"` is always set).
    #[serde(default)]
    pub ticket_labels: BTreeMap<String, String>,
    /// Extra annotations (e.g. `runbook_url`), templates allowed.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Minimum events per 5 minutes for any burn-rate alert to fire. Default:
    /// the traffic at which a single error in 5 minutes stays below the fast
    /// page threshold, `ceil(1 / (14.4 × error budget))` (695 at 99.99 %).
    #[serde(default)]
    pub min_events_per_5m: Option<f64>,
    /// Do not generate the page alert.
    #[serde(default)]
    pub disable_page: bool,
    /// Do not generate the ticket alert.
    #[serde(default)]
    pub disable_ticket: bool,
}

/// The top-level document of a standalone SLO file (`slos: [...]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloFile {
    /// The SLOs.
    #[serde(default)]
    pub slos: Vec<SloConfig>,
}

impl SloConfig {
    /// The error budget as a ratio (`1 - objective/100`), rounded to 12 decimals
    /// so 99.99 gives exactly `0.0001` in generated rules.
    pub fn error_budget(&self) -> f64 {
        round12((100.0 - self.objective) / 100.0)
    }

    /// The objective as a ratio (`0.9999`).
    pub fn objective_ratio(&self) -> f64 {
        round12(self.objective / 100.0)
    }

    /// The minimum-traffic guard in events per 5 minutes.
    pub fn min_events_per_5m(&self) -> f64 {
        self.alerting
            .min_events_per_5m
            .unwrap_or_else(|| (1.0 / (14.4 * self.error_budget())).ceil())
    }

    /// The page group's evaluation interval.
    pub fn fast_interval(&self) -> Duration {
        self.interval.map(|d| d.0).unwrap_or(DEFAULT_FAST_INTERVAL)
    }

    /// The SLO window written as one unit (`30d`, `4w` stays `28d`).
    pub fn window_str(&self) -> String {
        window_str(self.window.0)
    }

    /// The alert name.
    pub fn alert_name(&self) -> &str {
        self.alerting.name.as_deref().unwrap_or("SLOBurnRate")
    }

    /// Every ratio window: the fixed ones plus the SLO window if different.
    pub fn windows(&self) -> Vec<String> {
        let mut w: Vec<String> = WINDOWS.iter().map(|s| s.to_string()).collect();
        let own = self.window_str();
        if !w.contains(&own) {
            w.push(own);
        }
        w
    }

    /// The error-ratio expression over `window` (e.g. `5m`) from the raw SLI.
    pub fn error_ratio_expr(&self, window: &str) -> String {
        if let Some(e) = &self.sli.events {
            let err = e.error_query.replace("{{.window}}", window);
            let tot = e.total_query.replace("{{.window}}", window);
            return format!("({err})\n/\n({tot})");
        }
        if let Some(l) = &self.sli.latency {
            let tot = self.total_rate_expr(window);
            let good = format!(
                "sum(rate({}_bucket{{{}}}[{window}]))",
                l.metric,
                join_selector(
                    &l.selector,
                    &format!("le=~\"{}\"", le_regex(l.threshold_seconds))
                )
            );
            return format!("(\n  {tot}\n  -\n  {good}\n)\n/\n{tot}");
        }
        String::new()
    }

    /// The total events per second over `window` (for the traffic guard).
    pub fn total_rate_expr(&self, window: &str) -> String {
        if let Some(e) = &self.sli.events {
            return e.total_query.replace("{{.window}}", window);
        }
        if let Some(l) = &self.sli.latency {
            return format!(
                "sum(rate({}_count{{{}}}[{window}]))",
                l.metric,
                l.selector.trim()
            );
        }
        String::new()
    }

    /// Checks the SLO; errors name the SLO and the field.
    pub fn validate(&self) -> Result<(), String> {
        let id = format!("slo {:?}/{:?}", self.service, self.name);
        if self.service.is_empty() || self.name.is_empty() {
            return Err(format!("{id}: service and name must not be empty"));
        }
        if !(self.objective > 0.0 && self.objective < 100.0) {
            return Err(format!(
                "{id}: objective must be between 0 and 100 (exclusive), got {}",
                self.objective
            ));
        }
        if self.window.0 < Duration::from_secs(86400) {
            return Err(format!(
                "{id}: window must be at least 1d, got {}",
                self.window
            ));
        }
        if matches!(self.interval, Some(d) if d.0.is_zero()) {
            return Err(format!("{id}: interval must be greater than 0"));
        }
        for k in self
            .labels
            .keys()
            .chain(self.alerting.page_labels.keys())
            .chain(self.alerting.ticket_labels.keys())
        {
            if !crate::file::valid_label_name(k) {
                return Err(format!("{id}: invalid label name {k:?}"));
            }
        }
        if let Some(n) = &self.alerting.name {
            if n.is_empty() {
                return Err(format!("{id}: alerting.name must not be empty"));
            }
        }
        if matches!(self.alerting.min_events_per_5m, Some(m) if m.is_nan() || m < 0.0) {
            return Err(format!("{id}: alerting.min_events_per_5m must be >= 0"));
        }
        match (&self.sli.events, &self.sli.latency) {
            (Some(e), None) => {
                for (field, q) in [
                    ("error_query", &e.error_query),
                    ("total_query", &e.total_query),
                ] {
                    if !q.contains("{{.window}}") {
                        return Err(format!(
                            "{id}: sli.events.{field} must contain {{{{.window}}}}"
                        ));
                    }
                    let probe = q.replace("{{.window}}", "5m");
                    promql_parser::parser::parse(&probe).map_err(|err| {
                        format!("{id}: sli.events.{field}: {}", err.replace('\n', " "))
                    })?;
                }
            }
            (None, Some(l)) => {
                if !crate::file::valid_metric_name(&l.metric) {
                    return Err(format!(
                        "{id}: sli.latency.metric {:?} is not a valid metric name",
                        l.metric
                    ));
                }
                if !(l.threshold_seconds > 0.0 && l.threshold_seconds.is_finite()) {
                    return Err(format!(
                        "{id}: sli.latency.threshold_seconds must be a positive number"
                    ));
                }
                promql_parser::parser::parse(&self.error_ratio_expr("5m")).map_err(|err| {
                    format!("{id}: sli.latency.selector: {}", err.replace('\n', " "))
                })?;
            }
            _ => {
                return Err(format!(
                    "{id}: sli must have exactly one of events or latency"
                ))
            }
        }
        Ok(())
    }
}

fn round12(x: f64) -> f64 {
    (x * 1e12).round() / 1e12
}

/// A duration as a single Prometheus unit (`30d`, `90m`, `36h`).
pub fn window_str(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60)] {
        if s >= size && s.is_multiple_of(size) {
            return format!("{}{unit}", s / size);
        }
    }
    format!("{s}s")
}

/// A float literal for generated PromQL: shortest round-trip decimal.
pub fn num(x: f64) -> String {
    sightline_promql::format_value(x)
}

/// The `le` values one boundary may be written as: `0.25`, and for whole
/// numbers both `1` (Prometheus 2) and `1.0` (Prometheus 3 normalisation).
fn le_regex(t: f64) -> String {
    let base = num(t);
    let mut alts = vec![regex::escape(&base)];
    if t.fract() == 0.0 {
        alts.push(regex::escape(&format!("{base}.0")));
    }
    // Inside a PromQL double-quoted string the regex backslash is escaped too.
    alts.join("|").replace('\\', "\\\\")
}

fn join_selector(sel: &str, extra: &str) -> String {
    let sel = sel.trim().trim_end_matches(',');
    if sel.is_empty() {
        extra.to_string()
    } else {
        format!("{sel},{extra}")
    }
}

/// Parses an SLO file (`slos: [...]`) and validates every SLO.
pub fn parse_slo_file(text: &str) -> Result<Vec<SloConfig>, String> {
    let f: SloFile = if text.trim().is_empty() {
        SloFile::default()
    } else {
        let de = serde_yaml::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let at = inner
                .location()
                .map(|l| format!("line {}: ", l.line()))
                .unwrap_or_default();
            format!("{at}{path}: {inner}")
        })?
    };
    for s in &f.slos {
        s.validate()?;
    }
    Ok(f.slos)
}

/// `scrape_interval` capped at [`DEFAULT_FAST_INTERVAL`]: evaluating more often
/// than data arrive adds load but no speed; less often adds delay.
pub fn recommended_interval(scrape_interval: Duration) -> Duration {
    scrape_interval
        .min(DEFAULT_FAST_INTERVAL)
        .max(Duration::from_secs(1))
}
