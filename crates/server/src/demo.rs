//! The built-in demo workload: a small fleet of simulated microservices.
//!
//! `sightline serve --demo` shows the whole path working on a fresh machine without
//! anything else installed. Each simulated service exposes realistic RED metrics
//! (request counters by method and status code, a latency histogram, in-flight gauge)
//! in the Prometheus text format at `/demo/<service>/metrics`, and the demo adds a
//! scrape job for them, so the data flows through the real scrape path into the TSDB.
//! Every few minutes one service has an "incident": its error ratio and latency rise
//! for a minute, which gives dashboards and (later) SLO alerts something to show.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The simulated services.
pub const SERVICES: [&str; 4] = ["checkout", "payments", "search", "frontend"];

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const ROUTES: [(&str, &str); 3] = [
    ("GET", "/api/items"),
    ("POST", "/api/orders"),
    ("GET", "/healthz"),
];

/// Cumulative state of one simulated service.
#[derive(Default)]
struct ServiceState {
    last_ms: u64,
    requests: [[f64; 3]; 3], // route × {2xx, 4xx, 5xx}
    buckets: [[f64; 12]; 3], // route × (BUCKETS + +Inf)
    sum: [f64; 3],
}

/// The demo fleet; its counters advance with wall-clock time when scraped.
pub struct DemoFleet {
    state: Mutex<Vec<ServiceState>>,
}

impl Default for DemoFleet {
    fn default() -> Self {
        DemoFleet {
            state: Mutex::new(SERVICES.iter().map(|_| ServiceState::default()).collect()),
        }
    }
}

/// A cheap deterministic noise source in [0, 1).
fn noise(seed: u64) -> f64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl DemoFleet {
    /// Renders the metrics of `service`, or `None` for an unknown one.
    pub fn render(&self, service: &str) -> Option<String> {
        let idx = SERVICES.iter().position(|s| *s == service)?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let mut all = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let st = &mut all[idx];
        if st.last_ms == 0 {
            st.last_ms = now_ms.saturating_sub(15_000);
        }
        let elapsed_s = (now_ms - st.last_ms) as f64 / 1000.0;
        st.last_ms = now_ms;
        // One service in turn has a one-minute incident every five minutes.
        let minute = now_ms / 60_000;
        let incident =
            minute.is_multiple_of(5) && (minute / 5) % SERVICES.len() as u64 == idx as u64;
        for (r, _) in ROUTES.iter().enumerate() {
            let base_rps = [40.0, 8.0, 2.0][r] * (1.0 + idx as f64 * 0.3);
            let n =
                (base_rps * elapsed_s * (0.9 + 0.2 * noise(now_ms ^ (idx * 7 + r) as u64))).round();
            let err_ratio = if incident && r < 2 { 0.2 } else { 0.0005 };
            let errors = (n * err_ratio).round();
            let client = (n * 0.01).round();
            st.requests[r][0] += n - errors - client;
            st.requests[r][1] += client;
            st.requests[r][2] += errors;
            let median = if incident {
                0.4
            } else {
                0.03 + 0.02 * r as f64
            };
            // Spread the requests over buckets with a log-normal-ish shape.
            let mut cumulative = 0.0;
            for (b, le) in BUCKETS.iter().enumerate() {
                let z = (le / median).ln() / 0.8;
                let cdf = 1.0 / (1.0 + (-1.7 * z).exp());
                let want = (n * cdf).round().max(cumulative);
                st.buckets[r][b] += want - cumulative;
                cumulative = want;
            }
            st.buckets[r][BUCKETS.len()] += n - cumulative;
            st.sum[r] += n * median * 1.2;
        }
        Some(render_state(service, st))
    }
}

fn render_state(service: &str, st: &ServiceState) -> String {
    let mut out = String::with_capacity(8 * 1024);
    out.push_str("# HELP http_requests_total Requests handled, by route and status code.\n# TYPE http_requests_total counter\n");
    for (r, (method, route)) in ROUTES.iter().enumerate() {
        for (c, code) in ["200", "404", "500"].iter().enumerate() {
            let _ = writeln!(
                out,
                "http_requests_total{{service=\"{service}\",method=\"{method}\",route=\"{route}\",code=\"{code}\"}} {}",
                st.requests[r][c]
            );
        }
    }
    out.push_str("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n");
    for (r, (method, route)) in ROUTES.iter().enumerate() {
        let mut cum = 0.0;
        for (b, le) in BUCKETS
            .iter()
            .map(|b| b.to_string())
            .chain(["+Inf".to_string()])
            .enumerate()
        {
            cum += st.buckets[r][b];
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{service=\"{service}\",method=\"{method}\",route=\"{route}\",le=\"{le}\"}} {cum}"
            );
        }
        let _ = writeln!(out, "http_request_duration_seconds_sum{{service=\"{service}\",method=\"{method}\",route=\"{route}\"}} {}", st.sum[r]);
        let _ = writeln!(out, "http_request_duration_seconds_count{{service=\"{service}\",method=\"{method}\",route=\"{route}\"}} {cum}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_never_decrease_and_histograms_are_cumulative() {
        let f = DemoFleet::default();
        let first = f.render("checkout").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = f.render("checkout").unwrap();
        let value = |text: &str, prefix: &str| -> f64 {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let key = "http_requests_total{service=\"checkout\",method=\"GET\",route=\"/api/items\",code=\"200\"}";
        assert!(value(&second, key) >= value(&first, key));
        let count = value(
            &second,
            "http_request_duration_seconds_count{service=\"checkout\",method=\"GET\"",
        );
        let inf = value(&second, "http_request_duration_seconds_bucket{service=\"checkout\",method=\"GET\",route=\"/api/items\",le=\"+Inf\"}");
        assert_eq!(count, inf);
        assert!(f.render("nope").is_none());
    }
}
