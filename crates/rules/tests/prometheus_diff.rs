//! Differential tests against Debian's Prometheus and Alertmanager binaries:
//! alert templates must expand exactly as Prometheus expands them, and
//! `HttpAlertSender` must be accepted by a real Alertmanager. Each test skips
//! with a message when the binary is not installed.

use sightline_model::Labels;
use sightline_promql::Engine;
use sightline_rules::alert::{AlertSender, HttpAlertSender, HttpSenderOptions, OutgoingAlert};
use sightline_rules::memdb::MemDb;
use sightline_rules::template::{AlertData, Template, Val};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get_json(url: &str) -> Option<serde_json::Value> {
    let r = reqwest::get(url).await.ok()?;
    r.json().await.ok()
}

const ANNOTATIONS: &[(&str, &str)] = &[
    ("v", "{{ $value }}"),
    ("h", "{{ $value | humanize }}"),
    ("h1024", "{{ humanize1024 $value }}"),
    ("hd", "{{ $value | humanizeDuration }}"),
    ("hp", "{{ $value | humanizePercentage }}"),
    ("ht", "{{ $value | humanizeTimestamp }}"),
    ("pf", "{{ printf \"%.2f\" $value }}"),
    ("pg", "{{ printf \"%g|%e|%5.1f|%d|%s\" $value $value $value 42 \"x\" }}"),
    ("lab", "{{ $labels.instance | reReplaceAll \":[0-9]+\" \"\" | toUpper }} {{ title \"hello world-x\" }} {{ toLower \"ABC\" }}"),
    ("cond", "{{ if gt $value 100.0 }}big{{ else if lt $value 0.0 }}negative{{ else }}small{{ end }}"),
    ("rng", "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
    ("dot", "{{ .Labels.instance }}/{{ .Value }}/{{ .Labels.nope }}|"),
    ("ext", "{{ $externalLabels.cluster }} {{ $externalURL }}"),
    ("q", "{{ query \"vector(1234.5)\" | first | value | humanize }}"),
    ("trim", "a  {{- \" b \" -}}  c"),
];

const VALUES: &[f64] = &[
    0.0,
    1.0,
    0.5,
    12.5,
    1234.5678,
    1234567.0,
    0.000123,
    -42.42,
    93661.5,
    1e21,
    1435065584.128,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_expand_like_prometheus() {
    let bin = Path::new("/usr/bin/prometheus");
    if !bin.exists() {
        eprintln!("SKIP: /usr/bin/prometheus not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: t\n    rules:\n");
    for (i, v) in VALUES.iter().enumerate() {
        rules.push_str(&format!(
            "      - alert: T{i}\n        expr: label_replace(vector({v:e}), \"instance\", \"web-{i}:9100\", \"\", \"\")\n        annotations:\n"
        ));
        for (k, src) in ANNOTATIONS {
            rules.push_str(&format!(
                "          {k}: {}\n",
                serde_json::to_string(src).unwrap()
            ));
        }
    }
    std::fs::write(dir.path().join("rules.yml"), &rules).unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global:\n  evaluation_interval: 1s\n  external_labels: {cluster: eu1}\nrule_files: [rules.yml]\n",
    )
    .unwrap();
    let port = free_port();
    let ext_url = format!("http://127.0.0.1:{port}");
    let _p = Proc(
        Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.external-url={ext_url}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let alerts = loop {
        assert!(
            Instant::now() < deadline,
            "Prometheus did not report the alerts in time"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let Some(j) = get_json(&format!("{ext_url}/api/v1/alerts")).await else {
            continue;
        };
        let list = j["data"]["alerts"].as_array().cloned().unwrap_or_default();
        if list.len() == VALUES.len() {
            break list;
        }
    };
    let db = MemDb::new();
    let engine = Engine::default();
    let q = |e: &str| -> Result<Vec<Val>, String> {
        match engine.instant(&db, e, 0).map_err(|e| e.to_string())? {
            sightline_promql::Value::Vector(v) => Ok(v
                .into_iter()
                .map(|(l, _, v)| {
                    Val::sample(
                        l.iter()
                            .map(|x| (x.name.clone(), x.value.clone()))
                            .collect(),
                        v,
                    )
                })
                .collect()),
            sightline_promql::Value::Scalar { v, .. } => Ok(vec![Val::sample(BTreeMap::new(), v)]),
            _ => Err("unexpected".into()),
        }
    };
    let mut mismatches = Vec::new();
    for a in &alerts {
        let name = a["labels"]["alertname"].as_str().unwrap();
        let i: usize = name[1..].parse().unwrap();
        let data = AlertData {
            labels: [("instance".to_string(), format!("web-{i}:9100"))].into(),
            external_labels: [("cluster".to_string(), "eu1".to_string())].into(),
            external_url: ext_url.clone(),
            value: VALUES[i],
        };
        for (k, src) in ANNOTATIONS {
            let want = a["annotations"][*k].as_str().unwrap_or("<missing>");
            let got = Template::parse(src)
                .unwrap()
                .expand_or_error(&data, Some(&q));
            let prefix = "<error expanding template: ";
            let same_error = want.starts_with(prefix)
                && got.starts_with(prefix)
                && want.contains(got[prefix.len()..].trim_end_matches('>'));
            if got != want && !same_error {
                mismatches.push(format!(
                    "value {} {k} {src}: prometheus {want:?}, sightline {got:?}",
                    VALUES[i]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    let _ = Labels::empty();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_sender_is_accepted_by_alertmanager() {
    let bin = Path::new("/usr/bin/prometheus-alertmanager");
    if !bin.exists() {
        eprintln!("SKIP: /usr/bin/prometheus-alertmanager not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("am.yml"),
        "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n",
    )
    .unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _p = Proc(
        Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("am.yml").display()
            ))
            .arg(format!("--storage.path={}", dir.path().display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_json(&format!("{url}/api/v2/status")).await.is_none() {
        assert!(Instant::now() < deadline, "Alertmanager did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sender = HttpAlertSender::new(vec![url.clone()], HttpSenderOptions::default()).unwrap();
    let now = sightline_rules::group::now_ms();
    sender.send(vec![OutgoingAlert {
        labels: [
            ("alertname", "SLOBurnRate"),
            ("severity", "page"),
            ("slo_service", "api"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        annotations: [("summary".to_string(), "api is burning budget".to_string())].into(),
        starts_at: now - 1000,
        ends_at: now + 240_000,
        generator_url: "http://sightline:9090/graph?g0.expr=up&g0.tab=1".into(),
    }]);
    let alert = loop {
        assert!(
            Instant::now() < deadline,
            "alert never reached Alertmanager"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Some(j) = get_json(&format!("{url}/api/v2/alerts")).await else {
            continue;
        };
        if let Some(a) = j.as_array().and_then(|l| l.first()).cloned() {
            break a;
        }
    };
    assert_eq!(alert["labels"]["alertname"], "SLOBurnRate");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["annotations"]["summary"], "api is burning budget");
    assert_eq!(alert["status"]["state"], "active");
    assert_eq!(
        alert["generatorURL"],
        "http://sightline:9090/graph?g0.expr=up&g0.tab=1"
    );
    // A resolution (endsAt in the past) resolves it.
    sender.send(vec![OutgoingAlert {
        labels: alert["labels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect(),
        annotations: BTreeMap::new(),
        starts_at: now - 1000,
        ends_at: now,
        generator_url: String::new(),
    }]);
    loop {
        assert!(
            Instant::now() < deadline + Duration::from_secs(10),
            "resolution never reached Alertmanager"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Some(j) = get_json(&format!(
            "{url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true"
        ))
        .await
        else {
            continue;
        };
        if j.as_array().is_some_and(|l| l.is_empty()) {
            break;
        }
    }
}
