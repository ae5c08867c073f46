//! `bench-ingest`: runs the same remote_write load against Sightline, Prometheus and
//! VictoriaMetrics in turn and compares ingest throughput, CPU, memory and disk.
//!
//! Each server gets a free loopback port and a fresh data directory under `--out`.
//! The load is encoded once, before any server starts, so every server receives
//! byte-identical requests and the encoder never competes with a server for CPU.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use sightline_bench::disk;
use sightline_bench::encode::EncodedLoad;
use sightline_bench::params::{now_ms, LoadParams};
use sightline_bench::report::{self, Machine, RunInfo, TargetResult};
use sightline_bench::send::{send, SendConfig};
use sightline_bench::targets::{Kind, Server};

/// Compare Sightline's metrics ingest with Prometheus and VictoriaMetrics.
#[derive(Parser, Debug)]
#[command(name = "bench-ingest")]
struct Args {
    #[command(flatten)]
    load: LoadParams,
    /// Targets to run, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sightline,prometheus,victoria-metrics"
    )]
    targets: Vec<String>,
    /// The Sightline binary.
    #[arg(long, default_value = "target/release/sightline")]
    sightline_bin: PathBuf,
    /// The Prometheus binary.
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus_bin: PathBuf,
    /// The VictoriaMetrics binary.
    #[arg(long, default_value = "/usr/bin/victoria-metrics")]
    victoria_metrics_bin: PathBuf,
    /// Working directory for data directories, logs and results.json.
    #[arg(long, default_value = "bench/out")]
    out: PathBuf,
    /// RESULTS.md to append the dated section to.
    #[arg(long, default_value = "bench/RESULTS.md")]
    results: PathBuf,
    /// Do not append to RESULTS.md.
    #[arg(long)]
    no_append: bool,
    /// Block duration of Prometheus and Sightline (min = max); they compact their head
    /// once it spans 1.5× this, so it must be < 2/3 of --duration for blocks to appear.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    prom_block: Duration,
    /// Longest wait for a server to persist its data after the load.
    #[arg(long, default_value = "6m", value_parser = humantime::parse_duration)]
    settle_timeout: Duration,
    /// Keep each server's data directory after measuring (by default only the logs
    /// and configuration are kept, to save disk space).
    #[arg(long)]
    keep_data: bool,
    /// Retries of one failing request before the load phase is abandoned.
    #[arg(long, default_value_t = 30)]
    max_retries: u32,
}

fn version_of(kind: Kind, bin: &Path) -> String {
    let b = bin.to_string_lossy();
    let v = match kind {
        Kind::Sightline => report::command_line_output(&b, &["--version"]).map(|v| {
            let rev = report::command_line_output("git", &["rev-parse", "--short", "HEAD"]);
            format!("{v} (git {})", rev.unwrap_or_else(|| "?".into()))
        }),
        Kind::Prometheus => report::command_line_output(&b, &["--version"]),
        Kind::VictoriaMetrics => report::command_line_output(&b, &["-version"]),
    };
    let pkg = match kind {
        Kind::Prometheus => Some("prometheus"),
        Kind::VictoriaMetrics => Some("victoria-metrics"),
        Kind::Sightline => None,
    };
    let deb =
        pkg.and_then(|p| report::command_line_output("dpkg-query", &["-W", "-f=${Version}", p]));
    match (v, deb) {
        (Some(v), Some(d)) => format!("{v} (deb {d})"),
        (Some(v), None) => v,
        (None, Some(d)) => format!("deb {d}"),
        (None, None) => "unknown".into(),
    }
}

/// Runs one target; failures are recorded in the result with the figures gathered so far.
fn run_target(
    kind: Kind,
    bin: &Path,
    args: &Args,
    run_dir: &Path,
    load: &EncodedLoad,
) -> TargetResult {
    let mut r = TargetResult::new(kind, version_of(kind, bin));
    if !bin.is_file() {
        r.error = Some(format!("binary {} not found", bin.display()));
        return r;
    }
    let dir = run_dir.join(kind.name());
    let mut server = match Server::start(kind, bin, &dir, args.prom_block) {
        Ok(s) => s,
        Err(e) => {
            r.error = Some(format!("{e:#}"));
            return r;
        }
    };
    if let Err(e) = measure(&mut server, &mut r, args, load) {
        r.error = Some(format!("{e:#}"));
    }
    match server.stop(Duration::from_secs(120)) {
        Ok(reaped) => {
            r.total_cpu_seconds = Some(reaped.cpu_seconds);
            if r.peak_rss_bytes.is_none() {
                r.peak_rss_bytes = Some(reaped.max_rss);
            }
            if reaped.exit_code() != Some(0) && r.error.is_none() {
                r.error = Some(format!(
                    "{} exited abnormally (code {:?}, signal {:?}); log tail:\n{}",
                    kind.name(),
                    reaped.exit_code(),
                    reaped.signal(),
                    server.log_tail(2000)
                ));
            }
        }
        Err(e) => {
            if r.error.is_none() {
                r.error = Some(format!("{e:#}"));
            }
        }
    }
    if let Err(e) = measure_disk(&server, &mut r, load) {
        if r.error.is_none() {
            r.error = Some(format!("measuring disk: {e:#}"));
        }
    }
    if !args.keep_data {
        if let Err(e) = fs::remove_dir_all(&server.data_dir) {
            eprintln!(
                "bench-ingest: could not remove {}: {e}",
                server.data_dir.display()
            );
        }
    }
    r
}

fn measure(
    server: &mut Server,
    r: &mut TargetResult,
    args: &Args,
    load: &EncodedLoad,
) -> Result<()> {
    server.wait_ready(Duration::from_secs(120))?;
    eprintln!(
        "bench-ingest: {} ready at {}, sending…",
        server.kind.name(),
        server.base
    );
    let cpu0 = server.cpu_seconds()?;
    let report = send(
        load,
        &SendConfig {
            url: server.write_url(),
            max_retries: args.max_retries,
            timeout: Duration::from_secs(60),
        },
    );
    let alive = server.alive();
    if alive {
        r.ingest_cpu_seconds = Some(server.cpu_seconds()? - cpu0);
    }
    eprintln!(
        "bench-ingest: {}: {} samples accepted in {:.1} s ({:.0}/s), {} rejected, {} retries",
        server.kind.name(),
        report.samples_accepted,
        report.wall_seconds,
        report.samples_per_second,
        report.samples_rejected,
        report.retries
    );
    let aborted = report.aborted;
    let first_error = report.first_error.clone();
    r.send = Some(report);
    if !alive {
        anyhow::bail!(
            "{} died during the load; first send error: {:?}; log tail:\n{}",
            server.kind.name(),
            first_error,
            server.log_tail(2000)
        );
    }
    if aborted {
        anyhow::bail!("load phase abandoned after repeated failures: {first_error:?}");
    }
    r.settle_note = server.settle(args.settle_timeout)?;
    let idx = &load.index;
    let start = now_ms() - args.load.duration.as_millis() as i64 - 3_600_000;
    r.series_reported =
        Some(server.series_count("{job=\"node\"}", start, idx.max_time() + 60_000)?);
    r.peak_rss_bytes = Some(server.peak_rss()?);
    Ok(())
}

fn measure_disk(server: &Server, r: &mut TargetResult, load: &EncodedLoad) -> Result<()> {
    r.data_dir_bytes = Some(disk::dir_size(&server.data_dir)?);
    match server.kind {
        Kind::VictoriaMetrics => {
            // Only the storage proper: `data` (samples) and `indexdb` (series index);
            // the `cache` directory VictoriaMetrics writes at shutdown is not data.
            let mut storage = 0u64;
            for sub in ["data", "indexdb"] {
                let p = server.data_dir.join(sub);
                if p.is_dir() {
                    storage += disk::dir_size(&p)?;
                }
            }
            r.block_bytes = storage;
            let accepted = r.send.as_ref().map(|s| s.samples_accepted).unwrap_or(0);
            r.block_samples = accepted;
            r.block_samples_source = "samples accepted; bytes of data/ + indexdb/".into();
            if accepted > 0 {
                r.bytes_per_sample = Some(storage as f64 / accepted as f64);
            }
        }
        Kind::Sightline | Kind::Prometheus => {
            let blocks = disk::blocks(&server.data_dir, 3)?;
            r.blocks = blocks.len();
            r.block_bytes = blocks.iter().map(|b| b.bytes).sum();
            let mut from_meta = true;
            r.block_samples = blocks
                .iter()
                .map(|b| match b.num_samples {
                    Some(n) => n,
                    None => {
                        from_meta = false;
                        match (b.min_time, b.max_time) {
                            // Prometheus-style maxTime is exclusive.
                            (Some(a), Some(z)) => load.index.samples_in(a, z - 1),
                            _ => 0,
                        }
                    }
                })
                .sum();
            r.block_samples_source = if from_meta {
                "meta.json numSamples".into()
            } else {
                "sent samples in each block's time range".into()
            };
            if r.block_samples > 0 {
                r.bytes_per_sample = Some(r.block_bytes as f64 / r.block_samples as f64);
            }
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let kinds: Vec<Kind> = args
        .targets
        .iter()
        .map(|t| Kind::parse(t))
        .collect::<Result<_>>()?;
    let machine = Machine::current();
    let date = report::today();
    let stamp = report::command_line_output("date", &["-u", "+%Y%m%dT%H%M%SZ"])
        .unwrap_or_else(|| date.clone());
    let run_dir = args.out.join(&stamp);
    fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;

    eprintln!(
        "bench-ingest: encoding the load ({} hosts, {:?})…",
        args.load.hosts, args.load.duration
    );
    let load = args.load.encode()?;
    let requests: usize = load.shards.iter().map(Vec::len).sum();
    let load_line = format!(
        "{} series, {} samples in {} requests ({:.0} MB snappy, {:.0} MB raw protobuf); pre-encoded once in {:.1} s wall / {:.1} s CPU before any server started",
        load.series,
        load.samples,
        requests,
        load.wire_bytes as f64 / 1e6,
        load.raw_bytes as f64 / 1e6,
        load.encode_wall.as_secs_f64(),
        load.encode_cpu.as_secs_f64()
    );
    eprintln!("bench-ingest: {load_line}");

    let mut results = Vec::new();
    for kind in &kinds {
        let bin = match kind {
            Kind::Sightline => &args.sightline_bin,
            Kind::Prometheus => &args.prometheus_bin,
            Kind::VictoriaMetrics => &args.victoria_metrics_bin,
        };
        eprintln!("bench-ingest: === {} ===", kind.name());
        let r = run_target(*kind, bin, &args, &run_dir, &load);
        if let Some(e) = &r.error {
            eprintln!("bench-ingest: {} ERROR: {e}", kind.name());
        }
        results.push(r);
    }

    let p = &args.load;
    let info = RunInfo {
        date,
        machine,
        params: format!(
            "hosts={}, duration={}, interval={}, batch={}, concurrency={}, seed={}",
            p.hosts,
            humantime::format_duration(p.duration),
            humantime::format_duration(p.interval),
            p.batch,
            p.concurrency,
            p.seed
        ),
        load: load_line,
        prom_block: humantime::format_duration(args.prom_block).to_string(),
    };
    let section = report::section(&info, &results, load.series);
    println!("{section}");
    let json = serde_json::json!({ "info": info, "series_sent": load.series, "samples_sent": load.samples, "results": results });
    let json_path = run_dir.join("results.json");
    fs::write(&json_path, serde_json::to_string_pretty(&json)?)?;
    eprintln!("bench-ingest: details in {}", json_path.display());
    if !args.no_append {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.results)
            .with_context(|| format!("opening {}", args.results.display()))?;
        f.write_all(section.as_bytes())?;
        eprintln!("bench-ingest: appended to {}", args.results.display());
    }
    Ok(())
}
