//! The scrape jobs Sightline adds for itself.
//!
//! Self-monitoring goes through the same scrape path as any target, so `up`,
//! `scrape_duration_seconds` and staleness work for it too, and dashboards built for
//! Prometheus + node_exporter (`job="node"`) work unchanged.

use std::net::SocketAddr;

use sightline_config::SightlineConfig;
use sightline_scrape::ScrapeConfig;

/// The address to scrape the main listener at (loopback when bound to all interfaces).
pub fn self_target(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

fn job(yaml: &str) -> ScrapeConfig {
    serde_yaml::from_str(yaml).expect("built-in scrape job is valid")
}

/// The jobs to add to the user's: `sightline` (own `/metrics`), `node` (host
/// collector) and `demo` (simulated services), as configured.
pub fn builtin_jobs(cfg: &SightlineConfig, listen: SocketAddr, demo: bool) -> Vec<ScrapeConfig> {
    let target = self_target(listen);
    let interval = cfg.self_monitoring.scrape_interval;
    let user_has = |name: &str| cfg.scrape_configs.iter().any(|j| j.job_name == name);
    let mut jobs = Vec::new();
    if cfg.self_monitoring.enabled && !user_has("sightline") {
        jobs.push(job(&format!(
            "job_name: sightline\nscrape_interval: {interval}\nscrape_timeout: {interval}\nstatic_configs: [{{targets: ['{target}']}}]\n"
        )));
    }
    if cfg.self_monitoring.host_collector && !user_has("node") {
        jobs.push(job(&format!(
            "job_name: node\nscrape_interval: {interval}\nscrape_timeout: {interval}\nmetrics_path: /metrics/node\nstatic_configs: [{{targets: ['{target}']}}]\n"
        )));
    }
    if demo && !user_has("demo") {
        let mut yaml = String::from(
            "job_name: demo\nscrape_interval: 5s\nscrape_timeout: 5s\nstatic_configs:\n",
        );
        for svc in crate::demo::SERVICES {
            yaml.push_str(&format!(
                "  - targets: ['{target}']\n    labels: {{__tmp_service: {svc}, __metrics_path__: /demo/{svc}/metrics}}\n"
            ));
        }
        // One target per service: the address is shared, so tell them apart by instance.
        yaml.push_str("relabel_configs:\n  - source_labels: [__tmp_service]\n    target_label: instance\n    replacement: demo-$1\n");
        jobs.push(job(&yaml));
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_jobs_parse_and_respect_user_jobs() {
        let cfg = SightlineConfig::default();
        let addr: SocketAddr = "0.0.0.0:9090".parse().unwrap();
        let jobs = builtin_jobs(&cfg, addr, true);
        let names: Vec<_> = jobs.iter().map(|j| j.job_name.as_str()).collect();
        assert_eq!(names, ["sightline", "node", "demo"]);
    }
}
