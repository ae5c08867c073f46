//! The JSON of Prometheus' `/api/v1/rules` and `/api/v1/alerts`, rendered from
//! [`crate::manager::RuleManager`] snapshots so the HTTP layer only routes.

use crate::alert::rfc3339_ms;
use crate::file::RuleKind;
use crate::group::{Alert, Group, Rule};
use serde_json::{json, Map, Value};

/// Go's zero `time.Time` in RFC 3339, which Prometheus shows for never-evaluated rules.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Query parameters of `/api/v1/rules`.
#[derive(Clone, Debug, Default)]
pub struct RulesFilter {
    /// `type=alert|record`.
    pub kind: Option<RuleKind>,
    /// `rule_name[]`.
    pub rule_names: Vec<String>,
    /// `rule_group[]`.
    pub rule_groups: Vec<String>,
    /// `file[]`.
    pub files: Vec<String>,
    /// `exclude_alerts=true`.
    pub exclude_alerts: bool,
}

/// `strconv.FormatFloat(v, 'e', -1, 64)`: how Prometheus prints alert values.
pub fn format_alert_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format!("{v:e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    format!("{m}e{sign}{:02}", e.unsigned_abs())
}

fn time_or_zero(ms: Option<i64>) -> String {
    ms.map(rfc3339_ms).unwrap_or_else(|| ZERO_TIME.to_string())
}

fn alert_json(a: &Alert) -> Value {
    let mut m = Map::new();
    m.insert("labels".into(), json!(labels_map(&a.labels)));
    m.insert("annotations".into(), json!(a.annotations));
    m.insert("state".into(), json!(a.state.as_str()));
    m.insert("activeAt".into(), json!(rfc3339_ms(a.active_at)));
    if let Some(k) = a.keep_firing_since {
        m.insert("keepFiringSince".into(), json!(rfc3339_ms(k)));
    }
    m.insert("value".into(), json!(format_alert_value(a.value)));
    Value::Object(m)
}

fn labels_map(l: &sightline_model::Labels) -> Map<String, Value> {
    l.iter().map(|x| (x.name.clone(), json!(x.value))).collect()
}

fn rule_json(r: &Rule, exclude_alerts: bool) -> Value {
    let labels: Map<String, Value> = r
        .spec
        .labels
        .iter()
        .map(|(n, t)| (n.clone(), json!(t.source())))
        .collect();
    let mut m = Map::new();
    m.insert("name".into(), json!(r.spec.name));
    m.insert("query".into(), json!(r.spec.expr));
    if r.spec.kind == RuleKind::Alerting {
        m.insert("state".into(), json!(r.state().as_str()));
        m.insert("duration".into(), json!(r.spec.for_.as_secs_f64()));
        m.insert(
            "keepFiringFor".into(),
            json!(r.spec.keep_firing_for.as_secs_f64()),
        );
        let ann: Map<String, Value> = r
            .spec
            .annotations
            .iter()
            .map(|(n, t)| (n.clone(), json!(t.source())))
            .collect();
        m.insert("labels".into(), Value::Object(labels));
        m.insert("annotations".into(), Value::Object(ann));
        if !exclude_alerts {
            let alerts: Vec<Value> = r.active_alerts().map(alert_json).collect();
            m.insert("alerts".into(), Value::Array(alerts));
        }
    } else {
        m.insert("labels".into(), Value::Object(labels));
    }
    m.insert("health".into(), json!(r.health.as_str()));
    if let Some(e) = &r.last_error {
        m.insert("lastError".into(), json!(e));
    }
    m.insert(
        "evaluationTime".into(),
        json!(r.eval_duration.as_secs_f64()),
    );
    m.insert("lastEvaluation".into(), json!(time_or_zero(r.last_eval)));
    m.insert(
        "type".into(),
        json!(if r.spec.kind == RuleKind::Alerting {
            "alerting"
        } else {
            "recording"
        }),
    );
    Value::Object(m)
}

/// The full `/api/v1/rules` response body.
pub fn rules_response(groups: &[Group], f: &RulesFilter) -> Value {
    let mut out = Vec::new();
    for g in groups {
        if !f.rule_groups.is_empty() && !f.rule_groups.contains(&g.spec.name) {
            continue;
        }
        if !f.files.is_empty() && !f.files.contains(&g.spec.file) {
            continue;
        }
        let rules: Vec<Value> = g
            .rules
            .iter()
            .filter(|r| f.kind.as_ref().is_none_or(|k| *k == r.spec.kind))
            .filter(|r| f.rule_names.is_empty() || f.rule_names.contains(&r.spec.name))
            .map(|r| rule_json(r, f.exclude_alerts))
            .collect();
        if rules.is_empty() && (f.kind.is_some() || !f.rule_names.is_empty()) {
            continue;
        }
        out.push(json!({
            "name": g.spec.name,
            "file": g.spec.file,
            "rules": rules,
            "interval": g.interval.as_secs_f64(),
            "limit": g.spec.limit,
            "evaluationTime": g.eval_duration.as_secs_f64(),
            "lastEvaluation": time_or_zero(g.last_eval),
        }));
    }
    json!({"status": "success", "data": {"groups": out}})
}

/// The full `/api/v1/alerts` response body (pending and firing alerts).
pub fn alerts_response(alerts: &[Alert]) -> Value {
    let list: Vec<Value> = alerts.iter().map(alert_json).collect();
    json!({"status": "success", "data": {"alerts": list}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_values_like_go_e_format() {
        assert_eq!(format_alert_value(1.0), "1e+00");
        assert_eq!(format_alert_value(0.5), "5e-01");
        assert_eq!(format_alert_value(1234.5), "1.2345e+03");
        assert_eq!(format_alert_value(-2e-10), "-2e-10");
        assert_eq!(format_alert_value(1e100), "1e+100");
        assert_eq!(format_alert_value(f64::NAN), "NaN");
    }
}
