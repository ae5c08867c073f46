//! `rw-load`: sends a realistic node_exporter-like remote_write load to one receiver
//! and prints a JSON report (samples, wall time, samples/s, generator CPU).

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use serde_json::json;
use sightline_bench::params::LoadParams;
use sightline_bench::send::{send, SendConfig};

/// Remote_write load generator: node_exporter-like series from many hosts, sent in
/// scrape order by hash-sharded senders.
#[derive(Parser, Debug)]
#[command(name = "rw-load")]
struct Args {
    /// Receiver URL.
    #[arg(long, default_value = "http://127.0.0.1:9090/api/v1/write")]
    url: String,
    #[command(flatten)]
    load: LoadParams,
    /// Retries of one failing request before giving up.
    #[arg(long, default_value_t = 30)]
    max_retries: u32,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let load = args.load.encode()?;
    eprintln!(
        "rw-load: encoded {} samples of {} series into {} requests ({:.1} MB on the wire) in {:.1} s",
        load.samples,
        load.series,
        load.shards.iter().map(Vec::len).sum::<usize>(),
        load.wire_bytes as f64 / 1e6,
        load.encode_wall.as_secs_f64()
    );
    let report = send(
        &load,
        &SendConfig {
            url: args.url.clone(),
            max_retries: args.max_retries,
            timeout: Duration::from_secs(60),
        },
    );
    let out = json!({
        "url": args.url,
        "params": args.load,
        "series": load.series,
        "samples_generated": load.samples,
        "requests_generated": load.shards.iter().map(Vec::len).sum::<usize>(),
        "raw_bytes": load.raw_bytes,
        "wire_bytes": load.wire_bytes,
        "encode_wall_seconds": load.encode_wall.as_secs_f64(),
        "encode_cpu_seconds": load.encode_cpu.as_secs_f64(),
        "send": report,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    if report.aborted || report.samples_accepted != load.samples {
        std::process::exit(1);
    }
    Ok(())
}
