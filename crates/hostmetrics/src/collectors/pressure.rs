//! `pressure`: pressure stall information (PSI) from /proc/pressure.
//!
//! Each resource file has a `some` line (time at least one task waited) and
//! for io and memory a `full` line (time all tasks stalled); the cumulative
//! `total=` is in microseconds and is published in seconds. Kernels without
//! PSI have no /proc/pressure; then nothing is published.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_u64, read_into};
use std::path::{Path, PathBuf};

/// (file, line kind, metric name, help) in publication order.
const SERIES: [(&str, &str, &str, &str); 5] = [
    (
        "cpu",
        "some",
        "node_pressure_cpu_waiting_seconds_total",
        "Total time in seconds that processes have waited for CPU time.",
    ),
    (
        "io",
        "full",
        "node_pressure_io_stalled_seconds_total",
        "Total time in seconds no process could make progress due to IO congestion.",
    ),
    (
        "io",
        "some",
        "node_pressure_io_waiting_seconds_total",
        "Total time in seconds that processes have waited due to IO congestion.",
    ),
    (
        "memory",
        "full",
        "node_pressure_memory_stalled_seconds_total",
        "Total time in seconds no process could make progress due to memory congestion.",
    ),
    (
        "memory",
        "some",
        "node_pressure_memory_waiting_seconds_total",
        "Total time in seconds that processes have waited for memory.",
    ),
];

/// Publishes cumulative stall times.
pub(crate) struct PressureCollector {
    dir: PathBuf,
    files: [PathBuf; 3],
    buf: String,
}

impl PressureCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        let dir = procfs.join("pressure");
        Self {
            files: [dir.join("cpu"), dir.join("io"), dir.join("memory")],
            dir,
            buf: String::new(),
        }
    }
}

/// The `total=` of the line starting with `kind`, in microseconds.
fn total(path: &Path, text: &str, kind: &str) -> Result<u64, CollectError> {
    let line = text
        .lines()
        .find(|l| l.split_ascii_whitespace().next() == Some(kind))
        .ok_or_else(|| CollectError::parse(path, format!("no {kind} line")))?;
    let value = line
        .split_ascii_whitespace()
        .find_map(|f| f.strip_prefix("total="))
        .ok_or_else(|| CollectError::parse(path, format!("{kind} line has no total")))?;
    parse_u64(path, "total", value)
}

impl Collector for PressureCollector {
    fn name(&self) -> &'static str {
        "pressure"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        if !self.dir.is_dir() {
            return Ok(());
        }
        let mut values = [0u64; SERIES.len()];
        for path in &self.files {
            let text = read_into(path, &mut self.buf)?;
            let resource = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            for (slot, (file, kind, _, _)) in values.iter_mut().zip(SERIES) {
                if file == resource {
                    *slot = total(path, text, kind)?;
                }
            }
        }
        for ((_, _, name, help), micros) in SERIES.into_iter().zip(values) {
            expo::single(out, name, help, Kind::Counter, micros as f64 / 1e6);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_stall_seconds() {
        let out = run(&mut PressureCollector::new(&fixture("proc")));
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_pressure_cpu_waiting_seconds_total 55.677121",
                "node_pressure_io_stalled_seconds_total 5.666266",
                "node_pressure_io_waiting_seconds_total 7.546085",
                "node_pressure_memory_stalled_seconds_total 0.00025",
                "node_pressure_memory_waiting_seconds_total 1.5",
            ]
        );
        assert!(out.contains("# TYPE node_pressure_io_stalled_seconds_total counter\n"));
    }

    #[test]
    fn kernel_without_psi_publishes_nothing() {
        assert_eq!(run(&mut PressureCollector::new(&fixture("proc-bad"))), "");
    }

    #[test]
    fn malformed_lines_are_errors() {
        let p = Path::new("/proc/pressure/io");
        assert!(total(p, "some avg10=1\n", "some").is_err());
        assert!(total(p, "some total=x\n", "some").is_err());
        assert!(total(p, "some total=5\n", "full").is_err());
        assert_eq!(total(p, "some total=5\nfull total=7\n", "full").unwrap(), 7);
    }
}
