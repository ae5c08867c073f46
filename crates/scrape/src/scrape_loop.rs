//! One task per target: fetch, parse, apply the label rules and limits, and write a
//! single batch per scrape (samples, staleness markers, report series, metadata).
//!
//! Staleness follows Prometheus: a series present in the previous scrape but missing
//! now gets a stale marker at the scrape timestamp; a failed scrape marks all the
//! target's series stale; a target that goes away marks its series and its report
//! series stale. Series with explicit timestamps are not tracked (unless
//! `track_timestamps_staleness`). Scrapes are spread over the interval by a hash of
//! the target's labels, then stay aligned to the interval, so a reloaded loop for the
//! same target keeps the same phase and leaves no gap.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use sightline_model::{
    Exemplar, Label, Labels, MetricMetadata, Sample, SampleSink, TimeSeries, WriteBatch,
    METRIC_NAME, STALE_NAN,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::JobClient;
use crate::config::{ScrapeConfig, ScrapeProtocol};
use crate::metrics;
use crate::parse::{series_labels, Entry, Format, Parser};
use crate::relabel::relabel;
use crate::target::Target;

/// Names of the series every scrape reports about itself.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// The health of a target as of its last scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Health {
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
    /// Not scraped yet.
    #[default]
    Unknown,
}

impl Health {
    /// The API spelling (`up`, `down`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }
}

/// The outcome of a target's last scrape, for the targets API.
#[derive(Clone, Debug, Default)]
pub struct TargetStatus {
    /// Empty when the last scrape succeeded.
    pub last_error: String,
    /// Start of the last scrape.
    pub last_scrape: Option<SystemTime>,
    /// How long it took.
    pub last_scrape_duration: Duration,
    /// Up, down or unknown.
    pub health: Health,
}

/// What a loop shares with the manager while it runs.
#[derive(Default)]
pub(crate) struct LoopShared {
    pub status: Mutex<TargetStatus>,
    pub metadata: Mutex<HashMap<String, MetricMetadata>>,
}

/// What a loop remembers between scrapes; handed to its successor on reload.
#[derive(Default)]
pub(crate) struct LoopState {
    /// Series written by the last scrape; true when staleness is tracked for it.
    prev: HashMap<Labels, bool>,
    /// Whether report series were written (so they need stale markers at the end).
    reported: bool,
}

impl LoopState {
    /// Stale markers for everything this state remembers, at `t`.
    pub(crate) fn stale_batch(&self, target_labels: &Labels, t: i64) -> WriteBatch {
        let mut b = WriteBatch::default();
        for (l, tracked) in &self.prev {
            if *tracked {
                b.series.push(stale_series(l.clone(), t));
            }
        }
        if self.reported {
            for name in REPORT_SERIES {
                b.series
                    .push(stale_series(report_labels(target_labels, name), t));
            }
        }
        b
    }
}

/// How a stopped loop ends.
pub(crate) const STOP_STALE: u8 = 0;
/// Stopped for a reload: the successor continues, no markers.
pub(crate) const STOP_HANDOFF: u8 = 1;
/// Stopped at shutdown: no markers (the series continue after a restart).
pub(crate) const STOP_SILENT: u8 = 2;

/// A job's configuration and client, shared by its loops.
pub(crate) struct JobRuntime {
    pub cfg: ScrapeConfig,
    pub client: JobClient,
}

/// A running loop as the manager sees it.
pub(crate) struct LoopHandle {
    pub target: Target,
    pub shared: Arc<LoopShared>,
    pub cancel: CancellationToken,
    pub mode: Arc<AtomicU8>,
    pub join: JoinHandle<LoopState>,
}

impl LoopHandle {
    /// Signals the loop to stop in `mode`; await `join` to wait for it.
    pub fn stop(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
        self.cancel.cancel();
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn stale_series(labels: Labels, t: i64) -> TimeSeries {
    TimeSeries {
        labels,
        samples: vec![Sample::new(t, STALE_NAN)],
        exemplars: Vec::new(),
    }
}

fn report_labels(target: &Labels, name: &str) -> Labels {
    let mut v: Vec<Label> = Vec::with_capacity(target.len() + 1);
    v.push(Label::new(METRIC_NAME, name));
    v.extend(target.iter().filter(|l| l.name != METRIC_NAME).cloned());
    Labels::from_vec(v)
}

/// Writes a batch from async code without blocking the runtime.
pub(crate) async fn append(sink: &Arc<dyn SampleSink>, batch: WriteBatch) -> Result<(), String> {
    if batch.series.is_empty() && batch.metadata.is_empty() {
        return Ok(());
    }
    let sink = sink.clone();
    match tokio::task::spawn_blocking(move || sink.append(batch)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("writing samples: {e}")),
        Err(e) => Err(format!("writing samples: task failed: {e}")),
    }
}

/// One scraped series after all label rules.
pub(crate) struct Row {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    pub exemplar: Option<Exemplar>,
    pub tracked: bool,
}

/// A successfully processed exposition.
pub(crate) struct Scraped {
    pub rows: Vec<Row>,
    pub scraped: u64,
    /// Samples left after metric relabelling (counted past `sample_limit` too).
    pub post: u64,
    pub metadata: HashMap<String, MetricMetadata>,
}

/// Picks the parser from the Content-Type, falling back as configured.
pub(crate) fn choose_format(content_type: &str, cfg: &ScrapeConfig) -> Result<Format, String> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let fallback = cfg.fallback_scrape_protocol.map(|p| match p {
        ScrapeProtocol::OpenMetricsText1_0_0 | ScrapeProtocol::OpenMetricsText0_0_1 => {
            Format::OpenMetrics
        }
        _ => Format::PrometheusText,
    });
    match media.as_str() {
        "application/openmetrics-text" => Ok(Format::OpenMetrics),
        "text/plain" => Ok(Format::PrometheusText),
        "" => Ok(fallback.unwrap_or(Format::PrometheusText)),
        other => fallback.ok_or_else(|| {
            format!("received unsupported Content-Type {other:?} and no fallback_scrape_protocol specified for target")
        }),
    }
}

/// Adds the target's labels to a scraped series. With `honor_labels` the exposed
/// labels win; otherwise the target's win and a clashing exposed label is kept as
/// `exported_<name>` (more `exported_` prefixes while that name is taken too).
pub fn merge_target_labels(series: &Labels, target: &Labels, honor_labels: bool) -> Labels {
    if target.is_empty() {
        return series.clone();
    }
    let mut b = series.to_builder();
    if honor_labels {
        for l in target.iter() {
            if series.get(&l.name).is_none() {
                b.set(l.name.clone(), l.value.clone());
            }
        }
        return b.build();
    }
    let mut conflicts = Vec::new();
    for l in target.iter() {
        if let Some(v) = series.get(&l.name) {
            conflicts.push((l.name.as_str(), v));
        }
        b.set(l.name.clone(), l.value.clone());
    }
    for (name, v) in conflicts {
        let mut n = format!("exported_{name}");
        while !b.get(&n).is_empty() {
            n = format!("exported_{n}");
        }
        b.set(n, v);
    }
    b.build()
}

/// The labels of a scraped sample with the target's added: one allocation and one
/// sort in the common case where the exposition does not use the target's names.
fn sample_labels(
    name: &str,
    labels: &[(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)],
    target: &Labels,
    honor_labels: bool,
) -> Labels {
    let clash = labels
        .iter()
        .any(|(n, v)| !v.is_empty() && target.get(n).is_some());
    if clash {
        return merge_target_labels(&series_labels(name, labels), target, honor_labels);
    }
    let mut v: Vec<Label> = Vec::with_capacity(labels.len() + target.len() + 1);
    v.push(Label::new(METRIC_NAME, name));
    for (n, val) in labels {
        v.push(Label::new(n.as_ref(), val.as_ref()));
    }
    v.extend(target.iter().cloned());
    Labels::from_vec(v)
}

fn check_limits(l: &Labels, cfg: &ScrapeConfig) -> Result<(), String> {
    let metric: String = l.metric_name().unwrap_or("").chars().take(50).collect();
    if cfg.label_limit > 0 && l.len() as u64 > cfg.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {metric}, number of labels: {}, limit: {})",
            l.len(),
            cfg.label_limit
        ));
    }
    for lb in l.iter() {
        if cfg.label_name_length_limit > 0 && lb.name.len() as u64 > cfg.label_name_length_limit {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {metric}, label name: {}, length: {}, limit: {})",
                lb.name,
                lb.name.len(),
                cfg.label_name_length_limit
            ));
        }
        if cfg.label_value_length_limit > 0 && lb.value.len() as u64 > cfg.label_value_length_limit
        {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {metric}, label name: {}, value: {:?}, length: {}, limit: {})",
                lb.name,
                lb.value,
                lb.value.len(),
                cfg.label_value_length_limit
            ));
        }
    }
    Ok(())
}

/// Parses a body and applies target labels, metric relabelling, timestamps and
/// limits. Any parse error or exceeded limit fails the whole scrape.
pub(crate) fn process(
    body: &[u8],
    content_type: &str,
    cfg: &ScrapeConfig,
    target_labels: &Labels,
    ts: i64,
) -> Result<Scraped, Failure> {
    let mut out = Scraped {
        rows: Vec::new(),
        scraped: 0,
        post: 0,
        metadata: HashMap::new(),
    };
    match fill(body, content_type, cfg, target_labels, ts, &mut out) {
        Ok(()) => Ok(out),
        Err(message) => Err(Failure {
            message,
            scraped: out.scraped,
            post: out.post,
        }),
    }
}

/// Why a scrape failed, with the counts reached so far (Prometheus reports them in
/// `scrape_samples_scraped` and `scrape_samples_post_metric_relabeling` even then).
#[derive(Debug)]
pub(crate) struct Failure {
    pub message: String,
    pub scraped: u64,
    pub post: u64,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            scraped: 0,
            post: 0,
        }
    }
}

fn fill(
    body: &[u8],
    content_type: &str,
    cfg: &ScrapeConfig,
    target_labels: &Labels,
    ts: i64,
    out: &mut Scraped,
) -> Result<(), String> {
    let format = choose_format(content_type, cfg)?;
    let mut limit_hit = false;
    let mut seen: HashSet<Labels> = HashSet::new();
    for entry in Parser::new(body, format).skip_created_series(true) {
        let entry = entry.map_err(|e| e.to_string())?;
        match entry {
            Entry::Help { name, help } => {
                family(&mut out.metadata, name).help = help.into_owned();
            }
            Entry::Type { name, metric_type } => {
                family(&mut out.metadata, name).metric_type = metric_type;
            }
            Entry::Unit { name, unit } => {
                family(&mut out.metadata, name).unit = unit.to_string();
            }
            Entry::Sample {
                name,
                labels,
                timestamp_ms,
                value,
                exemplar,
            } => {
                out.scraped += 1;
                let merged = sample_labels(&name, &labels, target_labels, cfg.honor_labels);
                let labels = if cfg.metric_relabel_configs.is_empty() {
                    merged
                } else {
                    match relabel(&merged, &cfg.metric_relabel_configs) {
                        Some(l) => l,
                        None => continue,
                    }
                };
                if labels.metric_name().is_none() {
                    continue;
                }
                check_limits(&labels, cfg)?;
                if !seen.insert(labels.clone()) {
                    tracing::debug!(series = %labels, "duplicate series in scrape ignored");
                    continue;
                }
                out.post += 1;
                if cfg.sample_limit > 0 && out.post > cfg.sample_limit {
                    // Keep counting, as Prometheus reports the totals, but keep no more.
                    limit_hit = true;
                    continue;
                }
                let explicit = cfg.honor_timestamps && timestamp_ms.is_some();
                let t = if explicit {
                    timestamp_ms.unwrap_or(ts)
                } else {
                    ts
                };
                out.rows.push(Row {
                    labels,
                    t,
                    v: value,
                    exemplar: exemplar.map(|e| e.to_model(t)),
                    tracked: !explicit || cfg.track_timestamps_staleness,
                });
            }
            Entry::Eof => {}
        }
    }
    if limit_hit {
        return Err("sample limit exceeded".into());
    }
    Ok(())
}

fn family<'m>(m: &'m mut HashMap<String, MetricMetadata>, name: &str) -> &'m mut MetricMetadata {
    m.entry(name.to_string()).or_insert_with(|| MetricMetadata {
        metric_family_name: name.to_string(),
        ..Default::default()
    })
}

/// The delay before the first scrape: the target's offset within the interval
/// (hash of its labels mixed with `seed`), measured from the interval's boundary.
pub(crate) fn first_delay(target: &Target, seed: u64, now_ms: i64) -> Duration {
    let iv = (target.interval.as_millis() as u64).max(1);
    let offset = (target.internal_labels.stable_hash() ^ seed) % iv;
    let phase = (now_ms.max(0) as u64) % iv;
    Duration::from_millis((offset + iv - phase) % iv)
}

struct ScrapeLoop {
    job: Arc<JobRuntime>,
    target: Target,
    sink: Arc<dyn SampleSink>,
    shared: Arc<LoopShared>,
    state: LoopState,
}

/// Starts the loop for `target`, continuing from `state` (a predecessor's on reload).
pub(crate) fn spawn(
    job: Arc<JobRuntime>,
    target: Target,
    sink: Arc<dyn SampleSink>,
    state: LoopState,
    shared: Arc<LoopShared>,
    seed: u64,
) -> LoopHandle {
    let cancel = CancellationToken::new();
    let mode = Arc::new(AtomicU8::new(STOP_STALE));
    let lp = ScrapeLoop {
        job,
        target: target.clone(),
        sink,
        shared: shared.clone(),
        state,
    };
    let join = tokio::spawn(lp.run(cancel.clone(), mode.clone(), seed));
    LoopHandle {
        target,
        shared,
        cancel,
        mode,
        join,
    }
}

impl ScrapeLoop {
    async fn run(mut self, cancel: CancellationToken, mode: Arc<AtomicU8>, seed: u64) -> LoopState {
        let delay = first_delay(&self.target, seed, now_ms());
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + delay, self.target.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {}
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                _ = self.scrape_once() => {}
            }
        }
        if mode.load(Ordering::SeqCst) == STOP_STALE {
            let b = self.state.stale_batch(&self.target.labels, now_ms());
            if let Err(e) = append(&self.sink, b).await {
                tracing::warn!(target = %self.target.scrape_url, error = %e, "writing end-of-run stale markers");
            }
            self.state = LoopState::default();
        }
        self.state
    }

    async fn scrape_once(&mut self) {
        let cfg = &self.job.cfg;
        let start = SystemTime::now();
        let ts = to_ms(start);
        let t0 = Instant::now();
        let outcome = match self
            .job
            .client
            .fetch(&self.target.scrape_url, self.target.timeout)
            .await
        {
            Ok(f) => process(&f.body, &f.content_type, cfg, &self.target.labels, ts),
            Err(e) => Err(Failure::from(e)),
        };
        let duration = t0.elapsed();
        let mut batch = WriteBatch::default();
        let (up, scraped, post, added, err) = match outcome {
            Ok(s) => {
                let mut current = HashMap::with_capacity(s.rows.len());
                let mut added = 0u64;
                let post = s.post;
                batch.series.reserve(s.rows.len());
                for r in s.rows {
                    if !self.state.prev.contains_key(&r.labels) {
                        added += 1;
                    }
                    current.insert(r.labels.clone(), r.tracked);
                    batch.series.push(TimeSeries {
                        labels: r.labels,
                        samples: vec![Sample::new(r.t, r.v)],
                        exemplars: r.exemplar.into_iter().collect(),
                    });
                }
                for (l, tracked) in &self.state.prev {
                    if *tracked && !current.contains_key(l) {
                        batch.series.push(stale_series(l.clone(), ts));
                    }
                }
                self.state.prev = current;
                let mut known = self.shared.metadata.lock();
                for (name, m) in &s.metadata {
                    if known.get(name) != Some(m) {
                        batch.metadata.push(m.clone());
                    }
                }
                *known = s.metadata;
                (1.0, s.scraped, post, added, None)
            }
            Err(f) => {
                for (l, tracked) in self.state.prev.drain() {
                    if tracked {
                        batch.series.push(stale_series(l, ts));
                    }
                }
                (0.0, f.scraped, f.post, 0, Some(f.message))
            }
        };
        let tl = &self.target.labels;
        for (name, v) in [
            ("up", up),
            ("scrape_duration_seconds", duration.as_secs_f64()),
            ("scrape_samples_scraped", scraped as f64),
            ("scrape_samples_post_metric_relabeling", post as f64),
            ("scrape_series_added", added as f64),
        ] {
            batch.series.push(TimeSeries {
                labels: report_labels(tl, name),
                samples: vec![Sample::new(ts, v)],
                exemplars: Vec::new(),
            });
        }
        self.state.reported = true;
        let job = cfg.job_name.as_str();
        let append_err = append(&self.sink, batch).await.err();
        if let Some(e) = &append_err {
            tracing::warn!(target = %self.target.scrape_url, error = %e, "scrape append failed");
        }
        metrics::SCRAPE_DURATION
            .with_label_values(&[job])
            .observe(duration.as_secs_f64());
        metrics::SCRAPES
            .with_label_values(&[job, if err.is_none() { "success" } else { "failure" }])
            .inc();
        metrics::SAMPLES.with_label_values(&[job]).inc_by(post);
        let mut st = self.shared.status.lock();
        st.last_scrape = Some(start);
        st.last_scrape_duration = duration;
        st.health = if err.is_none() {
            Health::Up
        } else {
            Health::Down
        };
        st.last_error = err.or(append_err).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(p: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(p.iter().copied())
    }

    #[test]
    fn fast_path_agrees_with_merge() {
        use std::borrow::Cow;
        let target = l(&[("job", "j"), ("instance", "i:1")]);
        for (pairs, honor) in [
            (vec![("a", "1")], false),
            (vec![("job", "x"), ("a", "1")], false),
            (vec![("job", "x")], true),
            (vec![("job", "")], false),
        ] {
            let raw: Vec<(Cow<str>, Cow<str>)> = pairs
                .iter()
                .map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v)))
                .collect();
            assert_eq!(
                sample_labels("m", &raw, &target, honor),
                merge_target_labels(&series_labels("m", &raw), &target, honor),
                "{pairs:?} honor={honor}"
            );
        }
    }

    #[test]
    fn exported_prefix_on_conflict() {
        let target = l(&[("job", "j"), ("instance", "i:1")]);
        let s = l(&[("__name__", "m"), ("job", "exp"), ("exported_job", "taken")]);
        let got = merge_target_labels(&s, &target, false);
        assert_eq!(got.get("job"), Some("j"));
        assert_eq!(got.get("exported_job"), Some("taken"));
        assert_eq!(got.get("exported_exported_job"), Some("exp"));
        assert_eq!(got.get("instance"), Some("i:1"));
        let honored = merge_target_labels(&s, &target, true);
        assert_eq!(honored.get("job"), Some("exp"));
        assert_eq!(honored.get("instance"), Some("i:1"));
        assert_eq!(honored.get("exported_exported_job"), None);
    }

    #[test]
    fn process_applies_rules_and_limits() {
        let mut cfg: ScrapeConfig = serde_yaml::from_str(
            "job_name: j\nmetric_relabel_configs: [{source_labels: [__name__], regex: 'drop_.*', action: drop}]",
        )
        .unwrap();
        let target = l(&[("job", "j"), ("instance", "h:1")]);
        let body =
            b"# TYPE a counter\n# HELP a The a.\na 1\ndrop_me 2\nb{x=\"1\"} 3 1000\nb{x=\"1\"} 4\n";
        let s = process(body, "text/plain; version=0.0.4", &cfg, &target, 5000).unwrap();
        assert_eq!(s.scraped, 4);
        assert_eq!(s.rows.len(), 2, "drop_me dropped, duplicate ignored");
        assert_eq!(s.rows[0].labels.get("instance"), Some("h:1"));
        assert_eq!((s.rows[0].t, s.rows[0].tracked), (5000, true));
        assert_eq!((s.rows[1].t, s.rows[1].tracked), (1000, false));
        assert_eq!(s.metadata["a"].help, "The a.");

        cfg.honor_timestamps = false;
        let s = process(body, "text/plain", &cfg, &target, 5000).unwrap();
        assert_eq!((s.rows[1].t, s.rows[1].tracked), (5000, true));

        cfg.sample_limit = 1;
        assert_eq!(
            process(body, "text/plain", &cfg, &target, 0)
                .err()
                .map(|f| (f.message, f.scraped, f.post)),
            Some(("sample limit exceeded".to_string(), 4, 2))
        );
        cfg.sample_limit = 0;
        cfg.label_limit = 3;
        let e = process(body, "text/plain", &cfg, &target, 0)
            .err()
            .unwrap()
            .message;
        assert!(e.starts_with("label_limit exceeded (metric: b"), "{e}");
        cfg.label_limit = 0;
        cfg.label_value_length_limit = 2;
        let e = process(body, "text/plain", &cfg, &target, 0)
            .err()
            .unwrap()
            .message;
        assert!(e.starts_with("label_value_length_limit exceeded"), "{e}");
        cfg.label_value_length_limit = 0;
        cfg.label_name_length_limit = 4;
        let e = process(body, "text/plain", &cfg, &target, 0)
            .err()
            .unwrap()
            .message;
        assert!(e.contains("label name: __name__"), "{e}");
    }

    #[test]
    fn format_selection_and_fallback() {
        let mut cfg = ScrapeConfig::new("j");
        assert_eq!(choose_format("", &cfg).unwrap(), Format::PrometheusText);
        assert_eq!(
            choose_format("application/openmetrics-text; version=1.0.0", &cfg).unwrap(),
            Format::OpenMetrics
        );
        assert!(choose_format("application/json", &cfg)
            .unwrap_err()
            .contains("fallback_scrape_protocol"));
        cfg.fallback_scrape_protocol = Some(ScrapeProtocol::OpenMetricsText1_0_0);
        assert_eq!(
            choose_format("application/json", &cfg).unwrap(),
            Format::OpenMetrics
        );
    }

    #[test]
    fn offsets_spread_and_stay_within_interval() {
        let mk = |addr: &str| Target {
            discovered_labels: Labels::empty(),
            internal_labels: l(&[("__address__", addr)]),
            labels: Labels::empty(),
            scrape_url: String::new(),
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
        };
        let mut delays = HashSet::new();
        for i in 0..20 {
            let t = mk(&format!("h{i}:1"));
            let d = first_delay(&t, 7, 1_000_000_123);
            assert!(d < Duration::from_secs(10));
            // The scrape lands at the same phase whenever the loop starts.
            let at = 1_000_000_123 + d.as_millis() as i64;
            let later = first_delay(&t, 7, 1_000_004_567);
            let at2 = 1_000_004_567 + later.as_millis() as i64;
            assert_eq!(at % 10_000, at2 % 10_000);
            delays.insert(d);
        }
        assert!(delays.len() > 10, "offsets are spread: {delays:?}");
    }
}
