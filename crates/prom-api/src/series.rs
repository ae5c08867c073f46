//! `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/<name>/values` and
//! `/api/v1/export` (VictoriaMetrics' raw-sample export, one JSON object per series
//! per line, which tools use to copy data out and tests use to compare stores).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sightline_model::{is_stale_nan, Labels, Matcher};
use sightline_tsdb::Tsdb;

use crate::envelope::{success, ApiError};
use crate::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::selector;

fn labels_json(l: &Labels) -> Value {
    let mut m = Map::new();
    for label in l {
        m.insert(label.name.clone(), Value::String(label.value.clone()));
    }
    Value::Object(m)
}

struct Range {
    start: i64,
    end: i64,
}

fn range(p: &Params) -> Result<Range, ApiError> {
    let start = p.time_or("start", MIN_TIME_MS)?;
    let end = p.time_or("end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    Ok(Range { start, end })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("query task failed: {e}")))?
}

fn select_union(
    tsdb: &Tsdb,
    r: &Range,
    alts: &[Vec<Matcher>],
) -> Result<Vec<sightline_tsdb::Series>, ApiError> {
    let q = tsdb
        .querier(r.start, r.end)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut out: Vec<sightline_tsdb::Series> = Vec::new();
    for alt in alts {
        out.extend(
            q.select(alt)
                .map_err(|e| ApiError::internal(e.to_string()))?,
        );
    }
    if alts.len() > 1 {
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out.dedup_by(|a, b| a.labels == b.labels);
    }
    Ok(out)
}

/// `GET|POST /api/v1/series?match[]=…&start&end&limit`
pub async fn series(State(tsdb): State<Arc<Tsdb>>, p: Params) -> Result<Response, ApiError> {
    let matches = p.all("match[]");
    if matches.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let alts = selector::parse_all(&matches).map_err(ApiError::bad_data)?;
    let r = range(&p)?;
    let limit = p.limit()?;
    let data = blocking(move || {
        // Labels only: no chunk is read or copied (a `{job="x"}` over a large
        // store would otherwise load every chunk it selects).
        let q = tsdb
            .querier(r.start, r.end)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut series: Vec<Labels> = Vec::new();
        for alt in &alts {
            series.extend(
                q.select_labels(alt)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
            );
        }
        if alts.len() > 1 {
            series.sort();
            series.dedup();
        }
        if limit > 0 {
            series.truncate(limit);
        }
        Ok(series.iter().map(labels_json).collect::<Vec<_>>())
    })
    .await?;
    Ok(success(Value::Array(data)))
}

/// Runs `each` over every `match[]` alternative (or once with no matchers when there
/// is none) and answers the sorted union, cut to `limit`: the shared shape of
/// `/labels` and `/label/<name>/values`.
async fn string_union(
    tsdb: Arc<Tsdb>,
    p: Params,
    each: impl Fn(&sightline_tsdb::Querier, &[Matcher]) -> Result<Vec<String>, sightline_tsdb::TsdbError>
        + Send
        + 'static,
) -> Result<Response, ApiError> {
    let mut alts = selector::parse_all(&p.all("match[]")).map_err(ApiError::bad_data)?;
    if alts.is_empty() {
        alts.push(Vec::new());
    }
    let r = range(&p)?;
    let limit = p.limit()?;
    let strings = blocking(move || {
        let q = tsdb
            .querier(r.start, r.end)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut union = BTreeSet::new();
        for alt in &alts {
            union.extend(each(&q, alt).map_err(|e| ApiError::internal(e.to_string()))?);
        }
        let mut v: Vec<String> = union.into_iter().collect();
        if limit > 0 {
            v.truncate(limit);
        }
        Ok(v)
    })
    .await?;
    Ok(success(Value::from(strings)))
}

/// `GET|POST /api/v1/labels?match[]=…&start&end&limit`
pub async fn labels(State(tsdb): State<Arc<Tsdb>>, p: Params) -> Result<Response, ApiError> {
    string_union(tsdb, p, |q, m| q.label_names(m)).await
}

/// `GET /api/v1/label/<name>/values?match[]=…&start&end&limit`
pub async fn label_values(
    State(tsdb): State<Arc<Tsdb>>,
    Path(name): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    string_union(tsdb, p, move |q, m| q.label_values(&name, m)).await
}

fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("\"NaN\"");
    } else if v == f64::INFINITY {
        out.push_str("\"+Inf\"");
    } else if v == f64::NEG_INFINITY {
        out.push_str("\"-Inf\"");
    } else {
        let _ = write!(out, "{v:?}");
    }
}

/// `GET|POST /api/v1/export?match[]=…&start&end[&include_stale=true]`: every raw
/// sample, one line per series:
/// `{"metric":{…},"values":[…],"timestamps":[…]}`. Non-finite values are strings
/// (`"NaN"`, `"+Inf"`, `"-Inf"`); staleness markers are left out unless
/// `include_stale=true`, where they appear as `"NaN"`.
pub async fn export(State(tsdb): State<Arc<Tsdb>>, p: Params) -> Result<Response, ApiError> {
    let matches = p.all("match[]");
    if matches.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let alts = selector::parse_all(&matches).map_err(ApiError::bad_data)?;
    let r = range(&p)?;
    let include_stale = p.get("include_stale") == Some("true");
    let body = blocking(move || {
        let series = select_union(&tsdb, &r, &alts)?;
        let mut out = String::new();
        let mut values = String::new();
        let mut timestamps = String::new();
        for s in &series {
            values.clear();
            timestamps.clear();
            let mut it = s.iter();
            let mut first = true;
            while let Some(sample) = it.next() {
                if !include_stale && is_stale_nan(sample.v) {
                    continue;
                }
                if !first {
                    values.push(',');
                    timestamps.push(',');
                }
                first = false;
                write_float(&mut values, sample.v);
                let _ = write!(timestamps, "{}", sample.t);
            }
            if first {
                continue;
            }
            let _ = writeln!(
                out,
                "{{\"metric\":{},\"values\":[{values}],\"timestamps\":[{timestamps}]}}",
                labels_json(&s.labels)
            );
        }
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/stream+json")], body).into_response())
}
