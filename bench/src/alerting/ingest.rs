//! Alert ingestion through the Alertmanager API v2: N distinct active alerts are
//! posted to `/api/v2/alerts` in batches by a few concurrent clients (the rate is
//! measured), then re-posted periodically to keep them active while the server's
//! memory is read from `/proc`, and `GET /api/v2/alerts` must list all of them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::procstat;

/// Ingestion parameters.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IngestParams {
    /// Distinct alerts.
    pub alerts: usize,
    /// Alerts per request.
    pub batch: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// How long the alerts are kept active after the first post, seconds.
    pub hold_s: u64,
    /// Re-post period while holding, seconds.
    pub repost_every_s: u64,
}

/// What one system did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestResult {
    /// Alerts per second of the first post (creating every alert).
    pub create_alerts_per_s: Option<f64>,
    /// Alerts per second of the first re-post (every alert already known).
    pub update_alerts_per_s: Option<f64>,
    /// Server CPU seconds spent during the first post.
    pub create_cpu_s: Option<f64>,
    /// The harness' own CPU seconds (all its clients) during the first post.
    pub create_client_cpu_s: Option<f64>,
    /// Wall seconds of the first post.
    pub create_wall_s: Option<f64>,
    /// VmRSS before any alert was posted, bytes.
    pub rss_idle: Option<u64>,
    /// VmRSS at the end of the hold with every alert active, bytes.
    pub rss_active: Option<u64>,
    /// VmHWM at the end of the hold, bytes.
    pub hwm: Option<u64>,
    /// Alerts `GET /api/v2/alerts` listed at the end.
    pub listed: Option<usize>,
    /// Requests answered with an error status or not at all.
    pub failed_requests: usize,
    /// Failure description, if the scenario could not finish.
    pub error: Option<String>,
}

/// The request bodies: `alerts` distinct alerts in chunks of `batch`, active for an
/// hour from now (as a sender that re-posts them would say).
pub fn bodies(alerts: usize, batch: usize) -> Vec<String> {
    let now = SystemTime::now();
    let starts = humantime::format_rfc3339_seconds(now).to_string();
    let ends = humantime::format_rfc3339_seconds(now + Duration::from_secs(3600)).to_string();
    let ids: Vec<usize> = (0..alerts).collect();
    ids.chunks(batch.max(1))
        .map(|chunk| {
            let v: Vec<serde_json::Value> = chunk
                .iter()
                .map(|i| {
                    serde_json::json!({
                        "labels": {
                            "alertname": format!("BenchAlert{}", i % 50),
                            "instance": format!("host-{i:05}:9100"),
                            "job": "node",
                            "severity": if i % 10 == 0 { "critical" } else { "warning" },
                        },
                        "annotations": {
                            "summary": format!("bench alert {i} is firing"),
                            "runbook_url": "https://runbooks.example/bench",
                        },
                        "startsAt": starts,
                        "endsAt": ends,
                        "generatorURL": "http://bench.example/graph?g0.expr=up",
                    })
                })
                .collect();
            serde_json::Value::Array(v).to_string()
        })
        .collect()
}

/// Posts every body once with `clients` concurrent clients; returns the wall time and
/// the number of failed requests.
pub fn post_all(base: &str, bodies: &[String], clients: usize) -> (Duration, usize) {
    let url = format!("{base}/api/v2/alerts");
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients.max(1) {
            s.spawn(|| {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(body) = bodies.get(i) else { break };
                    let ok = agent
                        .post(&url)
                        .set("Content-Type", "application/json")
                        .send_string(body)
                        .is_ok_and(|r| r.status() / 100 == 2);
                    if !ok {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (start.elapsed(), failed.into_inner())
}

fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    procstat::parse_status_kb(&s, field)
}

/// Runs the scenario against the process `pid` serving the API at `base`.
pub fn run(base: &str, pid: u32, p: IngestParams, progress: &dyn Fn(&str)) -> IngestResult {
    let mut out = IngestResult::default();
    if let Err(e) = run_inner(base, pid, p, &mut out, progress) {
        out.error = Some(format!("{e:#}"));
    }
    out
}

fn run_inner(
    base: &str,
    pid: u32,
    p: IngestParams,
    out: &mut IngestResult,
    progress: &dyn Fn(&str),
) -> Result<()> {
    let bodies = bodies(p.alerts, p.batch);
    std::thread::sleep(Duration::from_secs(2));
    out.rss_idle = status_bytes(pid, "VmRSS");
    let cpu0 = procstat::cpu_seconds(pid).ok();
    let self0 = procstat::self_cpu_seconds().ok();
    let (wall, failed) = post_all(base, &bodies, p.clients);
    let cpu1 = procstat::cpu_seconds(pid).ok();
    let self1 = procstat::self_cpu_seconds().ok();
    out.create_client_cpu_s = self0.zip(self1).map(|(a, b)| b - a);
    out.create_wall_s = Some(wall.as_secs_f64());
    out.failed_requests += failed;
    out.create_alerts_per_s = Some(p.alerts as f64 / wall.as_secs_f64());
    out.create_cpu_s = cpu0.zip(cpu1).map(|(a, b)| b - a);
    progress(&format!(
        "posted {} alerts in {:.3} s ({failed} failed requests)",
        p.alerts,
        wall.as_secs_f64()
    ));
    let hold_end = Instant::now() + Duration::from_secs(p.hold_s);
    let mut first = true;
    while Instant::now() < hold_end {
        std::thread::sleep(Duration::from_secs(p.repost_every_s.max(1)));
        let (wall, failed) = post_all(base, &bodies, p.clients);
        out.failed_requests += failed;
        if first {
            out.update_alerts_per_s = Some(p.alerts as f64 / wall.as_secs_f64());
            first = false;
        }
    }
    out.rss_active = status_bytes(pid, "VmRSS");
    out.hwm = status_bytes(pid, "VmHWM");
    let text = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
        .get(&format!("{base}/api/v2/alerts"))
        .call()
        .context("GET /api/v2/alerts")?
        .into_string()
        .context("reading GET /api/v2/alerts")?;
    let listed: serde_json::Value =
        serde_json::from_str(&text).context("decoding GET /api/v2/alerts")?;
    let Some(list) = listed.as_array() else {
        bail!("GET /api/v2/alerts did not return an array");
    };
    out.listed = Some(list.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_hold_distinct_alerts_in_batches() {
        let b = bodies(250, 100);
        assert_eq!(b.len(), 3);
        let mut seen = std::collections::HashSet::new();
        for body in &b {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            for a in v.as_array().unwrap() {
                assert!(a["endsAt"].as_str().unwrap().ends_with('Z'));
                seen.insert(a["labels"].to_string());
            }
        }
        assert_eq!(seen.len(), 250);
    }
}
