//! The individual collectors, one module per node_exporter collector.
//!
//! Each collector owns the paths it reads (resolved once at construction) and
//! its scratch buffers, and appends whole metric families to the output.

pub(crate) mod cpu;
pub(crate) mod diskstats;
pub(crate) mod entropy;
pub(crate) mod filefd;
pub(crate) mod filesystem;
pub(crate) mod loadavg;
pub(crate) mod meminfo;
pub(crate) mod netclass;
pub(crate) mod netdev;
pub(crate) mod netstat;
pub(crate) mod os;
pub(crate) mod pressure;
pub(crate) mod sockstat;
pub(crate) mod stat;
pub(crate) mod time;
pub(crate) mod uname;
pub(crate) mod vmstat;

use crate::error::CollectError;

/// One source of host metrics.
pub(crate) trait Collector: Send {
    /// The node_exporter collector name, used as the `collector` label of
    /// `node_scrape_collector_*`.
    fn name(&self) -> &'static str;

    /// Appends this collector's metric families to `out`. On error the caller
    /// discards whatever was appended.
    fn collect(&mut self, out: &mut String) -> Result<(), CollectError>;
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers for collector unit tests that read the fixture trees.
    use std::path::PathBuf;

    /// Path of a file or directory under `tests/fixtures`.
    pub(crate) fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel)
    }

    /// Runs a collector and returns its output, panicking on error.
    pub(crate) fn run(c: &mut dyn super::Collector) -> String {
        let mut out = String::new();
        c.collect(&mut out).expect("collector failed on fixture");
        out
    }
}
