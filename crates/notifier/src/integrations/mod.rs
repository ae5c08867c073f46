//! Receivers' integrations (PagerDuty, Slack, webhook): turning one group
//! notification into HTTP requests, and classifying the answers for the retry loop.

pub mod pagerduty;
pub mod slack;
pub mod webhook;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use sightline_model::Labels;

use crate::alert::{Alert, Fingerprint};
use crate::config::{HttpConfig, ReceiverConfig};
use crate::template::{Library, Template, Value};

/// Everything an integration needs to render one notification of one group.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Receiver name.
    pub receiver: String,
    /// Aggregation group key.
    pub group_key: String,
    /// The group's labels.
    pub group_labels: Labels,
    /// Firing alerts.
    pub firing: Vec<Alert>,
    /// Resolved alerts (including alerts muted after they were paged, shown with an
    /// end time of now).
    pub resolved: Vec<Alert>,
    /// Firing alerts not notified before to this integration.
    pub new_firing: Vec<Fingerprint>,
    /// Resolved alerts that this integration last saw firing.
    pub newly_resolved: Vec<Fingerprint>,
    /// True when this is a repeat of an unchanged notification.
    pub repeat: bool,
    /// Sightline's external URL (console links).
    pub external_url: String,
    /// When the notification was built.
    pub now: DateTime<Utc>,
}

impl Notification {
    /// `firing` when any alert fires, `resolved` otherwise.
    pub fn status(&self) -> &'static str {
        if self.firing.is_empty() {
            "resolved"
        } else {
            "firing"
        }
    }

    /// Labels shared by every alert of the notification.
    pub fn common_labels(&self) -> BTreeMap<String, String> {
        common(self.all().map(|a| {
            a.labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect::<BTreeMap<_, _>>()
        }))
    }

    /// Annotations shared by every alert of the notification.
    pub fn common_annotations(&self) -> BTreeMap<String, String> {
        common(self.all().map(|a| a.annotations.clone()))
    }

    /// Firing then resolved alerts.
    pub fn all(&self) -> impl Iterator<Item = &Alert> {
        self.firing.iter().chain(self.resolved.iter())
    }

    /// Alertmanager's template data (`.Status`, `.Alerts`, `.GroupLabels`…).
    pub fn template_data(&self) -> Value {
        let mut m = BTreeMap::new();
        m.insert("Receiver".into(), Value::Str(self.receiver.clone()));
        m.insert("Status".into(), Value::Str(self.status().into()));
        let alerts = self
            .firing
            .iter()
            .map(|a| alert_value(a, "firing", self.now))
            .chain(
                self.resolved
                    .iter()
                    .map(|a| alert_value(a, "resolved", self.now)),
            )
            .collect();
        m.insert("Alerts".into(), Value::Alerts(alerts));
        m.insert("GroupLabels".into(), kv(&self.group_labels));
        m.insert("CommonLabels".into(), Value::Kv(self.common_labels()));
        m.insert(
            "CommonAnnotations".into(),
            Value::Kv(self.common_annotations()),
        );
        m.insert("ExternalURL".into(), Value::Str(self.external_url.clone()));
        m.insert("GroupKey".into(), Value::Str(self.group_key.clone()));
        Value::Map(m)
    }

    /// The alert template data for one alert (used by per-alert PagerDuty events).
    pub fn single(&self, a: &Alert, firing: bool) -> Notification {
        let mut n = self.clone();
        n.firing = if firing { vec![a.clone()] } else { Vec::new() };
        n.resolved = if firing { Vec::new() } else { vec![a.clone()] };
        n
    }
}

fn kv(l: &Labels) -> Value {
    Value::Kv(
        l.iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
    )
}

fn alert_value(a: &Alert, status: &str, now: DateTime<Utc>) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Status".into(), Value::Str(status.into()));
    m.insert("Labels".into(), kv(&a.labels));
    m.insert("Annotations".into(), Value::Kv(a.annotations.clone()));
    m.insert("StartsAt".into(), Value::Time(a.starts_at));
    let end = if status == "resolved" {
        a.ends_at.filter(|e| *e <= now).unwrap_or(now)
    } else {
        a.ends_at.unwrap_or(now)
    };
    m.insert("EndsAt".into(), Value::Time(end));
    m.insert("GeneratorURL".into(), Value::Str(a.generator_url.clone()));
    m.insert(
        "Fingerprint".into(),
        Value::Str(a.fingerprint().to_string()),
    );
    Value::Map(m)
}

fn common(mut maps: impl Iterator<Item = BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let Some(mut acc) = maps.next() else {
        return BTreeMap::new();
    };
    for m in maps {
        acc.retain(|k, v| m.get(k) == Some(v));
    }
    acc
}

/// Which protocol an integration speaks; decides how answers are classified and
/// whether requests are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PagerDuty Events API v2.
    PagerDuty,
    /// Slack incoming webhook.
    Slack,
    /// Alertmanager-style webhook.
    Webhook,
}

impl Kind {
    /// Name used in ids and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PagerDuty => "pagerduty",
            Kind::Slack => "slack",
            Kind::Webhook => "webhook",
        }
    }
}

/// Authentication applied to requests.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// Basic auth (user, password).
    pub basic: Option<(String, String)>,
    /// `Authorization` header value.
    pub header: Option<String>,
}

impl Auth {
    fn from_config(h: Option<&HttpConfig>, base: Option<&Path>) -> Result<Auth, String> {
        let Some(h) = h else {
            return Ok(Auth::default());
        };
        let mut a = Auth::default();
        if let Some(b) = &h.basic_auth {
            let pw = match (&b.password, &b.password_file) {
                (Some(p), _) => p.clone(),
                (None, Some(f)) => read_secret(f, base)?,
                _ => String::new(),
            };
            a.basic = Some((b.username.clone(), pw));
        }
        if let Some(t) = &h.bearer_token {
            a.header = Some(format!("Bearer {t}"));
        }
        if let Some(z) = &h.authorization {
            let cred = match (&z.credentials, &z.credentials_file) {
                (Some(c), _) => c.clone(),
                (None, Some(f)) => read_secret(f, base)?,
                _ => String::new(),
            };
            a.header = Some(format!("{} {cred}", z.kind.as_deref().unwrap_or("Bearer")));
        }
        Ok(a)
    }
}

const TIMEOUT_NONE: Option<std::time::Duration> = None;

/// Builds a dedicated client for `http_config` settings the shared client does not
/// have (proxy, TLS, redirects) or a per-integration timeout.
pub fn client_for(
    h: Option<&HttpConfig>,
    timeout: Option<std::time::Duration>,
    base: Option<&Path>,
) -> Result<Option<reqwest::Client>, String> {
    let special = h.is_some_and(|h| {
        h.proxy_url.is_some() || h.tls_config.is_some() || h.follow_redirects == Some(false)
    });
    if !special && timeout.is_none() {
        return Ok(None);
    }
    let mut b =
        reqwest::Client::builder().timeout(timeout.unwrap_or(std::time::Duration::from_secs(10)));
    if let Some(h) = h {
        if let Some(p) = &h.proxy_url {
            b = b.proxy(reqwest::Proxy::all(p).map_err(|e| format!("proxy_url {p:?}: {e}"))?);
        }
        if h.follow_redirects == Some(false) {
            b = b.redirect(reqwest::redirect::Policy::none());
        }
        if let Some(t) = &h.tls_config {
            if t.insecure_skip_verify {
                b = b.danger_accept_invalid_certs(true);
            }
            if let Some(ca) = &t.ca_file {
                let pem = read_secret(ca, base)?;
                let cert = reqwest::Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
                b = b.add_root_certificate(cert);
            }
        }
    }
    b.build().map(Some).map_err(|e| format!("http client: {e}"))
}

/// Reads a secret file (relative to the config's directory), trimmed.
pub fn read_secret(f: &Path, base: Option<&Path>) -> Result<String, String> {
    let p = match base {
        Some(b) if f.is_relative() => b.join(f),
        _ => f.to_path_buf(),
    };
    std::fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// Compiles an optional template field, naming it in errors.
pub(crate) fn tmpl(src: &Option<String>, what: &str) -> Result<Option<Template>, (String, String)> {
    match src {
        None => Ok(None),
        Some(s) => Template::parse(s)
            .map(Some)
            .map_err(|e| (s.clone(), format!("{what}: template error: {e}"))),
    }
}

/// Renders an optional template, falling back to `default` when unset.
pub(crate) fn render_or(
    t: &Option<Template>,
    data: &Value,
    lib: &Library,
    default: impl FnOnce() -> String,
) -> Result<String, String> {
    match t {
        Some(t) => t.render(data, lib),
        None => Ok(default()),
    }
}

/// The per-kind settings of an integration.
#[derive(Debug)]
pub enum Settings {
    /// PagerDuty.
    PagerDuty(Box<pagerduty::PagerDuty>),
    /// Slack.
    Slack(Box<slack::Slack>),
    /// Webhook.
    Webhook(Box<webhook::Webhook>),
}

/// One configured integration of a receiver.
#[derive(Debug)]
pub struct Integration {
    /// `receiver/kind/index`, the notification log key.
    pub id: String,
    /// Receiver name.
    pub receiver: String,
    /// Protocol.
    pub kind: Kind,
    /// Send resolved notifications.
    pub send_resolved: bool,
    /// Resolve alerts that become muted after being notified.
    pub resolve_when_muted: bool,
    /// Authentication.
    pub auth: Auth,
    /// A dedicated HTTP client when `http_config` asks for a proxy, TLS settings,
    /// no redirects or a timeout; `None` uses the notifier's shared client.
    pub client: Option<reqwest::Client>,
    /// Per-kind settings.
    pub settings: Settings,
}

/// One HTTP request to make.
#[derive(Debug, Clone)]
pub struct Request {
    /// Target URL.
    pub url: String,
    /// JSON body.
    pub body: Vec<u8>,
}

impl Integration {
    /// Compiles a receiver's integrations. Errors are (text to locate, message).
    pub fn compile_receiver(
        r: &ReceiverConfig,
        global: &crate::config::GlobalConfig,
        base: Option<&Path>,
    ) -> Result<Vec<Integration>, (String, String)> {
        let mut out = Vec::new();
        let gauth = global.http_config.as_ref();
        for (i, c) in r.pagerduty_configs.iter().enumerate() {
            out.push(Integration {
                id: format!("{}/pagerduty/{i}", r.name),
                receiver: r.name.clone(),
                kind: Kind::PagerDuty,
                send_resolved: c.send_resolved,
                resolve_when_muted: c.resolve_when_muted,
                auth: Auth::from_config(c.http_config.as_ref().or(gauth), base)
                    .map_err(|e| ("http_config".to_string(), e))?,
                client: client_for(c.http_config.as_ref().or(gauth), TIMEOUT_NONE, base)
                    .map_err(|e| ("http_config".to_string(), e))?,
                settings: Settings::PagerDuty(Box::new(pagerduty::PagerDuty::compile(
                    c, global, base,
                )?)),
            });
        }
        for (i, c) in r.slack_configs.iter().enumerate() {
            out.push(Integration {
                id: format!("{}/slack/{i}", r.name),
                receiver: r.name.clone(),
                kind: Kind::Slack,
                send_resolved: c.send_resolved,
                resolve_when_muted: false,
                auth: Auth::from_config(c.http_config.as_ref().or(gauth), base)
                    .map_err(|e| ("http_config".to_string(), e))?,
                client: client_for(c.http_config.as_ref().or(gauth), TIMEOUT_NONE, base)
                    .map_err(|e| ("http_config".to_string(), e))?,
                settings: Settings::Slack(Box::new(slack::Slack::compile(c, global, base)?)),
            });
        }
        for (i, c) in r.webhook_configs.iter().enumerate() {
            out.push(Integration {
                id: format!("{}/webhook/{i}", r.name),
                receiver: r.name.clone(),
                kind: Kind::Webhook,
                send_resolved: c.send_resolved,
                resolve_when_muted: false,
                auth: Auth::from_config(c.http_config.as_ref().or(gauth), base)
                    .map_err(|e| ("http_config".to_string(), e))?,
                client: client_for(
                    c.http_config.as_ref().or(gauth),
                    c.timeout.map(|t| t.0),
                    base,
                )
                .map_err(|e| ("http_config".to_string(), e))?,
                settings: Settings::Webhook(Box::new(webhook::Webhook::compile(c, base)?)),
            });
        }
        Ok(out)
    }

    /// Renders the requests for a notification.
    pub fn requests(&self, n: &Notification, lib: &Library) -> Result<Vec<Request>, String> {
        match &self.settings {
            Settings::PagerDuty(p) => p.requests(n, lib),
            Settings::Slack(s) => s.requests(n, lib),
            Settings::Webhook(w) => w.requests(n),
        }
    }
}

/// Truncates to at most `max` characters, ending with "…" when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A short, actionable description of one alert for humans: name, severity,
/// summary, description, runbook, and the labels that matter.
pub fn describe_alert(a: &Alert, firing: bool) -> String {
    let mut s = String::new();
    let sev = a.labels.get("severity").unwrap_or("none");
    s.push_str(&format!(
        "{} {} [{}]",
        if firing { "FIRING" } else { "RESOLVED" },
        a.name(),
        sev
    ));
    if let Some(sum) = a.annotations.get("summary") {
        s.push_str(": ");
        s.push_str(sum);
    }
    s.push('\n');
    if let Some(d) = a.annotations.get("description") {
        s.push_str(d);
        s.push('\n');
    }
    if let Some(r) = a.annotations.get("runbook_url") {
        s.push_str(&format!("Runbook: {r}\n"));
    }
    let keys: Vec<String> = a
        .labels
        .iter()
        .filter(|l| l.name != "alertname" && l.name != "severity")
        .map(|l| format!("{}={}", l.name, l.value))
        .collect();
    if !keys.is_empty() {
        s.push_str(&format!("Labels: {}\n", keys.join(", ")));
    }
    if !a.generator_url.is_empty() {
        s.push_str(&format!("Source: {}\n", a.generator_url));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BasicAuth, TlsConfig};

    #[test]
    fn http_config_clients_and_auth() {
        assert!(client_for(None, None, None).unwrap().is_none());
        let h = HttpConfig {
            tls_config: Some(TlsConfig {
                insecure_skip_verify: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(client_for(Some(&h), None, None).unwrap().is_some());
        let bad = HttpConfig {
            proxy_url: Some("::not a url".into()),
            ..Default::default()
        };
        assert!(client_for(Some(&bad), None, None)
            .unwrap_err()
            .contains("proxy_url"));
        let h = HttpConfig {
            basic_auth: Some(BasicAuth {
                username: "u".into(),
                password: Some("p".into()),
                password_file: None,
            }),
            ..Default::default()
        };
        let a = Auth::from_config(Some(&h), None).unwrap();
        assert_eq!(a.basic, Some(("u".into(), "p".into())));
    }

    #[test]
    fn truncation_and_description() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        let mut a = Alert::new(Labels::from_pairs([
            ("alertname", "Down"),
            ("severity", "critical"),
            ("job", "api"),
        ]));
        a.annotations.insert("summary".into(), "API down".into());
        a.annotations
            .insert("runbook_url".into(), "https://rb".into());
        let d = describe_alert(&a, true);
        assert!(d.starts_with("FIRING Down [critical]: API down\n"), "{d}");
        assert!(
            d.contains("Runbook: https://rb") && d.contains("Labels: job=api"),
            "{d}"
        );
    }
}
