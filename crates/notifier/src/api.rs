//! Alertmanager's API v2 as an axum router, with the JSON shapes of its OpenAPI
//! specification, so Prometheus, `amtool` and dashboards work unchanged.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sightline_model::{Labels, Matcher};

use crate::alert::{labels_map, Alert};
use crate::dispatch::{AlertView, Inner};
use crate::matchers::parse_matchers;
use crate::silence::{Silence, SilenceError, SilenceMatcher};

type St = State<Arc<Inner>>;

/// Builds the `/api/v2` routes over the notifier state.
pub fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/api/v2/alerts", get(get_alerts).post(post_alerts))
        .route("/api/v2/alerts/groups", get(get_groups))
        .route("/api/v2/silences", get(get_silences).post(post_silence))
        .route(
            "/api/v2/silence/{id}",
            get(get_silence).delete(delete_silence),
        )
        .route("/api/v2/status", get(status))
        .route("/api/v2/receivers", get(receivers))
        .with_state(inner)
}

fn err(code: StatusCode, msg: impl Into<String>) -> Response {
    (
        code,
        Json(json!({"code": code.as_u16(), "message": msg.into()})),
    )
        .into_response()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An alert as posted by Prometheus.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    /// Identifying labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Start (optional).
    pub starts_at: Option<DateTime<Utc>>,
    /// End (optional; zero time means none).
    pub ends_at: Option<DateTime<Utc>>,
    /// Link to the rule.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
}

fn non_zero(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    t.filter(|t| t.year() > 1)
}

impl PostableAlert {
    /// Converts to an [`Alert`] received at `now`, with Alertmanager's defaults.
    pub fn into_alert(self, now: DateTime<Utc>) -> Result<Alert, String> {
        for (k, v) in &self.labels {
            if !crate::alert::valid_label_name(k) {
                return Err(format!("invalid label name {k:?}"));
            }
            if v.is_empty() {
                return Err(format!("label {k:?} has an empty value"));
            }
        }
        let ends_at = non_zero(self.ends_at);
        let starts_at = non_zero(self.starts_at).or(ends_at).unwrap_or(now);
        let a = Alert {
            labels: Labels::from_pairs(self.labels),
            annotations: self.annotations,
            starts_at,
            ends_at,
            generator_url: self.generator_url,
            updated_at: now,
            timeout: false,
        };
        a.validate()?;
        Ok(a)
    }
}

async fn post_alerts(State(inner): St, body: Bytes) -> Response {
    let parsed: Vec<PostableAlert> = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return err(StatusCode::BAD_REQUEST, format!("invalid alerts JSON: {e}")),
    };
    let now = Utc::now();
    let mut good = Vec::with_capacity(parsed.len());
    let mut bad = Vec::new();
    for (i, p) in parsed.into_iter().enumerate() {
        match p.into_alert(now) {
            Ok(a) => good.push(a),
            Err(e) => bad.push(format!("alert {i}: {e}")),
        }
    }
    if !good.is_empty() {
        inner.ingest(good);
    }
    if !bad.is_empty() {
        return err(StatusCode::BAD_REQUEST, bad.join("; "));
    }
    StatusCode::OK.into_response()
}

struct Query {
    filter: Vec<Matcher>,
    flags: BTreeMap<String, bool>,
    receiver: Option<regex::Regex>,
}

#[allow(clippy::result_large_err)]
fn parse_query(q: Option<String>) -> Result<Query, Response> {
    let mut out = Query {
        filter: Vec::new(),
        flags: BTreeMap::new(),
        receiver: None,
    };
    let q = q.unwrap_or_default();
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        match k.as_ref() {
            "filter" => out
                .filter
                .extend(parse_matchers(&v).map_err(|e| err(StatusCode::BAD_REQUEST, e))?),
            "receiver" => {
                out.receiver = Some(
                    regex::Regex::new(&format!("^(?:{v})$"))
                        .map_err(|e| err(StatusCode::BAD_REQUEST, format!("receiver: {e}")))?,
                )
            }
            "active" | "silenced" | "inhibited" | "unprocessed" | "muted" => {
                let b = v.parse::<bool>().map_err(|_| {
                    err(
                        StatusCode::BAD_REQUEST,
                        format!("{k}: expected true or false"),
                    )
                })?;
                out.flags.insert(k.into_owned(), b);
            }
            _ => {}
        }
    }
    Ok(out)
}

fn flag(q: &Query, k: &str) -> bool {
    q.flags.get(k).copied().unwrap_or(true)
}

fn matches_all(ms: &[Matcher], l: &Labels) -> bool {
    ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or("")))
}

fn alert_json(v: &AlertView) -> Value {
    let suppressed = !v.silenced_by.is_empty() || !v.inhibited_by.is_empty();
    json!({
        "labels": labels_map::serialize(&v.alert.labels, serde_json::value::Serializer).unwrap_or_default(),
        "annotations": v.alert.annotations,
        "startsAt": ts(v.alert.starts_at),
        "endsAt": ts(v.alert.ends_at.unwrap_or(v.alert.starts_at)),
        "updatedAt": ts(v.alert.updated_at),
        "generatorURL": v.alert.generator_url,
        "fingerprint": v.alert.fingerprint().to_string(),
        "receivers": v.receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "status": {
            "state": if suppressed { "suppressed" } else { "active" },
            "silencedBy": v.silenced_by,
            "inhibitedBy": v.inhibited_by.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            "mutedBy": [],
        },
    })
}

fn select(views: Vec<AlertView>, q: &Query, now: DateTime<Utc>) -> Vec<AlertView> {
    views
        .into_iter()
        .filter(|v| !v.alert.resolved_at(now))
        .filter(|v| matches_all(&q.filter, &v.alert.labels))
        .filter(|v| {
            q.receiver
                .as_ref()
                .is_none_or(|re| v.receivers.iter().any(|r| re.is_match(r)))
        })
        .filter(|v| {
            let silenced = !v.silenced_by.is_empty();
            let inhibited = !v.inhibited_by.is_empty();
            (flag(q, "silenced") || !silenced)
                && (flag(q, "inhibited") || !inhibited)
                && (flag(q, "active") || silenced || inhibited)
        })
        .collect()
}

async fn get_alerts(State(inner): St, RawQuery(q): RawQuery) -> Response {
    let q = match parse_query(q) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let now = Utc::now();
    let views = inner.state.lock().alert_views(now);
    let out: Vec<Value> = select(views, &q, now).iter().map(alert_json).collect();
    Json(out).into_response()
}

async fn get_groups(State(inner): St, RawQuery(q): RawQuery) -> Response {
    let q = match parse_query(q) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let now = Utc::now();
    let st = inner.state.lock();
    let views: BTreeMap<_, _> = st
        .alert_views(now)
        .into_iter()
        .map(|v| (v.alert.fingerprint(), v))
        .collect();
    let mut groups: Vec<_> = st.groups.values().collect();
    groups.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Vec::new();
    for g in groups {
        let members: Vec<AlertView> = g
            .alerts
            .iter()
            .filter_map(|fp| views.get(fp).cloned())
            .collect();
        let sel = select(members, &q, now);
        if sel.is_empty() {
            continue;
        }
        if let Some(re) = &q.receiver {
            if !re.is_match(&g.receiver) {
                continue;
            }
        }
        out.push(json!({
            "labels": labels_map::serialize(&g.labels, serde_json::value::Serializer).unwrap_or_default(),
            "receiver": {"name": g.receiver},
            "alerts": sel.iter().map(alert_json).collect::<Vec<_>>(),
        }));
    }
    Json(out).into_response()
}

fn silence_json(s: &Silence, now: DateTime<Utc>) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now).as_str()},
        "updatedAt": ts(s.updated_at),
        "matchers": s.matchers,
        "startsAt": ts(s.starts_at),
        "endsAt": ts(s.ends_at),
        "createdBy": s.created_by,
        "comment": s.comment,
    })
}

async fn get_silences(State(inner): St, RawQuery(q): RawQuery) -> Response {
    let q = match parse_query(q) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let now = Utc::now();
    let st = inner.state.lock();
    let mut list: Vec<&Silence> = st
        .silences
        .iter()
        .filter(|s| {
            let as_labels =
                Labels::from_pairs(s.matchers.iter().map(|m| (m.name.clone(), m.value.clone())));
            matches_all(&q.filter, &as_labels)
        })
        .collect();
    // Alertmanager lists active, then pending, then expired.
    list.sort_by_key(|s| {
        let rank = match s.state(now) {
            crate::silence::SilenceState::Active => 0,
            crate::silence::SilenceState::Pending => 1,
            crate::silence::SilenceState::Expired => 2,
        };
        (rank, s.ends_at)
    });
    Json(
        list.iter()
            .map(|s| silence_json(s, now))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: String,
    matchers: Vec<SilenceMatcher>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

async fn post_silence(State(inner): St, body: Bytes) -> Response {
    let p: PostableSilence = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return err(
                StatusCode::BAD_REQUEST,
                format!("invalid silence JSON: {e}"),
            )
        }
    };
    let now = Utc::now();
    let s = Silence {
        id: p.id,
        matchers: p.matchers,
        starts_at: p.starts_at,
        ends_at: p.ends_at,
        updated_at: now,
        created_by: p.created_by,
        comment: p.comment,
    };
    let r = inner.state.lock().silences.upsert(s, now);
    match r {
        Ok(id) => {
            inner.mark_dirty();
            inner.wake.notify_one();
            Json(json!({"silenceID": id})).into_response()
        }
        Err(SilenceError::NotFound(id)) => {
            err(StatusCode::NOT_FOUND, format!("silence {id} not found"))
        }
        Err(e) => err(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn get_silence(State(inner): St, Path(id): Path<String>) -> Response {
    let st = inner.state.lock();
    match st.silences.get(&id) {
        Some(s) => Json(silence_json(s, Utc::now())).into_response(),
        None => err(StatusCode::NOT_FOUND, format!("silence {id} not found")),
    }
}

async fn delete_silence(State(inner): St, Path(id): Path<String>) -> Response {
    let r = inner.state.lock().silences.expire(&id, Utc::now());
    match r {
        Ok(()) => {
            inner.mark_dirty();
            inner.wake.notify_one();
            StatusCode::OK.into_response()
        }
        Err(SilenceError::NotFound(_)) => {
            err(StatusCode::NOT_FOUND, format!("silence {id} not found"))
        }
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn status(State(inner): St) -> Response {
    let original = {
        let st = inner.state.lock();
        serde_yaml::to_string(&st.cfg.config).unwrap_or_default()
    };
    Json(json!({
        "cluster": {"name": "sightline", "status": "disabled", "peers": []},
        "config": {"original": original},
        "uptime": ts(inner.started),
        "versionInfo": {
            "branch": "main",
            "buildDate": "",
            "buildUser": "sightline",
            "goVersion": "n/a",
            "revision": "",
            "version": env!("CARGO_PKG_VERSION"),
        },
    }))
    .into_response()
}

async fn receivers(State(inner): St) -> Response {
    let st = inner.state.lock();
    Json(
        st.cfg
            .receiver_names
            .iter()
            .map(|n| json!({"name": n}))
            .collect::<Vec<_>>(),
    )
    .into_response()
}
