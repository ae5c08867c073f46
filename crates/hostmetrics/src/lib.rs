//! Built-in host collector with node_exporter-compatible metric names.
//!
//! `sightline serve` uses this to monitor the machine it runs on without any
//! configuration. Metric names, label names, units and types match the
//! Prometheus node_exporter (checked against the real binary by
//! `tests/node_exporter_parity.rs`), so the standard "Node Exporter Full"
//! dashboards and node alert rules work unchanged against job `node`.
//!
//! Collectors, named as in node_exporter (the `collector` label of
//! `node_scrape_collector_success`): cpu, diskstats, entropy, filefd,
//! filesystem, loadavg, meminfo, netclass, netdev, netstat, os, pressure,
//! sockstat, stat, time, uname, vmstat. Every collector reads files under the
//! configured procfs/sysfs/rootfs, so tests (and containers that mount the
//! host under `/host`) can point it elsewhere.
//!
//! Known differences from node_exporter 1.5: `netdev` reads /proc/net/dev
//! (node_exporter's non-netlink mode), where `drop`, `frame` and `carrier`
//! aggregate several kernel error counters; `node_disk_filesystem_info`,
//! `node_disk_ata_*` and CPU throttle counters are not produced.
//!
//! ```
//! use sightline_hostmetrics::{HostCollector, HostCollectorOptions};
//!
//! // Build once; render on every scrape of `/metrics/node`.
//! let host = HostCollector::new(HostCollectorOptions::default());
//! let mut body = String::with_capacity(64 * 1024);
//! host.render(&mut body); // serve as `text/plain; version=0.0.4`
//! assert!(body.contains("# TYPE node_scrape_collector_success gauge"));
//! ```
//!
//! `render` does blocking file I/O (and may wait up to 5 s for a hung network
//! mount the first time it hangs), so async servers should call it from a
//! blocking task.

mod collectors;
mod error;
mod expo;
mod options;
mod source;

pub use error::{CollectError, OptionsError};
pub use options::HostCollectorOptions;

use collectors::Collector;
use expo::Kind;
use once_cell::sync::Lazy;
use prometheus::{register_int_counter_vec, IntCounterVec};
use std::sync::Mutex;
use std::time::Instant;

/// Collector failures across all host collectors in this process, by collector.
static COLLECT_ERRORS: Lazy<Option<IntCounterVec>> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_hostmetrics_collect_errors_total",
        "Host metric collector runs that failed, by node_exporter collector name.",
        &["collector"]
    )
    .ok()
});

/// Gathers host metrics and renders them in node_exporter's format.
///
/// Cheap to call repeatedly: paths and regular expressions are prepared once
/// in [`HostCollector::new`], and file contents are read into buffers kept
/// between calls. Concurrent renders are serialised.
pub struct HostCollector {
    state: Mutex<State>,
}

/// Everything a render mutates.
struct State {
    collectors: Vec<Box<dyn Collector>>,
    /// Per-collector (duration seconds, success) of the current render.
    outcomes: Vec<(f64, bool)>,
}

impl HostCollector {
    /// Builds a collector. Exclude patterns that fail to compile are ignored
    /// (nothing is excluded); use [`HostCollector::try_new`] to reject them.
    pub fn new(opts: HostCollectorOptions) -> Self {
        match Self::try_new(opts.clone()) {
            Ok(c) => c,
            Err(_) => Self::build(options::Compiled::lenient(&opts)),
        }
    }

    /// Builds a collector, failing when an exclude pattern is not a valid
    /// regular expression.
    pub fn try_new(opts: HostCollectorOptions) -> Result<Self, OptionsError> {
        Ok(Self::build(options::Compiled::strict(&opts)?))
    }

    fn build(c: options::Compiled) -> Self {
        let o = &c.opts;
        let collectors: Vec<Box<dyn Collector>> = vec![
            Box::new(collectors::cpu::CpuCollector::new(&o.procfs)),
            Box::new(collectors::diskstats::DiskstatsCollector::new(
                o,
                c.diskstats_exclude.clone(),
            )),
            Box::new(collectors::entropy::EntropyCollector::new(&o.procfs)),
            Box::new(collectors::filefd::FilefdCollector::new(&o.procfs)),
            Box::new(collectors::filesystem::FilesystemCollector::new(
                o,
                c.mount_points_exclude.clone(),
                c.fs_types_exclude.clone(),
            )),
            Box::new(collectors::loadavg::LoadavgCollector::new(&o.procfs)),
            Box::new(collectors::meminfo::MeminfoCollector::new(&o.procfs)),
            Box::new(collectors::netclass::NetclassCollector::new(
                o,
                c.netdev_exclude.clone(),
            )),
            Box::new(collectors::netdev::NetdevCollector::new(
                o,
                c.netdev_exclude.clone(),
            )),
            Box::new(collectors::netstat::NetstatCollector::new(&o.procfs)),
            Box::new(collectors::os::OsCollector::new(&o.rootfs)),
            Box::new(collectors::pressure::PressureCollector::new(&o.procfs)),
            Box::new(collectors::sockstat::SockstatCollector::new(&o.procfs)),
            Box::new(collectors::stat::StatCollector::new(&o.procfs)),
            Box::new(collectors::time::TimeCollector::new(&o.sysfs)),
            Box::new(collectors::uname::UnameCollector::new()),
            Box::new(collectors::vmstat::VmstatCollector::new(&o.procfs)),
        ];
        let outcomes = Vec::with_capacity(collectors.len());
        HostCollector {
            state: Mutex::new(State {
                collectors,
                outcomes,
            }),
        }
    }

    /// Gathers all collectors and renders Prometheus text format 0.0.4 (with
    /// `# HELP` and `# TYPE`), appending to `out`. A collector that fails
    /// contributes nothing but `node_scrape_collector_success{collector} 0`.
    pub fn render(&self, out: &mut String) {
        let _ = self.render_reporting(out);
    }

    /// Like [`HostCollector::render`], also returning the errors of the
    /// collectors that failed, keyed by collector name, for logging.
    pub fn render_reporting(&self, out: &mut String) -> Vec<(&'static str, CollectError)> {
        let mut errors = Vec::new();
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        state.outcomes.clear();
        for c in state.collectors.iter_mut() {
            let mark = out.len();
            let start = Instant::now();
            let result = c.collect(out);
            let elapsed = start.elapsed().as_secs_f64();
            let ok = result.is_ok();
            if let Err(e) = result {
                out.truncate(mark);
                if let Some(counter) = COLLECT_ERRORS.as_ref() {
                    counter.with_label_values(&[c.name()]).inc();
                }
                errors.push((c.name(), e));
            }
            state.outcomes.push((elapsed, ok));
        }
        let name = "node_scrape_collector_duration_seconds";
        expo::header(
            out,
            name,
            "node_exporter: Duration of a collector scrape.",
            Kind::Gauge,
        );
        for (c, (secs, _)) in state.collectors.iter().zip(&state.outcomes) {
            expo::sample(out, name, &[("collector", c.name())], *secs);
        }
        let name = "node_scrape_collector_success";
        expo::header(
            out,
            name,
            "node_exporter: Whether a collector succeeded.",
            Kind::Gauge,
        );
        for (c, (_, ok)) in state.collectors.iter().zip(&state.outcomes) {
            expo::sample_u64(out, name, &[("collector", c.name())], u64::from(*ok));
        }
        errors
    }
}
