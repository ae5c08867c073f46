//! Debian's real `prometheus` uses Sightline as its Alertmanager: the alerts it posts
//! to `/api/v2/alerts` are routed by the `alerting` section and delivered to a
//! webhook receiver in Alertmanager's v4 payload.

mod common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

/// A webhook receiver: every POST body is sent on the channel; answers 200.
fn webhook() -> (u16, mpsc::Receiver<serde_json::Value>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let mut conn = conn;
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if let Ok(v) = serde_json::from_slice(&body) {
                let _ = tx.send(v);
            }
        }
    });
    (port, rx)
}

#[test]
fn prometheus_alerts_are_routed_to_the_receiver() {
    if !have("prometheus", "reference alert sender") {
        return;
    }
    let (hook_port, hooks) = webhook();
    let s = Sightline::start(&format!(
        "self_monitoring: {{enabled: false, host_collector: false}}\nalerting:\n  route:\n    receiver: 'null'\n    group_wait: 1s\n    group_interval: 1s\n    routes:\n      - matchers: ['severity=\"page\"']\n        receiver: oncall\n        group_by: [alertname]\n  receivers:\n    - name: 'null'\n    - name: oncall\n      webhook_configs: [{{url: 'http://127.0.0.1:{hook_port}/hook'}}]\n"
    ));

    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("rules.yml"),
        "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - alert: CheckoutDown\n        expr: vector(1)\n        labels: {severity: page, service: checkout}\n        annotations: {summary: 'checkout is down'}\n      - alert: Quiet\n        expr: vector(1)\n        labels: {severity: info}\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("prometheus.yml"),
        format!(
            "global: {{evaluation_interval: 1s}}\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - api_version: v2\n      static_configs: [{{targets: ['{}']}}]\n",
            s.addr
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let prom = Peer::spawn(
        "prometheus",
        &[
            format!(
                "--config.file={}",
                tmp.path().join("prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", tmp.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
            // The first send can precede Alertmanager discovery; resend quickly.
            "--rules.alert.resend-delay=1s".into(),
        ],
        tmp.path().join("prom.log"),
    );

    let payload = hooks
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "no webhook notification within 60s\n--- prometheus ---\n{}\n--- sightline ---\n{}",
                prom.log_text(),
                s.log_text()
            )
        });
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["receiver"], "oncall");
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["groupLabels"]["alertname"], "CheckoutDown");
    let alerts = payload["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{payload}");
    assert_eq!(alerts[0]["labels"]["service"], "checkout");
    assert_eq!(alerts[0]["annotations"]["summary"], "checkout is down");

    // Both alerts are visible through the Alertmanager API, each with its receiver.
    s.wait_for(20, "both alerts in /api/v2/alerts", |s| {
        let (code, body) = s.get("/api/v2/alerts");
        code == 200 && body.contains("CheckoutDown") && body.contains("Quiet")
    });
    let (_, body) = s.get("/api/v2/alerts");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    for a in list.as_array().unwrap() {
        let receiver = a["receivers"][0]["name"].as_str().unwrap();
        let want = if a["labels"]["alertname"] == "CheckoutDown" {
            "oncall"
        } else {
            "null"
        };
        assert_eq!(receiver, want, "{a}");
        assert_eq!(a["status"]["state"], "active");
    }
    // The Quiet alert goes to the receiver without integrations: nothing else arrives.
    while let Ok(p) = hooks.recv_timeout(Duration::from_secs(2)) {
        assert_eq!(p["groupLabels"]["alertname"], "CheckoutDown", "{p}");
    }
}
