//! Sightline's time-series database: an in-memory head with a write-ahead log,
//! compressed chunks, immutable on-disk blocks with an inverted index, compaction
//! and retention.
//!
//! - [`db::Tsdb`]: the database (open, append, query, maintenance).
//! - [`querier::Querier`] and [`series::Series`]: reading.
//! - [`backfill::BlockWriter`]: writing blocks for historical data.
//! - [`config::StorageConfig`]: the `storage.tsdb` configuration section.
//! - Internals: [`chunk`] encodings, [`head`], [`block`] files and [`block::index`],
//!   [`postings`] matching, [`wal_records`], [`compact`]ion and retention.

pub mod backfill;
pub mod block;
pub mod chunk;
pub mod compact;
pub mod config;
pub mod db;
pub mod encoding;
pub mod error;
pub mod head;
pub mod metrics;
pub mod postings;
pub mod querier;
pub mod series;
pub mod wal_records;

pub use backfill::BlockWriter;
pub use block::BlockMeta;
pub use config::StorageConfig;
pub use db::{Tsdb, TsdbStats};
pub use error::TsdbError;
pub use head::HeadStats;
pub use querier::Querier;
pub use series::{Series, SeriesIter};
