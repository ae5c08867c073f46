//! Sending pre-encoded requests: one thread per shard, each with its own keep-alive
//! connection, requests in order, retrying 5xx/429 and connection errors with
//! exponential backoff as Prometheus' remote_write queue does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::encode::{EncodedLoad, Request};
use crate::procstat;

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SendConfig {
    /// Full URL of the receiver, e.g. `http://127.0.0.1:9090/api/v1/write`.
    pub url: String,
    /// Retries of one request before giving up on the whole run.
    pub max_retries: u32,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// What happened while sending.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendReport {
    /// Samples in requests the receiver accepted (2xx).
    pub samples_accepted: u64,
    /// Samples in requests the receiver refused with a non-retryable 4xx.
    pub samples_rejected: u64,
    /// Requests sent successfully.
    pub requests: u64,
    /// Retries after 5xx/429/connection errors.
    pub retries: u64,
    /// Wall time of the sending phase, seconds.
    pub wall_seconds: f64,
    /// Accepted samples per wall-clock second.
    pub samples_per_second: f64,
    /// CPU seconds this (sending) process used meanwhile.
    pub sender_cpu_seconds: f64,
    /// True when sending stopped early because a request kept failing.
    pub aborted: bool,
    /// The first error seen (status and body, or transport error).
    pub first_error: Option<String>,
}

enum Outcome {
    Accepted,
    Rejected,
    GaveUp,
}

struct Shared {
    accepted: AtomicU64,
    rejected: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    abort: AtomicBool,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    fn note_error(&self, e: String) {
        if let Ok(mut g) = self.first_error.lock() {
            if g.is_none() {
                *g = Some(e);
            }
        }
    }
}

fn send_one(agent: &ureq::Agent, cfg: &SendConfig, req: &Request, sh: &Shared) -> Outcome {
    let mut backoff = Duration::from_millis(30);
    let mut attempt = 0u32;
    loop {
        if sh.abort.load(Ordering::Relaxed) {
            return Outcome::GaveUp;
        }
        let res = agent
            .post(&cfg.url)
            .set("Content-Type", "application/x-protobuf")
            .set("Content-Encoding", "snappy")
            .set("X-Prometheus-Remote-Write-Version", "0.1.0")
            .set("User-Agent", "sightline-bench-rw-load")
            .send_bytes(&req.body);
        let retryable = match res {
            Ok(resp) => {
                // Drain the body so the connection goes back to the pool.
                let _ = resp.into_string();
                return Outcome::Accepted;
            }
            Err(ureq::Error::Status(code, resp)) => {
                let body = resp.into_string().unwrap_or_default();
                let msg = format!(
                    "HTTP {code}: {}",
                    body.trim().chars().take(300).collect::<String>()
                );
                if code == 429 || code >= 500 {
                    sh.note_error(msg);
                    true
                } else {
                    sh.note_error(msg);
                    return Outcome::Rejected;
                }
            }
            Err(e) => {
                sh.note_error(format!("transport: {e}"));
                true
            }
        };
        if retryable {
            attempt += 1;
            if attempt > cfg.max_retries {
                sh.abort.store(true, Ordering::Relaxed);
                return Outcome::GaveUp;
            }
            sh.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

/// Sends every shard's requests concurrently (one thread per shard) and reports.
pub fn send(load: &EncodedLoad, cfg: &SendConfig) -> SendReport {
    let sh = Shared {
        accepted: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        abort: AtomicBool::new(false),
        first_error: Mutex::new(None),
    };
    let cpu0 = procstat::self_cpu_seconds().unwrap_or(0.0);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for reqs in &load.shards {
            let sh = &sh;
            scope.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(cfg.timeout)
                    .max_idle_connections_per_host(1)
                    .build();
                for req in reqs {
                    match send_one(&agent, cfg, req, sh) {
                        Outcome::Accepted => {
                            sh.accepted.fetch_add(req.samples as u64, Ordering::Relaxed);
                            sh.requests.fetch_add(1, Ordering::Relaxed);
                        }
                        Outcome::Rejected => {
                            sh.rejected.fetch_add(req.samples as u64, Ordering::Relaxed);
                        }
                        Outcome::GaveUp => break,
                    }
                }
            });
        }
    });
    let wall = t0.elapsed().as_secs_f64();
    let accepted = sh.accepted.load(Ordering::Relaxed);
    SendReport {
        samples_accepted: accepted,
        samples_rejected: sh.rejected.load(Ordering::Relaxed),
        requests: sh.requests.load(Ordering::Relaxed),
        retries: sh.retries.load(Ordering::Relaxed),
        wall_seconds: wall,
        samples_per_second: if wall > 0.0 {
            accepted as f64 / wall
        } else {
            0.0
        },
        sender_cpu_seconds: procstat::self_cpu_seconds().unwrap_or(0.0) - cpu0,
        aborted: sh.abort.load(Ordering::Relaxed),
        first_error: sh.first_error.into_inner().ok().flatten(),
    }
}
