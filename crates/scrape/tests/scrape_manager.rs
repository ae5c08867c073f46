//! End-to-end scraping against a local HTTP server: formats, compression, failures,
//! staleness, label rules, authentication, file discovery and reloads.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sightline_model::{
    is_stale_nan, AppendError, AppendReport, Labels, MetricType, Sample, SampleSink, WriteBatch,
};
use sightline_scrape::{Health, ManagerOptions, ScrapeConfig, ScrapeGlobals, ScrapeManager};

const TEXT: &str = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 1027\nhttp_requests_total{code=\"500\"} 3\ntemp_celsius 21.5\n";
const OM: &str = "# TYPE build info\n# HELP build Build info.\nbuild_info{version=\"1.2\"} 1\n# TYPE lat_seconds histogram\n# UNIT lat_seconds seconds\nlat_seconds_bucket{le=\"0.1\"} 4 # {trace_id=\"abc\"} 0.05 1700000000.5\nlat_seconds_bucket{le=\"+Inf\"} 5\nlat_seconds_sum 0.7\nlat_seconds_count 5\nlat_seconds_created 1700000000\n# EOF\n";

#[derive(Default)]
struct Srv {
    requests: Mutex<Vec<(String, HeaderMap)>>,
    dynamic: Mutex<String>,
}

async fn handler(
    State(s): State<Arc<Srv>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    s.requests.lock().unwrap().push((path.clone(), headers));
    let text = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    match path.as_str() {
        "text" => (text, TEXT).into_response(),
        "om" => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            OM,
        )
            .into_response(),
        "gzip" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(b"zipped_metric 42\n").unwrap();
            (
                [
                    (header::CONTENT_TYPE, "text/plain; version=0.0.4"),
                    (header::CONTENT_ENCODING, "gzip"),
                ],
                enc.finish().unwrap(),
            )
                .into_response()
        }
        "fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "invalid" => (text, "ok 1\nnot valid {\n").into_response(),
        "many" => {
            let body: String = (0..20).map(|i| format!("m{{i=\"{i}\"}} {i}\n")).collect();
            (text, body).into_response()
        }
        "conflict" => (
            text,
            "conf{job=\"exposed\",instance=\"inner\"} 1\ngo_gc 2\nkeep_me 3\n",
        )
            .into_response(),
        "dyn" => (text, s.dynamic.lock().unwrap().clone()).into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_millis(400)).await;
            (text, "late 1\n").into_response()
        }
        _ => (text, "plain 1\n").into_response(),
    }
}

async fn server() -> (SocketAddr, Arc<Srv>) {
    let srv = Arc::new(Srv::default());
    let app = Router::new()
        .route("/{*path}", get(handler))
        .with_state(srv.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, srv)
}

#[derive(Default)]
struct Rec {
    batches: Mutex<Vec<WriteBatch>>,
}

impl SampleSink for Rec {
    fn append(&self, batch: WriteBatch) -> Result<AppendReport, AppendError> {
        self.batches.lock().unwrap().push(batch);
        Ok(AppendReport::default())
    }
}

impl Rec {
    /// Every sample of series named `name` in job `job`, in write order.
    fn samples(&self, name: &str, job: &str) -> Vec<(Labels, Sample)> {
        let b = self.batches.lock().unwrap();
        b.iter()
            .flat_map(|b| b.series.iter())
            .filter(|s| s.labels.metric_name() == Some(name) && s.labels.get("job") == Some(job))
            .flat_map(|s| s.samples.iter().map(|x| (s.labels.clone(), *x)))
            .collect()
    }

    fn last(&self, name: &str, job: &str) -> Option<f64> {
        self.samples(name, job).last().map(|(_, s)| s.v)
    }

    fn all_series(&self) -> Vec<sightline_model::TimeSeries> {
        let b = self.batches.lock().unwrap();
        b.iter().flat_map(|b| b.series.iter().cloned()).collect()
    }
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..250 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn job(yaml: &str) -> ScrapeConfig {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"))
}

fn simple(name: &str, addr: SocketAddr, path: &str, extra: &str) -> ScrapeConfig {
    job(&format!(
        "job_name: {name}\nscrape_interval: 200ms\nscrape_timeout: 150ms\nmetrics_path: {path}\nstatic_configs: [{{targets: ['{addr}']}}]\n{extra}"
    ))
}

fn manager(rec: &Arc<Rec>) -> ScrapeManager {
    ScrapeManager::with_options(
        rec.clone(),
        ManagerOptions {
            file_sd_poll: Duration::from_millis(50),
            offset_seed: 0,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_text_openmetrics_and_gzip() {
    let (addr, srv) = server().await;
    let rec = Arc::new(Rec::default());
    let m = manager(&rec);
    m.apply(
        ScrapeGlobals::default(),
        vec![
            simple("text", addr, "/text", ""),
            simple("om", addr, "/om", ""),
            simple("gz", addr, "/gzip", ""),
        ],
    )
    .await;
    wait_for("three successful scrapes", || {
        ["text", "om", "gz"]
            .iter()
            .all(|j| rec.last("up", j) == Some(1.0))
    })
    .await;

    let reqs = rec.samples("http_requests_total", "text");
    let (l, s) = &reqs[0];
    assert_eq!(l.get("instance"), Some(addr.to_string().as_str()));
    assert!(reqs
        .iter()
        .any(|(l, s)| l.get("code") == Some("200") && s.v == 1027.0));
    assert!(s.t > 1_600_000_000_000, "scrape timestamp in ms");
    assert_eq!(rec.last("temp_celsius", "text"), Some(21.5));
    assert_eq!(rec.last("scrape_samples_scraped", "text"), Some(3.0));
    assert_eq!(
        rec.last("scrape_samples_post_metric_relabeling", "text"),
        Some(3.0)
    );
    assert_eq!(rec.samples("scrape_series_added", "text")[0].1.v, 3.0);
    assert!(rec.last("scrape_duration_seconds", "text").unwrap() > 0.0);

    // OpenMetrics: exemplars kept, _created skipped, metadata reported once.
    assert_eq!(rec.last("build_info", "om"), Some(1.0));
    assert!(rec.samples("lat_seconds_created", "om").is_empty());
    let series = rec.all_series();
    let bucket = series
        .iter()
        .find(|s| s.labels.get("le") == Some("0.1") && !s.exemplars.is_empty())
        .expect("bucket with exemplar");
    assert_eq!(bucket.exemplars[0].labels.get("trace_id"), Some("abc"));
    assert_eq!(bucket.exemplars[0].t, 1_700_000_000_500);
    {
        let b = rec.batches.lock().unwrap();
        let lat: Vec<_> = b
            .iter()
            .flat_map(|b| b.metadata.iter())
            .filter(|m| m.metric_family_name == "lat_seconds")
            .collect();
        assert_eq!(lat.len(), 1, "metadata sent only when it changes");
        assert_eq!(lat[0].metric_type, MetricType::Histogram);
        assert_eq!(lat[0].unit, "seconds");
    }
    let md = m.target_metadata(
        &[sightline_model::Matcher::equal("job", "om")],
        Some("lat_seconds"),
        None,
    );
    assert_eq!(md.len(), 1);
    assert_eq!(md[0].metric_type, MetricType::Histogram);

    assert_eq!(rec.last("zipped_metric", "gz"), Some(42.0));

    let reqs = srv.requests.lock().unwrap().clone();
    let (_, h) = reqs.iter().find(|(p, _)| p == "gzip").unwrap();
    assert!(h[header::ACCEPT_ENCODING]
        .to_str()
        .unwrap()
        .contains("gzip"));
    assert!(h[header::ACCEPT]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text;version=1.0.0"));
    assert_eq!(h["x-prometheus-scrape-timeout-seconds"], "0.15");

    let t = m.targets();
    assert_eq!(t.active.len(), 3);
    for a in &t.active {
        assert_eq!(a.health, Health::Up, "{a:?}");
        assert!(a.last_error.is_empty());
        assert_eq!(a.scrape_interval.to_string(), "200ms");
        assert!(a.last_scrape.is_some());
        assert!(a.scrape_url.starts_with("http://127.0.0.1:"));
    }
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_mark_target_down() {
    let (addr, _srv) = server().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let rec = Arc::new(Rec::default());
    let m = manager(&rec);
    m.apply(
        ScrapeGlobals::default(),
        vec![
            simple("e500", addr, "/fail", ""),
            simple("closed", closed, "/metrics", ""),
            simple("invalid", addr, "/invalid", ""),
            simple("limit", addr, "/many", "sample_limit: 10"),
            simple("nolimit", addr, "/many", "sample_limit: 20"),
            simple("big", addr, "/text", "body_size_limit: 10B"),
            simple("slow", addr, "/slow", ""),
        ],
    )
    .await;
    let jobs = [
        "e500", "closed", "invalid", "limit", "nolimit", "big", "slow",
    ];
    wait_for("every job scraped", || {
        jobs.iter().all(|j| rec.last("up", j).is_some())
            && m.targets()
                .active
                .iter()
                .all(|a| a.health != Health::Unknown)
    })
    .await;
    for j in ["e500", "closed", "invalid", "limit", "big", "slow"] {
        assert_eq!(rec.last("up", j), Some(0.0), "{j}");
    }
    assert_eq!(rec.last("up", "nolimit"), Some(1.0));
    assert!(
        rec.samples("m", "limit").is_empty(),
        "no samples from a failed scrape"
    );
    assert!(rec.samples("ok", "invalid").is_empty());
    let err = |job: &str| {
        m.targets()
            .active
            .into_iter()
            .find(|a| a.scrape_pool == job)
            .unwrap()
    };
    assert!(
        err("e500").last_error.contains("HTTP status 500"),
        "{}",
        err("e500").last_error
    );
    assert!(!err("closed").last_error.is_empty());
    assert!(
        err("invalid").last_error.starts_with("line 2:"),
        "{}",
        err("invalid").last_error
    );
    assert_eq!(err("limit").last_error, "sample limit exceeded");
    assert_eq!(rec.last("scrape_samples_scraped", "limit"), Some(20.0));
    assert_eq!(
        rec.last("scrape_samples_post_metric_relabeling", "limit"),
        Some(20.0)
    );
    assert_eq!(err("limit").health, Health::Down);
    assert!(
        err("big")
            .last_error
            .starts_with("body size limit exceeded"),
        "{}",
        err("big").last_error
    );
    assert_eq!(err("slow").last_error, "scrape timed out after 150ms");
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staleness_when_series_and_target_disappear() {
    let (addr, srv) = server().await;
    *srv.dynamic.lock().unwrap() = "a 1\nb 2\nwith_ts 3 1000\n".into();
    let rec = Arc::new(Rec::default());
    let m = manager(&rec);
    let cfg = simple("dyn", addr, "/dyn", "");
    m.apply(ScrapeGlobals::default(), vec![cfg.clone()]).await;
    wait_for("b scraped", || rec.last("b", "dyn") == Some(2.0)).await;

    *srv.dynamic.lock().unwrap() = "a 1\n".into();
    wait_for("b stale", || rec.last("b", "dyn").is_some_and(is_stale_nan)).await;
    // Series with explicit timestamps are not marked stale.
    assert!(!rec
        .samples("with_ts", "dyn")
        .iter()
        .any(|(_, s)| is_stale_nan(s.v)));
    let b = rec.samples("b", "dyn");
    let stale_t = b.last().unwrap().1.t;
    let a_at_same = rec
        .samples("a", "dyn")
        .iter()
        .any(|(_, s)| s.t == stale_t && s.v == 1.0);
    assert!(a_at_same, "stale marker written at the scrape timestamp");

    // Reapplying the same configuration keeps the loop: no stale markers.
    let before = rec.samples("a", "dyn").len();
    m.apply(ScrapeGlobals::default(), vec![cfg.clone()]).await;
    wait_for("more scrapes", || {
        rec.samples("a", "dyn").len() >= before + 2
    })
    .await;
    assert!(!rec
        .samples("a", "dyn")
        .iter()
        .any(|(_, s)| is_stale_nan(s.v)));

    // A changed job hands its loops over: still no stale markers for the same target.
    let mut changed = cfg.clone();
    changed.metric_relabel_configs =
        vec![
            serde_yaml::from_str("{source_labels: [__name__], regex: nothing, action: drop}")
                .unwrap(),
        ];
    m.apply(ScrapeGlobals::default(), vec![changed]).await;
    let before = rec.samples("a", "dyn").len();
    wait_for("scrapes after reload", || {
        rec.samples("a", "dyn").len() >= before + 2
    })
    .await;
    assert!(!rec
        .samples("a", "dyn")
        .iter()
        .any(|(_, s)| is_stale_nan(s.v)));

    // Removing the job marks its series and report series stale.
    m.apply(ScrapeGlobals::default(), vec![]).await;
    assert!(rec.last("a", "dyn").is_some_and(is_stale_nan));
    assert!(rec.last("up", "dyn").is_some_and(is_stale_nan));
    assert!(rec
        .last("scrape_duration_seconds", "dyn")
        .is_some_and(is_stale_nan));
    assert!(m.targets().active.is_empty());
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_scrape_marks_previous_series_stale() {
    let (addr, srv) = server().await;
    *srv.dynamic.lock().unwrap() = "a 1\n".into();
    let rec = Arc::new(Rec::default());
    let m = manager(&rec);
    m.apply(
        ScrapeGlobals::default(),
        vec![simple("dyn", addr, "/dyn", "")],
    )
    .await;
    wait_for("a scraped", || rec.last("a", "dyn") == Some(1.0)).await;
    *srv.dynamic.lock().unwrap() = "a{ 1\n".into();
    wait_for("a stale", || rec.last("a", "dyn").is_some_and(is_stale_nan)).await;
    assert_eq!(rec.last("up", "dyn"), Some(0.0));
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honor_labels_and_metric_relabel() {
    let (addr, _srv) = server().await;
    let rec = Arc::new(Rec::default());
    let m = manager(&rec);
    let drop_go =
        "metric_relabel_configs: [{source_labels: [__name__], regex: 'go_.*', action: drop}]";
    m.apply(
        ScrapeGlobals::default(),
        vec![
            simple("plain", addr, "/conflict", drop_go),
            simple("honor", addr, "/conflict", "honor_labels: true"),
        ],
    )
    .await;
    wait_for("both scraped", || {
        rec.last("up", "plain") == Some(1.0) && rec.last("up", "honor") == Some(1.0)
    })
    .await;
    let (l, _) = &rec.samples("conf", "plain")[0];
    assert_eq!(l.get("exported_job"), Some("exposed"));
    assert_eq!(l.get("exported_instance"), Some("inner"));
    assert_eq!(l.get("instance"), Some(addr.to_string().as_str()));
    assert!(
        rec.samples("go_gc", "plain").is_empty(),
        "dropped by metric relabelling"
    );
    assert_eq!(rec.last("keep_me", "plain"), Some(3.0));
    assert_eq!(rec.last("scrape_samples_scraped", "plain"), Some(3.0));
    assert_eq!(
        rec.last("scrape_samples_post_metric_relabeling", "plain"),
        Some(2.0)
    );

    // honor_labels keeps the exposed job and instance.
    let (l, _) = &rec.samples("conf", "exposed")[0];
    assert_eq!(l.get("instance"), Some("inner"));
    assert_eq!(l.get("exported_job"), None);
    assert_eq!(rec.last("go_gc", "honor"), Some(2.0));
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_headers_reach_the_server() {
    let (addr, srv) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("token");
    std::fs::write(&tok, "file-token\n").unwrap();
    let rec = Arc::new(Rec::default());
    let m = manager(&rec);
    m.apply(
        ScrapeGlobals::default(),
        vec![
            simple(
                "basic",
                addr,
                "/basic",
                "basic_auth: {username: alice, password: s3cret}",
            ),
            simple(
                "bearer",
                addr,
                "/bearer",
                "authorization: {credentials: tok123}",
            ),
            simple(
                "legacy",
                addr,
                "/legacy",
                &format!("bearer_token_file: {}", tok.display()),
            ),
            simple(
                "nozip",
                addr,
                "/nozip",
                "enable_compression: false\nparams: {module: [http_2xx]}",
            ),
        ],
    )
    .await;
    wait_for("all scraped", || {
        ["basic", "bearer", "legacy", "nozip"]
            .iter()
            .all(|j| rec.last("up", j) == Some(1.0))
    })
    .await;
    let reqs = srv.requests.lock().unwrap().clone();
    let auth = |p: &str| {
        reqs.iter()
            .find(|(path, _)| path == p)
            .map(|(_, h)| {
                h.get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap().to_string())
            })
            .unwrap()
    };
    // base64("alice:s3cret")
    assert_eq!(auth("basic").as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
    assert_eq!(auth("bearer").as_deref(), Some("Bearer tok123"));
    assert_eq!(auth("legacy").as_deref(), Some("Bearer file-token"));
    assert_eq!(auth("nozip"), None);
    let (_, h) = reqs.iter().find(|(p, _)| p == "nozip").unwrap();
    assert_eq!(h[header::ACCEPT_ENCODING], "identity");
    let url = &m
        .targets()
        .active
        .into_iter()
        .find(|a| a.scrape_pool == "nozip")
        .unwrap()
        .scrape_url;
    assert!(url.ends_with("/nozip?module=http_2xx"), "{url}");
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sd_changes_are_picked_up() {
    let (addr, _srv) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("targets.json");
    std::fs::write(
        &f,
        format!(r#"[{{"targets": ["{addr}"], "labels": {{"team": "a"}}}}]"#),
    )
    .unwrap();
    let rec = Arc::new(Rec::default());
    let m = manager(&rec);
    let cfg = job(&format!(
        "job_name: fsd\nscrape_interval: 200ms\nscrape_timeout: 150ms\nmetrics_path: /x\nfile_sd_configs: [{{files: ['{}/*.json']}}]\nrelabel_configs: [{{source_labels: [team], regex: drop, action: drop}}]",
        dir.path().display()
    ));
    m.apply(ScrapeGlobals::default(), vec![cfg]).await;
    wait_for("team a scraped", || {
        rec.samples("plain", "fsd")
            .iter()
            .any(|(l, s)| l.get("team") == Some("a") && s.v == 1.0)
    })
    .await;
    let t = m.targets();
    assert_eq!(
        t.active[0].discovered_labels.get("__meta_filepath"),
        Some(f.display().to_string().as_str())
    );

    // A broken file keeps the targets.
    std::fs::write(&f, "[{").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(m.targets().active.len(), 1);

    // A new label set replaces the target; the old one's series go stale; a
    // target dropped by relabelling is listed as dropped.
    std::fs::write(
        &f,
        format!(
            r#"[{{"targets": ["{addr}"], "labels": {{"team": "b"}}}}, {{"targets": ["x:1"], "labels": {{"team": "drop"}}}}]"#
        ),
    )
    .unwrap();
    wait_for("team b scraped", || {
        rec.samples("plain", "fsd")
            .iter()
            .any(|(l, s)| l.get("team") == Some("b") && s.v == 1.0)
    })
    .await;
    wait_for("team a stale", || {
        rec.samples("plain", "fsd")
            .iter()
            .any(|(l, s)| l.get("team") == Some("a") && is_stale_nan(s.v))
    })
    .await;
    let t = m.targets();
    assert_eq!(t.active.len(), 1);
    assert_eq!(t.active[0].labels.get("team"), Some("b"));
    assert_eq!(t.dropped.len(), 1);
    assert_eq!(
        t.dropped[0].discovered_labels.get("__address__"),
        Some("x:1")
    );
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_removing_a_static_target_marks_only_it_stale() {
    let (addr, _srv) = server().await;
    let other = format!("localhost:{}", addr.port());
    let rec = Arc::new(Rec::default());
    let m = manager(&rec);
    let two = job(&format!(
        "job_name: st\nscrape_interval: 200ms\nscrape_timeout: 150ms\nstatic_configs: [{{targets: ['{addr}', '{other}']}}]"
    ));
    m.apply(ScrapeGlobals::default(), vec![two]).await;
    let by_instance = |inst: &str| -> Vec<Sample> {
        rec.samples("plain", "st")
            .into_iter()
            .filter(|(l, _)| l.get("instance") == Some(inst))
            .map(|(_, s)| s)
            .collect()
    };
    let kept = addr.to_string();
    wait_for("both targets scraped", || {
        !by_instance(&kept).is_empty() && !by_instance(&other).is_empty()
    })
    .await;
    let one = simple("st", addr, "/metrics", "");
    m.apply(ScrapeGlobals::default(), vec![one]).await;
    wait_for("removed target stale", || {
        by_instance(&other)
            .last()
            .is_some_and(|s| is_stale_nan(s.v))
    })
    .await;
    let n = by_instance(&kept).len();
    wait_for("kept target continues", || {
        by_instance(&kept).len() >= n + 2
    })
    .await;
    assert!(!by_instance(&kept).iter().any(|s| is_stale_nan(s.v)));
    let up_other: Vec<_> = rec
        .samples("up", "st")
        .into_iter()
        .filter(|(l, _)| l.get("instance") == Some(other.as_str()))
        .collect();
    assert!(
        is_stale_nan(up_other.last().unwrap().1.v),
        "report series stale too"
    );
    assert_eq!(m.targets().active.len(), 1);
    m.stop().await;
}
