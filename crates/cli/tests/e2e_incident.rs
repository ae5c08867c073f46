//! Incident simulation end to end, all inside Sightline: a scraped service's error
//! counter is switched into failure → a rule fires → the page reaches a PagerDuty
//! Events v2 receiver and a message reaches a Slack webhook; the service recovers →
//! the PagerDuty incident is resolved with the same dedup_key. A 99.99% SLO on the
//! same service pages through its generated burn-rate alert, and `/api/v1/slos`
//! reports the burn.

mod common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// A service exposing `http_requests_total` whose 5xx counter grows while `failing`.
fn service(failing: Arc<AtomicBool>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    std::thread::spawn(move || {
        for mut conn in l.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = conn.read(&mut buf);
            if failing.load(Ordering::SeqCst) {
                errors.fetch_add(100, Ordering::SeqCst);
            } else {
                ok.fetch_add(100, Ordering::SeqCst);
            }
            let body = format!(
                "# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\"}} {}\nhttp_requests_total{{code=\"500\"}} {}\n",
                ok.load(Ordering::SeqCst),
                errors.load(Ordering::SeqCst)
            );
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A receiver enforcing the parts of a contract the test relies on: PagerDuty Events
/// v2 (`routing_key` of 32 characters, `event_action`, `dedup_key`, `payload.summary`,
/// `source` and `severity` on triggers → 202, otherwise 400) or Slack (`text` or
/// `attachments` → 200 `ok`, otherwise 400 `no_text`). Accepted bodies are sent on
/// the channel.
fn receiver(kind: &'static str) -> (u16, mpsc::Receiver<serde_json::Value>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let valid = match kind {
                "pagerduty" => {
                    let action = v["event_action"].as_str().unwrap_or("");
                    v["routing_key"].as_str().is_some_and(|k| k.len() == 32)
                        && ["trigger", "resolve", "acknowledge"].contains(&action)
                        && v["dedup_key"]
                            .as_str()
                            .is_some_and(|k| !k.is_empty() && k.len() <= 255)
                        && (action != "trigger"
                            || (v["payload"]["summary"]
                                .as_str()
                                .is_some_and(|s| !s.is_empty() && s.len() <= 1024)
                                && v["payload"]["source"].is_string()
                                && ["critical", "error", "warning", "info"]
                                    .contains(&v["payload"]["severity"].as_str().unwrap_or(""))))
                }
                _ => v["text"].is_string() || v["attachments"].is_array(),
            };
            let (status, text) = match (kind, valid) {
                ("pagerduty", true) => ("202 Accepted", "{\"status\":\"success\"}"),
                ("pagerduty", false) => ("400 Bad Request", "{\"status\":\"invalid event\"}"),
                (_, true) => ("200 OK", "ok"),
                (_, false) => ("400 Bad Request", "no_text"),
            };
            let mut conn = conn;
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            assert!(valid, "{kind} receiver got an invalid payload: {v}");
            let _ = tx.send(v);
        }
    });
    (port, rx)
}

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
