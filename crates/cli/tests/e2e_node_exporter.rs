//! Sightline scrapes Debian's real `prometheus-node-exporter`: the stored series are
//! exactly the ones the exporter serves, with the same values.

mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};

const NE_FLAGS: &[&str] = &[
    "--collector.disable-defaults",
    "--collector.meminfo",
    "--collector.loadavg",
    "--collector.filesystem",
    "--collector.uname",
    "--collector.cpu",
    "--web.disable-exporter-metrics",
];

#[test]
fn scraped_node_exporter_series_match_its_metrics_endpoint() {
    if !have("prometheus-node-exporter", "reference exporter") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ne_port = free_port();
    let mut args: Vec<String> = NE_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--web.listen-address=127.0.0.1:{ne_port}"));
    let _ne = Peer::spawn("prometheus-node-exporter", &args, tmp.path().join("ne.log"));
    wait_http(&format!("http://127.0.0.1:{ne_port}/metrics"), 20);

    let s = Sightline::start(&format!(
        "self_monitoring: {{enabled: false, host_collector: false}}\nscrape_configs:\n  - job_name: ne\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs: [{{targets: ['127.0.0.1:{ne_port}']}}]\n"
    ));
    s.wait_for(30, "three scrapes of node_exporter", |s| {
        s.export("up{job=\"ne\"}")
            .first()
            .is_some_and(|(_, v)| v.len() >= 3)
    });
    let up = s.export("up{job=\"ne\"}");
    assert!(
        up[0].1.iter().all(|(_, v)| *v == 1.0),
        "up should be 1: {up:?}"
    );

    // What the exporter serves now, keyed like the exporter (no job/instance).
    let body = ureq::get(&format!("http://127.0.0.1:{ne_port}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let direct: BTreeMap<String, f64> = parse_exposition(&body).into_iter().collect();
    assert!(direct.len() > 20, "node_exporter served too little: {body}");

    // What Sightline stored for the job, with the target labels removed.
    let stored: BTreeMap<String, Vec<(i64, f64)>> = s
        .export("{job=\"ne\"}")
        .into_iter()
        .filter_map(|(k, v)| {
            let key: Vec<&str> = k
                .split(',')
                .filter(|l| !l.starts_with("job=") && !l.starts_with("instance="))
                .collect();
            let name = key
                .iter()
                .find(|l| l.starts_with("__name__="))?
                .trim_start_matches("__name__=");
            if name == "up" || name.starts_with("scrape_") {
                return None;
            }
            Some((key.join(","), v))
        })
        .collect();

    let direct_keys: BTreeSet<&String> = direct.keys().collect();
    let stored_keys: BTreeSet<&String> = stored.keys().collect();
    let missing: Vec<_> = direct_keys.difference(&stored_keys).collect();
    let extra: Vec<_> = stored_keys.difference(&direct_keys).collect();
    assert!(
        missing.is_empty(),
        "series served but not stored: {missing:?}"
    );
    assert!(extra.is_empty(), "series stored but not served: {extra:?}");

    // Values that do not change between scrapes must be stored exactly.
    for key in direct.keys() {
        let stable = key.contains("node_memory_MemTotal_bytes")
            || key.contains("node_filesystem_size_bytes")
            || key.contains("node_uname_info");
        if stable {
            let last = stored[key].last().unwrap().1;
            assert_eq!(last, direct[key], "value of {key}");
        }
    }
    // Counters never go down between scrapes in storage.
    for (key, samples) in &stored {
        if key.contains("node_cpu_seconds_total") {
            assert!(
                samples.windows(2).all(|w| w[1].1 >= w[0].1),
                "{key} decreased: {samples:?}"
            );
            assert!(
                samples.windows(2).all(|w| w[1].0 > w[0].0),
                "{key} timestamps not increasing"
            );
        }
    }
}
