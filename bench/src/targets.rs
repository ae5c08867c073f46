//! The servers under test: how to start each one on a free loopback port with a fresh
//! data directory, when it is ready, how to make it persist what it ingested, how to
//! count its series, and how to stop it while collecting its CPU and memory usage.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::disk;
use crate::procstat::{self, Reaped};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Sightline (`sightline serve`).
    Sightline,
    /// Prometheus with the remote-write receiver enabled.
    Prometheus,
    /// Single-node VictoriaMetrics.
    VictoriaMetrics,
}

impl Kind {
    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sightline => "sightline",
            Kind::Prometheus => "prometheus",
            Kind::VictoriaMetrics => "victoria-metrics",
        }
    }

    /// Parses a name as [`Kind::name`] prints it.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "sightline" => Ok(Kind::Sightline),
            "prometheus" => Ok(Kind::Prometheus),
            "victoria-metrics" | "victoriametrics" | "vm" => Ok(Kind::VictoriaMetrics),
            other => bail!("unknown target {other:?} (sightline, prometheus, victoria-metrics)"),
        }
    }

    fn ready_path(self) -> &'static str {
        match self {
            Kind::VictoriaMetrics => "/health",
            _ => "/-/ready",
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A running server under test.
#[derive(Debug)]
pub struct Server {
    /// Which server.
    pub kind: Kind,
    /// Its process id.
    pub pid: u32,
    /// Its HTTP base URL.
    pub base: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its combined stdout/stderr.
    pub log: PathBuf,
    /// Block duration given to Prometheus and Sightline (they compact the head once
    /// it spans 1.5× this).
    block: Duration,
    reaped: Option<Reaped>,
}

impl Server {
    /// Starts `kind` from `binary` with a fresh data directory under `dir`.
    /// `block` is the block duration given to Prometheus and Sightline.
    pub fn start(kind: Kind, binary: &Path, dir: &Path, block: Duration) -> Result<Server> {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // The server runs inside `dir`, so every path it gets must be absolute.
        let dir = &fs::canonicalize(dir)?;
        let binary =
            &fs::canonicalize(binary).with_context(|| format!("locating {}", binary.display()))?;
        let data_dir = dir.join("data");
        fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(binary);
        let mins = (block.as_secs() / 60).max(1);
        match kind {
            Kind::Sightline => {
                let cfg = dir.join("sightline.yml");
                fs::write(
                    &cfg,
                    format!(
                        "server: {{listen_address: {addr}, otlp_grpc_listen_address: \"\", otlp_http_listen_address: \"\"}}\n\
                         self_monitoring: {{enabled: false, host_collector: false}}\n\
                         storage: {{tsdb: {{wal_fsync: always, min_block_duration: {mins}m, max_block_duration: {mins}m}}}}\n"
                    ),
                )?;
                cmd.arg("serve")
                    .arg("--config")
                    .arg(&cfg)
                    .arg("--data-dir")
                    .arg(&data_dir);
            }
            Kind::Prometheus => {
                let cfg = dir.join("prometheus.yml");
                fs::write(
                    &cfg,
                    "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
                )?;
                let mins = (block.as_secs() / 60).max(1);
                cmd.arg(format!("--config.file={}", cfg.display()))
                    .arg(format!("--storage.tsdb.path={}", data_dir.display()))
                    .arg(format!("--web.listen-address={addr}"))
                    .arg("--web.enable-remote-write-receiver")
                    .arg(format!("--storage.tsdb.min-block-duration={mins}m"))
                    .arg(format!("--storage.tsdb.max-block-duration={mins}m"))
                    .arg("--storage.tsdb.retention.time=30d");
            }
            Kind::VictoriaMetrics => {
                cmd.arg(format!("-storageDataPath={}", data_dir.display()))
                    .arg(format!("-httpListenAddr={addr}"))
                    .arg("-retentionPeriod=1y")
                    .arg("-search.maxSeries=10000000")
                    .arg("-search.maxUniqueTimeseries=10000000");
            }
        }
        let log = dir.join("server.log");
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let child = cmd
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Server {
            kind,
            pid: child.id(),
            base: format!("http://{addr}"),
            data_dir,
            log,
            block,
            reaped: None,
        })
    }

    /// The remote_write URL.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base)
    }

    /// The last `bytes` of the server's log.
    pub fn log_tail(&self, bytes: u64) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(bytes)));
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Whether the process is still running (reaps it if it exited).
    pub fn alive(&mut self) -> bool {
        if self.reaped.is_some() {
            return false;
        }
        match procstat::reap(self.pid, false) {
            Ok(Some(r)) => {
                self.reaped = Some(r);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    fn died(&mut self, what: &str) -> anyhow::Error {
        let how = match self.reaped {
            Some(r) => match (r.exit_code(), r.signal()) {
                (Some(c), _) => format!("exited with code {c}"),
                (_, Some(s)) => format!("killed by signal {s}"),
                _ => "ended".to_string(),
            },
            None => "is gone".to_string(),
        };
        anyhow!(
            "{} {how} {what}; log tail:\n{}",
            self.kind.name(),
            self.log_tail(2000)
        )
    }

    /// Waits until the readiness endpoint answers 200.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let url = format!("{}{}", self.base, self.kind.ready_path());
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        let t0 = Instant::now();
        loop {
            if !self.alive() {
                return Err(self.died("before becoming ready"));
            }
            if let Ok(r) = agent.get(&url).call() {
                if r.status() == 200 {
                    return Ok(());
                }
            }
            if t0.elapsed() > timeout {
                bail!(
                    "{} not ready after {timeout:?}; log tail:\n{}",
                    self.kind.name(),
                    self.log_tail(2000)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// CPU seconds used so far.
    pub fn cpu_seconds(&self) -> Result<f64> {
        Ok(procstat::cpu_seconds(self.pid)?)
    }

    /// Peak RSS so far, bytes.
    pub fn peak_rss(&self) -> Result<u64> {
        Ok(procstat::peak_rss(self.pid)?)
    }

    /// Number of series matching `selector` with samples in `[start_ms, end_ms]`,
    /// through `/api/v1/series`.
    pub fn series_count(&self, selector: &str, start_ms: i64, end_ms: i64) -> Result<u64> {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(300))
            .build();
        let resp = agent
            .get(&format!("{}/api/v1/series", self.base))
            .query("match[]", selector)
            .query("start", &format!("{:.3}", start_ms as f64 / 1000.0))
            .query("end", &format!("{:.3}", end_ms as f64 / 1000.0))
            .call()
            .map_err(|e| anyhow!("/api/v1/series: {e}"))?;
        let v: serde_json::Value = serde_json::from_reader(resp.into_reader())
            .context("/api/v1/series: response is not JSON")?;
        let data = v.get("data").and_then(|d| d.as_array()).ok_or_else(|| {
            anyhow!(
                "/api/v1/series: no data array in {}",
                truncate(&v.to_string(), 300)
            )
        })?;
        Ok(data.len() as u64)
    }

    /// Makes the server persist what it ingested, the way it does on its own:
    /// Prometheus and Sightline compact their head into blocks once it spans more
    /// than 1.5 block durations (waited for, through `/api/v1/status/tsdb`);
    /// VictoriaMetrics flushes its in-memory parts (waited until the directory stops
    /// changing). Returns a note on what was done.
    pub fn settle(&mut self, timeout: Duration) -> Result<String> {
        let t0 = Instant::now();
        match self.kind {
            Kind::Prometheus | Kind::Sightline => {
                let limit = self.block.as_millis() as i64 * 3 / 2;
                loop {
                    if !self.alive() {
                        return Err(self.died("while compacting"));
                    }
                    let (min, max) = self.prom_head_range()?;
                    let blocks = disk::blocks(&self.data_dir, 3)?;
                    if max - min <= limit && !blocks.is_empty() {
                        return Ok(format!(
                            "head compacted into {} block(s) after {:.0} s wait",
                            blocks.len(),
                            t0.elapsed().as_secs_f64()
                        ));
                    }
                    if t0.elapsed() > timeout {
                        bail!(
                            "{} did not compact its head within {timeout:?} (head spans {} ms)",
                            self.kind.name(),
                            max - min
                        );
                    }
                    std::thread::sleep(Duration::from_secs(2));
                }
            }
            Kind::VictoriaMetrics => {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(120))
                    .build();
                agent
                    .get(&format!("{}/internal/force_flush", self.base))
                    .call()
                    .map_err(|e| anyhow!("/internal/force_flush: {e}"))?;
                let mut last = disk::dir_size(&self.data_dir)?;
                let mut stable = 0;
                while stable < 3 && t0.elapsed() < timeout {
                    std::thread::sleep(Duration::from_secs(3));
                    let now = disk::dir_size(&self.data_dir)?;
                    stable = if now == last { stable + 1 } else { 0 };
                    last = now;
                }
                Ok(format!(
                    "force_flush, size stable after {:.0} s",
                    t0.elapsed().as_secs_f64()
                ))
            }
        }
    }

    fn prom_head_range(&self) -> Result<(i64, i64)> {
        let v: serde_json::Value = ureq::get(&format!("{}/api/v1/status/tsdb", self.base))
            .call()
            .map_err(|e| anyhow!("/api/v1/status/tsdb: {e}"))
            .and_then(|r| {
                serde_json::from_reader(r.into_reader())
                    .map_err(|e| anyhow!("/api/v1/status/tsdb: bad JSON: {e}"))
            })?;
        let hs = &v["data"]["headStats"];
        match (hs["minTime"].as_i64(), hs["maxTime"].as_i64()) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => bail!(
                "/api/v1/status/tsdb: no headStats in {}",
                truncate(&v.to_string(), 300)
            ),
        }
    }

    /// Stops the server with SIGTERM (SIGKILL after `timeout`) and returns its
    /// whole-life CPU and peak RSS as the kernel accounted them.
    pub fn stop(&mut self, timeout: Duration) -> Result<Reaped> {
        if let Some(r) = self.reaped {
            return Ok(r);
        }
        procstat::signal(self.pid, libc::SIGTERM)?;
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if let Some(r) = procstat::reap(self.pid, false)? {
                self.reaped = Some(r);
                return Ok(r);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        procstat::signal(self.pid, libc::SIGKILL)?;
        let r = procstat::reap(self.pid, true)?
            .ok_or_else(|| anyhow!("{} could not be reaped", self.kind.name()))?;
        self.reaped = Some(r);
        bail!(
            "{} did not stop within {timeout:?} and was killed",
            self.kind.name()
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            let _ = procstat::signal(self.pid, libc::SIGKILL);
            let _ = procstat::reap(self.pid, true);
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in [Kind::Sightline, Kind::Prometheus, Kind::VictoriaMetrics] {
            assert_eq!(Kind::parse(k.name()).unwrap(), k);
        }
        assert!(Kind::parse("influx").is_err());
    }

    #[test]
    fn a_server_that_exits_early_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        // `false` ignores its arguments and exits 1 at once.
        let mut s = Server::start(
            Kind::Sightline,
            Path::new("/bin/false"),
            &dir.path().join("t"),
            Duration::from_secs(3600),
        )
        .unwrap();
        let err = s
            .wait_ready(Duration::from_secs(10))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exited with code 1"), "{err}");
    }
}
