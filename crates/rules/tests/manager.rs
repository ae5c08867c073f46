//! The manager on a real tokio runtime: scheduling, reload, snapshots and JSON.

use sightline_model::{is_stale_nan, Labels, Sample};
use sightline_promql::Engine;
use sightline_rules::alert::NoopSender;
use sightline_rules::api::{alerts_response, rules_response, RulesFilter};
use sightline_rules::file::parse_rule_file;
use sightline_rules::group::{now_ms, RuleOptions};
use sightline_rules::manager::RuleManager;
use sightline_rules::memdb::MemDb;
use std::sync::Arc;
use std::time::Duration;

const RULES: &str = r#"groups:
  - name: g
    interval: 1s
    rules:
      - alert: Down
        expr: up == 0
        for: 1h
        annotations:
          summary: "{{ $labels.instance }} down"
      - record: up:sum
        expr: sum(up)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_schedules_reloads_and_renders_api_json() {
    let db = Arc::new(MemDb::new());
    let up = Labels::from_pairs([("__name__", "up"), ("instance", "a")]);
    db.add(up, [Sample::new(now_ms() - 1000, 0.0)]);
    let mgr = RuleManager::new(
        Engine::default(),
        db.clone(),
        db.clone(),
        Arc::new(NoopSender),
        RuleOptions::default(),
    );
    mgr.apply(parse_rule_file("f.yml", RULES).unwrap());
    mgr.start().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while db.series_named("ALERTS").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "group never evaluated twice"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alerts = mgr.alerts();
    assert_eq!(alerts.len(), 1);
    let active_at = alerts[0].active_at;
    assert_eq!(alerts[0].annotations["summary"], "a down");
    assert!(!db.series_named("up:sum").is_empty());

    let body = rules_response(&mgr.rule_groups(), &RulesFilter::default());
    let g = &body["data"]["groups"][0];
    assert_eq!(body["status"], "success");
    assert_eq!(
        (
            g["name"].as_str(),
            g["file"].as_str(),
            g["interval"].as_f64()
        ),
        (Some("g"), Some("f.yml"), Some(1.0))
    );
    let r = &g["rules"][0];
    assert_eq!(r["type"], "alerting");
    assert_eq!(r["state"], "pending");
    assert_eq!(r["health"], "ok");
    assert_eq!(r["duration"], 3600.0);
    assert_eq!(r["annotations"]["summary"], "{{ $labels.instance }} down");
    assert_eq!(r["alerts"][0]["value"], "0e+00");
    assert_eq!(r["alerts"][0]["labels"]["alertname"], "Down");
    assert!(r.get("lastError").is_none());
    assert!(r["lastEvaluation"].as_str().unwrap().ends_with('Z'));
    assert_eq!(g["rules"][1]["type"], "recording");
    let only_rec = rules_response(
        &mgr.rule_groups(),
        &RulesFilter {
            kind: Some(sightline_rules::file::RuleKind::Recording),
            ..Default::default()
        },
    );
    assert_eq!(
        only_rec["data"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let a = alerts_response(&mgr.alerts());
    assert_eq!(a["data"]["alerts"][0]["state"], "pending");

    // Reload with a changed annotation: the pending alert keeps its activeAt.
    mgr.apply(parse_rule_file("f.yml", &RULES.replace(" down\"", " is down\"")).unwrap());
    let alerts = mgr.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].active_at, active_at);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(mgr.alerts()[0].annotations["summary"], "a is down");
    assert_eq!(mgr.alerts()[0].active_at, active_at);

    // Removing the group marks its output stale.
    mgr.apply(Vec::new());
    for (l, s) in db
        .series_named("ALERTS")
        .into_iter()
        .chain(db.series_named("up:sum"))
    {
        assert!(is_stale_nan(s.last().unwrap().v), "{l} not marked stale");
    }
    assert!(mgr.rule_groups().is_empty());
    mgr.stop();
}

#[test]
fn load_groups_combines_rule_files_and_slos() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rules.yml"), RULES).unwrap();
    let slos = sightline_rules::slo::parse_slo_file(
        "slos:\n  - service: s\n    name: n\n    objective: 99.9\n    sli:\n      events:\n        error_query: sum(rate(e[{{.window}}]))\n        total_query: sum(rate(t[{{.window}}]))\n",
    )
    .unwrap();
    let g = sightline_rules::manager::load_groups(&["*.rules.yml".into()], Some(dir.path()), &slos)
        .unwrap();
    let names: Vec<&str> = g.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["g", "slo:s:n:fast", "slo:s:n:slow"]);
    std::fs::write(
        dir.path().join("b.rules.yml"),
        "groups:\n  - name: x\n    rules:\n      - record: r\n        expr: sum(\n",
    )
    .unwrap();
    let e = sightline_rules::manager::load_groups(&["*.rules.yml".into()], Some(dir.path()), &slos)
        .unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("b.rules.yml:5:9:"), "{e:?}");
}
