//! Detection-to-notification latency: the service is switched into failure at a
//! random moment, the time until the webhook receiver gets the firing notification is
//! measured, then the service recovers and the run waits for the resolve before the
//! next one (so each run starts from a resolved, re-armed alert).

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::Rng;
use serde::Serialize;

use super::receiver::Receiver;
use super::service::Service;

/// The alert rule every system evaluates: any error in the last 3 s.
pub fn rule_file(evaluation_s: u64) -> String {
    format!(
        "groups:\n  - name: bench\n    interval: {evaluation_s}s\n    rules:\n      - alert: BenchErrors\n        expr: rate(bench_errors_total[3s]) > 0\n        labels: {{severity: critical}}\n        annotations: {{summary: 'bench service is failing'}}\n"
    )
}

/// What the repeated runs measured for one system.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencyResult {
    /// Latency of each run that got its page, seconds.
    pub latencies_s: Vec<f64>,
    /// Time from recovery to the resolve notification of each run, seconds.
    pub resolve_s: Vec<f64>,
    /// Runs attempted.
    pub runs: usize,
    /// Failures (no page, no resolve), as text.
    pub failures: Vec<String>,
}

impl LatencyResult {
    /// Median latency, seconds.
    pub fn median(&self) -> Option<f64> {
        median(&self.latencies_s)
    }

    /// Largest latency, seconds.
    pub fn max(&self) -> Option<f64> {
        self.latencies_s.iter().copied().reduce(f64::max)
    }

    /// Whether every run paged within `bound_s`.
    pub fn all_within(&self, bound_s: f64) -> bool {
        self.failures.is_empty()
            && self.latencies_s.len() == self.runs
            && self.latencies_s.iter().all(|&l| l <= bound_s)
    }

    /// Runs that paged within `bound_s`.
    pub fn within(&self, bound_s: f64) -> usize {
        self.latencies_s.iter().filter(|&&l| l <= bound_s).count()
    }
}

/// The median of `v` (mean of the middle two for even lengths).
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

/// Runs `runs` failure/recovery cycles against a system that scrapes `service` and
/// notifies `receiver`. `warmup` lets the first scrapes and evaluations happen before
/// the first run; each switch happens after a random pause of 1–3 s so it falls at a
/// random phase of the scrape and evaluation schedules. `timeout` bounds each wait.
pub fn run(
    service: &Service,
    receiver: &Receiver,
    runs: usize,
    warmup: Duration,
    timeout: Duration,
    rng: &mut SmallRng,
    progress: &dyn Fn(&str),
) -> LatencyResult {
    let mut out = LatencyResult {
        runs,
        ..Default::default()
    };
    service.set_failing(false);
    std::thread::sleep(warmup);
    let early = receiver.drain();
    if !early.is_empty() {
        out.failures.push(format!(
            "{} notification(s) before any failure was injected",
            early.len()
        ));
    }
    for i in 0..runs {
        std::thread::sleep(Duration::from_millis(rng.random_range(1000..3000)));
        receiver.drain();
        service.set_failing(true);
        let switched = Instant::now();
        match receiver.wait_for("firing", timeout) {
            Some(n) => {
                let l = n.at.duration_since(switched).as_secs_f64();
                out.latencies_s.push(l);
                progress(&format!("run {}/{runs}: paged after {l:.3} s", i + 1));
            }
            None => {
                out.failures
                    .push(format!("run {}: no page within {timeout:?}", i + 1));
                progress(&format!("run {}/{runs}: no page", i + 1));
            }
        }
        service.set_failing(false);
        let recovered = Instant::now();
        match receiver.wait_for("resolved", timeout) {
            Some(n) => out
                .resolve_s
                .push(n.at.duration_since(recovered).as_secs_f64()),
            None => {
                out.failures
                    .push(format!("run {}: no resolve within {timeout:?}", i + 1));
                progress(&format!("run {}/{runs}: no resolve; stopping", i + 1));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_bounds() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let r = LatencyResult {
            latencies_s: vec![1.0, 3.0, 4.5],
            runs: 3,
            ..Default::default()
        };
        assert_eq!(r.max(), Some(4.5));
        assert_eq!(r.within(4.0), 2);
        assert!(!r.all_within(4.0));
        assert!(r.all_within(5.0));
    }
}
