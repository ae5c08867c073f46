//! Applying a configuration while running (SIGHUP, `POST /-/reload`).
//!
//! A reload re-reads the file the server started with, validates it completely, and
//! only then applies it: scrape jobs are diffed by the scrape manager (unchanged
//! targets keep scraping without a gap) and storage retention is updated. An invalid
//! file changes nothing and the error, with its location, is returned and logged.
//! Listeners and the data directory are fixed for the life of the process.

use std::sync::Arc;

use once_cell::sync::Lazy;
use prometheus::{register_int_counter_vec, register_int_gauge, IntCounterVec, IntGauge};

use crate::app::AppState;

static RELOADS: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_config_reloads_total",
        "Configuration reloads by result.",
        &["result"]
    )
    .expect("metric registers once")
});
static LAST_RELOAD_OK: Lazy<IntGauge> = Lazy::new(|| {
    register_int_gauge!(
        "sightline_config_last_reload_successful",
        "Whether the last configuration reload attempt was successful."
    )
    .expect("metric registers once")
});

/// Pushes the current configuration's scrape jobs (plus the built-in ones) to the
/// scrape manager.
pub async fn apply_scrape(state: &Arc<AppState>) {
    let (globals, jobs) = {
        let loaded = state.config.read();
        let cfg = &loaded.config;
        let mut jobs = cfg.scrape_configs.clone();
        jobs.extend(crate::self_jobs::builtin_jobs(
            cfg,
            state.listen_addr,
            state.demo.is_some(),
        ));
        (cfg.scrape_globals(), jobs)
    };
    state.scrape.apply(globals, jobs).await;
    LAST_RELOAD_OK.set(1);
}

/// Re-reads and applies the configuration file. Returns the located error on failure.
pub async fn reload(state: &Arc<AppState>) -> Result<(), String> {
    let _guard = state.reload_lock.lock().await;
    let source = state.config.read().source.clone();
    let Some(path) = source else {
        tracing::info!("reload requested; running on built-in defaults, nothing to re-read");
        RELOADS.with_label_values(&["success"]).inc();
        return Ok(());
    };
    let loaded = match tokio::task::spawn_blocking(move || sightline_config::load_file(&path)).await
    {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => {
            RELOADS.with_label_values(&["failure"]).inc();
            LAST_RELOAD_OK.set(0);
            state
                .last_reload_ok
                .store(false, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(error = %e, "configuration reload failed; keeping the running configuration");
            return Err(e.to_string());
        }
        Err(e) => return Err(format!("reload task failed: {e}")),
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    if let Err(e) = state.notifier.apply_config(loaded.notifier.clone()) {
        RELOADS.with_label_values(&["failure"]).inc();
        LAST_RELOAD_OK.set(0);
        state
            .last_reload_ok
            .store(false, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(error = %e, "alerting configuration rejected; keeping the running configuration");
        return Err(e.to_string());
    }
    state.tsdb.reload_config(loaded.config.storage.tsdb.clone());
    let groups = loaded.rule_groups.clone();
    let rules = state.rules.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || rules.apply(groups)).await {
        tracing::error!(error = %e, "applying rule groups failed");
    }
    *state.config.write() = loaded;
    *state.last_config_time.write() = std::time::SystemTime::now();
    state
        .last_reload_ok
        .store(true, std::sync::atomic::Ordering::Relaxed);
    apply_scrape(state).await;
    RELOADS.with_label_values(&["success"]).inc();
    tracing::info!("configuration reloaded");
    Ok(())
}

/// Reloads on every SIGHUP until the process ends.
pub async fn on_sighup(state: Arc<AppState>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot install the SIGHUP handler; use POST /-/reload");
        return;
    };
    while hup.recv().await.is_some() {
        let _ = reload(&state).await;
    }
}
