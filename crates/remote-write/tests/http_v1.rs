//! remote_write 1.0 through the router: success, every rejection and status code.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use sightline_model::{AppendReport, Exemplar, Labels, MetricType, Sample};
use sightline_remote_write::proto::v1;
use sightline_remote_write::{encode_snappy, router, Limits};

const CT: Option<&str> = Some("application/x-protobuf");

fn req(ts: Vec<v1::TimeSeries>) -> Vec<u8> {
    encode_snappy(&v1::WriteRequest {
        timeseries: ts,
        metadata: vec![],
    })
    .unwrap()
}

async fn expect_400(ts: Vec<v1::TimeSeries>, needle: &str) {
    let sink = RecordingSink::new(Mode::Accept);
    let (code, resp) = send(router(sink.clone(), Limits::default()), post(req(ts), CT)).await;
    let msg = body_text(resp).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{msg}");
    assert!(msg.contains(needle), "{msg:?} should contain {needle:?}");
    assert!(sink.taken().is_empty(), "nothing stored on invalid request");
}

#[tokio::test]
async fn valid_request_is_stored_exactly_and_answered_204() {
    let sink = RecordingSink::new(Mode::Accept);
    let mut a = series(
        &[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("job", "api"),
        ],
        &[(1000, 1.0), (2000, 2.5)],
    );
    a.exemplars.push(v1::Exemplar {
        labels: vec![label("trace_id", "abc")],
        value: 0.7,
        timestamp: 1500,
    });
    let b = series(
        &[("__name__", "up"), ("instance", "x:9100")],
        &[(3000, 1.0)],
    );
    let body = encode_snappy(&v1::WriteRequest {
        timeseries: vec![a, b],
        metadata: vec![v1::MetricMetadata {
            r#type: 1,
            metric_family_name: "http_requests_total".into(),
            help: "Requests.".into(),
            unit: "".into(),
        }],
    })
    .unwrap();
    let (code, resp) = send(router(sink.clone(), Limits::default()), post(body, CT)).await;
    assert_eq!(code, StatusCode::NO_CONTENT, "{}", body_text(resp).await);
    let batches = sink.taken();
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    assert_eq!(batch.series.len(), 2);
    assert_eq!(
        batch.series[0].labels,
        Labels::from_pairs([
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("job", "api")
        ])
    );
    assert_eq!(
        batch.series[0].samples,
        vec![Sample::new(1000, 1.0), Sample::new(2000, 2.5)]
    );
    assert_eq!(
        batch.series[0].exemplars,
        vec![Exemplar {
            labels: Labels::from_pairs([("trace_id", "abc")]),
            value: 0.7,
            t: 1500
        }]
    );
    assert_eq!(batch.series[1].samples, vec![Sample::new(3000, 1.0)]);
    assert_eq!(batch.metadata.len(), 1);
    assert_eq!(batch.metadata[0].metric_type, MetricType::Counter);
    assert_eq!(batch.metadata[0].help, "Requests.");
}

#[tokio::test]
async fn missing_content_type_defaults_to_v1_and_stale_markers_pass() {
    let sink = RecordingSink::new(Mode::Accept);
    let stale = f64::from_bits(sightline_model::STALE_NAN_BITS);
    let body = req(vec![series(&[("__name__", "up")], &[(5, stale)])]);
    let (code, _) = send(router(sink.clone(), Limits::default()), post(body, None)).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let got = sink.taken();
    assert!(sightline_model::is_stale_nan(got[0].series[0].samples[0].v));
}

#[tokio::test]
async fn empty_label_values_are_dropped_not_rejected() {
    let sink = RecordingSink::new(Mode::Accept);
    let body = req(vec![series(
        &[("__name__", "up"), ("env", "")],
        &[(1, 1.0)],
    )]);
    let (code, _) = send(router(sink.clone(), Limits::default()), post(body, CT)).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(
        sink.taken()[0].series[0].labels,
        Labels::from_pairs([("__name__", "up")])
    );
}

#[tokio::test]
async fn unsorted_labels_are_400_naming_the_series() {
    expect_400(
        vec![series(&[("__name__", "up"), ("job", "a"), ("instance", "b")], &[(1, 1.0)])],
        r#"invalid series {__name__="up", job="a", instance="b"}: labels not sorted: "instance" after "job""#,
    )
    .await;
}

#[tokio::test]
async fn duplicate_labels_are_400() {
    expect_400(
        vec![series(
            &[("__name__", "up"), ("job", "a"), ("job", "b")],
            &[(1, 1.0)],
        )],
        r#"duplicate label name "job""#,
    )
    .await;
}

#[tokio::test]
async fn empty_label_name_is_400() {
    expect_400(
        vec![series(&[("", "x"), ("__name__", "up")], &[(1, 1.0)])],
        "label with empty name",
    )
    .await;
}

#[tokio::test]
async fn missing_metric_name_is_400() {
    expect_400(
        vec![series(&[("job", "a")], &[(1, 1.0)])],
        r#"invalid series {job="a"}: missing metric name"#,
    )
    .await;
}

#[tokio::test]
async fn label_limits_are_400() {
    let long = "v".repeat(Limits::default().max_label_value_len + 1);
    expect_400(
        vec![series(&[("__name__", "up"), ("x", &long)], &[(1, 1.0)])],
        r#"value of label "x" is"#,
    )
    .await;
    let names: Vec<String> = (0..200).map(|i| format!("l{i:03}")).collect();
    let mut labels: Vec<(&str, &str)> = vec![("__name__", "up")];
    labels.extend(names.iter().map(|n| (n.as_str(), "1")));
    expect_400(
        vec![series(&labels, &[(1, 1.0)])],
        "labels exceed the limit of 128",
    )
    .await;
}

/// Labels with byte fields, to put invalid UTF-8 on the wire.
#[derive(Clone, PartialEq, prost::Message)]
struct RawLabel {
    #[prost(bytes = "vec", tag = "1")]
    name: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct RawSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<RawLabel>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<RawSeries>,
}

#[tokio::test]
async fn invalid_utf8_is_400() {
    let body = encode_snappy(&RawRequest {
        timeseries: vec![RawSeries {
            labels: vec![RawLabel {
                name: b"__name__".to_vec(),
                value: vec![0xff, 0xfe],
            }],
        }],
    })
    .unwrap();
    let sink = RecordingSink::new(Mode::Accept);
    let (code, resp) = send(router(sink, Limits::default()), post(body, CT)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body_text(resp).await.contains("UTF-8"));
}

#[tokio::test]
async fn non_snappy_body_is_400() {
    let sink = RecordingSink::new(Mode::Accept);
    let raw = v1::WriteRequest {
        timeseries: vec![series(&[("__name__", "up")], &[(1, 1.0)])],
        metadata: vec![],
    };
    let body = prost::Message::encode_to_vec(&raw);
    let (code, resp) = send(router(sink, Limits::default()), post(body, CT)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body_text(resp).await.contains("not snappy"));
}

#[tokio::test]
async fn bad_protobuf_is_400() {
    let body = snap::raw::Encoder::new()
        .compress_vec(&[0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])
        .unwrap();
    let sink = RecordingSink::new(Mode::Accept);
    let (code, resp) = send(router(sink, Limits::default()), post(body, CT)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body_text(resp)
        .await
        .contains("not a valid prometheus.WriteRequest protobuf"));
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let ts = vec![series(&[("__name__", "up")], &[(1, 1.0); 100])];
    let raw_len = prost::Message::encoded_len(&v1::WriteRequest {
        timeseries: ts.clone(),
        metadata: vec![],
    });
    let body = req(ts);
    let limits = Limits {
        max_compressed_bytes: 20,
        ..Limits::default()
    };
    let sink = RecordingSink::new(Mode::Accept);
    let (code, resp) = send(router(sink.clone(), limits), post(body.clone(), CT)).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body_text(resp)
        .await
        .contains("exceeds the limit of 20 bytes"));

    let limits = Limits {
        max_decompressed_bytes: 100,
        ..Limits::default()
    };
    let (code, resp) = send(router(sink.clone(), limits), post(body, CT)).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    let want = format!("decompressed body of {raw_len} bytes exceeds the limit of 100 bytes");
    assert!(body_text(resp).await.contains(&want));
    assert!(sink.taken().is_empty());
}

#[tokio::test]
async fn unsupported_types_and_encodings_are_415() {
    let sink = RecordingSink::new(Mode::Accept);
    let body = req(vec![series(&[("__name__", "up")], &[(1, 1.0)])]);
    for ct in [
        "application/json",
        "application/x-protobuf;proto=io.prometheus.write.v3.Request",
    ] {
        let (code, _) = send(
            router(sink.clone(), Limits::default()),
            post(body.clone(), Some(ct)),
        )
        .await;
        assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
    }
    let mut r = post(body, CT);
    r.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let (code, _) = send(router(sink.clone(), Limits::default()), r).await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(sink.taken().is_empty());
}

#[tokio::test]
async fn storage_errors_map_to_retryable_and_final_codes() {
    let body = req(vec![series(&[("__name__", "up")], &[(1, 1.0)])]);
    for (mode, want) in [
        (Mode::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
        (Mode::Storage, StatusCode::INTERNAL_SERVER_ERROR),
        (Mode::Invalid, StatusCode::BAD_REQUEST),
    ] {
        let sink = RecordingSink::new(mode);
        let (code, _) = send(router(sink, Limits::default()), post(body.clone(), CT)).await;
        assert_eq!(code, want);
    }
}

#[tokio::test]
async fn rejected_samples_give_400_after_storing_the_rest() {
    let report = AppendReport {
        accepted: 1,
        out_of_order: 1,
        first_error: Some("out of order sample for series up{}".into()),
        ..Default::default()
    };
    let sink = RecordingSink::new(Mode::Report(report));
    let body = req(vec![series(&[("__name__", "up")], &[(5, 1.0), (1, 2.0)])]);
    let (code, resp) = send(router(sink.clone(), Limits::default()), post(body, CT)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let msg = body_text(resp).await;
    assert!(msg.contains("1 of 2 samples rejected"), "{msg}");
    assert!(msg.contains("out of order sample for series up{}"), "{msg}");
    assert_eq!(
        sink.taken()[0].sample_count(),
        2,
        "valid samples were handed to storage"
    );
}

#[tokio::test]
async fn duplicates_are_idempotent_204() {
    let report = AppendReport {
        duplicates: 1,
        ..Default::default()
    };
    let sink = RecordingSink::new(Mode::Report(report));
    let body = req(vec![series(&[("__name__", "up")], &[(5, 1.0)])]);
    let (code, _) = send(router(sink, Limits::default()), post(body, CT)).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn native_histograms_are_dropped_and_float_samples_kept() {
    let sink = RecordingSink::new(Mode::Accept);
    let mut h = series(&[("__name__", "latency")], &[]);
    h.histograms.push(v1::Histogram {
        count_int: 3,
        sum: 1.5,
        schema: 3,
        timestamp: 10,
    });
    let f = series(&[("__name__", "up")], &[(10, 1.0)]);
    let (batch, stats) = sightline_remote_write::decode_v1_with_stats(
        &req(vec![h.clone(), f.clone()]),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(stats.histograms, 1);
    assert_eq!(stats.samples, 1);
    assert_eq!(batch.series.len(), 1);
    let (code, _) = send(
        router(sink.clone(), Limits::default()),
        post(req(vec![h, f]), CT),
    )
    .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let got = sink.taken();
    assert_eq!(got[0].series.len(), 1);
    assert_eq!(got[0].series[0].labels.metric_name(), Some("up"));
}

#[tokio::test]
async fn empty_request_is_204_without_touching_storage() {
    let sink = RecordingSink::new(Mode::Unavailable);
    let (code, _) = send(
        router(sink.clone(), Limits::default()),
        post(req(vec![]), CT),
    )
    .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert!(sink.taken().is_empty());
    let _ = Arc::strong_count(&sink);
}
