//! [`Tsdb`]: opens the data directory (blocks + WAL replay into the head), accepts
//! appends, serves queriers, and runs maintenance — cutting the head into blocks,
//! compacting blocks, applying retention — on a background thread.

use crate::block::{write_block, Block};
use crate::compact;
use crate::config::StorageConfig;
use crate::error::TsdbError;
use crate::head::{Head, HeadStats, ReplayState};
use crate::metrics;
use crate::querier::Querier;
use parking_lot::{Condvar, Mutex, RwLock};
use sightline_model::{
    AppendError, AppendReport, Exemplar, Labels, Matcher, MetricMetadata, SampleSink, WriteBatch,
};
use sightline_wal::{Wal, WalOptions};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Figures for `/api/v1/status/tsdb`.
#[derive(Debug, Clone, Default)]
pub struct TsdbStats {
    /// Head statistics (series, chunks, times, cardinality tops).
    pub head: HeadStats,
    /// WAL bytes on disk.
    pub wal_size_bytes: u64,
    /// Loaded blocks.
    pub block_count: usize,
    /// Bytes of loaded blocks.
    pub blocks_bytes: u64,
}

/// Shared state behind [`Tsdb`], its queriers and its maintenance thread.
pub struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) cfg: RwLock<StorageConfig>,
    pub(crate) head: Head,
    pub(crate) wal: Wal,
    pub(crate) blocks: RwLock<Vec<Arc<Block>>>,
    pub(crate) maint: Mutex<()>,
    stop: Mutex<bool>,
    wake: Condvar,
    closed: AtomicBool,
}

impl Inner {
    pub(crate) fn blocks_in(&self, mint: i64, maxt: i64) -> Vec<Arc<Block>> {
        self.blocks
            .read()
            .iter()
            .filter(|b| b.meta.min_time <= maxt && b.meta.max_time > mint)
            .cloned()
            .collect()
    }

    pub(crate) fn add_block(&self, b: Block) {
        let mut bl = self.blocks.write();
        bl.push(Arc::new(b));
        bl.sort_by(|a, b| {
            a.meta
                .min_time
                .cmp(&b.meta.min_time)
                .then(a.meta.ulid.cmp(&b.meta.ulid))
        });
        refresh_metrics(&bl);
    }
}

pub(crate) fn refresh_metrics(bl: &[Arc<Block>]) {
    metrics::BLOCKS_LOADED.set(bl.len() as i64);
    metrics::BLOCKS_BYTES.set(bl.iter().map(|b| b.size_bytes()).sum::<u64>() as i64);
}

/// The time-series database.
pub struct Tsdb {
    inner: Arc<Inner>,
    bg: Mutex<Option<JoinHandle<()>>>,
}

fn load_blocks(dir: &Path) -> Result<Vec<Arc<Block>>, TsdbError> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| TsdbError::io("read directory", dir, e))? {
        let e = e.map_err(|e| TsdbError::io("read directory", dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        if !p.is_dir() || name == "wal" {
            continue;
        }
        if name.ends_with(".tmp") || name.ends_with(".deleting") {
            tracing::info!(path = %p.display(), "removing leftover temporary block directory");
            let _ = fs::remove_dir_all(&p);
            continue;
        }
        if !p.join("meta.json").exists() {
            continue;
        }
        out.push(Arc::new(Block::open(&p)?));
    }
    out.sort_by(|a, b| {
        a.meta
            .min_time
            .cmp(&b.meta.min_time)
            .then(a.meta.ulid.cmp(&b.meta.ulid))
    });
    Ok(out)
}

impl Tsdb {
    /// Opens (creating) the database in `dir`: loads blocks, replays the WAL into
    /// the head, and starts the maintenance thread.
    pub fn open(dir: &Path, cfg: StorageConfig) -> Result<Arc<Tsdb>, TsdbError> {
        cfg.validate().map_err(TsdbError::Config)?;
        fs::create_dir_all(dir).map_err(|e| TsdbError::io("create directory", dir, e))?;
        let blocks = load_blocks(dir)?;
        let head = Head::new(
            cfg.block_range(),
            cfg.out_of_order_time_window.as_millis(),
            cfg.max_exemplars as usize,
        );
        if let Some(maxt) = blocks.iter().map(|b| b.meta.max_time).max() {
            head.set_min_valid_time(maxt);
        }
        let start = Instant::now();
        let mut st = ReplayState::default();
        let mut last_log = Instant::now();
        let opts = WalOptions {
            segment_size: cfg.wal_segment_size.0,
            fsync: cfg.wal_fsync,
            name: "tsdb".into(),
        };
        let (wal, rep) = Wal::open(&dir.join("wal"), opts, |src, payload| {
            head.replay_record(payload, &mut st);
            if last_log.elapsed() > Duration::from_secs(10) {
                tracing::info!(?src, samples = st.samples, "WAL replay in progress");
                last_log = Instant::now();
            }
        })?;
        let took = start.elapsed();
        metrics::WAL_REPLAY_DURATION.observe(took.as_secs_f64());
        tracing::info!(
            records = rep.records,
            segments = rep.segments,
            series = st.series,
            samples = st.samples,
            dropped = st.dropped,
            bad_records = st.bad_records,
            corruption = ?rep.corruption,
            blocks = blocks.len(),
            duration = ?took,
            "tsdb opened"
        );
        refresh_metrics(&blocks);
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            cfg: RwLock::new(cfg),
            head,
            wal,
            blocks: RwLock::new(blocks),
            maint: Mutex::new(()),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            closed: AtomicBool::new(false),
        });
        let bg_inner = inner.clone();
        let bg = std::thread::Builder::new()
            .name("tsdb-maintenance".into())
            .spawn(move || maintenance_loop(bg_inner))
            .map_err(|e| TsdbError::io("spawn maintenance thread", dir, e))?;
        Ok(Arc::new(Tsdb {
            inner,
            bg: Mutex::new(Some(bg)),
        }))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Appends a batch; returns once its WAL records are durable per policy.
    pub fn append(&self, batch: WriteBatch) -> Result<AppendReport, AppendError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(AppendError::Unavailable("storage is shutting down".into()));
        }
        let (report, lsn) = self.inner.head.append(&batch, Some(&self.inner.wal))?;
        if let Some(lsn) = lsn {
            self.inner
                .wal
                .sync(lsn)
                .map_err(|e| AppendError::Storage(e.to_string()))?;
        }
        if let (Some(lo), Some(hi)) = (self.inner.head.min_time(), self.inner.head.max_time()) {
            if hi.saturating_sub(lo) > self.inner.head.range() * 3 / 2 {
                self.inner.wake.notify_one();
            }
        }
        Ok(report)
    }

    /// A querier over `[mint, maxt]` (inclusive, ms).
    pub fn querier(&self, mint: i64, maxt: i64) -> Result<Querier, TsdbError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(TsdbError::Closed);
        }
        Ok(Querier {
            inner: self.inner.clone(),
            mint,
            maxt,
        })
    }

    /// Exemplars of series matching any of the matcher sets within `[mint, maxt]`.
    pub fn exemplars(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Vec<Matcher>],
    ) -> Result<Vec<(Labels, Vec<Exemplar>)>, TsdbError> {
        Ok(self.inner.head.exemplars(mint, maxt, matchers))
    }

    /// The latest metadata of each metric family.
    pub fn metadata(&self) -> Vec<MetricMetadata> {
        self.inner.head.metadata()
    }

    /// Statistics; cardinality lists hold the top `limit` entries.
    pub fn stats(&self, limit: usize) -> TsdbStats {
        let bl = self.inner.blocks.read();
        TsdbStats {
            head: self.inner.head.stats(limit),
            wal_size_bytes: self.inner.wal.size_bytes(),
            block_count: bl.len(),
            blocks_bytes: bl.iter().map(|b| b.size_bytes()).sum(),
        }
    }

    /// Metas of the loaded blocks, oldest first.
    pub fn blocks(&self) -> Vec<crate::block::BlockMeta> {
        self.inner
            .blocks
            .read()
            .iter()
            .map(|b| b.meta.clone())
            .collect()
    }

    /// Persists the whole head into blocks now and truncates head and WAL.
    pub fn flush_head(&self) -> Result<(), TsdbError> {
        let _m = self.inner.maint.lock();
        compact::flush_head(&self.inner)
    }

    /// Runs one maintenance round now (head cut, compaction, retention).
    pub fn compact(&self) -> Result<(), TsdbError> {
        let _m = self.inner.maint.lock();
        compact::maintenance(&self.inner)
    }

    /// Loads block directories that appeared in the data directory (backfill).
    pub fn reload_blocks(&self) -> Result<usize, TsdbError> {
        let _m = self.inner.maint.lock();
        let known: std::collections::HashSet<String> = self
            .inner
            .blocks
            .read()
            .iter()
            .map(|b| b.meta.ulid.clone())
            .collect();
        let mut n = 0;
        for e in fs::read_dir(&self.inner.dir)
            .map_err(|e| TsdbError::io("read directory", &self.inner.dir, e))?
        {
            let Ok(e) = e else { continue };
            let name = e.file_name().to_string_lossy().into_owned();
            let p = e.path();
            if known.contains(&name) || name.ends_with(".tmp") || !p.join("meta.json").exists() {
                continue;
            }
            self.inner.add_block(Block::open(&p)?);
            n += 1;
        }
        Ok(n)
    }

    /// Applies changed settings (retention, out-of-order window, exemplars) at
    /// runtime; block range and WAL settings apply at the next open.
    pub fn reload_config(&self, cfg: StorageConfig) {
        self.inner.head.configure(
            cfg.out_of_order_time_window.as_millis(),
            cfg.max_exemplars as usize,
        );
        *self.inner.cfg.write() = cfg;
        self.inner.wake.notify_one();
    }

    /// Stops the maintenance thread and syncs and closes the WAL.
    pub fn close(&self) -> Result<(), TsdbError> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        *self.inner.stop.lock() = true;
        self.inner.wake.notify_all();
        if let Some(h) = self.bg.lock().take() {
            let _ = h.join();
        }
        self.inner.wal.close()?;
        Ok(())
    }
}

impl Drop for Tsdb {
    fn drop(&mut self) {
        *self.inner.stop.lock() = true;
        self.inner.wake.notify_all();
        if let Some(h) = self.bg.lock().take() {
            let _ = h.join();
        }
    }
}

impl SampleSink for Tsdb {
    fn append(&self, batch: WriteBatch) -> Result<AppendReport, AppendError> {
        Tsdb::append(self, batch)
    }
}

fn maintenance_loop(inner: Arc<Inner>) {
    loop {
        {
            let mut stop = inner.stop.lock();
            if *stop {
                return;
            }
            inner.wake.wait_for(&mut stop, Duration::from_secs(60));
            if *stop {
                return;
            }
        }
        let _m = inner.maint.lock();
        if let Err(e) = compact::maintenance(&inner) {
            tracing::error!(error = %e, "tsdb maintenance failed");
        }
    }
}

/// Writes `series` as one level-1 block and loads it (used by head cuts).
pub(crate) fn write_and_load(
    inner: &Inner,
    series: impl IntoIterator<Item = (Labels, Vec<crate::series::ChunkSlice>)>,
    mint: i64,
    maxt: i64,
) -> Result<(), TsdbError> {
    if let Some(meta) = write_block(&inner.dir, series, mint, maxt, 1, Vec::new())? {
        inner.add_block(Block::open(&inner.dir.join(&meta.ulid))?);
    }
    Ok(())
}
