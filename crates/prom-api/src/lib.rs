//! The Prometheus HTTP API (`/api/v1/...`) over Sightline's TSDB.
//!
//! Everything here is a protocol adapter: it parses Prometheus' request parameters
//! (GET query string or form POST, repeated `match[]`, RFC 3339 or Unix timestamps),
//! asks the TSDB, and answers with Prometheus' exact envelope
//! (`{status, data, errorType, error, warnings, infos}`), so Grafana and scripts written for
//! Prometheus read Sightline unchanged.
//!
//! - [`params`]: request parameters (times, durations, `match[]`, limits).
//! - [`selector`]: `match[]` series selectors → storage matchers.
//! - [`envelope`]: the response envelope and error types.
//! - [`series`]: `/series`, `/labels`, `/label/<name>/values`, `/export`.
//! - [`status`]: `/metadata`, `/status/tsdb`.
//! - [`query`]: `/query`, `/query_range`, `/format_query`, `/query_exemplars`.
//! - [`storage_adapter`]: the TSDB as the PromQL engine's storage.

pub mod envelope;
pub mod params;
pub mod query;
pub mod selector;
pub mod series;
pub mod status;
pub mod storage_adapter;

pub use query::{QueryApi, QueryConfig};
pub use storage_adapter::TsdbQueryable;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use sightline_tsdb::Tsdb;

/// Builds the router for the endpoints of this crate. GET and form POST are both
/// accepted, as Prometheus does.
pub fn router(tsdb: Arc<Tsdb>, query: Arc<QueryApi>) -> Router {
    let queries = Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route(
            "/api/v1/format_query",
            get(query::format_query).post(query::format_query),
        )
        .route(
            "/api/v1/query_exemplars",
            get(query::exemplars).post(query::exemplars),
        )
        .with_state(query);
    Router::new()
        .route("/api/v1/series", get(series::series).post(series::series))
        .route("/api/v1/labels", get(series::labels).post(series::labels))
        .route("/api/v1/label/{name}/values", get(series::label_values))
        .route("/api/v1/export", get(series::export).post(series::export))
        .route("/api/v1/metadata", get(status::metadata))
        .route("/api/v1/status/tsdb", get(status::tsdb_status))
        .with_state(tsdb)
        .merge(queries)
}
