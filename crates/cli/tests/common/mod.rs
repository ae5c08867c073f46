//! Shared harness of the end-to-end tests: runs the real `sightline` binary on free
//! loopback ports in a temporary data directory, and talks to it over HTTP.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// True when `bin` is on PATH; otherwise prints why the test is skipped.
pub fn have(bin: &str, why: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false);
    if !found {
        eprintln!("SKIP: {bin} is not installed ({why}); scripts/test.sh installs it");
    }
    found
}

/// The whole body of a response (ureq's `into_string` stops at 10 MB).
fn body_text(r: ureq::Response) -> String {
    let mut s = String::new();
    let _ = r.into_reader().read_to_string(&mut s);
    s
}

/// A running Sightline process.
pub struct Sightline {
    child: Option<Child>,
    /// The data directory (kept across restarts).
    pub data_dir: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    /// `127.0.0.1:port` of the main listener.
    pub addr: String,
    _tmp: Option<tempfile::TempDir>,
    log: PathBuf,
}

/// The `server:` section binding every listener to a free loopback port.
pub fn server_section(port: u16) -> String {
    format!(
        "server:\n  listen_address: 127.0.0.1:{port}\n  otlp_grpc_listen_address: 127.0.0.1:{}\n  otlp_http_listen_address: 127.0.0.1:{}\n",
        free_port(),
        free_port()
    )
}

impl Sightline {
    /// Starts Sightline with `extra_yaml` appended to a config that binds free ports.
    /// `extra_yaml` must not contain a `server:` section.
    pub fn start(extra_yaml: &str) -> Self {
        Self::start_with(extra_yaml, |_| {})
    }

    /// Like [`Sightline::start`], running `prepare(data_dir)` before the process starts.
    pub fn start_with(extra_yaml: &str, prepare: impl FnOnce(&Path)) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        prepare(&tmp.path().join("data"));
        let port = free_port();
        let config = tmp.path().join("sightline.yml");
        std::fs::write(&config, format!("{}{}", server_section(port), extra_yaml)).unwrap();
        let mut s = Sightline {
            child: None,
            data_dir: tmp.path().join("data"),
            config,
            addr: format!("127.0.0.1:{port}"),
            log: tmp.path().join("sightline.log"),
            _tmp: Some(tmp),
        };
        s.spawn();
        s
    }

    /// The directory holding config, data and log.
    pub fn dir(&self) -> &Path {
        self.config.parent().unwrap()
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("SIGHTLINE_LOG_LEVEL", "info")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("sightline binary starts");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until `/-/ready` answers 200 (panics with the log after 60 s).
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "sightline exited with {status} during startup:\n{}",
                    self.log_text()
                );
            }
            if let Ok((200, _)) = self.try_get("/-/ready") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sightline not ready after 60s:\n{}", self.log_text());
    }

    /// The process log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process with SIGKILL (no shutdown code runs).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the process with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    /// Sends SIGHUP (configuration reload).
    pub fn sighup(&self) {
        if let Some(c) = &self.child {
            unsafe { libc::kill(c.id() as i32, libc::SIGHUP) };
        }
    }

    /// Starts the process again on the same config and data directory.
    pub fn restart(&mut self) {
        self.spawn();
    }

    /// `GET path`, returning status and body; transport errors are `Err`.
    pub fn try_get(&self, path: &str) -> Result<(u16, String), String> {
        let url = format!("http://{}{}", self.addr, path);
        match ureq::get(&url).timeout(Duration::from_secs(30)).call() {
            Ok(r) => Ok((r.status(), body_text(r))),
            Err(ureq::Error::Status(code, r)) => Ok((code, body_text(r))),
            Err(e) => Err(e.to_string()),
        }
    }

    /// `GET path`; panics on transport errors.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log_text()))
    }

    /// `GET path` expecting a Prometheus success envelope; returns `data`.
    pub fn api(&self, path: &str) -> serde_json::Value {
        let (code, body) = self.get(path);
        assert_eq!(code, 200, "GET {path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{body}");
        v["data"].clone()
    }

    /// `POST path` with headers and a body; returns status and body.
    pub fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, String), String> {
        let url = format!("http://{}{}", self.addr, path);
        let mut req = ureq::post(&url).timeout(Duration::from_secs(30));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        match req.send_bytes(body) {
            Ok(r) => Ok((r.status(), body_text(r))),
            Err(ureq::Error::Status(code, r)) => Ok((code, body_text(r))),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Every raw sample of the series matching `selector`, via `/api/v1/export`:
    /// `(labels as "k=v,…", [(t, v)])`, sorted.
    pub fn export(&self, selector: &str) -> Vec<(String, Vec<(i64, f64)>)> {
        let q = format!("/api/v1/export?match[]={}", encode(selector));
        let (code, body) = self.get(&q);
        assert_eq!(code, 200, "export: {body}");
        let mut out = Vec::new();
        for line in body.lines().filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let mut labels: Vec<String> = v["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect();
            labels.sort();
            let ts = v["timestamps"].as_array().unwrap();
            let vs = v["values"].as_array().unwrap();
            let samples = ts
                .iter()
                .zip(vs)
                .map(|(t, v)| (t.as_i64().unwrap(), v.as_f64().unwrap_or(f64::NAN)))
                .collect();
            out.push((labels.join(","), samples));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Waits until `cond` holds (polling every 200 ms), panicking after `secs`.
    pub fn wait_for(&self, secs: u64, what: &str, mut cond: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if cond(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "timed out after {secs}s waiting for {what}\n--- log ---\n{}",
            self.log_text()
        );
    }
}

impl Drop for Sightline {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Percent-encodes a query parameter value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Runs an external peer (prometheus, node_exporter) until dropped.
pub struct Peer {
    child: Child,
    /// Its log file.
    pub log: PathBuf,
}

impl Peer {
    /// Spawns `bin args…`, logging to `log`.
    pub fn spawn(bin: &str, args: &[String], log: PathBuf) -> Self {
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args(args)
            .stdout(Stdio::from(f.try_clone().unwrap()))
            .stderr(Stdio::from(f))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        Peer { child, log }
    }

    /// Stops it with SIGTERM and waits.
    pub fn stop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until an HTTP GET of `url` returns 200.
pub fn wait_http(url: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(r) = ureq::get(url).timeout(Duration::from_secs(2)).call() {
            if r.status() == 200 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{url} did not answer 200 within {secs}s");
}

/// Parses Prometheus text exposition into `(series key "name|k=v,…", value)` pairs;
/// a deliberately small, independent reader used to check Sightline's parser and
/// storage against what an exporter served.
pub fn parse_exposition(text: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => (&line[..i], &line[i..]),
            None => continue,
        };
        let mut labels: Vec<String> = vec![format!("__name__={name}")];
        let mut rest = rest;
        if rest.starts_with('{') {
            let mut chars = rest[1..].char_indices();
            let mut cur_name = String::new();
            let mut end = 0;
            while let Some((i, c)) = chars.next() {
                match c {
                    '}' => {
                        end = i + 2;
                        break;
                    }
                    ',' | ' ' => {}
                    '=' => {
                        let _ = chars.next(); // opening quote
                        let mut val = String::new();
                        while let Some((_, c)) = chars.next() {
                            match c {
                                '\\' => match chars.next().map(|x| x.1) {
                                    Some('n') => val.push('\n'),
                                    Some(o) => val.push(o),
                                    None => {}
                                },
                                '"' => break,
                                o => val.push(o),
                            }
                        }
                        if !val.is_empty() {
                            labels.push(format!("{}={val}", cur_name.trim()));
                        }
                        cur_name.clear();
                    }
                    o => cur_name.push(o),
                }
            }
            rest = &rest[end..];
        }
        let value = rest.split_whitespace().next().unwrap_or("");
        let v = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            s => s.parse().unwrap_or(f64::NAN),
        };
        labels.sort();
        out.push((labels.join(","), v));
    }
    out
}
