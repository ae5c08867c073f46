//! SLO rule generation: structure, promtool validity, and end-to-end evaluation.

use parking_lot::Mutex;
use sightline_model::{Labels, Sample};
use sightline_promql::Engine;
use sightline_rules::alert::{AlertSender, AlertState, OutgoingAlert};
use sightline_rules::file::{check_files, RuleKind};
use sightline_rules::group::{Env, Group, RuleOptions};
use sightline_rules::memdb::MemDb;
use sightline_rules::slo::{
    generate_groups, generate_rule_file, parse_slo_file, slo_status, slo_status_json, SloConfig,
};
use std::time::Duration;

const SLOS: &str = r#"slos:
  - service: api
    name: availability
    objective: 99.99
    description: Requests served without 5xx
    labels: {team: web}
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="api"}[{{.window}}]))
    alerting:
      page_labels: {routing: pagerduty}
      annotations: {runbook_url: "https://runbooks/api"}
  - service: api
    name: latency
    objective: 99.9
    window: 28d
    sli:
      latency:
        metric: http_request_duration_seconds
        threshold_seconds: 0.25
        selector: job="api"
"#;

fn slos() -> Vec<SloConfig> {
    parse_slo_file(SLOS).unwrap()
}

#[test]
fn generated_rules_have_the_workbook_structure() {
    let groups = generate_groups(&slos()).unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "slo:api:availability:fast",
            "slo:api:availability:slow",
            "slo:api:latency:fast",
            "slo:api:latency:slow"
        ]
    );
    assert_eq!(groups[0].interval, Some(Duration::from_secs(10)));
    assert_eq!(groups[1].interval, Some(Duration::from_secs(60)));
    let rules =
        |g: usize| -> Vec<String> { groups[g].rules.iter().map(|r| r.name.clone()).collect() };
    assert_eq!(
        rules(0),
        [
            "slo:sli_error:ratio_rate5m",
            "slo:sli_error:ratio_rate30m",
            "slo:sli_error:ratio_rate1h",
            "slo:sli_error:ratio_rate6h",
            "slo:sli_total:rate5m",
            "slo:current_burn_rate:ratio",
            "SLOBurnRate"
        ]
    );
    assert_eq!(
        rules(1),
        [
            "slo:sli_error:ratio_rate2h",
            "slo:sli_error:ratio_rate1d",
            "slo:sli_error:ratio_rate3d",
            "slo:sli_error:ratio_rate30d",
            "slo:objective:ratio",
            "slo:error_budget:ratio",
            "slo:period_burn_rate:ratio",
            "slo:error_budget_remaining:ratio",
            "SLOBurnRate"
        ]
    );
    assert!(rules(3).contains(&"slo:sli_error:ratio_rate28d".to_string()));
    let r5m = &groups[0].rules[0];
    assert_eq!(
        r5m.expr,
        "(sum(rate(http_requests_total{job=\"api\",code=~\"5..\"}[5m])))\n/\n(sum(rate(http_requests_total{job=\"api\"}[5m])))"
    );
    let lbl = |r: &sightline_rules::file::RuleSpec, k: &str| {
        r.labels
            .iter()
            .find(|l| l.0 == k)
            .map(|l| l.1.source().to_string())
    };
    assert_eq!(lbl(r5m, "slo_service").as_deref(), Some("api"));
    assert_eq!(lbl(r5m, "team").as_deref(), Some("web"));
    let page = &groups[0].rules[6];
    assert_eq!(page.kind, RuleKind::Alerting);
    assert_eq!(page.for_, Duration::ZERO);
    let sel = "{slo_service=\"api\",slo_name=\"availability\"}";
    assert_eq!(
        page.expr,
        format!(
            "(\n  (\n    (slo:sli_error:ratio_rate1h{sel} > (14.4 * 0.0001))\n    and\n    (slo:sli_error:ratio_rate5m{sel} > (14.4 * 0.0001))\n  )\n  or\n  (\n    (slo:sli_error:ratio_rate6h{sel} > (6 * 0.0001))\n    and\n    (slo:sli_error:ratio_rate30m{sel} > (6 * 0.0001))\n  )\n)\nand\n(slo:sli_total:rate5m{sel} * 300 >= 695)"
        )
    );
    for (k, v) in [
        ("severity", "page"),
        ("slo_objective", "99.99"),
        ("slo_name", "availability"),
        ("routing", "pagerduty"),
    ] {
        assert_eq!(lbl(page, k).as_deref(), Some(v), "label {k}");
    }
    assert!(page
        .annotations
        .iter()
        .any(|(k, t)| k == "runbook_url" && t.source() == "https://runbooks/api"));
    let ticket = &groups[1].rules[8];
    assert_eq!(lbl(ticket, "severity").as_deref(), Some("ticket"));
    assert!(ticket.expr.contains("(slo:sli_error:ratio_rate1d{slo_service=\"api\",slo_name=\"availability\"} > (3 * 0.0001))"));
    assert!(ticket.expr.contains("(slo:sli_error:ratio_rate6h{slo_service=\"api\",slo_name=\"availability\"} > (1 * 0.0001))"));
    assert_eq!(groups[1].rules[5].expr, "vector(0.0001)");
    assert_eq!(
        groups[1].rules[7].expr,
        format!("1 - slo:period_burn_rate:ratio{sel}")
    );
    // Latency SLI: bad = total - requests under the threshold bucket.
    let lat = &groups[2].rules[0].expr;
    assert!(
        lat.contains("sum(rate(http_request_duration_seconds_count{job=\"api\"}[5m]))"),
        "{lat}"
    );
    assert!(
        lat.contains(
            "sum(rate(http_request_duration_seconds_bucket{job=\"api\",le=~\"0\\\\.25\"}[5m]))"
        ),
        "{lat}"
    );
    // 99.9 %: one error per 5m must stay under 14.4 × 0.001 → 70 events.
    assert!(
        groups[2].rules[6].expr.ends_with(">= 70)"),
        "{}",
        groups[2].rules[6].expr
    );
}

#[test]
fn invalid_slos_are_rejected_with_reasons() {
    let base = SLOS
        .split("  - service: api\n    name: latency")
        .next()
        .unwrap()
        .to_string();
    for (from, to, want) in [
        (
            "objective: 99.99",
            "objective: 100",
            "objective must be between 0 and 100",
        ),
        (
            "[{{.window}}]))\n        total",
            "[5m]))\n        total",
            "must contain {{.window}}",
        ),
        (
            "sum(rate(http_requests_total{job=\"api\"}[{{.window}}]))\n",
            "sum(rate(x[{{.window}}])\n",
            "sli.events.total_query",
        ),
        (
            "    labels: {team: web}",
            "    labels: {team: web}\n    bogus: 1",
            "unknown field `bogus`",
        ),
    ] {
        assert!(base.contains(from), "{from}");
        let e = parse_slo_file(&base.replacen(from, to, 1)).unwrap_err();
        assert!(e.contains(want), "{want}: {e}");
    }
    let mut twice = slos();
    twice[1].name = "availability".into();
    twice[1].sli = twice[0].sli.clone();
    assert!(generate_groups(&twice)
        .unwrap_err()
        .contains("defined twice"));
}

#[test]
fn generated_file_passes_promtool_and_our_checker() {
    let text = generate_rule_file(&slos());
    assert!(text.starts_with("# Generated by Sightline"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slo.rules.yml");
    std::fs::write(&path, &text).unwrap();
    let ours = check_files(std::slice::from_ref(&path));
    assert!(ours[0].ok(), "{}", ours[0]);
    assert_eq!(ours[0].rules, 32);
    let promtool = std::path::Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        eprintln!("SKIP promtool check: /usr/bin/promtool not installed");
        return;
    }
    let out = std::process::Command::new(promtool)
        .arg("check")
        .arg("rules")
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "promtool failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("SUCCESS: 32 rules found"), "{stdout}");
}

#[derive(Default)]
struct Capture(Mutex<Vec<(i64, OutgoingAlert)>>);

impl AlertSender for Capture {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        let mut g = self.0.lock();
        g.extend(alerts.into_iter().map(|a| (a.starts_at, a)));
    }
}

const S: i64 = 1000;

fn requests(code: &str) -> Labels {
    Labels::from_pairs([
        ("__name__", "http_requests_total"),
        ("job", "api"),
        ("code", code),
    ])
}

/// Fills counters scraped every 15s: `ok(i)` and `err(i)` give the cumulative
/// counts at scrape `i`.
fn fill(db: &MemDb, scrapes: i64, ok: impl Fn(i64) -> f64, err: impl Fn(i64) -> f64) {
    db.add(
        requests("200"),
        (0..=scrapes).map(|i| Sample::new(i * 15 * S, ok(i))),
    );
    db.add(
        requests("500"),
        (0..=scrapes).map(|i| Sample::new(i * 15 * S, err(i))),
    );
}

fn slo_groups(objective: &str, opts: &RuleOptions) -> (Vec<SloConfig>, Group, Group) {
    let text = SLOS
        .split("  - service: api\n    name: latency")
        .next()
        .unwrap()
        .replace("99.99", objective);
    let slos = parse_slo_file(&text).unwrap();
    let mut g = generate_groups(&slos).unwrap().into_iter();
    let fast = Group::new(g.next().unwrap(), opts, false);
    let slow = Group::new(g.next().unwrap(), opts, false);
    (slos, fast, slow)
}

fn state(g: &Group) -> AlertState {
    g.rules.last().unwrap().state()
}

#[test]
fn total_outage_pages_on_first_evaluation_after_it_is_scraped() {
    let db = MemDb::new();
    // 10 req/s for an hour; from the scrape at 3615s on, every request fails.
    fill(
        &db,
        300,
        |i| 150.0 * i.min(240) as f64,
        |i| 150.0 * (i - 240).max(0) as f64,
    );
    let opts = RuleOptions::default();
    let (slos, mut fast, mut slow) = slo_groups("99.99", &opts);
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    let mut first_page = None;
    let mut first_ticket = None;
    for t in (3500..=3700).step_by(10) {
        fast.eval(&env, t * S);
        if t % 60 == 0 {
            slow.eval(&env, t * S);
        }
        for r in fast.rules.iter().chain(&slow.rules) {
            assert!(
                r.last_error.is_none(),
                "{}: {:?}",
                r.spec.name,
                r.last_error
            );
        }
        if state(&fast) == AlertState::Firing && first_page.is_none() {
            first_page = Some(t);
        }
        if state(&slow) == AlertState::Firing && first_ticket.is_none() {
            first_ticket = Some(t);
        }
        if t == 3620 {
            let st = slo_status(&engine, &db, &slos, t * S, &{
                let mut a: Vec<_> = fast
                    .rules
                    .last()
                    .unwrap()
                    .active_alerts()
                    .cloned()
                    .collect();
                a.extend(slow.rules.last().unwrap().active_alerts().cloned());
                a
            });
            assert_eq!(st[0].page, AlertState::Firing);
            // 5m window (3320, 3620]: samples 3330..3615 span 285s. ok: +2700,
            // extrapolated by 10s + 5s → 2842.1/300 = 9.4737/s; errors: +150,
            // no extrapolation towards the start (counter was 0) → 150·290/285/300
            // = 0.50877/s. Ratio 0.0509666 / budget 0.0001 = 509.666.
            let burn5m = st[0].burn_rates["5m"].unwrap();
            assert!((burn5m - 509.666).abs() < 0.01, "{burn5m}");
            assert!(st[0].budget_remaining.unwrap() < 0.0);
            let j = slo_status_json(&st);
            assert_eq!(j["data"]["slos"][0]["alerts"]["page"], "firing");
        }
    }
    // Errors are first stored at 3615; the next 10s evaluation (3620) pages.
    assert_eq!(first_page, Some(3620));
    assert_eq!(first_ticket, Some(3660));
    let sent = sender.0.lock();
    let (_, page) = sent
        .iter()
        .find(|(_, a)| a.labels["severity"] == "page")
        .unwrap();
    assert_eq!(page.starts_at, 3620 * S);
    assert_eq!(page.labels["slo_service"], "api");
    assert_eq!(page.labels["alertname"], "SLOBurnRate");
    assert!(
        page.annotations["description"].starts_with("Error ratio 0.4"),
        "{}",
        page.annotations["description"]
    );
    // The recorded series the budget views read.
    let cur = db.series_named("slo:current_burn_rate:ratio");
    assert_eq!(cur.len(), 1);
    let rem = db.series_named("slo:error_budget_remaining:ratio");
    assert!(rem[0].1.last().unwrap().v < 0.0);
    let budget = db.series_named("slo:error_budget:ratio");
    assert_eq!(budget[0].1.last().unwrap().v, 0.0001);
}

#[test]
fn low_error_rate_does_not_page() {
    // 0.05 % of 10 req/s fail, for 4 hours.
    let db = MemDb::new();
    fill(&db, 960, |i| 149.925 * i as f64, |i| 0.075 * i as f64);
    let opts = RuleOptions::default();
    for (objective, ticket_expected) in [("99.99", true), ("99.9", false)] {
        let (_, mut fast, mut slow) = slo_groups(objective, &opts);
        let (engine, sender) = (Engine::default(), Capture::default());
        let env = Env {
            engine: &engine,
            db: &db,
            sink: &db,
            sender: &sender,
            opts: &opts,
        };
        let mut ticket = false;
        for t in (3600..=14400).step_by(300) {
            fast.eval(&env, t * S);
            slow.eval(&env, t * S);
            assert_eq!(
                state(&fast),
                AlertState::Inactive,
                "{objective}: paged at {t}"
            );
            ticket |= state(&slow) == AlertState::Firing;
        }
        // At 99.99 % a 0.05 % error rate burns the budget 5× too fast: above the
        // 3× ticket threshold (budget gone in 6 days), below both page thresholds.
        assert_eq!(ticket, ticket_expected, "{objective}");
        assert!(sender
            .0
            .lock()
            .iter()
            .all(|(_, a)| a.labels["severity"] != "page"));
    }
}

#[test]
fn traffic_guard_suppresses_pages_on_low_volume() {
    // 1 req/s (300 per 5m, under the 695 guard); 6 errors in the last 5 minutes
    // push the 5m ratio to 2 % and the 1h ratio to 0.17 %, over 14.4 × 0.01 %.
    let db = MemDb::new();
    fill(
        &db,
        244,
        |i| 15.0 * i as f64,
        |i| if i >= 241 { 6.0 } else { 0.0 },
    );
    let opts = RuleOptions::default();
    let (_, mut fast, _) = slo_groups("99.99", &opts);
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    fast.eval(&env, 3660 * S);
    assert_eq!(state(&fast), AlertState::Inactive);
    let text = SLOS
        .split("  - service: api\n    name: latency")
        .next()
        .unwrap()
        .replace(
            "page_labels: {routing: pagerduty}",
            "page_labels: {routing: pagerduty}\n      min_events_per_5m: 0",
        );
    let slos = parse_slo_file(&text).unwrap();
    let mut unguarded = Group::new(generate_groups(&slos).unwrap().remove(0), &opts, false);
    unguarded.eval(&env, 3660 * S);
    assert_eq!(state(&unguarded), AlertState::Firing);
}
