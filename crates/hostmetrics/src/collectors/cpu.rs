//! `cpu`: node_cpu_seconds_total and node_cpu_guest_seconds_total from the
//! per-CPU lines of /proc/stat.
//!
//! The kernel reports ticks of USER_HZ (100 on every Linux architecture that
//! matters); they are converted to seconds. Some counters (notably iowait) can
//! go backwards on real kernels; like node_exporter we never publish a value
//! lower than the previous one, and start over when idle jumps back by more
//! than a few seconds (CPU hot-plug or counter reset).

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_u64, read_into};
use std::path::{Path, PathBuf};

/// Kernel clock ticks per second as exposed in /proc/stat.
const USER_HZ: f64 = 100.0;
/// An idle drop larger than this many ticks resets the monotonic clamp.
const JUMP_BACK_TICKS: u64 = 300;
/// Mode names in /proc/stat column order (the first eight columns).
const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];
/// Number of tick columns we read: the eight modes plus guest and guest_nice.
const COLUMNS: usize = 10;

/// One CPU's tick counters, in /proc/stat column order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CpuTicks {
    /// The `N` of `cpuN`, kept as text for the label.
    pub(crate) cpu: String,
    /// user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice.
    pub(crate) ticks: [u64; COLUMNS],
}

/// Parses the `cpuN` lines of /proc/stat; columns missing on old kernels are 0.
pub(crate) fn parse_cpu_lines(
    path: &Path,
    text: &str,
    into: &mut Vec<CpuTicks>,
) -> Result<(), CollectError> {
    into.clear();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(head) = fields.next() else { continue };
        let Some(index) = head.strip_prefix("cpu") else {
            continue;
        };
        if index.is_empty() {
            continue; // the aggregate "cpu" line
        }
        if !index.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CollectError::parse(path, format!("bad cpu name {head:?}")));
        }
        let mut ticks = [0u64; COLUMNS];
        for (slot, field) in ticks.iter_mut().zip(fields) {
            *slot = parse_u64(path, head, field)?;
        }
        into.push(CpuTicks {
            cpu: index.to_string(),
            ticks,
        });
    }
    Ok(())
}

/// Applies node_exporter's monotonic clamp of `new` against `prev`, updating
/// `prev` to what is published.
fn clamp(prev: &mut Vec<CpuTicks>, new: &[CpuTicks]) {
    let same_cpus = prev.len() == new.len() && prev.iter().zip(new).all(|(p, n)| p.cpu == n.cpu);
    if !same_cpus {
        prev.clear();
        prev.extend_from_slice(new);
        return;
    }
    for (p, n) in prev.iter_mut().zip(new) {
        let idle = 3;
        if n.ticks[idle].saturating_add(JUMP_BACK_TICKS) < p.ticks[idle] {
            p.ticks = n.ticks;
            continue;
        }
        for (pv, nv) in p.ticks.iter_mut().zip(n.ticks) {
            if nv > *pv {
                *pv = nv;
            }
        }
    }
}

/// Publishes per-CPU time by mode.
pub(crate) struct CpuCollector {
    path: PathBuf,
    buf: String,
    fresh: Vec<CpuTicks>,
    published: Vec<CpuTicks>,
}

impl CpuCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        Self {
            path: procfs.join("stat"),
            buf: String::new(),
            fresh: Vec::new(),
            published: Vec::new(),
        }
    }
}

impl Collector for CpuCollector {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let text = read_into(&self.path, &mut self.buf)?;
        parse_cpu_lines(&self.path, text, &mut self.fresh)?;
        clamp(&mut self.published, &self.fresh);

        let name = "node_cpu_guest_seconds_total";
        expo::header(
            out,
            name,
            "Seconds the CPUs spent running guests (VMs), by mode.",
            Kind::Counter,
        );
        for c in &self.published {
            for (mode, col) in [("nice", 9), ("user", 8)] {
                let v = c.ticks[col] as f64 / USER_HZ;
                expo::sample(out, name, &[("cpu", &c.cpu), ("mode", mode)], v);
            }
        }
        let name = "node_cpu_seconds_total";
        expo::header(
            out,
            name,
            "Seconds the CPUs spent in each mode.",
            Kind::Counter,
        );
        for c in &self.published {
            for (col, mode) in MODES.iter().enumerate() {
                let v = c.ticks[col] as f64 / USER_HZ;
                expo::sample(out, name, &[("cpu", &c.cpu), ("mode", mode)], v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_seconds_per_mode() {
        let mut c = CpuCollector::new(&fixture("proc"));
        let out = run(&mut c);
        let expected = "\
# HELP node_cpu_guest_seconds_total Seconds the CPUs spent running guests (VMs), by mode.
# TYPE node_cpu_guest_seconds_total counter
node_cpu_guest_seconds_total{cpu=\"0\",mode=\"nice\"} 0.05
node_cpu_guest_seconds_total{cpu=\"0\",mode=\"user\"} 1
node_cpu_guest_seconds_total{cpu=\"1\",mode=\"nice\"} 0.02
node_cpu_guest_seconds_total{cpu=\"1\",mode=\"user\"} 0.5
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 175.4
node_cpu_seconds_total{cpu=\"0\",mode=\"nice\"} 0.03
node_cpu_seconds_total{cpu=\"0\",mode=\"system\"} 19.66
node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 441.47
node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"} 0.8
node_cpu_seconds_total{cpu=\"0\",mode=\"irq\"} 0.01
node_cpu_seconds_total{cpu=\"0\",mode=\"softirq\"} 0.08
node_cpu_seconds_total{cpu=\"0\",mode=\"steal\"} 0.12
node_cpu_seconds_total{cpu=\"1\",mode=\"user\"} 183.07
node_cpu_seconds_total{cpu=\"1\",mode=\"nice\"} 0
node_cpu_seconds_total{cpu=\"1\",mode=\"system\"} 25.05
node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 425.89
node_cpu_seconds_total{cpu=\"1\",mode=\"iowait\"} 3.17
node_cpu_seconds_total{cpu=\"1\",mode=\"irq\"} 0
node_cpu_seconds_total{cpu=\"1\",mode=\"softirq\"} 0.31
node_cpu_seconds_total{cpu=\"1\",mode=\"steal\"} 0.11
";
        assert_eq!(out, expected);
    }

    fn ticks(cpu: &str, idle: u64, iowait: u64) -> CpuTicks {
        let mut t = [0; COLUMNS];
        t[3] = idle;
        t[4] = iowait;
        CpuTicks {
            cpu: cpu.into(),
            ticks: t,
        }
    }

    #[test]
    fn counters_never_go_backwards_but_big_idle_jumps_reset() {
        let mut published = Vec::new();
        clamp(&mut published, &[ticks("0", 1000, 50)]);
        clamp(&mut published, &[ticks("0", 1010, 40)]);
        assert_eq!(published, vec![ticks("0", 1010, 50)]);
        clamp(&mut published, &[ticks("0", 10, 5)]);
        assert_eq!(published, vec![ticks("0", 10, 5)]);
        clamp(&mut published, &[ticks("0", 20, 6), ticks("1", 1, 1)]);
        assert_eq!(published, vec![ticks("0", 20, 6), ticks("1", 1, 1)]);
        // Extreme values from a hostile file must not overflow.
        clamp(
            &mut published,
            &[ticks("0", u64::MAX, u64::MAX), ticks("1", 1, 1)],
        );
        clamp(
            &mut published,
            &[ticks("0", u64::MAX - 1, 0), ticks("1", 1, 1)],
        );
        assert_eq!(published[0], ticks("0", u64::MAX, u64::MAX));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut v = Vec::new();
        let p = Path::new("/proc/stat");
        assert!(parse_cpu_lines(p, "cpu0 1 x 3\n", &mut v).is_err());
        assert!(parse_cpu_lines(p, "cpuX 1 2 3\n", &mut v).is_err());
        parse_cpu_lines(p, "cpu0 1 2\n\n", &mut v).unwrap();
        assert_eq!(v[0].ticks[..3], [1, 2, 0]);
    }
}
