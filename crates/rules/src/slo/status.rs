//! Live SLO figures for `/api/v1/slos`: SLI, budget remaining, burn rates and
//! the state of the burn-rate alerts.
//!
//! Figures are computed from the raw SLI queries (not the recorded series), so
//! they are right even before the generated rules have run for a full window.

use super::SloConfig;
use crate::alert::AlertState;
use crate::group::Alert;
use serde_json::{json, Value as Json};
use sightline_promql::{Engine, Queryable, Value};
use std::collections::BTreeMap;

/// One SLO's current state.
#[derive(Clone, Debug, PartialEq)]
pub struct SloStatus {
    /// `service`.
    pub service: String,
    /// `name`.
    pub name: String,
    /// Objective in percent.
    pub objective: f64,
    /// The SLO window (`30d`).
    pub window: String,
    /// Success ratio over the SLO window (`1 - error ratio`); `None` without traffic.
    pub sli: Option<f64>,
    /// The error budget as a ratio (`0.0001` at 99.99 %).
    pub error_budget: f64,
    /// Share of the window's budget left (negative when overspent).
    pub budget_remaining: Option<f64>,
    /// Error ratio per window.
    pub error_ratios: BTreeMap<String, Option<f64>>,
    /// Burn rate (error ratio / budget) per window.
    pub burn_rates: BTreeMap<String, Option<f64>>,
    /// State of the page alert.
    pub page: AlertState,
    /// State of the ticket alert.
    pub ticket: AlertState,
    /// Problems met while computing (query errors, missing buckets).
    pub errors: Vec<String>,
}

fn scalar(engine: &Engine, db: &dyn Queryable, q: &str, ts: i64) -> Result<Option<f64>, String> {
    let r = engine
        .instant_with(db, q, ts, None)
        .map_err(|e| e.to_string())?;
    let v = match r.value {
        Value::Vector(v) => v.first().map(|x| x.2),
        Value::Scalar { v, .. } => Some(v),
        _ => None,
    };
    Ok(v.filter(|x| !x.is_nan()))
}

fn alert_state(slo: &SloConfig, severity: &str, alerts: &[Alert]) -> AlertState {
    let mut st = AlertState::Inactive;
    for a in alerts {
        let l = &a.labels;
        if l.get("alertname") == Some(slo.alert_name())
            && l.get("slo_service") == Some(&slo.service)
            && l.get("slo_name") == Some(&slo.name)
            && l.get("severity") == Some(severity)
        {
            match a.state {
                AlertState::Firing => return AlertState::Firing,
                AlertState::Pending => st = AlertState::Pending,
                AlertState::Inactive => {}
            }
        }
    }
    st
}

/// Computes every SLO's status at `ts` (ms). `alerts` are the rule manager's
/// active alerts ([`crate::manager::RuleManager::alerts`]).
pub fn slo_status(
    engine: &Engine,
    db: &dyn Queryable,
    slos: &[SloConfig],
    ts: i64,
    alerts: &[Alert],
) -> Vec<SloStatus> {
    slos.iter()
        .map(|slo| {
            let budget = slo.error_budget();
            let mut errors = Vec::new();
            let mut ratios = BTreeMap::new();
            let mut burns = BTreeMap::new();
            for w in slo.windows() {
                let r = match scalar(engine, db, &slo.error_ratio_expr(&w), ts) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(format!("window {w}: {e}"));
                        None
                    }
                };
                burns.insert(w.clone(), r.map(|x| x / budget));
                ratios.insert(w, r);
            }
            if let Some(l) = &slo.sli.latency {
                let total = scalar(engine, db, &slo.total_rate_expr(&slo.window_str()), ts).ok().flatten();
                if total.is_some_and(|t| t > 0.0) && ratios.get(&slo.window_str()).copied().flatten().is_none() {
                    errors.push(format!(
                        "no {}_bucket series with le={} matches the selector: threshold_seconds must be a bucket boundary",
                        l.metric,
                        super::num(l.threshold_seconds)
                    ));
                }
            }
            let wr = ratios.get(&slo.window_str()).copied().flatten();
            SloStatus {
                service: slo.service.clone(),
                name: slo.name.clone(),
                objective: slo.objective,
                window: slo.window_str(),
                sli: wr.map(|r| 1.0 - r),
                error_budget: budget,
                budget_remaining: wr.map(|r| 1.0 - r / budget),
                error_ratios: ratios,
                burn_rates: burns,
                page: alert_state(slo, "page", alerts),
                ticket: alert_state(slo, "ticket", alerts),
                errors,
            }
        })
        .collect()
}

fn num_or_null(v: Option<f64>) -> Json {
    match v {
        Some(x) if x.is_finite() => json!(x),
        _ => Json::Null,
    }
}

/// The `/api/v1/slos` response body.
pub fn slo_status_json(statuses: &[SloStatus]) -> Json {
    let list: Vec<Json> = statuses
        .iter()
        .map(|s| {
            let map = |m: &BTreeMap<String, Option<f64>>| -> serde_json::Map<String, Json> {
                m.iter()
                    .map(|(k, v)| (k.clone(), num_or_null(*v)))
                    .collect()
            };
            json!({
                "service": s.service,
                "name": s.name,
                "objective": s.objective,
                "window": s.window,
                "sli": num_or_null(s.sli),
                "errorBudget": s.error_budget,
                "budgetRemaining": num_or_null(s.budget_remaining),
                "errorRatios": map(&s.error_ratios),
                "burnRates": map(&s.burn_rates),
                "alerts": {"page": s.page.as_str(), "ticket": s.ticket.as_str()},
                "errors": s.errors,
            })
        })
        .collect();
    json!({"status": "success", "data": {"slos": list}})
}
