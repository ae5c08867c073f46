//! The data model shared by every Sightline crate.
//!
//! Every signal path (scrape, remote_write, OTLP, the host collector) converts what it
//! receives into the types defined here before it reaches the storage engine, and the
//! query side reads them back. Keeping them in one small crate means the protocol
//! adapters at the edge and the engines in the middle agree on one vocabulary:
//!
//! - [`labels`]: label sets, sorted and hashable, as Prometheus defines them.
//! - [`sample`]: samples, staleness markers and exemplars.
//! - [`matcher`]: label matchers (`=`, `!=`, `=~`, `!~`) with fast paths.
//! - [`batch`]: the unit of ingestion ([`WriteBatch`]) and the [`SampleSink`] every
//!   ingest path writes to.
//! - [`metadata`]: metric types, help and unit.
//! - [`units`]: durations and sizes in Prometheus notation.

pub mod batch;
pub mod labels;
pub mod matcher;
pub mod metadata;
pub mod sample;
pub mod units;

#[cfg(feature = "testing")]
pub mod testing;

pub use batch::{AppendError, AppendReport, SampleSink, TimeSeries, WriteBatch};
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use metadata::{MetricMetadata, MetricType};
pub use sample::{is_stale_nan, Exemplar, Sample, STALE_NAN, STALE_NAN_BITS};
pub use units::{ByteSize, PromDuration};
