//! Shared test helpers: a recording sink and request builders.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use sightline_model::{AppendError, AppendReport, SampleSink, WriteBatch};
use sightline_remote_write::proto::v1;
use tower::ServiceExt;

/// What the recording sink answers.
#[derive(Clone)]
pub enum Mode {
    Accept,
    Report(AppendReport),
    Unavailable,
    Storage,
    Invalid,
}

/// Records every batch it receives and answers according to its mode.
pub struct RecordingSink {
    pub batches: Mutex<Vec<WriteBatch>>,
    pub mode: Mode,
}

impl RecordingSink {
    pub fn new(mode: Mode) -> Arc<Self> {
        Arc::new(RecordingSink {
            batches: Mutex::new(Vec::new()),
            mode,
        })
    }

    pub fn taken(&self) -> Vec<WriteBatch> {
        std::mem::take(&mut *self.batches.lock().unwrap())
    }
}

impl SampleSink for RecordingSink {
    fn append(&self, batch: WriteBatch) -> Result<AppendReport, AppendError> {
        let n = batch.sample_count() as u64;
        let ex = batch.series.iter().map(|s| s.exemplars.len() as u64).sum();
        self.batches.lock().unwrap().push(batch);
        match &self.mode {
            Mode::Accept => Ok(AppendReport {
                accepted: n,
                exemplars_accepted: ex,
                ..Default::default()
            }),
            Mode::Report(r) => Ok(r.clone()),
            Mode::Unavailable => Err(AppendError::Unavailable("head is full".into())),
            Mode::Storage => Err(AppendError::Storage("disk full".into())),
            Mode::Invalid => Err(AppendError::Invalid("nope".into())),
        }
    }
}

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
