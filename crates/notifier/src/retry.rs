//! Delivery with retries: exponential jittered backoff, `Retry-After` (seconds or
//! HTTP date) honoured, 4xx other than 429 final, and Slack webhooks paced by a
//! token bucket per URL (1 message/s, small burst). A message is retried until it
//! succeeds, fails permanently, or its deadline (the group's next notification
//! chance) passes.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use rand::Rng;
use tokio::time::Instant;

use crate::integrations::{Auth, Kind, Request};
use crate::metrics;

/// How a single attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Accepted.
    Ok,
    /// Worth retrying, optionally not before `after`.
    Retry {
        /// Server-requested delay.
        after: Option<Duration>,
        /// Short reason for metrics and logs.
        reason: String,
    },
    /// Will never succeed as is.
    Fatal {
        /// Short reason for metrics and logs.
        reason: String,
    },
}

/// The final outcome of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Delivered.
    Delivered,
    /// Rejected permanently (e.g. PagerDuty 400); not retried.
    Rejected(String),
    /// Still failing when the deadline passed; the next flush tries again.
    GaveUp(String),
}

/// Parses `Retry-After`: delta seconds or an HTTP date.
pub fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The backoff before retry number `n` (0-based): 250 ms doubling to 30 s, ±20 %.
pub fn backoff(n: u32) -> Duration {
    let base = 250u64.saturating_mul(1u64 << n.min(7)).min(30_000);
    let jitter = rand::rng().random_range(0.8..1.2);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// Classifies an HTTP answer for an integration.
pub fn classify(kind: Kind, status: u16, retry_after: Option<Duration>, body: &str) -> Attempt {
    let short: String = body.chars().take(200).collect();
    match status {
        200..=299 => Attempt::Ok,
        429 => Attempt::Retry {
            after: retry_after,
            reason: "rate_limited".into(),
        },
        500..=599 => Attempt::Retry {
            after: retry_after,
            reason: format!("status_{status}"),
        },
        408 => Attempt::Retry {
            after: retry_after,
            reason: "status_408".into(),
        },
        _ => Attempt::Fatal {
            reason: match kind {
                Kind::Slack if !short.is_empty() => format!("status_{status}: {short}"),
                _ => format!("status_{status}: {short}"),
            },
        },
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
    blocked_until: Option<Instant>,
}

/// Token buckets per webhook URL.
pub struct Pacer {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Pacer {
    /// `rate` messages per second with `burst` capacity.
    pub fn new(rate: f64, burst: f64) -> Self {
        Pacer {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a message may be sent to `url`.
    pub async fn acquire(&self, url: &str) {
        loop {
            let wait = {
                let mut m = self.buckets.lock();
                let now = Instant::now();
                let b = m.entry(url.to_string()).or_insert(Bucket {
                    tokens: self.burst,
                    last: now,
                    blocked_until: None,
                });
                b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * self.rate)
                    .min(self.burst);
                b.last = now;
                match b.blocked_until {
                    Some(t) if t > now => Some(t - now),
                    _ if b.tokens >= 1.0 => {
                        b.tokens -= 1.0;
                        None
                    }
                    _ => Some(Duration::from_secs_f64((1.0 - b.tokens) / self.rate)),
                }
            };
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// Holds every message to `url` until `until` (after a 429).
    pub fn block(&self, url: &str, until: Instant) {
        if let Some(b) = self.buckets.lock().get_mut(url) {
            b.blocked_until = Some(until);
            b.tokens = 0.0;
        }
    }
}

/// Delivers one request, retrying until `deadline`.
#[allow(clippy::too_many_arguments)]
pub async fn deliver(
    client: &reqwest::Client,
    pacer: &Pacer,
    kind: Kind,
    auth: &Auth,
    req: &Request,
    deadline: Instant,
    receiver: &str,
) -> Outcome {
    let labels = [kind.as_str(), receiver];
    let mut n = 0u32;
    loop {
        if kind == Kind::Slack {
            pacer.acquire(&req.url).await;
        }
        let attempt = once(client, kind, auth, req).await;
        let (after, reason) = match attempt {
            Attempt::Ok => return Outcome::Delivered,
            Attempt::Fatal { reason } => return Outcome::Rejected(reason),
            Attempt::Retry { after, reason } => (after, reason),
        };
        let wait = after
            .unwrap_or_else(|| backoff(n))
            .max(Duration::from_millis(10));
        if kind == Kind::Slack && after.is_some() {
            pacer.block(&req.url, Instant::now() + wait);
        }
        if Instant::now() + wait > deadline {
            return Outcome::GaveUp(reason);
        }
        tracing::warn!(integration = kind.as_str(), receiver, %reason, wait_ms = wait.as_millis() as u64, "notification failed, retrying");
        metrics::RETRIES.with_label_values(&labels).inc();
        tokio::time::sleep(wait).await;
        n += 1;
    }
}

async fn once(client: &reqwest::Client, kind: Kind, auth: &Auth, req: &Request) -> Attempt {
    let mut rb = client
        .post(&req.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "Sightline-Notifier")
        .body(req.body.clone());
    if let Some((u, p)) = &auth.basic {
        rb = rb.basic_auth(u, Some(p));
    }
    if let Some(h) = &auth.header {
        rb = rb.header("Authorization", h);
    }
    match rb.send().await {
        Err(e) => Attempt::Retry {
            after: None,
            reason: if e.is_timeout() {
                "timeout".into()
            } else {
                "connection".into()
            },
        },
        Ok(resp) => {
            let status = resp.status().as_u16();
            let ra = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let body = resp.text().await.unwrap_or_default();
            classify(kind, status, ra, &body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn classification() {
        assert_eq!(classify(Kind::PagerDuty, 202, None, ""), Attempt::Ok);
        assert!(matches!(
            classify(Kind::PagerDuty, 400, None, "bad"),
            Attempt::Fatal { .. }
        ));
        assert!(matches!(
            classify(Kind::PagerDuty, 503, None, ""),
            Attempt::Retry { .. }
        ));
        assert!(matches!(
            classify(Kind::Slack, 429, Some(Duration::from_secs(1)), ""),
            Attempt::Retry { after: Some(_), .. }
        ));
        assert!(matches!(
            classify(Kind::Slack, 404, None, "channel_not_found"),
            Attempt::Fatal { .. }
        ));
        for n in 0..12 {
            assert!(backoff(n) <= Duration::from_secs(36));
        }
    }

    #[tokio::test]
    async fn pacer_limits_rate_after_burst() {
        let p = Pacer::new(20.0, 2.0);
        let start = Instant::now();
        for _ in 0..4 {
            p.acquire("u").await;
        }
        // Two from the burst, two more at 20/s: at least ~100 ms.
        assert!(start.elapsed() >= Duration::from_millis(90));
    }
}
