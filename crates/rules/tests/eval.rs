//! Rule evaluation on an in-memory store, tick by tick with explicit timestamps.

use parking_lot::Mutex;
use sightline_model::{is_stale_nan, Labels, Sample};
use sightline_promql::Engine;
use sightline_rules::alert::{AlertSender, AlertState, OutgoingAlert};
use sightline_rules::file::parse_rule_file;
use sightline_rules::group::{Env, Group, RuleOptions};
use sightline_rules::memdb::MemDb;
use std::time::Duration;

#[derive(Default)]
struct Capture(Mutex<Vec<(i64, OutgoingAlert)>>);

impl AlertSender for Capture {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        let mut g = self.0.lock();
        for a in alerts {
            g.push((a.starts_at, a));
        }
    }
}

const S: i64 = 1000;

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn group(yaml: &str, opts: &RuleOptions, restore: bool) -> Group {
    let g = parse_rule_file("t.yml", yaml).unwrap_or_else(|e| panic!("{e:?}"));
    Group::new(g.into_iter().next().unwrap(), opts, restore)
}

/// Samples of a series as (seconds, value) with stale markers shown as None.
fn series(db: &MemDb, labels: &Labels) -> Vec<(i64, Option<f64>)> {
    db.samples(labels)
        .into_iter()
        .map(|s| (s.t / S, (!is_stale_nan(s.v)).then_some(s.v)))
        .collect()
}

#[test]
fn recording_rule_output_labels_and_stale_markers() {
    let db = MemDb::new();
    let a = l(&[("__name__", "temp"), ("job", "x"), ("instance", "a")]);
    let b = l(&[("__name__", "temp"), ("job", "x"), ("instance", "b")]);
    db.add(a.clone(), [Sample::new(0, 3.0), Sample::new(60 * S, 8.0)]);
    db.add(b.clone(), [Sample::new(0, 4.0), Sample::new(60 * S, 9.0)]);
    let yaml = r#"groups:
  - name: rec
    labels: {team: infra}
    rules:
      - record: job:temp:sum
        expr: sum by (job) (temp)
        labels: {source: rec}
      - record: temp:hot
        expr: temp > 5 and temp < 9
      - record: job:temp_hot:count
        expr: count by (job) (temp:hot)
"#;
    let opts = RuleOptions::default();
    let mut g = group(yaml, &opts, false);
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    g.eval(&env, 30 * S);
    g.eval(&env, 60 * S);
    let sum = l(&[
        ("__name__", "job:temp:sum"),
        ("job", "x"),
        ("team", "infra"),
        ("source", "rec"),
    ]);
    assert_eq!(series(&db, &sum), vec![(30, Some(7.0)), (60, Some(17.0))]);
    // At 30s nothing is hot; at 60s only a (8) is; it reads the earlier rule's output.
    let hot_a = l(&[
        ("__name__", "temp:hot"),
        ("job", "x"),
        ("instance", "a"),
        ("team", "infra"),
    ]);
    assert_eq!(series(&db, &hot_a), vec![(60, Some(8.0))]);
    let cnt = l(&[
        ("__name__", "job:temp_hot:count"),
        ("job", "x"),
        ("team", "infra"),
    ]);
    assert_eq!(series(&db, &cnt), vec![(60, Some(1.0))]);
    // a cools down: its recorded series gets a stale marker at the next evaluation.
    db.add(a.clone(), [Sample::new(90 * S, 1.0)]);
    g.eval(&env, 90 * S);
    assert_eq!(series(&db, &hot_a), vec![(60, Some(8.0)), (90, None)]);
    assert!(
        g.rules.iter().all(|r| r.last_error.is_none()),
        "{:?}",
        g.rules
    );
}

#[test]
fn recording_rule_limit_and_errors() {
    let db = MemDb::new();
    for i in 0..3 {
        db.add(
            l(&[("__name__", "m"), ("i", &i.to_string())]),
            [Sample::new(0, 1.0)],
        );
    }
    let yaml = "groups:\n  - name: g\n    limit: 2\n    rules:\n      - record: m2\n        expr: m\n      - record: bad\n        expr: label_replace(m, \"i\", \"x\", \"i\", \".*\")\n";
    let opts = RuleOptions::default();
    let mut g = group(yaml, &opts, false);
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    g.eval(&env, 10 * S);
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("exceeded limit of 2 with 3 series")
    );
    assert!(
        g.rules[1]
            .last_error
            .as_deref()
            .unwrap()
            .contains("same labelset"),
        "{:?}",
        g.rules[1].last_error
    );
    assert!(db.series_named("m2").is_empty());
}

const ALERT_RULES: &str = r#"groups:
  - name: alerts
    interval: 30s
    rules:
      - alert: HighErrors
        expr: errors > 10
        for: 2m
        keep_firing_for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} has {{ $value }} errors"
"#;

#[test]
fn alert_pending_firing_keep_firing_resolved_timeline() {
    let db = MemDb::new();
    let err = l(&[("__name__", "errors"), ("instance", "a")]);
    db.add(
        err.clone(),
        (0..=44).map(|i| Sample::new(i * 30 * S, if (2..=8).contains(&i) { 20.0 } else { 5.0 })),
    );
    let opts = RuleOptions {
        external_url: "http://sl:9090".into(),
        ..RuleOptions::default()
    };
    let mut g = group(ALERT_RULES, &opts, false);
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    let mut states = Vec::new();
    for i in 0..=44 {
        g.eval(&env, i * 30 * S);
        states.push((i * 30, g.rules[0].state()));
    }
    use AlertState::*;
    let at = |s: i64| states.iter().find(|x| x.0 == s).unwrap().1;
    assert_eq!(at(30), Inactive);
    assert_eq!(at(60), Pending); // errors = 20 from 60s
    assert_eq!(at(150), Pending); // 90s < for 2m
    assert_eq!(at(180), Firing); // 120s pending
    assert_eq!(at(270), Firing); // condition false since 270s, kept by keep_firing_for
    assert_eq!(at(300), Firing);
    assert_eq!(at(330), Inactive); // 60s of keep_firing_for elapsed
    assert_eq!(
        g.rules[0].active.len(),
        0,
        "resolved alert forgotten after 15m"
    );

    let base = [
        ("alertname", "HighErrors"),
        ("instance", "a"),
        ("severity", "page"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut v: Vec<(&str, &str)> = base.to_vec();
        v.extend_from_slice(extra);
        l(&v)
    };
    let pending = with(&[("__name__", "ALERTS"), ("alertstate", "pending")]);
    let firing = with(&[("__name__", "ALERTS"), ("alertstate", "firing")]);
    let for_state = with(&[("__name__", "ALERTS_FOR_STATE")]);
    assert_eq!(
        series(&db, &pending),
        vec![
            (60, Some(1.0)),
            (90, Some(1.0)),
            (120, Some(1.0)),
            (150, Some(1.0)),
            (180, None)
        ]
    );
    assert_eq!(
        series(&db, &firing),
        vec![
            (180, Some(1.0)),
            (210, Some(1.0)),
            (240, Some(1.0)),
            (270, Some(1.0)),
            (300, Some(1.0)),
            (330, None)
        ]
    );
    let fs = series(&db, &for_state);
    assert_eq!(fs.first(), Some(&(60, Some(60.0))));
    assert_eq!(fs.len(), 10);
    assert!(fs[..9].iter().all(|x| x.1 == Some(60.0)));
    assert_eq!(fs.last(), Some(&(330, None)));

    // Sends: first firing at 180, resend after the 1m resend delay (270; 240 is
    // not strictly later than 180 + 60), resolve at 330, then the resolved alert
    // every resend delay until forgotten 15 minutes after resolution.
    let sent = sender.0.lock().clone();
    let first = &sent[0].1;
    assert_eq!(
        first.labels.get("alertname").map(String::as_str),
        Some("HighErrors")
    );
    assert_eq!(first.annotations["summary"], "a has 20 errors");
    assert_eq!((first.starts_at, first.ends_at), (180 * S, (180 + 240) * S));
    assert_eq!(
        first.generator_url,
        "http://sl:9090/graph?g0.expr=errors+%3E+10&g0.tab=1"
    );
    let ends: Vec<i64> = sent.iter().map(|(_, a)| a.ends_at / S).collect();
    assert_eq!(&ends[..3], &[420, 270 + 240, 330]);
    assert!(ends[3..].iter().all(|&e| e == 330), "{ends:?}");
    // Resolved re-sends at 420, 510, … every 90s (> 60s, on the 30s grid) until 1230.
    assert_eq!(ends.len(), 3 + 10);
}

#[test]
fn alert_with_zero_for_fires_immediately_and_limit_applies() {
    let db = MemDb::new();
    for i in ["a", "b"] {
        db.add(
            l(&[("__name__", "up"), ("instance", i)]),
            [Sample::new(0, 0.0)],
        );
    }
    let yaml = "groups:\n  - name: g\n    limit: 1\n    rules:\n      - alert: Down\n        expr: up == 0\n";
    let opts = RuleOptions::default();
    let mut g = group(yaml, &opts, false);
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    g.eval(&env, 10 * S);
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
    assert!(g.rules[0].active.is_empty());
    let mut g = group(&yaml.replace("limit: 1", "limit: 2"), &opts, false);
    g.eval(&env, 10 * S);
    assert_eq!(g.rules[0].state(), AlertState::Firing);
    assert_eq!(sender.0.lock().len(), 2);
}

const RESTORE_RULES: &str = r#"groups:
  - name: r
    interval: 1m
    rules:
      - alert: Slow
        expr: latency > 1
        for: 30m
"#;

/// Runs a first "process" from 1000s to `last` (evaluating every 60s), then a
/// restarted one at `restart`; returns the restored activeAt (s).
fn restore_case(last: i64, restart: i64) -> (i64, Group, MemDb) {
    let db = MemDb::new();
    db.add(
        l(&[("__name__", "latency")]),
        (0..=200).map(|i| Sample::new(i * 30 * S, 5.0)),
    );
    let opts = RuleOptions::default();
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    let mut g = group(RESTORE_RULES, &opts, false);
    let mut t = 1000;
    while t <= last {
        g.eval(&env, t * S);
        t += 60;
    }
    assert_ne!(g.rules[0].state(), AlertState::Inactive);
    let mut g2 = group(RESTORE_RULES, &opts, true);
    g2.eval(&env, restart * S);
    let a = g2.rules[0].active.values().next().unwrap().active_at / S;
    (a, g2, db)
}

#[test]
fn restore_for_state_after_restart() {
    // Pending 600s (1000→1600), down until 2000: the down time is not counted,
    // 1200s of `for` remain, so activeAt moves to 1000 + 400.
    let (active, mut g, db) = restore_case(1600, 2000);
    assert_eq!(active, 1400);
    let opts = RuleOptions::default();
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    g.eval(&env, 3140 * S);
    assert_eq!(g.rules[0].state(), AlertState::Pending);
    let fs = l(&[("__name__", "ALERTS_FOR_STATE"), ("alertname", "Slow")]);
    assert_eq!(
        db.samples(&fs).last().map(|s| (s.t / S, s.v)),
        Some((3140, 1400.0))
    );
    assert!(
        !db.samples(&fs).iter().any(|s| s.t == 2000 * S),
        "nothing written before restore"
    );
    g.eval(&env, 3200 * S);
    assert_eq!(g.rules[0].state(), AlertState::Firing);

    // Pending 1500s of 1800s: less than the 10m grace period left, so it waits
    // the grace period: activeAt = restart + 600 - 1800.
    assert_eq!(restore_case(2500, 2600).0, 2600 + 600 - 1800);
    // Already past `for` (was firing): activeAt kept.
    assert_eq!(restore_case(3000, 3100).0, 1000);
    // Last sample older than the 1h outage tolerance: starts over.
    assert_eq!(restore_case(1600, 1600 + 3601 + 60).0, 1600 + 3661);
}

#[test]
fn alignment_is_stable_per_group() {
    let opts = RuleOptions::default();
    let g = group(RESTORE_RULES, &opts, false);
    let a = g.aligned_ts(1_000_000_123);
    assert!(a <= 1_000_000_123 && 1_000_000_123 - a < 60_000);
    for now in [5_000i64, 1_700_000_000_000, 1_700_000_059_999] {
        let t = g.aligned_ts(now);
        assert_eq!(t.rem_euclid(60_000), a.rem_euclid(60_000));
        assert!(t <= now && now - t < 60_000);
    }
    let _ = Duration::ZERO;
}

#[test]
fn query_offset_shifts_evaluation_time() {
    let db = MemDb::new();
    let m = l(&[("__name__", "m")]);
    db.add(
        m.clone(),
        [
            Sample::new(0, 1.0),
            Sample::new(60 * S, 2.0),
            Sample::new(120 * S, 3.0),
        ],
    );
    let yaml = "groups:\n  - name: g\n    query_offset: 1m\n    rules:\n      - record: m2\n        expr: m * 10\n";
    let opts = RuleOptions::default();
    let mut g = group(yaml, &opts, false);
    let (engine, sender) = (Engine::default(), Capture::default());
    let env = Env {
        engine: &engine,
        db: &db,
        sink: &db,
        sender: &sender,
        opts: &opts,
    };
    g.eval(&env, 120 * S);
    // Evaluated (and stamped) one minute in the past: m was 2 at 60s.
    assert_eq!(
        series(&db, &l(&[("__name__", "m2")])),
        vec![(60, Some(20.0))]
    );
}
