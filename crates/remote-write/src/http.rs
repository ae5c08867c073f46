//! The HTTP endpoint: `POST /api/v1/write`.
//!
//! Status codes follow what Prometheus' own receiver answers, because senders
//! decide on retries from them: 204 stored; 400 for data that will never be accepted
//! (bad body, invalid series, and samples storage rejected after keeping the valid
//! ones); 413 for bodies over the limits; 415 for unsupported content types; 503 when
//! storage is temporarily unavailable and 500 when it failed (both retried).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sightline_model::{AppendError, AppendReport, SampleSink};

use crate::decode::{decode_v1_with_stats, decode_v2_with_stats, DecodeError, DecodeStats};
use crate::limits::Limits;
use crate::metrics;

/// Response header: float samples written (remote_write 2.0).
pub const SAMPLES_WRITTEN: &str = "x-prometheus-remote-write-samples-written";
/// Response header: native histogram samples written (remote_write 2.0).
pub const HISTOGRAMS_WRITTEN: &str = "x-prometheus-remote-write-histograms-written";
/// Response header: exemplars written (remote_write 2.0).
pub const EXEMPLARS_WRITTEN: &str = "x-prometheus-remote-write-exemplars-written";

/// The protobuf message a request carries, chosen by its Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `prometheus.WriteRequest` (remote_write 1.0; the default).
    V1,
    /// `io.prometheus.write.v2.Request`.
    V2,
}

/// Picks the protocol from `Content-Type` and checks `Content-Encoding`; the error is
/// the message of a 415 answer.
pub fn negotiate(headers: &HeaderMap) -> Result<Protocol, String> {
    if let Some(enc) = headers.get(header::CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("").trim();
        if !enc.eq_ignore_ascii_case("snappy") {
            return Err(format!(
                "unsupported Content-Encoding {enc:?}: only snappy is accepted"
            ));
        }
    }
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Protocol::V1);
    };
    let ct = ct
        .to_str()
        .map_err(|_| "Content-Type is not ASCII".to_string())?;
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-protobuf") {
        return Err(format!(
            "unsupported Content-Type {media:?}: expected application/x-protobuf"
        ));
    }
    for p in parts {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("proto") {
            return match v.trim().trim_matches('"') {
                "prometheus.WriteRequest" => Ok(Protocol::V1),
                "io.prometheus.write.v2.Request" => Ok(Protocol::V2),
                other => Err(format!(
                    "unsupported proto message {other:?}: expected prometheus.WriteRequest \
                     or io.prometheus.write.v2.Request"
                )),
            };
        }
    }
    Ok(Protocol::V1)
}

struct Ctx {
    sink: Arc<dyn SampleSink>,
    limits: Limits,
}

/// Builds the router serving `POST /api/v1/write`, writing to `sink`.
pub fn router(sink: Arc<dyn SampleSink>, limits: Limits) -> Router {
    Router::new()
        .route("/api/v1/write", post(write))
        .with_state(Arc::new(Ctx { sink, limits }))
}

/// The outcome of the blocking part (decode + append).
enum Outcome {
    Decode(DecodeError),
    Append(AppendError),
    Stored(AppendReport, DecodeStats),
}

async fn write(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Body) -> Response {
    let start = Instant::now();
    let resp = handle(ctx, headers, body).await;
    metrics::REQUESTS
        .with_label_values(&[resp.status().as_str()])
        .inc();
    metrics::DURATION.observe(start.elapsed().as_secs_f64());
    resp
}

fn text(code: StatusCode, msg: impl Into<String>) -> Response {
    let mut m = msg.into();
    m.push('\n');
    (code, m).into_response()
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds the limit of {limit} bytes"),
        )),
        Err(e) => Err(text(
            StatusCode::BAD_REQUEST,
            format!("reading request body: {e}"),
        )),
    }
}

async fn handle(ctx: Arc<Ctx>, headers: HeaderMap, body: Body) -> Response {
    let proto = match negotiate(&headers) {
        Ok(p) => p,
        Err(msg) => return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, msg),
    };
    let body = match read_body(body, ctx.limits.max_compressed_bytes).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let job = tokio::task::spawn_blocking(move || {
        let decoded = match proto {
            Protocol::V1 => decode_v1_with_stats(&body, &ctx.limits),
            Protocol::V2 => decode_v2_with_stats(&body, &ctx.limits),
        };
        let (batch, stats) = match decoded {
            Ok(x) => x,
            Err(e) => return Outcome::Decode(e),
        };
        metrics::DECODE_BYTES.inc_by(stats.decompressed_bytes);
        metrics::SAMPLES_RECEIVED.inc_by(stats.samples);
        if stats.histograms > 0 {
            metrics::SAMPLES_REJECTED
                .with_label_values(&["native_histogram"])
                .inc_by(stats.histograms);
        }
        if batch.series.is_empty() && batch.metadata.is_empty() {
            return Outcome::Stored(AppendReport::default(), stats);
        }
        match ctx.sink.append(batch) {
            Ok(report) => Outcome::Stored(report, stats),
            Err(e) => Outcome::Append(e),
        }
    });
    let outcome = match job.await {
        Ok(o) => o,
        Err(e) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("write task failed: {e}"),
            )
        }
    };
    match outcome {
        Outcome::Decode(e) => {
            let code = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
            text(code, e.to_string())
        }
        Outcome::Append(e) => {
            let code = match e {
                AppendError::Invalid(_) => StatusCode::BAD_REQUEST,
                AppendError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AppendError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            text(code, e.to_string())
        }
        Outcome::Stored(report, stats) => stored(proto, &report, &stats),
    }
}

fn stored(proto: Protocol, report: &AppendReport, stats: &DecodeStats) -> Response {
    for (reason, n) in [
        ("out_of_order", report.out_of_order),
        ("too_old", report.too_old),
        ("conflicting", report.conflicting),
    ] {
        if n > 0 {
            metrics::SAMPLES_REJECTED
                .with_label_values(&[reason])
                .inc_by(n);
        }
    }
    let mut resp = if report.rejected() > 0 {
        let first = report
            .first_error
            .clone()
            .unwrap_or_else(|| "some samples were rejected by storage".into());
        text(
            StatusCode::BAD_REQUEST,
            format!(
                "{} of {} samples rejected ({} out of order, {} too old, {} conflicting); first: {first}",
                report.rejected(),
                stats.samples,
                report.out_of_order,
                report.too_old,
                report.conflicting
            ),
        )
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    if proto == Protocol::V2 {
        let h = resp.headers_mut();
        let written = report.accepted + report.duplicates;
        h.insert(SAMPLES_WRITTEN, HeaderValue::from(written));
        h.insert(HISTOGRAMS_WRITTEN, HeaderValue::from(0u64));
        h.insert(
            EXEMPLARS_WRITTEN,
            HeaderValue::from(report.exemplars_accepted),
        );
    }
    resp
}
