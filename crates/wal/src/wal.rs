//! The [`Wal`] handle: appending, group-committed syncing, segment cutting and
//! checkpointing, safe to use through `&self` from many threads.
//!
//! Locking: one writer mutex serialises appends (it owns the reusable encode buffer
//! and the current segment); a separate sync mutex plus condition variable implements
//! group commit, so fsyncs run without the writer lock and appends continue during
//! them. Lock order is always writer → sync, never the reverse.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::checkpoint::write_checkpoint;
use crate::error::WalError;
use crate::format::{
    checkpoint_name, encode_record, record_size, segment_name, SegmentKind, MAX_PAYLOAD,
    MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE,
};
use crate::lock::lock_dir;
use crate::metrics::WalMetrics;
use crate::options::{FsyncPolicy, WalOptions};
use crate::replay::{checkpoint_size, remove_dir, replay, RecordSource, ReplayReport};
use crate::segment::{fsync_file, sync_dir, SegmentFile, WriteFailure};

/// A position in the log: the end of a record, as `segment << 32 | offset`.
///
/// Lsns grow with every append, also across reopens (a reopened WAL writes to a new,
/// higher segment). Pass the one `append` returned to [`Wal::sync`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    /// The position `offset` bytes into segment `segment`.
    pub fn new(segment: u32, offset: u64) -> Self {
        Lsn(((segment as u64) << 32) | (offset & 0xffff_ffff))
    }

    /// The segment this position is in.
    pub fn segment(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The byte offset within the segment.
    pub fn offset(self) -> u64 {
        self.0 & 0xffff_ffff
    }
}

/// State guarded by the writer lock.
struct Writer {
    seg: SegmentFile,
    first_segment: u32,
    /// Reused encode buffer: appends never allocate once it has grown.
    buf: Vec<u8>,
    closed: bool,
}

/// Group-commit state.
struct SyncState {
    /// Everything at or before this position is durable.
    synced: Lsn,
    /// A leader is fsyncing right now; others wait on the condvar.
    in_progress: bool,
}

/// Everything the handle and the interval thread share.
struct Shared {
    dir: PathBuf,
    segment_size: u64,
    policy: FsyncPolicy,
    metrics: WalMetrics,
    writer: Mutex<Writer>,
    sync: Mutex<SyncState>,
    sync_cv: Condvar,
    poisoned: AtomicBool,
    poison_reason: Mutex<String>,
    size: AtomicU64,
    /// Serialises checkpoints; holds the index of the current checkpoint.
    checkpoint: Mutex<Option<u32>>,
    /// Held for the lifetime of the handle; dropping it releases the directory.
    _lock: fs::File,
}

/// The background fsync thread of the `Interval` policy.
struct Ticker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: JoinHandle<()>,
}

/// A segmented, checksummed write-ahead log over opaque payloads.
///
/// See the crate docs and `docs/format/wal.md`. `Wal` is `Send + Sync`; share it with
/// `Arc` and call everything through `&self`.
pub struct Wal {
    shared: Arc<Shared>,
    ticker: Mutex<Option<Ticker>>,
}

impl Wal {
    /// Opens (creating if absent) the WAL in `dir`: replays the newest checkpoint then
    /// every later segment, calling `on_record` for each record in order; repairs a
    /// torn or corrupt tail by truncating at the first bad record (deleting any later
    /// segments), logs it and counts it; then starts a new segment after the last one
    /// for appending. Garbage on disk yields a report or an error, never a panic.
    pub fn open(
        dir: &Path,
        opts: WalOptions,
        mut on_record: impl FnMut(RecordSource, &[u8]),
    ) -> Result<(Wal, ReplayReport), WalError> {
        if let FsyncPolicy::Interval(d) = opts.fsync {
            if d.is_zero() {
                return Err(WalError::InvalidOptions(
                    "fsync interval must be greater than zero".into(),
                ));
            }
        }
        fs::create_dir_all(dir).map_err(|e| WalError::io("create directory", dir, e))?;
        let lock = lock_dir(dir)?;
        let metrics = WalMetrics::new(&opts.name);
        let replayed = replay(dir, &metrics, &mut on_record)?;
        let report = replayed.report;

        let last = replayed.segments.last().copied();
        let after = last.max(report.checkpoint);
        let next = match after {
            None => 1,
            Some(i) => i.checked_add(1).ok_or_else(|| {
                WalError::InvalidOptions(format!(
                    "segment index space exhausted in {}",
                    dir.display()
                ))
            })?,
        };
        let seg = SegmentFile::create(dir, SegmentKind::Log, next)?;
        if opts.fsync != FsyncPolicy::Never {
            seg.sync(&metrics)?;
        }
        sync_dir(dir)?;
        let first_segment = replayed.segments.first().copied().unwrap_or(next);
        let size = replayed.size_bytes + seg.len;
        metrics.size.set(size as i64);
        metrics.segments.set((next - first_segment + 1) as i64);
        let start = Lsn::new(next, seg.len);

        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            segment_size: opts.segment_size.clamp(MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE),
            policy: opts.fsync,
            metrics,
            writer: Mutex::new(Writer {
                seg,
                first_segment,
                buf: Vec::with_capacity(64 << 10),
                closed: false,
            }),
            sync: Mutex::new(SyncState {
                synced: start,
                in_progress: false,
            }),
            sync_cv: Condvar::new(),
            poisoned: AtomicBool::new(false),
            poison_reason: Mutex::new(String::new()),
            size: AtomicU64::new(size),
            checkpoint: Mutex::new(report.checkpoint),
            _lock: lock,
        });
        let ticker = match opts.fsync {
            FsyncPolicy::Interval(every) => Some(start_ticker(&shared, every, &opts.name)?),
            _ => None,
        };
        Ok((
            Wal {
                shared,
                ticker: Mutex::new(ticker),
            },
            report,
        ))
    }

    /// Appends one record; when this returns the bytes have been handed to the OS
    /// (they survive a crash of this process). Returns the record's end position.
    pub fn append(&self, payload: &[u8]) -> Result<Lsn, WalError> {
        self.append_batch(&[payload])
    }

    /// Appends several records in order, with one write syscall unless they straddle
    /// a segment boundary. Returns the end position of the last one. If an error is
    /// returned, a prefix of the batch may still have been written.
    pub fn append_batch(&self, payloads: &[&[u8]]) -> Result<Lsn, WalError> {
        let s = &*self.shared;
        s.check_poisoned()?;
        if let Some(p) = payloads.iter().find(|p| p.len() > MAX_PAYLOAD) {
            return Err(WalError::RecordTooLarge {
                size: p.len(),
                max: MAX_PAYLOAD,
            });
        }
        let mut guard = s.writer.lock();
        let w = &mut *guard;
        if w.closed {
            return Err(WalError::Closed);
        }
        w.buf.clear();
        let mut bytes = 0u64;
        for p in payloads {
            let rs = record_size(p.len());
            let pos = w.seg.len + w.buf.len() as u64;
            if pos + rs > s.segment_size && pos > crate::format::SEGMENT_HEADER_LEN as u64 {
                s.write_buf(w)?;
                s.roll(w, false)?;
            }
            encode_record(&mut w.buf, p);
            bytes += rs;
        }
        s.write_buf(w)?;
        s.metrics.records.inc_by(payloads.len() as u64);
        s.metrics.bytes.inc_by(bytes);
        Ok(Lsn::new(w.seg.index, w.seg.len))
    }

    /// Returns once the record ending at `lsn` is durable according to the policy:
    /// `Always` waits for an fsync covering it, sharing one fsync among concurrent
    /// callers (group commit) and returning at once if it is already covered;
    /// `Interval` and `Never` return at once (the data is already with the OS).
    pub fn sync(&self, lsn: Lsn) -> Result<(), WalError> {
        let s = &*self.shared;
        s.check_poisoned()?;
        match s.policy {
            FsyncPolicy::Always => s.group_commit(lsn),
            FsyncPolicy::Interval(_) | FsyncPolicy::Never => Ok(()),
        }
    }

    /// Closes the current segment (fsyncing it, whatever the policy) and starts a new
    /// one, returning the new segment's index. Everything appended before is durable
    /// when this returns.
    pub fn cut_segment(&self) -> Result<u32, WalError> {
        let s = &*self.shared;
        s.check_poisoned()?;
        let mut guard = s.writer.lock();
        if guard.closed {
            return Err(WalError::Closed);
        }
        s.roll(&mut guard, true)?;
        Ok(guard.seg.index)
    }

    /// The first and the last (current) segment index on disk.
    pub fn segment_range(&self) -> (u32, u32) {
        let w = self.shared.writer.lock();
        (w.first_segment, w.seg.index)
    }

    /// Writes `checkpoint.<upto>` atomically with the given records, then deletes
    /// segments `<= upto` and older checkpoints. Replay afterwards yields the
    /// checkpoint's records followed by those of segments `> upto`.
    ///
    /// `upto` must be below the current segment (call [`Wal::cut_segment`] first) and
    /// above any existing checkpoint. Appends may continue while this runs.
    pub fn checkpoint(
        &self,
        upto: u32,
        records: &mut dyn Iterator<Item = Vec<u8>>,
    ) -> Result<(), WalError> {
        let s = &*self.shared;
        s.check_poisoned()?;
        let mut current_cp = s.checkpoint.lock();
        {
            let w = s.writer.lock();
            if w.closed {
                return Err(WalError::Closed);
            }
            if upto >= w.seg.index {
                return Err(WalError::InvalidCheckpoint(format!(
                    "segment {upto} is still being written (current segment {}); cut a segment first",
                    w.seg.index
                )));
            }
        }
        if let Some(c) = *current_cp {
            if upto <= c {
                return Err(WalError::InvalidCheckpoint(format!(
                    "{} already exists and covers segment {upto}",
                    checkpoint_name(c)
                )));
            }
        }
        let cp_bytes = write_checkpoint(&s.dir, upto, s.segment_size, records, &s.metrics)?;

        // Drop what the checkpoint now covers.
        let first = {
            let mut w = s.writer.lock();
            let first = w.first_segment;
            if upto >= w.first_segment {
                w.first_segment = upto + 1;
            }
            s.metrics
                .segments
                .set((w.seg.index - w.first_segment + 1) as i64);
            first
        };
        let mut freed = 0u64;
        for i in first..=upto {
            let p = s.dir.join(segment_name(i));
            if let Ok(m) = fs::metadata(&p) {
                fs::remove_file(&p).map_err(|e| WalError::io("remove", &p, e))?;
                freed += m.len();
            }
        }
        if let Some(old) = current_cp.replace(upto) {
            let p = s.dir.join(checkpoint_name(old));
            freed += checkpoint_size(&p);
            remove_dir(&p)?;
        }
        sync_dir(&s.dir)?;
        s.add_size(cp_bytes as i64 - freed as i64);
        s.metrics.checkpoints.inc();
        Ok(())
    }

    /// Bytes on disk: segments plus the current checkpoint.
    pub fn size_bytes(&self) -> u64 {
        self.shared.size.load(Ordering::Relaxed)
    }

    /// The directory this WAL lives in.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Stops the interval thread, fsyncs the current segment and refuses further
    /// appends. Closing twice is harmless.
    pub fn close(&self) -> Result<(), WalError> {
        if let Some(t) = self.ticker.lock().take() {
            {
                let (lock, cv) = &*t.stop;
                *lock.lock() = true;
                cv.notify_all();
            }
            let _ = t.handle.join();
        }
        let s = &*self.shared;
        let mut w = s.writer.lock();
        if w.closed {
            return Ok(());
        }
        w.closed = true;
        s.check_poisoned()?;
        if let Err(e) = w.seg.sync(&s.metrics) {
            s.poison(&e);
            return Err(e);
        }
        let end = Lsn::new(w.seg.index, w.seg.len);
        drop(w);
        s.mark_synced(end);
        Ok(())
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!(dir = %self.shared.dir.display(), error = %e, "closing WAL failed");
        }
    }
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.shared.dir)
            .field("policy", &self.shared.policy)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn check_poisoned(&self) -> Result<(), WalError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(WalError::Poisoned(self.poison_reason.lock().clone()));
        }
        Ok(())
    }

    fn poison(&self, e: &WalError) {
        tracing::error!(dir = %self.dir.display(), error = %e, "WAL unusable until reopened");
        let mut r = self.poison_reason.lock();
        if r.is_empty() {
            *r = e.to_string();
        }
        self.poisoned.store(true, Ordering::Release);
    }

    fn add_size(&self, delta: i64) {
        let new = if delta >= 0 {
            self.size.fetch_add(delta as u64, Ordering::Relaxed) + delta as u64
        } else {
            let d = delta.unsigned_abs();
            let old = self
                .size
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_sub(d))
                })
                .unwrap_or(0);
            old.saturating_sub(d)
        };
        self.metrics.size.set(new as i64);
    }

    /// Writes the encode buffer to the current segment and clears it.
    fn write_buf(&self, w: &mut Writer) -> Result<(), WalError> {
        if w.buf.is_empty() {
            return Ok(());
        }
        match w.seg.append(&w.buf) {
            Ok(()) => {
                self.add_size(w.buf.len() as i64);
                w.buf.clear();
                Ok(())
            }
            Err(WriteFailure { error, rolled_back }) => {
                w.buf.clear();
                if !rolled_back {
                    self.poison(&error);
                }
                Err(error)
            }
        }
    }

    /// Closes the current segment and starts the next. The old one is fsync'd unless
    /// the policy is `Never` and `force_sync` is false.
    fn roll(&self, w: &mut Writer, force_sync: bool) -> Result<(), WalError> {
        let durable = force_sync || self.policy != FsyncPolicy::Never;
        if durable {
            if let Err(e) = w.seg.sync(&self.metrics) {
                self.poison(&e);
                return Err(e);
            }
        }
        let old_end = Lsn::new(w.seg.index, w.seg.len);
        let next = w.seg.index.checked_add(1).ok_or_else(|| {
            WalError::InvalidOptions(format!(
                "segment index space exhausted in {}",
                self.dir.display()
            ))
        })?;
        let seg = SegmentFile::create(&self.dir, SegmentKind::Log, next)?;
        if durable {
            // A failure here leaves a created file behind that the next roll would
            // collide with, and the on-disk state uncertain: refuse further work.
            if let Err(e) = seg.sync(&self.metrics).and_then(|()| sync_dir(&self.dir)) {
                self.poison(&e);
                return Err(e);
            }
        }
        self.add_size(seg.len as i64);
        w.seg = seg;
        self.metrics
            .segments
            .set((w.seg.index - w.first_segment + 1) as i64);
        if durable {
            self.mark_synced(old_end);
        }
        Ok(())
    }

    fn mark_synced(&self, lsn: Lsn) {
        let mut st = self.sync.lock();
        if lsn > st.synced {
            st.synced = lsn;
        }
    }

    /// Group commit: the first caller needing an fsync becomes the leader and fsyncs
    /// everything written so far; callers arriving meanwhile wait and are usually
    /// covered by that fsync, or elect the next leader.
    fn group_commit(&self, lsn: Lsn) -> Result<(), WalError> {
        {
            let mut st = self.sync.lock();
            loop {
                if st.synced >= lsn {
                    return Ok(());
                }
                if !st.in_progress {
                    st.in_progress = true;
                    break;
                }
                self.sync_cv.wait(&mut st);
            }
        }
        let res = self.fsync_current();
        let mut st = self.sync.lock();
        st.in_progress = false;
        self.sync_cv.notify_all();
        match res {
            // A concurrent close fsync'd everything; the caller's record is durable.
            Err(WalError::Closed) if st.synced >= lsn => Ok(()),
            other => other,
        }
    }

    /// fsyncs the current segment outside the writer lock and records what it covers.
    fn fsync_current(&self) -> Result<(), WalError> {
        let (file, path, target) = {
            let w = self.writer.lock();
            if w.closed {
                return Err(WalError::Closed);
            }
            (
                Arc::clone(&w.seg.file),
                Arc::clone(&w.seg.path),
                Lsn::new(w.seg.index, w.seg.len),
            )
        };
        if self.sync.lock().synced >= target {
            return Ok(());
        }
        if let Err(e) = fsync_file(&file, &path, &self.metrics) {
            self.poison(&e);
            return Err(e);
        }
        self.mark_synced(target);
        Ok(())
    }
}

fn start_ticker(shared: &Arc<Shared>, every: Duration, name: &str) -> Result<Ticker, WalError> {
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let (s, st) = (Arc::clone(shared), Arc::clone(&stop));
    let handle = std::thread::Builder::new()
        .name(format!("wal-fsync-{name}"))
        .spawn(move || loop {
            {
                let (lock, cv) = &*st;
                let mut stopped = lock.lock();
                if !*stopped {
                    cv.wait_for(&mut stopped, every);
                }
                if *stopped {
                    return;
                }
            }
            if s.poisoned.load(Ordering::Acquire) {
                continue;
            }
            match s.fsync_current() {
                Ok(()) | Err(WalError::Closed) => {}
                Err(e) => tracing::error!(error = %e, "periodic WAL fsync failed"),
            }
        })
        .map_err(|e| WalError::io("spawn fsync thread for", &shared.dir, e))?;
    Ok(Ticker { stop, handle })
}
