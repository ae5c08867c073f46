//! Runs rule groups on their schedules and handles reloads.
//!
//! Each group gets a tokio task that sleeps until the group's next aligned
//! tick and evaluates it on the blocking pool (queries and appends block). A
//! reload ([`RuleManager::apply`]) keeps unchanged groups running untouched,
//! carries alert state over to changed groups, and writes stale markers for the
//! output of removed ones.

use crate::alert::AlertSender;
use crate::file::GroupSpec;
use crate::group::{now_ms, Alert, Env, Group, RuleOptions};
use crate::metrics;
use parking_lot::Mutex;
use sightline_model::SampleSink;
use sightline_promql::{Engine, Queryable};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Handle {
    group: Mutex<Group>,
    stopped: AtomicBool,
    wake: tokio::sync::Notify,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Handle {
    fn new(g: Group) -> Arc<Handle> {
        Arc::new(Handle {
            group: Mutex::new(g),
            stopped: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
            task: Mutex::new(None),
        })
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
        if let Some(t) = self.task.lock().take() {
            t.abort();
        }
    }
}

struct Inner {
    engine: Engine,
    db: Arc<dyn Queryable>,
    sink: Arc<dyn SampleSink>,
    sender: Arc<dyn AlertSender>,
    opts: RuleOptions,
    groups: Mutex<Vec<Arc<Handle>>>,
    runtime: Mutex<Option<tokio::runtime::Handle>>,
    loaded_once: AtomicBool,
}

impl Inner {
    fn with_env<R>(&self, f: impl FnOnce(&Env) -> R) -> R {
        let env = Env {
            engine: &self.engine,
            db: self.db.as_ref(),
            sink: self.sink.as_ref(),
            sender: self.sender.as_ref(),
            opts: &self.opts,
        };
        f(&env)
    }
}

/// The rule engine: owns the groups and their evaluation tasks.
#[derive(Clone)]
pub struct RuleManager {
    inner: Arc<Inner>,
}

fn same_group(a: &GroupSpec, b: &GroupSpec) -> bool {
    a.interval == b.interval
        && a.limit == b.limit
        && a.query_offset == b.query_offset
        && a.labels == b.labels
        && a.rules.len() == b.rules.len()
        && a.rules.iter().zip(&b.rules).all(|(x, y)| x.same_as(y))
}

impl RuleManager {
    /// A manager with no groups. Nothing runs until [`RuleManager::start`].
    pub fn new(
        engine: Engine,
        queryable: Arc<dyn Queryable>,
        sink: Arc<dyn SampleSink>,
        sender: Arc<dyn AlertSender>,
        opts: RuleOptions,
    ) -> Self {
        RuleManager {
            inner: Arc::new(Inner {
                engine,
                db: queryable,
                sink,
                sender,
                opts,
                groups: Mutex::new(Vec::new()),
                runtime: Mutex::new(None),
                loaded_once: AtomicBool::new(false),
            }),
        }
    }

    /// The settings.
    pub fn options(&self) -> &RuleOptions {
        &self.inner.opts
    }

    /// Replaces the rule groups (startup and reload). Unchanged groups keep
    /// running; changed ones keep the state of rules with the same name and
    /// labels; removed ones get stale markers. Groups of the first load restore
    /// their `for` state from `ALERTS_FOR_STATE`. Blocking (writes stale markers).
    pub fn apply(&self, specs: Vec<GroupSpec>) {
        let first = !self.inner.loaded_once.swap(true, Ordering::AcqRel);
        let mut groups = self.inner.groups.lock();
        let mut old: HashMap<(String, String), Arc<Handle>> = groups
            .drain(..)
            .map(|h| {
                let k = {
                    let g = h.group.lock();
                    (g.spec.file.clone(), g.spec.name.clone())
                };
                (k, h)
            })
            .collect();
        let rt = self.inner.runtime.lock().clone();
        for spec in specs {
            let key = (spec.file.clone(), spec.name.clone());
            if let Some(h) = old.remove(&key) {
                let unchanged = same_group(&h.group.lock().spec, &spec);
                if unchanged {
                    groups.push(h);
                    continue;
                }
                h.stop();
                let mut g = Group::new(spec, &self.inner.opts, false);
                g.copy_state_from(&h.group.lock());
                let nh = Handle::new(g);
                if let Some(rt) = &rt {
                    spawn(&self.inner, rt, &nh);
                }
                groups.push(nh);
                continue;
            }
            let nh = Handle::new(Group::new(spec, &self.inner.opts, first));
            if let Some(rt) = &rt {
                spawn(&self.inner, rt, &nh);
            }
            groups.push(nh);
        }
        drop(groups);
        let now = now_ms();
        for (_, h) in old {
            h.stop();
            let mut g = h.group.lock();
            self.inner.with_env(|env| g.mark_all_stale(env, now));
        }
    }

    /// Starts evaluating every group on the current tokio runtime.
    pub fn start(&self) -> Result<(), String> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| "RuleManager::start must be called inside a tokio runtime".to_string())?;
        *self.inner.runtime.lock() = Some(rt.clone());
        for h in self.inner.groups.lock().iter() {
            if h.task.lock().is_none() {
                h.stopped.store(false, Ordering::Release);
                spawn(&self.inner, &rt, h);
            }
        }
        Ok(())
    }

    /// Stops all evaluation tasks (state is kept; `start` resumes).
    pub fn stop(&self) {
        *self.inner.runtime.lock() = None;
        for h in self.inner.groups.lock().iter() {
            h.stop();
        }
    }

    /// Evaluates every group once at `ts` (ms), synchronously. For tests,
    /// dry runs and tools; the scheduler uses the same code path.
    pub fn eval_all_at(&self, ts: i64) {
        let groups = self.inner.groups.lock().clone();
        for h in groups {
            let mut g = h.group.lock();
            self.inner.with_env(|env| g.eval(env, ts));
        }
    }

    /// A consistent copy of every group's state, for `/api/v1/rules`.
    pub fn rule_groups(&self) -> Vec<Group> {
        let groups = self.inner.groups.lock().clone();
        groups.iter().map(|h| h.group.lock().clone()).collect()
    }

    /// Pending and firing alerts of every rule, for `/api/v1/alerts`.
    pub fn alerts(&self) -> Vec<Alert> {
        let groups = self.inner.groups.lock().clone();
        let mut out = Vec::new();
        for h in groups {
            let g = h.group.lock();
            for r in &g.rules {
                out.extend(r.active_alerts().cloned());
            }
        }
        out
    }
}

/// Everything a server loads: the groups of `rule_files` (globs, relative to
/// `base`, the configuration file's directory) followed by the groups generated
/// from `slos`. Errors are worded for a human and name file and line.
pub fn load_groups(
    rule_files: &[String],
    base: Option<&std::path::Path>,
    slos: &[crate::slo::SloConfig],
) -> Result<Vec<GroupSpec>, Vec<String>> {
    let mut groups = crate::file::load_globs(rule_files, base)
        .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    groups.extend(crate::slo::generate_groups(slos).map_err(|e| vec![e])?);
    Ok(groups)
}

fn spawn(inner: &Arc<Inner>, rt: &tokio::runtime::Handle, h: &Arc<Handle>) {
    let (inner2, h2) = (inner.clone(), h.clone());
    let task = rt.spawn(run_group(inner2, h2));
    *h.task.lock() = Some(task);
}

async fn run_group(inner: Arc<Inner>, h: Arc<Handle>) {
    let (iv, key, mut next) = {
        let g = h.group.lock();
        let iv = g.interval.as_millis().max(1) as i64;
        (iv, g.key(), g.aligned_ts(now_ms()) + iv)
    };
    loop {
        let wait = next - now_ms();
        if wait > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                _ = h.wake.notified() => {}
            }
        }
        if h.stopped.load(Ordering::Acquire) {
            return;
        }
        if next > now_ms() {
            continue;
        }
        let ts = next;
        let (i2, h2) = (inner.clone(), h.clone());
        let res = tokio::task::spawn_blocking(move || {
            let mut g = h2.group.lock();
            i2.with_env(|env| g.eval(env, ts));
        })
        .await;
        if let Err(e) = res {
            tracing::error!(group = %key, error = %e, "rule group evaluation panicked");
        }
        if h.stopped.load(Ordering::Acquire) {
            return;
        }
        let missed = (now_ms() - ts) / iv - 1;
        if missed > 0 {
            metrics::ITERATIONS_MISSED
                .with_label_values(&[&key])
                .inc_by(missed as f64);
        }
        next = ts + (missed.max(0) + 1) * iv;
    }
}
