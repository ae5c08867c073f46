//! `loadavg`: node_load1, node_load5 and node_load15 from /proc/loadavg.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_f64, read_into};
use std::path::PathBuf;

/// Reads the 1, 5 and 15 minute load averages.
pub(crate) struct LoadavgCollector {
    path: PathBuf,
    buf: String,
}

impl LoadavgCollector {
    pub(crate) fn new(procfs: &std::path::Path) -> Self {
        Self {
            path: procfs.join("loadavg"),
            buf: String::new(),
        }
    }
}

impl Collector for LoadavgCollector {
    fn name(&self) -> &'static str {
        "loadavg"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let text = read_into(&self.path, &mut self.buf)?;
        let mut fields = text.split_ascii_whitespace();
        let names = [
            ("node_load1", "1m load average."),
            ("node_load5", "5m load average."),
            ("node_load15", "15m load average."),
        ];
        let mut values = [0.0; 3];
        for (slot, (name, _)) in values.iter_mut().zip(names) {
            let field = fields
                .next()
                .ok_or_else(|| CollectError::parse(&self.path, "fewer than 3 load averages"))?;
            *slot = parse_f64(&self.path, name, field)?;
        }
        for ((name, help), value) in names.into_iter().zip(values) {
            expo::single(out, name, help, Kind::Gauge, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_load_averages() {
        let mut c = LoadavgCollector::new(&fixture("proc"));
        assert_eq!(
            run(&mut c),
            "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.17\n\
             # HELP node_load5 5m load average.\n# TYPE node_load5 gauge\nnode_load5 0.56\n\
             # HELP node_load15 15m load average.\n# TYPE node_load15 gauge\nnode_load15 0.39\n"
        );
    }

    #[test]
    fn truncated_file_is_an_error() {
        let mut c = LoadavgCollector::new(&fixture("proc-bad"));
        let err = c.collect(&mut String::new()).unwrap_err();
        assert!(err.to_string().contains("loadavg"), "{err}");
    }
}
