//! Generation of Prometheus rule groups from SLOs.
//!
//! The YAML text is the single source of truth: [`generate_groups`] parses what
//! [`generate_rule_file`] prints, so Sightline evaluates exactly the rules a
//! team would load into a plain Prometheus.

use super::{num, window_str, SloConfig, DEFAULT_SLOW_INTERVAL};
use crate::file::{parse_rule_file, GroupSpec};
use serde::Serialize;
use std::collections::BTreeMap;

/// Burn-rate alert conditions: (long window, short window, burn factor).
pub const PAGE_CONDITIONS: [(&str, &str, f64); 2] = [("1h", "5m", 14.4), ("6h", "30m", 6.0)];
/// Ticket conditions of the SRE workbook.
pub const TICKET_CONDITIONS: [(&str, &str, f64); 2] = [("1d", "2h", 3.0), ("3d", "6h", 1.0)];

#[derive(Serialize)]
struct OutFile {
    groups: Vec<OutGroup>,
}

#[derive(Serialize)]
struct OutGroup {
    name: String,
    interval: String,
    rules: Vec<OutRule>,
}

#[derive(Serialize, Default)]
struct OutRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert: Option<String>,
    expr: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// The recorded error-ratio metric for a window, e.g. `slo:sli_error:ratio_rate5m`.
pub fn ratio_metric(window: &str) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// `{slo_service="…",slo_name="…"}`: selects one SLO's generated series.
pub fn selector(slo: &SloConfig) -> String {
    format!(
        "{{slo_service={},slo_name={}}}",
        quote(&slo.service),
        quote(&slo.name)
    )
}

fn base_labels(slo: &SloConfig) -> BTreeMap<String, String> {
    let mut l = slo.labels.clone();
    l.insert("slo_service".into(), slo.service.clone());
    l.insert("slo_name".into(), slo.name.clone());
    l
}

fn record(name: String, expr: String, labels: BTreeMap<String, String>) -> OutRule {
    OutRule {
        record: Some(name),
        expr,
        labels,
        ..Default::default()
    }
}

/// The burn-rate alert expression for `conditions`, with the traffic guard.
pub fn burn_alert_expr(slo: &SloConfig, conditions: &[(&str, &str, f64)]) -> String {
    let sel = selector(slo);
    let budget = num(slo.error_budget());
    let parts: Vec<String> = conditions
        .iter()
        .map(|(long, short, f)| {
            let fac = num(*f);
            format!(
                "(\n    ({}{sel} > ({fac} * {budget}))\n    and\n    ({}{sel} > ({fac} * {budget}))\n  )",
                ratio_metric(long),
                ratio_metric(short)
            )
        })
        .collect();
    format!(
        "(\n  {}\n)\nand\n(slo:sli_total:rate5m{sel} * 300 >= {})",
        parts.join("\n  or\n  "),
        num(slo.min_events_per_5m())
    )
}

fn alert(
    slo: &SloConfig,
    severity: &str,
    conditions: &[(&str, &str, f64)],
    extra: &BTreeMap<String, String>,
) -> OutRule {
    let mut labels = base_labels(slo);
    labels.insert("slo_objective".into(), num(slo.objective));
    labels.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert("severity".into(), severity.into());
    let windows: Vec<String> = conditions
        .iter()
        .map(|(l, s, f)| format!("{}x over {l} and {s}", num(*f)))
        .collect();
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "summary".into(),
        format!(
            "{{{{ $labels.slo_service }}}} {{{{ $labels.slo_name }}}} SLO ({}%) is burning its error budget too fast",
            num(slo.objective)
        ),
    );
    annotations.insert(
        "description".into(),
        format!(
            "Error ratio {{{{ $value | humanizePercentage }}}} over the long window; budget {}% over {}; burn-rate conditions: {}.",
            num(slo.error_budget() * 100.0),
            slo.window_str(),
            windows.join("; ")
        ),
    );
    if !slo.description.is_empty() {
        annotations.insert("slo_description".into(), slo.description.clone());
    }
    annotations.extend(
        slo.alerting
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    OutRule {
        alert: Some(slo.alert_name().to_string()),
        expr: burn_alert_expr(slo, conditions),
        labels,
        annotations,
        ..Default::default()
    }
}

fn groups_for(slo: &SloConfig) -> Vec<OutGroup> {
    let sel = selector(slo);
    let labels = base_labels(slo);
    let budget = num(slo.error_budget());
    let fast_windows = ["5m", "30m", "1h", "6h"];
    let mut fast: Vec<OutRule> = fast_windows
        .iter()
        .map(|w| record(ratio_metric(w), slo.error_ratio_expr(w), labels.clone()))
        .collect();
    fast.push(record(
        "slo:sli_total:rate5m".into(),
        slo.total_rate_expr("5m"),
        labels.clone(),
    ));
    fast.push(record(
        "slo:current_burn_rate:ratio".into(),
        format!("{}{sel} / {budget}", ratio_metric("5m")),
        labels.clone(),
    ));
    if !slo.alerting.disable_page {
        fast.push(alert(
            slo,
            "page",
            &PAGE_CONDITIONS,
            &slo.alerting.page_labels,
        ));
    }
    let mut slow: Vec<OutRule> = slo
        .windows()
        .iter()
        .filter(|w| !fast_windows.contains(&w.as_str()))
        .map(|w| record(ratio_metric(w), slo.error_ratio_expr(w), labels.clone()))
        .collect();
    let mut obj_labels = labels.clone();
    obj_labels.insert("slo_objective".into(), num(slo.objective));
    slow.push(record(
        "slo:objective:ratio".into(),
        format!("vector({})", num(slo.objective_ratio())),
        obj_labels.clone(),
    ));
    slow.push(record(
        "slo:error_budget:ratio".into(),
        format!("vector({budget})"),
        obj_labels,
    ));
    slow.push(record(
        "slo:period_burn_rate:ratio".into(),
        format!("{}{sel} / {budget}", ratio_metric(&slo.window_str())),
        labels.clone(),
    ));
    slow.push(record(
        "slo:error_budget_remaining:ratio".into(),
        format!("1 - slo:period_burn_rate:ratio{sel}"),
        labels,
    ));
    if !slo.alerting.disable_ticket {
        slow.push(alert(
            slo,
            "ticket",
            &TICKET_CONDITIONS,
            &slo.alerting.ticket_labels,
        ));
    }
    let fast_iv = slo.fast_interval();
    vec![
        OutGroup {
            name: format!("slo:{}:{}:fast", slo.service, slo.name),
            interval: window_str_any(fast_iv),
            rules: fast,
        },
        OutGroup {
            name: format!("slo:{}:{}:slow", slo.service, slo.name),
            interval: window_str_any(DEFAULT_SLOW_INTERVAL.max(fast_iv)),
            rules: slow,
        },
    ]
}

fn window_str_any(d: std::time::Duration) -> String {
    if d.subsec_millis() != 0 {
        return format!("{}ms", d.as_millis());
    }
    window_str(d)
}

/// The rules of `slos` as a Prometheus rule file (YAML), for
/// `sightline slo rules FILE` and teams running plain Prometheus.
pub fn generate_rule_file(slos: &[SloConfig]) -> String {
    let file = OutFile {
        groups: slos.iter().flat_map(groups_for).collect(),
    };
    let body = serde_yaml::to_string(&file).unwrap_or_default();
    format!(
        "# Generated by Sightline from {} SLO(s): multi-window multi-burn-rate alerts\n# (SRE workbook). Do not edit; change the slos section instead.\n{body}",
        slos.len()
    )
}

/// The generated groups, validated like any rule file (file name `<slos>`).
pub fn generate_groups(slos: &[SloConfig]) -> Result<Vec<GroupSpec>, String> {
    for s in slos {
        s.validate()?;
    }
    let mut seen = std::collections::HashSet::new();
    for s in slos {
        if !seen.insert((s.service.as_str(), s.name.as_str())) {
            return Err(format!("slo {:?}/{:?} is defined twice", s.service, s.name));
        }
    }
    parse_rule_file("<slos>", &generate_rule_file(slos)).map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}
