//! A configuration turned into what the dispatcher runs: the route tree,
//! integrations per receiver, inhibition rules, time intervals and templates. Built
//! at load time too, so every template or file error surfaces before the config is
//! accepted.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::inhibit::InhibitRule;
use crate::integrations::Integration;
use crate::route::Route;
use crate::template::Library;
use crate::timeinterval::TimeInterval;

/// The runnable form of a [`Config`].
pub struct Compiled {
    /// The source configuration.
    pub config: Config,
    /// Root of the route tree.
    pub route: Route,
    /// Integrations per receiver name.
    pub receivers: HashMap<String, Vec<Arc<Integration>>>,
    /// Receiver names in configuration order.
    pub receiver_names: Vec<String>,
    /// Inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Time intervals by name.
    pub intervals: HashMap<String, Vec<TimeInterval>>,
    /// `global.resolve_timeout`.
    pub resolve_timeout: Duration,
    /// Templates (defaults plus `templates:` files).
    pub lib: Library,
}

/// (key path, text to locate, message).
pub type BuildError = (String, String, String);

impl Compiled {
    /// Compiles `cfg`; `base` is the directory relative paths are resolved against.
    pub fn build(cfg: &Config, base: Option<&Path>) -> Result<Compiled, BuildError> {
        let root_cfg = cfg.route.as_ref().ok_or_else(|| {
            (
                "route".to_string(),
                String::new(),
                "no route provided".to_string(),
            )
        })?;
        let route = Route::compile_root(root_cfg)?;
        let base = base.filter(|b| !b.as_os_str().is_empty());
        let mut receivers = HashMap::new();
        let mut receiver_names = Vec::new();
        for (i, r) in cfg.receivers.iter().enumerate() {
            let ints = Integration::compile_receiver(r, &cfg.global, base)
                .map_err(|(needle, msg)| (format!("receivers[{i}]"), needle, msg))?;
            receivers.insert(r.name.clone(), ints.into_iter().map(Arc::new).collect());
            receiver_names.push(r.name.clone());
        }
        let mut inhibit_rules = Vec::new();
        for (i, r) in cfg.inhibit_rules.iter().enumerate() {
            inhibit_rules.push(InhibitRule::compile(r).map_err(|e| {
                (
                    format!("inhibit_rules[{i}]"),
                    "inhibit_rules".to_string(),
                    e,
                )
            })?);
        }
        let mut intervals = HashMap::new();
        for ti in cfg.time_intervals.iter().chain(&cfg.mute_time_intervals) {
            let mut v = Vec::new();
            for spec in &ti.time_intervals {
                v.push(
                    TimeInterval::compile(spec)
                        .map_err(|e| ("time_intervals".to_string(), ti.name.clone(), e))?,
                );
            }
            intervals.insert(ti.name.clone(), v);
        }
        let mut lib = Library::with_defaults();
        for pat in &cfg.templates {
            let full = match base {
                Some(b) if Path::new(pat).is_relative() => {
                    b.join(pat).to_string_lossy().into_owned()
                }
                _ => pat.clone(),
            };
            let paths = glob::glob(&full).map_err(|e| {
                (
                    "templates".to_string(),
                    pat.clone(),
                    format!("invalid glob: {e}"),
                )
            })?;
            for p in paths.flatten() {
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    (
                        "templates".to_string(),
                        pat.clone(),
                        format!("cannot read {}: {e}", p.display()),
                    )
                })?;
                lib.add(&text).map_err(|e| {
                    (
                        "templates".to_string(),
                        pat.clone(),
                        format!("{}: {e}", p.display()),
                    )
                })?;
            }
        }
        Ok(Compiled {
            config: cfg.clone(),
            route,
            receivers,
            receiver_names,
            inhibit_rules,
            intervals,
            resolve_timeout: cfg.global.resolve_timeout.0,
            lib,
        })
    }

    /// True when notifications of `route` are muted at `now` by its time intervals.
    pub fn time_muted(&self, route: &Route, now: chrono::DateTime<chrono::Utc>) -> bool {
        let any = |names: &[String]| {
            names.iter().any(|n| {
                self.intervals
                    .get(n)
                    .is_some_and(|v| v.iter().any(|t| t.contains(now)))
            })
        };
        if any(&route.mute_time_intervals) {
            return true;
        }
        !route.active_time_intervals.is_empty() && !any(&route.active_time_intervals)
    }
}
