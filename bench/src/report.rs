//! The figures of one benchmark run, the comparison table with ratios against each
//! peer, and the dated section appended to `bench/RESULTS.md`.

use std::fmt::Write as _;
use std::fs;
use std::process::Command;

use serde::Serialize;

use crate::send::SendReport;
use crate::targets::Kind;

/// Everything measured for one server.
#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    /// Which server.
    pub kind: Kind,
    /// Its version string.
    pub version: String,
    /// What went wrong, if anything (figures gathered before the failure are kept).
    pub error: Option<String>,
    /// The sender's view of the load phase.
    pub send: Option<SendReport>,
    /// Server CPU seconds during the load phase.
    pub ingest_cpu_seconds: Option<f64>,
    /// Server CPU seconds over its whole life (start-up, flush and compaction too).
    pub total_cpu_seconds: Option<f64>,
    /// Peak RSS (VmHWM) before stopping, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Series the server reports through `/api/v1/series`.
    pub series_reported: Option<u64>,
    /// Persisted blocks found (Sightline, Prometheus).
    pub blocks: usize,
    /// Bytes of those blocks.
    pub block_bytes: u64,
    /// Samples in those blocks.
    pub block_samples: u64,
    /// Where `block_samples` came from: `meta.json` or the sent timestamps.
    pub block_samples_source: String,
    /// Size of the whole data directory after settling, bytes.
    pub data_dir_bytes: Option<u64>,
    /// On-disk bytes per sample (blocks, or the whole directory for VictoriaMetrics).
    pub bytes_per_sample: Option<f64>,
    /// How the server was made to persist its data.
    pub settle_note: String,
}

impl TargetResult {
    /// An empty result for `kind`.
    pub fn new(kind: Kind, version: String) -> Self {
        TargetResult {
            kind,
            version,
            error: None,
            send: None,
            ingest_cpu_seconds: None,
            total_cpu_seconds: None,
            peak_rss_bytes: None,
            series_reported: None,
            blocks: 0,
            block_bytes: 0,
            block_samples: 0,
            block_samples_source: String::new(),
            data_dir_bytes: None,
            bytes_per_sample: None,
            settle_note: String::new(),
        }
    }

    fn accepted(&self) -> Option<u64> {
        self.send.as_ref().map(|s| s.samples_accepted)
    }

    /// Accepted samples per wall-clock second.
    pub fn samples_per_second(&self) -> Option<f64> {
        self.send.as_ref().map(|s| s.samples_per_second)
    }

    /// Accepted samples per server CPU-second during the load.
    pub fn samples_per_cpu_second(&self) -> Option<f64> {
        let cpu = self.ingest_cpu_seconds?;
        (cpu > 0.0).then(|| self.accepted().unwrap_or(0) as f64 / cpu)
    }

    /// Server CPU-seconds per million accepted samples during the load.
    pub fn cpu_seconds_per_million(&self) -> Option<f64> {
        let n = self.accepted()?;
        (n > 0).then(|| self.ingest_cpu_seconds.unwrap_or(0.0) * 1e6 / n as f64)
    }

    /// Peak RSS divided by the number of active series.
    pub fn rss_per_series(&self, series: u64) -> Option<f64> {
        (series > 0).then(|| self.peak_rss_bytes.map(|b| b as f64 / series as f64))?
    }
}

/// The machine and software the run happened on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPUs available.
    pub nproc: usize,
    /// Memory, GiB.
    pub ram_gib: f64,
    /// CPU model.
    pub cpu_model: String,
    /// Kernel release.
    pub kernel: String,
    /// `/proc/loadavg` when the run started (other work on the machine skews wall-clock rates).
    pub loadavg_at_start: String,
}

impl Machine {
    /// Reads the current machine's description.
    pub fn current() -> Self {
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let ram = crate::procstat::parse_status_kb(&meminfo, "MemTotal").unwrap_or(0);
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            ram_gib: ram as f64 / (1u64 << 30) as f64,
            cpu_model,
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            loadavg_at_start: fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }
}

/// The first line a command prints (stdout, else stderr), if it runs.
pub fn command_line_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    [out.stdout, out.stderr]
        .iter()
        .filter_map(|b| {
            String::from_utf8_lossy(b)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string)
        })
        .next()
}

/// Today's date in UTC as `YYYY-MM-DD` (from `date -u +%F`).
pub fn today() -> String {
    command_line_output("date", &["-u", "+%F"]).unwrap_or_else(|| "unknown-date".into())
}

fn fmt_num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(x) if x.is_finite() => {
            if x.abs() >= 1000.0 {
                let s = format!("{:.0}", x);
                // Thousands separators for readability.
                let (sign, digits) = s.split_at(if s.starts_with('-') { 1 } else { 0 });
                let mut out = String::new();
                for (i, c) in digits.chars().enumerate() {
                    if i > 0 && (digits.len() - i) % 3 == 0 {
                        out.push(',');
                    }
                    out.push(c);
                }
                format!("{sign}{out}")
            } else {
                format!("{x:.decimals$}")
            }
        }
        _ => "n/a".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => Some(a / b),
        _ => None,
    }
}

/// Renders the comparison table (Markdown) for `results`, ratios being Sightline's
/// figure divided by each peer's. `series_sent` is the active series count.
pub fn table(results: &[TargetResult], series_sent: u64) -> String {
    let find = |k: Kind| results.iter().find(|r| r.kind == k);
    let cols = [Kind::Sightline, Kind::Prometheus, Kind::VictoriaMetrics];
    type Getter = fn(&TargetResult, u64) -> Option<f64>;
    let rows: [(&str, Getter, usize, &str); 6] = [
        (
            "samples/s, wall clock (↑)",
            |r, _| r.samples_per_second(),
            0,
            "",
        ),
        (
            "samples per server CPU-second (↑)",
            |r, _| r.samples_per_cpu_second(),
            0,
            "≥ 2× Prometheus",
        ),
        (
            "server CPU-s per 1M samples, ingest (↓)",
            |r, _| r.cpu_seconds_per_million(),
            3,
            "",
        ),
        (
            "peak RSS, MiB (↓)",
            |r, _| r.peak_rss_bytes.map(|b| b as f64 / (1u64 << 20) as f64),
            1,
            "",
        ),
        (
            "peak RSS per active series, bytes (↓)",
            |r, n| r.rss_per_series(n),
            0,
            "≤ 0.5× Prometheus",
        ),
        (
            "disk bytes per sample (↓)",
            |r, _| r.bytes_per_sample,
            3,
            "≤ 0.7",
        ),
    ];
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| metric | sightline | prometheus | victoria-metrics | sightline ÷ prometheus | sightline ÷ victoria-metrics | issue target | met |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|---|");
    for (name, get, dec, target) in rows {
        let vals: Vec<Option<f64>> = cols
            .iter()
            .map(|k| find(*k).and_then(|r| get(r, series_sent)))
            .collect();
        let rp = ratio(vals[0], vals[1]);
        let rv = ratio(vals[0], vals[2]);
        let met = match target {
            "≥ 2× Prometheus" => rp.map(|x| x >= 2.0),
            "≤ 0.5× Prometheus" => rp.map(|x| x <= 0.5),
            "≤ 0.7" => vals[0].map(|x| x <= 0.7),
            _ => None,
        };
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {target} | {} |",
            fmt_num(vals[0], dec),
            fmt_num(vals[1], dec),
            fmt_num(vals[2], dec),
            rp.map(|x| format!("{x:.2}×"))
                .unwrap_or_else(|| "n/a".into()),
            rv.map(|x| format!("{x:.2}×"))
                .unwrap_or_else(|| "n/a".into()),
            match met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            }
        );
    }
    let cell = |k: Kind, f: &dyn Fn(&TargetResult) -> String| {
        find(k).map(f).unwrap_or_else(|| "not run".into())
    };
    type Cell<'a> = &'a dyn Fn(&TargetResult) -> String;
    let extra: [(&str, Cell); 5] = [
        ("series reported / sent", &|r| {
            format!(
                "{} / {series_sent}",
                r.series_reported
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "n/a".into())
            )
        }),
        ("samples accepted / rejected", &|r| match &r.send {
            Some(x) => format!("{} / {}", x.samples_accepted, x.samples_rejected),
            None => "n/a".into(),
        }),
        ("retries (5xx/429/conn.)", &|r| {
            r.send
                .as_ref()
                .map(|x| x.retries.to_string())
                .unwrap_or_else(|| "n/a".into())
        }),
        (
            "server CPU-s total (incl. start, flush, compaction)",
            &|r| fmt_num(r.total_cpu_seconds, 1),
        ),
        ("status", &|r| {
            if r.error.is_some() {
                "ERROR (see notes)".into()
            } else {
                "ok".into()
            }
        }),
    ];
    for (name, f) in extra {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | | | | |",
            cell(Kind::Sightline, f),
            cell(Kind::Prometheus, f),
            cell(Kind::VictoriaMetrics, f)
        );
    }
    s
}

/// Everything a run writes to RESULTS.md besides the table.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// Load parameters as a one-line summary.
    pub params: String,
    /// Load facts as a one-line summary (series, samples, requests, encode cost).
    pub load: String,
    /// Prometheus' block duration for this run.
    pub prom_block: String,
}

/// The Markdown section for RESULTS.md.
pub fn section(info: &RunInfo, results: &[TargetResult], series_sent: u64) -> String {
    let m = &info.machine;
    let mut s = String::new();
    let _ = writeln!(s, "## {} — {}\n", info.date, info.params);
    let _ = writeln!(
        s,
        "- Machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}; load average at start: {}",
        m.nproc, m.cpu_model, m.ram_gib, m.kernel, m.loadavg_at_start
    );
    let versions: Vec<String> = results
        .iter()
        .map(|r| format!("{} `{}`", r.kind.name(), r.version))
        .collect();
    let _ = writeln!(s, "- Versions: {}", versions.join("; "));
    let _ = writeln!(s, "- Load: {}", info.load);
    let _ = writeln!(
        s,
        "- Block duration of Prometheus and Sightline: {} (min = max); Sightline WAL fsync: always\n",
        info.prom_block
    );
    s.push_str(&table(results, series_sent));
    s.push_str("\nNotes:\n");
    for r in results {
        let send = r
            .send
            .as_ref()
            .map(|x| {
                format!(
                    "load phase {:.1} s wall, sender CPU {:.1} s",
                    x.wall_seconds, x.sender_cpu_seconds
                )
            })
            .unwrap_or_default();
        let source = if r.block_samples_source.is_empty() {
            "n/a"
        } else {
            &r.block_samples_source
        };
        let stored = if r.kind == Kind::VictoriaMetrics {
            format!(
                "storage {:.1} MB for {} samples ({source})",
                r.block_bytes as f64 / 1e6,
                r.block_samples
            )
        } else {
            format!(
                "{} block(s), {:.1} MB, {} samples ({source})",
                r.blocks,
                r.block_bytes as f64 / 1e6,
                r.block_samples
            )
        };
        let _ = writeln!(
            s,
            "- {}: {send}; {}; {stored}; whole data dir {:.1} MB.",
            r.kind.name(),
            r.settle_note,
            r.data_dir_bytes.unwrap_or(0) as f64 / 1e6
        );
        if let Some(e) = &r.error {
            let e: String = e.chars().take(1500).collect();
            let _ = writeln!(
                s,
                "  - ERROR: `{}`",
                e.replace('`', "'").replace('\n', " ⏎ ")
            );
        }
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(kind: Kind, samples: u64, wall: f64, cpu: f64, rss: u64, bps: f64) -> TargetResult {
        let mut r = TargetResult::new(kind, "v".into());
        r.send = Some(SendReport {
            samples_accepted: samples,
            wall_seconds: wall,
            samples_per_second: samples as f64 / wall,
            ..SendReport::default()
        });
        r.ingest_cpu_seconds = Some(cpu);
        r.peak_rss_bytes = Some(rss);
        r.bytes_per_sample = Some(bps);
        r
    }

    #[test]
    fn ratios_divide_sightline_by_each_peer() {
        let rs = vec![
            result(Kind::Sightline, 1_000_000, 2.0, 1.0, 100 << 20, 0.6),
            result(Kind::Prometheus, 1_000_000, 4.0, 4.0, 400 << 20, 1.2),
            result(Kind::VictoriaMetrics, 1_000_000, 1.0, 2.0, 200 << 20, 0.5),
        ];
        let t = table(&rs, 1000);
        let cpu_row = t
            .lines()
            .find(|l| l.starts_with("| samples per server CPU"))
            .unwrap();
        assert!(cpu_row.contains("| 4.00× | 2.00× |"), "{cpu_row}");
        assert!(cpu_row.ends_with("| yes |"), "{cpu_row}");
        let rss_row = t.lines().find(|l| l.starts_with("| peak RSS per")).unwrap();
        assert!(rss_row.contains("| 104,858 |"), "{rss_row}");
        assert!(rss_row.contains("| 0.25× | 0.50× |"), "{rss_row}");
        let disk_row = t.lines().find(|l| l.starts_with("| disk bytes")).unwrap();
        assert!(disk_row.contains("| 0.600 | 1.200 | 0.500 |"), "{disk_row}");
        assert!(disk_row.ends_with("| yes |"));
    }

    #[test]
    fn a_missing_target_shows_not_run_and_no_ratio() {
        let rs = vec![result(Kind::Prometheus, 10, 1.0, 1.0, 1, 1.0)];
        let t = table(&rs, 10);
        assert!(t.contains("not run"));
        assert!(t.lines().all(|l| !l.contains("yes")));
        let sec = section(
            &RunInfo {
                date: "2000-01-01".into(),
                machine: Machine::current(),
                params: "p".into(),
                load: "l".into(),
                prom_block: "1h".into(),
            },
            &rs,
            10,
        );
        assert!(sec.starts_with("## 2000-01-01 — p"));
    }
}
