//! Local contract receivers for PagerDuty Events v2 and Slack incoming webhooks,
//! enforcing their documented contracts and recording what they accepted, plus
//! small helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};

/// A forced answer for the next request.
#[derive(Clone, Debug)]
pub enum Forced {
    /// Answer with this status, an optional Retry-After, and a body.
    Status(u16, Option<&'static str>, &'static str),
}

/// Shared recording state of a contract receiver.
#[derive(Default)]
pub struct Recorder {
    /// Accepted requests (parsed JSON).
    pub accepted: Mutex<Vec<Value>>,
    /// Rejected requests with the reason.
    pub rejected: Mutex<Vec<(u16, String)>>,
    /// Answers to force before applying the contract.
    pub forced: Mutex<VecDeque<Forced>>,
    /// Requests seen in total.
    pub seen: Mutex<usize>,
}

impl Recorder {
    /// Accepted requests so far.
    pub fn accepted(&self) -> Vec<Value> {
        self.accepted.lock().clone()
    }
}

/// A running contract receiver.
pub struct Receiver {
    /// Its address.
    pub addr: SocketAddr,
    /// What it recorded.
    pub rec: Arc<Recorder>,
}

impl Receiver {
    /// The URL to configure.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

fn forced(rec: &Recorder) -> Option<Response> {
    *rec.seen.lock() += 1;
    let f = rec.forced.lock().pop_front()?;
    let Forced::Status(code, ra, body) = f;
    let mut h = HeaderMap::new();
    if let Some(ra) = ra {
        h.insert("retry-after", HeaderValue::from_static(ra));
    }
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    rec.rejected.lock().push((code, body.to_string()));
    Some((status, h, body.to_string()).into_response())
}

/// Validates one PagerDuty Events v2 event; returns the list of problems.
pub fn pd_problems(ev: &Value) -> Vec<String> {
    let mut p = Vec::new();
    match ev.get("routing_key").and_then(Value::as_str) {
        Some(k) if k.len() == 32 => {}
        _ => p.push("routing_key must be a 32 character string".to_string()),
    }
    let action = ev.get("event_action").and_then(Value::as_str).unwrap_or("");
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        p.push(format!("event_action {action:?} invalid"));
    }
    match ev.get("dedup_key") {
        Some(Value::String(k)) if k.len() <= 255 && !k.is_empty() => {}
        None if action == "trigger" => {}
        _ => p.push("dedup_key missing or longer than 255".into()),
    }
    if action == "trigger" {
        let pl = ev.get("payload");
        match pl.and_then(|x| x.get("summary")).and_then(Value::as_str) {
            Some(s) if !s.is_empty() && s.chars().count() <= 1024 => {}
            _ => p.push("payload.summary required, at most 1024 characters".into()),
        }
        match pl.and_then(|x| x.get("source")).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => {}
            _ => p.push("payload.source required".into()),
        }
        match pl.and_then(|x| x.get("severity")).and_then(Value::as_str) {
            Some("critical" | "error" | "warning" | "info") => {}
            other => p.push(format!("payload.severity {other:?} invalid")),
        }
        if let Some(Value::Array(imgs)) = ev.get("images") {
            for i in imgs {
                if !i
                    .get("src")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.starts_with("https://"))
                {
                    p.push("images[].src must be https".into());
                }
            }
        }
    }
    p
}

async fn pd_handler(State(rec): State<Arc<Recorder>>, body: Bytes) -> Response {
    if let Some(r) = forced(&rec) {
        return r;
    }
    if body.len() > 512 * 1024 {
        rec.rejected.lock().push((400, "too large".into()));
        return (StatusCode::BAD_REQUEST, "payload too large").into_response();
    }
    let ev: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            rec.rejected.lock().push((400, e.to_string()));
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    json!({"status": "invalid event", "message": "Event object is invalid"}),
                ),
            )
                .into_response();
        }
    };
    let problems = pd_problems(&ev);
    if !problems.is_empty() {
        rec.rejected.lock().push((400, problems.join("; ")));
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"status": "invalid event", "message": "Event object is invalid", "errors": problems})),
        )
            .into_response();
    }
    let key = ev.get("dedup_key").cloned().unwrap_or(json!("generated"));
    rec.accepted.lock().push(ev);
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"status": "success", "message": "Event processed", "dedup_key": key})),
    )
        .into_response()
}

async fn slack_handler(State(rec): State<Arc<Recorder>>, body: Bytes) -> Response {
    if let Some(r) = forced(&rec) {
        return r;
    }
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            rec.rejected.lock().push((400, "invalid_payload".into()));
            return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
        }
    };
    let has_text = msg
        .get("text")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty())
        || msg
            .get("attachments")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        || msg
            .get("blocks")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
    if !has_text {
        rec.rejected.lock().push((400, "no_text".into()));
        return (StatusCode::BAD_REQUEST, "no_text").into_response();
    }
    if msg.get("channel").and_then(Value::as_str) == Some("#does-not-exist") {
        rec.rejected.lock().push((404, "channel_not_found".into()));
        return (StatusCode::NOT_FOUND, "channel_not_found").into_response();
    }
    rec.accepted.lock().push(msg);
    (StatusCode::OK, "ok").into_response()
}

async fn webhook_handler(State(rec): State<Arc<Recorder>>, body: Bytes) -> Response {
    if let Some(r) = forced(&rec) {
        return r;
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) => {
            rec.accepted.lock().push(v);
            StatusCode::OK.into_response()
        }
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// Serves a router on an ephemeral local port.
pub async fn serve(app: Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(l, app).await.unwrap();
    });
    addr
}

/// Starts a PagerDuty Events v2 contract receiver (`POST /v2/enqueue`).
pub async fn pagerduty() -> Receiver {
    let rec = Arc::new(Recorder::default());
    let app = Router::new()
        .route("/v2/enqueue", post(pd_handler))
        .with_state(rec.clone());
    Receiver {
        addr: serve(app).await,
        rec,
    }
}

/// Starts a Slack incoming-webhook contract receiver (`POST /hook`).
pub async fn slack() -> Receiver {
    let rec = Arc::new(Recorder::default());
    let app = Router::new()
        .route("/hook", post(slack_handler))
        .with_state(rec.clone());
    Receiver {
        addr: serve(app).await,
        rec,
    }
}

/// Starts a webhook receiver recording payloads (`POST /hook`).
pub async fn webhook() -> Receiver {
    let rec = Arc::new(Recorder::default());
    let app = Router::new()
        .route("/hook", post(webhook_handler))
        .with_state(rec.clone());
    Receiver {
        addr: serve(app).await,
        rec,
    }
}

/// Waits until `cond` holds, polling every 10 ms, or panics after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        if start.elapsed() > timeout {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A valid 32-character PagerDuty routing key.
pub const ROUTING_KEY: &str = "0123456789abcdef0123456789abcdef";

/// Path to `amtool` when installed.
pub fn amtool() -> Option<std::path::PathBuf> {
    ["/usr/bin/amtool", "/usr/local/bin/amtool"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}
