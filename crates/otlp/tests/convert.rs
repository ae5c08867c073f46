//! Conversion of each OTLP metric type, with expected series worked out by hand
//! from the compatibility spec.

mod common;

use common::*;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile, AggregationTemporality, Exemplar as OtlpExemplar,
    ExponentialHistogram, ExponentialHistogramDataPoint, Histogram, HistogramDataPoint, Summary,
    SummaryDataPoint,
};
use sightline_model::{is_stale_nan, Labels, MetricType, Sample};
use sightline_otlp::convert;

const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;
const DELTA: i32 = AggregationTemporality::Delta as i32;

#[test]
fn gauge_with_resource_scope_and_target_info() {
    let req = request(vec![metric(
        "system.memory.utilization",
        "1",
        gauge(vec![point(vec![s("state", "used")], 0.5)]),
    )]);
    let (b, rej) = convert(req);
    assert!(rej.is_empty());
    assert_eq!(b.series.len(), 2);
    let g = find(
        &b,
        &with_base(&[
            ("__name__", "system_memory_utilization_ratio"),
            ("state", "used"),
        ]),
    );
    assert_eq!(g.samples, vec![Sample::new(T_MS, 0.5)]);
    let ti = find(
        &b,
        &Labels::from_pairs([
            ("__name__", "target_info"),
            ("job", "shop/api"),
            ("instance", "host-1:8080"),
            ("host_name", "h1"),
        ]),
    );
    assert_eq!(ti.samples, vec![Sample::new(T_MS, 1.0)]);
    assert_eq!(b.metadata.len(), 1);
    assert_eq!(
        b.metadata[0].metric_family_name,
        "system_memory_utilization_ratio"
    );
    assert_eq!(b.metadata[0].metric_type, MetricType::Gauge);
    assert_eq!(b.metadata[0].unit, "ratio");
    assert_eq!(b.metadata[0].help, "system.memory.utilization help");
}

#[test]
fn monotonic_cumulative_sum_is_a_counter_with_exemplar() {
    let mut p = point(vec![s("http.method", "GET")], 0.0);
    p.value = Some(number_data_point::Value::AsInt(42));
    p.exemplars.push(OtlpExemplar {
        filtered_attributes: vec![s("user", "u1")],
        time_unix_nano: T_NS - 1_000_000,
        span_id: vec![0xab, 0xcd, 0, 0, 0, 0, 0, 1],
        trace_id: vec![
            0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f,
            0xc6, 0x0c,
        ],
        value: Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(1.0)),
    });
    let (b, rej) = convert(request(vec![metric(
        "http.server.requests",
        "{request}",
        sum(vec![p], CUMULATIVE, true),
    )]));
    assert!(rej.is_empty());
    let c = find(
        &b,
        &with_base(&[
            ("__name__", "http_server_requests_total"),
            ("http_method", "GET"),
        ]),
    );
    assert_eq!(c.samples, vec![Sample::new(T_MS, 42.0)]);
    assert_eq!(c.exemplars.len(), 1);
    assert_eq!(
        c.exemplars[0].labels,
        Labels::from_pairs([
            ("trace_id", "5b8efff798038103d269b633813fc60c"),
            ("span_id", "abcd000000000001"),
            ("user", "u1"),
        ])
    );
    assert_eq!(c.exemplars[0].t, T_MS - 1);
    assert_eq!(b.metadata[0].metric_type, MetricType::Counter);
}

#[test]
fn non_monotonic_sum_is_a_gauge_and_delta_is_rejected() {
    let (b, rej) = convert(request(vec![
        metric(
            "queue.size",
            "{item}",
            sum(vec![point(vec![], 7.0)], CUMULATIVE, false),
        ),
        metric(
            "bytes.sent",
            "By",
            sum(vec![point(vec![], 1.0), point(vec![], 2.0)], DELTA, true),
        ),
    ]));
    let q = find(&b, &with_base(&[("__name__", "queue_size")]));
    assert_eq!(q.samples, vec![Sample::new(T_MS, 7.0)]);
    assert_eq!(b.metadata[0].metric_type, MetricType::Gauge);
    assert_eq!(rej.points, 2);
    assert!(
        rej.message().contains("\"bytes.sent\""),
        "{}",
        rej.message()
    );
    assert!(rej.message().contains("delta"), "{}", rej.message());
    assert!(b
        .series
        .iter()
        .all(|s| !s.labels.metric_name().unwrap().starts_with("bytes")));
}

fn hist_point(bounds: Vec<f64>, counts: Vec<u64>, count: u64, sum: f64) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: vec![s("route", "/a")],
        start_time_unix_nano: T_NS - 1,
        time_unix_nano: T_NS,
        count,
        sum: Some(sum),
        bucket_counts: counts,
        explicit_bounds: bounds,
        exemplars: vec![],
        flags: 0,
        min: None,
        max: None,
    }
}

#[test]
fn histogram_becomes_cumulative_buckets_sum_and_count() {
    let mut p = hist_point(vec![5.0, 10.0], vec![1, 2, 3], 6, 42.5);
    p.exemplars.push(OtlpExemplar {
        filtered_attributes: vec![],
        time_unix_nano: T_NS,
        span_id: vec![],
        trace_id: vec![1; 16],
        value: Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(7.0)),
    });
    let (b, rej) = convert(request(vec![metric(
        "http.server.duration",
        "ms",
        Data::Histogram(Histogram {
            data_points: vec![p],
            aggregation_temporality: CUMULATIVE,
        }),
    )]));
    assert!(rej.is_empty());
    let name = "http_server_duration_milliseconds";
    let bucket = |le: &str| {
        with_base(&[
            ("__name__", &format!("{name}_bucket")),
            ("route", "/a"),
            ("le", le),
        ])
    };
    for (le, v) in [("5", 1.0), ("10", 3.0), ("+Inf", 6.0)] {
        assert_eq!(
            find(&b, &bucket(le)).samples,
            vec![Sample::new(T_MS, v)],
            "le={le}"
        );
    }
    assert_eq!(
        find(&b, &bucket("10")).exemplars.len(),
        1,
        "7 falls in le=10"
    );
    assert!(find(&b, &bucket("5")).exemplars.is_empty());
    let sum = find(
        &b,
        &with_base(&[("__name__", &format!("{name}_sum")), ("route", "/a")]),
    );
    assert_eq!(sum.samples, vec![Sample::new(T_MS, 42.5)]);
    let count = find(
        &b,
        &with_base(&[("__name__", &format!("{name}_count")), ("route", "/a")]),
    );
    assert_eq!(count.samples, vec![Sample::new(T_MS, 6.0)]);
    // 3 buckets + sum + count + target_info
    assert_eq!(b.series.len(), 6);
    assert_eq!(b.metadata[0].metric_family_name, name);
    assert_eq!(b.metadata[0].metric_type, MetricType::Histogram);
}

#[test]
fn histogram_with_wrong_bucket_count_is_rejected() {
    let (b, rej) = convert(request(vec![metric(
        "h",
        "",
        Data::Histogram(Histogram {
            data_points: vec![hist_point(vec![1.0], vec![1, 2, 3], 6, 1.0)],
            aggregation_temporality: CUMULATIVE,
        }),
    )]));
    assert_eq!(rej.points, 1);
    assert!(rej.message().contains("3 bucket counts for 1 bounds"));
    assert!(b.series.is_empty(), "no points, so no target_info either");
}

#[test]
fn summary_becomes_quantiles_sum_and_count() {
    let (b, rej) = convert(request(vec![metric(
        "rpc.latency",
        "s",
        Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                attributes: vec![],
                start_time_unix_nano: 0,
                time_unix_nano: T_NS,
                count: 10,
                sum: 100.0,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.99,
                        value: 9.0,
                    },
                    ValueAtQuantile {
                        quantile: 0.5,
                        value: 5.0,
                    },
                ],
                flags: 0,
            }],
        }),
    )]));
    assert!(rej.is_empty());
    let n = "rpc_latency_seconds";
    for (q, v) in [("0.5", 5.0), ("0.99", 9.0)] {
        let s = find(&b, &with_base(&[("__name__", n), ("quantile", q)]));
        assert_eq!(s.samples, vec![Sample::new(T_MS, v)]);
    }
    let sum = find(&b, &with_base(&[("__name__", "rpc_latency_seconds_sum")]));
    assert_eq!(sum.samples[0].v, 100.0);
    let count = find(&b, &with_base(&[("__name__", "rpc_latency_seconds_count")]));
    assert_eq!(count.samples[0].v, 10.0);
    assert_eq!(b.metadata[0].metric_type, MetricType::Summary);
}

#[test]
fn exponential_histogram_becomes_classic_buckets_at_its_boundaries() {
    // scale 0: base 2. positive (1,2]:2, (2,4]:3; zero bucket:1; negative [-2,-1):1.
    let p = ExponentialHistogramDataPoint {
        attributes: vec![],
        start_time_unix_nano: 0,
        time_unix_nano: T_NS,
        count: 7,
        sum: Some(9.0),
        scale: 0,
        zero_count: 1,
        positive: Some(Buckets {
            offset: 0,
            bucket_counts: vec![2, 3],
        }),
        negative: Some(Buckets {
            offset: 0,
            bucket_counts: vec![1],
        }),
        flags: 0,
        exemplars: vec![],
        min: None,
        max: None,
        zero_threshold: 0.0,
    };
    let (b, rej) = convert(request(vec![metric(
        "latency",
        "s",
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![p],
            aggregation_temporality: CUMULATIVE,
        }),
    )]));
    assert!(rej.is_empty(), "{}", rej.message());
    let bucket = |le: &str| with_base(&[("__name__", "latency_seconds_bucket"), ("le", le)]);
    for (le, v) in [
        ("-1", 1.0),
        ("0", 2.0),
        ("2", 4.0),
        ("4", 7.0),
        ("+Inf", 7.0),
    ] {
        assert_eq!(
            find(&b, &bucket(le)).samples,
            vec![Sample::new(T_MS, v)],
            "le={le}"
        );
    }
    let count = find(&b, &with_base(&[("__name__", "latency_seconds_count")]));
    assert_eq!(count.samples[0].v, 7.0);
}

#[test]
fn exponential_histogram_at_scale_one_uses_sqrt2_boundaries() {
    let p = ExponentialHistogramDataPoint {
        time_unix_nano: T_NS,
        count: 3,
        scale: 1,
        positive: Some(Buckets {
            offset: 1,
            bucket_counts: vec![1, 2],
        }),
        ..Default::default()
    };
    let buckets = sightline_otlp::convert::exp_buckets(&p).unwrap();
    // index 1 holds (√2, 2], index 2 holds (2, 2√2]; zero bucket le=0 comes first.
    assert_eq!(buckets.len(), 4);
    assert_eq!(buckets[0], (0.0, 0.0));
    assert_eq!(buckets[1], (2.0, 1.0));
    assert!((buckets[2].0 - 2.0 * 2f64.sqrt()).abs() < 1e-12);
    assert_eq!(buckets[2].1, 3.0);
    assert_eq!(buckets[3], (f64::INFINITY, 3.0));
}

#[test]
fn no_recorded_value_becomes_a_staleness_marker() {
    let mut p = point(vec![], 3.0);
    p.flags = 1;
    let (b, _) = convert(request(vec![metric("g", "", gauge(vec![p]))]));
    let g = find(&b, &with_base(&[("__name__", "g")]));
    assert!(is_stale_nan(g.samples[0].v));
}

#[test]
fn attributes_are_sanitised_and_collisions_joined() {
    let p = point(vec![s("a.b", "x"), s("a-b", "y"), s("2xx", "z")], 1.0);
    let (b, _) = convert(request(vec![metric("g", "", gauge(vec![p]))]));
    // "a-b" < "a.b" in byte order, so its value comes first.
    find(
        &b,
        &with_base(&[("__name__", "g"), ("a_b", "y;x"), ("key_2xx", "z")]),
    );
}

#[test]
fn points_without_timestamp_are_rejected() {
    let mut p = point(vec![], 1.0);
    p.time_unix_nano = 0;
    let (b, rej) = convert(request(vec![metric("g", "", gauge(vec![p]))]));
    assert_eq!(rej.points, 1);
    assert!(rej.message().contains("without time_unix_nano"));
    assert!(b.series.is_empty());
}

#[test]
fn resource_without_namespace_or_extra_attributes() {
    let mut req = request(vec![metric("g", "", gauge(vec![point(vec![], 1.0)]))]);
    req.resource_metrics[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes = vec![s("service.name", "api")];
    req.resource_metrics[0].scope_metrics[0].scope = None;
    let (b, _) = convert(req);
    assert_eq!(b.series.len(), 1, "no target_info without other attributes");
    assert_eq!(
        b.series[0].labels,
        Labels::from_pairs([("__name__", "g"), ("job", "api")])
    );
}

#[test]
fn points_of_one_series_are_merged_in_time_order() {
    let mut late = point(vec![], 2.0);
    late.time_unix_nano = T_NS + 1_000_000_000;
    let early = point(vec![], 1.0);
    let (b, _) = convert(request(vec![metric("g", "", gauge(vec![late, early]))]));
    let g = find(&b, &with_base(&[("__name__", "g")]));
    assert_eq!(
        g.samples,
        vec![Sample::new(T_MS, 1.0), Sample::new(T_MS + 1000, 2.0)]
    );
}

#[test]
fn histogram_with_unsorted_bounds_is_rejected() {
    let (_, rej) = convert(request(vec![metric(
        "h",
        "",
        Data::Histogram(Histogram {
            data_points: vec![hist_point(vec![2.0, 1.0], vec![1, 2, 3], 6, 1.0)],
            aggregation_temporality: CUMULATIVE,
        }),
    )]));
    assert_eq!(rej.points, 1);
    assert!(rej.message().contains("not strictly increasing"));
}
