//! The alerting benchmark's table (Markdown, printed and appended to RESULTS.md):
//! each system's absolute figures and Sightline's ratio to Prometheus + Alertmanager.

use serde::Serialize;

use super::ingest::{IngestParams, IngestResult};
use super::latency::LatencyResult;
use super::stack::Intervals;
use crate::report::Machine;

/// Everything one invocation measured.
#[derive(Debug, Clone, Serialize)]
pub struct AlertingReport {
    /// Date (UTC) of the run.
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// `name: version` of each program.
    pub versions: Vec<(String, String)>,
    /// Intervals given to both systems.
    pub intervals: Option<Intervals>,
    /// Latency runs requested.
    pub runs: usize,
    /// Ingestion parameters.
    pub ingest: IngestParams,
    /// Latency results: Sightline, then the peer (`None` when not run).
    pub latency: [Option<LatencyResult>; 2],
    /// Ingestion results: Sightline, then the peer.
    pub ingestion: [Option<IngestResult>; 2],
    /// Errors that stopped a scenario before it produced results.
    pub errors: Vec<String>,
}

/// The latency bound: scrape + evaluation + group_wait + 1 s.
pub fn bound_s(iv: Intervals) -> f64 {
    (iv.scrape + iv.evaluation + iv.group_wait + 1) as f64
}

fn num(v: Option<f64>, d: usize) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let s = format!("{x:.d$}");
            let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(a, b)| (a, b));
            let (sign, digits) = int.split_at(usize::from(int.starts_with('-')));
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            if frac.is_empty() {
                format!("{sign}{grouped}")
            } else {
                format!("{sign}{grouped}.{frac}")
            }
        }
        _ => "n/a".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => format!("{:.2}×", a / b),
        _ => "n/a".into(),
    }
}

fn row(t: &mut String, name: &str, a: Option<f64>, b: Option<f64>, d: usize, r: bool) {
    let rr = if r { ratio(a, b) } else { String::new() };
    t.push_str(&format!(
        "| {name} | {} | {} | {rr} |\n",
        num(a, d),
        num(b, d)
    ));
}

fn per_alert(r: &IngestResult, n: f64) -> Option<f64> {
    Some((r.rss_active? as f64 - r.rss_idle? as f64) / n)
}

fn mib(b: Option<u64>) -> Option<f64> {
    b.map(|b| b as f64 / (1u64 << 20) as f64)
}

impl AlertingReport {
    /// The Markdown table.
    pub fn table(&self) -> String {
        let mut t = String::from(
            "| metric | sightline | prometheus + alertmanager | sightline ÷ peer |\n|---|---:|---:|---:|\n",
        );
        let bound = self.intervals.map(bound_s);
        let [ls, lp] = &self.latency;
        let lat = |r: &Option<LatencyResult>, f: fn(&LatencyResult) -> Option<f64>| {
            r.as_ref().and_then(f)
        };
        row(
            &mut t,
            "detection → notification, median s (↓)",
            lat(ls, LatencyResult::median),
            lat(lp, LatencyResult::median),
            3,
            true,
        );
        row(
            &mut t,
            "detection → notification, max s (↓)",
            lat(ls, LatencyResult::max),
            lat(lp, LatencyResult::max),
            3,
            true,
        );
        row(
            &mut t,
            "recovery → resolve notification, median s (↓)",
            lat(ls, |r| super::latency::median(&r.resolve_s)),
            lat(lp, |r| super::latency::median(&r.resolve_s)),
            3,
            true,
        );
        let within = |r: &Option<LatencyResult>| match (r, bound) {
            (Some(r), Some(b)) => format!(
                "{}/{} ({})",
                r.within(b),
                r.runs,
                if r.all_within(b) {
                    "all met"
                } else {
                    "NOT all met"
                }
            ),
            _ => "n/a".into(),
        };
        t.push_str(&format!(
            "| runs paged within the bound of {} s | {} | {} | |\n",
            num(bound, 0),
            within(ls),
            within(lp)
        ));
        let [is, ip] = &self.ingestion;
        let ing =
            |r: &Option<IngestResult>, f: fn(&IngestResult) -> Option<f64>| r.as_ref().and_then(f);
        row(
            &mut t,
            &format!(
                "ingest: alerts/s creating {} alerts (↑)",
                self.ingest.alerts
            ),
            ing(is, |r| r.create_alerts_per_s),
            ing(ip, |r| r.create_alerts_per_s),
            0,
            true,
        );
        row(
            &mut t,
            "ingest: alerts/s re-posting the same alerts (↑)",
            ing(is, |r| r.update_alerts_per_s),
            ing(ip, |r| r.update_alerts_per_s),
            0,
            true,
        );
        row(
            &mut t,
            "ingest: server CPU-s to create them (↓)",
            ing(is, |r| r.create_cpu_s),
            ing(ip, |r| r.create_cpu_s),
            2,
            true,
        );
        row(
            &mut t,
            "VmRSS idle, MiB",
            ing(is, |r| mib(r.rss_idle)),
            ing(ip, |r| mib(r.rss_idle)),
            1,
            true,
        );
        row(
            &mut t,
            &format!("VmRSS with {} active alerts, MiB (↓)", self.ingest.alerts),
            ing(is, |r| mib(r.rss_active)),
            ing(ip, |r| mib(r.rss_active)),
            1,
            true,
        );
        row(
            &mut t,
            "VmHWM (peak RSS), MiB (↓)",
            ing(is, |r| mib(r.hwm)),
            ing(ip, |r| mib(r.hwm)),
            1,
            true,
        );
        let n = self.ingest.alerts.max(1) as f64;
        row(
            &mut t,
            "(VmRSS active − idle) per alert, bytes (↓)",
            is.as_ref().and_then(|r| per_alert(r, n)),
            ip.as_ref().and_then(|r| per_alert(r, n)),
            0,
            true,
        );
        let listed = |r: &Option<IngestResult>| match r {
            Some(r) => format!(
                "{} listed, {} failed requests{}",
                r.listed.map_or("n/a".into(), |l| l.to_string()),
                r.failed_requests,
                r.error
                    .as_ref()
                    .map_or(String::new(), |e| format!(", error: {e}"))
            ),
            None => "not run".into(),
        };
        t.push_str(&format!(
            "| ingest: alerts in GET /api/v2/alerts / failures | {} | {} | |\n",
            listed(is),
            listed(ip)
        ));
        t
    }

    /// The dated RESULTS.md section.
    pub fn section(&self) -> String {
        let m = &self.machine;
        let mut s = format!(
            "\n## {} — alerting: latency ({} runs) and /api/v2/alerts ingestion ({} alerts)\n\n",
            self.date, self.runs, self.ingest.alerts
        );
        s.push_str(&format!(
            "- Machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}; load average at start: {}\n",
            m.nproc, m.cpu_model, m.ram_gib, m.kernel, m.loadavg_at_start
        ));
        let v: Vec<String> = self
            .versions
            .iter()
            .map(|(n, v)| format!("{n} `{v}`"))
            .collect();
        s.push_str(&format!("- Versions: {}\n", v.join("; ")));
        if let Some(iv) = self.intervals {
            s.push_str(&format!(
                "- Latency scenario: scrape_interval {}s, evaluation_interval {}s, group_wait {}s, group_interval {}s, repeat_interval 1h; rule `rate(bench_errors_total[3s]) > 0`; Prometheus `--rules.alert.resend-delay={}s`, Alertmanager `--cluster.listen-address=`; webhook receiver; bound = scrape + evaluation + group_wait + 1 s = {} s\n",
                iv.scrape, iv.evaluation, iv.group_wait, iv.group_interval, iv.evaluation, bound_s(iv)
            ));
        }
        let p = &self.ingest;
        s.push_str(&format!(
            "- Ingestion scenario: {} distinct alerts, {} per request, {} concurrent clients; re-posted every {} s for {} s, then memory read from /proc/PID/status; route group_by [alertname, instance] to a receiver without integrations\n\n",
            p.alerts, p.batch, p.clients, p.repost_every_s, p.hold_s
        ));
        s.push_str(&self.table());
        let mut notes = Vec::new();
        for (name, r) in ["sightline", "prometheus + alertmanager"]
            .iter()
            .zip(&self.latency)
        {
            if let Some(r) = r {
                let l: Vec<String> = r.latencies_s.iter().map(|x| format!("{x:.2}")).collect();
                notes.push(format!("- {name}: latencies (s) {}", l.join(", ")));
                for f in &r.failures {
                    notes.push(format!("- {name}: {f}"));
                }
            }
        }
        for (name, r) in ["sightline", "prometheus + alertmanager"]
            .iter()
            .zip(&self.ingestion)
        {
            if let Some(r) = r {
                notes.push(format!(
                    "- {name}: first post took {} s wall, {} s server CPU, {} s harness (client) CPU",
                    num(r.create_wall_s, 3),
                    num(r.create_cpu_s, 2),
                    num(r.create_client_cpu_s, 2)
                ));
            }
        }
        for e in &self.errors {
            notes.push(format!("- error: {e}"));
        }
        if !notes.is_empty() {
            s.push_str("\nNotes:\n");
            s.push_str(&notes.join("\n"));
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ratios_render() {
        assert_eq!(num(Some(12345.678), 1), "12,345.7");
        assert_eq!(num(Some(0.5), 3), "0.500");
        assert_eq!(num(None, 1), "n/a");
        assert_eq!(ratio(Some(1.0), Some(4.0)), "0.25×");
        assert_eq!(ratio(Some(1.0), Some(0.0)), "n/a");
        let iv = Intervals {
            scrape: 1,
            evaluation: 1,
            group_wait: 1,
            group_interval: 1,
        };
        assert_eq!(bound_s(iv), 4.0);
    }
}
