//! Load parameters shared by `rw-load` and `bench-ingest`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde::Serialize;

use crate::encode::{self, EncodedLoad};
use crate::workload::{Workload, WorkloadSpec};

/// The shape of the remote_write load.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct LoadParams {
    /// Number of simulated node_exporter hosts (about 540 series each).
    #[arg(long, default_value_t = 100)]
    pub hosts: u32,
    /// Span of simulated history, ending now (e.g. 3h, 90m).
    #[arg(long, default_value = "3h", value_parser = humantime::parse_duration)]
    #[serde(serialize_with = "ser_duration")]
    pub duration: Duration,
    /// Simulated scrape interval.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    #[serde(serialize_with = "ser_duration")]
    pub interval: Duration,
    /// Samples per request (Prometheus' max_samples_per_send).
    #[arg(long, default_value_t = 2000)]
    pub batch: usize,
    /// Concurrent senders (shards); each series always goes through the same one.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seed for all generated values.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl LoadParams {
    /// The workload these parameters describe, ending now.
    pub fn workload(&self) -> Workload {
        Workload::build(WorkloadSpec::ending_at(
            self.hosts,
            now_ms(),
            self.duration.as_millis() as i64,
            self.interval.as_millis() as i64,
            self.seed,
        ))
    }

    /// Builds and pre-encodes the load with one encoder thread per CPU.
    pub fn encode(&self) -> Result<EncodedLoad> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        encode::encode(self.workload(), self.concurrency, self.batch, threads)
    }
}
