//! `GET /api/v1/targets` in Prometheus' JSON shape, so Grafana, scripts and the
//! console read scrape health the way they read it from Prometheus.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sightline_model::Labels;
use sightline_scrape::{Health, TargetsSnapshot};

use crate::app::AppState;

/// Query parameters of `/api/v1/targets`.
#[derive(Debug, Deserialize, Default)]
pub struct TargetsParams {
    /// `active`, `dropped` or `any` (default).
    state: Option<String>,
    /// Only this scrape pool.
    #[serde(rename = "scrapePool")]
    scrape_pool: Option<String>,
}

fn labels_json(l: &Labels) -> Value {
    let mut m = Map::new();
    for label in l {
        m.insert(label.name.clone(), Value::String(label.value.clone()));
    }
    Value::Object(m)
}

/// Renders a snapshot as the `data` object of the Prometheus response.
pub fn render(snap: &TargetsSnapshot, state: &str, pool: Option<&str>) -> Value {
    let want_active = state == "any" || state == "active" || state.is_empty();
    let want_dropped = state == "any" || state == "dropped" || state.is_empty();
    let in_pool = |p: &str| pool.is_none_or(|want| want == p);
    let active: Vec<Value> = if want_active {
        snap.active
            .iter()
            .filter(|t| in_pool(&t.scrape_pool))
            .map(|t| {
                json!({
                    "discoveredLabels": labels_json(&t.discovered_labels),
                    "labels": labels_json(&t.labels),
                    "scrapePool": t.scrape_pool,
                    "scrapeUrl": t.scrape_url,
                    "globalUrl": t.global_url,
                    "lastError": t.last_error,
                    "lastScrape": t.last_scrape.map(|s| humantime::format_rfc3339_nanos(s).to_string()).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
                    "lastScrapeDuration": t.last_scrape_duration.as_secs_f64(),
                    "health": match t.health { Health::Up => "up", Health::Down => "down", Health::Unknown => "unknown" },
                    "scrapeInterval": t.scrape_interval.to_string(),
                    "scrapeTimeout": t.scrape_timeout.to_string(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut dropped_counts: BTreeMap<&str, u64> = BTreeMap::new();
    let dropped: Vec<Value> = snap
        .dropped
        .iter()
        .filter(|t| in_pool(&t.scrape_pool))
        .inspect(|t| *dropped_counts.entry(t.scrape_pool.as_str()).or_default() += 1)
        .filter(|_| want_dropped)
        .map(|t| json!({"discoveredLabels": labels_json(&t.discovered_labels), "scrapePool": t.scrape_pool}))
        .collect();
    json!({"activeTargets": active, "droppedTargets": dropped, "droppedTargetCounts": dropped_counts})
}

/// The handler.
pub async fn targets(
    State(state): State<Arc<AppState>>,
    Query(p): Query<TargetsParams>,
) -> Json<Value> {
    let snap = state.scrape.targets();
    let data = render(
        &snap,
        p.state.as_deref().unwrap_or("any"),
        p.scrape_pool.as_deref(),
    );
    Json(json!({"status": "success", "data": data}))
}
