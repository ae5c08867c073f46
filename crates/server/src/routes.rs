//! The HTTP router of the main listener (Prometheus' port, 9090 by default).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sightline_config::ServerConfig;

use crate::app::AppState;

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Builds the router: health, readiness, reload, self-metrics, host metrics, the
/// demo services, remote_write, OTLP/HTTP under `/api/v1/otlp` (as Prometheus 3
/// serves it), the targets API and the read side of the Prometheus API.
pub fn router(state: Arc<AppState>, server: &ServerConfig) -> Router {
    let limits = sightline_remote_write::Limits {
        max_compressed_bytes: server.max_request_body.0 as usize,
        max_decompressed_bytes: server.max_decompressed_body.0 as usize,
        ..Default::default()
    };
    let ingest = Router::new()
        .merge(sightline_remote_write::router(state.ingest.clone(), limits))
        .nest(
            "/api/v1/otlp",
            sightline_otlp::http_router(state.ingest.clone()),
        )
        .layer(DefaultBodyLimit::max(server.max_request_body.0 as usize));
    Router::new()
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/-/reload", post(reload).put(reload))
        .route("/metrics", get(self_metrics))
        .route("/metrics/node", get(node_metrics))
        .route("/demo/{service}/metrics", get(demo_metrics))
        .route("/api/v1/targets", get(crate::targets_api::targets))
        .route("/api/v1/status/buildinfo", get(buildinfo))
        .route("/api/v1/rules", get(crate::rules_api::rules))
        .route("/api/v1/alerts", get(crate::rules_api::alerts))
        .route("/api/v1/slos", get(crate::rules_api::slos))
        .route("/api/v1/status/config", get(crate::status_api::config))
        .route("/api/v1/status/flags", get(crate::status_api::flags))
        .route(
            "/api/v1/status/runtimeinfo",
            get(crate::status_api::runtimeinfo),
        )
        .with_state(state.clone())
        .merge(sightline_prom_api::router(
            state.tsdb.clone(),
            state.query.clone(),
        ))
        .merge(state.notifier.router())
        .merge(ingest)
}

async fn healthy() -> &'static str {
    "Sightline is Healthy.\n"
}

async fn ready(State(s): State<Arc<AppState>>) -> Response {
    if s.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "Sightline is Ready.\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

async fn reload(State(s): State<Arc<AppState>>) -> Response {
    match crate::reload::reload(&s).await {
        Ok(()) => (StatusCode::OK, "configuration reloaded\n").into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

async fn self_metrics() -> Response {
    let body = tokio::task::spawn_blocking(crate::self_metrics::render)
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response()
}

async fn node_metrics(State(s): State<Arc<AppState>>) -> Response {
    let body = tokio::task::spawn_blocking(move || {
        let mut out = String::with_capacity(64 * 1024);
        s.host.render(&mut out);
        out
    })
    .await
    .unwrap_or_default();
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response()
}

async fn demo_metrics(State(s): State<Arc<AppState>>, Path(service): Path<String>) -> Response {
    match s.demo.as_ref().and_then(|d| d.render(&service)) {
        Some(body) => ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response(),
        None => (StatusCode::NOT_FOUND, "no such demo service\n").into_response(),
    }
}

async fn buildinfo() -> Response {
    axum::Json(serde_json::json!({
        "status": "success",
        "data": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("SIGHTLINE_REVISION").unwrap_or("unknown"),
            "branch": "main",
            "buildUser": "sightline",
            "buildDate": "unknown",
            "goVersion": "rust",
        }
    }))
    .into_response()
}
