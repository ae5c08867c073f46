//! remote_write 2.0 through the router: symbols, metadata, written-count headers.

mod common;

use axum::http::StatusCode;
use common::*;
use sightline_model::{AppendReport, Labels, MetricType, Sample};
use sightline_remote_write::proto::{v1, v2};
use sightline_remote_write::{decode_v2, encode_snappy, router, DecodeError, Limits};

const CT_V2: Option<&str> = Some("application/x-protobuf;proto=io.prometheus.write.v2.Request");

fn symbols() -> Vec<String> {
    [
        "",
        "__name__",
        "http_requests_total",
        "job",
        "api",
        "Requests.",
        "trace_id",
        "abc",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn request() -> v2::Request {
    v2::Request {
        symbols: symbols(),
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![
                v1::Sample {
                    value: 1.0,
                    timestamp: 100,
                },
                v1::Sample {
                    value: 3.0,
                    timestamp: 200,
                },
            ],
            histograms: vec![],
            exemplars: vec![v2::Exemplar {
                labels_refs: vec![6, 7],
                value: 0.5,
                timestamp: 150,
            }],
            metadata: Some(v2::Metadata {
                r#type: 1,
                help_ref: 5,
                unit_ref: 0,
            }),
            created_timestamp: 50,
        }],
    }
}

#[tokio::test]
async fn v2_roundtrip_with_written_headers() {
    let sink = RecordingSink::new(Mode::Accept);
    let body = encode_snappy(&request()).unwrap();
    let (code, resp) = send(router(sink.clone(), Limits::default()), post(body, CT_V2)).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let h = resp.headers();
    assert_eq!(h["x-prometheus-remote-write-samples-written"], "2");
    assert_eq!(h["x-prometheus-remote-write-histograms-written"], "0");
    assert_eq!(h["x-prometheus-remote-write-exemplars-written"], "1");
    let b = sink.taken().remove(0);
    assert_eq!(
        b.series[0].labels,
        Labels::from_pairs([("__name__", "http_requests_total"), ("job", "api")])
    );
    assert_eq!(
        b.series[0].samples,
        vec![Sample::new(100, 1.0), Sample::new(200, 3.0)]
    );
    assert_eq!(
        b.series[0].exemplars[0].labels,
        Labels::from_pairs([("trace_id", "abc")])
    );
    assert_eq!(b.metadata.len(), 1);
    assert_eq!(b.metadata[0].metric_family_name, "http_requests_total");
    assert_eq!(b.metadata[0].metric_type, MetricType::Counter);
    assert_eq!(b.metadata[0].help, "Requests.");
}

#[tokio::test]
async fn v2_partial_rejection_keeps_headers_and_answers_400() {
    let report = AppendReport {
        accepted: 1,
        too_old: 1,
        first_error: Some("too old".into()),
        ..Default::default()
    };
    let sink = RecordingSink::new(Mode::Report(report));
    let body = encode_snappy(&request()).unwrap();
    let (code, resp) = send(router(sink, Limits::default()), post(body, CT_V2)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.headers()["x-prometheus-remote-write-samples-written"],
        "1"
    );
}

#[test]
fn v2_bad_symbol_references_are_invalid() {
    let mut r = request();
    r.timeseries[0].labels_refs = vec![1, 99];
    let err = decode_v2(&encode_snappy(&r).unwrap(), &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::InvalidSeries { .. }));
    assert!(
        err.to_string().contains("symbol reference 99 out of range"),
        "{err}"
    );
    let mut r = request();
    r.timeseries[0].labels_refs = vec![1, 2, 3];
    let err = decode_v2(&encode_snappy(&r).unwrap(), &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("odd number"), "{err}");
}

#[tokio::test]
async fn v2_unsorted_labels_are_400() {
    let mut r = request();
    r.timeseries[0].labels_refs = vec![3, 4, 1, 2];
    let sink = RecordingSink::new(Mode::Accept);
    let (code, resp) = send(
        router(sink, Limits::default()),
        post(encode_snappy(&r).unwrap(), CT_V2),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body_text(resp).await.contains("labels not sorted"));
}
