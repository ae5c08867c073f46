//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query` and
//! `/api/v1/query_exemplars`: PromQL through Prometheus' HTTP API.
//!
//! Queries run on blocking threads, at most `max_concurrency` at once (more wait, as
//! in Prometheus). Each has a deadline (`timeout` parameter, capped by the configured
//! one) and is cancelled when the client goes away: the handler's future holds a guard
//! whose drop fires the engine's cancel token.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sightline_model::{Exemplar, Labels, PromDuration};
use sightline_promql::{
    format_value, CancelToken, Engine, EngineOptions, ErrorKind, QueryError, Value,
};
use tokio::sync::Semaphore;

use crate::envelope::{success_with_annotations, ApiError, ErrorType};
use crate::params::{parse_time, Params};
use crate::storage_adapter::TsdbQueryable;

/// The `query` section of the configuration (Prometheus' `--query.*` flags).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Longest a query may run (Prometheus: 2m).
    pub timeout: PromDuration,
    /// Most samples a query may hold in memory at once (Prometheus: 50000000).
    pub max_samples: usize,
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback_delta: PromDuration,
    /// Queries evaluated at once; more wait (Prometheus: 20).
    pub max_concurrency: usize,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            timeout: PromDuration(Duration::from_secs(120)),
            max_samples: 50_000_000,
            lookback_delta: PromDuration(Duration::from_secs(300)),
            max_concurrency: 20,
        }
    }
}

/// Shared state of the query endpoints.
pub struct QueryApi {
    engine: Engine,
    storage: TsdbQueryable,
    slots: Semaphore,
    timeout: Duration,
}

impl QueryApi {
    /// Builds the query endpoints' state over `storage`.
    pub fn new(storage: TsdbQueryable, cfg: &QueryConfig) -> Self {
        let engine = Engine::new(EngineOptions {
            lookback_delta: cfg.lookback_delta.get(),
            timeout: cfg.timeout.get(),
            max_samples: cfg.max_samples,
            ..Default::default()
        });
        QueryApi {
            engine,
            storage,
            slots: Semaphore::new(cfg.max_concurrency.max(1)),
            timeout: cfg.timeout.get(),
        }
    }

    /// The engine, for other components that evaluate PromQL (rules).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Cancels the query when the request future is dropped (client gone).
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Writes a millisecond timestamp as Prometheus does: seconds, then `.` and exactly
/// three digits when there is a fraction.
pub fn timestamp_json(t: i64) -> Json {
    let secs = t.div_euclid(1000);
    let frac = t.rem_euclid(1000);
    let text = if frac == 0 {
        secs.to_string()
    } else {
        format!("{secs}.{frac:03}")
    };
    // A JSON number token with the exact digits Prometheus writes.
    serde_json::from_str(&text).unwrap_or(Json::Null)
}

fn metric_json(l: &Labels) -> Json {
    let mut m = serde_json::Map::new();
    for label in l {
        m.insert(label.name.clone(), Json::String(label.value.clone()));
    }
    Json::Object(m)
}

/// Renders an engine value as the `data` object of a query response.
pub fn value_json(v: &Value) -> Json {
    match v {
        Value::Scalar { t, v } => {
            json!({"resultType": "scalar", "result": [timestamp_json(*t), format_value(*v)]})
        }
        Value::String { t, v } => {
            json!({"resultType": "string", "result": [timestamp_json(*t), v]})
        }
        Value::Vector(samples) => json!({
            "resultType": "vector",
            "result": samples.iter().map(|(l, t, v)| json!({"metric": metric_json(l), "value": [timestamp_json(*t), format_value(*v)]})).collect::<Vec<_>>(),
        }),
        Value::Matrix(series) => json!({
            "resultType": "matrix",
            "result": series.iter().map(|(l, samples)| json!({
                "metric": metric_json(l),
                "values": samples.iter().map(|s| json!([timestamp_json(s.t), format_value(s.v)])).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    }
}

fn query_error(e: QueryError) -> ApiError {
    if let QueryError::Parse(m) = &e {
        // Prometheus reports a query that does not parse as a bad parameter.
        return ApiError::bad_data(format!("invalid parameter \"query\": {m}"));
    }
    let kind = match e.kind() {
        ErrorKind::BadData => ErrorType::BadData,
        ErrorKind::Execution => ErrorType::Execution,
        ErrorKind::Timeout => ErrorType::Timeout,
        ErrorKind::Canceled => ErrorType::Canceled,
    };
    ApiError {
        kind,
        message: e.to_string(),
    }
}

/// A duration parameter: float seconds or a Prometheus duration.
fn parse_duration_param(name: &str, s: &str) -> Result<Duration, ApiError> {
    if let Ok(f) = s.parse::<f64>() {
        if (0.0..9.2e15).contains(&f) {
            return Ok(Duration::from_secs_f64(f));
        }
    } else if let Ok(d) = PromDuration::parse(s) {
        return Ok(d.get());
    }
    Err(ApiError::bad_data(format!(
        "invalid parameter {name:?}: cannot parse {s:?} to a valid duration"
    )))
}

fn query_param(p: &Params) -> Result<String, ApiError> {
    match p.get("query") {
        Some(q) if !q.trim().is_empty() => Ok(q.to_string()),
        _ => Err(ApiError::bad_data("invalid parameter \"query\": unknown position: parse error: no expression found in input")),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn run(
    api: Arc<QueryApi>,
    p: &Params,
    eval: impl FnOnce(
            &Engine,
            &TsdbQueryable,
            &CancelToken,
        ) -> Result<sightline_promql::QueryResult, QueryError>
        + Send
        + 'static,
) -> Result<Response, ApiError> {
    let timeout = match p.get("timeout") {
        Some(t) if !t.is_empty() => parse_duration_param("timeout", t)?.min(api.timeout),
        _ => api.timeout,
    };
    let _slot = api
        .slots
        .acquire()
        .await
        .map_err(|_| ApiError::internal("query slots closed"))?;
    let token = CancelToken::new();
    let _guard = CancelOnDrop(token.clone());
    let task_token = token.clone();
    let task_api = api.clone();
    let task =
        tokio::task::spawn_blocking(move || eval(&task_api.engine, &task_api.storage, &task_token));
    let result = match tokio::time::timeout(timeout, task).await {
        Ok(joined) => joined.map_err(|e| ApiError::internal(format!("query task failed: {e}")))?,
        Err(_) => {
            token.cancel();
            return Err(ApiError {
                kind: ErrorType::Timeout,
                message: "query timed out in query execution".into(),
            });
        }
    };
    let r = result.map_err(query_error)?;
    Ok(success_with_annotations(
        value_json(&r.value),
        r.warnings,
        r.infos,
    ))
}

/// `GET|POST /api/v1/query?query=&time=&timeout=`
pub async fn instant(State(api): State<Arc<QueryApi>>, p: Params) -> Result<Response, ApiError> {
    let q = query_param(&p)?;
    let t = match p.get("time") {
        None | Some("") => now_ms(),
        Some(s) => parse_time(s)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"time\": {e}")))?,
    };
    run(api, &p, move |engine, db, token| {
        engine.instant_with(db, &q, t, Some(token))
    })
    .await
}

/// `GET|POST /api/v1/query_range?query=&start=&end=&step=&timeout=`
pub async fn range(State(api): State<Arc<QueryApi>>, p: Params) -> Result<Response, ApiError> {
    let q = query_param(&p)?;
    let get_time = |name: &str| -> Result<i64, ApiError> {
        let s = p.get(name).unwrap_or("");
        parse_time(s).map_err(|e| ApiError::bad_data(format!("invalid parameter {name:?}: {e}")))
    };
    let start = get_time("start")?;
    let end = get_time("end")?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step = parse_duration_param("step", p.get("step").unwrap_or(""))?;
    let step_ms = step.as_millis() as i64;
    if step_ms <= 0 {
        return Err(ApiError::bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step_ms > 11_000 {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    run(api, &p, move |engine, db, token| {
        engine.range_with(db, &q, start, end, step_ms, Some(token))
    })
    .await
}

/// `GET|POST /api/v1/format_query?query=`: the expression pretty-printed.
pub async fn format_query(p: Params) -> Result<Response, ApiError> {
    let q = query_param(&p)?;
    let expr = sightline_promql::parse_query(&q).map_err(query_error)?;
    Ok(crate::envelope::success(Json::String(expr.prettify())))
}

/// Renders exemplars grouped by series as `/query_exemplars` data:
/// `[{seriesLabels:{…}, exemplars:[{labels:{…}, value:"1", timestamp:1.5}]}]`.
pub fn exemplars_json(found: &[(Labels, Vec<Exemplar>)]) -> Json {
    Json::Array(
        found
            .iter()
            .map(|(series, ex)| {
                json!({
                    "seriesLabels": metric_json(series),
                    "exemplars": ex.iter().map(|e| json!({
                        "labels": metric_json(&e.labels),
                        "value": format_value(e.value),
                        "timestamp": timestamp_json(e.t),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// `GET|POST /api/v1/query_exemplars?query=&start=&end=`: the exemplars of the
/// series the query's selectors match, between `start` and `end` (both default
/// to the whole time range, as in Prometheus).
pub async fn exemplars(State(api): State<Arc<QueryApi>>, p: Params) -> Result<Response, ApiError> {
    let q = query_param(&p)?;
    let time_or = |name: &str, default: i64| -> Result<i64, ApiError> {
        match p.get(name) {
            None | Some("") => Ok(default),
            Some(s) => parse_time(s)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter {name:?}: {e}"))),
        }
    };
    let start = time_or("start", i64::MIN)?;
    let end = time_or("end", i64::MAX)?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start timestamp",
        ));
    }
    let selectors = sightline_promql::query_selectors(&q).map_err(query_error)?;
    if selectors.is_empty() {
        // A query without selectors (`1 + 1`) has no series, hence no exemplars.
        return Ok(crate::envelope::success(Json::Array(Vec::new())));
    }
    let tsdb = api.storage.0.clone();
    let found = tokio::task::spawn_blocking(move || tsdb.exemplars(start, end, &selectors))
        .await
        .map_err(|e| ApiError::internal(format!("exemplar task failed: {e}")))?
        .map_err(|e| ApiError {
            kind: ErrorType::Execution,
            message: e.to_string(),
        })?;
    Ok(crate::envelope::success(exemplars_json(&found)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemplars_shape() {
        let series = Labels::from_pairs([("__name__", "req_total"), ("job", "a")]);
        let ex = Exemplar {
            labels: Labels::from_pairs([("trace_id", "abc")]),
            value: 1.0,
            t: 1_500,
        };
        let j = exemplars_json(&[(series, vec![ex])]);
        assert_eq!(
            j.to_string(),
            r#"[{"exemplars":[{"labels":{"trace_id":"abc"},"timestamp":1.5,"value":"1"}],"seriesLabels":{"__name__":"req_total","job":"a"}}]"#
        );
    }

    #[test]
    fn parse_errors_are_bad_parameters_with_positions() {
        let e = query_error(sightline_promql::parse_query("sum(x").unwrap_err());
        assert_eq!(e.kind, ErrorType::BadData);
        assert_eq!(
            e.message,
            "invalid parameter \"query\": 1:6: parse error: unclosed left parenthesis"
        );
    }

    #[test]
    fn timestamps_like_prometheus() {
        assert_eq!(
            timestamp_json(1_435_781_451_781).to_string(),
            "1435781451.781"
        );
        assert_eq!(timestamp_json(1_435_781_451_000).to_string(), "1435781451");
        assert_eq!(
            timestamp_json(1_435_781_451_780).to_string(),
            "1435781451.78"
        );
        assert_eq!(timestamp_json(5).to_string(), "0.005");
    }
}
