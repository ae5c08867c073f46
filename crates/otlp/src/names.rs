//! Metric and label names: OTLP names and units to Prometheus names.
//!
//! Follows the OpenTelemetry "Prometheus and OpenMetrics Compatibility" spec:
//! characters outside `[a-zA-Z0-9_:]` become `_`, runs of `_` collapse into one, the
//! unit (converted from UCUM abbreviations to Prometheus words, `{annotations}`
//! dropped, `a/b` written `a_per_b`, `1` → `ratio` on gauges) is appended unless the
//! name already contains it, and monotonic sums get `_total`.

/// What a name is for, which decides the suffixes it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// OTLP gauge: unit `1` becomes `_ratio`.
    Gauge,
    /// Monotonic cumulative sum: `_total` is appended.
    Counter,
    /// Anything else (non-monotonic sums, histograms, summaries).
    Other,
}

/// The Prometheus word for a UCUM unit abbreviation, if it is a known one.
fn main_unit(u: &str) -> Option<&'static str> {
    Some(match u {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => return None,
    })
}

/// The Prometheus word for the denominator of a rate unit (`By/s` → `second`).
fn per_unit(u: &str) -> Option<&'static str> {
    Some(match u {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// Keeps only ASCII letters and digits of an unknown unit word.
fn alnum(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// Converts an OTLP (UCUM) unit into the Prometheus unit word used as a name suffix
/// and as UNIT metadata; empty when the metric is unitless.
pub fn prometheus_unit(unit: &str, kind: NameKind) -> String {
    // Drop `{annotations}`: a "count of things" is unitless in Prometheus.
    let mut stripped = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => stripped.push(c),
            _ => {}
        }
    }
    let u = stripped.trim();
    if u == "1" {
        return if kind == NameKind::Gauge {
            "ratio".into()
        } else {
            String::new()
        };
    }
    let (main, per) = match u.split_once('/') {
        Some((m, p)) => (m.trim(), p.trim()),
        None => (u, ""),
    };
    let main = main_unit(main).map_or_else(|| alnum(main), str::to_string);
    let per = per_unit(per).map_or_else(|| alnum(per), str::to_string);
    match (main.is_empty(), per.is_empty()) {
        (_, true) => main,
        (true, false) => format!("per_{per}"),
        (false, false) => format!("{main}_per_{per}"),
    }
}

/// Replaces characters outside the allowed set with `_` and collapses runs of `_`.
fn sanitize(s: &str, allowed: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if allowed(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out
}

/// True when the `_`-separated tokens of `unit` appear in order inside `name`.
fn contains_tokens(name: &str, unit: &str) -> bool {
    let n: Vec<&str> = name.split('_').collect();
    let u: Vec<&str> = unit.split('_').collect();
    !u.is_empty() && n.windows(u.len()).any(|w| w == u.as_slice())
}

fn append(name: &mut String, suffix: &str) {
    if !name.is_empty() && !name.ends_with('_') {
        name.push('_');
    }
    name.push_str(suffix);
}

/// The Prometheus metric name for an OTLP metric of `kind` with `unit`; empty when the
/// OTLP name has no usable character.
pub fn metric_name(name: &str, unit: &str, kind: NameKind) -> String {
    let mut n = sanitize(name, |c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    while n.ends_with('_') {
        n.pop();
    }
    if n.is_empty() {
        return n;
    }
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        n.insert(0, '_');
    }
    let unit = prometheus_unit(unit, kind);
    if !unit.is_empty() && !contains_tokens(&n, &unit) {
        append(&mut n, &unit);
    }
    if kind == NameKind::Counter && !n.ends_with("_total") {
        append(&mut n, "total");
    }
    n
}

/// The Prometheus label name for an attribute key: invalid characters become `_`,
/// runs of `_` collapse, a leading digit gets a `key_` prefix. Empty for an empty key.
pub fn label_name(key: &str) -> String {
    let n = sanitize(key, |c| c.is_ascii_alphanumeric() || c == '_');
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("key_{n}");
    }
    n
}

/// Formats a float the way Prometheus writes `le` and `quantile` values.
pub fn format_float(f: f64) -> String {
    if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else if f.is_nan() {
        "NaN".into()
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_the_spec_table() {
        assert_eq!(prometheus_unit("s", NameKind::Other), "seconds");
        assert_eq!(prometheus_unit("By", NameKind::Other), "bytes");
        assert_eq!(prometheus_unit("By/s", NameKind::Other), "bytes_per_second");
        assert_eq!(prometheus_unit("{packet}", NameKind::Other), "");
        assert_eq!(prometheus_unit("{packet}/s", NameKind::Other), "per_second");
        assert_eq!(prometheus_unit("1", NameKind::Gauge), "ratio");
        assert_eq!(prometheus_unit("1", NameKind::Counter), "");
        assert_eq!(prometheus_unit("packets", NameKind::Other), "packets");
        assert_eq!(prometheus_unit("%", NameKind::Gauge), "percent");
    }

    #[test]
    fn names_get_unit_and_type_suffixes() {
        assert_eq!(
            metric_name("http.server.request.duration", "s", NameKind::Other),
            "http_server_request_duration_seconds"
        );
        assert_eq!(
            metric_name("requests", "1", NameKind::Counter),
            "requests_total"
        );
        assert_eq!(
            metric_name("requests_total", "", NameKind::Counter),
            "requests_total"
        );
        assert_eq!(
            metric_name("system.memory.utilization", "1", NameKind::Gauge),
            "system_memory_utilization_ratio"
        );
        assert_eq!(
            metric_name("process_cpu_seconds", "s", NameKind::Counter),
            "process_cpu_seconds_total"
        );
        assert_eq!(metric_name("io", "By", NameKind::Counter), "io_bytes_total");
        assert_eq!(metric_name("a..b//c", "", NameKind::Other), "a_b_c");
        assert_eq!(metric_name("9lives", "", NameKind::Other), "_9lives");
        assert_eq!(metric_name("...", "", NameKind::Other), "");
    }

    #[test]
    fn label_names_are_sanitised() {
        assert_eq!(label_name("http.method"), "http_method");
        assert_eq!(label_name("a..b"), "a_b");
        assert_eq!(label_name("1st"), "key_1st");
        assert_eq!(label_name("ok_name"), "ok_name");
    }

    #[test]
    fn floats_print_like_prometheus() {
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(10.0), "10");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
    }
}
