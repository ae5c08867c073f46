//! Dispatcher scenarios against the contract receivers, with millisecond timers:
//! batching, new alerts in notified groups, repeats, resolves, silences,
//! inhibition, restarts, Slack 429 and PagerDuty 400.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use sightline_model::Labels;
use sightline_notifier::{load_str, Alert, Notifier, Silence, SilenceMatcher};
use support::*;

struct Timers {
    wait: &'static str,
    interval: &'static str,
    repeat: &'static str,
}

const FAST: Timers = Timers {
    wait: "50ms",
    interval: "300ms",
    repeat: "1h",
};

fn config(
    name: &str,
    pd: &Receiver,
    slack: &Receiver,
    t: &Timers,
    pd_extra: &str,
) -> sightline_notifier::Config {
    let text = format!(
        r#"
global:
  resolve_timeout: 1h
route:
  receiver: {name}
  group_by: [alertname]
  group_wait: {wait}
  group_interval: {interval}
  repeat_interval: {repeat}
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [cluster]
receivers:
  - name: {name}
    pagerduty_configs:
      - routing_key: {key}
        url: {pd}
{pd_extra}
    slack_configs:
      - api_url: {slack}
        channel: '#ops'
"#,
        wait = t.wait,
        interval = t.interval,
        repeat = t.repeat,
        key = ROUTING_KEY,
        pd = pd.url("/v2/enqueue"),
        slack = slack.url("/hook"),
    );
    load_str(&text, Path::new("test.yml")).unwrap()
}

fn alert(name: &str, extra: &[(&str, &str)]) -> Alert {
    let mut pairs = vec![("alertname", name)];
    pairs.extend_from_slice(extra);
    let mut a = Alert::new(Labels::from_pairs(pairs));
    a.annotations
        .insert("summary".into(), format!("{name} is broken"));
    a.annotations
        .insert("runbook_url".into(), "https://runbooks/x".into());
    a
}

fn resolved(mut a: Alert) -> Alert {
    a.ends_at = Some(Utc::now());
    a
}

fn actions(r: &Receiver) -> Vec<String> {
    r.rec
        .accepted()
        .iter()
        .map(|e| e["event_action"].as_str().unwrap_or("").to_string())
        .collect()
}

fn start(cfg: sightline_notifier::Config, dir: &Path) -> Arc<Notifier> {
    Notifier::start(cfg, dir, "http://sightline.test").unwrap()
}

#[tokio::test]
async fn group_wait_batches_alerts_into_one_page() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let t = Timers {
        wait: "300ms",
        interval: "1h",
        repeat: "1h",
    };
    let n = start(config("batch", &pd, &slack, &t, ""), dir.path());
    n.submit(vec![alert("HighErrors", &[("instance", "a")])])
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    n.submit(vec![alert("HighErrors", &[("instance", "b")])])
        .unwrap();
    wait_for("page", Duration::from_secs(5), || {
        !pd.rec.accepted().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let evs = pd.rec.accepted();
    assert_eq!(evs.len(), 1, "{evs:#?}");
    let ev = &evs[0];
    assert_eq!(ev["event_action"], "trigger");
    assert_eq!(ev["payload"]["custom_details"]["num_firing"], "2");
    assert!(ev["payload"]["summary"]
        .as_str()
        .unwrap()
        .contains("HighErrors"));
    let links: Vec<&str> = ev["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["href"].as_str().unwrap())
        .collect();
    assert!(links.contains(&"https://runbooks/x"), "{links:?}");
    assert!(links.contains(&"http://sightline.test/alerts"), "{links:?}");
    // Slack got the same group once, with an actionable default text.
    wait_for("slack", Duration::from_secs(5), || {
        !slack.rec.accepted().is_empty()
    })
    .await;
    let msg = &slack.rec.accepted()[0];
    let text = msg["attachments"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("HighErrors is broken")
            && text.contains("Runbook")
            && text.contains("instance=a"),
        "{text}"
    );
    assert_eq!(msg["attachments"][0]["color"], "danger");
}

#[tokio::test]
async fn new_alert_in_notified_group_is_paged_at_next_group_interval() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("joiner", &pd, &slack, &FAST, ""), dir.path());
    n.submit(vec![alert("Down", &[("instance", "a")])]).unwrap();
    wait_for("first page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    n.submit(vec![alert("Down", &[("instance", "b")])]).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(pd.rec.accepted().len(), 1, "not before group_interval");
    wait_for("second page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 2
    })
    .await;
    let evs = pd.rec.accepted();
    assert_eq!(evs[1]["payload"]["custom_details"]["num_firing"], "2");
    assert_eq!(
        evs[0]["dedup_key"], evs[1]["dedup_key"],
        "group dedup key is stable"
    );
}

#[tokio::test]
async fn dedup_key_per_alert_opens_a_new_incident_for_a_new_alert() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let n = start(
        config(
            "peralert",
            &pd,
            &slack,
            &FAST,
            "        dedup_key_per_alert: true",
        ),
        dir.path(),
    );
    n.submit(vec![alert("Down", &[("instance", "a")])]).unwrap();
    wait_for("first page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    n.submit(vec![alert("Down", &[("instance", "b")])]).unwrap();
    wait_for("second page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let evs = pd.rec.accepted();
    assert_eq!(evs.len(), 2, "only the new alert is triggered: {evs:#?}");
    assert_ne!(evs[0]["dedup_key"], evs[1]["dedup_key"]);
    // Resolving one alert resolves exactly its incident.
    n.submit(vec![resolved(alert("Down", &[("instance", "a")]))])
        .unwrap();
    wait_for("resolve", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 3
    })
    .await;
    let evs = pd.rec.accepted();
    assert_eq!(evs[2]["event_action"], "resolve");
    assert_eq!(evs[2]["dedup_key"], evs[0]["dedup_key"]);
}

#[tokio::test]
async fn repeat_interval_resends_unchanged_groups() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let t = Timers {
        wait: "10ms",
        interval: "50ms",
        repeat: "400ms",
    };
    let n = start(config("repeat", &pd, &slack, &t, ""), dir.path());
    n.submit(vec![alert("Down", &[])]).unwrap();
    wait_for("first page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        pd.rec.accepted().len(),
        1,
        "no repeat before repeat_interval"
    );
    wait_for("repeat", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 2
    })
    .await;
    assert_eq!(actions(&pd), ["trigger", "trigger"]);
}

#[tokio::test]
async fn resolve_is_sent_and_group_dropped() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("resolve", &pd, &slack, &FAST, ""), dir.path());
    let a = alert("Down", &[]);
    n.submit(vec![a.clone()]).unwrap();
    wait_for("page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    n.submit(vec![resolved(a)]).unwrap();
    wait_for("resolve", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 2
    })
    .await;
    let evs = pd.rec.accepted();
    assert_eq!(evs[1]["event_action"], "resolve");
    assert_eq!(evs[0]["dedup_key"], evs[1]["dedup_key"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(pd.rec.accepted().len(), 2, "nothing after the resolve");
    assert!(
        n.alerts().is_empty(),
        "resolved alert garbage-collected once notified"
    );
}

fn silence_for(name: &str) -> Silence {
    Silence {
        id: String::new(),
        matchers: vec![SilenceMatcher {
            name: "alertname".into(),
            value: name.into(),
            is_regex: false,
            is_equal: true,
        }],
        starts_at: Utc::now(),
        ends_at: Utc::now() + chrono::Duration::hours(1),
        updated_at: Utc::now(),
        created_by: "test".into(),
        comment: "maintenance".into(),
    }
}

#[tokio::test]
async fn silenced_alert_is_not_paged() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("silenced", &pd, &slack, &FAST, ""), dir.path());
    n.add_silence(silence_for("Down")).unwrap();
    n.submit(vec![alert("Down", &[]), alert("Other", &[])])
        .unwrap();
    wait_for("other page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let evs = pd.rec.accepted();
    assert_eq!(evs.len(), 1);
    assert!(evs[0]["payload"]["summary"]
        .as_str()
        .unwrap()
        .contains("Other"));
    let views = n.alerts();
    let down = views.iter().find(|v| v.alert.name() == "Down").unwrap();
    assert_eq!(down.silenced_by.len(), 1);
}

#[tokio::test]
async fn silencing_a_paged_alert_resolves_it_at_pagerduty() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("muted", &pd, &slack, &FAST, ""), dir.path());
    n.submit(vec![alert("Down", &[])]).unwrap();
    wait_for("page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    let id = n.add_silence(silence_for("Down")).unwrap();
    wait_for("resolve on mute", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 2
    })
    .await;
    assert_eq!(actions(&pd), ["trigger", "resolve"]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(pd.rec.accepted().len(), 2);
    // Slack (send_resolved false) got only the firing message.
    assert_eq!(slack.rec.accepted().len(), 1);
    // Expiring the silence while the alert still fires pages again.
    n.expire_silence(&id).unwrap();
    wait_for("re-page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 3
    })
    .await;
    assert_eq!(actions(&pd)[2], "trigger");
}

#[tokio::test]
async fn inhibited_alert_is_not_paged() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("inhibit", &pd, &slack, &FAST, ""), dir.path());
    n.submit(vec![
        alert(
            "ClusterDown",
            &[("severity", "critical"), ("cluster", "eu")],
        ),
        alert("PodSlow", &[("severity", "warning"), ("cluster", "eu")]),
        alert("PodSlowUS", &[("severity", "warning"), ("cluster", "us")]),
    ])
    .unwrap();
    wait_for("pages", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let evs = pd.rec.accepted();
    let summaries: Vec<&str> = evs
        .iter()
        .map(|e| e["payload"]["summary"].as_str().unwrap())
        .collect();
    assert_eq!(evs.len(), 2, "{summaries:?}");
    assert!(
        summaries
            .iter()
            .all(|s| !s.contains("PodSlow ") && !s.contains("[FIRING:1] PodSlow:")),
        "{summaries:?}"
    );
    let views = n.alerts();
    let slow = views.iter().find(|v| v.alert.name() == "PodSlow").unwrap();
    assert_eq!(slow.inhibited_by.len(), 1);
}

#[tokio::test]
async fn restart_sends_no_duplicate_and_keeps_the_resolve() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let t = Timers {
        wait: "50ms",
        interval: "800ms",
        repeat: "1h",
    };
    let a = alert("Down", &[]);
    {
        let n = start(config("restart", &pd, &slack, &t, ""), dir.path());
        n.submit(vec![a.clone(), alert("Other", &[])]).unwrap();
        wait_for("pages", Duration::from_secs(5), || {
            pd.rec.accepted().len() == 2
        })
        .await;
        // Resolve, then stop before the group interval lets it be sent.
        n.submit(vec![resolved(a.clone())]).unwrap();
        n.stop();
    }
    assert_eq!(pd.rec.accepted().len(), 2);
    let n = start(config("restart", &pd, &slack, &t, ""), dir.path());
    wait_for("resolve after restart", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let evs = pd.rec.accepted();
    assert_eq!(actions(&pd), ["trigger", "trigger", "resolve"], "{evs:#?}");
    assert!(
        evs[2]["dedup_key"] == evs[0]["dedup_key"] || evs[2]["dedup_key"] == evs[1]["dedup_key"]
    );
    // The still-firing alert survived the restart.
    assert!(n.alerts().iter().any(|v| v.alert.name() == "Other"));
}

#[tokio::test]
async fn slack_429_is_delivered_later_and_not_lost() {
    let (pd, slack) = (pagerduty().await, slack().await);
    slack
        .rec
        .forced
        .lock()
        .push_back(Forced::Status(429, Some("1"), "rate_limited"));
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("slack429", &pd, &slack, &FAST, ""), dir.path());
    let t0 = std::time::Instant::now();
    n.submit(vec![alert("Down", &[])]).unwrap();
    wait_for("slack delivery", Duration::from_secs(10), || {
        slack.rec.accepted().len() == 1
    })
    .await;
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(slack.rec.accepted().len(), 1, "exactly once");
    assert_eq!(slack.rec.rejected.lock().len(), 1);
    let retries = sightline_notifier::metrics::RETRIES
        .with_label_values(&["slack", "slack429"])
        .get();
    assert!(retries >= 1);
}

#[tokio::test]
async fn pagerduty_400_is_not_retried_and_is_counted() {
    let (pd, slack) = (pagerduty().await, slack().await);
    pd.rec
        .forced
        .lock()
        .push_back(Forced::Status(400, None, "invalid event"));
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("pd400", &pd, &slack, &FAST, ""), dir.path());
    n.submit(vec![alert("Down", &[])]).unwrap();
    wait_for("attempt", Duration::from_secs(5), || {
        *pd.rec.seen.lock() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(*pd.rec.seen.lock(), 1, "400 is final");
    let failed = sightline_notifier::metrics::FAILED
        .with_label_values(&["pagerduty", "pd400", "client_error"])
        .get();
    assert_eq!(failed, 1);
}

#[tokio::test]
async fn pagerduty_5xx_is_retried_until_accepted() {
    let (pd, slack) = (pagerduty().await, slack().await);
    pd.rec
        .forced
        .lock()
        .push_back(Forced::Status(503, None, "unavailable"));
    pd.rec
        .forced
        .lock()
        .push_back(Forced::Status(429, Some("0"), "slow down"));
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("pd5xx", &pd, &slack, &FAST, ""), dir.path());
    n.submit(vec![alert("Down", &[])]).unwrap();
    wait_for("delivery", Duration::from_secs(10), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    assert_eq!(*pd.rec.seen.lock(), 3);
    let ok = sightline_notifier::metrics::NOTIFICATIONS
        .with_label_values(&["pagerduty", "pd5xx"])
        .get();
    assert_eq!(ok, 1);
    let _: Option<Value> = None;
}

#[tokio::test]
async fn inhibiting_a_paged_alert_resolves_it_at_pagerduty() {
    let (pd, slack) = (pagerduty().await, slack().await);
    let dir = tempfile::tempdir().unwrap();
    let n = start(config("inhibit-late", &pd, &slack, &FAST, ""), dir.path());
    n.submit(vec![alert(
        "PodSlow",
        &[("severity", "warning"), ("cluster", "eu")],
    )])
    .unwrap();
    wait_for("warning page", Duration::from_secs(5), || {
        pd.rec.accepted().len() == 1
    })
    .await;
    let warning_key = pd.rec.accepted()[0]["dedup_key"].clone();
    n.submit(vec![alert(
        "ClusterDown",
        &[("severity", "critical"), ("cluster", "eu")],
    )])
    .unwrap();
    wait_for(
        "critical page and warning resolve",
        Duration::from_secs(5),
        || pd.rec.accepted().len() == 3,
    )
    .await;
    let evs = pd.rec.accepted();
    let resolve = evs
        .iter()
        .find(|e| e["event_action"] == "resolve")
        .expect("a resolve");
    assert_eq!(resolve["dedup_key"], warning_key);
    let trigger = evs
        .iter()
        .skip(1)
        .find(|e| e["event_action"] == "trigger")
        .expect("a trigger");
    assert!(trigger["payload"]["summary"]
        .as_str()
        .unwrap()
        .contains("ClusterDown"));
}
