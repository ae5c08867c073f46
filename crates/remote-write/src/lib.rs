//! Prometheus remote_write receiver: decoding and validation of `WriteRequest`.
//!
//! - [`proto`]: the remote_write 1.0 and 2.0 wire messages.
//! - [`limits`]: size and label limits.
//! - [`decode`]: snappy + protobuf decoding and label validation into a
//!   [`sightline_model::WriteBatch`].
//! - [`http`]: the axum router serving `POST /api/v1/write` with the status codes
//!   senders expect (204, 400, 413, 415, 500, 503).
//! - [`metrics`]: the receiver's self-metrics.
//! - `wire`: the hand-written protobuf reader for remote_write 1.0 (the hot path).

pub mod decode;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod proto;
mod wire;

pub use decode::{
    decode_v1, decode_v1_with_stats, decode_v2, decode_v2_with_stats, DecodeError, DecodeStats,
};
pub use http::router;
pub use limits::Limits;

/// Encodes a protobuf message and snappy-compresses it (block format), as a
/// remote_write sender does. Used by tests, benchmarks and forwarding code.
pub fn encode_snappy<M: prost::Message>(msg: &M) -> Result<Vec<u8>, snap::Error> {
    snap::raw::Encoder::new().compress_vec(&msg.encode_to_vec())
}
