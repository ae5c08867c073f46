//! Incident simulation end to end, all inside Sightline: a scraped service's error
//! counter is switched into failure → a rule fires → the page reaches a PagerDuty
//! Events v2 receiver and a message reaches a Slack webhook; the service recovers →
//! the PagerDuty incident is resolved with the same dedup_key. A 99.99% SLO on the
//! same service pages through its generated burn-rate alert, and `/api/v1/slos`
//! reports the burn.

mod common;
mod support_alerting;
use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use support_alerting::{receiver, service};

#[test]
fn failure_pages_and_recovery_resolves() {
    let failing = Arc::new(AtomicBool::new(false));
    let svc = service(failing.clone());
    let (pd, pages) = receiver("pagerduty");
    let (slack, messages) = receiver("slack");
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: checkout\n    interval: 1s\n    rules:\n      - alert: CheckoutErrors\n        expr: sum(rate(http_requests_total{job=\"checkout\",code=\"500\"}[3s])) > 0\n        labels: {severity: critical}\n        annotations:\n          summary: 'checkout is failing: {{ $value | humanize }} errors/s'\n          runbook_url: https://runbooks.example/checkout\n",
    )
    .unwrap();
    let s = Sightline::start(&format!(
        "self_monitoring: {{enabled: false, host_collector: false}}\n\
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}\n\
rule_files: ['{rules}']\n\
scrape_configs:\n  - job_name: checkout\n    static_configs: [{{targets: ['127.0.0.1:{svc}']}}]\n\
slos:\n  - service: checkout\n    name: availability\n    objective: 99.99\n    sli:\n      events:\n        error_query: sum(rate(http_requests_total{{job=\"checkout\",code=\"500\"}}[{{{{.window}}}}]))\n        total_query: sum(rate(http_requests_total{{job=\"checkout\"}}[{{{{.window}}}}]))\n    alerting:\n      min_events_per_5m: 1\n\
alerting:\n  route:\n    receiver: oncall\n    group_by: [alertname]\n    group_wait: 1s\n    group_interval: 1s\n    repeat_interval: 1h\n  receivers:\n    - name: oncall\n      pagerduty_configs: [{{routing_key: 0123456789abcdef0123456789abcdef, url: 'http://127.0.0.1:{pd}/v2/enqueue'}}]\n      slack_configs: [{{api_url: 'http://127.0.0.1:{slack}/hook', channel: '#oncall', send_resolved: true}}]\n",
        rules = rules.display()
    ));
    // Healthy for a few scrapes: nothing is sent.
    std::thread::sleep(Duration::from_secs(4));
    assert!(pages.try_recv().is_err(), "paged while healthy");

    failing.store(true, Ordering::SeqCst);
    let wait = |rx: &mpsc::Receiver<serde_json::Value>,
                what: &str,
                pred: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(v) = rx.recv_timeout(Duration::from_millis(500)) {
                if pred(&v) {
                    return v;
                }
            }
        }
        panic!("timed out waiting for {what}\n{}", s.log_text());
    };
    let trigger = wait(&pages, "the CheckoutErrors page", &|v| {
        v["event_action"] == "trigger"
            && v["payload"]["summary"]
                .as_str()
                .unwrap_or("")
                .contains("CheckoutErrors")
    });
    assert_eq!(trigger["payload"]["severity"], "critical");
    let text = trigger.to_string();
    assert!(
        text.contains("runbooks.example/checkout"),
        "runbook link missing: {text}"
    );
    let slack_msg = wait(&messages, "the Slack message", &|v| {
        v.to_string().contains("CheckoutErrors")
    });
    assert!(slack_msg.to_string().contains("#oncall"), "{slack_msg}");

    // The generated 99.99% SLO pages too, and /api/v1/slos shows the burn.
    wait(&pages, "the SLO burn-rate page", &|v| {
        v["event_action"] == "trigger" && v.to_string().contains("availability")
    });
    let slos = s.api("/api/v1/slos");
    assert!(slos.to_string().contains("availability"), "{slos}");

    // Recovery: the page is resolved with the trigger's dedup_key.
    failing.store(false, Ordering::SeqCst);
    let key = trigger["dedup_key"].as_str().unwrap().to_string();
    wait(&pages, "the resolve", &|v| {
        v["event_action"] == "resolve" && v["dedup_key"] == key.as_str()
    });

    // The rules and alerts APIs tell the same story.
    let rules = s.api("/api/v1/rules");
    assert!(rules.to_string().contains("CheckoutErrors"), "{rules}");
}
