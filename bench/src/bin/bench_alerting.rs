//! Alerting benchmark (issue 4 §5): detection-to-notification latency and alert
//! ingestion via `/api/v2/alerts` with 10k active alerts, Sightline against Debian's
//! Prometheus + Alertmanager. Prints a Markdown table and appends a dated section to
//! RESULTS.md.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use rand::rngs::SmallRng;
use rand::SeedableRng;

use sightline_bench::alerting::ingest::{self, IngestParams};
use sightline_bench::alerting::latency;
use sightline_bench::alerting::receiver::Receiver;
use sightline_bench::alerting::service::Service;
use sightline_bench::alerting::stack::{Binaries, Intervals, Stack, System};
use sightline_bench::alerting::summary::{bound_s, AlertingReport};
use sightline_bench::report::{command_line_output, today, Machine};

#[derive(Parser, Debug)]
#[command(about = "Alerting benchmark: Sightline vs Prometheus + Alertmanager")]
struct Args {
    /// Latency runs per system (each: failure → page → recovery → resolve).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Distinct alerts posted in the ingestion scenario.
    #[arg(long, default_value_t = 10_000)]
    alerts: usize,
    /// Alerts per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Concurrent clients posting alerts.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Seconds the alerts are kept active (re-posted) before memory is read.
    #[arg(long, default_value_t = 30)]
    hold: u64,
    /// Re-post period while holding, seconds.
    #[arg(long, default_value_t = 10)]
    repost_every: u64,
    /// Scrape, evaluation, group_wait and group_interval, seconds.
    #[arg(long, default_value_t = 1)]
    interval: u64,
    /// Seed of the random switch moments.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Scenarios to run: latency, ingest.
    #[arg(long, value_delimiter = ',', default_value = "latency,ingest")]
    scenarios: Vec<String>,
    /// Systems to run: sightline, peer.
    #[arg(long, value_delimiter = ',', default_value = "sightline,peer")]
    systems: Vec<String>,
    #[arg(long, default_value = "target/release/sightline")]
    sightline_bin: PathBuf,
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus_bin: PathBuf,
    #[arg(long, default_value = "/usr/bin/prometheus-alertmanager")]
    alertmanager_bin: PathBuf,
    /// Working directory for configs, data and logs.
    #[arg(long, default_value = "bench/out/alerting")]
    out_dir: PathBuf,
    /// RESULTS.md to append the section to.
    #[arg(long, default_value = "bench/RESULTS.md")]
    results: PathBuf,
    /// Print only; do not append to RESULTS.md.
    #[arg(long)]
    no_append: bool,
}

fn progress(msg: &str) {
    eprintln!("bench-alerting: {msg}");
}

fn main() -> Result<()> {
    let a = Args::parse();
    // The servers run inside their own directories, so binary paths must be absolute.
    let abs = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
    let bins = Binaries {
        sightline: abs(&a.sightline_bin),
        prometheus: abs(&a.prometheus_bin),
        alertmanager: abs(&a.alertmanager_bin),
    };
    let iv = Intervals {
        scrape: a.interval,
        evaluation: a.interval,
        group_wait: a.interval,
        group_interval: a.interval,
    };
    let systems: Vec<(usize, System)> =
        [(0, System::Sightline), (1, System::PrometheusAlertmanager)]
            .into_iter()
            .filter(|(i, _)| a.systems.iter().any(|s| s == ["sightline", "peer"][*i]))
            .collect();
    let mut report = AlertingReport {
        date: today(),
        machine: Machine::current(),
        versions: vec![
            version("sightline", &a.sightline_bin),
            version("prometheus", &a.prometheus_bin),
            version("alertmanager", &a.alertmanager_bin),
            (
                "source tree (HEAD; sightline may include uncommitted work)".into(),
                command_line_output("git", &["rev-parse", "--short", "HEAD"])
                    .unwrap_or_else(|| "unknown".into()),
            ),
        ],
        intervals: Some(iv),
        runs: a.runs,
        ingest: IngestParams {
            alerts: a.alerts,
            batch: a.batch,
            clients: a.clients,
            hold_s: a.hold,
            repost_every_s: a.repost_every,
        },
        latency: [None, None],
        ingestion: [None, None],
        errors: Vec::new(),
    };
    let timeout = Duration::from_secs(30 + 10 * a.interval);
    if a.scenarios.iter().any(|s| s == "latency") {
        let service = Service::start()?;
        let receiver = Receiver::start()?;
        for &(i, system) in &systems {
            progress(&format!("latency: {}", system.name()));
            let dir = a.out_dir.join(format!("latency-{i}"));
            let rules = latency::rule_file(iv.evaluation);
            match Stack::start_latency(
                system,
                &bins,
                &dir,
                iv,
                service.port,
                &rules,
                &receiver.url(),
            ) {
                Ok(stack) => {
                    let mut rng = SmallRng::seed_from_u64(a.seed);
                    let r = latency::run(
                        &service,
                        &receiver,
                        a.runs,
                        Duration::from_secs(5 * a.interval + 3),
                        timeout,
                        &mut rng,
                        &progress,
                    );
                    if !r.failures.is_empty() {
                        for p in &stack.procs {
                            progress(&format!("{} log tail:\n{}", p.name, p.log_tail(2000)));
                        }
                    }
                    report.latency[i] = Some(r);
                    drop(stack);
                }
                Err(e) => report
                    .errors
                    .push(format!("latency, {}: {e:#}", system.name())),
            }
            receiver.drain();
        }
    }
    if a.scenarios.iter().any(|s| s == "ingest") {
        for &(i, system) in &systems {
            progress(&format!("ingest: {}", system.name()));
            let dir = a.out_dir.join(format!("ingest-{i}"));
            match Stack::start_ingest(system, &bins, &dir) {
                Ok(stack) => {
                    let holder = stack.alert_holder();
                    let r = ingest::run(&holder.base, holder.pid(), report.ingest, &progress);
                    report.ingestion[i] = Some(r);
                    drop(stack);
                }
                Err(e) => report
                    .errors
                    .push(format!("ingest, {}: {e:#}", system.name())),
            }
        }
    }
    let section = report.section();
    println!("{section}");
    println!("bound: {} s", bound_s(iv));
    std::fs::create_dir_all(&a.out_dir)?;
    std::fs::write(
        a.out_dir.join("results.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    if !a.no_append {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&a.results)
            .with_context(|| format!("opening {}", a.results.display()))?;
        f.write_all(section.as_bytes())?;
        progress(&format!("section appended to {}", a.results.display()));
    }
    Ok(())
}

/// `(name, first line of --version)`, or "unknown".
fn version(name: &str, bin: &std::path::Path) -> (String, String) {
    let v = command_line_output(&bin.to_string_lossy(), &["--version"])
        .unwrap_or_else(|| "unknown (--version failed)".into());
    (name.to_string(), v)
}
