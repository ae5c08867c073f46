//! Maintenance: cutting the head into level-1 blocks (then truncating the head and
//! checkpointing the WAL), merging blocks into larger aligned ranges
//! (2h → 6h → 18h → … up to `max_block_duration`, and any overlapping blocks), and
//! retention by age and by size.

use crate::block::{write_block, Block};
use crate::chunk::{encode_best, SAMPLES_PER_CHUNK};
use crate::db::{write_and_load, Inner};
use crate::error::TsdbError;
use crate::metrics;
use crate::querier::merge_series;
use crate::series::{ChunkSlice, Series};
use sightline_model::{Labels, Sample};
use std::fs;
use std::sync::Arc;
use std::time::Instant;

/// Encodes sorted, de-duplicated samples into chunks of at most 120 samples,
/// each in its smallest encoding.
pub fn encode_chunks(samples: &[Sample]) -> Vec<ChunkSlice> {
    samples
        .chunks(SAMPLES_PER_CHUNK)
        .map(|part| {
            let (enc, data) = encode_best(part);
            ChunkSlice::owned(part[0].t, part[part.len() - 1].t, enc, data.into())
        })
        .collect()
}

/// Re-encodes a selected series' samples for a block.
fn series_for_block(s: &Series) -> (Labels, Vec<ChunkSlice>) {
    (s.labels.clone(), encode_chunks(&s.samples()))
}

/// Persists the head data in `[mint, maxt)` as a block.
fn persist_head_range(inner: &Inner, mint: i64, maxt: i64) -> Result<(), TsdbError> {
    let start = Instant::now();
    // Streamed: one series is selected and re-encoded at a time.
    let series = inner
        .head
        .series_sorted(mint, maxt - 1)
        .map(|s| series_for_block(&s))
        .filter(|(_, c)| !c.is_empty());
    write_and_load(inner, series, mint, maxt)?;
    metrics::COMPACTIONS.inc();
    metrics::COMPACTION_DURATION.observe(start.elapsed().as_secs_f64());
    tracing::info!(mint, maxt, took = ?start.elapsed(), "head cut into block");
    Ok(())
}

/// Truncates the head before `mint` and checkpoints the WAL to match.
fn truncate_head(inner: &Inner, mint: i64) -> Result<(), TsdbError> {
    inner.head.truncate(mint);
    let seg = inner.wal.cut_segment()?;
    if seg > 1 {
        let mut recs = inner.head.checkpoint_records();
        match inner.wal.checkpoint(seg - 1, &mut recs) {
            Ok(()) => {}
            Err(sightline_wal::WalError::InvalidCheckpoint(e)) => {
                tracing::debug!(error = %e, "WAL checkpoint skipped")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Cuts every complete head range that makes the head span more than 1.5 ranges.
fn cut_head(inner: &Inner) -> Result<bool, TsdbError> {
    let range = inner.head.range();
    let mut did = false;
    loop {
        let (Some(lo), Some(hi)) = (inner.head.min_time(), inner.head.max_time()) else {
            return Ok(did);
        };
        if hi.saturating_sub(lo) <= range * 3 / 2 {
            return Ok(did);
        }
        let start = lo.div_euclid(range) * range;
        let end = start + range;
        // Samples for the range now being persisted are refused from here on
        // instead of being lost by the truncation below.
        inner.head.set_min_valid_time(end);
        persist_head_range(inner, start, end)?;
        truncate_head(inner, end)?;
        did = true;
    }
}

/// Persists everything in the head, then truncates head and WAL. Samples older
/// than the end of the newest persisted range are refused afterwards.
pub(crate) fn flush_head(inner: &Inner) -> Result<(), TsdbError> {
    let range = inner.head.range();
    let (Some(lo), Some(hi)) = (inner.head.min_time(), inner.head.max_time()) else {
        return Ok(());
    };
    let mut start = lo.div_euclid(range) * range;
    let end = (hi.div_euclid(range) + 1) * range;
    inner.head.set_min_valid_time(end);
    while start <= hi {
        persist_head_range(inner, start, start + range)?;
        start += range;
    }
    truncate_head(inner, start)
}

/// Picks blocks to merge: first any overlapping group, then the first aligned
/// window of a larger range holding several blocks (never the newest block's
/// window unless the newest block lies beyond it).
pub(crate) fn plan(blocks: &[Arc<Block>], ranges: &[i64]) -> Option<Vec<Arc<Block>>> {
    let mut sorted: Vec<Arc<Block>> = blocks.to_vec();
    sorted.sort_by_key(|b| (b.meta.min_time, b.meta.max_time));
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        let mut maxt = sorted[i].meta.max_time;
        while j < sorted.len() && sorted[j].meta.min_time < maxt {
            maxt = maxt.max(sorted[j].meta.max_time);
            j += 1;
        }
        if j - i > 1 {
            return Some(sorted[i..j].to_vec());
        }
        i = j;
    }
    let newest_max = sorted.iter().map(|b| b.meta.max_time).max()?;
    for &r in ranges.iter().skip(1) {
        let mut k = 0;
        while k < sorted.len() {
            let w = sorted[k].meta.min_time.div_euclid(r);
            let (wlo, whi) = (w * r, w * r + r);
            let group: Vec<Arc<Block>> = sorted[k..]
                .iter()
                .take_while(|b| b.meta.min_time.div_euclid(r) == w)
                .cloned()
                .collect();
            k += group.len();
            let fits = group
                .iter()
                .all(|b| b.meta.min_time >= wlo && b.meta.max_time <= whi);
            if group.len() > 1 && fits && whi <= newest_max {
                return Some(group);
            }
        }
    }
    None
}

/// Merges `group` into one block, replacing it.
fn merge(inner: &Inner, group: Vec<Arc<Block>>) -> Result<(), TsdbError> {
    let start = Instant::now();
    let mint = group.iter().map(|b| b.meta.min_time).min().unwrap_or(0);
    let maxt = group.iter().map(|b| b.meta.max_time).max().unwrap_or(0);
    let level = group
        .iter()
        .map(|b| b.meta.compaction.level)
        .max()
        .unwrap_or(1)
        + 1;
    let mut sources: Vec<String> = group
        .iter()
        .flat_map(|b| b.meta.compaction.sources.iter().cloned())
        .collect();
    sources.sort();
    sources.dedup();
    let mut lists = Vec::with_capacity(group.len());
    for b in &group {
        lists.push(b.select(&[], i64::MIN, i64::MAX)?);
    }
    let merged = merge_series(lists, i64::MIN, i64::MAX);
    let series = merged.into_iter().map(|s| {
        let mut chunks: Vec<ChunkSlice> = s.chunks().to_vec();
        chunks.sort_by_key(|c| c.mint);
        if chunks.windows(2).all(|w| w[0].maxt < w[1].mint) {
            // Disjoint: copy chunk bytes as they are.
            (s.labels.clone(), chunks)
        } else {
            series_for_block(&s)
        }
    });
    let meta = write_block(&inner.dir, series, mint, maxt, level, sources)?;
    let ids: std::collections::HashSet<&str> = group.iter().map(|b| b.meta.ulid.as_str()).collect();
    {
        let mut bl = inner.blocks.write();
        bl.retain(|b| !ids.contains(b.meta.ulid.as_str()));
    }
    if let Some(meta) = meta {
        inner.add_block(Block::open(&inner.dir.join(&meta.ulid))?);
    }
    for b in &group {
        delete_block_dir(b);
    }
    metrics::COMPACTIONS.inc();
    metrics::COMPACTION_DURATION.observe(start.elapsed().as_secs_f64());
    tracing::info!(blocks = group.len(), mint, maxt, level, took = ?start.elapsed(), "blocks compacted");
    Ok(())
}

fn delete_block_dir(b: &Block) {
    // Rename first so a crash mid-delete leaves no half block under a valid name.
    let tmp = b.dir.with_extension("deleting");
    let target = if fs::rename(&b.dir, &tmp).is_ok() {
        tmp
    } else {
        b.dir.clone()
    };
    if let Err(e) = fs::remove_dir_all(&target) {
        tracing::warn!(path = %target.display(), error = %e, "cannot delete block");
    }
}

/// Deletes blocks beyond the retention time or size.
fn retention(inner: &Inner) {
    let cfg = inner.cfg.read().clone();
    let mut doomed: Vec<Arc<Block>> = Vec::new();
    {
        let mut bl = inner.blocks.write();
        let Some(newest) = bl.iter().map(|b| b.meta.max_time).max() else {
            return;
        };
        let keep_after = newest.saturating_sub(cfg.retention_time.as_millis());
        if cfg.retention_time.as_millis() > 0 {
            bl.retain(|b| {
                let old = b.meta.max_time <= keep_after;
                if old {
                    doomed.push(b.clone());
                }
                !old
            });
        }
        if let Some(limit) = cfg.retention_size {
            let mut total: u64 =
                bl.iter().map(|b| b.size_bytes()).sum::<u64>() + inner.wal.size_bytes();
            while total > limit.0 && !bl.is_empty() {
                let b = bl.remove(0);
                total -= b.size_bytes();
                doomed.push(b);
            }
        }
        crate::db::refresh_metrics(&bl);
    }
    for b in &doomed {
        tracing::info!(block = %b.meta.ulid, "deleting block beyond retention");
        delete_block_dir(b);
    }
    metrics::RETENTION_DELETED.inc_by(doomed.len() as u64);
}

/// One maintenance round.
pub(crate) fn maintenance(inner: &Inner) -> Result<(), TsdbError> {
    cut_head(inner)?;
    let ranges = inner.cfg.read().ranges();
    loop {
        let blocks = inner.blocks.read().clone();
        match plan(&blocks, &ranges) {
            Some(group) => merge(inner, group)?,
            None => break,
        }
    }
    retention(inner);
    Ok(())
}
