//! Target discovery: `static_configs` and `file_sd_configs`.
//!
//! Discovery produces [`TargetGroup`]s (a list of targets sharing labels, named by
//! their source). File discovery reads JSON or YAML files in Prometheus' file_sd
//! format, expands globs, and re-reads files whose modification time or size
//! changed (polled every few seconds) and all files every `refresh_interval`. A file
//! that fails to parse keeps its last good targets and the error is logged, so an
//! editor's half-written save never empties a job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use sightline_model::Labels;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{FileSdConfig, ScrapeConfig};

/// The label carrying each target's address.
pub const ADDRESS_LABEL: &str = "__address__";
/// The label file discovery adds with the path of the file a target came from.
pub const FILEPATH_LABEL: &str = "__meta_filepath";

/// Targets from one source sharing a set of labels.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetGroup {
    /// Where the group came from, e.g. `static/0` or `/etc/sd/a.json:1`.
    pub source: String,
    /// One label set per target, each with at least `__address__`.
    pub targets: Vec<Labels>,
    /// Labels shared by every target of the group (target labels take precedence).
    pub labels: Labels,
}

/// The groups of a job's `static_configs`.
pub fn static_groups(cfg: &ScrapeConfig) -> Vec<TargetGroup> {
    cfg.static_configs
        .iter()
        .enumerate()
        .map(|(i, sc)| TargetGroup {
            source: format!("static/{i}"),
            targets: sc
                .targets
                .iter()
                .map(|t| Labels::from_pairs([(ADDRESS_LABEL, t.as_str())]))
                .collect(),
            labels: sc.labels.clone(),
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Reads one file_sd file (JSON when it ends in `.json`, YAML otherwise).
pub fn read_sd_file(path: &Path) -> Result<Vec<TargetGroup>, String> {
    let data = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    let groups: Vec<FileGroup> = if is_json {
        serde_json::from_slice(&data).map_err(|e| format!("parsing {}: {e}", path.display()))?
    } else if data.iter().all(|b| b.is_ascii_whitespace()) {
        Vec::new()
    } else {
        serde_yaml::from_slice(&data).map_err(|e| format!("parsing {}: {e}", path.display()))?
    };
    let p = path.display().to_string();
    let mut out = Vec::with_capacity(groups.len());
    for (i, g) in groups.into_iter().enumerate() {
        for name in g.labels.keys() {
            if !crate::relabel::is_valid_label_name(name) {
                return Err(format!(
                    "{p}: group {i}: {name:?} is not a valid label name"
                ));
            }
        }
        let mut labels = Labels::from_pairs(g.labels).to_builder();
        labels.set(FILEPATH_LABEL, p.clone());
        out.push(TargetGroup {
            source: format!("{p}:{i}"),
            targets: g
                .targets
                .iter()
                .map(|t| Labels::from_pairs([(ADDRESS_LABEL, t.as_str())]))
                .collect(),
            labels: labels.build(),
        });
    }
    Ok(out)
}

#[derive(Clone)]
struct FileState {
    mtime: Option<SystemTime>,
    len: u64,
    groups: Vec<TargetGroup>,
}

/// The file_sd state of one job: which files match, and their last good groups.
pub struct FileDiscovery {
    patterns: Vec<String>,
    refresh: Duration,
    files: BTreeMap<PathBuf, FileState>,
    last_full: Option<Instant>,
}

impl FileDiscovery {
    /// Discovery over all `file_sd_configs` of a job.
    pub fn new(cfgs: &[FileSdConfig]) -> Self {
        FileDiscovery {
            patterns: cfgs.iter().flat_map(|c| c.files.iter().cloned()).collect(),
            refresh: cfgs
                .iter()
                .map(|c| c.refresh_interval.0)
                .min()
                .unwrap_or(Duration::from_secs(300)),
            files: BTreeMap::new(),
            last_full: None,
        }
    }

    /// Expands globs and re-reads new or changed files (all files when the refresh
    /// interval has passed). Returns true when the set of groups changed.
    pub fn refresh(&mut self) -> bool {
        let full = self.last_full.is_none_or(|t| t.elapsed() >= self.refresh);
        if full {
            self.last_full = Some(Instant::now());
        }
        let mut paths = Vec::new();
        for p in &self.patterns {
            match glob::glob(p) {
                Ok(it) => paths.extend(it.filter_map(Result::ok)),
                Err(e) => tracing::error!(pattern = %p, error = %e, "file_sd: invalid pattern"),
            }
        }
        paths.sort();
        paths.dedup();
        let mut changed = false;
        let mut next = BTreeMap::new();
        for path in paths {
            let meta = std::fs::metadata(&path).ok();
            let mtime = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.as_ref().map_or(0, |m| m.len());
            let prev = self.files.get(&path);
            let unchanged = prev.is_some_and(|s| s.mtime == mtime && s.len == len);
            if unchanged && !full {
                if let Some(s) = prev {
                    next.insert(path, s.clone());
                }
                continue;
            }
            match read_sd_file(&path) {
                Ok(groups) => {
                    if prev.is_none_or(|s| s.groups != groups) {
                        changed = true;
                    }
                    next.insert(path, FileState { mtime, len, groups });
                }
                Err(e) => {
                    tracing::error!(error = %e, "file_sd: keeping the last good targets");
                    if let Some(s) = prev {
                        // Remember the new mtime so the error is logged once per change.
                        next.insert(
                            path,
                            FileState {
                                mtime,
                                len,
                                groups: s.groups.clone(),
                            },
                        );
                    }
                }
            }
        }
        if next.len() != self.files.len() || next.keys().ne(self.files.keys()) {
            changed = true;
        }
        self.files = next;
        changed
    }

    /// All groups currently known, in path order.
    pub fn groups(&self) -> Vec<TargetGroup> {
        self.files.values().flat_map(|s| s.groups.clone()).collect()
    }
}

/// Starts discovery for a job: the receiver holds the full current list of groups
/// (static first, then files) and changes whenever it does. Stops on `cancel`.
pub fn spawn(
    cfg: &ScrapeConfig,
    poll: Duration,
    cancel: CancellationToken,
) -> watch::Receiver<Vec<TargetGroup>> {
    let statics = static_groups(cfg);
    if cfg.file_sd_configs.is_empty() {
        let (_tx, rx) = watch::channel(statics);
        return rx;
    }
    let (tx, rx) = watch::channel(Vec::new());
    let mut fd = FileDiscovery::new(&cfg.file_sd_configs);
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let res = tokio::task::spawn_blocking(move || {
                let changed = fd.refresh();
                (fd, changed)
            })
            .await;
            let Ok((back, changed)) = res else {
                tracing::error!("file_sd: refresh task failed");
                return;
            };
            fd = back;
            if changed || first {
                let mut all = statics.clone();
                all.extend(fd.groups());
                if tx.send(all).is_err() {
                    return;
                }
                first = false;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(poll) => {}
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_groups_carry_labels() {
        let c: ScrapeConfig = serde_yaml::from_str(
            "job_name: j\nstatic_configs: [{targets: ['a:1', 'b:2'], labels: {env: x}}]",
        )
        .unwrap();
        let g = static_groups(&c);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].targets[1].get(ADDRESS_LABEL), Some("b:2"));
        assert_eq!(g[0].labels.get("env"), Some("x"));
    }

    #[test]
    fn file_sd_reads_globs_and_keeps_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("a.json");
        let yaml = dir.path().join("b.yml");
        std::fs::write(
            &json,
            r#"[{"targets": ["h1:9100"], "labels": {"team": "x"}}]"#,
        )
        .unwrap();
        std::fs::write(&yaml, "- targets: ['h2:9100', 'h3:9100']\n").unwrap();
        let cfg = FileSdConfig {
            files: vec![
                format!("{}/*.json", dir.path().display()),
                format!("{}/*.yml", dir.path().display()),
            ],
            refresh_interval: sightline_model::PromDuration(Duration::from_secs(300)),
        };
        let mut fd = FileDiscovery::new(&[cfg]);
        assert!(fd.refresh());
        let g = fd.groups();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].labels.get("team"), Some("x"));
        assert_eq!(
            g[0].labels.get(FILEPATH_LABEL),
            Some(json.display().to_string().as_str())
        );
        assert_eq!(g[1].targets.len(), 2);
        assert!(!fd.refresh(), "nothing changed");

        // A broken write keeps the previous targets.
        std::fs::write(&json, "[{\"targets\": [").unwrap();
        fd.refresh();
        assert_eq!(
            fd.groups()[0].targets[0].get(ADDRESS_LABEL),
            Some("h1:9100")
        );

        // A good write replaces them (different length, so the change is seen even
        // when the file system's mtime granularity is coarse).
        std::fs::write(&json, r#"[{"targets": ["h9:9100", "h8:9100"]}]"#).unwrap();
        assert!(fd.refresh());
        assert_eq!(fd.groups()[0].targets.len(), 2);

        // Removing a file removes its targets.
        std::fs::remove_file(&yaml).unwrap();
        assert!(fd.refresh());
        assert_eq!(fd.groups().len(), 1);
    }

    #[test]
    fn file_sd_rejects_unknown_fields_and_bad_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, r#"[{"targets": [], "labelz": {}}]"#).unwrap();
        assert!(read_sd_file(&p).unwrap_err().contains("labelz"));
        std::fs::write(&p, r#"[{"targets": [], "labels": {"a-b": "1"}}]"#).unwrap();
        assert!(read_sd_file(&p)
            .unwrap_err()
            .contains("not a valid label name"));
    }
}
