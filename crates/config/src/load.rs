//! Reading and checking a configuration file.
//!
//! Steps, each failing with a located [`ConfigError`]: read the file; expand
//! `${ENV}`; decode strictly (unknown keys and wrong types are errors); import the
//! referenced `prometheus.yml`; run the checks that span fields.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::env;
use crate::error::ConfigError;
use crate::locate::Locations;
use crate::prometheus_file::PrometheusFile;
use crate::schema::SightlineConfig;

/// A configuration that decoded and validated, with what was noticed on the way.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The configuration, with `prometheus_config` already merged in.
    pub config: SightlineConfig,
    /// The notifier configuration built from `alerting` (checked).
    pub notifier: sightline_notifier::Config,
    /// The rule groups of `rule_files` and `slos`, loaded and checked.
    pub rule_groups: Vec<sightline_rules::file::GroupSpec>,
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// Things accepted but worth telling the operator (ignored prometheus.yml sections).
    pub warnings: Vec<String>,
}

impl LoadedConfig {
    /// The built-in defaults, used when `sightline serve` runs without `--config`.
    pub fn defaults() -> Self {
        load_str("", Path::new("<built-in defaults>")).expect("built-in defaults are valid")
    }
}

/// Loads and validates `path`.
pub fn load_file(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::file(path, format!("cannot read configuration: {e}")))?;
    let mut loaded = load_str(&text, path)?;
    loaded.source = Some(path.to_path_buf());
    Ok(loaded)
}

/// Loads and validates configuration text; `file` names it in errors and anchors
/// relative paths.
pub fn load_str(text: &str, file: &Path) -> Result<LoadedConfig, ConfigError> {
    let expanded = expand_env(text, file)?;
    let mut config: SightlineConfig = decode(&expanded, file)?;
    let mut warnings = Vec::new();
    let locations = Locations::index(&expanded);
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();

    if let Some(rel) = config.prometheus_config.clone() {
        let prom_path = if rel.is_absolute() {
            rel
        } else {
            base.join(rel)
        };
        merge_prometheus_file(&mut config, &prom_path, &mut warnings)?;
    }
    validate(&config, file, &locations)?;
    let notifier = config.alerting.notifier_config(&expanded, file)?;
    let rule_groups = sightline_rules::manager::load_groups(
        &config.rule_files,
        Some(base.as_path()).filter(|b| !b.as_os_str().is_empty()),
        &config.slos,
    )
    .map_err(|errors| {
        let (line, column) = locations
            .find("rule_files")
            .or_else(|| locations.find("slos"))
            .unzip();
        ConfigError {
            file: file.to_path_buf(),
            line,
            column,
            path: Some(if errors.iter().any(|e| e.contains("slo")) {
                "slos".into()
            } else {
                "rule_files".into()
            }),
            message: errors.join("; "),
        }
    })?;
    Ok(LoadedConfig {
        config,
        notifier,
        rule_groups,
        source: None,
        warnings,
    })
}

fn expand_env(text: &str, file: &Path) -> Result<String, ConfigError> {
    env::expand(text, |name| std::env::var(name).ok()).map_err(|(line, col, message)| ConfigError {
        file: file.to_path_buf(),
        line: Some(line),
        column: Some(col),
        path: None,
        message,
    })
}

/// Decodes YAML strictly, turning serde's error into a located [`ConfigError`].
pub fn decode<T: DeserializeOwned>(text: &str, file: &Path) -> Result<T, ConfigError> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let loc = inner.location();
        let mut message = inner.to_string();
        // serde_yaml appends " at line L column C"; the location is printed in front instead.
        if let Some(idx) = message.find(" at line ") {
            message.truncate(idx);
        }
        ConfigError {
            file: file.to_path_buf(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            path: Some(path),
            message,
        }
    })
}

fn merge_prometheus_file(
    config: &mut SightlineConfig,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::file(path, format!("cannot read prometheus_config: {e}")))?;
    let text = expand_env(&text, path)?;
    let prom: PrometheusFile = decode(&text, path)?;
    let locations = Locations::index(&text);
    for key in prom.other.keys() {
        warnings.push(format!(
            "{}: section {key:?} of prometheus.yml is not used by Sightline and was ignored",
            path.display()
        ));
    }
    // Rule files of prometheus.yml are relative to it: make them absolute.
    let prom_base = path.parent().unwrap_or(Path::new(""));
    for f in &prom.rule_files {
        let p = Path::new(f);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            prom_base.join(p)
        };
        config.rule_files.push(abs.to_string_lossy().into_owned());
    }
    if !prom.scrape_config_files.is_empty() {
        warnings.push(format!(
            "{}: scrape_config_files are not supported yet and were ignored",
            path.display()
        ));
    }
    if let Some(g) = prom.global {
        if config.global == Default::default() {
            config.global = g;
        } else {
            warnings.push(format!(
                "{}: its global section was ignored because sightline.yml has its own",
                path.display()
            ));
        }
    }
    let existing: HashSet<String> = config
        .scrape_configs
        .iter()
        .map(|s| s.job_name.clone())
        .collect();
    for (i, job) in prom.scrape_configs.into_iter().enumerate() {
        if existing.contains(&job.job_name) {
            let (line, column) = locations
                .find(&format!("scrape_configs[{i}].job_name"))
                .unzip();
            return Err(ConfigError {
                file: path.to_path_buf(),
                line,
                column,
                path: Some(format!("scrape_configs[{i}].job_name")),
                message: format!(
                    "job_name {:?} is also defined in sightline.yml",
                    job.job_name
                ),
            });
        }
        config.scrape_configs.push(job);
    }
    Ok(())
}

fn located(file: &Path, locations: &Locations, path: String, message: String) -> ConfigError {
    let (line, column) = locations.find(&path).unzip();
    ConfigError {
        file: file.to_path_buf(),
        line,
        column,
        path: Some(path),
        message,
    }
}

/// Checks that span several fields.
fn validate(
    config: &SightlineConfig,
    file: &Path,
    locations: &Locations,
) -> Result<(), ConfigError> {
    let g = &config.global;
    if g.scrape_timeout > g.scrape_interval {
        return Err(located(
            file,
            locations,
            "global.scrape_timeout".into(),
            format!(
                "scrape_timeout ({}) is greater than scrape_interval ({})",
                g.scrape_timeout, g.scrape_interval
            ),
        ));
    }
    let globals = config.scrape_globals();
    let mut seen = HashSet::new();
    for (i, job) in config.scrape_configs.iter().enumerate() {
        if !seen.insert(job.job_name.as_str()) {
            return Err(located(
                file,
                locations,
                format!("scrape_configs[{i}].job_name"),
                format!(
                    "found multiple scrape configs with job name {:?}",
                    job.job_name
                ),
            ));
        }
        let interval = job.scrape_interval.unwrap_or(g.scrape_interval);
        let timeout = job
            .scrape_timeout
            .unwrap_or(if g.scrape_timeout > interval {
                interval
            } else {
                g.scrape_timeout
            });
        if timeout > interval {
            return Err(located(
                file,
                locations,
                format!("scrape_configs[{i}].scrape_timeout"),
                format!(
                    "scrape timeout {timeout} greater than scrape interval {interval} for scrape config with job name {:?}",
                    job.job_name
                ),
            ));
        }
        if let Err(message) = job.validate(&globals) {
            return Err(located(
                file,
                locations,
                format!("scrape_configs[{i}]"),
                message,
            ));
        }
    }
    if let Some(sd) = &config.server.external_url {
        if !(sd.starts_with("http://") || sd.starts_with("https://")) {
            return Err(located(
                file,
                locations,
                "server.external_url".into(),
                format!("external_url {sd:?} must start with http:// or https://"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> ConfigError {
        load_str(yaml, Path::new("sightline.yml")).unwrap_err()
    }

    #[test]
    fn unknown_key_is_located_with_its_path() {
        let e = err("global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n");
        assert_eq!(e.line, Some(5), "{e}");
        assert_eq!(
            e.path.as_deref(),
            Some("scrape_configs[0].scrape_intervall"),
            "{e}"
        );
        assert!(
            e.message.contains("unknown field `scrape_intervall`"),
            "{e}"
        );
        assert!(e.to_string().starts_with("sightline.yml:5:"), "{e}");
    }

    #[test]
    fn type_errors_are_located() {
        let e = err("storage:\n  tsdb:\n    retention_time: forever\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(
            e.path
                .as_deref()
                .unwrap()
                .contains("storage.tsdb.retention_time"),
            "{e}"
        );
    }

    #[test]
    fn cross_field_errors_are_located() {
        let e = err("scrape_configs:\n  - job_name: a\n  - job_name: a\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("multiple scrape configs"), "{e}");
        let e = err("global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n");
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn env_expansion_and_missing_variables() {
        std::env::set_var("SIGHTLINE_TEST_JOB", "from-env");
        let l = load_str(
            "scrape_configs:\n  - job_name: ${SIGHTLINE_TEST_JOB}\n",
            Path::new("x.yml"),
        )
        .unwrap();
        assert_eq!(l.config.scrape_configs[0].job_name, "from-env");
        let e = err("scrape_configs:\n  - job_name: ${SIGHTLINE_TEST_UNSET_VAR}\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("SIGHTLINE_TEST_UNSET_VAR"));
    }

    #[test]
    fn imports_an_existing_prometheus_yml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("prometheus.yml"),
            "global:\n  scrape_interval: 20s\nscrape_configs:\n  - job_name: node\n    static_configs: [{targets: ['a:9100']}]\nremote_write:\n  - url: http://x/api/v1/write\n",
        )
        .unwrap();
        let main = dir.path().join("sightline.yml");
        std::fs::write(&main, "prometheus_config: prometheus.yml\n").unwrap();
        let l = load_file(&main).unwrap();
        assert_eq!(l.config.scrape_configs.len(), 1);
        assert_eq!(l.config.global.scrape_interval.to_string(), "20s");
        assert!(
            l.warnings.iter().any(|w| w.contains("remote_write")),
            "{:?}",
            l.warnings
        );

        std::fs::write(
            &main,
            "prometheus_config: prometheus.yml\nscrape_configs:\n  - job_name: node\n",
        )
        .unwrap();
        let e = load_file(&main).unwrap_err();
        assert!(e.to_string().contains("prometheus.yml:4:"), "{e}");
    }

    #[test]
    fn empty_file_gives_defaults() {
        let l = load_str("", Path::new("x.yml")).unwrap();
        assert!(l.config.scrape_configs.is_empty());
        assert_eq!(l.config.server.listen_address, "0.0.0.0:9090");
    }
}

#[cfg(test)]
mod scrape_validation_tests {
    use super::*;

    #[test]
    fn scrape_job_rules_are_checked_with_the_job_location() {
        let e = load_str(
            "scrape_configs:\n  - job_name: ok\n  - job_name: bad\n    basic_auth: {username: u, password: p}\n    authorization: {credentials: t}\n",
            Path::new("s.yml"),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("bad"), "{e}");
    }
}

#[cfg(test)]
mod alerting_tests {
    use super::*;

    #[test]
    fn inline_alertmanager_config_is_checked_in_place() {
        let ok = "alerting:\n  route: {receiver: oncall, group_by: [alertname]}\n  receivers:\n    - name: oncall\n      webhook_configs: [{url: 'http://127.0.0.1:1/hook'}]\n";
        let l = load_str(ok, Path::new("s.yml")).unwrap();
        assert_eq!(l.notifier.receivers.len(), 1);

        let unknown = "alerting:\n  route: {receiver: oncall}\n  receivers:\n    - name: oncall\n      pagerduty_configz: []\n";
        let e = load_str(unknown, Path::new("s.yml")).unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("pagerduty_configz"), "{e}");

        let missing = "alerting:\n  route: {receiver: nobody}\n  receivers:\n    - name: oncall\n";
        let e = load_str(missing, Path::new("s.yml")).unwrap_err();
        assert!(e.message.contains("nobody"), "{e}");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn without_alerting_a_silent_default_receiver_exists() {
        let l = LoadedConfig::defaults();
        assert_eq!(l.notifier.receivers[0].name, "default");
    }
}

#[cfg(test)]
mod rules_tests {
    use super::*;

    #[test]
    fn rule_files_are_loaded_and_errors_name_their_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("good.yml"),
            "groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bad.yml"),
            "groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n",
        )
        .unwrap();
        let main = dir.path().join("sightline.yml");
        std::fs::write(&main, "rule_files: ['good.yml']\n").unwrap();
        let l = load_file(&main).unwrap();
        assert_eq!(l.rule_groups.len(), 1);

        std::fs::write(&main, "rule_files: ['*.yml']\n").unwrap();
        let e = load_file(&main).unwrap_err();
        assert!(e.message.contains("bad.yml:5"), "{e}");
    }

    #[test]
    fn slos_become_rule_groups() {
        let yaml = "slos:\n  - service: checkout\n    name: availability\n    objective: 99.99\n    sli:\n      events:\n        error_query: sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))\n        total_query: sum(rate(http_requests_total[{{.window}}]))\n";
        let l = load_str(yaml, Path::new("s.yml")).unwrap();
        assert!(l.rule_groups.len() >= 2, "{:?}", l.rule_groups.len());
    }
}
