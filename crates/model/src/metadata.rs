//! Metric metadata: type, help and unit, as scrape targets and remote_write senders
//! report them.

/// The metric family types of the Prometheus and OpenMetrics exposition formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// Monotonic counter.
    Counter,
    /// Gauge.
    Gauge,
    /// Classic histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
    /// OpenMetrics gauge histogram.
    GaugeHistogram,
    /// Summary (quantiles, `_sum`, `_count`).
    Summary,
    /// OpenMetrics info.
    Info,
    /// OpenMetrics stateset.
    StateSet,
    /// Type not reported.
    #[default]
    Unknown,
}

impl MetricType {
    /// The lower-case name used by the exposition formats and the HTTP API.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// The type named `s` in the exposition formats, or `None` for a name that is
    /// not one (parsers reject those).
    pub fn from_name(s: &str) -> Option<MetricType> {
        Some(match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "unknown" => MetricType::Unknown,
            _ => return None,
        })
    }

    /// Parses an exposition-format type name; anything unrecognised is `Unknown`.
    pub fn parse(s: &str) -> MetricType {
        MetricType::from_name(s).unwrap_or(MetricType::Unknown)
    }
}

/// Metadata of one metric family.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MetricMetadata {
    /// The family name (without `_total`/`_bucket` suffixes where the format strips them).
    pub metric_family_name: String,
    /// The family type.
    pub metric_type: MetricType,
    /// The help text.
    pub help: String,
    /// The unit, empty when not given.
    pub unit: String,
}
