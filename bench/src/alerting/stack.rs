//! The systems under test and how to run them: Sightline alone (scrape, rules and
//! notifier in one process), or Debian's Prometheus feeding Debian's Alertmanager.
//! Both get the same intervals, the same rule file and the same Alertmanager-syntax
//! route and receivers.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::procstat;
use crate::targets::free_port;

/// Which alerting pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// `sightline serve` with `rule_files:` and `alerting:`.
    Sightline,
    /// `prometheus` sending to `prometheus-alertmanager`.
    PrometheusAlertmanager,
}

impl System {
    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            System::Sightline => "sightline",
            System::PrometheusAlertmanager => "prometheus + alertmanager",
        }
    }
}

/// Paths of the three binaries.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `sightline`.
    pub sightline: PathBuf,
    /// Debian's `prometheus`.
    pub prometheus: PathBuf,
    /// Debian's `prometheus-alertmanager`.
    pub alertmanager: PathBuf,
}

/// The intervals every system gets, in whole seconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Intervals {
    /// `scrape_interval`.
    pub scrape: u64,
    /// `evaluation_interval` (and the rule group's interval).
    pub evaluation: u64,
    /// Route `group_wait`.
    pub group_wait: u64,
    /// Route `group_interval`.
    pub group_interval: u64,
}

/// A child process with its log file and HTTP base URL.
#[derive(Debug)]
pub struct Proc {
    /// Short name for messages.
    pub name: &'static str,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Combined stdout/stderr.
    pub log: PathBuf,
    child: Child,
}

impl Proc {
    fn spawn(name: &'static str, mut cmd: Command, log: PathBuf, base: String) -> Result<Proc> {
        let f = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = cmd
            .stdout(Stdio::from(f.try_clone()?))
            .stderr(Stdio::from(f))
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Proc {
            name,
            base,
            log,
            child,
        })
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last `bytes` of the log, for error messages.
    pub fn log_tail(&self, bytes: usize) -> String {
        let s = fs::read_to_string(&self.log).unwrap_or_default();
        let start = s.len().saturating_sub(bytes);
        let start = (start..s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(s.len());
        s[start..].to_string()
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait()? {
                bail!(
                    "{} exited with {st} during startup:\n{}",
                    self.name,
                    self.log_tail(3000)
                );
            }
            if let Ok(r) = agent.get(&format!("{}/-/ready", self.base)).call() {
                if r.status() == 200 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "{} not ready after {timeout:?}:\n{}",
            self.name,
            self.log_tail(3000)
        )
    }

    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = procstat::signal(self.pid(), libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running system: its processes, the one whose memory counts, and the base URL of
/// its Alertmanager API.
#[derive(Debug)]
pub struct Stack {
    /// Which system.
    pub system: System,
    /// All processes, stopped in reverse order on drop.
    pub procs: Vec<Proc>,
}

impl Stack {
    /// The process that holds the alerts (Sightline, or Alertmanager).
    pub fn alert_holder(&self) -> &Proc {
        self.procs.last().expect("a stack has at least one process")
    }

    /// Base URL of the Alertmanager API v2 (`…/api/v2/alerts`).
    pub fn api_base(&self) -> &str {
        &self.alert_holder().base
    }

    /// Starts `system` for the latency scenario: it scrapes `127.0.0.1:service_port`,
    /// evaluates `rules` and sends notifications to `hook_url`. `dir` is emptied first.
    pub fn start_latency(
        system: System,
        bins: &Binaries,
        dir: &Path,
        iv: Intervals,
        service_port: u16,
        rules: &str,
        hook_url: &str,
    ) -> Result<Stack> {
        let dir = fresh_dir(dir)?;
        let rules_path = dir.join("rules.yml");
        fs::write(&rules_path, rules)?;
        let global = format!(
            "global: {{scrape_interval: {s}s, scrape_timeout: {s}s, evaluation_interval: {e}s}}\n\
             rule_files: ['{r}']\n\
             scrape_configs:\n  - job_name: bench\n    static_configs: [{{targets: ['127.0.0.1:{service_port}']}}]\n",
            s = iv.scrape,
            e = iv.evaluation,
            r = rules_path.display()
        );
        let am = am_config(iv, "hook", "[alertname]", Some(hook_url));
        match system {
            System::Sightline => {
                let cfg = format!("{global}alerting:\n{}", indent(&am));
                Ok(Stack {
                    system,
                    procs: vec![start_sightline(bins, &dir, &cfg)?],
                })
            }
            System::PrometheusAlertmanager => {
                let am_proc = start_alertmanager(bins, &dir, &am)?;
                let am_addr = am_proc.base.trim_start_matches("http://").to_string();
                let port = free_port()?;
                let cfg = dir.join("prometheus.yml");
                fs::write(
                    &cfg,
                    format!(
                        "{global}alerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['{am_addr}']}}]\n"
                    ),
                )?;
                let data = dir.join("prometheus-data");
                fs::create_dir_all(&data)?;
                let mut cmd = Command::new(&bins.prometheus);
                cmd.arg(format!("--config.file={}", cfg.display()))
                    .arg(format!("--storage.tsdb.path={}", data.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg(format!("--rules.alert.resend-delay={}s", iv.evaluation))
                    .current_dir(&dir);
                let mut p = Proc::spawn(
                    "prometheus",
                    cmd,
                    dir.join("prometheus.log"),
                    format!("http://127.0.0.1:{port}"),
                )?;
                p.wait_ready(Duration::from_secs(60))?;
                // Alertmanager last: it is the alert holder.
                Ok(Stack {
                    system,
                    procs: vec![p, am_proc],
                })
            }
        }
    }

    /// Starts the alert-holding process of `system` alone for the ingestion scenario:
    /// every alert is routed (grouped by `alertname, instance`) to a receiver without
    /// integrations, so nothing leaves the process.
    pub fn start_ingest(system: System, bins: &Binaries, dir: &Path) -> Result<Stack> {
        let dir = fresh_dir(dir)?;
        let iv = Intervals {
            scrape: 15,
            evaluation: 15,
            group_wait: 30,
            group_interval: 300,
        };
        let am = am_config(iv, "blackhole", "[alertname, instance]", None);
        let p = match system {
            System::Sightline => {
                start_sightline(bins, &dir, &format!("alerting:\n{}", indent(&am)))?
            }
            System::PrometheusAlertmanager => start_alertmanager(bins, &dir, &am)?,
        };
        Ok(Stack {
            system,
            procs: vec![p],
        })
    }
}

fn fresh_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(fs::canonicalize(dir)?)
}

/// An Alertmanager configuration (also Sightline's `alerting:` section): one route to
/// `receiver`, which posts to `hook_url` or, without one, has no integrations.
fn am_config(iv: Intervals, receiver: &str, group_by: &str, hook_url: Option<&str>) -> String {
    let integ = match hook_url {
        Some(u) => format!("\n    webhook_configs: [{{url: '{u}', send_resolved: true}}]"),
        None => String::new(),
    };
    format!(
        "route:\n  receiver: {receiver}\n  group_by: {group_by}\n  group_wait: {}s\n  group_interval: {}s\n  repeat_interval: 1h\n\
         receivers:\n  - name: {receiver}{integ}\n",
        iv.group_wait, iv.group_interval
    )
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

fn start_sightline(bins: &Binaries, dir: &Path, body: &str) -> Result<Proc> {
    let port = free_port()?;
    let cfg = dir.join("sightline.yml");
    fs::write(
        &cfg,
        format!(
            "server: {{listen_address: 127.0.0.1:{port}, otlp_grpc_listen_address: \"\", otlp_http_listen_address: \"\"}}\n\
             self_monitoring: {{enabled: false, host_collector: false}}\n{body}"
        ),
    )?;
    let data = dir.join("data");
    fs::create_dir_all(&data)?;
    let mut cmd = Command::new(&bins.sightline);
    cmd.arg("serve")
        .arg("--config")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(&data)
        .current_dir(dir);
    let mut p = Proc::spawn(
        "sightline",
        cmd,
        dir.join("sightline.log"),
        format!("http://127.0.0.1:{port}"),
    )?;
    p.wait_ready(Duration::from_secs(60))?;
    Ok(p)
}

fn start_alertmanager(bins: &Binaries, dir: &Path, config: &str) -> Result<Proc> {
    let port = free_port()?;
    let cfg = dir.join("alertmanager.yml");
    fs::write(&cfg, config)?;
    let data = dir.join("alertmanager-data");
    fs::create_dir_all(&data)?;
    let mut cmd = Command::new(&bins.alertmanager);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .current_dir(dir);
    let mut p = Proc::spawn(
        "alertmanager",
        cmd,
        dir.join("alertmanager.log"),
        format!("http://127.0.0.1:{port}"),
    )?;
    p.wait_ready(Duration::from_secs(60))?;
    Ok(p)
}
