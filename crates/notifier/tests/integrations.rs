//! Integration payloads against the contract receivers: the webhook v4 payload,
//! Slack templates and errors, PagerDuty field limits, time-interval muting,
//! configuration reload and the persisted snapshot.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sightline_model::Labels;
use sightline_notifier::{load_str, Alert, Notifier};
use support::*;

fn alert(name: &str, extra: &[(&str, &str)]) -> Alert {
    let mut pairs = vec![("alertname", name)];
    pairs.extend_from_slice(extra);
    let mut a = Alert::new(Labels::from_pairs(pairs));
    a.annotations
        .insert("summary".into(), format!("{name} broke"));
    a.generator_url = "http://prom/graph?g0.expr=up".into();
    a
}

fn start(yaml: &str, dir: &Path) -> Arc<Notifier> {
    let cfg = load_str(yaml, Path::new("t.yml")).unwrap();
    Notifier::start(cfg, dir, "http://console.test/").unwrap()
}

#[tokio::test]
async fn webhook_payload_is_alertmanager_v4() {
    let wh = webhook().await;
    let dir = tempfile::tempdir().unwrap();
    let n = start(
        &format!(
            "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 20ms\n  group_interval: 200ms\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {}\n        max_alerts: 1\n",
            wh.url("/hook")
        ),
        dir.path(),
    );
    n.submit(vec![
        alert("Disk", &[("instance", "a")]),
        alert("Disk", &[("instance", "b")]),
    ])
    .unwrap();
    wait_for("webhook", Duration::from_secs(5), || {
        wh.rec.accepted().len() == 1
    })
    .await;
    let p = &wh.rec.accepted()[0];
    let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "alerts",
            "commonAnnotations",
            "commonLabels",
            "externalURL",
            "groupKey",
            "groupLabels",
            "receiver",
            "status",
            "truncatedAlerts",
            "version"
        ]
    );
    assert_eq!(p["version"], "4");
    assert_eq!(p["status"], "firing");
    assert_eq!(p["receiver"], "hook");
    assert_eq!(p["truncatedAlerts"], 1);
    assert_eq!(p["groupLabels"], json!({"alertname": "Disk"}));
    assert_eq!(p["commonLabels"], json!({"alertname": "Disk"}));
    assert_eq!(p["commonAnnotations"], json!({"summary": "Disk broke"}));
    assert_eq!(p["externalURL"], "http://console.test");
    let a = &p["alerts"][0];
    let mut akeys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    akeys.sort();
    assert_eq!(
        akeys,
        [
            "annotations",
            "endsAt",
            "fingerprint",
            "generatorURL",
            "labels",
            "startsAt",
            "status"
        ]
    );
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
    // Resolution of both is sent (send_resolved defaults to true for webhooks).
    let mut r1 = alert("Disk", &[("instance", "a")]);
    r1.ends_at = Some(chrono::Utc::now());
    let mut r2 = alert("Disk", &[("instance", "b")]);
    r2.ends_at = Some(chrono::Utc::now());
    n.submit(vec![r1, r2]).unwrap();
    wait_for("resolved webhook", Duration::from_secs(5), || {
        wh.rec.accepted().len() == 2
    })
    .await;
    let p = &wh.rec.accepted()[1];
    assert_eq!(p["status"], "resolved");
    assert_eq!(p["alerts"][0]["status"], "resolved");
    assert_ne!(p["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
}

#[tokio::test]
async fn slack_templates_and_final_errors() {
    let slack = slack().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"
route:
  receiver: chat
  group_by: [alertname]
  group_wait: 20ms
  group_interval: 1h
  routes:
    - matchers: ['alertname="Lost"']
      receiver: missing-channel
receivers:
  - name: chat
    slack_configs:
      - api_url: {url}
        channel: '#{{{{ .CommonLabels.alertname | toLower }}}}'
        title: '{{{{ .CommonLabels.alertname }}}} is {{{{ .Status | toUpper }}}} ({{{{ len .Alerts.Firing }}}})'
        text: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}}: {{{{ .Annotations.summary | title }}}}; {{{{ end }}}}'
        fields:
          - title: Group
            value: '{{{{ .GroupLabels.SortedPairs.Values | join " " }}}}'
            short: true
  - name: missing-channel
    slack_configs:
      - api_url: {url}
        channel: '#does-not-exist'
"#,
        url = slack.url("/hook")
    );
    let n = start(&yaml, dir.path());
    n.submit(vec![
        alert("CPU", &[("instance", "h1")]),
        alert("CPU", &[("instance", "h2")]),
    ])
    .unwrap();
    wait_for("slack", Duration::from_secs(5), || {
        slack.rec.accepted().len() == 1
    })
    .await;
    assert_eq!(slack.rec.accepted()[0]["channel"], "#cpu");
    let att = &slack.rec.accepted()[0]["attachments"][0];
    assert_eq!(att["title"], "CPU is FIRING (2)");
    assert_eq!(att["text"], "h1: CPU Broke; h2: CPU Broke; ");
    assert_eq!(
        att["fields"],
        json!([{"title": "Group", "value": "CPU", "short": true}])
    );
    assert_eq!(att["title_link"], "http://console.test/alerts");
    n.submit(vec![alert("Lost", &[])]).unwrap();
    wait_for("404", Duration::from_secs(5), || {
        !slack.rec.rejected.lock().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        slack.rec.rejected.lock().as_slice(),
        &[(404, "channel_not_found".to_string())]
    );
    let failed = sightline_notifier::metrics::FAILED
        .with_label_values(&["slack", "missing-channel", "client_error"])
        .get();
    assert_eq!(failed, 1);
}

#[tokio::test]
async fn pagerduty_fields_respect_limits() {
    let pd = pagerduty().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "route:\n  receiver: pd\n  group_wait: 10ms\nreceivers:\n  - name: pd\n    pagerduty_configs:\n      - routing_key: {ROUTING_KEY}\n        url: {}\n        class: '{{{{ .CommonLabels.alertname }}}}'\n        details:\n          team: '{{{{ .CommonLabels.team }}}}'\n",
        pd.url("/v2/enqueue")
    );
    let n = start(&yaml, dir.path());
    let mut a = alert("Huge", &[("severity", "warn"), ("team", "core")]);
    a.annotations.insert("summary".into(), "x".repeat(3000));
    n.submit(vec![a]).unwrap();
    wait_for("page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    let ev: Value = pd.rec.accepted()[0].clone();
    let summary = ev["payload"]["summary"].as_str().unwrap();
    assert_eq!(summary.chars().count(), 1024);
    assert!(summary.ends_with('…'));
    assert_eq!(ev["payload"]["severity"], "warning");
    assert_eq!(ev["payload"]["class"], "Huge");
    assert_eq!(ev["payload"]["custom_details"]["team"], "core");
    assert_eq!(ev["client"], "Sightline");
    assert_eq!(ev["client_url"], "http://console.test/alerts");
    assert!(ev["dedup_key"].as_str().unwrap().len() <= 255);
    assert!(pd.rec.rejected.lock().is_empty());
}

#[tokio::test]
async fn mute_time_interval_holds_pages() {
    let pd = pagerduty().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "route:\n  receiver: pd\n  group_wait: 10ms\n  group_interval: 50ms\n  routes:\n    - matchers: ['team=\"quiet\"']\n      mute_time_intervals: [always]\ntime_intervals:\n  - name: always\n    time_intervals:\n      - weekdays: ['sunday:saturday']\nreceivers:\n  - name: pd\n    pagerduty_configs:\n      - routing_key: {ROUTING_KEY}\n        url: {}\n",
        pd.url("/v2/enqueue")
    );
    let n = start(&yaml, dir.path());
    n.submit(vec![
        alert("A", &[("team", "quiet")]),
        alert("B", &[("team", "loud")]),
    ])
    .unwrap();
    wait_for("page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pd.rec.accepted().len(), 1);
    assert!(pd.rec.accepted()[0]["payload"]["summary"]
        .as_str()
        .unwrap()
        .contains("loud"));
}

#[tokio::test]
async fn reload_and_snapshot() {
    let (pd, wh) = (pagerduty().await, webhook().await);
    let dir = tempfile::tempdir().unwrap();
    let yaml = |recv: &str| {
        format!(
            "route:\n  receiver: {recv}\n  group_wait: 10ms\n  group_interval: 50ms\nreceivers:\n  - name: pd\n    pagerduty_configs:\n      - routing_key: {ROUTING_KEY}\n        url: {}\n  - name: hook\n    webhook_configs:\n      - url: {}\n",
            pd.url("/v2/enqueue"),
            wh.url("/hook")
        )
    };
    let n = start(&yaml("pd"), dir.path());
    n.submit(vec![alert("A", &[])]).unwrap();
    wait_for("page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    let snap = sightline_notifier::persist::path(dir.path());
    wait_for("snapshot", Duration::from_secs(5), || {
        std::fs::read(&snap)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| {
                v["alerts"].as_array().is_some_and(|a| a.len() == 1)
                    && v["nflog"].as_array().is_some_and(|a| a.len() == 1)
            })
    })
    .await;
    n.apply_config(load_str(&yaml("hook"), Path::new("t.yml")).unwrap())
        .unwrap();
    wait_for("webhook after reload", Duration::from_secs(5), || {
        wh.rec.accepted().len() == 1
    })
    .await;
    assert_eq!(n.alerts()[0].receivers, ["hook"]);
    assert!(n
        .apply_config(sightline_notifier::Config::default())
        .is_err());
}

#[tokio::test]
async fn bad_state_and_bad_alerts_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "route:\n  receiver: x\nreceivers: [{name: x}]\n";
    std::fs::write(
        sightline_notifier::persist::path(dir.path()),
        b"{\"version\": 1, \"alerts\": [",
    )
    .unwrap();
    let cfg = load_str(yaml, Path::new("t.yml")).unwrap();
    let e = Notifier::start(cfg.clone(), dir.path(), "http://c")
        .err()
        .unwrap();
    assert!(e.to_string().contains("corrupt notifier state"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::start(cfg, dir.path(), "http://c").unwrap();
    let mut bad = alert("Bad", &[]);
    bad.ends_at = Some(bad.starts_at - chrono::Duration::seconds(10));
    let e = n.submit(vec![bad, alert("Good", &[])]).unwrap_err();
    assert!(e.to_string().contains("before startsAt"), "{e}");
    let names: Vec<String> = n
        .alerts()
        .iter()
        .map(|v| v.alert.name().to_string())
        .collect();
    assert_eq!(names, ["Good"]);
}

#[tokio::test]
async fn template_files_and_secret_files_resolve_next_to_the_config() {
    let (slack, pd) = (slack().await, pagerduty().await);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(conf.join("templates")).unwrap();
    std::fs::write(
        conf.join("templates/custom.tmpl"),
        "{{ define \"my.title\" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} on {{ .CommonLabels.instance }}{{ end }}",
    )
    .unwrap();
    std::fs::write(conf.join("pd.key"), format!("{ROUTING_KEY}\n")).unwrap();
    std::fs::write(conf.join("slack.url"), slack.url("/hook")).unwrap();
    let file = conf.join("alertmanager.yml");
    std::fs::write(
        &file,
        format!(
            "templates: ['templates/*.tmpl']\nroute:\n  receiver: x\n  group_wait: 10ms\nreceivers:\n  - name: x\n    slack_configs:\n      - api_url_file: slack.url\n        title: '{{{{ template \"my.title\" . }}}}'\n    pagerduty_configs:\n      - routing_key_file: pd.key\n        url: {}\n",
            pd.url("/v2/enqueue")
        ),
    )
    .unwrap();
    let cfg = sightline_notifier::load_file(&file).unwrap();
    let n = Notifier::start(cfg, dir.path().join("state"), "http://c").unwrap();
    n.submit(vec![alert("Down", &[("instance", "db1")])])
        .unwrap();
    wait_for("slack", Duration::from_secs(5), || {
        slack.rec.accepted().len() == 1
    })
    .await;
    wait_for("pd", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    assert_eq!(
        slack.rec.accepted()[0]["attachments"][0]["title"],
        "[FIRING] Down on db1"
    );
    assert_eq!(pd.rec.accepted()[0]["routing_key"], ROUTING_KEY);
    // A template file with an unsupported construct is refused at load time.
    std::fs::write(
        conf.join("templates/bad.tmpl"),
        "{{ define \"b\" }}{{ humanize 1 }}{{ end }}",
    )
    .unwrap();
    let e = sightline_notifier::load_file(&file).unwrap_err();
    assert!(
        e.to_string().contains("bad.tmpl") && e.to_string().contains("not defined"),
        "{e}"
    );
}

#[tokio::test]
async fn absurd_durations_do_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let n = start(
        "global:\n  resolve_timeout: 100000y\nroute:\n  receiver: x\n  group_wait: 100000y\n  group_interval: 100000y\n  repeat_interval: 100000y\nreceivers: [{name: x}]\n",
        dir.path(),
    );
    n.submit(vec![alert("Forever", &[])]).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(n.alerts().len(), 1);
    assert!(n.alerts()[0].alert.ends_at.is_some());
}

#[tokio::test]
async fn slack_is_paced_per_webhook_after_a_burst() {
    let slack = slack().await;
    let dir = tempfile::tempdir().unwrap();
    let n = start(
        &format!(
            "route:\n  receiver: s\n  group_by: [alertname]\n  group_wait: 10ms\n  group_interval: 1h\nreceivers:\n  - name: s\n    slack_configs:\n      - api_url: {}\n",
            slack.url("/hook")
        ),
        dir.path(),
    );
    let t0 = std::time::Instant::now();
    n.submit((0..5).map(|i| alert(&format!("A{i}"), &[])).collect())
        .unwrap();
    wait_for("burst", Duration::from_secs(5), || {
        slack.rec.accepted().len() >= 3
    })
    .await;
    let burst = t0.elapsed();
    assert!(
        burst < Duration::from_millis(900),
        "burst of 3 is immediate: {burst:?}"
    );
    wait_for("all", Duration::from_secs(10), || {
        slack.rec.accepted().len() == 5
    })
    .await;
    // Two messages beyond the burst at 1/s.
    assert!(
        t0.elapsed() >= Duration::from_millis(1800),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn ten_thousand_alerts_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let n = start(
        "route:\n  receiver: x\n  group_by: [job]\nreceivers: [{name: x}]\n",
        dir.path(),
    );
    let addr = serve(n.router()).await;
    let body: Vec<Value> = (0..10_000)
        .map(|i| json!({"labels": {"alertname": "Load", "job": format!("j{}", i % 50), "instance": format!("i{i}")}}))
        .collect();
    let t0 = std::time::Instant::now();
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ingest = t0.elapsed();
    let list: Value = reqwest::get(format!("http://{addr}/api/v2/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 10_000);
    let groups: Value = reqwest::get(format!("http://{addr}/api/v2/alerts/groups"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(groups.as_array().unwrap().len(), 50);
    assert!(ingest < Duration::from_secs(10), "{ingest:?}");
    eprintln!("10k alerts: ingest {ingest:?}, total {:?}", t0.elapsed());
}
