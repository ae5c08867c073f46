//! Routing: a table of cases over a many-route configuration (nested routes,
//! `continue`, string matchers, legacy `match`/`match_re`, negative and regex
//! matchers, `group_by: ['...']`), and a differential check against Debian's
//! `amtool config routes test` for every label combination.

mod support;

use std::path::Path;

use sightline_model::Labels;
use sightline_notifier::route::{GroupBy, Route};
use sightline_notifier::{load_file, load_str};

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname, cluster]
  routes:
    - matchers: ['severity="critical"', 'env="prod"']
      receiver: pager
      continue: true
    - matchers: ['team="db"']
      receiver: db
      routes:
        - matchers: ['severity=~"critical|warning"']
          receiver: db-pager
          continue: true
        - match_re:
            service: 'pg.*|mysql'
          receiver: db-sql
        - match:
            env: staging
          receiver: db-staging
    - matchers: ['team=~"web|api"', 'env!="staging"']
      receiver: frontend
      group_by: ['...']
      continue: true
    - matchers: ['team=~"web|api"']
      receiver: frontend-all
    - matchers: ['service!~"pg.*"', 'severity="info"']
      receiver: info-sink
    - match:
        team: infra
      receiver: infra
      routes:
        - matchers: ['env="prod"']
          receiver: infra-prod
          continue: true
        - matchers: ['severity!="info"']
          receiver: infra-noisy
receivers:
  - name: default
  - name: pager
  - name: db
  - name: db-pager
  - name: db-sql
  - name: db-staging
  - name: frontend
  - name: frontend-all
  - name: info-sink
  - name: infra
  - name: infra-prod
  - name: infra-noisy
"#;

fn root() -> Route {
    let cfg = load_str(CONFIG, Path::new("routes.yml")).unwrap();
    Route::compile_root(cfg.route.as_ref().unwrap()).unwrap()
}

fn receivers(root: &Route, pairs: &[(&str, &str)]) -> Vec<String> {
    root.matching(&Labels::from_pairs(pairs.iter().copied()))
        .iter()
        .map(|r| r.receiver.clone())
        .collect()
}

/// Labels and the receivers they must reach, in order.
type Case = (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

#[test]
fn routing_table() {
    let r = root();
    let cases: &[Case] = &[
        (&[], &["default"]),
        (&[("severity", "critical"), ("env", "prod")], &["pager"]),
        (&[("team", "db")], &["db"]),
        (&[("team", "db"), ("severity", "critical")], &["db-pager"]),
        (
            &[
                ("team", "db"),
                ("severity", "warning"),
                ("service", "pg-main"),
            ],
            &["db-pager", "db-sql"],
        ),
        (&[("team", "db"), ("env", "staging")], &["db-staging"]),
        (
            &[
                ("team", "db"),
                ("severity", "critical"),
                ("env", "prod"),
                ("service", "mysql"),
            ],
            &["pager", "db-pager", "db-sql"],
        ),
        (&[("team", "web")], &["frontend", "frontend-all"]),
        (&[("team", "api"), ("env", "staging")], &["frontend-all"]),
        (&[("severity", "info")], &["info-sink"]),
        (&[("severity", "info"), ("service", "pg1")], &["default"]),
        (
            &[("team", "infra"), ("env", "prod")],
            &["infra-prod", "infra-noisy"],
        ),
        (
            &[("team", "infra"), ("env", "prod"), ("severity", "info")],
            &["info-sink"],
        ),
        (
            &[("team", "infra"), ("severity", "info"), ("service", "pg")],
            &["infra"],
        ),
    ];
    for (labels, want) in cases {
        assert_eq!(receivers(&r, labels), *want, "labels {labels:?}");
    }
}

#[test]
fn group_by_and_inheritance() {
    let r = root();
    let l = Labels::from_pairs([("team", "web"), ("alertname", "X"), ("pod", "p1")]);
    let m = r.matching(&l);
    assert_eq!(m[0].group_by, GroupBy::All);
    assert_eq!(m[0].group_labels(&l), l);
    assert_eq!(
        m[1].group_by,
        GroupBy::Labels(vec!["alertname".into(), "cluster".into()])
    );
    assert_eq!(
        m[1].group_labels(&l),
        Labels::from_pairs([("alertname", "X")])
    );
    assert_ne!(m[0].group_key(&l), m[1].group_key(&m[1].group_labels(&l)));
}

fn combos() -> Vec<Vec<(&'static str, &'static str)>> {
    let teams = ["", "db", "web", "api", "infra", "other"];
    let sev = ["", "critical", "warning", "info"];
    let env = ["", "prod", "staging"];
    let svc = ["", "pg-main", "mysql", "redis"];
    let mut out = Vec::new();
    for (i, t) in teams.iter().enumerate() {
        for (j, s) in sev.iter().enumerate() {
            for (k, e) in env.iter().enumerate() {
                // A deterministic subset of services keeps amtool calls bounded.
                let v = svc[(i + j + k) % svc.len()];
                let mut l = vec![("alertname", "Test")];
                for (n, val) in [("team", *t), ("severity", *s), ("env", *e), ("service", v)] {
                    if !val.is_empty() {
                        l.push((n, val));
                    }
                }
                out.push(l);
            }
        }
    }
    out
}

#[test]
fn same_receivers_as_amtool() {
    let Some(amtool) = support::amtool() else {
        eprintln!("skipping: amtool not installed (apt-get install prometheus-alertmanager)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alertmanager.yml");
    std::fs::write(&file, CONFIG).unwrap();
    // The same file loads through the path loader.
    let cfg = load_file(&file).unwrap();
    let r = Route::compile_root(cfg.route.as_ref().unwrap()).unwrap();
    let mut checked = 0;
    for labels in combos() {
        let mut cmd = std::process::Command::new(&amtool);
        cmd.arg("config")
            .arg("routes")
            .arg("test")
            .arg(format!("--config.file={}", file.display()));
        for (k, v) in &labels {
            cmd.arg(format!("{k}={v}"));
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "amtool failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let ours = receivers(&r, &labels).join(",");
        assert_eq!(ours, theirs, "labels {labels:?}");
        checked += 1;
    }
    assert!(checked >= 70);
}

#[test]
fn invalid_config_errors_are_located() {
    let e = load_str(
        "route:\n  receiver: x\nreceivers:\n  - name: x\n    slack_configs:\n      - api_url: http://h\n        colour: red\n",
        Path::new("am.yml"),
    )
    .unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("am.yml:7:"), "{s}");
    assert!(s.contains("unknown field `colour`"), "{s}");
    let e = load_str(
        "route:\n  receiver: nobody\nreceivers:\n  - name: x\n",
        Path::new("am.yml"),
    )
    .unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(
        e.to_string().contains("undefined receiver \"nobody\""),
        "{e}"
    );
    let e = load_str(
        "route:\n  receiver: x\nreceivers:\n  - name: x\n    slack_configs:\n      - api_url: http://h\n        title: '{{ .Status | humanize }}'\n",
        Path::new("am.yml"),
    )
    .unwrap_err();
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.to_string().contains("not defined"), "{e}");
    let e = load_str(
        "route:\n  receiver: x\n  group_wait: 5x\nreceivers: [{name: x}]\n",
        Path::new("am.yml"),
    )
    .unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    let e = load_str(
        "route:\n  receiver: x\n  routes:\n    - matchers: ['a=~\"(\"']\nreceivers: [{name: x}]\n",
        Path::new("am.yml"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("invalid regular expression"), "{e}");
}

#[test]
fn defaults_match_alertmanager() {
    let cfg = load_str(
        "route:\n  receiver: x\nreceivers:\n  - name: x\n    pagerduty_configs: [{routing_key: k}]\n    slack_configs: [{api_url: 'http://s'}]\n    webhook_configs: [{url: 'http://w'}]\n",
        Path::new("am.yml"),
    )
    .unwrap();
    assert_eq!(
        cfg.global.resolve_timeout.0,
        std::time::Duration::from_secs(300)
    );
    assert_eq!(
        cfg.global.pagerduty_url,
        "https://events.pagerduty.com/v2/enqueue"
    );
    let r = &cfg.receivers[0];
    assert!(r.pagerduty_configs[0].send_resolved);
    assert!(r.pagerduty_configs[0].resolve_when_muted);
    assert!(!r.pagerduty_configs[0].dedup_key_per_alert);
    assert!(!r.slack_configs[0].send_resolved);
    assert!(r.webhook_configs[0].send_resolved);
    let root = Route::compile_root(cfg.route.as_ref().unwrap()).unwrap();
    assert_eq!(root.timers.group_wait, std::time::Duration::from_secs(30));
    assert_eq!(
        root.timers.group_interval,
        std::time::Duration::from_secs(300)
    );
    assert_eq!(
        root.timers.repeat_interval,
        std::time::Duration::from_secs(4 * 3600)
    );
}
