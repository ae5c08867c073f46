//! `/api/v1/metadata` and `/api/v1/status/tsdb` (cardinality statistics).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};
use sightline_tsdb::Tsdb;

use crate::envelope::{success, ApiError};
use crate::params::Params;

/// `GET /api/v1/metadata?metric=&limit=&limit_per_metric=`
pub async fn metadata(State(tsdb): State<Arc<Tsdb>>, p: Params) -> Result<Response, ApiError> {
    let metric = p.get("metric").map(str::to_string);
    let limit = p.limit()?;
    let per_metric: usize = match p.get("limit_per_metric") {
        None | Some("") => 0,
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::bad_data("invalid parameter \"limit_per_metric\""))?,
    };
    let mut by_name: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in tsdb.metadata() {
        if metric
            .as_ref()
            .is_some_and(|want| *want != m.metric_family_name)
        {
            continue;
        }
        let entry = json!({"type": m.metric_type.as_str(), "help": m.help, "unit": m.unit});
        let list = by_name.entry(m.metric_family_name).or_default();
        if (per_metric == 0 || list.len() < per_metric) && !list.contains(&entry) {
            list.push(entry);
        }
    }
    let mut data = serde_json::Map::new();
    for (name, list) in by_name {
        if limit > 0 && data.len() >= limit {
            break;
        }
        data.insert(name, Value::Array(list));
    }
    Ok(success(Value::Object(data)))
}

/// `GET /api/v1/status/tsdb?limit=10`: head statistics and the top series counts
/// by metric name, label name and label pair, in Prometheus' field names.
pub async fn tsdb_status(State(tsdb): State<Arc<Tsdb>>, p: Params) -> Result<Response, ApiError> {
    let limit = match p.limit()? {
        0 => 10,
        n => n,
    };
    let stats = tokio::task::spawn_blocking(move || tsdb.stats(limit))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let h = &stats.head;
    let pairs = |v: &[(String, u64)]| -> Value {
        Value::Array(
            v.iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect(),
        )
    };
    Ok(success(json!({
        "headStats": {
            "numSeries": h.num_series,
            "numLabelPairs": h.num_label_pairs,
            "chunkCount": h.num_chunks,
            "minTime": h.min_time.unwrap_or(0),
            "maxTime": h.max_time.unwrap_or(0),
        },
        "seriesCountByMetricName": pairs(&h.series_count_by_metric_name),
        "labelValueCountByLabelName": pairs(&h.label_value_count_by_label_name),
        "memoryInBytesByLabelName": pairs(&h.memory_in_bytes_by_label_name),
        "seriesCountByLabelValuePair": pairs(&h.series_count_by_label_value_pair),
        "walSizeBytes": stats.wal_size_bytes,
        "blockCount": stats.block_count,
        "blocksBytes": stats.blocks_bytes,
    })))
}
