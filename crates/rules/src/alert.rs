//! Alerts as rules produce them, and their delivery to Alertmanagers.
//!
//! [`OutgoingAlert`] carries exactly the fields of Alertmanager's
//! `POST /api/v2/alerts` body. Rules hand batches to an [`AlertSender`]: the
//! built-in notifier implements it in-process, and [`HttpAlertSender`] forwards
//! to external Alertmanagers (`alerting.alertmanagers`) over HTTP.

use crate::metrics;
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where an alert is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertState {
    /// Resolved; kept for a while so the resolution is re-sent.
    Inactive,
    /// Active but not yet for the rule's `for` duration.
    Pending,
    /// Active for at least `for`: notified.
    Firing,
}

impl AlertState {
    /// Prometheus' spelling (`inactive`, `pending`, `firing`).
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert as sent to an Alertmanager (`POST /api/v2/alerts` item).
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingAlert {
    /// Identifying labels, including `alertname` and external labels.
    pub labels: BTreeMap<String, String>,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// When the alert started firing (Unix ms).
    pub starts_at: i64,
    /// When it resolved, or until when it is valid without a resend (Unix ms).
    pub ends_at: i64,
    /// Link back to the rule's expression in the console.
    pub generator_url: String,
}

impl OutgoingAlert {
    /// The JSON object Alertmanager's API v2 expects.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": rfc3339_ms(self.starts_at),
            "endsAt": rfc3339_ms(self.ends_at),
            "generatorURL": self.generator_url,
        })
    }

    /// True when `ends_at` is in the past relative to `now_ms` (a resolution).
    pub fn is_resolved_at(&self, now_ms: i64) -> bool {
        self.ends_at <= now_ms
    }
}

/// Receives alerts from the rule engine. Must not block for long: rule groups
/// call it from their evaluation.
pub trait AlertSender: Send + Sync {
    /// Delivers (or queues) a batch.
    fn send(&self, alerts: Vec<OutgoingAlert>);
}

/// A sender that drops everything (no Alertmanager configured).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopSender;

impl AlertSender for NoopSender {
    fn send(&self, _alerts: Vec<OutgoingAlert>) {}
}

/// Formats Unix milliseconds as Go's RFC 3339 with nanoseconds, trailing
/// fractional zeros trimmed (`2024-01-02T03:04:05.12Z`), as Prometheus emits.
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    if frac != 0 {
        s.push('.');
        s.push_str(format!("{frac:03}").trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Settings of [`HttpAlertSender`].
#[derive(Clone, Debug)]
pub struct HttpSenderOptions {
    /// Per-request timeout (Prometheus: 10s).
    pub timeout: Duration,
    /// Alerts held while Alertmanagers are slow; the oldest are dropped beyond
    /// it (Prometheus: 10000).
    pub queue_capacity: usize,
    /// Alerts per POST (Prometheus: 256).
    pub max_batch: usize,
}

impl Default for HttpSenderOptions {
    fn default() -> Self {
        HttpSenderOptions {
            timeout: Duration::from_secs(10),
            queue_capacity: 10_000,
            max_batch: 256,
        }
    }
}

struct Shared {
    queue: Mutex<VecDeque<OutgoingAlert>>,
    wake: tokio::sync::Notify,
    closed: AtomicBool,
    capacity: usize,
}

/// Forwards alerts to external Alertmanagers with `POST <url>/api/v2/alerts`.
///
/// Like Prometheus' notifier it does not retry a failed POST itself: the rule
/// engine re-sends every active alert each resend delay, and `endsAt` is set far
/// enough ahead (4 × max(interval, resend delay)) to survive missed sends.
pub struct HttpAlertSender {
    shared: Arc<Shared>,
}

impl HttpAlertSender {
    /// Starts the delivery task on the current tokio runtime. `urls` are
    /// Alertmanager base URLs (`http://am:9093`, path prefix allowed) or full
    /// `…/api/v2/alerts` endpoints.
    pub fn new(urls: Vec<String>, opts: HttpSenderOptions) -> Result<Self, String> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| "HttpAlertSender must be created inside a tokio runtime".to_string())?;
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        let endpoints: Vec<String> = urls
            .into_iter()
            .map(|u| {
                let u = u.trim_end_matches('/').to_string();
                if u.ends_with("/api/v2/alerts") {
                    u
                } else {
                    format!("{u}/api/v2/alerts")
                }
            })
            .collect();
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: tokio::sync::Notify::new(),
            closed: AtomicBool::new(false),
            capacity: opts.queue_capacity.max(1),
        });
        let s = shared.clone();
        let max_batch = opts.max_batch.max(1);
        handle.spawn(async move {
            loop {
                let batch: Vec<OutgoingAlert> = {
                    let mut q = s.queue.lock();
                    let n = q.len().min(max_batch);
                    q.drain(..n).collect()
                };
                if batch.is_empty() {
                    if s.closed.load(Ordering::Acquire) {
                        return;
                    }
                    s.wake.notified().await;
                    continue;
                }
                let body: Vec<serde_json::Value> = batch.iter().map(|a| a.to_json()).collect();
                let body = serde_json::Value::Array(body);
                for url in &endpoints {
                    post(&client, url, &body, batch.len()).await;
                }
            }
        });
        Ok(HttpAlertSender { shared })
    }

    /// Alerts waiting to be posted.
    pub fn queue_len(&self) -> usize {
        self.shared.queue.lock().len()
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &serde_json::Value, n: usize) {
    let t0 = std::time::Instant::now();
    let res = client.post(url).json(body).send().await;
    metrics::NOTIFY_LATENCY
        .with_label_values(&[url])
        .observe(t0.elapsed().as_secs_f64());
    match res {
        Ok(r) if r.status().is_success() => {
            metrics::ALERTS_SENT
                .with_label_values(&[url])
                .inc_by(n as u64);
        }
        Ok(r) => {
            metrics::NOTIFY_ERRORS
                .with_label_values(&[url])
                .inc_by(n as u64);
            tracing::warn!(alertmanager = url, status = %r.status(), alerts = n, "Alertmanager rejected alerts");
        }
        Err(e) => {
            metrics::NOTIFY_ERRORS
                .with_label_values(&[url])
                .inc_by(n as u64);
            tracing::warn!(alertmanager = url, error = %e, alerts = n, "error sending alerts");
        }
    }
}

impl AlertSender for HttpAlertSender {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        if alerts.is_empty() {
            return;
        }
        {
            let mut q = self.shared.queue.lock();
            q.extend(alerts);
            let over = q.len().saturating_sub(self.shared.capacity);
            if over > 0 {
                q.drain(..over);
                metrics::ALERTS_DROPPED.inc_by(over as u64);
            }
        }
        self.shared.wake.notify_one();
    }
}

impl Drop for HttpAlertSender {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn rfc3339_like_go() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_ms(1_435_065_584_120), "2015-06-23T13:19:44.12Z");
    }

    /// A one-shot HTTP server that records request bodies and answers 200.
    async fn receiver() -> (
        String,
        tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
    ) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 4096];
                    loop {
                        let n = s.read(&mut tmp).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&tmp[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some(h) = text.find("\r\n\r\n") {
                            let len = text[..h]
                                .lines()
                                .find_map(|l| {
                                    let l = l.to_ascii_lowercase();
                                    l.strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            if buf.len() >= h + 4 + len {
                                let line = text.lines().next().unwrap_or("").to_string();
                                let body =
                                    String::from_utf8_lossy(&buf[h + 4..h + 4 + len]).to_string();
                                let _ = tx.send((line, body));
                                let _ = s
                                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                                    .await;
                                buf.clear();
                            }
                        }
                    }
                });
            }
        });
        (format!("http://{addr}"), rx)
    }

    #[tokio::test]
    async fn posts_api_v2_json_to_every_alertmanager() {
        let (u1, mut r1) = receiver().await;
        let (u2, mut r2) = receiver().await;
        let s = HttpAlertSender::new(
            vec![u1, format!("{u2}/prefix/")],
            HttpSenderOptions::default(),
        )
        .unwrap();
        s.send(vec![OutgoingAlert {
            labels: [("alertname".to_string(), "Down".to_string())].into(),
            annotations: [("summary".to_string(), "x".to_string())].into(),
            starts_at: 1000,
            ends_at: 241_000,
            generator_url: "http://s/graph?g0.expr=up".into(),
        }]);
        let wait = Duration::from_secs(10);
        let (line, body) = tokio::time::timeout(wait, r1.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(line, "POST /api/v2/alerts HTTP/1.1");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"labels":{"alertname":"Down"},"annotations":{"summary":"x"},
                "startsAt":"1970-01-01T00:00:01Z","endsAt":"1970-01-01T00:04:01Z",
                "generatorURL":"http://s/graph?g0.expr=up"}])
        );
        let (line, _) = tokio::time::timeout(wait, r2.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(line, "POST /prefix/api/v2/alerts HTTP/1.1");
    }
}
