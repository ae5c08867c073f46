//! Sightline's built-in Alertmanager.
//!
//! Alerts arrive exactly as Prometheus posts them to Alertmanager (through
//! [`Notifier::submit`] or `POST /api/v2/alerts`), are routed by an
//! Alertmanager-syntax configuration, grouped, silenced or inhibited, and delivered
//! to PagerDuty, Slack or webhooks with retries. Its purpose: the right person is
//! paged once, within seconds, and the page resolves when the problem does.
//!
//! Modules:
//! - [`config`]: Alertmanager's YAML, strictly loaded with located errors.
//! - [`matchers`]: the `{a="b", c=~"d"}` matcher syntax.
//! - [`alert`], [`store`]: alerts, fingerprints and merge semantics.
//! - [`route`]: the routing tree and group keys.
//! - [`silence`], [`inhibit`], [`timeinterval`], [`tz`]: what mutes notifications.
//! - [`dispatch`], [`nflog`]: aggregation groups, timers and the notification log.
//! - [`persist`]: the on-disk snapshot.
//! - [`integrations`], [`template`], [`retry`]: rendering and delivering messages.
//! - [`metrics`], [`api`]: self-metrics and the Alertmanager API v2.

#![warn(missing_docs)]

pub mod alert;
pub mod api;
pub mod compiled;
pub mod config;
pub mod dispatch;
pub mod inhibit;
pub mod integrations;
pub mod matchers;
pub mod metrics;
pub mod nflog;
pub mod persist;
pub mod retry;
pub mod route;
pub mod silence;
pub mod store;
pub mod template;
pub mod timeinterval;
pub mod tz;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use sightline_model::Labels;

pub use alert::{Alert, Fingerprint};
pub use config::{finish as finish_config, load_file, load_str, Config, ConfigError};
pub use silence::{Silence, SilenceMatcher};

use compiled::Compiled;
use dispatch::{Inner, State};

/// Why the notifier could not start, reload or accept alerts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration does not compile.
    #[error("invalid notifier configuration: {0}")]
    Config(String),
    /// The state directory could not be read.
    #[error("notifier state: {0}")]
    State(String),
    /// Some submitted alerts were invalid (the valid ones were accepted).
    #[error("invalid alerts: {}", .0.join("; "))]
    InvalidAlerts(Vec<String>),
}

/// Formats labels as `{a="b", c="d"}` (group keys, logs).
pub fn matchers_string(l: &Labels) -> String {
    let mut s = String::from("{");
    for (i, l) in l.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&format!("{}={:?}", l.name, l.value));
    }
    s.push('}');
    s
}

fn compile(cfg: &Config) -> Result<Compiled, Error> {
    Compiled::build(cfg, cfg.base_dir.as_deref())
        .map_err(|(path, _, msg)| Error::Config(format!("{path}: {msg}")))
}

/// The running notifier.
pub struct Notifier {
    inner: Arc<Inner>,
}

impl Notifier {
    /// Starts the notifier: loads persisted alerts, silences and notification log
    /// from `state_dir`, then runs the dispatcher. `external_url` is Sightline's
    /// console base URL used in links. Must be called inside a Tokio runtime.
    pub fn start(
        cfg: Config,
        state_dir: impl Into<PathBuf>,
        external_url: impl Into<String>,
    ) -> Result<Arc<Notifier>, Error> {
        let state_dir = state_dir.into();
        let compiled = Arc::new(compile(&cfg)?);
        let snap = persist::load(&state_dir).map_err(Error::State)?;
        let mut state = State::new(compiled);
        for a in snap.alerts {
            state.store.restore(a);
        }
        for s in snap.silences {
            state.silences.restore(s);
        }
        for e in snap.nflog {
            state.nflog.set(e);
        }
        state.regroup();
        let inner = Arc::new(Inner::new(
            state,
            external_url.into().trim_end_matches('/').to_string(),
            state_dir,
        ));
        inner.spawn(inner.clone().run());
        inner.spawn(inner.clone().persist_loop());
        Ok(Arc::new(Notifier { inner }))
    }

    /// Replaces the configuration; groups are rebuilt, the notification log keeps
    /// already-sent notifications from repeating.
    pub fn apply_config(&self, cfg: Config) -> Result<(), Error> {
        let compiled = Arc::new(compile(&cfg)?);
        {
            let mut st = self.inner.state.lock();
            st.cfg = compiled;
            st.regroup();
        }
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Submits alerts as Prometheus posts them. Invalid alerts are reported, the
    /// valid ones are accepted.
    pub fn submit(&self, alerts: Vec<Alert>) -> Result<(), Error> {
        let mut bad = Vec::new();
        let mut good = Vec::with_capacity(alerts.len());
        for a in alerts {
            match a.validate() {
                Ok(()) => good.push(a),
                Err(e) => bad.push(e),
            }
        }
        if !good.is_empty() {
            self.inner.ingest(good);
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidAlerts(bad))
        }
    }

    /// The Alertmanager API v2 routes (`/api/v2/...`).
    pub fn router(&self) -> axum::Router {
        api::router(self.inner.clone())
    }

    /// Creates or updates a silence (as `POST /api/v2/silences`); returns its id.
    pub fn add_silence(&self, s: Silence) -> Result<String, silence::SilenceError> {
        let r = self
            .inner
            .state
            .lock()
            .silences
            .upsert(s, chrono::Utc::now());
        if r.is_ok() {
            self.inner.mark_dirty();
            self.inner.wake.notify_one();
        }
        r
    }

    /// Expires a silence now (as `DELETE /api/v2/silence/{id}`).
    pub fn expire_silence(&self, id: &str) -> Result<(), silence::SilenceError> {
        let r = self
            .inner
            .state
            .lock()
            .silences
            .expire(id, chrono::Utc::now());
        if r.is_ok() {
            self.inner.mark_dirty();
            self.inner.wake.notify_one();
        }
        r
    }

    /// Every known alert with its status.
    pub fn alerts(&self) -> Vec<dispatch::AlertView> {
        self.inner.state.lock().alert_views(chrono::Utc::now())
    }

    /// Stops the dispatcher and delivery tasks and writes the final snapshot.
    pub fn stop(&self) {
        if self.inner.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.inner.abort_all();
        self.inner.mark_dirty();
        self.inner.persist_now();
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}
