//! `/api/v1/status/{config,flags,runtimeinfo}`: what Prometheus' status pages and
//! Grafana's datasource health check read about the running process.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::app::AppState;

fn envelope(data: serde_json::Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// `GET /api/v1/status/config`: the configuration file as loaded (`yaml`), or an
/// empty document when running on built-in defaults.
pub async fn config(State(s): State<Arc<AppState>>) -> Response {
    let source = s.config.read().source.clone();
    let yaml = match source {
        Some(path) => tokio::fs::read_to_string(&path).await.unwrap_or_default(),
        None => String::new(),
    };
    envelope(json!({ "yaml": yaml }))
}

/// `GET /api/v1/status/flags`: the command-line settings in effect.
pub async fn flags(State(s): State<Arc<AppState>>) -> Response {
    let loaded = s.config.read();
    let cfg = &loaded.config;
    envelope(json!({
        "config.file": loaded.source.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        "storage.tsdb.path": s.tsdb.dir().display().to_string(),
        "web.listen-address": s.listen_addr.to_string(),
        "web.external-url": cfg.server.external_url.clone().unwrap_or_default(),
        "storage.tsdb.retention.time": cfg.storage.tsdb.retention_time.to_string(),
        "storage.tsdb.retention.size": cfg.storage.tsdb.retention_size.map(|b| b.to_string()).unwrap_or_else(|| "0B".into()),
        "query.timeout": cfg.query.timeout.to_string(),
        "query.max-samples": cfg.query.max_samples.to_string(),
        "query.lookback-delta": cfg.query.lookback_delta.to_string(),
        "query.max-concurrency": cfg.query.max_concurrency.to_string(),
        "demo": s.demo.is_some().to_string(),
    }))
}

/// `GET /api/v1/status/runtimeinfo`: process facts in Prometheus' field names.
pub async fn runtimeinfo(State(s): State<Arc<AppState>>) -> Response {
    let loaded = s.config.read();
    let start = humantime::format_rfc3339_seconds(s.started_at).to_string();
    envelope(json!({
        "startTime": start,
        "CWD": std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
        "reloadConfigSuccess": s.last_reload_ok.load(std::sync::atomic::Ordering::Relaxed),
        "lastConfigTime": humantime::format_rfc3339_seconds(*s.last_config_time.read()).to_string(),
        "corruptionCount": 0,
        "goroutineCount": 0,
        "GOMAXPROCS": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": loaded.config.storage.tsdb.retention_time.to_string(),
    }))
}
