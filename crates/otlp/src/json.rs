//! OTLP/JSON decoding and encoding for the metrics signal.
//!
//! OTLP/JSON is the protobuf JSON mapping with OTLP's own twists: lowerCamelCase keys,
//! trace and span ids in hex (not base64), enums as integers, and 64-bit integers
//! that senders write either as JSON numbers or as strings. The serde support of
//! `opentelemetry-proto` does not accept all of these forms, so this module reads the
//! JSON into its own lenient mirror of the messages and builds the prost types.

use base64::Engine;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest,
};
use opentelemetry_proto::tonic::common::v1 as common;
use opentelemetry_proto::tonic::metrics::v1 as m;
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde::de::{self, Deserializer};
use serde::Deserialize;

/// Parses an OTLP/JSON `ExportMetricsServiceRequest`.
pub fn decode_request(body: &[u8]) -> Result<ExportMetricsServiceRequest, String> {
    let r: JRequest = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(ExportMetricsServiceRequest {
        resource_metrics: r.resource_metrics.into_iter().map(Into::into).collect(),
    })
}

/// Encodes an `ExportMetricsServiceResponse` as OTLP/JSON: `{}` when everything was
/// accepted, else `{"partialSuccess":{"rejectedDataPoints":"N","errorMessage":"..."}}`.
pub fn encode_response(partial: Option<&ExportMetricsPartialSuccess>) -> Vec<u8> {
    let v = match partial {
        None => serde_json::json!({}),
        Some(p) => serde_json::json!({
            "partialSuccess": {
                "rejectedDataPoints": p.rejected_data_points.to_string(),
                "errorMessage": p.error_message,
            }
        }),
    };
    v.to_string().into_bytes()
}

/// Encodes a `google.rpc.Status`-shaped error body as JSON.
pub fn encode_status(code: i32, message: &str) -> Vec<u8> {
    serde_json::json!({ "code": code, "message": message })
        .to_string()
        .into_bytes()
}

/// A number written as a JSON number or a string (64-bit integers in proto JSON).
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Num(serde_json::Number),
    Str(String),
}

fn de_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::Num(n) => n
            .as_u64()
            .ok_or_else(|| de::Error::custom(format!("{n} is not an unsigned integer"))),
        NumOrStr::Str(s) => s.trim().parse().map_err(de::Error::custom),
    }
}

fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::Num(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("{n} is not an integer"))),
        Some(NumOrStr::Str(s)) => s.trim().parse().map(Some).map_err(de::Error::custom),
    }
}

fn parse_f64<E: de::Error>(n: NumOrStr) -> Result<f64, E> {
    match n {
        NumOrStr::Num(n) => n
            .as_f64()
            .ok_or_else(|| E::custom(format!("{n} is not a number"))),
        NumOrStr::Str(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other.trim().parse().map_err(E::custom),
        },
    }
}

fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    parse_f64(NumOrStr::deserialize(d)?)
}

/// `null` means "not set" for optional fields.
fn de_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<NumOrStr>::deserialize(d)?
        .map(parse_f64)
        .transpose()
}

fn de_u64_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    let v: Vec<NumOrStr> = Vec::deserialize(d)?;
    v.into_iter()
        .map(|n| match n {
            NumOrStr::Num(n) => n
                .as_u64()
                .ok_or_else(|| de::Error::custom(format!("{n} is not an unsigned integer"))),
            NumOrStr::Str(s) => s.trim().parse().map_err(de::Error::custom),
        })
        .collect()
}

fn de_f64_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let v: Vec<NumOrStr> = Vec::deserialize(d)?;
    v.into_iter().map(parse_f64).collect()
}

fn de_hex<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    if s.len() % 2 != 0 {
        return Err(de::Error::custom(format!("id {s:?} is not hex")));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| de::Error::custom(format!("id {s:?} is not hex")))
        })
        .collect()
}

/// Enums are integers in OTLP/JSON; the enum value names are accepted too.
fn de_temporality<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::Num(n) => n
            .as_i64()
            .map(|v| v as i32)
            .ok_or_else(|| de::Error::custom("aggregationTemporality is not an integer")),
        NumOrStr::Str(s) => m::AggregationTemporality::from_str_name(&s)
            .map(|t| t as i32)
            .or_else(|| s.parse().ok())
            .ok_or_else(|| de::Error::custom(format!("unknown aggregationTemporality {s:?}"))),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JRequest {
    resource_metrics: Vec<JResourceMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JResourceMetrics {
    resource: Option<JResource>,
    scope_metrics: Vec<JScopeMetrics>,
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JResource {
    attributes: Vec<JKeyValue>,
    dropped_attributes_count: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JScopeMetrics {
    scope: Option<JScope>,
    metrics: Vec<JMetric>,
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JScope {
    name: String,
    version: String,
    attributes: Vec<JKeyValue>,
    dropped_attributes_count: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JKeyValue {
    key: String,
    value: Option<JAnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JAnyValue {
    string_value: Option<String>,
    bool_value: Option<bool>,
    #[serde(deserialize_with = "de_opt_i64")]
    int_value: Option<i64>,
    #[serde(deserialize_with = "de_opt_f64")]
    double_value: Option<f64>,
    array_value: Option<JValues>,
    kvlist_value: Option<JKvList>,
    bytes_value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JValues {
    values: Vec<JAnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JKvList {
    values: Vec<JKeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JMetric {
    name: String,
    description: String,
    unit: String,
    metadata: Vec<JKeyValue>,
    gauge: Option<JGauge>,
    sum: Option<JSum>,
    histogram: Option<JHistogram>,
    exponential_histogram: Option<JExpHistogram>,
    summary: Option<JSummary>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JGauge {
    data_points: Vec<JNumberPoint>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JSum {
    data_points: Vec<JNumberPoint>,
    #[serde(deserialize_with = "de_temporality")]
    aggregation_temporality: i32,
    is_monotonic: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JHistogram {
    data_points: Vec<JHistogramPoint>,
    #[serde(deserialize_with = "de_temporality")]
    aggregation_temporality: i32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JExpHistogram {
    data_points: Vec<JExpPoint>,
    #[serde(deserialize_with = "de_temporality")]
    aggregation_temporality: i32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JSummary {
    data_points: Vec<JSummaryPoint>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JNumberPoint {
    attributes: Vec<JKeyValue>,
    #[serde(deserialize_with = "de_u64")]
    start_time_unix_nano: u64,
    #[serde(deserialize_with = "de_u64")]
    time_unix_nano: u64,
    #[serde(deserialize_with = "de_opt_f64")]
    as_double: Option<f64>,
    #[serde(deserialize_with = "de_opt_i64")]
    as_int: Option<i64>,
    exemplars: Vec<JExemplar>,
    #[serde(deserialize_with = "de_u64")]
    flags: u64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JHistogramPoint {
    attributes: Vec<JKeyValue>,
    #[serde(deserialize_with = "de_u64")]
    start_time_unix_nano: u64,
    #[serde(deserialize_with = "de_u64")]
    time_unix_nano: u64,
    #[serde(deserialize_with = "de_u64")]
    count: u64,
    #[serde(deserialize_with = "de_opt_f64")]
    sum: Option<f64>,
    #[serde(deserialize_with = "de_u64_vec")]
    bucket_counts: Vec<u64>,
    #[serde(deserialize_with = "de_f64_vec")]
    explicit_bounds: Vec<f64>,
    exemplars: Vec<JExemplar>,
    #[serde(deserialize_with = "de_u64")]
    flags: u64,
    #[serde(deserialize_with = "de_opt_f64")]
    min: Option<f64>,
    #[serde(deserialize_with = "de_opt_f64")]
    max: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JBuckets {
    offset: i32,
    #[serde(deserialize_with = "de_u64_vec")]
    bucket_counts: Vec<u64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JExpPoint {
    attributes: Vec<JKeyValue>,
    #[serde(deserialize_with = "de_u64")]
    start_time_unix_nano: u64,
    #[serde(deserialize_with = "de_u64")]
    time_unix_nano: u64,
    #[serde(deserialize_with = "de_u64")]
    count: u64,
    #[serde(deserialize_with = "de_opt_f64")]
    sum: Option<f64>,
    scale: i32,
    #[serde(deserialize_with = "de_u64")]
    zero_count: u64,
    positive: Option<JBuckets>,
    negative: Option<JBuckets>,
    #[serde(deserialize_with = "de_u64")]
    flags: u64,
    exemplars: Vec<JExemplar>,
    #[serde(deserialize_with = "de_opt_f64")]
    min: Option<f64>,
    #[serde(deserialize_with = "de_opt_f64")]
    max: Option<f64>,
    #[serde(deserialize_with = "de_f64")]
    zero_threshold: f64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JQuantile {
    #[serde(deserialize_with = "de_f64")]
    quantile: f64,
    #[serde(deserialize_with = "de_f64")]
    value: f64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JSummaryPoint {
    attributes: Vec<JKeyValue>,
    #[serde(deserialize_with = "de_u64")]
    start_time_unix_nano: u64,
    #[serde(deserialize_with = "de_u64")]
    time_unix_nano: u64,
    #[serde(deserialize_with = "de_u64")]
    count: u64,
    #[serde(deserialize_with = "de_f64")]
    sum: f64,
    quantile_values: Vec<JQuantile>,
    #[serde(deserialize_with = "de_u64")]
    flags: u64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JExemplar {
    filtered_attributes: Vec<JKeyValue>,
    #[serde(deserialize_with = "de_u64")]
    time_unix_nano: u64,
    #[serde(deserialize_with = "de_opt_f64")]
    as_double: Option<f64>,
    #[serde(deserialize_with = "de_opt_i64")]
    as_int: Option<i64>,
    #[serde(deserialize_with = "de_hex")]
    span_id: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    trace_id: Vec<u8>,
}

fn kvs(v: Vec<JKeyValue>) -> Vec<common::KeyValue> {
    v.into_iter().map(Into::into).collect()
}

impl From<JKeyValue> for common::KeyValue {
    fn from(kv: JKeyValue) -> Self {
        common::KeyValue {
            key: kv.key,
            value: kv.value.map(Into::into),
        }
    }
}

impl From<JAnyValue> for common::AnyValue {
    fn from(v: JAnyValue) -> Self {
        use common::any_value::Value;
        let value = if let Some(s) = v.string_value {
            Some(Value::StringValue(s))
        } else if let Some(b) = v.bool_value {
            Some(Value::BoolValue(b))
        } else if let Some(i) = v.int_value {
            Some(Value::IntValue(i))
        } else if let Some(d) = v.double_value {
            Some(Value::DoubleValue(d))
        } else if let Some(a) = v.array_value {
            Some(Value::ArrayValue(common::ArrayValue {
                values: a.values.into_iter().map(Into::into).collect(),
            }))
        } else if let Some(kv) = v.kvlist_value {
            Some(Value::KvlistValue(common::KeyValueList {
                values: kvs(kv.values),
            }))
        } else {
            v.bytes_value.map(|b| {
                // Undecodable base64 is kept as text rather than failing the request.
                match base64::engine::general_purpose::STANDARD.decode(b.as_bytes()) {
                    Ok(bytes) => Value::BytesValue(bytes),
                    Err(_) => Value::StringValue(b),
                }
            })
        };
        common::AnyValue { value }
    }
}

impl From<JResourceMetrics> for m::ResourceMetrics {
    fn from(r: JResourceMetrics) -> Self {
        m::ResourceMetrics {
            resource: r.resource.map(|res| Resource {
                attributes: kvs(res.attributes),
                dropped_attributes_count: res.dropped_attributes_count,
                entity_refs: Vec::new(),
            }),
            scope_metrics: r.scope_metrics.into_iter().map(Into::into).collect(),
            schema_url: r.schema_url,
        }
    }
}

impl From<JScopeMetrics> for m::ScopeMetrics {
    fn from(s: JScopeMetrics) -> Self {
        m::ScopeMetrics {
            scope: s.scope.map(|sc| common::InstrumentationScope {
                name: sc.name,
                version: sc.version,
                attributes: kvs(sc.attributes),
                dropped_attributes_count: sc.dropped_attributes_count,
            }),
            metrics: s.metrics.into_iter().map(Into::into).collect(),
            schema_url: s.schema_url,
        }
    }
}

fn exemplars(v: Vec<JExemplar>) -> Vec<m::Exemplar> {
    v.into_iter()
        .map(|e| m::Exemplar {
            filtered_attributes: kvs(e.filtered_attributes),
            time_unix_nano: e.time_unix_nano,
            span_id: e.span_id,
            trace_id: e.trace_id,
            value: match (e.as_double, e.as_int) {
                (Some(d), _) => Some(m::exemplar::Value::AsDouble(d)),
                (None, Some(i)) => Some(m::exemplar::Value::AsInt(i)),
                _ => None,
            },
        })
        .collect()
}

fn number_points(v: Vec<JNumberPoint>) -> Vec<m::NumberDataPoint> {
    v.into_iter()
        .map(|p| m::NumberDataPoint {
            attributes: kvs(p.attributes),
            start_time_unix_nano: p.start_time_unix_nano,
            time_unix_nano: p.time_unix_nano,
            exemplars: exemplars(p.exemplars),
            flags: p.flags as u32,
            value: match (p.as_double, p.as_int) {
                (Some(d), _) => Some(m::number_data_point::Value::AsDouble(d)),
                (None, Some(i)) => Some(m::number_data_point::Value::AsInt(i)),
                _ => None,
            },
        })
        .collect()
}

fn buckets(b: Option<JBuckets>) -> Option<m::exponential_histogram_data_point::Buckets> {
    b.map(|b| m::exponential_histogram_data_point::Buckets {
        offset: b.offset,
        bucket_counts: b.bucket_counts,
    })
}

impl From<JMetric> for m::Metric {
    fn from(j: JMetric) -> Self {
        use m::metric::Data;
        let data = if let Some(g) = j.gauge {
            Some(Data::Gauge(m::Gauge {
                data_points: number_points(g.data_points),
            }))
        } else if let Some(s) = j.sum {
            Some(Data::Sum(m::Sum {
                data_points: number_points(s.data_points),
                aggregation_temporality: s.aggregation_temporality,
                is_monotonic: s.is_monotonic,
            }))
        } else if let Some(h) = j.histogram {
            Some(Data::Histogram(m::Histogram {
                aggregation_temporality: h.aggregation_temporality,
                data_points: h
                    .data_points
                    .into_iter()
                    .map(|p| m::HistogramDataPoint {
                        attributes: kvs(p.attributes),
                        start_time_unix_nano: p.start_time_unix_nano,
                        time_unix_nano: p.time_unix_nano,
                        count: p.count,
                        sum: p.sum,
                        bucket_counts: p.bucket_counts,
                        explicit_bounds: p.explicit_bounds,
                        exemplars: exemplars(p.exemplars),
                        flags: p.flags as u32,
                        min: p.min,
                        max: p.max,
                    })
                    .collect(),
            }))
        } else if let Some(h) = j.exponential_histogram {
            Some(Data::ExponentialHistogram(m::ExponentialHistogram {
                aggregation_temporality: h.aggregation_temporality,
                data_points: h
                    .data_points
                    .into_iter()
                    .map(|p| m::ExponentialHistogramDataPoint {
                        attributes: kvs(p.attributes),
                        start_time_unix_nano: p.start_time_unix_nano,
                        time_unix_nano: p.time_unix_nano,
                        count: p.count,
                        sum: p.sum,
                        scale: p.scale,
                        zero_count: p.zero_count,
                        positive: buckets(p.positive),
                        negative: buckets(p.negative),
                        flags: p.flags as u32,
                        exemplars: exemplars(p.exemplars),
                        min: p.min,
                        max: p.max,
                        zero_threshold: p.zero_threshold,
                    })
                    .collect(),
            }))
        } else {
            j.summary.map(|s| {
                Data::Summary(m::Summary {
                    data_points: s
                        .data_points
                        .into_iter()
                        .map(|p| m::SummaryDataPoint {
                            attributes: kvs(p.attributes),
                            start_time_unix_nano: p.start_time_unix_nano,
                            time_unix_nano: p.time_unix_nano,
                            count: p.count,
                            sum: p.sum,
                            quantile_values: p
                                .quantile_values
                                .into_iter()
                                .map(|q| m::summary_data_point::ValueAtQuantile {
                                    quantile: q.quantile,
                                    value: q.value,
                                })
                                .collect(),
                            flags: p.flags as u32,
                        })
                        .collect(),
                })
            })
        };
        m::Metric {
            name: j.name,
            description: j.description,
            unit: j.unit,
            metadata: kvs(j.metadata),
            data,
        }
    }
}
