//! The generated query set of the differential test (templates × metrics × ranges)
//! and the named 2.x-vs-3.x differences that exclude a query from comparison.
//!
//! Every duration used here is a multiple of 5 s (see `dataset`), so no sample sits
//! on a range boundary; a subquery nested inside another subquery is evaluated at
//! multiples of the outer step, so its range must not be a multiple of its own step
//! (e.g. `[605s:1m]`), or one of its steps would sit on its left boundary.

/// One query to run on both servers.
#[derive(Debug, Clone)]
pub struct Case {
    /// The query sent to the reference Prometheus 2.x.
    pub prom: String,
    /// The query sent to Sightline (differs only where a function was renamed in 3.x).
    pub sightline: String,
}

impl Case {
    fn same(q: impl Into<String>) -> Self {
        let q = q.into();
        Case {
            prom: q.clone(),
            sightline: q,
        }
    }

    /// True when the result order is defined (top-level `sort`/`sort_desc`), so
    /// instant vectors must match in order too.
    pub fn ordered(&self) -> bool {
        self.prom.starts_with("sort(") || self.prom.starts_with("sort_desc(")
    }

    /// True for a top-level `topk`/`bottomk`, whose choice among equal values at
    /// the cut-off is unspecified.
    pub fn selects(&self) -> bool {
        self.prom.starts_with("topk") || self.prom.starts_with("bottomk")
    }
}

/// A known, documented difference between Debian's Prometheus 2.42 and the
/// Prometheus 3.x semantics Sightline implements; queries it matches are not compared.
pub struct Exclusion {
    /// Short name printed in the summary.
    pub name: &'static str,
    /// Why the two versions legitimately differ.
    pub reason: &'static str,
    /// Whether the (reference) query text is affected.
    pub applies: fn(&str) -> bool,
    /// What the reference must answer to an excluded query, proving the stated
    /// reason rather than hiding an unrelated difference.
    pub reference: Reference,
}

/// The reference behaviour an exclusion predicts for the queries it excludes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reference {
    /// Avoided by construction: nothing is excluded.
    Avoided,
    /// The reference refuses the query (unknown function, invalid name).
    Error,
    /// The reference answers with an empty result.
    Empty,
    /// The reference's result series keep `__name__`.
    KeepsName,
}

/// Every known 2.42-vs-3.x difference the generated set touches. The set is kept
/// explicit: a mismatch not explained here fails the test.
pub const EXCLUSIONS: &[Exclusion] = &[
    Exclusion {
        name: "left-open-ranges",
        reason: "3.x range selectors, subqueries and the lookback window are left-open (t-r, t], 2.x's are closed [t-r, t]; \
                 avoided by construction (samples at t ≡ 2 mod 5 s, every evaluation time ≡ 1 mod 5 s, every range, offset and step a \
                 multiple of 5 s, and a subquery nested in another has a range that is no multiple of its step, \
                 because its evaluation times are multiples of the outer step: no sample or subquery step lies on a \
                 boundary), so no query needs excluding",
        applies: |_| false,
        reference: Reference::Avoided,
    },
    Exclusion {
        name: "counter-start-extrapolation",
        reason: "rate/increase near a series' start: 2.42 limits durationToStart by the counter's zero point and then \
                 caps it at half a sample interval only if still beyond 1.1 intervals; 3.x caps first and then applies \
                 the zero point, which differs when the zero point is 0.5-1.1 intervals before the first sample; \
                 avoided by construction (counters and buckets start at 0 or far above one interval's increase, and \
                 rate/increase are applied to counters only, never to gauges that restart after a gap), \
                 so no query needs excluding",
        applies: |_| false,
        reference: Reference::Avoided,
    },
    Exclusion {
        name: "atan2-keeps-name",
        reason: "2.42 keeps __name__ on `atan2` results (atan2 is missing from its list of name-dropping operators); \
                 3.x drops it like every other arithmetic operator",
        applies: |q| q.contains(" atan2 ") && q.contains("diff_"),
        reference: Reference::KeepsName,
    },
    Exclusion {
        name: "summation-rounding",
        reason: "sum/avg/stddev/stdvar and *_over_time use Kahan-compensated summation in 3.x (plain or incremental \
                 in 2.42); where values cancel to (almost) zero the last bits differ beyond 1e-9 relative. Excluded \
                 per evaluation only when the sole difference is between two values both below 1e-12 in magnitude",
        applies: |_| false,
        reference: Reference::Avoided,
    },
    Exclusion {
        name: "stddev-lone-nonfinite",
        reason: "stddev/stdvar of a group whose only value is NaN or ±Inf is 0 in 2.42 and NaN since 3.0 \
                 (prometheus/prometheus#14941). Excluded per evaluation only when every difference is a reference 0 \
                 against a Sightline NaN",
        applies: |_| false,
        reference: Reference::Avoided,
    },
    Exclusion {
        name: "holt_winters-renamed",
        reason: "holt_winters was renamed double_exponential_smoothing in 3.0; compared by sending holt_winters to Prometheus \
                 and double_exponential_smoothing to Sightline, so nothing is excluded",
        applies: |_| false,
        reference: Reference::Avoided,
    },
    Exclusion {
        name: "histogram_fraction-classic",
        reason: "in 2.42 histogram_fraction evaluates native histograms only (classic bucket series yield nothing); \
                 3.x also evaluates classic `le` buckets",
        applies: |q| q.contains("histogram_fraction("),
        reference: Reference::Empty,
    },
    Exclusion {
        name: "functions-after-2.42",
        reason: "functions added after 2.42 are unknown to the reference (parse error there): sort_by_label(_desc), \
                 limitk, limit_ratio, mad_over_time, histogram_stddev/stdvar, info, ts_of_*_over_time, first_over_time",
        applies: |q| {
            [
                "sort_by_label",
                "limitk(",
                "limit_ratio(",
                "mad_over_time(",
                "histogram_stddev(",
                "histogram_stdvar(",
                "info(",
                "ts_of_",
                "first_over_time(",
            ]
            .iter()
            .any(|f| q.contains(f))
        },
        reference: Reference::Error,
    },
    Exclusion {
        name: "utf8-label-names",
        reason: "3.x accepts any UTF-8 label name (e.g. as label_replace's destination); 2.x rejects names outside \
                 [a-zA-Z_][a-zA-Z0-9_]*",
        applies: |q| q.contains("\"1bad\"") || q.contains("\"bad-name\""),
        reference: Reference::Error,
    },
    Exclusion {
        name: "regex-dot-newline",
        reason: "3.x regex `.` also matches a newline, 2.x's does not; the dataset has no label value with a newline, \
                 so no query needs excluding",
        applies: |_| false,
        reference: Reference::Avoided,
    },
];

/// The exclusion that applies to a case, if any.
pub fn exclusion(c: &Case) -> Option<&'static Exclusion> {
    EXCLUSIONS.iter().find(|e| (e.applies)(&c.prom))
}

const COUNTERS: &[&str] = &[
    "diff_http_requests_total",
    "diff_http_requests_total{code=\"500\",method=~\"G.*\"}",
    "diff_jobs_processed_total",
    "diff_request_duration_seconds_count",
];
const GAUGES: &[&str] = &[
    "diff_temperature_celsius",
    "diff_queue_depth",
    "diff_gappy_gauge",
    "diff_temperature_celsius{zone!=\"south\",job=~\"a.*|w.b\"}",
];
const RANGES: &[&str] = &["1m", "5m", "17m", "1h"];
const RATE: &str = "rate(diff_http_requests_total[5m])";
const TEMP: &str = "diff_temperature_celsius";
const BUCKET: &str = "diff_request_duration_seconds_bucket";

/// The whole generated query set.
pub fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    let mut q = |s: String| out.push(Case::same(s));

    // Counter range functions over every range.
    for f in ["rate", "irate", "increase"] {
        for c in COUNTERS {
            for r in RANGES {
                q(format!("{f}({c}[{r}])"));
            }
        }
    }
    for f in ["resets", "changes", "delta", "idelta", "deriv"] {
        for c in COUNTERS {
            q(format!("{f}({c}[17m])"));
        }
    }
    // Gauge range functions.
    for f in [
        "delta",
        "idelta",
        "deriv",
        "changes",
        "resets",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "last_over_time",
        "present_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "absent_over_time",
        "mad_over_time",
    ] {
        for g in GAUGES {
            for r in ["1m", "1h"] {
                q(format!("{f}({g}[{r}])"));
            }
        }
    }
    for phi in ["0", "0.3", "0.5", "0.99", "1", "-1", "2"] {
        for g in ["diff_temperature_celsius", "diff_gappy_gauge"] {
            q(format!("quantile_over_time({phi}, {g}[17m])"));
        }
    }
    for g in [
        "diff_temperature_celsius",
        "diff_gappy_gauge",
        "diff_http_requests_total",
    ] {
        q(format!("predict_linear({g}[17m], 600)"));
        q(format!("predict_linear({g}[5m], -300)"));
    }
    // holt_winters (2.x) is double_exponential_smoothing (3.x).
    for g in ["diff_temperature_celsius", "diff_gappy_gauge"] {
        for (sf, tf) in [("0.3", "0.6"), ("0.9", "0.1")] {
            for r in ["5m", "1h"] {
                out.push(Case {
                    prom: format!("holt_winters({g}[{r}], {sf}, {tf})"),
                    sightline: format!("double_exponential_smoothing({g}[{r}], {sf}, {tf})"),
                });
            }
        }
    }
    out.push(Case {
        prom: "holt_winters(diff_temperature_celsius[5m], 1, 0.5)".into(),
        sightline: "double_exponential_smoothing(diff_temperature_celsius[5m], 1, 0.5)".into(),
    });
    let mut q = |s: String| out.push(Case::same(s));

    // Instant functions.
    for f in [
        "abs",
        "ceil",
        "floor",
        "round",
        "sqrt",
        "exp",
        "ln",
        "log2",
        "log10",
        "sgn",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "sinh",
        "cosh",
        "tanh",
        "asinh",
        "acosh",
        "atanh",
        "deg",
        "rad",
        "timestamp",
        "-",
    ] {
        q(format!("{f}({TEMP})"));
        q(format!("{f}(diff_gappy_gauge / 100)"));
    }
    for e in [
        "round(diff_temperature_celsius, 0.5)",
        "round(diff_temperature_celsius, 3)",
        "round(diff_temperature_celsius, -2)",
        "clamp(diff_temperature_celsius, -5, 5)",
        "clamp(diff_temperature_celsius, 5, -5)",
        "clamp_min(diff_temperature_celsius, 0)",
        "clamp_max(diff_temperature_celsius, 0)",
        "exp(diff_queue_depth * 100)",
        "ln(diff_queue_depth)",
        "diff_queue_depth / 0",
        "-diff_queue_depth % 0",
    ] {
        q(e.to_string());
    }
    for f in [
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "hour",
        "minute",
        "month",
        "year",
    ] {
        q(format!("{f}()"));
        q(format!("{f}(timestamp(diff_queue_depth))"));
        q(format!("{f}(vector(1709251199))"));
    }

    // Aggregations with and without grouping.
    for agg in [
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    ] {
        for grouping in [
            "",
            " by (job)",
            " by (job, instance)",
            " without (instance)",
            " by (nonexistent)",
        ] {
            for inner in [RATE, TEMP, "diff_gappy_gauge"] {
                q(format!("{agg}{grouping} ({inner})"));
            }
        }
    }
    for e in [
        "topk(2, diff_temperature_celsius)",
        "topk by (job) (1, diff_temperature_celsius)",
        "bottomk(3, rate(diff_http_requests_total[5m]))",
        "bottomk by (job, method) (1, rate(diff_http_requests_total[5m]))",
        "topk(0, diff_temperature_celsius)",
        "topk(100, diff_gappy_gauge)",
        "quantile(0.5, diff_temperature_celsius)",
        "quantile by (job) (0.9, rate(diff_http_requests_total[5m]))",
        "quantile(0, diff_temperature_celsius)",
        "quantile(2, diff_temperature_celsius)",
        "quantile(-1, diff_temperature_celsius)",
        "count_values(\"depth\", diff_queue_depth)",
        "count_values by (job) (\"depth\", diff_queue_depth)",
        "count_values(\"job\", diff_queue_depth)",
        "count_values(\"v\", round(diff_temperature_celsius))",
        "sum(rate(diff_http_requests_total[5m])) by (job)",
        "count(count by (job) (diff_temperature_celsius))",
        "max by (job) (diff_temperature_celsius) - min by (job) (diff_temperature_celsius)",
        "avg without (zone) (diff_temperature_celsius) * 2",
        "sum by (code) (increase(diff_http_requests_total[1h]))",
        "stddev by (method) (rate(diff_http_requests_total[1m]))",
    ] {
        q(e.to_string());
    }

    // Binary operators: scalar-scalar, vector-scalar, vector-vector with matching.
    for e in [
        "1 + 2 * 3",
        "2 ^ 3 ^ 2",
        "5 % 3",
        "1 / 0",
        "-1 / 0",
        "0 / 0",
        "1 > bool 2",
        "(1 == bool 1) + 1",
        "-(-3)",
        "1 atan2 2",
    ] {
        q(e.to_string());
    }
    for op in [
        "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "> bool",
        "== bool",
    ] {
        q(format!("{TEMP} {op} 3"));
        q(format!("3 {op} diff_queue_depth"));
    }
    for e in [
        "diff_request_duration_seconds_sum / diff_request_duration_seconds_count",
        "rate(diff_request_duration_seconds_sum[5m]) / rate(diff_request_duration_seconds_count[5m])",
        "diff_temperature_celsius - on(job, instance) group_left diff_queue_depth",
        "diff_queue_depth * on(job, instance) group_right diff_temperature_celsius",
        "diff_temperature_celsius / ignoring(zone) group_left diff_queue_depth",
        "diff_queue_depth * on(job) group_left(version, path) diff_build_info",
        "sum by (job, instance) (rate(diff_http_requests_total[5m])) / on(job) group_left sum by (job) (rate(diff_http_requests_total[5m]))",
        "rate(diff_http_requests_total[5m]) / on(job, instance, method) group_left sum by (job, instance, method) (rate(diff_http_requests_total[5m]))",
        "diff_temperature_celsius > on(job, instance) group_left diff_queue_depth",
        "diff_temperature_celsius > bool on(job, instance) group_left diff_queue_depth",
        "diff_temperature_celsius + diff_temperature_celsius",
        "diff_temperature_celsius - diff_temperature_celsius offset 5m",
        "diff_temperature_celsius + ignoring(zone) diff_temperature_celsius",
        "diff_temperature_celsius + on(job) group_left diff_queue_depth",
        "diff_http_requests_total + diff_temperature_celsius",
        "diff_queue_depth == diff_queue_depth offset 1m",
        "diff_queue_depth != bool diff_queue_depth offset 1m",
        "diff_temperature_celsius atan2 on(job, instance) group_left diff_queue_depth",
        "diff_temperature_celsius ^ on(job, instance) group_left diff_queue_depth",
    ] {
        q(e.to_string());
    }
    // Set operators.
    for e in [
        "diff_temperature_celsius and diff_temperature_celsius > 0",
        "diff_temperature_celsius or diff_queue_depth",
        "diff_temperature_celsius unless on(job, instance) diff_queue_depth > 4",
        "diff_gappy_gauge or on(instance) vector(0)",
        "diff_temperature_celsius and on(job, instance) diff_queue_depth > 3",
        "(diff_temperature_celsius > 5) or (diff_temperature_celsius < -5)",
        "diff_gappy_gauge unless diff_gappy_gauge offset 10m",
        "rate(diff_http_requests_total[5m]) and ignoring(code, method) diff_queue_depth",
    ] {
        q(e.to_string());
    }

    // Classic histograms.
    for phi in ["0", "0.25", "0.5", "0.9", "0.99", "1", "-0.1", "1.1"] {
        q(format!(
            "histogram_quantile({phi}, sum by (le) (rate({BUCKET}[5m])))"
        ));
    }
    for e in [
        "histogram_quantile(0.9, sum by (job, le) (rate(diff_request_duration_seconds_bucket[17m])))",
        "histogram_quantile(0.5, diff_request_duration_seconds_bucket)",
        "histogram_quantile(0.9, rate(diff_request_duration_seconds_bucket[1m]))",
        "histogram_quantile(0.5, sum without (instance) (rate(diff_request_duration_seconds_bucket[1h])))",
        "histogram_quantile(0.9, sum by (job) (rate(diff_request_duration_seconds_bucket[5m])))",
        "histogram_quantile(0.75, increase(diff_request_duration_seconds_bucket{le=~\"0.1|1|\\\\+Inf\"}[5m]))",
        "sum by (le) (rate(diff_request_duration_seconds_bucket[5m]))",
        "histogram_count(rate(diff_request_duration_seconds_bucket[5m]))",
        "histogram_sum(diff_request_duration_seconds_bucket)",
        "histogram_fraction(0, 0.1, rate(diff_request_duration_seconds_bucket[5m]))",
        "histogram_stddev(diff_request_duration_seconds_bucket)",
    ] {
        q(e.to_string());
    }

    // Label manipulation.
    for e in [
        "label_replace(diff_temperature_celsius, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
        "label_replace(diff_temperature_celsius, \"instance\", \"\", \"instance\", \".*\")",
        "label_replace(diff_temperature_celsius, \"foo\", \"$1-$2\", \"job\", \"(a)(p)i\")",
        "label_replace(diff_temperature_celsius, \"foo\", \"x\", \"job\", \"nomatch\")",
        "label_replace(rate(diff_http_requests_total[5m]), \"class\", \"${1}xx\", \"code\", \"(.)..\")",
        "label_join(diff_temperature_celsius, \"foo\", \"-\", \"job\", \"instance\", \"zone\")",
        "label_join(diff_temperature_celsius, \"job\", \"\", \"nonexistent\")",
        "label_replace(diff_temperature_celsius, \"1bad\", \"x\", \"job\", \".*\")",
        "label_replace(diff_temperature_celsius, \"job\", \"x\", \"job\", \"(\")",
        "sort_by_label(diff_temperature_celsius, \"zone\")",
        "limitk(2, diff_temperature_celsius)",
    ] {
        q(e.to_string());
    }
    // Sorting.
    for e in [
        "sort(diff_temperature_celsius)",
        "sort_desc(diff_temperature_celsius)",
        "sort(rate(diff_http_requests_total[5m]))",
        "sort_desc(sum by (job) (diff_temperature_celsius))",
    ] {
        q(e.to_string());
    }
    // absent and friends.
    for e in [
        "absent(nonexistent_metric)",
        "absent(diff_temperature_celsius)",
        "absent(diff_temperature_celsius{job=\"nope\", zone=\"x\"})",
        "absent(nonexistent{a=\"b\", c=~\"d\"})",
        "absent(sum(nonexistent))",
        "absent_over_time(nonexistent{job=\"x\"}[5m])",
        "absent(diff_gappy_gauge{instance=\"vanishes\"})",
        "absent_over_time(diff_gappy_gauge{instance=\"vanishes\"}[10m])",
    ] {
        q(e.to_string());
    }
    // Subqueries.
    for e in [
        "max_over_time(rate(diff_http_requests_total[1m])[30m:1m])",
        "avg_over_time(diff_temperature_celsius[1h:5m])",
        "min_over_time(diff_temperature_celsius[10m:])",
        "deriv(sum(diff_temperature_celsius)[30m:2m])",
        "rate(diff_http_requests_total[5m:30s])",
        "max_over_time(max_over_time(diff_gappy_gauge[5m])[20m:1m])",
        "sum_over_time(diff_temperature_celsius[17m:45s] offset 5m)",
        "quantile_over_time(0.5, rate(diff_http_requests_total[5m])[1h:5m])",
        "last_over_time(diff_temperature_celsius[10m:1m] @ 1700003601)",
        "count_over_time(diff_gappy_gauge[1h:15s])",
    ] {
        q(e.to_string());
    }
    // offset and @.
    for e in [
        "diff_temperature_celsius offset 5m",
        "diff_temperature_celsius offset -5m",
        "rate(diff_http_requests_total[5m] offset 10m)",
        "sum(diff_temperature_celsius offset 1h)",
        "diff_temperature_celsius @ 1700003601",
        "rate(diff_http_requests_total[5m] @ 1700005001)",
        "diff_temperature_celsius @ start()",
        "diff_temperature_celsius @ end()",
        "rate(diff_http_requests_total[5m] @ end() offset 5m)",
        "sum_over_time(diff_temperature_celsius[10m] @ 1700005001 offset 5m)",
        "timestamp(diff_temperature_celsius @ 1700003601)",
        "timestamp(diff_temperature_celsius offset 1m)",
        "diff_gappy_gauge offset 30m",
    ] {
        q(e.to_string());
    }
    // vector, scalar, time.
    for e in [
        "vector(1)",
        "vector(time())",
        "scalar(sum(diff_queue_depth))",
        "scalar(diff_queue_depth)",
        "time()",
        "time() - timestamp(diff_gappy_gauge)",
        "diff_temperature_celsius * scalar(sum(diff_queue_depth))",
        "sum(diff_temperature_celsius) / scalar(count(diff_temperature_celsius))",
        "diff_queue_depth + 0",
        "-diff_queue_depth",
        "diff_queue_depth[1m]",
        "diff_temperature_celsius[5m] offset 10m",
        "\"hello\"",
        "42",
    ] {
        q(e.to_string());
    }
    // Errors: both must refuse, with the same error type.
    for e in [
        "sum(",
        "rate(diff_temperature_celsius)",
        "diff_temperature_celsius[5m] + 1",
        "foo{",
        "rate(diff_temperature_celsius[5m])[1h]",
        "topk(diff_queue_depth, diff_temperature_celsius)",
        "unknown_func(diff_queue_depth)",
        "1 + on(job) 2",
        "diff_temperature_celsius{}",
        "{job=~\".*\"}",
        "quantile_over_time(0.5, diff_temperature_celsius)",
    ] {
        q(e.to_string());
    }
    // Selectors and matchers.
    for e in [
        "{__name__=~\"diff_(temperature|queue).*\", job!~\"w.*\"}",
        "{__name__=~\"diff_.*_total\"}",
        "diff_http_requests_total{method=~\"get\"}",
        "diff_temperature_celsius{zone=~\"\"}",
        "diff_gappy_gauge{zone=\"\"}",
        "diff_build_info{path=~\".*\\\"main\\\".*\"}",
        "diff_build_info{path=\"C:\\\\srv \\\"main\\\" é\"}",
        "diff_http_requests_total{code!=\"200\", method!~\"P.*\", instance=~\"b.*\"}",
        "sum by (__name__) ({__name__=~\"diff_(queue|gappy).*\"})",
        "count by (__name__) ({__name__=~\"diff_request_duration_seconds.*\"})",
        "label_replace(diff_queue_depth, \"__name__\", \"renamed_$1\", \"job\", \"(.*)\")",
    ] {
        q(e.to_string());
    }
    // Literals and precedence.
    for e in [
        "0x1f",
        "1e3",
        ".5",
        "Inf",
        "-Inf",
        "NaN",
        "-2 ^ 2",
        "2 * 3 % 4 + 1",
        "(2 + 3) * -1",
        "1 - - 1",
        "+5",
        "1 < bool 2 == bool 1",
        "2 ^ -1",
    ] {
        q(e.to_string());
    }
    // Compositions.
    for e in [
        "max_over_time(deriv(rate(diff_http_requests_total[5m])[605s:1m])[30m:5m] offset 5m)",
        "predict_linear(sum(diff_temperature_celsius)[30m:1m], 3600)",
        "rate(diff_http_requests_total[5m]) > bool 1",
        "absent_over_time(diff_gappy_gauge{instance=\"holes\"}[10m] offset 5m)",
        "sum(diff_temperature_celsius) > bool scalar(avg(diff_temperature_celsius))",
        "sum(nonexistent)",
        "count(nonexistent)",
        "avg(nonexistent) or vector(0)",
        "round(rate(diff_http_requests_total[5m]), 0.001)",
        "changes(diff_gappy_gauge[1h])",
        "deriv(diff_gappy_gauge[17m])",
        "idelta(diff_queue_depth[1m])",
        "stddev_over_time(diff_queue_depth[17m])",
        "last_over_time(diff_gappy_gauge[30m])",
        "irate(diff_jobs_processed_total[5m])",
        "rate(diff_temperature_celsius[5m])",
        "histogram_quantile(0.5, rate(diff_request_duration_seconds_bucket{le!=\"+Inf\"}[5m]))",
        "sort_desc(topk(3, rate(diff_http_requests_total[5m])))",
        "bottomk(1, -diff_temperature_celsius)",
        "vector(1) + on() group_left diff_queue_depth",
        "sum(rate(diff_http_requests_total[5m] offset -10m))",
        "quantile by (job) (NaN, diff_temperature_celsius)",
        "topk by (job) (2, sum by (job, instance, code) (rate(diff_http_requests_total[5m])))",
        "count_values(\"code\", rate(diff_http_requests_total[5m]) > 1000)",
        "sum without (method, code) (rate(diff_http_requests_total[5m])) / ignoring(zone) group_right avg by (job, instance, zone) (diff_temperature_celsius)",
        "diff_request_duration_seconds_bucket / ignoring(le) group_left diff_request_duration_seconds_count",
        "max by (job) (rate(diff_http_requests_total[5m])) == bool on(job) group_left max by (job) (rate(diff_http_requests_total[5m]))",
        "timestamp(rate(diff_http_requests_total[5m]))",
        "day_of_week(diff_queue_depth @ 1700003601)",
        "diff_queue_depth @ end() - diff_queue_depth @ start()",
        "sum_over_time((diff_queue_depth > 5)[30m:1m])",
        "group by (job) (diff_queue_depth)",
        "stdvar without () (diff_temperature_celsius)",
    ] {
        q(e.to_string());
    }
    // Edge cases: extreme values, NaN ordering, regex dialects, Go template expansion.
    for e in [
        "diff_extreme",
        "diff_extreme * 10",
        "-diff_extreme",
        "diff_extreme / 1e300",
        "sum(diff_extreme)",
        "avg(diff_extreme)",
        "stddev(diff_extreme{kind!~\"huge|big|long\"})",
        "count_values(\"v\", diff_extreme)",
        "count_values(\"v\", diff_temperature_celsius / 1e6)",
        "0 * -1",
        "diff_extreme{kind=\"negzero\"} * -1",
        "sort(ln(diff_temperature_celsius))",
        "sort_desc(ln(diff_temperature_celsius))",
        "topk(3, ln(diff_temperature_celsius))",
        "bottomk(3, ln(diff_temperature_celsius))",
        "quantile(0.5, ln(diff_temperature_celsius))",
        "max(ln(diff_temperature_celsius))",
        "min by (zone) (ln(diff_temperature_celsius))",
        "avg(ln(diff_temperature_celsius))",
        "max_over_time(ln(diff_temperature_celsius)[10m:1m])",
        "diff_temperature_celsius{job=~\"(?i)API\"}",
        "diff_http_requests_total{code=~\"\\\\d00\"}",
        "diff_queue_depth{instance=~\"[[:alpha:]]:9100\"}",
        "diff_queue_depth{instance=~\"a|\"}",
        "diff_queue_depth{instance!~\"\"}",
        "label_replace(diff_temperature_celsius, \"foo\", \"matched\", \"instance\", \"a\")",
        "label_replace(diff_temperature_celsius, \"foo\", \"$host\", \"instance\", \"(?P<host>.*):.*\")",
        "label_replace(diff_temperature_celsius, \"foo\", \"$1x\", \"instance\", \"(.*):.*\")",
        "label_replace(diff_temperature_celsius, \"foo\", \"$$1 ${1}\", \"instance\", \"(.*):.*\")",
        "label_replace(diff_temperature_celsius, \"foo\", \"$2\", \"instance\", \"(.*):.*\")",
        "label_join(diff_build_info, \"all\", \", \", \"path\", \"version\", \"job\")",
    ] {
        q(e.to_string());
    }
    // Duplicates, empty inputs, long ranges, syntax and type errors.
    for e in [
        "ceil({__name__=~\"diff_request_duration_seconds_(sum|count)\"})",
        "label_replace(diff_temperature_celsius, \"zone\", \"\", \"zone\", \".*\")",
        "sum by (zone) (label_replace(diff_temperature_celsius, \"zone\", \"x\", \"zone\", \"n.*\"))",
        "histogram_quantile(0.5, nonexistent)",
        "label_join(nonexistent, \"a\", \",\", \"b\")",
        "sort(nonexistent)",
        "scalar(nonexistent)",
        "vector(scalar(nonexistent))",
        "timestamp(vector(time()))",
        "max_over_time(vector(time())[5m:1m])",
        "predict_linear(diff_temperature_celsius[17m], 0)",
        "quantile_over_time(NaN, diff_temperature_celsius[5m])",
        "holt_winters(diff_temperature_celsius[5m], 0.5, 1.5)",
        "diff_build_info{path=~\".*é\"}",
        "diff_build_info{path=~\".*\\\\\\\\srv.*\"}",
        "rate()",
        "round(diff_queue_depth, 1, 2)",
        "label_replace(diff_queue_depth, \"a\", \"b\", \"c\")",
        "sum(diff_queue_depth) offset 5m",
        "-diff_queue_depth[1m]",
        "diff_queue_depth @ 1700003601.5",
        "diff_queue_depth offset 1w",
        "rate(diff_http_requests_total[3h])",
        "increase(diff_request_duration_seconds_count[1d])",
        "resets(diff_request_duration_seconds_count[3h])",
        "absent(nonexistent{job=\"x\"} offset 1h)",
        "count_over_time(diff_gappy_gauge[3h:15s])",
        "sum by (job) (rate(diff_http_requests_total[5m])) and on() vector(1)",
        "diff_queue_depth or on() vector(-1)",
        "diff_gappy_gauge + on(job) group_left diff_gappy_gauge{instance=\"holes\"}",
        "diff_boundary[4h]",
        "diff_boundary[1h]",
        "count_over_time(diff_boundary[4h])",
        "timestamp(diff_boundary)",
        "timestamp(last_over_time(diff_boundary[4h]))",
    ] {
        q(e.to_string());
    }
    // holt_winters (2.x) is double_exponential_smoothing (3.x) wherever it occurs.
    for c in &mut out {
        c.sightline = c
            .prom
            .replace("holt_winters(", "double_exponential_smoothing(");
    }
    out
}

/// `n` random but deterministic compositions of selectors, range functions,
/// instant functions, aggregations, scalar arithmetic, offsets and one level of
/// subquery, to reach combinations the templates above do not spell out.
/// (`topk`/`bottomk` are left out: inside an expression their unspecified choice
/// among equal values would change the outer result.)
pub fn random_cases(n: usize, seed: u64) -> Vec<Case> {
    let mut rng = super::dataset::Rng::new(seed);
    (0..n)
        .map(|_| Case::same(random_vector(&mut rng, 3, true)))
        .collect()
}

fn pick<'a>(rng: &mut super::dataset::Rng, items: &[&'a str]) -> &'a str {
    items[(rng.next_u64() % items.len() as u64) as usize]
}

const R_SELECTORS: &[&str] = &[
    "diff_temperature_celsius",
    "diff_queue_depth",
    "diff_gappy_gauge",
    "diff_http_requests_total",
    "diff_jobs_processed_total",
    "diff_request_duration_seconds_bucket{le=\"0.5\"}",
    "diff_temperature_celsius{zone=\"north\"}",
];
const R_RANGE_FNS: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "changes",
    "resets",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "present_over_time",
];
const R_RANGES: &[&str] = &["30s", "1m", "2m", "5m", "10m", "17m", "1h"];
const R_OFFSETS: &[&str] = &["", "", "", " offset 5m", " offset -2m", " offset 1h"];
const R_FNS: &[&str] = &[
    "abs",
    "ceil",
    "floor",
    "round",
    "sqrt",
    "ln",
    "exp",
    "sgn",
    "-",
    "timestamp",
    "sin",
    "atanh",
];
const R_AGGS: &[&str] = &[
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "group",
];
const R_GROUPS: &[&str] = &[
    "",
    " by (job)",
    " by (instance)",
    " without (instance)",
    " by (job, zone)",
];
const R_OPS: &[&str] = &["+", "-", "*", "/", "%", "^", ">", "<", "== bool", ">= bool"];
const R_SCALARS: &[&str] = &["0", "1", "-1", "0.5", "3", "100", "NaN"];

fn random_vector(rng: &mut super::dataset::Rng, depth: u32, subquery_allowed: bool) -> String {
    let choice = if depth == 0 {
        rng.next_u64() % 2
    } else {
        rng.next_u64() % 7
    };
    match choice {
        0 => format!("{}{}", pick(rng, R_SELECTORS), pick(rng, R_OFFSETS)),
        1 => {
            let f = pick(rng, R_RANGE_FNS);
            // rate/increase only over counters (see the counter-start-extrapolation
            // exclusion: over a gauge restarting after a gap they differ by design).
            let sel = if f == "rate" || f == "increase" {
                pick(rng, &R_SELECTORS[3..6])
            } else {
                pick(rng, R_SELECTORS)
            };
            format!(
                "{f}({sel}[{}]{})",
                pick(rng, R_RANGES),
                pick(rng, R_OFFSETS)
            )
        }
        2 => {
            let inner = random_vector(rng, depth - 1, subquery_allowed);
            match pick(rng, R_FNS) {
                "round" => format!("round({inner}, 0.1)"),
                "-" => format!("-({inner})"),
                f => format!("{f}({inner})"),
            }
        }
        3 => format!(
            "{}{} ({})",
            pick(rng, R_AGGS),
            pick(rng, R_GROUPS),
            random_vector(rng, depth - 1, subquery_allowed)
        ),
        4 => {
            let inner = random_vector(rng, depth - 1, subquery_allowed);
            let (op, k) = (pick(rng, R_OPS), pick(rng, R_SCALARS));
            if rng.unit() < 0.5 {
                format!("({inner}) {op} {k}")
            } else {
                format!("{k} {op} ({inner})")
            }
        }
        5 if subquery_allowed => {
            // The outer evaluation times are ≡ 1 (mod 5) s; steps are multiples of
            // 5 s, so no subquery step lands on the (left-open) boundary.
            let inner = random_vector(rng, depth - 1, false);
            let f = pick(
                rng,
                &[
                    "max_over_time",
                    "avg_over_time",
                    "count_over_time",
                    "deriv",
                    "last_over_time",
                ],
            );
            let (r, s) = (
                pick(rng, &["10m", "30m", "1h"]),
                pick(rng, &["", "1m", "45s", "5m"]),
            );
            format!("{f}(({inner})[{r}:{s}])")
        }
        _ => {
            let q = pick(rng, &["0.1", "0.5", "0.9"]);
            format!(
                "quantile{} ({q}, {})",
                pick(rng, R_GROUPS),
                random_vector(rng, depth - 1, subquery_allowed)
            )
        }
    }
}
