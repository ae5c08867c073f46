//! Alerting benchmark (issue 4 §5): detection-to-notification latency and alert
//! ingestion through `/api/v2/alerts`, Sightline against Prometheus + Alertmanager.
//!
//! - [`service`]: the scraped target whose error counter can be switched into failure.
//! - [`receiver`]: the webhook receiver that timestamps each notification.
//! - [`stack`]: starting and stopping Sightline, or Prometheus with Alertmanager.
//! - [`latency`]: the repeated failure → page → recovery → resolve runs.
//! - [`ingest`]: posting 10k distinct alerts and measuring rate and memory.
//! - [`summary`]: the table and the RESULTS.md section.

pub mod ingest;
pub mod latency;
pub mod receiver;
pub mod service;
pub mod stack;
pub mod summary;
