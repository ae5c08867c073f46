//! `/api/v1/query_exemplars` and the `warnings`/`infos` envelope, end to end
//! through the router over a real TSDB.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sightline_model::{Exemplar, Labels, Sample, TimeSeries, WriteBatch};
use sightline_prom_api::{router, QueryApi, QueryConfig, TsdbQueryable};
use sightline_tsdb::{StorageConfig, Tsdb};
use tower::ServiceExt;

async fn get(app: &axum::Router, uri: &str) -> Value {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn exemplars_of_the_query_selectors_and_separate_infos() {
    let dir = tempfile::tempdir().unwrap();
    let tsdb = Tsdb::open(dir.path(), StorageConfig::default()).unwrap();
    let series = |name: &str, trace: &str| TimeSeries {
        labels: Labels::from_pairs([("__name__", name), ("job", "a")]),
        samples: (0..10).map(|i| Sample::new(i * 15_000, i as f64)).collect(),
        exemplars: vec![Exemplar {
            labels: Labels::from_pairs([("trace_id", trace)]),
            value: 1.0,
            t: 1_500,
        }],
    };
    tsdb.append(WriteBatch {
        series: vec![
            series("req_total", "abc"),
            series("other_total", "def"),
            series("gauge", "ghi"),
        ],
        metadata: vec![],
    })
    .unwrap();
    let api = Arc::new(QueryApi::new(
        TsdbQueryable(tsdb.clone()),
        &QueryConfig::default(),
    ));
    let app = router(tsdb, api);

    let v = get(
        &app,
        "/api/v1/query_exemplars?query=sum(rate(req_total%5B5m%5D))&start=0&end=100",
    )
    .await;
    assert_eq!(
        v,
        json!({"status": "success", "data": [{
            "seriesLabels": {"__name__": "req_total", "job": "a"},
            "exemplars": [{"labels": {"trace_id": "abc"}, "value": "1", "timestamp": 1.5}],
        }]})
    );

    // Outside the time range: nothing.
    let v = get(
        &app,
        "/api/v1/query_exemplars?query=req_total&start=10&end=100",
    )
    .await;
    assert_eq!(v, json!({"status": "success", "data": []}));

    // Bad query: positioned parse error.
    let v = get(&app, "/api/v1/query_exemplars?query=sum(req_total").await;
    assert_eq!(v["errorType"], "bad_data");
    assert_eq!(
        v["error"],
        "invalid parameter \"query\": 1:14: parse error: unclosed left parenthesis"
    );

    // An info annotation (not a counter name) goes to `infos`, not `warnings`.
    let v = get(&app, "/api/v1/query?query=rate(gauge%5B5m%5D)&time=100").await;
    assert_eq!(v["status"], "success");
    assert!(v.get("warnings").is_none(), "{v}");
    assert_eq!(
        v["infos"],
        json!([
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"gauge\""
        ])
    );
    // A warning alone goes to `warnings`.
    let v = get(
        &app,
        "/api/v1/query?query=quantile_over_time(2,req_total%5B5m%5D)&time=100",
    )
    .await;
    assert!(v.get("infos").is_none(), "{v}");
    assert_eq!(v["warnings"].as_array().map(|a| a.len()), Some(1), "{v}");
}
