//! Shared pieces of the alerting end-to-end tests: a scraped service whose error
//! counter can be switched into failure, and local contract receivers for PagerDuty
//! Events v2 and Slack incoming webhooks that record every request they answer
//! (when, with which status), optionally rate-limiting the first posts with 429.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// A service exposing `http_requests_total` whose 5xx counter grows while `failing`.
pub fn service(failing: Arc<AtomicBool>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    std::thread::spawn(move || {
        for mut conn in l.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = conn.read(&mut buf);
            if failing.load(Ordering::SeqCst) {
                errors.fetch_add(100, Ordering::SeqCst);
            } else {
                ok.fetch_add(100, Ordering::SeqCst);
            }
            let body = format!(
                "# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\"}} {}\nhttp_requests_total{{code=\"500\"}} {}\n",
                ok.load(Ordering::SeqCst),
                errors.load(Ordering::SeqCst)
            );
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Which contract a receiver enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// PagerDuty Events API v2 (`/v2/enqueue`).
    PagerDuty,
    /// Slack incoming webhook.
    Slack,
}

/// One request a receiver answered.
#[derive(Clone, Debug)]
pub struct Request {
    /// When the request was fully read.
    pub at: Instant,
    /// The HTTP status answered.
    pub status: u16,
    /// The JSON body (`null` when it did not parse).
    pub body: serde_json::Value,
}

impl Request {
    /// True when the receiver accepted it (2xx).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// True when `v` satisfies the contract parts the tests rely on: PagerDuty Events v2
/// (`routing_key` of 32 characters, `event_action`, `dedup_key` of 1–255 characters,
/// and on triggers `payload.summary` of 1–1024 characters, `source` and `severity`),
/// or Slack (`text` or `attachments`).
pub fn valid(kind: Kind, v: &serde_json::Value) -> bool {
    match kind {
        Kind::PagerDuty => {
            let action = v["event_action"].as_str().unwrap_or("");
            v["routing_key"].as_str().is_some_and(|k| k.len() == 32)
                && ["trigger", "resolve", "acknowledge"].contains(&action)
                && v["dedup_key"]
                    .as_str()
                    .is_some_and(|k| !k.is_empty() && k.len() <= 255)
                && (action != "trigger"
                    || (v["payload"]["summary"]
                        .as_str()
                        .is_some_and(|s| !s.is_empty() && s.len() <= 1024)
                        && v["payload"]["source"].is_string()
                        && ["critical", "error", "warning", "info"]
                            .contains(&v["payload"]["severity"].as_str().unwrap_or(""))))
        }
        Kind::Slack => v["text"].is_string() || v["attachments"].is_array(),
    }
}

/// Reads one HTTP/1.1 request's JSON body (by `Content-Length`).
fn read_body(reader: &mut impl BufRead) -> serde_json::Value {
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    serde_json::from_slice(&body).unwrap_or_default()
}

/// A contract receiver that answers the first `throttle_first` requests with 429 and
/// `Retry-After: retry_after_secs`, then enforces the contract ([`valid`]): 202
/// `success` / 400 `invalid event` for PagerDuty, 200 `ok` / 400 `no_text` for
/// Slack. Every request answered is sent on the channel, in arrival order.
pub fn recording_receiver(
    kind: Kind,
    throttle_first: usize,
    retry_after_secs: u64,
) -> (u16, mpsc::Receiver<Request>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let seen = AtomicUsize::new(0);
    std::thread::spawn(move || {
        for mut conn in l.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let body = read_body(&mut reader);
            let at = Instant::now();
            let throttled = seen.fetch_add(1, Ordering::SeqCst) < throttle_first;
            let ok = valid(kind, &body);
            let (status, reason, text, extra) = match (kind, throttled, ok) {
                (Kind::PagerDuty, true, _) => (
                    429,
                    "Too Many Requests",
                    "{\"status\":\"throttled\"}",
                    format!("Retry-After: {retry_after_secs}\r\n"),
                ),
                (Kind::Slack, true, _) => (
                    429,
                    "Too Many Requests",
                    "rate_limited",
                    format!("Retry-After: {retry_after_secs}\r\n"),
                ),
                (Kind::PagerDuty, _, true) => {
                    (202, "Accepted", "{\"status\":\"success\"}", String::new())
                }
                (Kind::PagerDuty, _, false) => (
                    400,
                    "Bad Request",
                    "{\"status\":\"invalid event\"}",
                    String::new(),
                ),
                (Kind::Slack, _, true) => (200, "OK", "ok", String::new()),
                (Kind::Slack, _, false) => (400, "Bad Request", "no_text", String::new()),
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = conn.flush();
            if tx.send(Request { at, status, body }).is_err() {
                break;
            }
        }
    });
    (port, rx)
}

/// A contract receiver that never throttles; only accepted bodies are sent on the
/// channel, and an invalid payload panics the receiver thread after answering 400.
pub fn receiver(kind: &'static str) -> (u16, mpsc::Receiver<serde_json::Value>) {
    let k = if kind == "pagerduty" {
        Kind::PagerDuty
    } else {
        Kind::Slack
    };
    let (port, requests) = recording_receiver(k, 0, 0);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for r in requests {
            assert!(
                r.accepted(),
                "{kind} receiver got an invalid payload: {}",
                r.body
            );
            if tx.send(r.body).is_err() {
                break;
            }
        }
    });
    (port, rx)
}

/// Waits up to `secs` for a request on `rx` matching `pred`, returning it; requests
/// that do not match are kept in `seen`. `None` on timeout.
pub fn wait_request(
    rx: &mpsc::Receiver<Request>,
    secs: u64,
    seen: &mut Vec<Request>,
    pred: impl Fn(&Request) -> bool,
) -> Option<Request> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        match rx.recv_timeout(left) {
            Ok(r) if pred(&r) => return Some(r),
            Ok(r) => seen.push(r),
            Err(mpsc::RecvTimeoutError::Timeout) => return None,
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Every request arriving on `rx` during the next `secs` seconds.
pub fn collect_for(rx: &mpsc::Receiver<Request>, secs: u64) -> Vec<Request> {
    let mut out = Vec::new();
    let _ = wait_request(rx, secs, &mut out, |_| false);
    out
}

/// A Prometheus rule file with one group evaluated every second holding
/// `CheckoutErrors`: any 5xx rate of the `checkout` job, severity critical. The
/// 10 s rate window (ten 1 s scrapes) keeps the alert steady when a loaded machine
/// delays a few scrapes or a restart leaves a gap.
pub const CHECKOUT_RULES: &str = "groups:\n  - name: checkout\n    interval: 1s\n    rules:\n      - alert: CheckoutErrors\n        expr: sum(rate(http_requests_total{job=\"checkout\",code=\"500\"}[10s])) > 0\n        labels: {severity: critical}\n        annotations:\n          summary: 'checkout is failing: {{ $value | humanize }} errors/s'\n          runbook_url: https://runbooks.example/checkout\n";

/// The sum of every sample of `name` in a Prometheus text exposition whose labels
/// contain all of `label_parts` (e.g. `integration="slack"`).
pub fn metric_sum(exposition: &str, name: &str, label_parts: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| label_parts.iter().all(|p| l.contains(p)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
