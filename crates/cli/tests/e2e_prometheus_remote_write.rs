//! Debian's real `prometheus` scrapes node_exporter and remote_writes into Sightline:
//! every sample Prometheus scraped arrives, and none twice.
//!
//! Method: run Prometheus with `remote_write` to Sightline for ~10 s, stop it
//! (it flushes its queues on shutdown), restart it on the same data directory with no
//! scrape jobs and no remote_write, and read every raw sample back from its API. That
//! set must equal what Sightline's `/api/v1/export` returns.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::time::Duration;

fn prometheus_samples(port: u16) -> BTreeMap<String, Vec<(i64, f64)>> {
    let q = encode("{__name__=~\".+\"}[1h]");
    let url = format!("http://127.0.0.1:{port}/api/v1/query?query={q}");
    let body = ureq::get(&url).call().unwrap().into_string().unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{body}");
    let mut out = BTreeMap::new();
    for series in v["data"]["result"].as_array().unwrap() {
        let mut labels: Vec<String> = series["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        labels.sort();
        let samples: Vec<(i64, f64)> = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                let v = match p[1].as_str().unwrap() {
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    s => s.parse().unwrap(),
                };
                (t, v)
            })
            .collect();
        out.insert(labels.join(","), samples);
    }
    out
}

#[test]
fn every_sample_prometheus_scraped_arrives_once() {
    if !have("prometheus", "reference remote_write sender")
        || !have("prometheus-node-exporter", "scrape target")
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ne_port = free_port();
    let _ne = Peer::spawn(
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address=127.0.0.1:{ne_port}"),
            "--collector.disable-defaults".into(),
            "--collector.meminfo".into(),
            "--collector.cpu".into(),
            "--collector.loadavg".into(),
        ],
        tmp.path().join("ne.log"),
    );
    wait_http(&format!("http://127.0.0.1:{ne_port}/metrics"), 20);

    let s = Sightline::start("self_monitoring: {enabled: false, host_collector: false}\n");

    let prom_port = free_port();
    let prom_dir = tmp.path().join("prom-data");
    let with_rw = tmp.path().join("prometheus.yml");
    std::fs::write(
        &with_rw,
        format!(
            "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n  - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{ne_port}']}}]\nremote_write:\n  - url: http://{}/api/v1/write\n    queue_config: {{batch_send_deadline: 500ms, max_samples_per_send: 500}}\n",
            s.addr
        ),
    )
    .unwrap();
    let prom_args = |cfg: &std::path::Path| -> Vec<String> {
        vec![
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", prom_dir.display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ]
    };
    let mut prom = Peer::spawn(
        "prometheus",
        &prom_args(&with_rw),
        tmp.path().join("prom1.log"),
    );
    wait_http(&format!("http://127.0.0.1:{prom_port}/-/ready"), 60);
    std::thread::sleep(Duration::from_secs(10));
    prom.stop();
    let prom_log = prom.log_text();

    // Read Prometheus' own copy back with nothing else running.
    let without_rw = tmp.path().join("prometheus-readonly.yml");
    std::fs::write(&without_rw, "global: {scrape_interval: 1m}\n").unwrap();
    let _prom2 = Peer::spawn(
        "prometheus",
        &prom_args(&without_rw),
        tmp.path().join("prom2.log"),
    );
    wait_http(&format!("http://127.0.0.1:{prom_port}/-/ready"), 60);
    let want = prometheus_samples(prom_port);
    let scraped: usize = want.values().map(Vec::len).sum();
    assert!(
        scraped > 500,
        "Prometheus scraped too little ({scraped} samples):\n{prom_log}"
    );

    let got: BTreeMap<String, Vec<(i64, f64)>> =
        s.export("{__name__=~\".+\"}").into_iter().collect();
    let mut missing = 0;
    for (key, samples) in &want {
        let Some(have) = got.get(key) else {
            panic!("series {key} scraped by Prometheus is missing in Sightline");
        };
        for smp in samples {
            if !have
                .iter()
                .any(|h| h.0 == smp.0 && (h.1 == smp.1 || (h.1.is_nan() && smp.1.is_nan())))
            {
                missing += 1;
                eprintln!("missing {key} @{} = {}", smp.0, smp.1);
            }
        }
    }
    assert_eq!(missing, 0, "samples missing in Sightline");
    for (key, have) in &got {
        let theirs = want
            .get(key)
            .unwrap_or_else(|| panic!("series {key} in Sightline was never scraped"));
        assert_eq!(
            have.len(),
            theirs.len(),
            "{key}: Sightline has {} samples, Prometheus {}",
            have.len(),
            theirs.len()
        );
        assert!(
            have.windows(2).all(|w| w[0].0 < w[1].0),
            "{key}: a timestamp is stored twice"
        );
    }
    eprintln!("compared {scraped} samples in {} series", want.len());
}
