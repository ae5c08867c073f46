//! `/api/v1/rules`, `/api/v1/alerts` (Prometheus' shapes) and `/api/v1/slos`
//! (each SLO's current SLI, error budget remaining, burn rates and alert state).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sightline_prom_api::params::Params;
use sightline_rules::api::RulesFilter;
use sightline_rules::file::RuleKind;

use crate::app::AppState;

/// `GET /api/v1/rules?type=alert|record&rule_name[]=&rule_group[]=&file[]=&exclude_alerts=`
pub async fn rules(State(s): State<Arc<AppState>>, p: Params) -> Response {
    let filter = RulesFilter {
        kind: match p.get("type") {
            Some("alert") => Some(RuleKind::Alerting),
            Some("record") => Some(RuleKind::Recording),
            _ => None,
        },
        rule_names: p
            .all("rule_name[]")
            .into_iter()
            .map(str::to_string)
            .collect(),
        rule_groups: p
            .all("rule_group[]")
            .into_iter()
            .map(str::to_string)
            .collect(),
        files: p.all("file[]").into_iter().map(str::to_string).collect(),
        exclude_alerts: p.get("exclude_alerts") == Some("true"),
    };
    if let Some(t) = p.get("type") {
        if t != "alert" && t != "record" && !t.is_empty() {
            return sightline_prom_api::envelope::ApiError::bad_data(format!(
                "invalid parameter \"type\": {t:?} is not alert or record"
            ))
            .into_response();
        }
    }
    Json(sightline_rules::api::rules_response(
        &s.rules.rule_groups(),
        &filter,
    ))
    .into_response()
}

/// `GET /api/v1/alerts`
pub async fn alerts(State(s): State<Arc<AppState>>) -> Response {
    Json(sightline_rules::api::alerts_response(&s.rules.alerts())).into_response()
}

/// `GET /api/v1/slos`
pub async fn slos(State(s): State<Arc<AppState>>) -> Response {
    let slos = s.config.read().config.slos.clone();
    let state = s.clone();
    let body = tokio::task::spawn_blocking(move || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let db = sightline_prom_api::TsdbQueryable(state.tsdb.clone());
        let statuses = sightline_rules::slo::slo_status(
            state.query.engine(),
            &db,
            &slos,
            now,
            &state.rules.alerts(),
        );
        sightline_rules::slo::slo_status_json(&statuses)
    })
    .await
    .unwrap_or_default();
    Json(body).into_response()
}
