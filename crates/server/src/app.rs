//! The shared application state and the startup/shutdown sequence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use parking_lot::RwLock;
use sightline_config::LoadedConfig;
use sightline_hostmetrics::{HostCollector, HostCollectorOptions};
use sightline_model::SampleSink;
use sightline_scrape::ScrapeManager;
use sightline_tsdb::Tsdb;
use tokio::net::TcpListener;

use crate::backpressure::{AdmissionGate, GatedSink};
use crate::demo::DemoFleet;

/// What `sightline serve` was asked to do.
pub struct ServeOptions {
    /// The validated configuration.
    pub loaded: LoadedConfig,
    /// `--data-dir`, overriding `storage.path`.
    pub data_dir: Option<PathBuf>,
    /// `--listen-address`, overriding `server.listen_address`.
    pub listen_address: Option<String>,
    /// Run the demo workload too.
    pub demo: bool,
}

/// State shared by every handler.
pub struct AppState {
    /// The configuration currently applied.
    pub config: RwLock<LoadedConfig>,
    /// The metrics TSDB.
    pub tsdb: Arc<Tsdb>,
    /// The built-in Alertmanager.
    pub notifier: Arc<sightline_notifier::Notifier>,
    /// Recording and alerting rules, SLO rules included.
    pub rules: sightline_rules::manager::RuleManager,
    /// PromQL evaluation for the HTTP API (and, later, rules).
    pub query: Arc<sightline_prom_api::QueryApi>,
    /// The sink push protocols write to (the TSDB behind the admission gate).
    pub ingest: Arc<dyn SampleSink>,
    /// Scrape jobs.
    pub scrape: ScrapeManager,
    /// The node_exporter-compatible host collector.
    pub host: HostCollector,
    /// The demo fleet, when `--demo` is on.
    pub demo: Option<DemoFleet>,
    /// The address the main listener is bound to (resolved port).
    pub listen_addr: SocketAddr,
    /// True once startup finished; `/-/ready` answers 503 before.
    pub ready: AtomicBool,
    /// Serialises reloads.
    pub reload_lock: tokio::sync::Mutex<()>,
    /// When the process started.
    pub started_at: std::time::SystemTime,
    /// Whether the last reload succeeded.
    pub last_reload_ok: AtomicBool,
    /// When the configuration in effect was loaded.
    pub last_config_time: RwLock<std::time::SystemTime>,
}

/// Runs the server until SIGINT/SIGTERM.
pub async fn run(opts: ServeOptions) -> anyhow::Result<()> {
    crate::self_metrics::init();
    let cfg = opts.loaded.config.clone();
    let data_dir = opts
        .data_dir
        .clone()
        .or_else(|| cfg.storage.path.clone())
        .unwrap_or_else(|| PathBuf::from("data"));
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let listen = opts
        .listen_address
        .clone()
        .unwrap_or_else(|| cfg.server.listen_address.clone());

    // Bind every listener first: a port conflict should fail fast, before a long WAL replay.
    let main_listener = bind(&listen, "server.listen_address").await?;
    let listen_addr = main_listener.local_addr()?;
    let otlp_http = match cfg.server.otlp_http_listen_address.as_str() {
        "" => None,
        addr => Some(bind(addr, "server.otlp_http_listen_address").await?),
    };
    let otlp_grpc = match cfg.server.otlp_grpc_listen_address.as_str() {
        "" => None,
        addr => Some(bind(addr, "server.otlp_grpc_listen_address").await?),
    };

    tracing::info!(dir = %data_dir.display(), "opening metrics storage");
    let tsdb_dir = data_dir.join("metrics");
    let tsdb_cfg = cfg.storage.tsdb.clone();
    let tsdb = tokio::task::spawn_blocking(move || Tsdb::open(&tsdb_dir, tsdb_cfg))
        .await?
        .context("cannot open the metrics storage")?;

    let external_url = cfg
        .server
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", crate::self_jobs::self_target(listen_addr)));
    let notifier = sightline_notifier::Notifier::start(
        opts.loaded.notifier.clone(),
        data_dir.join("alerting"),
        external_url.clone(),
    )
    .context("cannot start the notifier")?;

    let query = Arc::new(sightline_prom_api::QueryApi::new(
        sightline_prom_api::TsdbQueryable(tsdb.clone()),
        &cfg.query,
    ));
    let rules = start_rules(&opts.loaded, &tsdb, &query, &notifier, &external_url).await?;

    let gate = AdmissionGate::new(
        "metrics",
        cfg.server.max_concurrent_ingest,
        cfg.server.ingest_queue_timeout.get(),
    );
    let ingest: Arc<dyn SampleSink> = Arc::new(GatedSink::new(tsdb.clone(), gate));
    let state = Arc::new(AppState {
        config: RwLock::new(opts.loaded),
        tsdb: tsdb.clone(),
        notifier: notifier.clone(),
        query,
        rules,
        ingest: ingest.clone(),
        scrape: ScrapeManager::new(tsdb.clone()),
        host: HostCollector::new(HostCollectorOptions::default()),
        demo: opts.demo.then(DemoFleet::default),
        listen_addr,
        ready: AtomicBool::new(false),
        reload_lock: tokio::sync::Mutex::new(()),
        started_at: std::time::SystemTime::now(),
        last_reload_ok: AtomicBool::new(true),
        last_config_time: RwLock::new(std::time::SystemTime::now()),
    });

    crate::reload::apply_scrape(&state).await;

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();

    let app = crate::routes::router(state.clone(), &cfg.server);
    serve_http(
        &mut servers,
        main_listener,
        app,
        stop_rx.clone(),
        "Prometheus API, remote_write, /metrics",
    )?;
    if let Some(l) = otlp_http {
        let app = sightline_otlp::http_router(ingest.clone()).layer(
            axum::extract::DefaultBodyLimit::max(cfg.server.max_request_body.0 as usize),
        );
        serve_http(&mut servers, l, app, stop_rx.clone(), "OTLP/HTTP")?;
    }
    if let Some(l) = otlp_grpc {
        tracing::info!(address = %l.local_addr()?, "listening: OTLP/gRPC");
        let svc = sightline_otlp::grpc_service(ingest.clone());
        let mut rx = stop_rx.clone();
        servers.spawn(async move {
            tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(l),
                    async move {
                        let _ = rx.changed().await;
                    },
                )
                .await
                .context("OTLP/gRPC listener failed")
        });
    }

    state.ready.store(true, Ordering::SeqCst);
    tracing::info!("Sightline is ready");

    let reload_state = state.clone();
    tokio::spawn(async move { crate::reload::on_sighup(reload_state).await });

    let result = tokio::select! {
        _ = &mut shutdown => Ok(()),
        Some(r) = servers.join_next() => r.map_err(anyhow::Error::from).and_then(|r| r),
    };
    tracing::info!("shutting down");
    state.ready.store(false, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    state.scrape.stop().await;
    state.rules.stop();
    state.notifier.stop();
    while servers.join_next().await.is_some() {}
    let t = tsdb.clone();
    tokio::task::spawn_blocking(move || t.close())
        .await?
        .context("closing the metrics storage")?;
    tracing::info!("stopped cleanly");
    result
}

/// Builds the rule engine over the TSDB, delivering alerts to the notifier (and to
/// `alerting.alertmanagers`), loads the configured groups and starts evaluation.
async fn start_rules(
    loaded: &LoadedConfig,
    tsdb: &Arc<Tsdb>,
    query: &Arc<sightline_prom_api::QueryApi>,
    notifier: &Arc<sightline_notifier::Notifier>,
    external_url: &str,
) -> anyhow::Result<sightline_rules::manager::RuleManager> {
    let cfg = &loaded.config;
    let urls: Vec<String> = cfg
        .alerting
        .alertmanagers
        .iter()
        .flat_map(|a| a.urls())
        .collect();
    let forward = if urls.is_empty() {
        None
    } else {
        Some(
            sightline_rules::alert::HttpAlertSender::new(urls, Default::default())
                .map_err(|e| anyhow::anyhow!("alerting.alertmanagers: {e}"))?,
        )
    };
    let opts = sightline_rules::group::RuleOptions {
        default_interval: cfg.global.evaluation_interval.get(),
        default_query_offset: cfg
            .global
            .rule_query_offset
            .map(|d| d.get())
            .unwrap_or_default(),
        external_labels: sightline_model::Labels::from_pairs(cfg.global.external_labels.clone()),
        external_url: external_url.to_string(),
        ..Default::default()
    };
    let rules = sightline_rules::manager::RuleManager::new(
        query.engine().clone(),
        Arc::new(sightline_prom_api::TsdbQueryable(tsdb.clone())),
        tsdb.clone(),
        Arc::new(crate::alert_bridge::AlertBridge::new(
            notifier.clone(),
            forward,
        )),
        opts,
    );
    let groups = loaded.rule_groups.clone();
    let count = groups.len();
    let r = rules.clone();
    tokio::task::spawn_blocking(move || r.apply(groups)).await?;
    rules
        .start()
        .map_err(|e| anyhow::anyhow!("cannot start the rule engine: {e}"))?;
    tracing::info!(groups = count, "rule engine started");
    Ok(rules)
}

/// Binds `addr`, naming the configuration key in the error.
async fn bind(addr: &str, key: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({key})"))
}

/// Serves `app` on `listener` until the stop signal, as one task of `servers`.
fn serve_http(
    servers: &mut tokio::task::JoinSet<anyhow::Result<()>>,
    listener: TcpListener,
    app: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
    what: &'static str,
) -> anyhow::Result<()> {
    tracing::info!(address = %listener.local_addr()?, "listening: {what}");
    servers.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await
            .with_context(|| format!("{what} listener failed"))
    });
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}
