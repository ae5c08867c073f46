//! Shared test helpers: a recording sink and request builders.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use sightline_remote_write::proto::v1;
use tower::ServiceExt;

#[allow(unused_imports)] // not every test binary uses both
pub use sightline_model::testing::{Mode, RecordingSink};

pub fn label(n: &str, v: &str) -> v1::Label {
    v1::Label {
        name: n.into(),
        value: v.into(),
    }
}

pub fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: labels.iter().map(|(n, v)| label(n, v)).collect(),
        samples: samples
            .iter()
            .map(|&(t, v)| v1::Sample {
                value: v,
                timestamp: t,
            })
            .collect(),
        exemplars: vec![],
        histograms: vec![],
    }
}

pub fn post(body: Vec<u8>, content_type: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri("/api/v1/write")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0");
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(Body::from(body)).unwrap()
}

pub async fn send(router: axum::Router, req: Request<Body>) -> (StatusCode, Response<Body>) {
    let resp = router.oneshot(req).await.unwrap();
    (resp.status(), resp)
}

pub async fn body_text(resp: Response<Body>) -> String {
    let b = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}
