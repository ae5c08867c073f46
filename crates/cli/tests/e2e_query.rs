//! PromQL through the Prometheus HTTP API over data written by remote_write: the
//! envelope, value formatting and error types Prometheus clients expect.

mod common;
use common::*;
use prost::Message;
use sightline_remote_write::proto::v1::{Label, Sample, TimeSeries, WriteRequest};

const RW: &[(&str, &str)] = &[
    ("Content-Encoding", "snappy"),
    ("Content-Type", "application/x-protobuf"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];
const T0: i64 = 1_700_000_000_000;

fn write_counter(s: &Sightline, code: &str, per_15s: f64) {
    let samples = (0..=40)
        .map(|i| Sample {
            value: per_15s * i as f64,
            timestamp: T0 + i * 15_000,
        })
        .collect();
    let ts = TimeSeries {
        labels: vec![
            Label {
                name: "__name__".into(),
                value: "http_requests_total".into(),
            },
            Label {
                name: "code".into(),
                value: code.into(),
            },
            Label {
                name: "job".into(),
                value: "api".into(),
            },
        ],
        samples,
        ..Default::default()
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(
            &WriteRequest {
                timeseries: vec![ts],
                ..Default::default()
            }
            .encode_to_vec(),
        )
        .unwrap();
    assert_eq!(s.post("/api/v1/write", RW, &body).unwrap().0, 204);
}

#[test]
fn promql_over_http_matches_hand_computed_values() {
    let s = Sightline::start("self_monitoring: {enabled: false, host_collector: false}\n");
    write_counter(&s, "200", 30.0); // 2/s
    write_counter(&s, "500", 1.5); // 0.1/s
    let at = (T0 + 600_000) / 1000;

    let q = encode("sum by (job) (rate(http_requests_total[5m]))");
    let d = s.api(&format!("/api/v1/query?query={q}&time={at}"));
    assert_eq!(d["resultType"], "vector");
    let r = &d["result"][0];
    assert_eq!(r["metric"], serde_json::json!({"job": "api"}));
    assert_eq!(r["value"][0].as_f64().unwrap(), at as f64);
    let v: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
    assert!((v - 2.1).abs() < 1e-9, "{v}");

    let q = encode(
        "sum(rate(http_requests_total{code=\"500\"}[5m])) / sum(rate(http_requests_total[5m]))",
    );
    let d = s.api(&format!(
        "/api/v1/query_range?query={q}&start={}&end={at}&step=60",
        at - 300
    ));
    assert_eq!(d["resultType"], "matrix");
    let values = d["result"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 6);
    for p in values {
        let v: f64 = p[1].as_str().unwrap().parse().unwrap();
        assert!((v - 0.1 / 2.1).abs() < 1e-12, "{v}");
    }

    // Scalars and special values are strings, as in Prometheus.
    let d = s.api(&format!("/api/v1/query?query={}&time={at}", encode("1/0")));
    assert_eq!(d["resultType"], "scalar");
    assert_eq!(d["result"][1], "+Inf");

    // Errors: bad_data with the parser's message, 400.
    let (code, body) = s.get(&format!(
        "/api/v1/query?query={}",
        encode("sum(rate(x[5m])")
    ));
    assert_eq!(code, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["errorType"], "bad_data");
    assert!(
        v["error"].as_str().unwrap().contains("parse error")
            || v["error"].as_str().unwrap().contains("unclosed"),
        "{body}"
    );
    let (code, _) = s.get(&format!(
        "/api/v1/query_range?query=up&start={at}&end={}&step=0",
        at - 10
    ));
    assert_eq!(code, 400);

    // Form POST, as Grafana sends long queries.
    let form = format!("query={}&time={at}", encode("count(http_requests_total)"));
    let (code, body) = s
        .post(
            "/api/v1/query",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"2\""), "{body}");
}
