//! The dispatcher: aggregation groups per route and group labels, their
//! `group_wait`/`group_interval`/`repeat_interval` timers, and the decision of what
//! each integration is told at each flush.
//!
//! Beyond Alertmanager: a firing alert that becomes silenced or inhibited after it
//! was paged is sent as resolved to integrations with `resolve_when_muted`
//! (PagerDuty by default); resolved alerts stay in their group until every
//! integration that saw them firing was told; deliveries in flight are never
//! duplicated by the next flush.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use sightline_model::Labels;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::alert::{Alert, Fingerprint};
use crate::compiled::Compiled;
use crate::inhibit::Inhibitor;
use crate::integrations::{Integration, Notification};
use crate::metrics;
use crate::nflog::{needs_update, Entry, NfLog};
use crate::persist;
use crate::retry::{self, Outcome, Pacer};
use crate::route::{Route, Timers};
use crate::silence::Silences;
use crate::store::Store;

/// One aggregation group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Route id and group labels.
    pub key: String,
    /// The route's id.
    pub route_id: String,
    /// The route's receiver.
    pub receiver: String,
    /// The group labels.
    pub labels: Labels,
    /// Member alerts.
    pub alerts: BTreeSet<Fingerprint>,
    /// Next flush.
    pub next_flush: Instant,
    /// The route's timers.
    pub timers: Timers,
}

/// Mutable notifier state, behind one lock.
pub struct State {
    /// Current configuration.
    pub cfg: Arc<Compiled>,
    /// Alerts.
    pub store: Store,
    /// Silences.
    pub silences: Silences,
    /// Notification log.
    pub nflog: NfLog,
    /// Aggregation groups by key.
    pub groups: HashMap<String, Group>,
    /// (group key, integration id) with a delivery in progress.
    pub inflight: HashSet<(String, String)>,
    last_housekeeping: Option<Instant>,
}

/// State shared by the dispatcher, the API and delivery tasks.
pub struct Inner {
    /// The state.
    pub state: Mutex<State>,
    /// Wakes the dispatcher loop (new groups, config change).
    pub wake: Notify,
    dirty: AtomicBool,
    dirty_notify: Notify,
    /// HTTP client for integrations.
    pub client: reqwest::Client,
    /// Slack pacing.
    pub pacer: Pacer,
    /// Console base URL.
    pub external_url: String,
    /// Where the snapshot lives.
    pub state_dir: PathBuf,
    /// When the notifier started.
    pub started: DateTime<Utc>,
    /// Set by `stop`.
    pub stopped: AtomicBool,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

/// Minimum time a delivery keeps retrying, even with millisecond group intervals.
const MIN_RETRY_WINDOW: Duration = Duration::from_secs(60);

fn find_route<'a>(root: &'a Route, id: &str) -> Option<&'a Route> {
    let mut found = None;
    root.walk(&mut |r| {
        if found.is_none() && r.id == id {
            found = Some(r);
        }
    });
    found
}

impl State {
    /// A fresh state for `cfg`.
    pub fn new(cfg: Arc<Compiled>) -> Self {
        State {
            cfg,
            store: Store::new(),
            silences: Silences::new(),
            nflog: NfLog::new(),
            groups: HashMap::new(),
            inflight: HashSet::new(),
            last_housekeeping: None,
        }
    }

    /// Puts an alert in the groups of every route it matches.
    pub fn route_alert(&mut self, fp: Fingerprint, labels: &Labels, now: Instant) -> bool {
        let mut created = false;
        let cfg = self.cfg.clone();
        for r in cfg.route.matching(labels) {
            let gl = r.group_labels(labels);
            let key = r.group_key(&gl);
            let g = self.groups.entry(key.clone()).or_insert_with(|| {
                created = true;
                Group {
                    key,
                    route_id: r.id.clone(),
                    receiver: r.receiver.clone(),
                    labels: gl,
                    alerts: BTreeSet::new(),
                    next_flush: now + r.timers.group_wait,
                    timers: r.timers,
                }
            });
            g.alerts.insert(fp);
        }
        created
    }

    /// Rebuilds groups after a configuration change, keeping timers of groups that
    /// still exist.
    pub fn regroup(&mut self) {
        let old = std::mem::take(&mut self.groups);
        let now = Instant::now();
        let alerts: Vec<(Fingerprint, Labels)> = self
            .store
            .iter()
            .map(|a| (a.fingerprint(), a.labels.clone()))
            .collect();
        for (fp, l) in alerts {
            self.route_alert(fp, &l, now);
        }
        for (k, g) in self.groups.iter_mut() {
            if let Some(o) = old.get(k) {
                g.next_flush = o.next_flush;
            }
        }
    }

    /// Fingerprints held by some group.
    fn held(&self) -> HashSet<Fingerprint> {
        self.groups
            .values()
            .flat_map(|g| g.alerts.iter().copied())
            .collect()
    }

    /// Serialises the persistent part of the state.
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let snap = persist::Snapshot {
            version: 1,
            alerts: self.store.iter().cloned().collect(),
            silences: self.silences.iter().cloned().collect(),
            nflog: self.nflog.iter().cloned().collect(),
        };
        serde_json::to_vec(&snap).unwrap_or_default()
    }
}

/// A delivery to start once the lock is released.
struct Job {
    integration: Arc<Integration>,
    notification: Notification,
    entry: Entry,
    deadline: Instant,
}

impl Inner {
    /// Builds the shared state.
    pub fn new(state: State, external_url: String, state_dir: PathBuf) -> Self {
        Inner {
            state: Mutex::new(state),
            wake: Notify::new(),
            dirty: AtomicBool::new(false),
            dirty_notify: Notify::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            pacer: Pacer::new(1.0, 3.0),
            external_url,
            state_dir,
            started: Utc::now(),
            stopped: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Marks the state as changed; the persister writes it within ~100 ms.
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
        self.dirty_notify.notify_one();
    }

    /// Writes the snapshot now if anything changed.
    pub fn persist_now(&self) {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return;
        }
        let bytes = self.state.lock().snapshot_bytes();
        if let Err(e) = persist::write(&self.state_dir, &bytes) {
            tracing::error!(dir = %self.state_dir.display(), error = %e, "cannot persist notifier state");
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Spawns a task the notifier owns (aborted by `stop`).
    pub fn spawn(self: &Arc<Self>, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let h = tokio::spawn(fut);
        let mut t = self.tasks.lock();
        t.retain(|h| !h.is_finished());
        t.push(h.abort_handle());
    }

    /// Aborts every task.
    pub fn abort_all(&self) {
        for h in self.tasks.lock().drain(..) {
            h.abort();
        }
    }

    /// Ingests alerts (already validated) received now.
    pub fn ingest(&self, alerts: Vec<Alert>) {
        let now = Utc::now();
        let inow = Instant::now();
        let mut created = false;
        {
            let mut st = self.state.lock();
            let rt = st.cfg.resolve_timeout;
            for a in alerts {
                let stored = st.store.put(a, now, rt);
                let (fp, labels) = (stored.fingerprint(), stored.labels.clone());
                created |= st.route_alert(fp, &labels, inow);
            }
        }
        self.mark_dirty();
        if created {
            self.wake.notify_one();
        }
    }

    /// The persister loop: at most one snapshot per ~100 ms.
    pub async fn persist_loop(self: Arc<Self>) {
        loop {
            self.dirty_notify.notified().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let me = self.clone();
            let _ = tokio::task::spawn_blocking(move || me.persist_now()).await;
        }
    }

    /// The dispatcher loop.
    pub async fn run(self: Arc<Self>) {
        loop {
            let next = self.tick();
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Flushes due groups and does housekeeping; returns when to run again.
    pub fn tick(self: &Arc<Self>) -> Instant {
        let inow = Instant::now();
        let now = Utc::now();
        let mut jobs = Vec::new();
        let mut next = inow + Duration::from_secs(1);
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            let due: Vec<String> = st
                .groups
                .values()
                .filter(|g| g.next_flush <= inow)
                .map(|g| g.key.clone())
                .collect();
            if !due.is_empty() {
                let cfg = st.cfg.clone();
                let inhibitor = Inhibitor::build(&cfg.inhibit_rules, st.store.iter(), now);
                for key in due {
                    flush(st, &cfg, &inhibitor, &key, now, inow, &mut jobs);
                }
                self.mark_dirty();
            }
            if st
                .last_housekeeping
                .is_none_or(|t| inow.duration_since(t) >= Duration::from_secs(1))
            {
                st.last_housekeeping = Some(inow);
                let held = st.held();
                if st.store.gc(now, |fp| held.contains(&fp)) > 0 {
                    self.mark_dirty();
                }
                if st.silences.gc(now, chrono::Duration::hours(120)) > 0 {
                    self.mark_dirty();
                }
                update_gauges(st, now);
            }
            for g in st.groups.values() {
                next = next.min(g.next_flush);
            }
        }
        for mut job in jobs {
            job.notification.external_url.clone_from(&self.external_url);
            let me = self.clone();
            self.spawn(async move { me.deliver(job).await });
        }
        next.max(inow + Duration::from_millis(1))
    }

    async fn deliver(self: Arc<Self>, job: Job) {
        let start = Instant::now();
        let cfg = self.state.lock().cfg.clone();
        let integ = &job.integration;
        let labels = [integ.kind.as_str(), integ.receiver.as_str()];
        let outcome = match integ.requests(&job.notification, &cfg.lib) {
            Err(e) => Outcome::Rejected(format!("template: {e}")),
            Ok(reqs) => {
                let mut o = Outcome::Delivered;
                for r in &reqs {
                    o = retry::deliver(
                        integ.client.as_ref().unwrap_or(&self.client),
                        &self.pacer,
                        integ.kind,
                        &integ.auth,
                        r,
                        job.deadline,
                        &integ.receiver,
                    )
                    .await;
                    if o != Outcome::Delivered {
                        break;
                    }
                }
                o
            }
        };
        metrics::LATENCY
            .with_label_values(&labels)
            .observe(start.elapsed().as_secs_f64());
        match &outcome {
            Outcome::Delivered => metrics::NOTIFICATIONS.with_label_values(&labels).inc(),
            Outcome::Rejected(r) => {
                tracing::error!(integration = %integ.id, reason = %r, "notification rejected, not retried");
                metrics::FAILED
                    .with_label_values(&[labels[0], labels[1], reason_label(r)])
                    .inc();
            }
            Outcome::GaveUp(r) => {
                tracing::warn!(integration = %integ.id, reason = %r, "notification still failing, will retry at the next flush");
                metrics::FAILED
                    .with_label_values(&[labels[0], labels[1], reason_label(r)])
                    .inc();
            }
        }
        {
            let mut st = self.state.lock();
            st.inflight
                .remove(&(job.entry.group_key.clone(), job.entry.integration.clone()));
            if !matches!(outcome, Outcome::GaveUp(_)) {
                let mut e = job.entry;
                e.timestamp = Utc::now();
                st.nflog.set(e);
            }
        }
        self.mark_dirty();
    }
}

fn reason_label(r: &str) -> &'static str {
    if r.starts_with("template") {
        "template"
    } else if r.starts_with("status_4") && !r.starts_with("status_429") {
        "client_error"
    } else if r.starts_with("status_5") {
        "server_error"
    } else if r.starts_with("rate_limited") {
        "rate_limited"
    } else {
        "other"
    }
}

fn update_gauges(st: &State, now: DateTime<Utc>) {
    let inhibitor = Inhibitor::build(&st.cfg.inhibit_rules, st.store.iter(), now);
    let (mut active, mut suppressed, mut resolved) = (0, 0, 0);
    for a in st.store.iter() {
        if a.resolved_at(now) {
            resolved += 1;
        } else if !st.silences.silenced_by(&a.labels, now).is_empty()
            || !inhibitor
                .inhibited_by(&a.labels, a.fingerprint())
                .is_empty()
        {
            suppressed += 1;
        } else {
            active += 1;
        }
    }
    metrics::ALERTS.with_label_values(&["active"]).set(active);
    metrics::ALERTS
        .with_label_values(&["suppressed"])
        .set(suppressed);
    metrics::ALERTS
        .with_label_values(&["resolved"])
        .set(resolved);
    let c = st.silences.counts(now);
    metrics::SILENCES
        .with_label_values(&["pending"])
        .set(c[0] as i64);
    metrics::SILENCES
        .with_label_values(&["active"])
        .set(c[1] as i64);
    metrics::SILENCES
        .with_label_values(&["expired"])
        .set(c[2] as i64);
}

fn flush(
    st: &mut State,
    cfg: &Arc<Compiled>,
    inhibitor: &Inhibitor<'_>,
    key: &str,
    now: DateTime<Utc>,
    inow: Instant,
    jobs: &mut Vec<Job>,
) {
    let State {
        store,
        silences,
        nflog,
        groups,
        inflight,
        ..
    } = st;
    let Some(group) = groups.get_mut(key) else {
        return;
    };
    let integrations: &[Arc<Integration>] = cfg
        .receivers
        .get(&group.receiver)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // Drop alerts that are gone, and resolved alerts no integration still has to be
    // told about.
    group.alerts.retain(|fp| match store.get(*fp) {
        None => false,
        Some(a) => {
            !a.resolved_at(now)
                || integrations
                    .iter()
                    .any(|i| nflog.get(key, &i.id).is_some_and(|e| e.was_firing(*fp)))
        }
    });
    if group.alerts.is_empty() {
        groups.remove(key);
        nflog.remove_group(key);
        return;
    }
    group.next_flush = inow + group.timers.group_interval;
    if let Some(route) = find_route(&cfg.route, &group.route_id) {
        if cfg.time_muted(route, now) {
            return;
        }
    }
    // Classify members once.
    struct Member<'a> {
        alert: &'a Alert,
        fp: Fingerprint,
        resolved: bool,
        muted: bool,
    }
    let members: Vec<Member> = group
        .alerts
        .iter()
        .filter_map(|fp| store.get(*fp).map(|a| (*fp, a)))
        .map(|(fp, a)| {
            let resolved = a.resolved_at(now);
            let muted = !resolved
                && (!silences.silenced_by(&a.labels, now).is_empty()
                    || !inhibitor.inhibited_by(&a.labels, fp).is_empty());
            Member {
                alert: a,
                fp,
                resolved,
                muted,
            }
        })
        .collect();
    for integ in integrations {
        let ik = (key.to_string(), integ.id.clone());
        if inflight.contains(&ik) {
            continue;
        }
        let entry = nflog.get(key, &integ.id);
        let was_firing = |fp| entry.is_some_and(|e| e.was_firing(fp));
        let was_resolved = |fp| entry.is_some_and(|e| e.was_resolved(fp));
        let mut firing = Vec::new();
        let mut resolved = Vec::new();
        let mut newly_resolved = Vec::new();
        for m in &members {
            if !m.resolved && !m.muted {
                firing.push(m);
            } else if m.resolved {
                if was_firing(m.fp) {
                    newly_resolved.push(m.fp);
                    resolved.push(m);
                } else if was_resolved(m.fp) {
                    resolved.push(m);
                }
            } else if integ.resolve_when_muted && was_firing(m.fp) {
                newly_resolved.push(m.fp);
                resolved.push(m);
            }
        }
        let firing_fps: Vec<Fingerprint> = firing.iter().map(|m| m.fp).collect();
        let resolved_fps: Vec<Fingerprint> = resolved.iter().map(|m| m.fp).collect();
        if !needs_update(
            entry,
            &firing_fps,
            &resolved_fps,
            integ.send_resolved,
            group.timers.repeat_interval,
            now,
        ) {
            continue;
        }
        let new_firing: Vec<Fingerprint> = firing_fps
            .iter()
            .copied()
            .filter(|f| !was_firing(*f))
            .collect();
        let repeat = new_firing.is_empty() && newly_resolved.is_empty();
        let new_entry = Entry {
            group_key: key.to_string(),
            integration: integ.id.clone(),
            firing: firing_fps,
            resolved: resolved_fps,
            timestamp: now,
        };
        let shown_resolved: Vec<Alert> = if integ.send_resolved {
            resolved
                .iter()
                .map(|m| {
                    let mut a = m.alert.clone();
                    if !m.resolved {
                        // Muted after paging: shown as resolved now.
                        a.ends_at = Some(now);
                    }
                    a
                })
                .collect()
        } else {
            Vec::new()
        };
        if firing.is_empty() && shown_resolved.is_empty() {
            // Nothing to say to this integration, but remember the new state.
            nflog.set(new_entry);
            continue;
        }
        inflight.insert(ik);
        jobs.push(Job {
            integration: integ.clone(),
            notification: Notification {
                receiver: group.receiver.clone(),
                group_key: key.to_string(),
                group_labels: group.labels.clone(),
                firing: firing.iter().map(|m| m.alert.clone()).collect(),
                resolved: shown_resolved,
                new_firing,
                newly_resolved,
                repeat,
                external_url: String::new(),
                now,
            },
            entry: new_entry,
            deadline: inow + group.timers.group_interval.max(MIN_RETRY_WINDOW),
        });
    }
}

/// An alert with its computed status, for the API.
#[derive(Debug, Clone)]
pub struct AlertView {
    /// The alert.
    pub alert: Alert,
    /// Active silences muting it.
    pub silenced_by: Vec<String>,
    /// Alerts inhibiting it.
    pub inhibited_by: Vec<Fingerprint>,
    /// Receivers it routes to.
    pub receivers: Vec<String>,
}

impl State {
    /// Every known alert with its status at `now`.
    pub fn alert_views(&self, now: DateTime<Utc>) -> Vec<AlertView> {
        let inhibitor = Inhibitor::build(&self.cfg.inhibit_rules, self.store.iter(), now);
        let mut out: Vec<AlertView> = self
            .store
            .iter()
            .map(|a| {
                let mut receivers: Vec<String> = self
                    .cfg
                    .route
                    .matching(&a.labels)
                    .iter()
                    .map(|r| r.receiver.clone())
                    .collect();
                receivers.dedup();
                AlertView {
                    silenced_by: self.silences.silenced_by(&a.labels, now),
                    inhibited_by: inhibitor.inhibited_by(&a.labels, a.fingerprint()),
                    receivers,
                    alert: a.clone(),
                }
            })
            .collect();
        out.sort_by_key(|v| v.alert.fingerprint());
        out
    }
}
