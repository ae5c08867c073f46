//! The head: the in-memory, writable part of the database covering the newest
//! couple of hours. Series are interned ([`symbols`]), indexed ([`index`]) and hold
//! XOR chunks ([`memseries`]); every accepted sample is also logged to the WAL
//! (record encodings in [`crate::wal_records`]) so that a restart replays it.
//!
//! An append runs in three phases: (1) resolve or create each series, in parallel
//! with other appends; (2) under one short head-wide lock, classify and store the
//! samples and hand the WAL records to the log, so the log order equals the apply
//! order; (3) outside any lock, wait for the WAL sync (group commit).

pub mod exemplars;
pub mod hash_shard;
pub mod index;
pub mod memseries;
pub mod symbols;

use crate::metrics;
use crate::postings::{self, PostingsIndex};
use crate::series::Series;
use crate::wal_records::{self as rec, Record};
use exemplars::{ExemplarOutcome, ExemplarStore};
use index::{HeadIndexView, MemPostings};
use memseries::{Limits, MemSeries, Outcome, SeriesData};
use parking_lot::{Mutex, RwLock};
use sightline_model::{
    AppendError, AppendReport, Exemplar, Label, Labels, Matcher, MetricMetadata, WriteBatch,
};
use sightline_wal::{Lsn, Wal};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering::*};
use std::sync::Arc;
use symbols::Symbols;

const SHARDS: usize = 64;

use hash_shard::HashShard as Shard;

#[derive(Default)]
struct Scratch {
    series: Vec<u8>,
    samples: Vec<u8>,
    exemplars: Vec<u8>,
    metadata: Vec<u8>,
}

/// The in-memory head block.
pub struct Head {
    symbols: RwLock<Symbols>,
    shards: Box<[RwLock<Shard>]>,
    refs: RwLock<HashMap<u32, Arc<MemSeries>>>,
    postings: RwLock<MemPostings>,
    next_ref: AtomicU32,
    min_time: AtomicI64,
    max_time: AtomicI64,
    min_valid: AtomicI64,
    range: i64,
    ooo_window: AtomicI64,
    num_chunks: AtomicI64,
    append: Mutex<Scratch>,
    exemplars: Mutex<ExemplarStore>,
    metadata: RwLock<HashMap<String, MetricMetadata>>,
}

/// Decrements the pending-append counter of resolved series when an append ends.
struct Pending(Vec<Arc<MemSeries>>);

impl Drop for Pending {
    fn drop(&mut self) {
        for s in &self.0 {
            s.pending.fetch_sub(1, Release);
        }
    }
}

/// Counters of one WAL replay.
#[derive(Debug, Default, Clone)]
pub struct ReplayState {
    alias: HashMap<u32, u32>,
    /// Samples re-applied.
    pub samples: u64,
    /// Samples dropped (unknown series, out of order, too old).
    pub dropped: u64,
    /// Records that could not be decoded.
    pub bad_records: u64,
    /// Series created.
    pub series: u64,
}

/// Head figures for the status API.
#[derive(Debug, Default, Clone)]
pub struct HeadStats {
    /// Series in the head.
    pub num_series: u64,
    /// Chunks in the head.
    pub num_chunks: u64,
    /// Oldest sample time (ms), `None` when empty.
    pub min_time: Option<i64>,
    /// Newest sample time (ms), `None` when empty.
    pub max_time: Option<i64>,
    /// Distinct label pairs.
    pub num_label_pairs: u64,
    /// `(metric name, series)`, largest first.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// `(label name, distinct values)`, largest first.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// `(label name, bytes of its values)`, largest first.
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// `(name=value, series)`, largest first.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

fn top(mut v: Vec<(String, u64)>, limit: usize) -> Vec<(String, u64)> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v
}

impl Head {
    /// An empty head whose chunks align to `range` ms, accepting out-of-order
    /// samples within `ooo_window` ms, storing at most `max_exemplars`.
    pub fn new(range: i64, ooo_window: i64, max_exemplars: usize) -> Self {
        Head {
            symbols: RwLock::new(Symbols::default()),
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            refs: RwLock::new(HashMap::new()),
            postings: RwLock::new(MemPostings::default()),
            next_ref: AtomicU32::new(1),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid: AtomicI64::new(i64::MIN),
            range: range.max(1),
            ooo_window: AtomicI64::new(ooo_window.max(0)),
            num_chunks: AtomicI64::new(0),
            append: Mutex::new(Scratch::default()),
            exemplars: Mutex::new(ExemplarStore::new(max_exemplars)),
            metadata: RwLock::new(HashMap::new()),
        }
    }

    /// The chunk/block range in ms.
    pub fn range(&self) -> i64 {
        self.range
    }

    /// Oldest timestamp held, `None` when empty.
    pub fn min_time(&self) -> Option<i64> {
        let v = self.min_time.load(Acquire);
        (v != i64::MAX).then_some(v)
    }

    /// Newest timestamp ever appended, `None` before the first sample.
    pub fn max_time(&self) -> Option<i64> {
        let v = self.max_time.load(Acquire);
        (v != i64::MIN).then_some(v)
    }

    /// Samples older than this are rejected as too old.
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid.load(Acquire)
    }

    /// Raises the minimum valid time: blocks cover older data, or a range is
    /// about to be persisted. Taken under the append lock so that no append still
    /// in flight can add an older sample once this returns.
    pub fn set_min_valid_time(&self, t: i64) {
        let _append = self.append.lock();
        self.min_valid.fetch_max(t, AcqRel);
    }

    /// Number of series.
    pub fn num_series(&self) -> usize {
        self.refs.read().len()
    }

    /// Number of chunks.
    pub fn num_chunks(&self) -> i64 {
        self.num_chunks.load(Relaxed)
    }

    /// Changes runtime options.
    pub fn configure(&self, ooo_window: i64, max_exemplars: usize) {
        self.ooo_window.store(ooo_window.max(0), Release);
        self.exemplars.lock().resize(max_exemplars);
    }

    fn labels_of(&self, s: &MemSeries, sym: &Symbols) -> Labels {
        Labels::from_sorted_unchecked(
            s.labels
                .iter()
                .map(|&(n, v)| Label::new(sym.get(n), sym.get(v)))
                .collect(),
        )
    }

    fn labels_eq(s: &MemSeries, labels: &Labels, sym: &Symbols) -> bool {
        s.labels.len() == labels.len()
            && s.labels
                .iter()
                .zip(labels.iter())
                .all(|(&(n, v), l)| sym.get(n) == l.name && sym.get(v) == l.value)
    }

    /// Finds or creates the series; marks it pending when `pend` is set. With
    /// `forced_ref` (WAL replay), a new series gets that ref.
    fn get_or_create(
        &self,
        labels: &Labels,
        pend: bool,
        forced_ref: Option<u32>,
    ) -> (Arc<MemSeries>, bool) {
        let hash = labels.stable_hash();
        let shard = &self.shards[hash as usize % SHARDS];
        {
            let g = shard.read();
            let sym = self.symbols.read();
            if let Some(s) = g.find(hash, |s| Self::labels_eq(s, labels, &sym)) {
                if pend {
                    s.pending.fetch_add(1, AcqRel);
                }
                return (s.clone(), false);
            }
        }
        let mut g = shard.write();
        {
            let sym = self.symbols.read();
            if let Some(s) = g.find(hash, |s| Self::labels_eq(s, labels, &sym)) {
                if pend {
                    s.pending.fetch_add(1, AcqRel);
                }
                return (s.clone(), false);
            }
        }
        let ids: Box<[(u32, u32)]> = {
            let mut sym = self.symbols.write();
            labels
                .iter()
                .map(|l| (sym.intern(&l.name), sym.intern(&l.value)))
                .collect()
        };
        let mut p = self.postings.write();
        let r = match forced_ref {
            Some(r) => {
                self.next_ref.fetch_max(r.saturating_add(1), AcqRel);
                r
            }
            None => self.next_ref.fetch_add(1, AcqRel),
        };
        let s = Arc::new(MemSeries {
            r,
            hash,
            labels: ids,
            logged: AtomicBool::new(forced_ref.is_some()),
            pending: AtomicU32::new(u32::from(pend)),
            data: Mutex::new(SeriesData::new()),
        });
        p.add(r, &s.labels);
        drop(p);
        self.refs.write().insert(r, s.clone());
        g.insert(s.clone());
        metrics::SERIES_CREATED.inc();
        metrics::HEAD_SERIES.inc();
        (s, true)
    }

    /// Appends a batch, logging it to `wal` (when given). Returns the report and
    /// the WAL position to sync.
    pub fn append(
        &self,
        batch: &WriteBatch,
        wal: Option<&Wal>,
    ) -> Result<(AppendReport, Option<Lsn>), AppendError> {
        for ts in &batch.series {
            if ts.labels.is_empty() {
                return Err(AppendError::Invalid("series without labels".into()));
            }
            ts.labels
                .validate_sorted()
                .map_err(|e| AppendError::Invalid(format!("{}: {e}", ts.labels)))?;
        }
        let mut report = AppendReport::default();
        // Phase 1: resolve series.
        let mut pending = Pending(Vec::with_capacity(batch.series.len()));
        for ts in &batch.series {
            let (s, created) = self.get_or_create(&ts.labels, true, None);
            report.series_created += u64::from(created);
            pending.0.push(s);
        }
        // Phase 2: apply and log, in one order.
        let mut sc = self.append.lock();
        let sc = &mut *sc;
        sc.series.clear();
        sc.samples.clear();
        sc.exemplars.clear();
        sc.metadata.clear();
        let lim = Limits {
            min_valid: self.min_valid.load(Acquire),
            head_maxt: self.max_time.load(Acquire),
            range: self.range,
            ooo_window: self.ooo_window.load(Acquire),
            replay: false,
        };
        let base = batch
            .series
            .iter()
            .find_map(|s| s.samples.first())
            .map_or(0, |s| s.t);
        rec::begin_samples(&mut sc.samples, base);
        let (mut bmin, mut bmax, mut new_chunks) = (i64::MAX, i64::MIN, 0i64);
        for (ts, s) in batch.series.iter().zip(&pending.0) {
            if !s.logged.load(Acquire) {
                if sc.series.is_empty() {
                    rec::begin(&mut sc.series, rec::SERIES);
                }
                let sym = self.symbols.read();
                rec::put_series(
                    &mut sc.series,
                    s.r,
                    s.labels.iter().map(|&(n, v)| (sym.get(n), sym.get(v))),
                );
                s.logged.store(true, Release);
            }
            let mut d = s.data.lock();
            for smp in &ts.samples {
                let (o, created) = d.append(smp.t, smp.v, &lim);
                new_chunks += i64::from(created);
                match o {
                    Outcome::Appended | Outcome::AppendedOoo => {
                        report.accepted += 1;
                        rec::put_sample(&mut sc.samples, base, s.r, smp.t, smp.v);
                        bmin = bmin.min(smp.t);
                        bmax = bmax.max(smp.t);
                    }
                    Outcome::Duplicate => report.duplicates += 1,
                    Outcome::Conflict => {
                        report.conflicting += 1;
                        if report.first_error.is_none() {
                            report.first_error = Some(format!(
                                "{}: duplicate sample for timestamp {} with a different value",
                                ts.labels, smp.t
                            ));
                        }
                    }
                    Outcome::OutOfOrder => {
                        report.out_of_order += 1;
                        if report.first_error.is_none() {
                            report.first_error = Some(format!(
                                "{}: out of order sample (timestamp {}, newest {})",
                                ts.labels, smp.t, d.maxt
                            ));
                        }
                    }
                    Outcome::TooOld => {
                        report.too_old += 1;
                        if report.first_error.is_none() {
                            report.first_error = Some(format!(
                                "{}: sample timestamp {} out of bounds (too old)",
                                ts.labels, smp.t
                            ));
                        }
                    }
                }
            }
            drop(d);
            if !ts.exemplars.is_empty() {
                let mut ex = self.exemplars.lock();
                for e in &ts.exemplars {
                    if ex.add(s.r, e) == ExemplarOutcome::Added {
                        if sc.exemplars.is_empty() {
                            rec::begin(&mut sc.exemplars, rec::EXEMPLARS);
                        }
                        rec::put_exemplar(&mut sc.exemplars, s.r, e.t, e.value, &e.labels);
                        report.exemplars_accepted += 1;
                    }
                }
            }
        }
        if !batch.metadata.is_empty() {
            let mut md = self.metadata.write();
            for m in &batch.metadata {
                if md.get(&m.metric_family_name) != Some(m) {
                    md.insert(m.metric_family_name.clone(), m.clone());
                    if sc.metadata.is_empty() {
                        rec::begin(&mut sc.metadata, rec::METADATA);
                    }
                    rec::put_metadata(&mut sc.metadata, m);
                }
            }
        }
        if bmax != i64::MIN {
            self.max_time.fetch_max(bmax, AcqRel);
            self.min_time.fetch_min(bmin, AcqRel);
        }
        self.num_chunks.fetch_add(new_chunks, Relaxed);
        metrics::HEAD_CHUNKS.add(new_chunks);
        metrics::SAMPLES_APPENDED.inc_by(report.accepted);
        metrics::OUT_OF_ORDER.inc_by(report.out_of_order);
        metrics::DUPLICATES.inc_by(report.conflicting);
        metrics::TOO_OLD.inc_by(report.too_old);
        let mut lsn = None;
        if let Some(wal) = wal {
            let mut payloads: Vec<&[u8]> = Vec::with_capacity(4);
            if !sc.series.is_empty() {
                payloads.push(&sc.series);
            }
            if report.accepted > 0 {
                payloads.push(&sc.samples);
            }
            if !sc.exemplars.is_empty() {
                payloads.push(&sc.exemplars);
            }
            if !sc.metadata.is_empty() {
                payloads.push(&sc.metadata);
            }
            if !payloads.is_empty() {
                lsn = Some(
                    wal.append_batch(&payloads)
                        .map_err(|e| AppendError::Storage(e.to_string()))?,
                );
            }
        }
        Ok((report, lsn))
    }

    /// Applies one WAL record during replay (nothing is logged).
    pub fn replay_record(&self, payload: &[u8], st: &mut ReplayState) {
        let record = match rec::decode(payload) {
            Ok(r) => r,
            Err(e) => {
                st.bad_records += 1;
                tracing::warn!(error = %e, "skipping undecodable WAL record");
                return;
            }
        };
        match record {
            Record::Series(list) => {
                for (r, labels) in list {
                    let (s, created) = self.get_or_create(&labels, false, Some(r));
                    st.series += u64::from(created);
                    if s.r != r {
                        st.alias.insert(r, s.r);
                    }
                }
            }
            Record::Samples(list) => {
                let refs = self.refs.read();
                let mut lim = Limits {
                    min_valid: self.min_valid.load(Acquire),
                    head_maxt: self.max_time.load(Acquire),
                    range: self.range,
                    ooo_window: self.ooo_window.load(Acquire),
                    replay: true,
                };
                let (mut bmin, mut new_chunks) = (i64::MAX, 0i64);
                for (r, smp) in list {
                    let r = st.alias.get(&r).copied().unwrap_or(r);
                    let Some(s) = refs.get(&r) else {
                        st.dropped += 1;
                        continue;
                    };
                    let (o, created) = s.data.lock().append(smp.t, smp.v, &lim);
                    new_chunks += i64::from(created);
                    match o {
                        Outcome::Appended | Outcome::AppendedOoo => {
                            st.samples += 1;
                            bmin = bmin.min(smp.t);
                            lim.head_maxt = lim.head_maxt.max(smp.t);
                        }
                        Outcome::Duplicate => {}
                        _ => st.dropped += 1,
                    }
                }
                if lim.head_maxt != i64::MIN {
                    self.max_time.fetch_max(lim.head_maxt, AcqRel);
                }
                self.min_time.fetch_min(bmin, AcqRel);
                self.num_chunks.fetch_add(new_chunks, Relaxed);
                metrics::HEAD_CHUNKS.add(new_chunks);
            }
            Record::Exemplars(list) => {
                let mut ex = self.exemplars.lock();
                for (r, t, value, labels) in list {
                    let r = st.alias.get(&r).copied().unwrap_or(r);
                    ex.add(r, &Exemplar { labels, value, t });
                }
            }
            Record::Metadata(list) => {
                let mut md = self.metadata.write();
                for m in list {
                    md.insert(m.metric_family_name.clone(), m);
                }
            }
        }
    }

    /// Refs of series matching `matchers` (all series for an empty list).
    pub fn select_refs(&self, matchers: &[Matcher]) -> Vec<u32> {
        let sym = self.symbols.read();
        let p = self.postings.read();
        postings::select(
            &HeadIndexView {
                postings: &p,
                symbols: &sym,
            },
            matchers,
        )
    }

    /// Series matching `matchers` with samples in `[mint, maxt]`, sorted by labels.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Series> {
        let ids = self.select_refs(matchers);
        let sym = self.symbols.read();
        let refs = self.refs.read();
        let mut out = Vec::new();
        let mut chunks = Vec::new();
        for id in ids {
            let Some(s) = refs.get(&id) else { continue };
            let d = s.data.lock();
            // Room for every chunk (the out-of-order buffer rarely adds more), so
            // the list a select holds per series carries no growth slack.
            chunks.reserve_exact(d.chunk_count() + usize::from(d.ooo.is_some()));
            d.chunks_in(mint, maxt, &mut chunks);
            drop(d);
            if chunks.is_empty() {
                continue;
            }
            out.push(Series::new(
                self.labels_of(s, &sym),
                std::mem::take(&mut chunks),
                mint,
                maxt,
            ));
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Labels of the series [`Head::select`] returns, sorted, without copying any
    /// chunk.
    pub fn select_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let ids = self.select_refs(matchers);
        let sym = self.symbols.read();
        let refs = self.refs.read();
        let mut out: Vec<Labels> = ids
            .into_iter()
            .filter_map(|id| refs.get(&id))
            .filter(|s| s.data.lock().overlaps(mint, maxt))
            .map(|s| self.labels_of(s, &sym))
            .collect();
        out.sort_unstable();
        out
    }

    /// Every series with samples in `[mint, maxt]`, in label order, produced one at
    /// a time: persisting the head into a block streams through this instead of
    /// [`Head::select`], so only one series' labels and chunks are materialised at
    /// once rather than the whole head's.
    pub fn series_sorted(&self, mint: i64, maxt: i64) -> impl Iterator<Item = Series> + '_ {
        let mut all: Vec<Arc<MemSeries>> = self.refs.read().values().cloned().collect();
        {
            let sym = self.symbols.read();
            all.sort_unstable_by(|a, b| Self::cmp_labels(a, b, &sym));
        }
        let mut chunks = Vec::new();
        all.into_iter().filter_map(move |s| {
            s.data.lock().chunks_in(mint, maxt, &mut chunks);
            if chunks.is_empty() {
                return None;
            }
            let labels = self.labels_of(&s, &self.symbols.read());
            Some(Series::new(labels, std::mem::take(&mut chunks), mint, maxt))
        })
    }

    /// Orders two series as their [`Labels`] would compare, without building them.
    fn cmp_labels(a: &MemSeries, b: &MemSeries, sym: &Symbols) -> std::cmp::Ordering {
        for (&(an, av), &(bn, bv)) in a.labels.iter().zip(b.labels.iter()) {
            let o = sym
                .get(an)
                .cmp(sym.get(bn))
                .then_with(|| sym.get(av).cmp(sym.get(bv)));
            if o.is_ne() {
                return o;
            }
        }
        a.labels.len().cmp(&b.labels.len())
    }

    /// Label names of series matching `matchers`, sorted.
    pub fn label_names(&self, matchers: &[Matcher]) -> Vec<String> {
        let sym = self.symbols.read();
        let mut names: Vec<String> = if matchers.is_empty() {
            let p = self.postings.read();
            p.by_name.keys().map(|n| sym.get(*n).to_string()).collect()
        } else {
            drop(sym);
            let ids = self.select_refs(matchers);
            let sym = self.symbols.read();
            let refs = self.refs.read();
            let mut set = HashSet::new();
            for id in ids {
                if let Some(s) = refs.get(&id) {
                    set.extend(s.labels.iter().map(|&(n, _)| n));
                }
            }
            set.into_iter().map(|n| sym.get(n).to_string()).collect()
        };
        names.sort();
        names
    }

    /// Values of label `name` among series matching `matchers`, sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Vec<String> {
        let mut vals: Vec<String> = if matchers.is_empty() {
            let sym = self.symbols.read();
            let p = self.postings.read();
            let mut v = Vec::new();
            HeadIndexView {
                postings: &p,
                symbols: &sym,
            }
            .for_each_value(name, &mut |s| v.push(s.to_string()));
            v
        } else {
            let ids = self.select_refs(matchers);
            let sym = self.symbols.read();
            let Some(n) = sym.lookup(name) else {
                return Vec::new();
            };
            let refs = self.refs.read();
            let mut set = HashSet::new();
            for id in ids {
                if let Some(s) = refs.get(&id) {
                    if let Some(&(_, v)) = s.labels.iter().find(|(ln, _)| *ln == n) {
                        set.insert(v);
                    }
                }
            }
            set.into_iter().map(|v| sym.get(v).to_string()).collect()
        };
        vals.sort();
        vals
    }

    /// Exemplars of matching series within `[mint, maxt]`.
    pub fn exemplars(
        &self,
        mint: i64,
        maxt: i64,
        matcher_sets: &[Vec<Matcher>],
    ) -> Vec<(Labels, Vec<Exemplar>)> {
        let mut refs = HashSet::new();
        for ms in matcher_sets {
            refs.extend(self.select_refs(ms));
        }
        if matcher_sets.is_empty() {
            refs.extend(self.select_refs(&[]));
        }
        let found = self.exemplars.lock().query(&refs, mint, maxt);
        let sym = self.symbols.read();
        let all = self.refs.read();
        let mut out: Vec<(Labels, Vec<Exemplar>)> = found
            .into_iter()
            .filter_map(|(r, ex)| all.get(&r).map(|s| (self.labels_of(s, &sym), ex)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The latest metadata per metric family, sorted by name.
    pub fn metadata(&self) -> Vec<MetricMetadata> {
        let mut v: Vec<MetricMetadata> = self.metadata.read().values().cloned().collect();
        v.sort_by(|a, b| a.metric_family_name.cmp(&b.metric_family_name));
        v
    }

    /// Drops all data older than `mint` (an aligned block boundary), forgets series
    /// left empty, and forbids new samples older than `mint`.
    pub fn truncate(&self, mint: i64) {
        let _append = self.append.lock();
        self.min_valid.fetch_max(mint, AcqRel);
        let all: Vec<Arc<MemSeries>> = self.refs.read().values().cloned().collect();
        let mut removed_chunks = 0usize;
        let mut empty = Vec::new();
        let mut new_min = i64::MAX;
        for s in &all {
            let mut d = s.data.lock();
            removed_chunks += d.truncate_before(mint);
            match d.mint() {
                Some(t) => new_min = new_min.min(t),
                None => empty.push(s.clone()),
            }
        }
        let mut gone = 0i64;
        for s in empty {
            let shard = &self.shards[s.hash as usize % SHARDS];
            let mut g = shard.write();
            if s.pending.load(Acquire) != 0 || !s.data.lock().is_empty() {
                continue;
            }
            g.remove(&s);
            self.postings.write().remove(s.r, &s.labels);
            self.refs.write().remove(&s.r);
            self.exemplars.lock().forget(s.r);
            {
                let mut sym = self.symbols.write();
                for &(n, v) in s.labels.iter() {
                    sym.release(n);
                    sym.release(v);
                }
            }
            gone += 1;
        }
        self.min_time.store(new_min, Release);
        self.num_chunks.fetch_sub(removed_chunks as i64, Relaxed);
        metrics::HEAD_CHUNKS.sub(removed_chunks as i64);
        metrics::HEAD_SERIES.sub(gone);
    }

    /// WAL records equivalent to the head's current content (series, samples,
    /// exemplars, metadata), produced lazily for a checkpoint.
    pub fn checkpoint_records(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        let mut all: Vec<Arc<MemSeries>> = self.refs.read().values().cloned().collect();
        all.sort_by_key(|s| s.r);
        let mut stage = 0u8;
        let mut pos = 0usize;
        let mut samples = Vec::new();
        std::iter::from_fn(move || loop {
            match stage {
                0 => {
                    if pos >= all.len() {
                        stage = 1;
                        pos = 0;
                        continue;
                    }
                    let mut buf = Vec::new();
                    rec::begin(&mut buf, rec::SERIES);
                    let sym = self.symbols.read();
                    let end = (pos + 2000).min(all.len());
                    for s in &all[pos..end] {
                        rec::put_series(
                            &mut buf,
                            s.r,
                            s.labels.iter().map(|&(n, v)| (sym.get(n), sym.get(v))),
                        );
                    }
                    pos = end;
                    return Some(buf);
                }
                1 => {
                    if pos >= all.len() {
                        stage = 2;
                        continue;
                    }
                    let mut buf = Vec::new();
                    rec::begin_samples(&mut buf, 0);
                    let mut any = false;
                    while pos < all.len() && buf.len() < 1 << 20 {
                        let s = &all[pos];
                        pos += 1;
                        let mut chunks = Vec::new();
                        s.data.lock().chunks_in(i64::MIN, i64::MAX, &mut chunks);
                        for c in &chunks {
                            samples.clear();
                            c.decode_into(&mut samples);
                            for smp in &samples {
                                rec::put_sample(&mut buf, 0, s.r, smp.t, smp.v);
                                any = true;
                            }
                        }
                    }
                    if !any {
                        continue;
                    }
                    return Some(buf);
                }
                2 => {
                    stage = 3;
                    let ex = self.exemplars.lock().all();
                    if ex.is_empty() {
                        continue;
                    }
                    let live = self.refs.read();
                    let mut buf = Vec::new();
                    rec::begin(&mut buf, rec::EXEMPLARS);
                    for (r, e) in ex.iter().filter(|(r, _)| live.contains_key(r)) {
                        rec::put_exemplar(&mut buf, *r, e.t, e.value, &e.labels);
                    }
                    return Some(buf);
                }
                3 => {
                    stage = 4;
                    let md = self.metadata.read();
                    if md.is_empty() {
                        return None;
                    }
                    let mut buf = Vec::new();
                    rec::begin(&mut buf, rec::METADATA);
                    for m in md.values() {
                        rec::put_metadata(&mut buf, m);
                    }
                    return Some(buf);
                }
                _ => return None,
            }
        })
    }

    /// Statistics for the status API.
    pub fn stats(&self, limit: usize) -> HeadStats {
        let sym = self.symbols.read();
        let p = self.postings.read();
        let mut st = HeadStats {
            num_series: p.all.len() as u64,
            num_chunks: self.num_chunks().max(0) as u64,
            min_time: self.min_time(),
            max_time: self.max_time(),
            ..Default::default()
        };
        let (mut by_name, mut values, mut mem, mut pairs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (n, vals) in &p.by_name {
            let name = sym.get(*n);
            st.num_label_pairs += vals.len() as u64;
            values.push((name.to_string(), vals.len() as u64));
            let mut bytes = 0u64;
            for (v, list) in vals {
                let value = sym.get(*v);
                bytes += value.len() as u64;
                pairs.push((format!("{name}={value}"), list.len() as u64));
                if name == sightline_model::METRIC_NAME {
                    by_name.push((value.to_string(), list.len() as u64));
                }
            }
            mem.push((name.to_string(), bytes));
        }
        st.series_count_by_metric_name = top(by_name, limit);
        st.label_value_count_by_label_name = top(values, limit);
        st.memory_in_bytes_by_label_name = top(mem, limit);
        st.series_count_by_label_value_pair = top(pairs, limit);
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_model::{Sample, TimeSeries};

    fn batch(name: &str, t: i64) -> WriteBatch {
        WriteBatch {
            series: vec![TimeSeries {
                labels: Labels::from_pairs([("__name__", name), ("job", "j")]),
                samples: vec![Sample::new(t, 1.0)],
                exemplars: vec![],
            }],
            metadata: vec![],
        }
    }

    #[test]
    fn truncation_forgets_series_and_symbols() {
        let h = Head::new(1000, 0, 10);
        h.append(&batch("a", 10), None).unwrap();
        h.append(&batch("b", 1500), None).unwrap();
        assert_eq!(h.num_series(), 2);
        assert_eq!(h.symbols.read().len(), 5);
        h.truncate(1000);
        assert_eq!(h.num_series(), 1);
        assert_eq!(h.min_time(), Some(1500));
        // "a" is gone; "__name__", "job", "j" are still used by "b".
        assert_eq!(h.symbols.read().len(), 4);
        assert!(h
            .select(&[Matcher::equal("__name__", "a")], 0, 5000)
            .is_empty());
        assert_eq!(h.select(&[], 0, 5000).len(), 1);
        assert_eq!(h.label_values("__name__", &[]), vec!["b"]);
        // Older samples are refused after truncation.
        let (r, _) = h.append(&batch("a", 999), None).unwrap();
        assert_eq!(r.too_old, 1);
    }

    #[test]
    fn series_sorted_streams_the_same_series_as_select() {
        let h = Head::new(1000, 0, 0);
        let names = ["b", "a", "a_b", "ab", "a"];
        let jobs = ["x", "y", "x", "x", "xx"];
        for (i, (n, j)) in names.iter().zip(jobs).enumerate() {
            let mut pairs = vec![("__name__", *n), ("job", j)];
            if i == 3 {
                pairs.push(("zone", "z"));
            }
            let b = WriteBatch {
                series: vec![TimeSeries {
                    labels: Labels::from_pairs(pairs),
                    samples: vec![Sample::new(100 * i as i64, i as f64)],
                    exemplars: vec![],
                }],
                metadata: vec![],
            };
            h.append(&b, None).unwrap();
        }
        h.append(&batch("a", 50), None).unwrap();
        let want: Vec<(Labels, Vec<Sample>)> = h
            .select(&[], 0, 250)
            .into_iter()
            .map(|s| (s.labels.clone(), s.samples()))
            .collect();
        let got: Vec<(Labels, Vec<Sample>)> = h
            .series_sorted(0, 250)
            .map(|s| (s.labels.clone(), s.samples()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 4, "series without samples in range are left out");
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn chunks_cut_at_120_samples_and_range_boundaries() {
        let h = Head::new(10_000, 0, 0);
        let l = Labels::from_pairs([("__name__", "x")]);
        let samples: Vec<Sample> = (0..300).map(|i| Sample::new(i * 10, i as f64)).collect();
        let b = WriteBatch {
            series: vec![TimeSeries {
                labels: l,
                samples,
                exemplars: vec![],
            }],
            metadata: vec![],
        };
        h.append(&b, None).unwrap();
        let s = h.select(&[], 0, i64::MAX);
        let spans: Vec<(i64, i64)> = s[0].chunks().iter().map(|c| (c.mint, c.maxt)).collect();
        assert_eq!(spans, vec![(0, 1190), (1200, 2390), (2400, 2990)]);
        let h = Head::new(1000, 0, 0);
        h.append(&b, None).unwrap();
        let s = h.select(&[], 0, i64::MAX);
        assert_eq!(s[0].chunks().len(), 3);
        assert_eq!(s[0].chunks()[0].maxt, 990);
        assert_eq!(s[0].samples().len(), 300);
    }
}
