//! The scrape manager: one pool per job, one loop per target, and reloads that keep
//! unchanged targets running.
//!
//! On [`ScrapeManager::apply`], a job whose configuration is unchanged keeps its pool
//! untouched; a changed job is rebuilt and each of its loops hands its state (series
//! seen, metadata, status) to the loop replacing it, so a target that survives the
//! reload continues without a gap or stale markers; a removed job's targets stop and
//! get stale markers. Within a pool, discovery updates start and stop loops the same
//! way.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};
use sightline_model::{Labels, Matcher, MetricType, PromDuration, SampleSink};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::JobClient;
use crate::config::{ScrapeConfig, ScrapeGlobals};
use crate::discovery::{self, TargetGroup};
use crate::metrics;
use crate::scrape_loop::{
    self, append, now_ms, Health, JobRuntime, LoopHandle, LoopShared, LoopState, STOP_HANDOFF,
    STOP_SILENT, STOP_STALE,
};
use crate::target::{build_targets, DroppedTarget, Target};

/// Tuning of the manager; the defaults suit production.
#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// How often file_sd files are checked for changes (default 5s).
    pub file_sd_poll: Duration,
    /// Mixed into every target's scrape offset (e.g. a hash of the host name), so
    /// that two servers scraping the same targets do not do so at the same instant.
    pub offset_seed: u64,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            file_sd_poll: Duration::from_secs(5),
            offset_seed: 0,
        }
    }
}

/// A target being scraped, as `/api/v1/targets` reports it.
#[derive(Clone, Debug)]
pub struct ActiveTarget {
    /// Labels before relabelling.
    pub discovered_labels: Labels,
    /// Labels attached to scraped series.
    pub labels: Labels,
    /// The job.
    pub scrape_pool: String,
    /// The URL scraped.
    pub scrape_url: String,
    /// The URL as seen from outside (same as `scrape_url`).
    pub global_url: String,
    /// Empty when the last scrape succeeded.
    pub last_error: String,
    /// Start of the last scrape; None until the first scrape ends.
    pub last_scrape: Option<SystemTime>,
    /// Duration of the last scrape.
    pub last_scrape_duration: Duration,
    /// Up, down or unknown.
    pub health: Health,
    /// The target's interval (displays as Prometheus writes it, e.g. `15s`).
    pub scrape_interval: PromDuration,
    /// The target's timeout.
    pub scrape_timeout: PromDuration,
}

/// Active and dropped targets of every job.
#[derive(Clone, Debug, Default)]
pub struct TargetsSnapshot {
    /// Targets being scraped, ordered by job then labels.
    pub active: Vec<ActiveTarget>,
    /// Targets dropped by relabelling.
    pub dropped: Vec<DroppedTarget>,
}

/// One metric's metadata as reported by one target (`/api/v1/targets/metadata`).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetMetadata {
    /// The target's labels.
    pub target: Labels,
    /// The metric family name.
    pub metric: String,
    /// Its type.
    pub metric_type: MetricType,
    /// Its help text.
    pub help: String,
    /// Its unit.
    pub unit: String,
}

type Carry = HashMap<Labels, (Target, LoopState, Arc<LoopShared>)>;

#[derive(Default)]
struct PoolState {
    loops: HashMap<Labels, LoopHandle>,
    dropped: Vec<DroppedTarget>,
    stopped: bool,
}

struct Pool {
    cfg: ScrapeConfig,
    globals: ScrapeGlobals,
    cancel: CancellationToken,
    state: Arc<Mutex<PoolState>>,
    sync: Mutex<Option<JoinHandle<()>>>,
}

impl Pool {
    fn start(
        cfg: ScrapeConfig,
        globals: ScrapeGlobals,
        sink: Arc<dyn SampleSink>,
        opts: &ManagerOptions,
        carry: Carry,
    ) -> Arc<Pool> {
        let cancel = CancellationToken::new();
        let state = Arc::new(Mutex::new(PoolState::default()));
        let rx = discovery::spawn(&cfg, opts.file_sd_poll, cancel.clone());
        let runtime = Arc::new(JobRuntime {
            cfg: cfg.clone(),
            client: JobClient::new(&cfg),
        });
        let seed = opts.offset_seed ^ globals.external_labels.stable_hash();
        let sync = tokio::spawn(run_sync(
            runtime,
            globals.clone(),
            state.clone(),
            rx,
            carry,
            sink,
            seed,
            cancel.clone(),
        ));
        Arc::new(Pool {
            cfg,
            globals,
            cancel,
            state,
            sync: Mutex::new(Some(sync)),
        })
    }

    /// Stops discovery and every loop in `mode`, returning the loops' states.
    async fn stop(&self, mode: u8) -> Carry {
        self.cancel.cancel();
        let sync = self.sync.lock().take();
        if let Some(h) = sync {
            let _ = h.await;
        }
        let loops = {
            let mut st = self.state.lock();
            st.stopped = true;
            std::mem::take(&mut st.loops)
        };
        for h in loops.values() {
            h.stop(mode);
        }
        let mut out = HashMap::new();
        for (k, h) in loops {
            let LoopHandle {
                target,
                shared,
                join,
                ..
            } = h;
            match join.await {
                Ok(state) => {
                    out.insert(k, (target, state, shared));
                }
                Err(e) => tracing::warn!(error = %e, "scrape loop ended abnormally"),
            }
        }
        metrics::POOL_TARGETS
            .with_label_values(&[self.cfg.job_name.as_str()])
            .set(0);
        out
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_sync(
    runtime: Arc<JobRuntime>,
    globals: ScrapeGlobals,
    state: Arc<Mutex<PoolState>>,
    mut rx: watch::Receiver<Vec<TargetGroup>>,
    mut carry: Carry,
    sink: Arc<dyn SampleSink>,
    seed: u64,
    cancel: CancellationToken,
) {
    let mut first = true;
    loop {
        let groups = rx.borrow_and_update().clone();
        // With file_sd the first value is an empty placeholder until the files are read.
        let placeholder = first && groups.is_empty() && !runtime.cfg.file_sd_configs.is_empty();
        if !placeholder {
            sync_targets(&runtime, &globals, &state, &groups, &mut carry, &sink, seed);
            // Loops of a reloaded job whose targets are gone end with stale markers.
            for (_, (target, st, _)) in carry.drain() {
                let b = st.stale_batch(&target.labels, now_ms());
                if let Err(e) = append(&sink, b).await {
                    tracing::warn!(error = %e, "writing stale markers for a removed target");
                }
            }
            first = false;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = rx.changed() => {
                if r.is_err() {
                    // Static discovery never changes: wait for the end.
                    cancel.cancelled().await;
                    return;
                }
            }
        }
    }
}

fn sync_targets(
    runtime: &Arc<JobRuntime>,
    globals: &ScrapeGlobals,
    state: &Mutex<PoolState>,
    groups: &[TargetGroup],
    carry: &mut Carry,
    sink: &Arc<dyn SampleSink>,
    seed: u64,
) {
    let cfg = &runtime.cfg;
    let (targets, dropped, errors) = build_targets(cfg, globals, groups);
    for e in errors {
        tracing::warn!(error = %e, "invalid target");
    }
    let mut st = state.lock();
    if st.stopped {
        return;
    }
    let keep: HashSet<&Labels> = targets.iter().map(|t| &t.internal_labels).collect();
    let gone: Vec<Labels> = st
        .loops
        .keys()
        .filter(|k| !keep.contains(k))
        .cloned()
        .collect();
    for k in gone {
        if let Some(h) = st.loops.remove(&k) {
            // The loop writes its stale markers as it ends.
            h.stop(STOP_STALE);
        }
    }
    for t in targets {
        let key = t.internal_labels.clone();
        if let Some(h) = st.loops.get_mut(&key) {
            h.target = t;
            continue;
        }
        let (loop_state, shared) = match carry.remove(&key) {
            Some((_, s, sh)) => (s, sh),
            None => (LoopState::default(), Arc::new(LoopShared::default())),
        };
        let h = scrape_loop::spawn(runtime.clone(), t, sink.clone(), loop_state, shared, seed);
        st.loops.insert(key, h);
    }
    st.dropped = dropped;
    metrics::POOL_TARGETS
        .with_label_values(&[cfg.job_name.as_str()])
        .set(st.loops.len() as i64);
}

struct Inner {
    sink: Arc<dyn SampleSink>,
    opts: ManagerOptions,
    apply_lock: tokio::sync::Mutex<()>,
    pools: RwLock<BTreeMap<String, Arc<Pool>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for p in self.pools.read().values() {
            p.cancel.cancel();
            let st = p.state.lock();
            for h in st.loops.values() {
                h.stop(STOP_SILENT);
            }
        }
    }
}

/// Runs the scrape jobs and answers the targets APIs.
#[derive(Clone)]
pub struct ScrapeManager {
    inner: Arc<Inner>,
}

impl ScrapeManager {
    /// A manager writing every scrape to `sink`, with default options.
    pub fn new(sink: Arc<dyn SampleSink>) -> Self {
        Self::with_options(sink, ManagerOptions::default())
    }

    /// A manager with explicit options.
    pub fn with_options(sink: Arc<dyn SampleSink>, opts: ManagerOptions) -> Self {
        ScrapeManager {
            inner: Arc::new(Inner {
                sink,
                opts,
                apply_lock: tokio::sync::Mutex::new(()),
                pools: RwLock::new(BTreeMap::new()),
            }),
        }
    }

    /// Applies a (re)loaded configuration. Invalid jobs are logged and skipped (the
    /// config crate validates before calling); unchanged jobs keep running; changed
    /// jobs are rebuilt without gaps for surviving targets; removed jobs stop and
    /// their series get stale markers.
    pub async fn apply(&self, globals: ScrapeGlobals, jobs: Vec<ScrapeConfig>) {
        let _g = self.inner.apply_lock.lock().await;
        let mut wanted: BTreeMap<String, ScrapeConfig> = BTreeMap::new();
        for j in jobs {
            if let Err(e) = j.validate(&globals) {
                tracing::error!(error = %e, "skipping invalid scrape job");
                continue;
            }
            if wanted.contains_key(&j.job_name) {
                tracing::error!(job = %j.job_name, "duplicate job_name: keeping the first");
                continue;
            }
            wanted.insert(j.job_name.clone(), j);
        }
        let old = self.inner.pools.read().clone();
        let mut next = BTreeMap::new();
        for (name, pool) in old {
            match wanted.remove(&name) {
                Some(cfg) if cfg == pool.cfg && globals == pool.globals => {
                    next.insert(name, pool);
                }
                Some(cfg) => {
                    let carry = pool.stop(STOP_HANDOFF).await;
                    let p = Pool::start(
                        cfg,
                        globals.clone(),
                        self.inner.sink.clone(),
                        &self.inner.opts,
                        carry,
                    );
                    next.insert(name, p);
                }
                None => {
                    pool.stop(STOP_STALE).await;
                }
            }
        }
        for (name, cfg) in wanted {
            let p = Pool::start(
                cfg,
                globals.clone(),
                self.inner.sink.clone(),
                &self.inner.opts,
                HashMap::new(),
            );
            next.insert(name, p);
        }
        *self.inner.pools.write() = next;
    }

    /// The active and dropped targets of every job.
    pub fn targets(&self) -> TargetsSnapshot {
        let pools = self.inner.pools.read();
        let mut snap = TargetsSnapshot::default();
        for (name, pool) in pools.iter() {
            let st = pool.state.lock();
            let mut active: Vec<ActiveTarget> = st
                .loops
                .values()
                .map(|h| {
                    let s = h.shared.status.lock().clone();
                    ActiveTarget {
                        discovered_labels: h.target.discovered_labels.clone(),
                        labels: h.target.labels.clone(),
                        scrape_pool: name.clone(),
                        scrape_url: h.target.scrape_url.clone(),
                        global_url: h.target.scrape_url.clone(),
                        last_error: s.last_error,
                        last_scrape: s.last_scrape,
                        last_scrape_duration: s.last_scrape_duration,
                        health: s.health,
                        scrape_interval: PromDuration(h.target.interval),
                        scrape_timeout: PromDuration(h.target.timeout),
                    }
                })
                .collect();
            active.sort_by(|a, b| a.labels.cmp(&b.labels));
            snap.active.extend(active);
            snap.dropped.extend(st.dropped.iter().cloned());
        }
        snap
    }

    /// Metadata reported by targets matching all of `match_target` (empty: every
    /// target), optionally for one `metric`, at most `limit` entries.
    pub fn target_metadata(
        &self,
        match_target: &[Matcher],
        metric: Option<&str>,
        limit: Option<usize>,
    ) -> Vec<TargetMetadata> {
        let mut out = Vec::new();
        let limit = limit.unwrap_or(usize::MAX);
        let pools = self.inner.pools.read();
        for pool in pools.values() {
            let st = pool.state.lock();
            let mut loops: Vec<&LoopHandle> = st.loops.values().collect();
            loops.sort_by(|a, b| a.target.labels.cmp(&b.target.labels));
            for h in loops {
                let tl = &h.target.labels;
                if !match_target
                    .iter()
                    .all(|m| m.matches(tl.get(&m.name).unwrap_or("")))
                {
                    continue;
                }
                let md = h.shared.metadata.lock();
                let mut names: Vec<&String> = md.keys().collect();
                names.sort();
                for n in names {
                    if metric.is_some_and(|m| m != n.as_str()) {
                        continue;
                    }
                    if out.len() >= limit {
                        return out;
                    }
                    let m = &md[n];
                    out.push(TargetMetadata {
                        target: tl.clone(),
                        metric: n.clone(),
                        metric_type: m.metric_type,
                        help: m.help.clone(),
                        unit: m.unit.clone(),
                    });
                }
            }
        }
        out
    }

    /// Stops every job without stale markers (a restart continues the series).
    pub async fn stop(&self) {
        let _g = self.inner.apply_lock.lock().await;
        let pools = std::mem::take(&mut *self.inner.pools.write());
        for p in pools.values() {
            p.stop(STOP_SILENT).await;
        }
    }
}
