//! Starts the two servers under comparison on identical data: Debian's real
//! `prometheus` serving blocks built by `promtool tsdb create-blocks-from
//! openmetrics`, and Sightline serving blocks built by `sightline import
//! openmetrics` from the same file. Also the small HTTP client both tests use.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{free_port, have, wait_http, Peer, Sightline};

use super::dataset;

/// Both servers, loaded and ready.
pub struct Pair {
    /// The reference: `host:port` of the real Prometheus.
    pub prom_addr: String,
    /// The system under test.
    pub sightline: Sightline,
    prom: Peer,
    _tmp: tempfile::TempDir,
}

impl Pair {
    /// `host:port` of Sightline.
    pub fn sightline_addr(&self) -> &str {
        &self.sightline.addr
    }

    /// Prometheus' log so far (for failure messages).
    pub fn prom_log(&self) -> String {
        self.prom.log_text()
    }
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed: {text}");
    text
}

/// Generates the dataset, loads it into both servers and starts them; `None` (with
/// a message) when `prometheus` or `promtool` is not installed.
pub fn start_pair() -> Option<Pair> {
    start_pair_scraping(&[])
}

/// Like [`start_pair`], and both servers also scrape `targets` (`host:port`) every
/// second — the only way Prometheus learns metric metadata and exemplars
/// (Prometheus runs with exemplar storage enabled).
pub fn start_pair_scraping(targets: &[String]) -> Option<Pair> {
    if !have("prometheus", "reference PromQL engine") || !have("promtool", "reference backfill") {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let om = tmp.path().join("dataset.om");
    std::fs::write(&om, dataset::openmetrics()).unwrap();

    let prom_data = tmp.path().join("prom-data");
    run(
        Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&prom_data),
        "promtool tsdb create-blocks-from openmetrics",
    );
    let prom_cfg = tmp.path().join("prometheus.yml");
    let scrape = if targets.is_empty() {
        "scrape_configs: []\n".to_string()
    } else {
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        format!(
            "scrape_configs:\n  - job_name: exporter\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs: [{{targets: [{}]}}]\n",
            list.join(", ")
        )
    };
    std::fs::write(&prom_cfg, format!("global: {{}}\n{scrape}")).unwrap();
    let port = free_port();
    let prom = Peer::spawn(
        "prometheus",
        &[
            format!("--config.file={}", prom_cfg.display()),
            format!("--storage.tsdb.path={}", prom_data.display()),
            "--storage.tsdb.retention.time=100y".into(),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--log.level=warn".into(),
            "--enable-feature=exemplar-storage".into(),
        ],
        tmp.path().join("prometheus.log"),
    );
    let prom_addr = format!("127.0.0.1:{port}");

    let sightline = Sightline::start_with(
        &format!("self_monitoring: {{enabled: false, host_collector: false}}\n{scrape}"),
        |data: &Path| {
            run(
                Command::new(env!("CARGO_BIN_EXE_sightline"))
                    .args(["import", "openmetrics"])
                    .arg(&om)
                    .arg("--data-dir")
                    .arg(data),
                "sightline import openmetrics",
            );
        },
    );
    wait_http(&format!("http://{prom_addr}/-/ready"), 60);
    Some(Pair {
        prom_addr,
        sightline,
        prom,
        _tmp: tmp,
    })
}

/// A response: status code and body; transport failures are `Err`.
pub type Reply = Result<(u16, String), String>;

fn finish(r: Result<ureq::Response, ureq::Error>) -> Reply {
    match r {
        Ok(r) => Ok((r.status(), r.into_string().map_err(|e| e.to_string())?)),
        Err(ureq::Error::Status(code, r)) => Ok((code, r.into_string().unwrap_or_default())),
        Err(e) => Err(e.to_string()),
    }
}

/// `GET http://addr{path_and_query}` with extra headers.
pub fn get(addr: &str, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req =
        ureq::get(&format!("http://{addr}{path_and_query}")).timeout(Duration::from_secs(60));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    finish(req.call())
}

/// `POST http://addr{path}` with an `application/x-www-form-urlencoded` body built
/// from `form`, plus extra headers.
pub fn post_form(addr: &str, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let mut req = ureq::post(&format!("http://{addr}{path}")).timeout(Duration::from_secs(60));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    finish(req.send_form(form))
}

/// The content type of Prometheus' text exposition format.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The content type of OpenMetrics (which carries exemplars).
pub const OPENMETRICS_FORMAT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A minimal exporter on a free loopback port serving a fixed exposition body with
/// the given content type (until the test process ends).
pub fn serve_exposition(body: &'static str, content_type: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// Status and `Content-Type` of `GET http://addr{path_and_query}` sent with
/// `Accept-Encoding: gzip`, as Go's HTTP client (Grafana's) does (the body is
/// decompressed transparently).
pub fn response_headers(addr: &str, path_and_query: &str) -> Result<(u16, String), String> {
    let r = match ureq::get(&format!("http://{addr}{path_and_query}"))
        .set("Accept-Encoding", "gzip")
        .timeout(Duration::from_secs(60))
        .call()
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    Ok((
        r.status(),
        r.header("Content-Type").unwrap_or("").to_string(),
    ))
}
