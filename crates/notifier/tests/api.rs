//! The Alertmanager API v2 served on a real listener: alert ingestion and listing
//! with status, bad input, silences CRUD, status/receivers/groups, and `amtool`
//! (when installed) driving silences and alert queries against it.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sightline_notifier::{load_str, Notifier};

const CONFIG: &str = r#"
route:
  receiver: team
  group_by: [alertname]
  group_wait: 1h
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
receivers:
  - name: team
  - name: pager
"#;

async fn setup() -> (Arc<Notifier>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = load_str(CONFIG, Path::new("api.yml")).unwrap();
    let n = Notifier::start(cfg, dir.path(), "http://sightline.test").unwrap();
    let addr = support::serve(n.router()).await;
    (n, format!("http://{addr}"), dir)
}

async fn post(url: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get_json(url: &str) -> Value {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn post_and_list_alerts_with_status() {
    let (_n, base, _d) = setup().await;
    let r = post(
        &format!("{base}/api/v2/alerts"),
        json!([
            {"labels": {"alertname": "Down", "severity": "critical", "instance": "a"},
             "annotations": {"summary": "a is down"},
             "startsAt": "2024-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "http://prom/graph"},
            {"labels": {"alertname": "Slow"}}
        ]),
    )
    .await;
    assert_eq!(r.status(), 200);
    let alerts = get_json(&format!("{base}/api/v2/alerts")).await;
    let arr = alerts.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    let down = arr
        .iter()
        .find(|a| a["labels"]["alertname"] == "Down")
        .unwrap();
    assert_eq!(down["status"]["state"], "active");
    assert_eq!(down["status"]["silencedBy"], json!([]));
    assert_eq!(down["receivers"], json!([{"name": "pager"}]));
    assert_eq!(down["startsAt"], "2024-01-01T00:00:00.000Z");
    assert_eq!(down["generatorURL"], "http://prom/graph");
    assert_eq!(down["fingerprint"].as_str().unwrap().len(), 16);
    assert!(down["updatedAt"].is_string() && down["endsAt"].is_string());
    let filtered = get_json(&format!(
        "{base}/api/v2/alerts?filter=alertname%3D%22Slow%22"
    ))
    .await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    let by_receiver = get_json(&format!("{base}/api/v2/alerts?receiver=pager")).await;
    assert_eq!(by_receiver.as_array().unwrap().len(), 1);
    let groups = get_json(&format!("{base}/api/v2/alerts/groups")).await;
    let g = groups.as_array().unwrap();
    assert_eq!(g.len(), 2, "{g:#?}");
    assert!(g
        .iter()
        .any(|g| g["receiver"]["name"] == "pager" && g["labels"] == json!({"alertname": "Down"})));
}

#[tokio::test]
async fn bad_alerts_are_400() {
    let (_n, base, _d) = setup().await;
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v2/alerts"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("invalid alerts JSON"));
    let r = post(
        &format!("{base}/api/v2/alerts"),
        json!([{"labels": {"bad-name": "x"}}]),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = post(&format!("{base}/api/v2/alerts"), json!([{"labels": {}}])).await;
    assert_eq!(r.status(), 400);
    let r = post(
        &format!("{base}/api/v2/alerts"),
        json!([{"labels": {"a": "b"}, "startsAt": "2024-01-02T00:00:00Z", "endsAt": "2024-01-01T00:00:00Z"}]),
    )
    .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn silences_crud_and_alert_status() {
    let (_n, base, _d) = setup().await;
    post(
        &format!("{base}/api/v2/alerts"),
        json!([{"labels": {"alertname": "Down"}}]),
    )
    .await;
    let now = chrono::Utc::now();
    let r = post(
        &format!("{base}/api/v2/silences"),
        json!({"matchers": [{"name": "alertname", "value": "Down", "isRegex": false, "isEqual": true}],
               "startsAt": now.to_rfc3339(), "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
               "createdBy": "me", "comment": "deploy"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_string();
    let s = get_json(&format!("{base}/api/v2/silence/{id}")).await;
    assert_eq!(s["status"]["state"], "active");
    assert_eq!(s["createdBy"], "me");
    let list = get_json(&format!("{base}/api/v2/silences")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let alerts = get_json(&format!("{base}/api/v2/alerts")).await;
    assert_eq!(alerts[0]["status"]["state"], "suppressed");
    assert_eq!(alerts[0]["status"]["silencedBy"], json!([id]));
    let unsilenced = get_json(&format!("{base}/api/v2/alerts?silenced=false")).await;
    assert_eq!(unsilenced.as_array().unwrap().len(), 0);
    let r = reqwest::Client::new()
        .delete(format!("{base}/api/v2/silence/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = get_json(&format!("{base}/api/v2/silence/{id}")).await;
    assert_eq!(s["status"]["state"], "expired");
    let r = reqwest::get(format!("{base}/api/v2/silence/nope"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = post(&format!("{base}/api/v2/silences"), json!({"matchers": []})).await;
    assert_eq!(r.status(), 400);
    let status = get_json(&format!("{base}/api/v2/status")).await;
    assert_eq!(status["cluster"]["status"], "disabled");
    assert!(status["config"]["original"]
        .as_str()
        .unwrap()
        .contains("pager"));
    let receivers = get_json(&format!("{base}/api/v2/receivers")).await;
    assert_eq!(receivers, json!([{"name": "team"}, {"name": "pager"}]));
}

fn run_amtool(args: Vec<String>) -> (bool, String, String) {
    let amtool = support::amtool().expect("checked");
    let out = std::process::Command::new(amtool)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn amtool(base: &str, args: &[&str]) -> (bool, String, String) {
    let mut v = vec![format!("--alertmanager.url={base}")];
    v.extend(args.iter().map(|s| s.to_string()));
    tokio::task::spawn_blocking(move || run_amtool(v))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_works_against_the_api() {
    if support::amtool().is_none() {
        eprintln!("skipping: amtool not installed (apt-get install prometheus-alertmanager)");
        return;
    }
    let (_n, base, _d) = setup().await;
    post(
        &format!("{base}/api/v2/alerts"),
        json!([{"labels": {"alertname": "DiskFull", "instance": "db1"}, "annotations": {"summary": "disk"}}]),
    )
    .await;
    let (ok, out, err) = amtool(&base, &["alert", "query"]).await;
    assert!(ok, "alert query: {err}");
    assert!(out.contains("DiskFull"), "{out}");
    let (ok, out, err) = amtool(
        &base,
        &[
            "silence",
            "add",
            "alertname=DiskFull",
            "--comment=maintenance",
            "--author=ops",
            "--duration=1h",
        ],
    )
    .await;
    assert!(ok, "silence add: {err}");
    let id = out.trim().to_string();
    assert_eq!(id.len(), 36, "{out}");
    let (ok, out, err) = amtool(&base, &["silence", "query", "-q"]).await;
    assert!(ok, "silence query: {err}");
    assert_eq!(out.trim(), id);
    let (ok, out, _) = amtool(&base, &["alert", "query"]).await;
    assert!(ok);
    assert!(
        !out.contains("DiskFull"),
        "silenced alerts are hidden by default: {out}"
    );
    let (ok, _, err) = amtool(&base, &["silence", "expire", &id]).await;
    assert!(ok, "silence expire: {err}");
    let (ok, out, _) = amtool(&base, &["silence", "query", "-q"]).await;
    assert!(ok);
    assert!(out.trim().is_empty(), "{out}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    let (ok, out, _) = amtool(&base, &["alert", "query"]).await;
    assert!(ok && out.contains("DiskFull"));
    let (ok, _, err) = amtool(
        &base,
        &[
            "alert",
            "add",
            "alertname=FromAmtool",
            "severity=info",
            "--annotation=summary=added",
        ],
    )
    .await;
    assert!(ok, "alert add: {err}");
    let (ok, out, _) = amtool(&base, &["alert", "query", "alertname=FromAmtool"]).await;
    assert!(
        ok && out.contains("FromAmtool") && out.contains("added"),
        "{out}"
    );
}
