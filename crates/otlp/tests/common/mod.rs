//! Shared test helpers: a recording sink and OTLP request builders.
#![allow(dead_code)]

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sightline_model::WriteBatch;

/// 2023-11-14T22:13:20.123456789Z in ns; 1700000000123 in ms.
pub const T_NS: u64 = 1_700_000_000_123_456_789;
pub const T_MS: i64 = 1_700_000_000_123;

#[allow(unused_imports)] // not every test binary uses both
pub use sightline_model::testing::{Mode, RecordingSink};

pub fn s(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
    }
}

pub fn point(attrs: Vec<KeyValue>, v: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: T_NS - 60_000_000_000,
        time_unix_nano: T_NS,
        exemplars: vec![],
        flags: 0,
        value: Some(number_data_point::Value::AsDouble(v)),
    }
}

pub fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        description: format!("{name} help"),
        unit: unit.into(),
        metadata: vec![],
        data: Some(data),
    }
}

pub fn gauge(points: Vec<NumberDataPoint>) -> Data {
    Data::Gauge(Gauge {
        data_points: points,
    })
}

pub fn sum(points: Vec<NumberDataPoint>, temporality: i32, monotonic: bool) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality,
        is_monotonic: monotonic,
    })
}

/// A request with one resource (service api in namespace shop, instance host-1:8080,
/// plus host.name), one scope (my.lib 1.2) and the given metrics.
pub fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", "api"),
                    s("service.namespace", "shop"),
                    s("service.instance.id", "host-1:8080"),
                    s("host.name", "h1"),
                ],
                dropped_attributes_count: 0,
                entity_refs: vec![],
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "my.lib".into(),
                    version: "1.2".into(),
                    attributes: vec![],
                    dropped_attributes_count: 0,
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The labels every series of [`request`] carries, plus `extra`.
pub fn with_base(extra: &[(&str, &str)]) -> sightline_model::Labels {
    let mut v: Vec<(String, String)> = vec![
        ("job".into(), "shop/api".into()),
        ("instance".into(), "host-1:8080".into()),
        ("otel_scope_name".into(), "my.lib".into()),
        ("otel_scope_version".into(), "1.2".into()),
    ];
    v.extend(extra.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    sightline_model::Labels::from_pairs(v)
}

/// Series of a batch as (labels, values), for exact comparisons.
pub fn find<'a>(
    b: &'a WriteBatch,
    labels: &sightline_model::Labels,
) -> &'a sightline_model::TimeSeries {
    b.series
        .iter()
        .find(|s| &s.labels == labels)
        .unwrap_or_else(|| {
            panic!(
                "no series {labels}; have: {:?}",
                b.series
                    .iter()
                    .map(|s| s.labels.to_string())
                    .collect::<Vec<_>>()
            )
        })
}
