//! PagerDuty Events API v2: one `trigger`/`resolve` event per group (dedup_key =
//! hash of the group key) or, with `dedup_key_per_alert`, per alert. Payload fields
//! respect PagerDuty's limits (summary ≤ 1024 characters, dedup_key ≤ 255, 512 KB).

use std::path::Path;

use serde_json::{json, Map, Value as Json};

use super::{describe_alert, read_secret, render_or, tmpl, truncate, Notification, Request};
use crate::config::{GlobalConfig, PagerDutyConfig};
use crate::template::{Library, Template};

/// PagerDuty's maximum summary length.
pub const MAX_SUMMARY: usize = 1024;
/// PagerDuty's maximum event size.
pub const MAX_EVENT_BYTES: usize = 512 * 1024;

/// A compiled `pagerduty_configs` entry.
#[derive(Debug)]
pub struct PagerDuty {
    routing_key: String,
    url: String,
    summary: Option<Template>,
    severity: Option<Template>,
    source: Option<Template>,
    class: Option<Template>,
    component: Option<Template>,
    group: Option<Template>,
    client: Option<Template>,
    client_url: Option<Template>,
    details: Vec<(String, Template)>,
    links: Vec<(Template, Template)>,
    images: Vec<(Template, Template, Template)>,
    per_alert: bool,
}

fn t(s: &str, what: &str) -> Result<Template, (String, String)> {
    Template::parse(s).map_err(|e| (s.to_string(), format!("{what}: template error: {e}")))
}

/// Maps a rendered severity onto PagerDuty's enum.
pub fn map_severity(s: &str) -> &'static str {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" | "page" | "crit" | "fatal" | "emergency" => "critical",
        "warning" | "warn" | "ticket" => "warning",
        "info" | "informational" | "none" | "low" => "info",
        _ => "error",
    }
}

impl PagerDuty {
    /// Compiles templates and reads the routing key.
    pub fn compile(
        c: &PagerDutyConfig,
        global: &GlobalConfig,
        base: Option<&Path>,
    ) -> Result<Self, (String, String)> {
        let routing_key = match (&c.routing_key, &c.routing_key_file) {
            (Some(k), _) => k.clone(),
            (None, Some(f)) => {
                read_secret(f, base).map_err(|e| ("routing_key_file".to_string(), e))?
            }
            _ => return Err(("pagerduty_configs".into(), "routing_key is required".into())),
        };
        let mut details = Vec::new();
        for (k, v) in &c.details {
            details.push((k.clone(), t(v, "details")?));
        }
        let mut links = Vec::new();
        for l in &c.links {
            links.push((t(&l.href, "links.href")?, t(&l.text, "links.text")?));
        }
        let mut images = Vec::new();
        for i in &c.images {
            images.push((
                t(&i.src, "images.src")?,
                t(&i.alt, "images.alt")?,
                t(&i.href, "images.href")?,
            ));
        }
        Ok(PagerDuty {
            routing_key,
            url: c
                .url
                .clone()
                .unwrap_or_else(|| global.pagerduty_url.clone()),
            summary: tmpl(&c.description, "description")?,
            severity: tmpl(&c.severity, "severity")?,
            source: tmpl(&c.source, "source")?,
            class: tmpl(&c.class, "class")?,
            component: tmpl(&c.component, "component")?,
            group: tmpl(&c.group, "group")?,
            client: tmpl(&c.client, "client")?,
            client_url: tmpl(&c.client_url, "client_url")?,
            details,
            links,
            images,
            per_alert: c.dedup_key_per_alert,
        })
    }

    /// The dedup key of a group, or of one alert of a group.
    pub fn dedup_key(group_key: &str, alert: Option<crate::alert::Fingerprint>) -> String {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(group_key.as_bytes());
        if let Some(fp) = alert {
            h.update(&[0xff]);
            h.update(&fp.0.to_le_bytes());
        }
        format!("sightline-{:032x}", h.digest128())
    }

    /// The events for a notification.
    pub fn requests(&self, n: &Notification, lib: &Library) -> Result<Vec<Request>, String> {
        let mut out = Vec::new();
        if !self.per_alert {
            let key = Self::dedup_key(&n.group_key, None);
            out.push(self.event(n, key, lib)?);
            return Ok(out);
        }
        for a in &n.firing {
            if n.repeat || n.new_firing.contains(&a.fingerprint()) {
                let key = Self::dedup_key(&n.group_key, Some(a.fingerprint()));
                out.push(self.event(&n.single(a, true), key, lib)?);
            }
        }
        for a in &n.resolved {
            if n.newly_resolved.contains(&a.fingerprint()) {
                let key = Self::dedup_key(&n.group_key, Some(a.fingerprint()));
                out.push(self.event(&n.single(a, false), key, lib)?);
            }
        }
        Ok(out)
    }

    fn event(&self, n: &Notification, dedup_key: String, lib: &Library) -> Result<Request, String> {
        let mut ev = Map::new();
        ev.insert("routing_key".into(), json!(self.routing_key));
        ev.insert("dedup_key".into(), json!(dedup_key));
        if n.firing.is_empty() {
            ev.insert("event_action".into(), json!("resolve"));
            let body = serde_json::to_vec(&ev).map_err(|e| e.to_string())?;
            return Ok(Request {
                url: self.url.clone(),
                body,
            });
        }
        ev.insert("event_action".into(), json!("trigger"));
        let data = n.template_data();
        let common = n.common_labels();
        let summary = render_or(&self.summary, &data, lib, || default_summary(n, &data, lib))?;
        let severity = render_or(&self.severity, &data, lib, || {
            common
                .get("severity")
                .cloned()
                .unwrap_or_else(|| "error".into())
        })?;
        let source = render_or(&self.source, &data, lib, || {
            common
                .get("instance")
                .or_else(|| common.get("job"))
                .cloned()
                .unwrap_or_else(|| "sightline".into())
        })?;
        let mut payload = Map::new();
        payload.insert(
            "summary".into(),
            json!(truncate(summary.trim(), MAX_SUMMARY)),
        );
        payload.insert(
            "source".into(),
            json!(if source.trim().is_empty() {
                "sightline".to_string()
            } else {
                truncate(source.trim(), 255)
            }),
        );
        payload.insert("severity".into(), json!(map_severity(&severity)));
        let first_start = n.firing.iter().map(|a| a.starts_at).min();
        if let Some(ts) = first_start {
            payload.insert(
                "timestamp".into(),
                json!(ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            );
        }
        for (k, t) in [
            ("class", &self.class),
            ("component", &self.component),
            ("group", &self.group),
        ] {
            let v = render_or(t, &data, lib, String::new)?;
            if !v.is_empty() {
                payload.insert(k.into(), json!(v));
            }
        }
        let mut details = Map::new();
        let list = |alerts: &[crate::alert::Alert], firing: bool| {
            alerts
                .iter()
                .map(|a| describe_alert(a, firing))
                .collect::<Vec<_>>()
                .join("\n")
        };
        details.insert("firing".into(), json!(list(&n.firing, true)));
        details.insert("resolved".into(), json!(list(&n.resolved, false)));
        details.insert("num_firing".into(), json!(n.firing.len().to_string()));
        details.insert("num_resolved".into(), json!(n.resolved.len().to_string()));
        for (k, t) in &self.details {
            details.insert(k.clone(), json!(t.render(&data, lib)?));
        }
        payload.insert("custom_details".into(), Json::Object(details));
        ev.insert("payload".into(), Json::Object(payload));
        let client = render_or(&self.client, &data, lib, || "Sightline".into())?;
        let client_url = render_or(&self.client_url, &data, lib, || console(n))?;
        ev.insert("client".into(), json!(client));
        if !client_url.is_empty() {
            ev.insert("client_url".into(), json!(client_url));
        }
        let mut links = Vec::new();
        for (h, t) in &self.links {
            let href = h.render(&data, lib)?;
            if !href.is_empty() {
                links.push(json!({"href": href, "text": t.render(&data, lib)?}));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for a in &n.firing {
            if let Some(r) = a.annotations.get("runbook_url") {
                if seen.insert(r.clone()) {
                    links.push(json!({"href": r, "text": format!("Runbook: {}", a.name())}));
                }
            }
        }
        links.push(json!({"href": console(n), "text": "Sightline alerts console"}));
        if let Some(g) = n
            .firing
            .iter()
            .map(|a| &a.generator_url)
            .find(|g| !g.is_empty())
        {
            links.push(json!({"href": g, "text": "Alert source"}));
        }
        links.truncate(20);
        ev.insert("links".into(), Json::Array(links));
        let mut images = Vec::new();
        for (s, a, h) in &self.images {
            let src = s.render(&data, lib)?;
            if !src.is_empty() {
                images.push(json!({"src": src, "alt": a.render(&data, lib)?, "href": h.render(&data, lib)?}));
            }
        }
        if !images.is_empty() {
            ev.insert("images".into(), Json::Array(images));
        }
        let mut body = serde_json::to_vec(&ev).map_err(|e| e.to_string())?;
        if body.len() > MAX_EVENT_BYTES {
            // Shrink the alert lists, the only unbounded part.
            if let Some(Json::Object(p)) = ev.get_mut("payload") {
                if let Some(Json::Object(d)) = p.get_mut("custom_details") {
                    for k in ["firing", "resolved"] {
                        if let Some(Json::String(s)) = d.get_mut(k) {
                            *s = truncate(s, 64 * 1024);
                        }
                    }
                }
            }
            body = serde_json::to_vec(&ev).map_err(|e| e.to_string())?;
        }
        Ok(Request {
            url: self.url.clone(),
            body,
        })
    }
}

fn console(n: &Notification) -> String {
    format!("{}/alerts", n.external_url.trim_end_matches('/'))
}

fn default_summary(n: &Notification, data: &crate::template::Value, lib: &Library) -> String {
    let subject = Template::parse(r#"{{ template "__subject" . }}"#)
        .and_then(|t| t.render(data, lib))
        .unwrap_or_default();
    match n.firing.first().and_then(|a| a.annotations.get("summary")) {
        Some(s) => format!("{subject}: {s}"),
        None => subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_and_keys() {
        assert_eq!(map_severity("Critical"), "critical");
        assert_eq!(map_severity("warn"), "warning");
        assert_eq!(map_severity("whatever"), "error");
        let k = PagerDuty::dedup_key("g", None);
        assert!(k.len() <= 255);
        assert_eq!(k, PagerDuty::dedup_key("g", None));
        assert_ne!(
            k,
            PagerDuty::dedup_key("g", Some(crate::alert::Fingerprint(1)))
        );
        assert_eq!(
            truncate(&"x".repeat(2000), MAX_SUMMARY).chars().count(),
            MAX_SUMMARY
        );
    }
}
