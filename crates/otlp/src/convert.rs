//! OTLP metrics to Prometheus series, per the OpenTelemetry "Prometheus and
//! OpenMetrics Compatibility" spec.
//!
//! - Gauges → gauges; cumulative monotonic sums → counters (`_total`); cumulative
//!   non-monotonic sums → gauges; delta sums and histograms are rejected (reported in
//!   partial success), since turning them into cumulative series needs state across
//!   requests.
//! - Histograms → `_bucket{le}` (cumulative counts, ending with `+Inf`), `_sum`
//!   (when present) and `_count`.
//! - Exponential histograms → classic histograms whose `le` values are the upper
//!   boundaries of the exponential buckets: negative buckets (from most negative up),
//!   then the zero bucket (`le` = zero threshold), then positive buckets, each upper
//!   bound `base^(index+1)` with `base = 2^(2^-scale)`, and `+Inf` = count. Counts are
//!   made cumulative along that order, so `histogram_quantile` works on them and no
//!   information of the exponential layout is lost except bucket widths.
//! - Summaries → `{quantile="q"}` series, `_sum` and `_count`.
//! - Exemplars of histograms (attached to the bucket their value falls in) and
//!   monotonic sums, with `trace_id`/`span_id` labels in hex; others are dropped.
//! - Resource: `service.namespace/service.name` → `job`, `service.instance.id` →
//!   `instance`, other resource attributes → `target_info{job, instance, ...} 1` at
//!   the newest timestamp of that resource's points.
//! - Scope name/version → `otel_scope_name`/`otel_scope_version`; point attributes →
//!   sanitised labels; timestamps ns → ms; `NO_RECORDED_VALUE` → staleness marker.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    AggregationTemporality, Exemplar as OtlpExemplar, ExponentialHistogramDataPoint,
    HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
};
use sightline_model::{
    Exemplar, Label, Labels, MetricMetadata, MetricType, Sample, TimeSeries, WriteBatch,
    METRIC_NAME, STALE_NAN,
};

use crate::attrs;
use crate::names::{format_float, metric_name, prometheus_unit, NameKind};

/// The `NO_RECORDED_VALUE` bit of a data point's flags.
const NO_RECORDED_VALUE: u32 = 1;
/// At most this many rejection messages are kept (the count stays exact).
const MAX_MESSAGES: usize = 10;

/// Data points that could not be converted, with human-readable reasons; reported
/// to the sender as OTLP partial success.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rejections {
    /// Number of rejected data points.
    pub points: u64,
    /// The first reasons (at most ten).
    pub messages: Vec<String>,
}

impl Rejections {
    /// True when nothing was rejected.
    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    /// Records `n` rejected points for `reason`.
    pub fn reject(&mut self, n: u64, reason: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        self.points += n;
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(reason());
        }
    }

    /// All kept reasons in one message, for `partial_success.error_message`.
    pub fn message(&self) -> String {
        self.messages.join("; ")
    }
}

/// Number of data points in a request (for metrics and partial success).
pub fn data_point_count(req: &ExportMetricsServiceRequest) -> u64 {
    let mut n = 0u64;
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                n += match &m.data {
                    Some(Data::Gauge(g)) => g.data_points.len(),
                    Some(Data::Sum(s)) => s.data_points.len(),
                    Some(Data::Histogram(h)) => h.data_points.len(),
                    Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
                    Some(Data::Summary(s)) => s.data_points.len(),
                    None => 0,
                } as u64;
            }
        }
    }
    n
}

/// Converts an export request into a batch of Prometheus series, and the points that
/// could not be converted.
pub fn convert(req: ExportMetricsServiceRequest) -> (WriteBatch, Rejections) {
    let mut c = Converter::default();
    for rm in &req.resource_metrics {
        let res_attrs: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let mut base = Vec::new();
        let job = job_label(res_attrs);
        if !job.is_empty() {
            base.push(Label::new("job", job));
        }
        if let Some(inst) = attrs::find(res_attrs, "service.instance.id") {
            let inst = attrs::value_string(Some(inst));
            if !inst.is_empty() {
                base.push(Label::new("instance", inst));
            }
        }
        let identity_len = base.len();
        c.newest = None;
        for sm in &rm.scope_metrics {
            let mut scoped = base.clone();
            if let Some(scope) = &sm.scope {
                if !scope.name.is_empty() {
                    scoped.push(Label::new("otel_scope_name", scope.name.clone()));
                }
                if !scope.version.is_empty() {
                    scoped.push(Label::new("otel_scope_version", scope.version.clone()));
                }
            }
            for m in &sm.metrics {
                c.metric(m, &scoped);
            }
        }
        c.target_info(&base[..identity_len], res_attrs);
    }
    c.finish()
}

/// `service.namespace/service.name`, or `service.name`, or empty.
fn job_label(res: &[KeyValue]) -> String {
    let name = attrs::value_string(attrs::find(res, "service.name"));
    let ns = attrs::value_string(attrs::find(res, "service.namespace"));
    match (ns.is_empty(), name.is_empty()) {
        (_, true) => String::new(),
        (true, false) => name,
        (false, false) => format!("{ns}/{name}"),
    }
}

fn is_identity(key: &str) -> bool {
    matches!(
        key,
        "service.name" | "service.namespace" | "service.instance.id"
    )
}

fn ns_to_ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn exemplar(e: &OtlpExemplar) -> Exemplar {
    use opentelemetry_proto::tonic::metrics::v1::exemplar::Value;
    let mut labels = Vec::new();
    attrs::to_labels(&e.filtered_attributes, |_| false, &mut labels);
    if !e.trace_id.is_empty() {
        labels.push(Label::new("trace_id", hex(&e.trace_id)));
    }
    if !e.span_id.is_empty() {
        labels.push(Label::new("span_id", hex(&e.span_id)));
    }
    Exemplar {
        labels: Labels::from_vec(labels),
        value: match e.value {
            Some(Value::AsDouble(d)) => d,
            Some(Value::AsInt(i)) => i as f64,
            None => 0.0,
        },
        t: ns_to_ms(e.time_unix_nano),
    }
}

#[derive(Default)]
struct Converter {
    series: Vec<TimeSeries>,
    index: HashMap<Labels, usize>,
    metadata: Vec<MetricMetadata>,
    families: std::collections::HashSet<String>,
    rejections: Rejections,
    /// Newest timestamp (ms) seen in the current resource, for `target_info`.
    newest: Option<i64>,
}

impl Converter {
    fn finish(mut self) -> (WriteBatch, Rejections) {
        for s in &mut self.series {
            if s.samples.windows(2).any(|w| w[0].t > w[1].t) {
                s.samples.sort_by_key(|x| x.t);
            }
        }
        (
            WriteBatch {
                series: self.series,
                metadata: self.metadata,
            },
            self.rejections,
        )
    }

    fn push(&mut self, labels: Labels, t: i64, v: f64, exemplars: Vec<Exemplar>) {
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        let i = match self.index.get(&labels) {
            Some(&i) => i,
            None => {
                self.series.push(TimeSeries {
                    labels: labels.clone(),
                    samples: Vec::with_capacity(1),
                    exemplars: Vec::new(),
                });
                self.index.insert(labels, self.series.len() - 1);
                self.series.len() - 1
            }
        };
        let s = &mut self.series[i];
        s.samples.push(Sample { t, v });
        s.exemplars.extend(exemplars);
    }

    /// A point's labels without the name: attributes first, then resource and scope
    /// labels, which win on conflicts (later entries win in [`Labels::from_vec`]).
    fn point_labels(base: &[Label], point_attrs: &[KeyValue]) -> Vec<Label> {
        let mut v = Vec::with_capacity(point_attrs.len() + base.len() + 2);
        attrs::to_labels(point_attrs, |_| false, &mut v);
        v.extend(base.iter().cloned());
        v
    }

    /// `point` plus `__name__` and an optional `le`/`quantile` label.
    fn named(point: &[Label], name: &str, extra: Option<(&str, String)>) -> Labels {
        let mut v = Vec::with_capacity(point.len() + 2);
        v.extend(point.iter().cloned());
        if let Some((n, val)) = extra {
            v.push(Label::new(n, val));
        }
        v.push(Label::new(METRIC_NAME, name));
        Labels::from_vec(v)
    }

    fn target_info(&mut self, identity: &[Label], res_attrs: &[KeyValue]) {
        let Some(t) = self.newest else { return };
        let mut v = Vec::new();
        attrs::to_labels(res_attrs, is_identity, &mut v);
        if v.is_empty() {
            return;
        }
        v.extend(identity.iter().cloned());
        v.push(Label::new(METRIC_NAME, "target_info"));
        self.push(Labels::from_vec(v), t, 1.0, Vec::new());
    }

    fn meta(&mut self, family: &str, t: MetricType, m: &Metric, unit: String) {
        if !self.families.insert(family.to_string()) {
            return;
        }
        self.metadata.push(MetricMetadata {
            metric_family_name: family.to_string(),
            metric_type: t,
            help: m.description.clone(),
            unit,
        });
    }

    /// The timestamp of a point, or a rejection when it has none.
    fn timestamp(&mut self, ns: u64, metric: &str) -> Option<i64> {
        if ns == 0 {
            self.rejections.reject(1, || {
                format!("metric {metric:?}: data point without time_unix_nano")
            });
            return None;
        }
        Some(ns_to_ms(ns))
    }

    fn metric(&mut self, m: &Metric, base: &[Label]) {
        let Some(data) = &m.data else {
            return;
        };
        let kind = match data {
            Data::Gauge(_) => NameKind::Gauge,
            Data::Sum(s) if s.is_monotonic => NameKind::Counter,
            _ => NameKind::Other,
        };
        let name = metric_name(&m.name, &m.unit, kind);
        if name.is_empty() {
            self.rejections.reject(data_points(data), || {
                format!("metric {:?} has no usable name", m.name)
            });
            return;
        }
        let unit = prometheus_unit(&m.unit, kind);
        match data {
            Data::Gauge(g) => {
                let unknown = m.metadata.iter().any(|kv| {
                    kv.key == "prometheus.type"
                        && attrs::value_string(kv.value.as_ref()) == "unknown"
                });
                let t = if unknown {
                    MetricType::Unknown
                } else {
                    MetricType::Gauge
                };
                self.meta(&name, t, m, unit);
                for p in &g.data_points {
                    self.number(p, base, &name, false);
                }
            }
            Data::Sum(s) => {
                if s.aggregation_temporality != AggregationTemporality::Cumulative as i32 {
                    self.rejections.reject(s.data_points.len() as u64, || {
                        format!(
                            "metric {:?}: sums with {} temporality are not supported \
                             (send cumulative, e.g. with the collector's deltatocumulative processor)",
                            m.name,
                            temporality(s.aggregation_temporality)
                        )
                    });
                    return;
                }
                let t = if s.is_monotonic {
                    MetricType::Counter
                } else {
                    MetricType::Gauge
                };
                self.meta(&name, t, m, unit);
                for p in &s.data_points {
                    self.number(p, base, &name, s.is_monotonic);
                }
            }
            Data::Histogram(h) => {
                if h.aggregation_temporality != AggregationTemporality::Cumulative as i32 {
                    self.rejections.reject(h.data_points.len() as u64, || {
                        format!(
                            "metric {:?}: histograms with {} temporality are not supported",
                            m.name,
                            temporality(h.aggregation_temporality)
                        )
                    });
                    return;
                }
                self.meta(&name, MetricType::Histogram, m, unit);
                for p in &h.data_points {
                    self.histogram(p, base, &name);
                }
            }
            Data::ExponentialHistogram(h) => {
                if h.aggregation_temporality != AggregationTemporality::Cumulative as i32 {
                    self.rejections.reject(h.data_points.len() as u64, || {
                        format!(
                            "metric {:?}: exponential histograms with {} temporality are not supported",
                            m.name,
                            temporality(h.aggregation_temporality)
                        )
                    });
                    return;
                }
                self.meta(&name, MetricType::Histogram, m, unit);
                for p in &h.data_points {
                    self.exp_histogram(p, base, &name);
                }
            }
            Data::Summary(s) => {
                self.meta(&name, MetricType::Summary, m, unit);
                for p in &s.data_points {
                    self.summary(p, base, &name);
                }
            }
        }
    }

    fn number(&mut self, p: &NumberDataPoint, base: &[Label], name: &str, keep_exemplars: bool) {
        let Some(t) = self.timestamp(p.time_unix_nano, name) else {
            return;
        };
        let v = if p.flags & NO_RECORDED_VALUE != 0 {
            STALE_NAN
        } else {
            match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => {
                    self.rejections
                        .reject(1, || format!("metric {name:?}: data point without a value"));
                    return;
                }
            }
        };
        let exemplars = if keep_exemplars {
            p.exemplars.iter().map(exemplar).collect()
        } else {
            Vec::new()
        };
        let labels = Self::named(&Self::point_labels(base, &p.attributes), name, None);
        self.push(labels, t, v, exemplars);
    }

    fn histogram(&mut self, p: &HistogramDataPoint, base: &[Label], name: &str) {
        let Some(t) = self.timestamp(p.time_unix_nano, name) else {
            return;
        };
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        if !stale
            && !p.bucket_counts.is_empty()
            && p.bucket_counts.len() != p.explicit_bounds.len() + 1
        {
            self.rejections.reject(1, || {
                format!(
                    "metric {name:?}: histogram point has {} bucket counts for {} bounds (want bounds + 1)",
                    p.bucket_counts.len(),
                    p.explicit_bounds.len()
                )
            });
            return;
        }
        if p.explicit_bounds.windows(2).any(|w| w[0] >= w[1])
            || p.explicit_bounds.iter().any(|b| b.is_nan())
        {
            self.rejections.reject(1, || {
                format!("metric {name:?}: histogram bounds are not strictly increasing")
            });
            return;
        }
        let mut bounds: Vec<(f64, f64)> = Vec::with_capacity(p.explicit_bounds.len() + 1);
        let mut cum = 0u64;
        for (i, b) in p.explicit_bounds.iter().enumerate() {
            cum = cum.saturating_add(p.bucket_counts.get(i).copied().unwrap_or(0));
            bounds.push((*b, cum as f64));
        }
        // See exp_buckets: +Inf never drops below the finite buckets.
        let buckets: Vec<(f64, f64)> = bounds
            .into_iter()
            .chain(std::iter::once((f64::INFINITY, p.count.max(cum) as f64)))
            .collect();
        let exemplars: Vec<Exemplar> = p.exemplars.iter().map(exemplar).collect();
        self.classic(p, base, name, t, stale, &buckets, exemplars, p.sum);
    }

    #[allow(clippy::too_many_arguments)]
    fn classic<P: PointAttrs>(
        &mut self,
        p: &P,
        base: &[Label],
        name: &str,
        t: i64,
        stale: bool,
        buckets: &[(f64, f64)],
        mut exemplars: Vec<Exemplar>,
        sum: Option<f64>,
    ) {
        let val = |v: f64| if stale { STALE_NAN } else { v };
        let bucket_name = format!("{name}_bucket");
        let point = Self::point_labels(base, p.attrs());
        for (i, &(le, v)) in buckets.iter().enumerate() {
            // Exemplars go to the first bucket whose bound holds their value.
            let (mine, rest): (Vec<Exemplar>, Vec<Exemplar>) = exemplars
                .into_iter()
                .partition(|e| e.value <= le || i + 1 == buckets.len());
            exemplars = rest;
            let labels = Self::named(&point, &bucket_name, Some(("le", format_float(le))));
            self.push(labels, t, val(v), mine);
        }
        let count = buckets.last().map_or(0.0, |b| b.1);
        if let Some(s) = sum {
            let labels = Self::named(&point, &format!("{name}_sum"), None);
            self.push(labels, t, val(s), Vec::new());
        }
        let labels = Self::named(&point, &format!("{name}_count"), None);
        self.push(labels, t, val(count), Vec::new());
    }

    fn exp_histogram(&mut self, p: &ExponentialHistogramDataPoint, base: &[Label], name: &str) {
        let Some(t) = self.timestamp(p.time_unix_nano, name) else {
            return;
        };
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let Some(buckets) = exp_buckets(p) else {
            self.rejections.reject(1, || {
                format!(
                    "metric {name:?}: exponential histogram scale {} or bucket layout cannot be converted",
                    p.scale
                )
            });
            return;
        };
        let exemplars: Vec<Exemplar> = p.exemplars.iter().map(exemplar).collect();
        self.classic(p, base, name, t, stale, &buckets, exemplars, p.sum);
    }

    fn summary(&mut self, p: &SummaryDataPoint, base: &[Label], name: &str) {
        let Some(t) = self.timestamp(p.time_unix_nano, name) else {
            return;
        };
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let val = |v: f64| if stale { STALE_NAN } else { v };
        let point = Self::point_labels(base, &p.attributes);
        let mut qs = p.quantile_values.clone();
        qs.sort_by(|a, b| a.quantile.total_cmp(&b.quantile));
        for q in qs {
            let labels = Self::named(&point, name, Some(("quantile", format_float(q.quantile))));
            self.push(labels, t, val(q.value), Vec::new());
        }
        let labels = Self::named(&point, &format!("{name}_sum"), None);
        self.push(labels, t, val(p.sum), Vec::new());
        let labels = Self::named(&point, &format!("{name}_count"), None);
        self.push(labels, t, val(p.count as f64), Vec::new());
    }
}

/// Access to a point's attributes, shared by the two histogram kinds.
trait PointAttrs {
    fn attrs(&self) -> &[KeyValue];
}
impl PointAttrs for HistogramDataPoint {
    fn attrs(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl PointAttrs for ExponentialHistogramDataPoint {
    fn attrs(&self) -> &[KeyValue] {
        &self.attributes
    }
}

fn data_points(d: &Data) -> u64 {
    (match d {
        Data::Gauge(g) => g.data_points.len(),
        Data::Sum(s) => s.data_points.len(),
        Data::Histogram(h) => h.data_points.len(),
        Data::ExponentialHistogram(h) => h.data_points.len(),
        Data::Summary(s) => s.data_points.len(),
    }) as u64
}

fn temporality(t: i32) -> &'static str {
    match AggregationTemporality::try_from(t) {
        Ok(AggregationTemporality::Delta) => "delta",
        Ok(AggregationTemporality::Cumulative) => "cumulative",
        _ => "unspecified",
    }
}

/// Most buckets one exponential histogram may expand into.
const MAX_EXP_BUCKETS: usize = 4096;

/// Classic cumulative buckets `(le, count)` at the boundaries of an exponential
/// histogram, ending with `(+Inf, count)`. `None` for a scale or layout that cannot be
/// represented (boundaries not finite or not increasing, too many buckets).
pub fn exp_buckets(p: &ExponentialHistogramDataPoint) -> Option<Vec<(f64, f64)>> {
    if !(-10..=20).contains(&p.scale) {
        return None;
    }
    let empty = Buckets::default();
    let pos = p.positive.as_ref().unwrap_or(&empty);
    let neg = p.negative.as_ref().unwrap_or(&empty);
    if pos.bucket_counts.len() + neg.bucket_counts.len() + 2 > MAX_EXP_BUCKETS {
        return None;
    }
    let width = (-(p.scale as f64)).exp2();
    let bound = |index: i64| (index as f64 * width).exp2();
    let mut out: Vec<(f64, f64)> =
        Vec::with_capacity(pos.bucket_counts.len() + neg.bucket_counts.len() + 2);
    let mut cum = 0u64;
    // Negative bucket at index i holds [-base^(i+1), -base^i): its upper bound is
    // -base^i. Walk from the highest index (most negative values) down.
    for (k, c) in neg.bucket_counts.iter().enumerate().rev() {
        cum = cum.saturating_add(*c);
        out.push((-bound(neg.offset as i64 + k as i64), cum as f64));
    }
    cum = cum.saturating_add(p.zero_count);
    let zero_le = if p.zero_threshold > 0.0 {
        p.zero_threshold
    } else {
        0.0
    };
    if p.zero_count > 0 || !neg.bucket_counts.is_empty() || !pos.bucket_counts.is_empty() {
        out.push((zero_le, cum as f64));
    }
    // Positive bucket at index i holds (base^i, base^(i+1)].
    for (k, c) in pos.bucket_counts.iter().enumerate() {
        cum = cum.saturating_add(*c);
        out.push((bound(pos.offset as i64 + k as i64 + 1), cum as f64));
    }
    // A zero threshold at or above the first positive bound would break ordering:
    // drop bounds that do not increase (their counts are carried by the next one).
    let mut clean: Vec<(f64, f64)> = Vec::with_capacity(out.len() + 1);
    for (le, c) in out {
        if !le.is_finite() {
            return None;
        }
        match clean.last_mut() {
            Some(last) if le <= last.0 => last.1 = c,
            _ => clean.push((le, c)),
        }
    }
    // +Inf holds the count; a sender whose count is below its bucket total would
    // otherwise produce a decreasing (invalid) bucket series.
    clean.push((f64::INFINITY, p.count.max(cum) as f64));
    Some(clean)
}
