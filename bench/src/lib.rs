//! Ingest benchmark of Sightline against Prometheus and VictoriaMetrics.
//!
//! - [`workload`]: a simulated fleet of node_exporter targets with realistic values.
//! - [`encode`]: the fleet's scrape rounds as pre-encoded remote_write requests.
//! - [`params`]: the load parameters both binaries take.
//! - [`send`]: sending them with per-shard ordering and retries.
//! - [`procstat`]: CPU and memory of a process from `/proc`.
//! - [`disk`]: directory sizes and TSDB block metadata.
//! - [`targets`]: starting, probing and stopping each server under test.
//! - [`report`]: the comparison table and the RESULTS.md section.
//! - [`alerting`]: the alerting benchmark (latency to page, `/api/v2/alerts` ingestion).
//! - [`query`]: percentiles and answer comparison for the query benchmark.

pub mod alerting;
pub mod disk;
pub mod encode;
pub mod params;
pub mod procstat;
pub mod query;
pub mod report;
pub mod send;
pub mod targets;
pub mod workload;
