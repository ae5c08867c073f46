//! `stat`: boot time, context switches, forks, interrupts and process
//! counts from the non-CPU lines of /proc/stat.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_u64, read_into};
use std::path::{Path, PathBuf};

/// One published /proc/stat line: the key, the metric, its help and type.
const FIELDS: [(&str, &str, &str, Kind); 6] = [
    (
        "btime",
        "node_boot_time_seconds",
        "Node boot time, in unixtime.",
        Kind::Gauge,
    ),
    (
        "ctxt",
        "node_context_switches_total",
        "Total number of context switches.",
        Kind::Counter,
    ),
    (
        "processes",
        "node_forks_total",
        "Total number of forks.",
        Kind::Counter,
    ),
    (
        "intr",
        "node_intr_total",
        "Total number of interrupts serviced.",
        Kind::Counter,
    ),
    (
        "procs_blocked",
        "node_procs_blocked",
        "Number of processes blocked waiting for I/O to complete.",
        Kind::Gauge,
    ),
    (
        "procs_running",
        "node_procs_running",
        "Number of processes in runnable state.",
        Kind::Gauge,
    ),
];

/// Publishes the kernel-wide /proc/stat counters.
pub(crate) struct StatCollector {
    path: PathBuf,
    buf: String,
}

impl StatCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        Self {
            path: procfs.join("stat"),
            buf: String::new(),
        }
    }
}

impl Collector for StatCollector {
    fn name(&self) -> &'static str {
        "stat"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let text = read_into(&self.path, &mut self.buf)?;
        let mut values: [Option<u64>; FIELDS.len()] = [None; FIELDS.len()];
        for line in text.lines() {
            let mut parts = line.split_ascii_whitespace();
            let (Some(key), Some(first)) = (parts.next(), parts.next()) else {
                continue;
            };
            if let Some(i) = FIELDS.iter().position(|f| f.0 == key) {
                values[i] = Some(parse_u64(&self.path, key, first)?);
            }
        }
        for ((key, name, help, kind), value) in FIELDS.iter().zip(values) {
            let value =
                value.ok_or_else(|| CollectError::parse(&self.path, format!("no {key} line")))?;
            expo::header(out, name, help, *kind);
            expo::sample_u64(out, name, &[], value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_kernel_counters() {
        let out = run(&mut StatCollector::new(&fixture("proc")));
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_boot_time_seconds 1795638680",
                "node_context_switches_total 346887",
                "node_forks_total 10296",
                "node_intr_total 265082",
                "node_procs_blocked 1",
                "node_procs_running 2",
            ]
        );
        assert!(out.starts_with(
            "# HELP node_boot_time_seconds Node boot time, in unixtime.\n# TYPE node_boot_time_seconds gauge\n"
        ));
        assert!(out.contains("# TYPE node_intr_total counter\n"));
    }

    #[test]
    fn missing_line_is_an_error() {
        let mut c = StatCollector::new(&fixture("proc-bad"));
        let err = c.collect(&mut String::new()).unwrap_err();
        assert!(err.to_string().contains("no btime line"), "{err}");
    }
}
