//! One rule group: timing, sequential evaluation of its rules, the alert state
//! machine, `ALERTS`/`ALERTS_FOR_STATE` series, stale markers, resends and the
//! restore of `for` state after a restart.
//!
//! Everything here is synchronous and driven by explicit timestamps, so the
//! state machine can be tested tick by tick; [`crate::manager`] runs it on a
//! timer.

use crate::alert::{AlertSender, AlertState, OutgoingAlert};
use crate::file::{GroupSpec, RuleKind, RuleSpec};
use crate::template::{AlertData, Val};
use sightline_model::{
    is_stale_nan, Labels, LabelsBuilder, Matcher, Sample, SampleSink, TimeSeries, WriteBatch,
    STALE_NAN,
};
use sightline_promql::{Engine, Queryable, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// Engine-wide rule settings (Prometheus' flags and global config).
#[derive(Clone, Debug)]
pub struct RuleOptions {
    /// `global.evaluation_interval` (default 1m).
    pub default_interval: Duration,
    /// `global.rule_query_offset` (default 0).
    pub default_query_offset: Duration,
    /// External labels, visible to templates and added to sent alerts.
    pub external_labels: Labels,
    /// The console URL, for `generatorURL` and `$externalURL`.
    pub external_url: String,
    /// Minimum time between two sends of the same alert (`--rules.alert.resend-delay`, 1m).
    pub resend_delay: Duration,
    /// How long after a restart `for` state may be restored (`--rules.alert.for-outage-tolerance`, 1h).
    pub outage_tolerance: Duration,
    /// Minimum wait before a restored alert fires (`--rules.alert.for-grace-period`, 10m).
    pub for_grace_period: Duration,
    /// How long resolved alerts are kept (and re-sent) (15m in Prometheus).
    pub resolved_retention: Duration,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            default_interval: Duration::from_secs(60),
            default_query_offset: Duration::ZERO,
            external_labels: Labels::empty(),
            external_url: String::new(),
            resend_delay: Duration::from_secs(60),
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            resolved_retention: Duration::from_secs(900),
        }
    }
}

/// What a rule evaluation needs from the outside world.
pub struct Env<'a> {
    /// The PromQL engine.
    pub engine: &'a Engine,
    /// Storage to query (sees earlier rules' output).
    pub db: &'a dyn Queryable,
    /// Where recorded samples and `ALERTS*` series go.
    pub sink: &'a dyn SampleSink,
    /// Where alerts go.
    pub sender: &'a dyn AlertSender,
    /// Settings.
    pub opts: &'a RuleOptions,
}

/// One alert instance of an alerting rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Labels: the sample's (without `__name__`), group and rule labels, `alertname`.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// Current state.
    pub state: AlertState,
    /// The last sample value.
    pub value: f64,
    /// When the alert became active (ms).
    pub active_at: i64,
    /// When it started firing (ms).
    pub fired_at: Option<i64>,
    /// When it resolved (ms).
    pub resolved_at: Option<i64>,
    /// When it was last sent (ms).
    pub last_sent_at: Option<i64>,
    /// `endsAt` of the last send while active (ms).
    pub valid_until: i64,
    /// Since when `keep_firing_for` has been keeping it firing (ms).
    pub keep_firing_since: Option<i64>,
}

/// Health of a rule's last evaluation, as `/api/v1/rules` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    /// Last evaluation succeeded.
    Ok,
    /// Last evaluation failed.
    Err,
}

impl Health {
    /// `unknown`, `ok` or `err`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// A rule and its runtime state.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The rule as loaded.
    pub spec: RuleSpec,
    /// Last evaluation's health.
    pub health: Health,
    /// Last evaluation's error.
    pub last_error: Option<String>,
    /// Wall-clock start of the last evaluation (ms).
    pub last_eval: Option<i64>,
    /// Duration of the last evaluation.
    pub eval_duration: Duration,
    /// Alerts by label set (alerting rules).
    pub active: BTreeMap<Labels, Alert>,
    /// Series written by the previous evaluation, for stale markers.
    prev_series: HashSet<Labels>,
    /// False until `for` state was restored (then `ALERTS*` start being written).
    restored: bool,
}

impl Rule {
    /// A fresh rule; `restored` is false only for rules awaiting restore.
    pub fn new(spec: RuleSpec, restored: bool) -> Self {
        Rule {
            spec,
            health: Health::Unknown,
            last_error: None,
            last_eval: None,
            eval_duration: Duration::ZERO,
            active: BTreeMap::new(),
            prev_series: HashSet::new(),
            restored,
        }
    }

    /// Alerts that are pending or firing.
    pub fn active_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.active
            .values()
            .filter(|a| a.state != AlertState::Inactive)
    }

    /// Firing if any alert fires, else pending if any is pending, else inactive.
    pub fn state(&self) -> AlertState {
        let mut s = AlertState::Inactive;
        for a in self.active.values() {
            match a.state {
                AlertState::Firing => return AlertState::Firing,
                AlertState::Pending => s = AlertState::Pending,
                AlertState::Inactive => {}
            }
        }
        s
    }
}

/// A rule group with its state.
#[derive(Clone, Debug)]
pub struct Group {
    /// The group as loaded.
    pub spec: GroupSpec,
    /// Rules with state, in file order.
    pub rules: Vec<Rule>,
    /// Effective evaluation interval.
    pub interval: Duration,
    /// Effective query offset.
    pub query_offset: Duration,
    /// Wall-clock start of the last evaluation (ms).
    pub last_eval: Option<i64>,
    /// Duration of the last evaluation.
    pub eval_duration: Duration,
    /// Restore `for` state after the first evaluation.
    pub should_restore: bool,
}

/// Current wall-clock time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Group {
    /// Builds a group; `should_restore` is true for groups loaded at startup.
    pub fn new(spec: GroupSpec, opts: &RuleOptions, should_restore: bool) -> Self {
        let interval = spec
            .interval
            .unwrap_or(opts.default_interval)
            .max(Duration::from_millis(1));
        let query_offset = spec.query_offset.unwrap_or(opts.default_query_offset);
        let rules = spec
            .rules
            .iter()
            .map(|r| Rule::new(r.clone(), !(should_restore && r.kind == RuleKind::Alerting)))
            .collect();
        Group {
            spec,
            rules,
            interval,
            query_offset,
            last_eval: None,
            eval_duration: Duration::ZERO,
            should_restore,
        }
    }

    /// The `rule_group` metric label: `file;name`.
    pub fn key(&self) -> String {
        format!("{};{}", self.spec.file, self.spec.name)
    }

    /// Takes over the state of matching rules from `old` (a reload): active
    /// alerts, stale-marker bookkeeping, health.
    pub fn copy_state_from(&mut self, old: &Group) {
        let mut by_key: HashMap<String, Vec<&Rule>> = HashMap::new();
        for r in &old.rules {
            by_key.entry(r.spec.state_key()).or_default().push(r);
        }
        for r in &mut self.rules {
            let Some(list) = by_key.get_mut(&r.spec.state_key()) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            let o = list.remove(0);
            r.active = o.active.clone();
            r.prev_series = o.prev_series.clone();
            r.restored = o.restored;
            r.health = o.health;
            r.last_error = o.last_error.clone();
            r.last_eval = o.last_eval;
            r.eval_duration = o.eval_duration;
        }
        self.last_eval = old.last_eval;
        self.should_restore = old.should_restore;
    }

    /// The evaluation timestamp (ms) at or before `now_ms` aligned to the
    /// interval, shifted by a per-group offset so groups with the same interval
    /// do not all run at once (Prometheus' scheme).
    pub fn aligned_ts(&self, now_ms: i64) -> i64 {
        let iv = self.interval.as_millis().max(1) as i64;
        let h = Labels::from_pairs([
            ("file", self.spec.file.as_str()),
            ("name", self.spec.name.as_str()),
        ])
        .stable_hash();
        let offset = (h % iv as u64) as i64;
        let adj = now_ms - offset;
        adj - adj.rem_euclid(iv) + offset
    }

    /// Evaluates every rule at `ts` (ms; queries run at `ts - query_offset`),
    /// writes outputs, sends alerts, and restores `for` state on the first run.
    pub fn eval(&mut self, env: &Env, ts: i64) {
        let started = Instant::now();
        self.last_eval = Some(now_ms());
        let key = self.key();
        let iv = self.interval;
        let qoff = self.query_offset.as_millis() as i64;
        for rule in &mut self.rules {
            let t0 = Instant::now();
            rule.last_eval = Some(now_ms());
            crate::metrics::EVALUATIONS.with_label_values(&[&key]).inc();
            let res = match rule.spec.kind {
                RuleKind::Recording => eval_recording(rule, env, &self.spec, ts - qoff),
                RuleKind::Alerting => eval_alerting(rule, env, &self.spec, ts, ts - qoff),
            };
            let res = res.and_then(|series| write_outputs(rule, env, series, ts - qoff));
            match res {
                Ok(()) => {
                    rule.health = Health::Ok;
                    rule.last_error = None;
                }
                Err(e) => {
                    crate::metrics::EVALUATION_FAILURES
                        .with_label_values(&[&key])
                        .inc();
                    tracing::warn!(group = %key, rule = %rule.spec.name, error = %e, "rule evaluation failed");
                    rule.health = Health::Err;
                    rule.last_error = Some(e);
                }
            }
            if rule.spec.kind == RuleKind::Alerting {
                send_alerts(rule, env, ts, iv);
            }
            rule.eval_duration = t0.elapsed();
        }
        if self.should_restore {
            self.restore_for_state(env, ts);
            self.should_restore = false;
        }
        self.eval_duration = started.elapsed();
        crate::metrics::GROUP_LAST_DURATION
            .with_label_values(&[&key])
            .set(self.eval_duration.as_secs_f64());
    }

    /// Writes stale markers for everything the group wrote last time (the
    /// group was removed by a reload).
    pub fn mark_all_stale(&mut self, env: &Env, ts: i64) {
        for rule in &mut self.rules {
            let series: Vec<TimeSeries> = rule
                .prev_series
                .drain()
                .map(|labels| TimeSeries {
                    labels,
                    samples: vec![Sample::new(ts, STALE_NAN)],
                    exemplars: Vec::new(),
                })
                .collect();
            if !series.is_empty() {
                if let Err(e) = env.sink.append(WriteBatch {
                    series,
                    metadata: Vec::new(),
                }) {
                    tracing::warn!(error = %e, "writing stale markers failed");
                }
            }
        }
    }

    /// Prometheus' `RestoreForState`: after a restart, continue the `for` timer
    /// of pending alerts from the last `ALERTS_FOR_STATE` sample within the
    /// outage tolerance, granting at least the grace period before firing.
    pub fn restore_for_state(&mut self, env: &Env, ts: i64) {
        let opts = env.opts;
        let mint = ts - opts.outage_tolerance.as_millis() as i64;
        let grace = opts.for_grace_period.as_millis() as i64;
        for rule in &mut self.rules {
            if rule.spec.kind != RuleKind::Alerting || rule.restored {
                continue;
            }
            let hold = rule.spec.for_.as_millis() as i64;
            if hold == 0 || rule.spec.for_ < opts.for_grace_period {
                rule.restored = true;
                continue;
            }
            let Ok(q) = env.db.querier(mint, ts) else {
                rule.restored = true;
                continue;
            };
            for a in rule.active.values_mut() {
                let mut ms = vec![Matcher::equal("__name__", "ALERTS_FOR_STATE")];
                ms.extend(
                    a.labels
                        .iter()
                        .map(|l| Matcher::equal(l.name.clone(), l.value.clone())),
                );
                let Ok(sel) = q.select(&ms) else { continue };
                let want = {
                    let mut b = a.labels.to_builder();
                    b.set("__name__", "ALERTS_FOR_STATE");
                    b.build()
                };
                let Some(series) = sel.iter().find(|s| *s.labels() == want) else {
                    continue;
                };
                let mut last = None;
                let mut it = series.iter();
                while let Some(s) = it.next() {
                    if s.t >= mint && s.t <= ts {
                        last = Some(s);
                    }
                }
                let Some(last) = last else { continue };
                if is_stale_nan(last.v) || last.v.is_nan() {
                    continue;
                }
                let down_at = last.t;
                let mut restored_active = (last.v * 1000.0) as i64;
                let spent = down_at - restored_active;
                let remaining = hold - spent;
                if remaining <= 0 {
                    // It was already firing: keep the original activeAt.
                } else if remaining < grace {
                    restored_active = ts + grace - hold;
                } else {
                    restored_active += ts - down_at;
                }
                a.active_at = restored_active;
            }
            rule.restored = true;
        }
    }
}

/// Runs `expr` at `t` and returns its samples (a scalar becomes one unlabelled sample).
fn query(env: &Env, expr: &str, t: i64) -> Result<Vec<(Labels, f64)>, String> {
    let r = env
        .engine
        .instant_with(env.db, expr, t, None)
        .map_err(|e| e.to_string())?;
    match r.value {
        Value::Vector(v) => Ok(v.into_iter().map(|(l, _, v)| (l, v)).collect()),
        Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

fn eval_recording(
    rule: &mut Rule,
    env: &Env,
    g: &GroupSpec,
    t: i64,
) -> Result<Vec<(Labels, f64)>, String> {
    let vec = query(env, &rule.spec.expr, t)?;
    let mut out = Vec::with_capacity(vec.len());
    let mut seen = HashSet::with_capacity(vec.len());
    for (l, v) in vec {
        let mut b = l.to_builder();
        b.set("__name__", rule.spec.name.clone());
        for lb in g.labels.iter() {
            b.set(lb.name.clone(), lb.value.clone());
        }
        for (n, tpl) in &rule.spec.labels {
            b.set(n.clone(), tpl.source().to_string());
        }
        let labels = b.build();
        if !seen.insert(labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels".into(),
            );
        }
        out.push((labels, v));
    }
    if g.limit > 0 && out.len() > g.limit {
        return Err(format!(
            "exceeded limit of {} with {} series",
            g.limit,
            out.len()
        ));
    }
    Ok(out)
}

fn eval_alerting(
    rule: &mut Rule,
    env: &Env,
    g: &GroupSpec,
    ts: i64,
    qt: i64,
) -> Result<Vec<(Labels, f64)>, String> {
    let vec = query(env, &rule.spec.expr, qt)?;
    let ext: BTreeMap<String, String> = env
        .opts
        .external_labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
    let qfn = |q: &str| -> Result<Vec<Val>, String> {
        let v = query(env, q, qt)?;
        Ok(v.into_iter()
            .map(|(l, v)| {
                Val::sample(
                    l.iter()
                        .map(|x| (x.name.clone(), x.value.clone()))
                        .collect(),
                    v,
                )
            })
            .collect())
    };
    let mut fresh: Vec<(Labels, Alert)> = Vec::with_capacity(vec.len());
    let mut result: HashSet<Labels> = HashSet::with_capacity(vec.len());
    for (l, v) in vec {
        let data = AlertData {
            labels: l
                .iter()
                .map(|x| (x.name.clone(), x.value.clone()))
                .collect(),
            external_labels: ext.clone(),
            external_url: env.opts.external_url.clone(),
            value: v,
        };
        let mut b: LabelsBuilder = l.to_builder();
        b.del("__name__");
        for lb in g.labels.iter() {
            b.set(lb.name.clone(), lb.value.clone());
        }
        for (n, tpl) in &rule.spec.labels {
            b.set(n.clone(), tpl.expand_or_error(&data, Some(&qfn)));
        }
        b.set("alertname", rule.spec.name.clone());
        let labels = b.build();
        let annotations = rule
            .spec
            .annotations
            .iter()
            .map(|(n, tpl)| (n.clone(), tpl.expand_or_error(&data, Some(&qfn))))
            .collect();
        if !result.insert(labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
        fresh.push((
            labels.clone(),
            Alert {
                labels,
                annotations,
                state: AlertState::Pending,
                value: v,
                active_at: ts,
                fired_at: None,
                resolved_at: None,
                last_sent_at: None,
                valid_until: 0,
                keep_firing_since: None,
            },
        ));
    }
    for (l, a) in fresh {
        match rule.active.get_mut(&l) {
            Some(old) if old.state != AlertState::Inactive => {
                old.value = a.value;
                old.annotations = a.annotations;
            }
            _ => {
                rule.active.insert(l, a);
            }
        }
    }
    let hold = rule.spec.for_.as_millis() as i64;
    let kff = rule.spec.keep_firing_for.as_millis() as i64;
    let retention = env.opts.resolved_retention.as_millis() as i64;
    let mut n_active = 0usize;
    rule.active.retain(|l, a| {
        if !result.contains(l) {
            if a.state == AlertState::Firing && kff > 0 {
                let since = *a.keep_firing_since.get_or_insert(ts);
                if ts - since < kff {
                    n_active += 1;
                    return true;
                }
            }
            if a.state == AlertState::Pending || a.resolved_at.is_some_and(|r| ts - r > retention) {
                return false;
            }
            if a.state != AlertState::Inactive {
                a.state = AlertState::Inactive;
                a.resolved_at = Some(ts);
            }
            return true;
        }
        a.keep_firing_since = None;
        n_active += 1;
        if a.state == AlertState::Pending && ts - a.active_at >= hold {
            a.state = AlertState::Firing;
            a.fired_at = Some(ts);
        }
        true
    });
    if g.limit > 0 && n_active > g.limit {
        rule.active.clear();
        return Err(format!(
            "exceeded limit of {} with {} alerts",
            g.limit, n_active
        ));
    }
    if !rule.restored {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(2 * n_active);
    for a in rule.active_alerts() {
        let mut b = a.labels.to_builder();
        b.set("__name__", "ALERTS");
        b.set("alertstate", a.state.as_str());
        out.push((b.build(), 1.0));
        let mut b = a.labels.to_builder();
        b.set("__name__", "ALERTS_FOR_STATE");
        out.push((b.build(), a.active_at.div_euclid(1000) as f64));
    }
    Ok(out)
}

/// Writes a rule's output plus stale markers for series it no longer produces.
fn write_outputs(
    rule: &mut Rule,
    env: &Env,
    out: Vec<(Labels, f64)>,
    t: i64,
) -> Result<(), String> {
    let mut current = HashSet::with_capacity(out.len());
    let mut series = Vec::with_capacity(out.len());
    for (labels, v) in out {
        current.insert(labels.clone());
        series.push(TimeSeries {
            labels,
            samples: vec![Sample::new(t, v)],
            exemplars: Vec::new(),
        });
    }
    for gone in rule.prev_series.difference(&current) {
        series.push(TimeSeries {
            labels: gone.clone(),
            samples: vec![Sample::new(t, STALE_NAN)],
            exemplars: Vec::new(),
        });
    }
    if !series.is_empty() {
        let rep = env
            .sink
            .append(WriteBatch {
                series,
                metadata: Vec::new(),
            })
            .map_err(|e| format!("writing rule output: {e}"))?;
        if let Some(e) = rep.first_error {
            tracing::debug!(rule = %rule.spec.name, error = %e, "some rule samples were rejected");
        }
    }
    rule.prev_series = current;
    Ok(())
}

/// Prometheus' resend logic: firing alerts every resend delay, resolved ones
/// right away and then every resend delay until they are forgotten.
fn send_alerts(rule: &mut Rule, env: &Env, ts: i64, interval: Duration) {
    let resend = env.opts.resend_delay.as_millis() as i64;
    let delta = (interval.as_millis() as i64).max(resend);
    let url = generator_url(&env.opts.external_url, &rule.spec.expr);
    let mut out = Vec::new();
    for a in rule.active.values_mut() {
        let needs = match a.state {
            AlertState::Pending => false,
            _ => match a.last_sent_at {
                None => true,
                Some(last) => a.resolved_at.is_some_and(|r| r > last) || last + resend < ts,
            },
        };
        if !needs {
            continue;
        }
        a.last_sent_at = Some(ts);
        a.valid_until = ts + 4 * delta;
        let mut labels: BTreeMap<String, String> = a
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        for l in env.opts.external_labels.iter() {
            labels
                .entry(l.name.clone())
                .or_insert_with(|| l.value.clone());
        }
        out.push(OutgoingAlert {
            labels,
            annotations: a.annotations.clone(),
            starts_at: a.fired_at.unwrap_or(a.active_at),
            ends_at: a.resolved_at.unwrap_or(a.valid_until),
            generator_url: url.clone(),
        });
    }
    if !out.is_empty() {
        env.sender.send(out);
    }
}

/// `<external_url>/graph?g0.expr=<expr>&g0.tab=1`, as Prometheus links alerts.
pub fn generator_url(external_url: &str, expr: &str) -> String {
    let mut enc = String::with_capacity(expr.len() * 2);
    for b in expr.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                enc.push(b as char)
            }
            b' ' => enc.push('+'),
            _ => enc.push_str(&format!("%{b:02X}")),
        }
    }
    format!(
        "{}/graph?g0.expr={enc}&g0.tab=1",
        external_url.trim_end_matches('/')
    )
}
