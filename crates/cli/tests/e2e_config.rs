//! Configuration end to end: `check config` locates errors; reload by HTTP and by
//! SIGHUP applies a valid file and keeps the running one on an invalid file.

mod common;
use common::*;
use std::process::Command;

fn check(yaml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sightline.yml");
    std::fs::write(&f, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["check", "config"])
        .arg(&f)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn check_config_reports_file_line_column_and_key_path() {
    let (ok, out) = check("global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n");
    assert!(!ok, "{out}");
    assert!(
        out.contains("sightline.yml:5:"),
        "line number missing: {out}"
    );
    assert!(out.contains("scrape_intervall"), "{out}");
    assert!(out.contains("scrape_configs[0]"), "key path missing: {out}");

    let (ok, out) = check("global:\n  scrape_interval: soon\n");
    assert!(!ok);
    assert!(
        out.contains(":2:") && out.contains("global.scrape_interval"),
        "{out}"
    );

    let (ok, out) = check(
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
    );
    assert!(!ok);
    assert!(
        out.contains(":4:") && out.contains("scrape timeout"),
        "{out}"
    );

    let (ok, out) =
        check("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['x:1']}]\n");
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn health_self_metrics_and_reload() {
    let mut s = Sightline::start(
        "scrape_configs:\n  - job_name: first\n    static_configs: [{targets: ['127.0.0.1:1']}]\n",
    );
    assert_eq!(s.get("/-/healthy").0, 200);
    let (code, metrics) = s.get("/metrics");
    assert_eq!(code, 200);
    assert!(metrics.contains("sightline_build_info"), "{metrics}");
    assert!(metrics.contains("process_resident_memory_bytes"));

    let pools = |s: &Sightline| -> Vec<String> {
        let d = s.api("/api/v1/targets");
        let mut v: Vec<String> = d["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["scrapePool"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    s.wait_for(10, "first targets", |s| {
        pools(s) == ["first", "node", "sightline"]
    });

    // Reload by HTTP with a new job.
    let server = std::fs::read_to_string(&s.config).unwrap();
    let server_part: String = server.lines().take(4).map(|l| format!("{l}\n")).collect();
    std::fs::write(
        &s.config,
        format!("{server_part}scrape_configs:\n  - job_name: second\n    static_configs: [{{targets: ['127.0.0.1:1']}}]\n"),
    )
    .unwrap();
    let (code, body) = s.post("/-/reload", &[], b"").unwrap();
    assert_eq!(code, 200, "{body}");
    s.wait_for(10, "second job", |s| {
        pools(s) == ["node", "second", "sightline"]
    });

    // An invalid file changes nothing and the error names its location.
    std::fs::write(
        &s.config,
        format!("{server_part}scrape_configs:\n  - job_name: third\n    bogus: 1\n"),
    )
    .unwrap();
    let (code, body) = s.post("/-/reload", &[], b"").unwrap();
    assert_eq!(code, 500, "{body}");
    assert!(
        body.contains("sightline.yml:7:") && body.contains("bogus"),
        "{body}"
    );
    assert_eq!(pools(&s), ["node", "second", "sightline"]);
    assert_eq!(
        s.api("/api/v1/status/runtimeinfo")["reloadConfigSuccess"],
        false
    );
    let flags = s.api("/api/v1/status/flags");
    assert_eq!(flags["web.listen-address"], s.addr.as_str());

    // SIGHUP reloads too.
    std::fs::write(
        &s.config,
        format!("{server_part}scrape_configs:\n  - job_name: fourth\n    static_configs: [{{targets: ['127.0.0.1:1']}}]\n"),
    )
    .unwrap();
    s.sighup();
    s.wait_for(10, "fourth job after SIGHUP", |s| {
        pools(s) == ["fourth", "node", "sightline"]
    });
    s.stop();
}
