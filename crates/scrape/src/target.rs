//! Target construction from discovered groups, following Prometheus' rules:
//! defaults (`job`, `__scheme__`, `__metrics_path__`, `__param_<name>`,
//! `__scrape_interval__`, `__scrape_timeout__`) are added to the discovered labels,
//! `relabel_configs` run, `__meta_*` labels go, `instance` defaults to
//! `__address__`, and the public label set is what remains without `__` labels.

use std::collections::BTreeMap;
use std::time::Duration;

use sightline_model::{Labels, PromDuration};

use crate::config::{ScrapeConfig, ScrapeGlobals};
use crate::discovery::{TargetGroup, ADDRESS_LABEL};
use crate::relabel::relabel_builder;

/// `__scheme__`.
pub const SCHEME_LABEL: &str = "__scheme__";
/// `__metrics_path__`.
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// `__scrape_interval__`.
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// `__scrape_timeout__`.
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of labels that become URL parameters.
pub const PARAM_PREFIX: &str = "__param_";
/// Prefix of discovery metadata labels, removed after relabelling.
pub const META_PREFIX: &str = "__meta_";

/// A target to scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The labels before relabelling (for the API).
    pub discovered_labels: Labels,
    /// The labels after relabelling, `__` labels included (the target's identity).
    pub internal_labels: Labels,
    /// The public labels attached to every scraped series.
    pub labels: Labels,
    /// The full URL, query included.
    pub scrape_url: String,
    /// How often to scrape (from `__scrape_interval__`).
    pub interval: Duration,
    /// Per-scrape timeout (from `__scrape_timeout__`).
    pub timeout: Duration,
}

/// A target that relabelling dropped, kept for the API.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedTarget {
    /// Its labels before relabelling.
    pub discovered_labels: Labels,
    /// The job it belonged to.
    pub scrape_pool: String,
}

/// What became of one discovered target.
#[derive(Clone, Debug, PartialEq)]
pub enum Built {
    /// Scrape it.
    Active(Target),
    /// Relabelling dropped it (or it had no address).
    Dropped(Labels),
    /// Its labels are unusable (bad address, interval or URL); logged, not scraped.
    Invalid(String),
}

/// Applies the defaults and relabelling to one discovered label set.
pub fn populate(cfg: &ScrapeConfig, globals: &ScrapeGlobals, discovered: Labels) -> Built {
    let mut b = discovered.to_builder();
    let interval = PromDuration(cfg.effective_interval(globals)).to_string();
    let timeout = PromDuration(cfg.effective_timeout(globals)).to_string();
    for (name, value) in [
        ("job", cfg.job_name.as_str()),
        (SCRAPE_INTERVAL_LABEL, interval.as_str()),
        (SCRAPE_TIMEOUT_LABEL, timeout.as_str()),
        (METRICS_PATH_LABEL, cfg.metrics_path.as_str()),
        (SCHEME_LABEL, cfg.scheme.as_str()),
    ] {
        if b.get(name).is_empty() {
            b.set(name, value);
        }
    }
    for (k, v) in &cfg.params {
        let name = format!("{PARAM_PREFIX}{k}");
        if let Some(first) = v.first() {
            if b.get(&name).is_empty() {
                b.set(name, first.clone());
            }
        }
    }
    let pre = b.build();
    if !relabel_builder(&mut b, &cfg.relabel_configs) {
        return Built::Dropped(pre);
    }
    let addr = b.get(ADDRESS_LABEL).to_string();
    if addr.is_empty() {
        return Built::Dropped(pre);
    }
    if addr.contains('/') {
        return Built::Invalid(format!("{addr:?} is not a valid hostname"));
    }
    let parse = |name: &str| -> Result<Duration, String> {
        let v = b.get(name);
        let d = PromDuration::parse(v).map_err(|e| format!("error parsing {name} {v:?}: {e}"))?;
        if d.0.is_zero() {
            return Err(format!("{name} cannot be 0"));
        }
        Ok(d.0)
    };
    let interval = match parse(SCRAPE_INTERVAL_LABEL) {
        Ok(d) => d,
        Err(e) => return Built::Invalid(e),
    };
    let timeout = match parse(SCRAPE_TIMEOUT_LABEL) {
        Ok(d) => d,
        Err(e) => return Built::Invalid(e),
    };
    if timeout > interval {
        return Built::Invalid(format!(
            "scrape timeout {} greater than scrape interval {} for target {addr}",
            PromDuration(timeout),
            PromDuration(interval)
        ));
    }
    b.retain(|l| !l.name.starts_with(META_PREFIX));
    if b.get("instance").is_empty() {
        b.set("instance", addr.clone());
    }
    let internal = b.build();
    let url = match scrape_url(cfg, &internal) {
        Ok(u) => u,
        Err(e) => return Built::Invalid(e),
    };
    let public = Labels::from_vec(
        internal
            .iter()
            .filter(|l| !l.name.starts_with("__"))
            .cloned()
            .collect(),
    );
    Built::Active(Target {
        discovered_labels: pre,
        internal_labels: internal,
        labels: public,
        scrape_url: url,
        interval,
        timeout,
    })
}

/// The URL from `__scheme__`, `__address__`, `__metrics_path__` and the job's params
/// overridden by `__param_<name>` labels (first value replaced, as Prometheus does).
pub fn scrape_url(cfg: &ScrapeConfig, labels: &Labels) -> Result<String, String> {
    let scheme = labels.get(SCHEME_LABEL).unwrap_or("http");
    let addr = labels.get(ADDRESS_LABEL).unwrap_or("");
    let path = labels.get(METRICS_PATH_LABEL).unwrap_or("/metrics");
    let mut params: BTreeMap<String, Vec<String>> = cfg.params.clone();
    for l in labels.iter() {
        if let Some(k) = l.name.strip_prefix(PARAM_PREFIX) {
            let e = params.entry(k.to_string()).or_default();
            if e.is_empty() {
                e.push(l.value.clone());
            } else {
                e[0] = l.value.clone();
            }
        }
    }
    let mut url = reqwest::Url::parse(&format!("{scheme}://{addr}{path}"))
        .map_err(|e| format!("invalid scrape URL {scheme}://{addr}{path}: {e}"))?;
    if !params.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, vs) in &params {
            for v in vs {
                q.append_pair(k, v);
            }
        }
    }
    Ok(url.to_string())
}

/// Builds the targets of a job from its discovered groups: active targets
/// (deduplicated by identity), dropped ones, and the errors of invalid ones.
pub fn build_targets(
    cfg: &ScrapeConfig,
    globals: &ScrapeGlobals,
    groups: &[TargetGroup],
) -> (Vec<Target>, Vec<DroppedTarget>, Vec<String>) {
    let mut active: Vec<Target> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut dropped = Vec::new();
    let mut errors = Vec::new();
    for g in groups {
        for t in &g.targets {
            let mut b = t.to_builder();
            for l in g.labels.iter() {
                if t.get(&l.name).is_none() {
                    b.set(l.name.clone(), l.value.clone());
                }
            }
            match populate(cfg, globals, b.build()) {
                Built::Active(t) => {
                    if seen.insert(t.internal_labels.clone()) {
                        active.push(t);
                    }
                }
                Built::Dropped(d) => dropped.push(DroppedTarget {
                    discovered_labels: d,
                    scrape_pool: cfg.job_name.clone(),
                }),
                Built::Invalid(e) => {
                    errors.push(format!("job {:?}, group {}: {e}", cfg.job_name, g.source))
                }
            }
        }
    }
    if cfg.keep_dropped_targets > 0 {
        dropped.truncate(cfg.keep_dropped_targets as usize);
    }
    (active, dropped, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(y: &str) -> ScrapeConfig {
        serde_yaml::from_str(y).unwrap()
    }

    #[test]
    fn defaults_and_instance() {
        let c = job("job_name: node\nscrape_interval: 15s\nparams: {module: [a, b]}\nstatic_configs: [{targets: ['h:9100'], labels: {env: p}}]");
        let g = crate::discovery::static_groups(&c);
        let (a, d, e) = build_targets(&c, &ScrapeGlobals::default(), &g);
        assert!(d.is_empty() && e.is_empty());
        let t = &a[0];
        assert_eq!(
            t.labels,
            Labels::from_pairs([("env", "p"), ("instance", "h:9100"), ("job", "node")])
        );
        assert_eq!(t.discovered_labels.get("__scrape_interval__"), Some("15s"));
        assert_eq!(t.discovered_labels.get("__param_module"), Some("a"));
        assert_eq!(t.interval, Duration::from_secs(15));
        assert_eq!(t.timeout, Duration::from_secs(10));
        assert_eq!(t.scrape_url, "http://h:9100/metrics?module=a&module=b");
    }

    #[test]
    fn relabelling_shapes_the_target() {
        let c = job(r#"
job_name: blackbox
metrics_path: /probe
static_configs: [{targets: ['example.org', 'drop.me']}]
relabel_configs:
  - source_labels: [__address__]
    regex: drop\.me
    action: drop
  - source_labels: [__address__]
    target_label: __param_target
  - source_labels: [__param_target]
    target_label: instance
  - target_label: __address__
    replacement: 127.0.0.1:9115
  - target_label: __scrape_interval__
    replacement: 30s
  - target_label: __meta_x
    replacement: gone
"#);
        let g = crate::discovery::static_groups(&c);
        let (a, d, _) = build_targets(&c, &ScrapeGlobals::default(), &g);
        assert_eq!(a.len(), 1);
        let t = &a[0];
        assert_eq!(
            t.scrape_url,
            "http://127.0.0.1:9115/probe?target=example.org"
        );
        assert_eq!(t.labels.get("instance"), Some("example.org"));
        assert_eq!(t.interval, Duration::from_secs(30));
        assert_eq!(t.internal_labels.get("__meta_x"), None);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].discovered_labels.get("__address__"), Some("drop.me"));
        assert_eq!(d[0].scrape_pool, "blackbox");
    }

    #[test]
    fn invalid_targets_are_reported() {
        let c = job("job_name: j\nscrape_interval: 5s\nstatic_configs: [{targets: ['a:1', 'b:2']}]\nrelabel_configs: [{source_labels: [__address__], regex: 'b:2', target_label: __scrape_timeout__, replacement: 1m}]");
        let g = crate::discovery::static_groups(&c);
        let (a, _, e) = build_targets(&c, &ScrapeGlobals::default(), &g);
        assert_eq!(a.len(), 1);
        assert!(e[0].contains("greater than scrape interval"), "{e:?}");
        let c = job("job_name: j\nstatic_configs: [{targets: ['http://x/y']}]");
        let (_, _, e) = build_targets(
            &c,
            &ScrapeGlobals::default(),
            &crate::discovery::static_groups(&c),
        );
        assert!(e[0].contains("not a valid hostname"));
    }

    #[test]
    fn group_labels_do_not_override_target_labels() {
        let c = ScrapeConfig::new("j");
        let g = TargetGroup {
            source: "s".into(),
            targets: vec![Labels::from_pairs([("__address__", "a:1"), ("zone", "t")])],
            labels: Labels::from_pairs([("zone", "g"), ("dc", "g")]),
        };
        let (a, _, _) = build_targets(&c, &ScrapeGlobals::default(), &[g]);
        assert_eq!(a[0].labels.get("zone"), Some("t"));
        assert_eq!(a[0].labels.get("dc"), Some("g"));
    }
}
