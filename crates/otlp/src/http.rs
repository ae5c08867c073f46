//! OTLP/HTTP metrics endpoint: `POST /v1/metrics`.
//!
//! Accepts `application/x-protobuf` and `application/json` bodies, optionally gzip
//! compressed, and answers in the request's encoding: 200 with an
//! `ExportMetricsServiceResponse` (with `partial_success` when points were
//! rejected); 400 for undecodable payloads; 413 for bodies over the limits; 415 for
//! other content types or encodings; 503 with `Retry-After` when storage is
//! temporarily unavailable (OTLP exporters retry it); 500 when storage failed.
//! Error bodies are `google.rpc.Status` messages as the OTLP spec asks.

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;
use sightline_model::{AppendError, SampleSink};

use crate::convert::Rejections;
use crate::ingest::{ingest_blocking, partial_success};
use crate::{json, metrics};

/// Largest accepted request body as sent (possibly compressed).
pub const MAX_BODY_BYTES: usize = 32 << 20;
/// Largest accepted body after gzip decompression.
pub const MAX_DECOMPRESSED_BYTES: usize = 128 << 20;
/// Seconds a sender is asked to wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// The payload encoding of a request (and of its answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// `google.rpc.Status`, the error body of OTLP/HTTP.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Builds the router serving `POST /v1/metrics`, writing to `sink`.
pub fn http_router(sink: Arc<dyn SampleSink>) -> Router {
    Router::new()
        .route("/v1/metrics", post(export))
        .with_state(sink)
}

async fn export(
    State(sink): State<Arc<dyn SampleSink>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let resp = handle(sink, headers, body).await;
    metrics::REQUESTS
        .with_label_values(&["metrics", "http", resp.status().as_str()])
        .inc();
    resp
}

fn plain(code: StatusCode, msg: String) -> Response {
    (code, msg + "\n").into_response()
}

/// An error answer with a `google.rpc.Status` body in the request's encoding.
fn status(enc: Encoding, code: StatusCode, grpc_code: i32, msg: String) -> Response {
    let body = match enc {
        Encoding::Protobuf => RpcStatus {
            code: grpc_code,
            message: msg,
        }
        .encode_to_vec(),
        Encoding::Json => json::encode_status(grpc_code, &msg),
    };
    (
        code,
        [(header::CONTENT_TYPE, enc.content_type())],
        Bytes::from(body),
    )
        .into_response()
}

fn negotiate(headers: &HeaderMap) -> Result<(Encoding, bool), String> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let enc = match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        other => {
            return Err(format!(
                "unsupported Content-Type {other:?}: use application/x-protobuf or application/json"
            ))
        }
    };
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
    {
        None => false,
        Some(e) if e.is_empty() || e == "identity" => false,
        Some(e) if e == "gzip" => true,
        Some(e) => {
            return Err(format!(
                "unsupported Content-Encoding {e:?}: use gzip or none"
            ))
        }
    };
    Ok((enc, gzip))
}

enum Failure {
    TooLarge(String),
    Bad(String),
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(body.len() * 4);
    let mut r = flate2::read::MultiGzDecoder::new(body).take(MAX_DECOMPRESSED_BYTES as u64 + 1);
    r.read_to_end(&mut out)
        .map_err(|e| Failure::Bad(format!("body is not valid gzip: {e}")))?;
    if out.len() > MAX_DECOMPRESSED_BYTES {
        return Err(Failure::TooLarge(format!(
            "decompressed body exceeds the limit of {MAX_DECOMPRESSED_BYTES} bytes"
        )));
    }
    Ok(out)
}

fn decode(enc: Encoding, gzip: bool, body: &[u8]) -> Result<ExportMetricsServiceRequest, Failure> {
    let owned;
    let raw = if gzip {
        owned = gunzip(body)?;
        &owned[..]
    } else {
        body
    };
    match enc {
        Encoding::Protobuf => ExportMetricsServiceRequest::decode(raw).map_err(|e| {
            Failure::Bad(format!("invalid ExportMetricsServiceRequest protobuf: {e}"))
        }),
        Encoding::Json => json::decode_request(raw)
            .map_err(|e| Failure::Bad(format!("invalid ExportMetricsServiceRequest JSON: {e}"))),
    }
}

enum Outcome {
    Failed(Failure),
    Stored(Rejections),
    Refused(AppendError),
}

async fn handle(sink: Arc<dyn SampleSink>, headers: HeaderMap, body: Body) -> Response {
    let (enc, gzip) = match negotiate(&headers) {
        Ok(x) => x,
        Err(m) => return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, m),
    };
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return status(
                enc,
                StatusCode::PAYLOAD_TOO_LARGE,
                3,
                format!("request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
            )
        }
        Err(e) => {
            return status(
                enc,
                StatusCode::BAD_REQUEST,
                3,
                format!("reading body: {e}"),
            )
        }
    };
    let job = tokio::task::spawn_blocking(move || match decode(enc, gzip, &body) {
        Err(f) => Outcome::Failed(f),
        Ok(req) => match ingest_blocking(sink.as_ref(), req) {
            Ok(r) => Outcome::Stored(r),
            Err(e) => Outcome::Refused(e),
        },
    });
    let outcome = match job.await {
        Ok(o) => o,
        Err(e) => {
            return status(
                enc,
                StatusCode::INTERNAL_SERVER_ERROR,
                13,
                format!("export task failed: {e}"),
            )
        }
    };
    match outcome {
        Outcome::Failed(Failure::Bad(m)) => status(enc, StatusCode::BAD_REQUEST, 3, m),
        Outcome::Failed(Failure::TooLarge(m)) => status(enc, StatusCode::PAYLOAD_TOO_LARGE, 3, m),
        Outcome::Refused(AppendError::Unavailable(m)) => {
            let mut r = status(enc, StatusCode::SERVICE_UNAVAILABLE, 14, m);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            r
        }
        Outcome::Refused(AppendError::Invalid(m)) => status(enc, StatusCode::BAD_REQUEST, 3, m),
        Outcome::Refused(AppendError::Storage(m)) => {
            status(enc, StatusCode::INTERNAL_SERVER_ERROR, 13, m)
        }
        Outcome::Stored(r) => {
            let partial = partial_success(&r);
            let body = match enc {
                Encoding::Protobuf => ExportMetricsServiceResponse {
                    partial_success: partial,
                }
                .encode_to_vec(),
                Encoding::Json => json::encode_response(partial.as_ref()),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, enc.content_type())],
                Bytes::from(body),
            )
                .into_response()
        }
    }
}
