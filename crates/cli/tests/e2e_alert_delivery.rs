//! Delivery guarantees of the built-in notifier, end to end through the whole
//! `sightline` binary (issue 4 §4): a scraped service is switched into failure, a
//! rule fires, and local contract receivers record every request they answer.
//!
//! - A `kill -9` of Sightline while the page is open, then a restart on the same data
//!   directory, sends no second trigger for the same `dedup_key`, and the recovery is
//!   still resolved at PagerDuty, once.
//! - A Slack webhook answering 429 with `Retry-After: 2` gets the message later —
//!   each retry at least a second after the 429, exactly one delivery per
//!   notification — and the retries show in Sightline's own metrics.

mod common;
mod support_alerting;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support_alerting::*;

/// The routing key every PagerDuty config uses (32 characters, as the API requires).
const ROUTING_KEY: &str = "0123456789abcdef0123456789abcdef";

/// Writes the rule file into `dir` and returns the Sightline config (without the
/// `server:` section) scraping `checkout` on `svc` every second, evaluating every
/// second, and routing everything to `receiver_yaml` with 1 s group timers and a 1 h
/// repeat interval (so any repeat inside a test is a duplicate).
fn config(dir: &Path, svc: u16, receiver_yaml: &str) -> String {
    let rules = dir.join("rules.yml");
    std::fs::write(&rules, CHECKOUT_RULES).unwrap();
    format!(
        "self_monitoring: {{enabled: false, host_collector: false}}\n\
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}\n\
rule_files: ['{rules}']\n\
scrape_configs:\n  - job_name: checkout\n    static_configs: [{{targets: ['127.0.0.1:{svc}']}}]\n\
alerting:\n  route:\n    receiver: oncall\n    group_by: [alertname]\n    group_wait: 1s\n    group_interval: 1s\n    repeat_interval: 1h\n  receivers:\n    - name: oncall\n{receiver_yaml}",
        rules = rules.display()
    )
}

/// The notifier's snapshot file somewhere under `dir`, if written yet.
fn find_state_file(dir: &Path) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if let Some(found) = find_state_file(&p) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == "notifier-state.json") {
            return Some(p);
        }
    }
    None
}

/// True when the notifier's durable snapshot records a PagerDuty notification of a
/// firing alert (its notification log is what prevents a second page on restart).
fn firing_page_persisted(data_dir: &Path) -> bool {
    let Some(p) = find_state_file(data_dir) else {
        return false;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(p).unwrap_or_default())
    else {
        return false;
    };
    v["nflog"].as_array().is_some_and(|log| {
        log.iter().any(|e| {
            e["integration"]
                .as_str()
                .unwrap_or("")
                .contains("pagerduty")
                && e["firing"].as_array().is_some_and(|f| !f.is_empty())
        })
    })
}

fn describe(reqs: &[Request]) -> String {
    reqs.iter()
        .map(|r| format!("{} {}", r.status, r.body))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn restart_mid_incident_sends_no_duplicate_and_still_resolves() {
    let failing = Arc::new(AtomicBool::new(false));
    let svc = service(failing.clone());
    let (pd, pages) = recording_receiver(Kind::PagerDuty, 0, 0);
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Sightline::start(&config(
        tmp.path(),
        svc,
        &format!(
            "      pagerduty_configs: [{{routing_key: {ROUTING_KEY}, url: 'http://127.0.0.1:{pd}/v2/enqueue'}}]\n"
        ),
    ));

    failing.store(true, Ordering::SeqCst);
    let mut before = Vec::new();
    let trigger = wait_request(&pages, 60, &mut before, |r| {
        r.body["event_action"] == "trigger"
    })
    .unwrap_or_else(|| panic!("no page within 60 s\n{}", s.log_text()));
    assert!(trigger.accepted(), "invalid trigger: {}", trigger.body);
    assert!(
        trigger.body.to_string().contains("CheckoutErrors"),
        "{}",
        trigger.body
    );
    assert!(
        before.is_empty(),
        "unexpected requests:\n{}",
        describe(&before)
    );
    let key = trigger.body["dedup_key"].as_str().unwrap().to_string();

    // A delivery acknowledged by PagerDuty but killed before Sightline recorded it can
    // only be repeated (at least once); the guarantee is about a recorded page, so the
    // kill comes once the notification log is durable.
    s.wait_for(30, "the page in the notifier's snapshot", |s| {
        firing_page_persisted(&s.data_dir)
    });
    s.kill9();
    s.restart();

    // Still failing: the rule engine fires again after the restart and re-sends the
    // alert to the notifier; wait for that, then watch several group intervals.
    s.wait_for(60, "CheckoutErrors firing again after the restart", |s| {
        s.api("/api/v1/alerts").to_string().contains("\"firing\"")
    });
    let after_restart = collect_for(&pages, 6);
    let dup: Vec<_> = after_restart
        .iter()
        .filter(|r| r.body["event_action"] == "trigger")
        .cloned()
        .collect();
    assert!(
        dup.is_empty(),
        "a second trigger after the restart (dedup_key {key}):\n{}\n--- log ---\n{}",
        describe(&dup),
        s.log_text()
    );
    assert!(
        after_restart.is_empty(),
        "unexpected requests while still failing:\n{}",
        describe(&after_restart)
    );

    // Recovery: exactly one resolve, for the same incident.
    failing.store(false, Ordering::SeqCst);
    let mut other = Vec::new();
    let resolve = wait_request(&pages, 60, &mut other, |r| {
        r.body["event_action"] == "resolve"
    })
    .unwrap_or_else(|| {
        panic!(
            "no resolve within 60 s; other requests:\n{}\n--- log ---\n{}",
            describe(&other),
            s.log_text()
        )
    });
    assert!(resolve.accepted(), "invalid resolve: {}", resolve.body);
    assert_eq!(resolve.body["dedup_key"], key.as_str(), "{}", resolve.body);
    assert!(
        other.is_empty(),
        "unexpected requests:\n{}",
        describe(&other)
    );
    let later = collect_for(&pages, 4);
    assert!(
        later.is_empty(),
        "requests after the resolve:\n{}",
        describe(&later)
    );
}

#[test]
fn slack_429_is_retried_after_retry_after_and_nothing_is_lost() {
    const THROTTLED: usize = 3;
    // Longer than the 1 s Slack pacing interval, which alone already spaces a message
    // after a 429 by about a second: a gap of 2 s shows `Retry-After` itself is obeyed.
    const RETRY_AFTER_SECS: u64 = 2;
    let failing = Arc::new(AtomicBool::new(false));
    let svc = service(failing.clone());
    let (slack, posts) = recording_receiver(Kind::Slack, THROTTLED, RETRY_AFTER_SECS);
    let tmp = tempfile::tempdir().unwrap();
    let s = Sightline::start(&config(
        tmp.path(),
        svc,
        &format!(
            "      slack_configs: [{{api_url: 'http://127.0.0.1:{slack}/hook', channel: '#oncall', send_resolved: true}}]\n"
        ),
    ));

    failing.store(true, Ordering::SeqCst);
    let mut throttled = Vec::new();
    let delivered =
        wait_request(&posts, 60, &mut throttled, |r| r.accepted()).unwrap_or_else(|| {
            panic!(
                "the Slack message was never delivered; requests:\n{}\n--- log ---\n{}",
                describe(&throttled),
                s.log_text()
            )
        });
    assert_eq!(delivered.status, 200);
    let text = delivered.body.to_string();
    assert!(text.contains("CheckoutErrors"), "{text}");
    assert!(text.contains("#oncall"), "{text}");
    assert_eq!(
        throttled.len(),
        THROTTLED,
        "expected exactly the {THROTTLED} throttled posts before delivery:\n{}",
        describe(&throttled)
    );
    // The same message was retried, never changed or dropped in between.
    for r in &throttled {
        assert_eq!(r.status, 429);
        assert_eq!(r.body, delivered.body, "a retry carried another message");
    }
    // Each attempt came at least Retry-After after the 429 before it.
    let attempts: Vec<_> = throttled.iter().chain([&delivered]).collect();
    for w in attempts.windows(2) {
        let gap = w[1].at.duration_since(w[0].at);
        assert!(
            gap >= Duration::from_secs(RETRY_AFTER_SECS),
            "retry only {gap:?} after a 429 with Retry-After: {RETRY_AFTER_SECS}"
        );
    }

    // Still failing for several group intervals: the firing message is not repeated.
    let more = collect_for(&posts, 5);
    assert!(
        more.is_empty(),
        "the firing notification was sent again:\n{}",
        describe(&more)
    );

    // The retries are visible in Sightline's own metrics.
    let (code, metrics) = s.get("/metrics");
    assert_eq!(code, 200);
    let retries = metric_sum(
        &metrics,
        "sightline_notification_retries_total",
        &["integration=\"slack\""],
    );
    assert_eq!(
        retries, THROTTLED as f64,
        "retry counter does not match the 429s answered"
    );
    let sent = metric_sum(
        &metrics,
        "sightline_notifications_total",
        &["integration=\"slack\""],
    );
    assert_eq!(sent, 1.0, "delivered-notification counter");

    // Recovery: exactly one resolved message, delivered at once (no more throttling).
    failing.store(false, Ordering::SeqCst);
    let mut other = Vec::new();
    let resolved = wait_request(&posts, 60, &mut other, |r| r.accepted())
        .unwrap_or_else(|| panic!("no resolved message\n{}", s.log_text()));
    assert!(other.is_empty(), "unexpected posts:\n{}", describe(&other));
    let text = resolved.body.to_string();
    assert!(
        text.contains("RESOLVED") && text.contains("CheckoutErrors"),
        "{text}"
    );
    let later = collect_for(&posts, 4);
    assert!(
        later.is_empty(),
        "posts after the resolve:\n{}",
        describe(&later)
    );
}
