//! Sightline's time-series database: head, WAL replay, compressed chunks, blocks,
//! compaction, retention.

pub mod chunk;
