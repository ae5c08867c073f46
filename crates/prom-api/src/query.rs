//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query` and
//! `/api/v1/query_exemplars`: PromQL through Prometheus' HTTP API.
//!
//! Queries run on blocking threads, at most `max_concurrency` at once (more wait, as
//! in Prometheus). Each has a deadline (`timeout` parameter, capped by the configured
//! one) and is cancelled when the client goes away: the handler's future holds a guard
//! whose drop fires the engine's cancel token.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sightline_model::{Exemplar, Labels, PromDuration};
use sightline_promql::{
    format_value, CancelToken, Engine, EngineOptions, ErrorKind, QueryError, Value,
};
use tokio::sync::Semaphore;

use crate::envelope::{ApiError, ErrorType};
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
    // Evaluate and render on the blocking pool: a large matrix is megabytes of JSON.
    let task = tokio::task::spawn_blocking(move || {
        eval(&task_api.engine, &task_api.storage, &task_token).map(|r| render_body(&r))
    });
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
    let body = result.map_err(query_error)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Appends `s` as a JSON string literal.
fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a millisecond timestamp exactly as Prometheus writes it: seconds, then `.`
/// and three digits when there is a fraction.
fn write_timestamp(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let abs = t.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        let _ = write!(out, "{secs}");
    } else {
        let _ = write!(out, "{secs}.{frac:03}");
    }
}

fn write_metric(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, label) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(out, &label.name);
        out.push(':');
        write_json_str(out, &label.value);
    }
    out.push('}');
}

fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    out.push_str(&format_value(v));
    out.push_str("\"]");
}

/// Writes the `data` object of a query response straight into `out`, without
/// building an intermediate JSON tree (range answers can hold millions of points).
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Scalar { t, v } => {
            out.push_str("{\"resultType\":\"scalar\",\"result\":");
            write_point(out, *t, *v);
            out.push('}');
        }
        Value::String { t, v } => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            write_timestamp(out, *t);
            out.push(',');
            write_json_str(out, v);
            out.push_str("]}");
        }
        Value::Vector(samples) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":[");
            for (i, (l, t, v)) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_metric(out, l);
                out.push_str(",\"value\":");
                write_point(out, *t, *v);
                out.push('}');
            }
            out.push_str("]}");
        }
        Value::Matrix(series) => {
            out.push_str("{\"resultType\":\"matrix\",\"result\":[");
            for (i, (l, samples)) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_metric(out, l);
                out.push_str(",\"values\":[");
                for (j, s) in samples.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(out, s.t, s.v);
                }
                out.push_str("]}");
            }
            out.push_str("]}");
        }
    }
}

/// The whole success body of a query: envelope, data, warnings and infos (each
/// left out when empty, as Prometheus 3 does).
pub fn render_body(r: &sightline_promql::QueryResult) -> String {
    let points: usize = match &r.value {
        Value::Matrix(m) => m.iter().map(|(_, s)| s.len()).sum(),
        Value::Vector(v) => v.len(),
        _ => 1,
    };
    let mut out = String::with_capacity(64 + points * 32);
    out.push_str("{\"status\":\"success\",\"data\":");
    write_value(&mut out, &r.value);
    for (key, list) in [("warnings", &r.warnings), ("infos", &r.infos)] {
        if !list.is_empty() {
            let _ = write!(out, ",\"{key}\":{}", serde_json::Value::from(list.clone()));
        }
    }
    out.push('}');
    out
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
    fn written_values_are_prometheus_json() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\"b\\c\nd")]);
        let matrix = Value::Matrix(vec![(
            l.clone(),
            vec![
                sightline_model::Sample::new(1_000, 1.0),
                sightline_model::Sample::new(1_500, f64::NAN),
            ],
        )]);
        let mut out = String::new();
        write_value(&mut out, &matrix);
        let parsed: Json = serde_json::from_str(&out).unwrap();
        assert_eq!(
            parsed,
            json!({"resultType": "matrix", "result": [{"metric": {"__name__": "up", "job": "a\"b\\c\nd"}, "values": [[1, "1"], [1.5, "NaN"]]}]})
        );
        assert!(out.contains("[1.500,\"NaN\"]"), "{out}");
        let mut ts = String::new();
        write_timestamp(&mut ts, -1_500);
        assert_eq!(ts, "-1.500");
        let mut out = String::new();
        write_value(&mut out, &Value::Vector(vec![(l, 2_000, 1e-7)]));
        let parsed: Json = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["result"][0]["value"], json!([2, "1e-07"]));
        let mut out = String::new();
        write_value(
            &mut out,
            &Value::Scalar {
                t: 3_000,
                v: f64::INFINITY,
            },
        );
        assert_eq!(out, "{\"resultType\":\"scalar\",\"result\":[3,\"+Inf\"]}");
        let body = render_body(&sightline_promql::QueryResult {
            value: Value::String {
                t: 0,
                v: "x".into(),
            },
            warnings: vec!["PromQL warning: w".into()],
            infos: vec![],
        });
        let parsed: Json = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parsed,
            json!({"status": "success", "data": {"resultType": "string", "result": [0, "x"]}, "warnings": ["PromQL warning: w"]})
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
