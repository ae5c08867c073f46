//! `sightline import openmetrics FILE`: backfill historical data, like
//! `promtool tsdb create-blocks-from openmetrics`.
//!
//! The file is parsed with the same OpenMetrics parser the scraper uses (samples must
//! carry timestamps; `# EOF` is required), grouped per series, and written as
//! complete blocks aligned to the TSDB's block range under `<data-dir>/metrics`, where
//! the server picks them up on start. The whole file is held in memory while blocks
//! are built; split very large files.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use sightline_scrape::parse::{parse_to_batch, BatchOptions, Format};
use sightline_tsdb::{BlockWriter, StorageConfig};

/// Runs the import, printing progress and a summary.
pub fn openmetrics(file: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let mut input = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut input)
            .context("reading standard input")?;
    } else {
        input = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    eprintln!("parsing {} ({} bytes)", file.display(), input.len());
    let opts = BatchOptions {
        default_timestamp_ms: i64::MIN,
        ..Default::default()
    };
    let batch = parse_to_batch(&input, Format::OpenMetrics, &opts)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", file.display(), e.line, e.message))?;
    let tsdb_dir = data_dir.join("metrics");
    std::fs::create_dir_all(&tsdb_dir)
        .with_context(|| format!("cannot create {}", tsdb_dir.display()))?;
    let range = StorageConfig::default().min_block_duration.as_millis();
    let mut writer = BlockWriter::new(&tsdb_dir, range);
    let mut samples = 0usize;
    for s in &batch.series {
        if let Some(bad) = s.samples.iter().find(|x| x.t == i64::MIN) {
            bail!("{}: series {} has a sample without a timestamp (value {}); backfill needs timestamps", file.display(), s.labels, bad.v);
        }
        samples += s.samples.len();
        writer.add(s.labels.clone(), &s.samples);
    }
    eprintln!(
        "writing {} samples of {} series into blocks under {}",
        samples,
        batch.series.len(),
        tsdb_dir.display()
    );
    let blocks = writer.flush().context("writing blocks")?;
    for b in &blocks {
        eprintln!("  block {} [{} .. {}]", b.ulid, b.min_time, b.max_time);
    }
    println!(
        "imported {samples} samples of {} series into {} blocks",
        batch.series.len(),
        blocks.len()
    );
    Ok(())
}
