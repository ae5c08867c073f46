//! PromQL evaluation with Prometheus 3.x semantics.
//!
//! Queries are parsed with the `promql-parser` crate and evaluated by our own engine
//! over any storage that implements [`Queryable`]. The engine walks each selected
//! series once per query node with a reusable window buffer instead of loading every
//! sample up front.
//!
//! - [`storage`]: the storage traits the TSDB adapts to, and [`MemStorage`].
//! - [`engine`]: [`Engine`], its options and limits, and the query entry points.
//! - [`value`]: query results ([`Value`]) and [`format_value`] for the HTTP API.
//! - [`error`]: [`QueryError`], typed so the HTTP layer can pick the error kind.
//! - [`parse`]: parsing with Prometheus' error positions ([`parse_query`]) and the
//!   selectors of a query ([`query_selectors`]).

pub mod engine;
pub mod error;
mod eval;
pub mod parse;
pub mod storage;
pub mod value;

pub use engine::{CancelToken, Engine, EngineOptions, QueryResult};
pub use error::{ErrorKind, QueryError, StorageError};
pub use parse::{parse_query, query_selectors};
pub use storage::{MemStorage, Queryable, SampleIter, SeriesSource, StoredSeries};
pub use value::{format_value, Value};
