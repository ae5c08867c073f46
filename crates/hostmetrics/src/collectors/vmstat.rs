//! `vmstat`: selected virtual memory counters from /proc/vmstat, using
//! node_exporter's default field filter (`oom_kill`, `pgpg*`, `pswp*`,
//! `pg*fault*`).

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_f64, read_into};
use once_cell::sync::Lazy;
use regex::Regex;
use std::path::{Path, PathBuf};

/// node_exporter's default `--collector.vmstat.fields`.
const DEFAULT_FIELDS: &str = "^(oom_kill|pgpg|pswp|pg.*fault).*";

/// The compiled filter; `None` only if the constant failed to compile.
static FIELDS: Lazy<Option<Regex>> = Lazy::new(|| Regex::new(DEFAULT_FIELDS).ok());

/// Publishes paging, swapping, fault and OOM-kill counters.
pub(crate) struct VmstatCollector {
    path: PathBuf,
    buf: String,
    name: String,
    help: String,
}

impl VmstatCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        Self {
            path: procfs.join("vmstat"),
            buf: String::new(),
            name: String::new(),
            help: String::new(),
        }
    }
}

impl Collector for VmstatCollector {
    fn name(&self) -> &'static str {
        "vmstat"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let text = read_into(&self.path, &mut self.buf)?;
        for line in text.lines() {
            let mut f = line.split_ascii_whitespace();
            let (Some(key), Some(value)) = (f.next(), f.next()) else {
                continue;
            };
            if !FIELDS.as_ref().is_some_and(|r| r.is_match(key)) {
                continue;
            }
            let v = parse_f64(&self.path, key, value)?;
            self.name.clear();
            self.name.push_str("node_vmstat_");
            self.name.push_str(key);
            self.help.clear();
            self.help.push_str("/proc/vmstat information field ");
            self.help.push_str(key);
            self.help.push('.');
            expo::single(out, &self.name, &self.help, Kind::Untyped, v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_only_default_fields() {
        assert!(FIELDS.is_some());
        let out = run(&mut VmstatCollector::new(&fixture("proc")));
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_vmstat_pgpgin 1811413",
                "node_vmstat_pgpgout 1487796",
                "node_vmstat_pswpin 0",
                "node_vmstat_pswpout 0",
                "node_vmstat_pgfault 10384412",
                "node_vmstat_pgmajfault 1455",
                "node_vmstat_oom_kill 2",
            ]
        );
        assert!(out.contains("# HELP node_vmstat_oom_kill /proc/vmstat information field oom_kill.\n# TYPE node_vmstat_oom_kill untyped\n"));
    }
}
