//! `bench-query`: loads the same dataset into Sightline and Prometheus through
//! remote_write, then runs the query set of issue 3 §4 through both
//! `/api/v1/query_range` APIs, reporting median and p99 latency, peak RSS growth per
//! query, and whether both servers returned the same series and values.
//!
//! The dataset is two slices of the node_exporter-like fleet of `src/workload/`, plus a
//! classic histogram family per host: a short high-resolution slice (`--hosts` hosts at
//! `--interval` over `--duration`, ending now) and, before it, a long low-cardinality
//! slice (`--long-hosts` hosts renamed `long-NNN`, at `--long-interval` over
//! `--long-duration`) for the multi-day query. Both are pre-encoded once before any
//! server starts; the long slice is sent by one sender so it arrives in time order.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use serde::Serialize;
use sightline_bench::encode::{self, EncodedLoad};
use sightline_bench::params::now_ms;
use sightline_bench::procstat;
use sightline_bench::query::{compare, median, parse_matrix, percentile, Comparison, Matrix};
use sightline_bench::report::{self, Machine};
use sightline_bench::send::{send, SendConfig};
use sightline_bench::targets::{Kind, Server};
use sightline_bench::workload::gen::ValueGen;
use sightline_bench::workload::{SeriesDef, Workload, WorkloadSpec};

/// Compare Sightline's PromQL range-query latency and memory with Prometheus'.
#[derive(Parser, Debug)]
#[command(name = "bench-query")]
struct Args {
    /// Hosts of the short, high-resolution slice (~540 series each).
    #[arg(long, default_value_t = 20)]
    hosts: u32,
    /// Span of the short slice, ending now.
    #[arg(long, default_value = "3h", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Scrape interval of the short slice.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Hosts of the long, low-cardinality slice (0 leaves it and its query out).
    #[arg(long, default_value_t = 2)]
    long_hosts: u32,
    /// Span of the long slice (it ends where the short slice starts).
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    long_duration: Duration,
    /// Scrape interval of the long slice.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    long_interval: Duration,
    /// Timed runs of each query per server.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Untimed warm-up runs of each query per server.
    #[arg(long, default_value_t = 2)]
    warmups: usize,
    /// Seed of the generated values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Block duration of both servers (min = max).
    #[arg(long, default_value = "1d", value_parser = humantime::parse_duration)]
    block: Duration,
    /// Targets to run, in order (sightline, prometheus).
    #[arg(long, value_delimiter = ',', default_value = "sightline,prometheus")]
    targets: Vec<String>,
    /// The Sightline binary.
    #[arg(long, default_value = "target/release/sightline")]
    sightline_bin: PathBuf,
    /// The Prometheus binary.
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus_bin: PathBuf,
    /// Working directory for data directories, logs and query-results.json.
    #[arg(long, default_value = "bench/out")]
    out: PathBuf,
    /// RESULTS.md to append the dated section to.
    #[arg(long, default_value = "bench/RESULTS.md")]
    results: PathBuf,
    /// Do not append to RESULTS.md.
    #[arg(long)]
    no_append: bool,
    /// Keep each server's data directory.
    #[arg(long)]
    keep_data: bool,
}

/// One query of the set.
#[derive(Debug, Clone, Serialize)]
struct QuerySpec {
    name: &'static str,
    promql: String,
    start_ms: i64,
    end_ms: i64,
    step_s: u64,
}

/// One server's figures for one query.
#[derive(Debug, Clone, Default, Serialize)]
struct QueryFigures {
    latencies_ms: Vec<f64>,
    median_ms: Option<f64>,
    p99_ms: Option<f64>,
    response_bytes: usize,
    rss_before: Option<u64>,
    rss_peak: Option<u64>,
    error: Option<String>,
    #[serde(skip)]
    matrix: Option<Matrix>,
}

impl QueryFigures {
    fn growth(&self) -> Option<u64> {
        Some(self.rss_peak?.saturating_sub(self.rss_before?))
    }
}

/// One server's run.
#[derive(Debug, Default, Serialize)]
struct ServerRun {
    kind: String,
    version: String,
    load_note: String,
    rss_after_load: Option<u64>,
    queries: Vec<QueryFigures>,
    error: Option<String>,
}

/// A classic histogram family per host: cumulative buckets with deterministic rates
/// (so each bucket's increase is never below the previous one's), `_count` and `_sum`.
fn add_histograms(w: &mut Workload) {
    const LE: [(&str, f64); 11] = [
        ("0.005", 0.02),
        ("0.01", 0.07),
        ("0.025", 0.18),
        ("0.05", 0.35),
        ("0.1", 0.55),
        ("0.25", 0.78),
        ("0.5", 0.9),
        ("1", 0.96),
        ("2.5", 0.99),
        ("5", 0.997),
        ("+Inf", 1.0),
    ];
    let name = "bench_request_duration_seconds";
    for h in 0..w.spec.hosts {
        let inst = w.spec.instance(h);
        let rps = 20.0 + 7.0 * (h % 13) as f64;
        let series = |metric: &str, le: Option<&str>, gen: ValueGen| {
            let mut labels = vec![
                ("__name__".to_string(), metric.to_string()),
                ("instance".to_string(), inst.clone()),
                ("job".to_string(), "node".to_string()),
            ];
            if let Some(le) = le {
                labels.push(("le".to_string(), le.to_string()));
            }
            labels.sort();
            (h, SeriesDef { labels, gen })
        };
        let counter = |rate: f64, divisor: f64| ValueGen::Counter {
            units: 0,
            rate,
            noise: 0.0,
            divisor,
        };
        for (le, frac) in LE {
            w.series.push(series(
                &format!("{name}_bucket"),
                Some(le),
                counter(rps * frac, 1.0),
            ));
        }
        w.series
            .push(series(&format!("{name}_count"), None, counter(rps, 1.0)));
        // Sum in milliseconds shown as seconds: ~90 ms per request.
        w.series.push(series(
            &format!("{name}_sum"),
            None,
            counter(rps * 90.0, 1000.0),
        ));
    }
}

/// The long slice: hosts renamed `long-NNN` so their series differ from the short slice's.
fn long_workload(args: &Args, end_ms: i64) -> Workload {
    let mut w = Workload::build(WorkloadSpec::ending_at(
        args.long_hosts,
        end_ms,
        args.long_duration.as_millis() as i64,
        args.long_interval.as_millis() as i64,
        args.seed.wrapping_add(1),
    ));
    for (_, d) in &mut w.series {
        for (k, v) in &mut d.labels {
            if k == "instance" {
                *v = v.replacen("host-", "long-", 1);
            }
        }
    }
    w
}

fn queries(args: &Args, short: &WorkloadSpec, long: Option<&WorkloadSpec>) -> Vec<QuerySpec> {
    let step = 15_000;
    let last = short.start_ms + short.rounds as i64 * short.interval_ms;
    let end = (last - 60_000) / step * step;
    let start = end - 3_600_000;
    let q = |name, promql: &str| QuerySpec {
        name,
        promql: promql.to_string(),
        start_ms: start,
        end_ms: end,
        step_s: 15,
    };
    let mut v = vec![
        q("rate 1h/15s", "rate(node_cpu_seconds_total[5m])"),
        q(
            "sum by (instance) of rate",
            "sum by (instance) (rate(node_cpu_seconds_total[5m]))",
        ),
        q(
            "histogram_quantile",
            "histogram_quantile(0.99, sum by (le) (rate(bench_request_duration_seconds_bucket[5m])))",
        ),
        q("topk", "topk(10, rate(node_cpu_seconds_total[5m]))"),
        q(
            "regex selector",
            "node_network_receive_bytes_total{device=~\"eth.*|ens.*\"}",
        ),
    ];
    if let Some(l) = long {
        let step = 300_000;
        let lend = (l.start_ms + l.rounds as i64 * l.interval_ms) / step * step;
        let lstart = lend - args.long_duration.as_millis() as i64;
        v.push(QuerySpec {
            name: "7d range, 5m step",
            promql:
                "sum by (instance, mode) (rate(node_cpu_seconds_total{instance=~\"long-.*\"}[10m]))"
                    .to_string(),
            start_ms: lstart,
            end_ms: lend,
            step_s: 300,
        });
    }
    v
}

fn rss(pid: u32, field: &str) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    procstat::parse_status_kb(&s, field)
}

/// Resets the process' peak RSS (`VmHWM`) to its current RSS (Linux `clear_refs` 5).
fn reset_peak(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

fn fetch(agent: &ureq::Agent, base: &str, q: &QuerySpec) -> Result<(f64, Vec<u8>)> {
    let t0 = Instant::now();
    let resp = agent
        .get(&format!("{base}/api/v1/query_range"))
        // Uncompressed answers from both, so the figures measure evaluation and
        // encoding rather than each server's gzip settings.
        .set("Accept-Encoding", "identity")
        .query("query", &q.promql)
        .query("start", &format!("{:.3}", q.start_ms as f64 / 1000.0))
        .query("end", &format!("{:.3}", q.end_ms as f64 / 1000.0))
        .query("step", &q.step_s.to_string())
        .call();
    let resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            let body = r.into_string().unwrap_or_default();
            bail!(
                "HTTP {code}: {}",
                body.chars().take(300).collect::<String>()
            );
        }
        Err(e) => bail!("{e}"),
    };
    let mut body = Vec::new();
    resp.into_reader()
        .read_to_end(&mut body)
        .context("reading the response")?;
    Ok((t0.elapsed().as_secs_f64() * 1000.0, body))
}

fn run_query(server: &Server, q: &QuerySpec, args: &Args) -> QueryFigures {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(300))
        .build();
    let mut f = QueryFigures::default();
    let peak_ok = reset_peak(server.pid);
    f.rss_before = rss(server.pid, "VmRSS");
    let mut last = Vec::new();
    for i in 0..args.warmups + args.runs {
        match fetch(&agent, &server.base, q) {
            Ok((ms, body)) => {
                if i >= args.warmups {
                    f.latencies_ms.push(ms);
                }
                last = body;
            }
            Err(e) => {
                f.error = Some(format!("{e:#}"));
                break;
            }
        }
    }
    if peak_ok {
        f.rss_peak = rss(server.pid, "VmHWM");
    }
    f.median_ms = median(&f.latencies_ms);
    f.p99_ms = percentile(&f.latencies_ms, 99.0);
    f.response_bytes = last.len();
    if f.error.is_none() {
        match parse_matrix(&last) {
            Ok(m) => f.matrix = Some(m),
            Err(e) => f.error = Some(format!("{e:#}")),
        }
    }
    f
}

fn version_of(kind: Kind, bin: &Path) -> String {
    let b = bin.to_string_lossy();
    let v = report::command_line_output(&b, &["--version"]).unwrap_or_else(|| "unknown".into());
    match kind {
        Kind::Sightline => {
            let rev = report::command_line_output("git", &["rev-parse", "--short", "HEAD"]);
            format!("{v} (git {})", rev.unwrap_or_else(|| "?".into()))
        }
        _ => v,
    }
}

fn load_and_query(
    server: &mut Server,
    run: &mut ServerRun,
    loads: &[(&str, &EncodedLoad)],
    qs: &[QuerySpec],
    args: &Args,
) -> Result<()> {
    server.wait_ready(Duration::from_secs(120))?;
    let mut notes = Vec::new();
    for (what, load) in loads {
        let t0 = Instant::now();
        let r = send(
            load,
            &SendConfig {
                url: server.write_url(),
                max_retries: 30,
                timeout: Duration::from_secs(60),
            },
        );
        eprintln!(
            "bench-query: {}: {what}: {} accepted, {} rejected in {:.1} s",
            server.kind.name(),
            r.samples_accepted,
            r.samples_rejected,
            t0.elapsed().as_secs_f64()
        );
        notes.push(format!(
            "{what}: {} samples accepted, {} rejected in {:.1} s",
            r.samples_accepted,
            r.samples_rejected,
            t0.elapsed().as_secs_f64()
        ));
        if !server.alive() {
            bail!("{} died during the load", server.kind.name());
        }
        if r.aborted || r.samples_rejected > 0 {
            bail!(
                "{what} not fully accepted ({} rejected): {:?}",
                r.samples_rejected,
                r.first_error
            );
        }
    }
    // Both servers compact their head once it spans more than 1.5 block durations;
    // wait for that when the dataset is long enough, so both query the same layout.
    let long = if args.long_hosts > 0 {
        args.long_duration
    } else {
        Duration::ZERO
    };
    let span = (args.duration + long).as_millis() as i64;
    if span > args.block.as_millis() as i64 * 3 / 2 {
        notes.push(server.settle(Duration::from_secs(600))?);
    } else {
        notes.push("dataset shorter than 1.5 blocks: all in the head".into());
    }
    run.load_note = notes.join("; ");
    run.rss_after_load = rss(server.pid, "VmRSS");
    for q in qs {
        eprintln!("bench-query: {}: {}", server.kind.name(), q.name);
        let f = run_query(server, q, args);
        if let Some(e) = &f.error {
            eprintln!("bench-query:   ERROR {e}");
        } else {
            eprintln!(
                "bench-query:   median {:.1} ms, p99 {:.1} ms, {} series",
                f.median_ms.unwrap_or(f64::NAN),
                f.p99_ms.unwrap_or(f64::NAN),
                f.matrix.as_ref().map_or(0, |m| m.len())
            );
        }
        run.queries.push(f);
        if !server.alive() {
            bail!("{} died while answering {:?}", server.kind.name(), q.promql);
        }
    }
    Ok(())
}

fn mib(b: Option<u64>) -> String {
    b.map_or("n/a".into(), |b| {
        format!("{:.1}", b as f64 / (1u64 << 20) as f64)
    })
}

fn ms(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.1}"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let kinds: Vec<Kind> = args
        .targets
        .iter()
        .map(|t| Kind::parse(t))
        .collect::<Result<_>>()?;
    let machine = Machine::current();
    let stamp = report::command_line_output("date", &["-u", "+%Y%m%dT%H%M%SZ"])
        .unwrap_or_else(report::today);
    let run_dir = args.out.join(format!("query-{stamp}"));
    fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut short = Workload::build(WorkloadSpec::ending_at(
        args.hosts,
        now_ms(),
        args.duration.as_millis() as i64,
        args.interval.as_millis() as i64,
        args.seed,
    ));
    add_histograms(&mut short);
    let short_spec = short.spec.clone();
    let long = (args.long_hosts > 0).then(|| long_workload(&args, short_spec.start_ms - 60_000));
    let long_spec = long.as_ref().map(|w| w.spec.clone());
    eprintln!("bench-query: encoding the dataset…");
    let mut loads = Vec::new();
    if let Some(l) = long {
        loads.push(("long slice", encode::encode(l, 1, 2000, threads)?));
    }
    loads.push(("short slice", encode::encode(short, 4, 2000, threads)?));
    let dataset = loads
        .iter()
        .map(|(w, l)| format!("{w}: {} series, {} samples", l.series, l.samples))
        .collect::<Vec<_>>()
        .join("; ");
    eprintln!("bench-query: {dataset}");
    let qs = queries(&args, &short_spec, long_spec.as_ref());
    let load_refs: Vec<(&str, &EncodedLoad)> = loads.iter().map(|(w, l)| (*w, l)).collect();

    let mut runs = Vec::new();
    for kind in &kinds {
        let bin = match kind {
            Kind::Sightline => &args.sightline_bin,
            Kind::Prometheus => &args.prometheus_bin,
            Kind::VictoriaMetrics => bail!("bench-query compares Sightline and Prometheus only"),
        };
        eprintln!("bench-query: === {} ===", kind.name());
        let mut run = ServerRun {
            kind: kind.name().into(),
            version: version_of(*kind, bin),
            ..Default::default()
        };
        match Server::start(*kind, bin, &run_dir.join(kind.name()), args.block) {
            Ok(mut server) => {
                if let Err(e) = load_and_query(&mut server, &mut run, &load_refs, &qs, &args) {
                    eprintln!("bench-query: {} ERROR: {e:#}", kind.name());
                    run.error = Some(format!("{e:#}"));
                }
                if let Err(e) = server.stop(Duration::from_secs(120)) {
                    eprintln!("bench-query: stopping {}: {e:#}", kind.name());
                }
                if !args.keep_data {
                    let _ = fs::remove_dir_all(&server.data_dir);
                }
            }
            Err(e) => run.error = Some(format!("{e:#}")),
        }
        runs.push(run);
    }

    let section = render(&args, &machine, &dataset, &qs, &runs)?;
    println!("{section}");
    let json = serde_json::json!({ "queries": qs, "runs": runs, "dataset": dataset });
    fs::write(
        run_dir.join("query-results.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    if !args.no_append {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.results)
            .with_context(|| format!("opening {}", args.results.display()))?;
        f.write_all(section.as_bytes())?;
        eprintln!("bench-query: appended to {}", args.results.display());
    }
    Ok(())
}

fn render(
    args: &Args,
    m: &Machine,
    dataset: &str,
    qs: &[QuerySpec],
    runs: &[ServerRun],
) -> Result<String> {
    let find = |k: &str| runs.iter().find(|r| r.kind == k);
    let (s, p) = (find("sightline"), find("prometheus"));
    let mut out = String::new();
    use std::fmt::Write as _;
    writeln!(
        out,
        "\n## {} — query benchmark (bench/query.sh)\n",
        report::today()
    )?;
    writeln!(
        out,
        "- Machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}; load average at start: {}",
        m.nproc, m.cpu_model, m.ram_gib, m.kernel, m.loadavg_at_start
    )?;
    for r in runs {
        writeln!(out, "- {}: {}", r.kind, r.version)?;
    }
    writeln!(
        out,
        "- Dataset (remote_write, identical requests to both): {dataset}; short slice {} hosts × {} at {}, long slice {} hosts × {} at {}; block duration {}",
        args.hosts,
        humantime::format_duration(args.duration),
        humantime::format_duration(args.interval),
        args.long_hosts,
        humantime::format_duration(args.long_duration),
        humantime::format_duration(args.long_interval),
        humantime::format_duration(args.block)
    )?;
    writeln!(
        out,
        "- Each query: {} warm-up + {} timed runs per server through /api/v1/query_range (time to the last response byte); p99 is nearest-rank, so with {} runs it is the slowest run. Peak RSS growth: VmHWM reset (clear_refs 5) before the query's runs, VmHWM after − VmRSS before.\n",
        args.warmups, args.runs, args.runs
    )?;
    writeln!(out, "| query | range / step | sightline median ms | sightline p99 ms | prometheus median ms | prometheus p99 ms | median ratio S÷P (target ≤ 0.5) | met | peak RSS growth MiB S / P | series S / P | values (1e-9 rel.) |")?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---|---|---|---|")?;
    let mut notes = Vec::new();
    for (i, q) in qs.iter().enumerate() {
        let fs_ = s.and_then(|r| r.queries.get(i));
        let fp = p.and_then(|r| r.queries.get(i));
        let med = |f: Option<&QueryFigures>| f.and_then(|f| f.median_ms);
        let p99 = |f: Option<&QueryFigures>| f.and_then(|f| f.p99_ms);
        let ratio = match (med(fs_), med(fp)) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let cmp: Option<Comparison> = match (
            fs_.and_then(|f| f.matrix.as_ref()),
            fp.and_then(|f| f.matrix.as_ref()),
        ) {
            (Some(a), Some(b)) => Some(compare(a, b, 1e-9, 7)),
            _ => None,
        };
        let count = |f: Option<&QueryFigures>| {
            f.and_then(|f| f.matrix.as_ref())
                .map_or("n/a".to_string(), |m| m.len().to_string())
        };
        let values = match &cmp {
            Some(c) if c.ok() => format!("same ({} points checked)", c.points_compared),
            Some(c) => {
                notes.push(format!(
                    "- `{}`: answers differ: {} series only in one, {} length mismatches, {} of {} points differ; first: {}",
                    q.name,
                    c.series_only_in_one,
                    c.length_mismatches,
                    c.points_differing,
                    c.points_compared,
                    c.first_difference.clone().unwrap_or_default()
                ));
                "DIFFER (see notes)".to_string()
            }
            None => "n/a".to_string(),
        };
        for (k, f) in [("sightline", fs_), ("prometheus", fp)] {
            if let Some(e) = f.and_then(|f| f.error.as_ref()) {
                notes.push(format!("- `{}` on {k}: ERROR {e}", q.name));
            }
        }
        let span = humantime::format_duration(Duration::from_millis(
            (q.end_ms - q.start_ms).max(0) as u64,
        ));
        writeln!(
            out,
            "| `{}` | {span} / {}s | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} |",
            q.promql.replace('|', "\\|"),
            q.step_s,
            ms(med(fs_)),
            ms(p99(fs_)),
            ms(med(fp)),
            ms(p99(fp)),
            ratio.map_or("n/a".into(), |r| format!("{r:.2}×")),
            match ratio {
                Some(r) if r <= 0.5 => "yes",
                Some(_) => "no",
                None => "n/a",
            },
            mib(fs_.and_then(|f| f.growth())),
            mib(fp.and_then(|f| f.growth())),
            count(fs_),
            count(fp),
            values
        )?;
    }
    writeln!(out)?;
    for r in runs {
        writeln!(
            out,
            "- {}: {}; RSS after load {} MiB{}",
            r.kind,
            r.load_note,
            mib(r.rss_after_load),
            r.error
                .as_ref()
                .map_or(String::new(), |e| format!("; ERROR: {e}"))
        )?;
    }
    for n in notes {
        writeln!(out, "{n}")?;
    }
    if s.is_none() || p.is_none() {
        return Err(anyhow!(
            "both sightline and prometheus must be run for ratios"
        ))
        .or_else(|e: anyhow::Error| Ok::<_, anyhow::Error>(format!("{out}\n({e})\n")));
    }
    Ok(out)
}
