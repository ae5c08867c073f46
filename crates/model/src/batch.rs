//! The unit of ingestion and the sink every ingest path writes to.
//!
//! Scrapes, remote_write requests, OTLP exports and the host collector all produce a
//! [`WriteBatch`] and hand it to a [`SampleSink`] (the TSDB in a single node; a
//! replicating sink in a cluster). `append` returns only once the batch is durable
//! under the storage's fsync policy, so a caller that acknowledges its sender after
//! `append` returns never acknowledges data that a crash could lose.

use crate::labels::Labels;
use crate::metadata::MetricMetadata;
use crate::sample::{Exemplar, Sample};

/// One series and its new samples, in timestamp order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeSeries {
    /// The series identity; must be sorted and unique (see [`Labels::validate_sorted`]).
    pub labels: Labels,
    /// Samples, oldest first.
    pub samples: Vec<Sample>,
    /// Exemplars attached to this series.
    pub exemplars: Vec<Exemplar>,
}

/// A batch of series written together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteBatch {
    /// The series and their samples.
    pub series: Vec<TimeSeries>,
    /// Metadata reported alongside (remote_write, scrape `# TYPE`/`# HELP`).
    pub metadata: Vec<MetricMetadata>,
}

impl WriteBatch {
    /// Total number of samples in the batch.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}

/// What happened to a batch that was (at least partly) accepted.
///
/// Rejections of individual samples are not errors of the batch: storage keeps every
/// valid sample and counts the others, so that a sender can be told precisely which
/// part will never be accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendReport {
    /// Samples written.
    pub accepted: u64,
    /// Samples identical to one already stored (same timestamp and value): accepted
    /// silently so that retries are idempotent.
    pub duplicates: u64,
    /// Samples older than the newest of their series, outside the out-of-order window.
    pub out_of_order: u64,
    /// Samples with a timestamp equal to a stored one but a different value.
    pub conflicting: u64,
    /// Samples older than the head block can accept.
    pub too_old: u64,
    /// Exemplars written.
    pub exemplars_accepted: u64,
    /// Series created by this batch.
    pub series_created: u64,
    /// The first rejection, worded for a human, if any.
    pub first_error: Option<String>,
}

impl AppendReport {
    /// Samples rejected for any reason.
    pub fn rejected(&self) -> u64 {
        self.out_of_order + self.conflicting + self.too_old
    }

    /// Adds another report's counts into this one.
    pub fn merge(&mut self, o: AppendReport) {
        self.accepted += o.accepted;
        self.duplicates += o.duplicates;
        self.out_of_order += o.out_of_order;
        self.conflicting += o.conflicting;
        self.too_old += o.too_old;
        self.exemplars_accepted += o.exemplars_accepted;
        self.series_created += o.series_created;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// Why a whole batch could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The batch is malformed and will never be accepted (HTTP 400).
    #[error("invalid data: {0}")]
    Invalid(String),
    /// Storage is overloaded or shutting down: try again later (HTTP 503/429).
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// Storage failed (disk full, I/O error): nothing of the batch was acknowledged.
    #[error("storage error: {0}")]
    Storage(String),
}

/// Anything that accepts write batches durably.
pub trait SampleSink: Send + Sync {
    /// Appends the batch; returns once it is durable under the configured fsync policy.
    /// Blocking: async callers should use `spawn_blocking` or a dedicated thread.
    fn append(&self, batch: WriteBatch) -> Result<AppendReport, AppendError>;
}
