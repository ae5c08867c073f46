//! OTLP/HTTP through the router: protobuf, JSON, gzip, partial success, errors.

mod common;

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use prost::Message;
use sightline_model::{Labels, Sample};
use sightline_otlp::http_router;
use tower::ServiceExt;

fn post(ct: &str, gzip: bool, body: Vec<u8>) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri("/v1/metrics")
        .header("content-type", ct);
    if gzip {
        b = b.header("content-encoding", "gzip");
    }
    b.body(Body::from(body)).unwrap()
}

async fn call(
    sink: std::sync::Arc<RecordingSink>,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = http_router(sink).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, headers, body)
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn protobuf_export_is_stored_and_answered_200() {
    let sink = RecordingSink::new(Mode::Accept);
    let req = request(vec![metric("g", "", gauge(vec![point(vec![], 1.5)]))]);
    let (code, headers, body) = call(
        sink.clone(),
        post("application/x-protobuf", false, req.encode_to_vec()),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let resp = ExportMetricsServiceResponse::decode(&body[..]).unwrap();
    assert_eq!(resp.partial_success, None);
    let b = sink.taken().remove(0);
    assert_eq!(
        find(&b, &with_base(&[("__name__", "g")])).samples,
        vec![Sample::new(T_MS, 1.5)]
    );
}

#[tokio::test]
async fn gzip_protobuf_with_partial_success() {
    let sink = RecordingSink::new(Mode::Accept);
    let req = request(vec![
        metric("g", "", gauge(vec![point(vec![], 1.0)])),
        metric(
            "d",
            "",
            sum(
                vec![point(vec![], 1.0)],
                AggregationTemporality::Delta as i32,
                true,
            ),
        ),
    ]);
    let (code, _, body) = call(
        sink.clone(),
        post("application/x-protobuf", true, gz(&req.encode_to_vec())),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let p = ExportMetricsServiceResponse::decode(&body[..])
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(p.rejected_data_points, 1);
    assert!(p.error_message.contains("delta"));
    assert_eq!(sink.taken().len(), 1);
}

/// An OTLP/JSON export in the form the spec describes: camelCase keys, 64-bit integers
/// as strings, hex trace/span ids, enums as integers.
const JSON_EXPORT: &str = r#"{
  "resourceMetrics": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "checkout"}},
      {"key": "host.cores", "value": {"intValue": "8"}}
    ]},
    "scopeMetrics": [{
      "scope": {"name": "shop.meter", "version": "0.3.1"},
      "metrics": [
        {"name": "orders.placed", "unit": "{order}", "description": "Orders",
         "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [
           {"asInt": "12", "startTimeUnixNano": "1700000000000000000",
            "timeUnixNano": "1700000000123456789",
            "attributes": [{"key": "payment.kind", "value": {"stringValue": "card"}}],
            "exemplars": [{"asDouble": 1, "timeUnixNano": "1700000000100000000",
              "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174"}]}
         ]}},
        {"name": "queue.depth", "gauge": {"dataPoints": [
           {"asDouble": 3.5, "timeUnixNano": 1700000000123456789}]}},
        {"name": "latency", "unit": "s", "histogram": {"aggregationTemporality": 2,
          "dataPoints": [{"timeUnixNano": "1700000000123456789", "count": "3", "sum": 0.6,
            "bucketCounts": ["1", "2"], "explicitBounds": [0.25]}]}}
      ]
    }]
  }]
}"#;

#[tokio::test]
async fn json_export_in_spec_form() {
    let sink = RecordingSink::new(Mode::Accept);
    let (code, headers, body) = call(
        sink.clone(),
        post("application/json", false, JSON_EXPORT.into()),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body, b"{}");
    let b = sink.taken().remove(0);
    let base = [
        ("job", "checkout"),
        ("otel_scope_name", "shop.meter"),
        ("otel_scope_version", "0.3.1"),
    ];
    let mut l = base.to_vec();
    l.extend([
        ("__name__", "orders_placed_total"),
        ("payment_kind", "card"),
    ]);
    let c = find(&b, &Labels::from_pairs(l));
    assert_eq!(c.samples, vec![Sample::new(T_MS, 12.0)]);
    assert_eq!(
        c.exemplars[0].labels,
        Labels::from_pairs([
            ("trace_id", "5b8efff798038103d269b633813fc60c"),
            ("span_id", "eee19b7ec3c1b174")
        ])
    );
    let mut l = base.to_vec();
    l.push(("__name__", "queue_depth"));
    assert_eq!(find(&b, &Labels::from_pairs(l)).samples[0].v, 3.5);
    let mut l = base.to_vec();
    l.extend([("__name__", "latency_seconds_bucket"), ("le", "0.25")]);
    assert_eq!(find(&b, &Labels::from_pairs(l)).samples[0].v, 1.0);
    let ti = find(
        &b,
        &Labels::from_pairs([
            ("__name__", "target_info"),
            ("job", "checkout"),
            ("host_cores", "8"),
        ]),
    );
    assert_eq!(ti.samples[0].v, 1.0);
}

#[tokio::test]
async fn gzip_json_with_partial_success_answers_json() {
    let sink = RecordingSink::new(Mode::Accept);
    let body = JSON_EXPORT.replace(
        "\"aggregationTemporality\": 2, \"isMonotonic\"",
        "\"aggregationTemporality\": 1, \"isMonotonic\"",
    );
    let (code, _, resp) = call(sink, post("application/json", true, gz(body.as_bytes()))).await;
    assert_eq!(code, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(v["partialSuccess"]["rejectedDataPoints"], "1");
    assert!(v["partialSuccess"]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("orders.placed"));
}

#[tokio::test]
async fn bad_payloads_are_400_with_status_body() {
    let sink = RecordingSink::new(Mode::Accept);
    let (code, _, body) = call(
        sink.clone(),
        post(
            "application/json",
            false,
            b"{\"resourceMetrics\": 5}".to_vec(),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], 3);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("invalid ExportMetricsServiceRequest JSON"));

    let (code, _, _) = call(
        sink.clone(),
        post(
            "application/x-protobuf",
            false,
            vec![0x0a, 0xff, 0xff, 0xff],
        ),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _, _) = call(
        sink.clone(),
        post("application/x-protobuf", true, b"not gzip".to_vec()),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(sink.taken().is_empty());
}

#[tokio::test]
async fn unsupported_content_type_or_encoding_is_415() {
    let sink = RecordingSink::new(Mode::Accept);
    let (code, _, _) = call(sink.clone(), post("text/plain", false, b"x".to_vec())).await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut r = post("application/x-protobuf", false, vec![]);
    r.headers_mut()
        .insert("content-encoding", "br".parse().unwrap());
    let (code, _, _) = call(sink, r).await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn unavailable_storage_is_503_with_retry_after_and_failure_is_500() {
    let req = request(vec![metric("g", "", gauge(vec![point(vec![], 1.0)]))]).encode_to_vec();
    let (code, headers, _) = call(
        RecordingSink::new(Mode::Unavailable),
        post("application/x-protobuf", false, req.clone()),
    )
    .await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "5");
    let (code, _, _) = call(
        RecordingSink::new(Mode::Storage),
        post("application/x-protobuf", false, req),
    )
    .await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn storage_rejections_are_reported_as_partial_success() {
    let report = sightline_model::AppendReport {
        accepted: 1,
        out_of_order: 1,
        first_error: Some("out of order sample".into()),
        ..Default::default()
    };
    let req = request(vec![metric("g", "", gauge(vec![point(vec![], 1.0)]))]).encode_to_vec();
    let (code, _, body) = call(
        RecordingSink::new(Mode::Report(report)),
        post("application/x-protobuf", false, req),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let p = ExportMetricsServiceResponse::decode(&body[..])
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(p.rejected_data_points, 1);
    assert!(p.error_message.contains("out of order sample"));
}

#[tokio::test]
async fn json_written_by_opentelemetry_proto_serde_is_accepted() {
    // Another implementation's OTLP/JSON output (timestamps as strings, counts as
    // numbers) must decode to the same request.
    let mut hist = opentelemetry_proto::tonic::metrics::v1::HistogramDataPoint {
        time_unix_nano: T_NS,
        count: 3,
        sum: Some(1.0),
        bucket_counts: vec![1, 2],
        explicit_bounds: vec![0.5],
        ..Default::default()
    };
    hist.attributes.push(s("k", "v"));
    let req = request(vec![
        metric("g", "By", gauge(vec![point(vec![s("a", "b")], 1.5)])),
        metric(
            "h",
            "s",
            opentelemetry_proto::tonic::metrics::v1::metric::Data::Histogram(
                opentelemetry_proto::tonic::metrics::v1::Histogram {
                    data_points: vec![hist],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                },
            ),
        ),
    ]);
    let json = serde_json::to_vec(&req).unwrap();
    let decoded = sightline_otlp::json::decode_request(&json).unwrap();
    assert_eq!(decoded, req);
}

#[tokio::test]
async fn invalid_data_refused_by_storage_is_400() {
    let req = request(vec![metric("g", "", gauge(vec![point(vec![], 1.0)]))]).encode_to_vec();
    let (code, _, _) = call(
        RecordingSink::new(Mode::Invalid),
        post("application/x-protobuf", false, req),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

/// The shape and values of the OTLP/JSON metrics example published with the OTLP
/// protocol (timestamps as JSON numbers, delta counter and histogram, a gauge).
const SPEC_EXAMPLE: &str = r#"{"resourceMetrics":[{
  "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
  "scopeMetrics":[{
    "scope":{"name":"my.library","version":"1.0.0",
             "attributes":[{"key":"my.scope.attribute","value":{"stringValue":"some scope attribute"}}]},
    "metrics":[
      {"name":"my.counter","unit":"1","description":"I am a Counter",
       "sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[
         {"asDouble":5,"startTimeUnixNano":1544712660300000000,"timeUnixNano":1544712660300000000,
          "attributes":[{"key":"my.counter.attr","value":{"stringValue":"some value"}}]}]}},
      {"name":"my.gauge","unit":"1","description":"I am a Gauge",
       "gauge":{"dataPoints":[
         {"asDouble":10,"timeUnixNano":1544712660300000000,
          "attributes":[{"key":"my.gauge.attr","value":{"stringValue":"some value"}}]}]}},
      {"name":"my.histogram","unit":"1","description":"I am a Histogram",
       "histogram":{"aggregationTemporality":1,"dataPoints":[
         {"startTimeUnixNano":1544712660300000000,"timeUnixNano":1544712660300000000,
          "count":3,"sum":3,"bucketCounts":[1,1,1],"explicitBounds":[1],"min":1,"max":1,
          "attributes":[{"key":"my.histogram.attr","value":{"stringValue":"some value"}}]}]}}
    ]}]}]}"#;

#[tokio::test]
async fn spec_example_json_converts_gauge_and_reports_delta_points() {
    let sink = RecordingSink::new(Mode::Accept);
    let (code, _, body) = call(
        sink.clone(),
        post("application/json", false, SPEC_EXAMPLE.into()),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["partialSuccess"]["rejectedDataPoints"], "2");
    let msg = v["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(
        msg.contains("my.counter") && msg.contains("my.histogram"),
        "{msg}"
    );
    let b = sink.taken().remove(0);
    let g = find(
        &b,
        &Labels::from_pairs([
            ("__name__", "my_gauge_ratio"),
            ("job", "my.service"),
            ("otel_scope_name", "my.library"),
            ("otel_scope_version", "1.0.0"),
            ("my_gauge_attr", "some value"),
        ]),
    );
    assert_eq!(g.samples, vec![Sample::new(1_544_712_660_300, 10.0)]);
    assert_eq!(
        b.series.len(),
        1,
        "no target_info: only service.name in the resource"
    );
}
