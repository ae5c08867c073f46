//! Slack incoming webhooks: one message with one attachment (title, text, color,
//! fields) per notification. The default text lists, for each alert, its name,
//! severity, summary, description, runbook link and key labels, and links back to
//! the console.

use std::path::Path;

use serde_json::{json, Map, Value as Json};

use super::{describe_alert, read_secret, render_or, tmpl, Notification, Request};
use crate::config::{GlobalConfig, SlackConfig};
use crate::template::{Library, Template};

/// A compiled `slack_configs` entry.
#[derive(Debug)]
pub struct Slack {
    api_url: String,
    channel: Option<Template>,
    username: Option<Template>,
    icon_emoji: Option<Template>,
    icon_url: Option<Template>,
    title: Option<Template>,
    title_link: Option<Template>,
    pretext: Option<Template>,
    text: Option<Template>,
    color: Option<Template>,
    footer: Option<Template>,
    fallback: Option<Template>,
    fields: Vec<(Template, Template, bool)>,
    link_names: bool,
    mrkdwn_in: Vec<String>,
    image_url: Option<String>,
    thumb_url: Option<String>,
    callback_id: Option<String>,
}

impl Slack {
    /// Compiles templates and resolves the webhook URL.
    pub fn compile(
        c: &SlackConfig,
        global: &GlobalConfig,
        base: Option<&Path>,
    ) -> Result<Self, (String, String)> {
        let api_url = match (
            &c.api_url,
            &c.api_url_file,
            &global.slack_api_url,
            &global.slack_api_url_file,
        ) {
            (Some(u), ..) => u.clone(),
            (None, Some(f), ..) => {
                read_secret(f, base).map_err(|e| ("api_url_file".to_string(), e))?
            }
            (None, None, Some(u), _) => u.clone(),
            (None, None, None, Some(f)) => {
                read_secret(f, base).map_err(|e| ("slack_api_url_file".to_string(), e))?
            }
            _ => return Err(("slack_configs".into(), "no api_url".into())),
        };
        let mut fields = Vec::new();
        for f in &c.fields {
            let tt = Template::parse(&f.title)
                .map_err(|e| (f.title.clone(), format!("fields.title: {e}")))?;
            let tv = Template::parse(&f.value)
                .map_err(|e| (f.value.clone(), format!("fields.value: {e}")))?;
            fields.push((tt, tv, f.short.unwrap_or(c.short_fields)));
        }
        Ok(Slack {
            api_url,
            channel: tmpl(&c.channel, "channel")?,
            username: tmpl(&c.username, "username")?,
            icon_emoji: tmpl(&c.icon_emoji, "icon_emoji")?,
            icon_url: tmpl(&c.icon_url, "icon_url")?,
            title: tmpl(&c.title, "title")?,
            title_link: tmpl(&c.title_link, "title_link")?,
            pretext: tmpl(&c.pretext, "pretext")?,
            text: tmpl(&c.text, "text")?,
            color: tmpl(&c.color, "color")?,
            footer: tmpl(&c.footer, "footer")?,
            fallback: tmpl(&c.fallback, "fallback")?,
            fields,
            link_names: c.link_names,
            mrkdwn_in: if c.mrkdwn_in.is_empty() {
                vec!["fallback".into(), "pretext".into(), "text".into()]
            } else {
                c.mrkdwn_in.clone()
            },
            image_url: c.image_url.clone(),
            thumb_url: c.thumb_url.clone(),
            callback_id: c.callback_id.clone(),
        })
    }

    /// The webhook URL (the pacing key).
    pub fn url(&self) -> &str {
        &self.api_url
    }

    /// The message for a notification.
    pub fn requests(&self, n: &Notification, lib: &Library) -> Result<Vec<Request>, String> {
        let data = n.template_data();
        let subject = || {
            Template::parse(r#"{{ template "__subject" . }}"#)
                .and_then(|t| t.render(&data, lib))
                .unwrap_or_default()
        };
        let title = render_or(&self.title, &data, lib, subject)?;
        let console = format!("{}/alerts", n.external_url.trim_end_matches('/'));
        let title_link = render_or(&self.title_link, &data, lib, || console.clone())?;
        let text = render_or(&self.text, &data, lib, || default_text(n, &console))?;
        let color = render_or(&self.color, &data, lib, || {
            if n.firing.is_empty() {
                "good".into()
            } else if n.common_labels().get("severity").map(String::as_str) == Some("warning") {
                "warning".into()
            } else {
                "danger".into()
            }
        })?;
        let fallback = render_or(&self.fallback, &data, lib, || {
            format!("{title} | {title_link}")
        })?;
        let mut att = Map::new();
        att.insert("title".into(), json!(title));
        att.insert("title_link".into(), json!(title_link));
        att.insert("text".into(), json!(text));
        att.insert("color".into(), json!(color));
        att.insert("fallback".into(), json!(fallback));
        att.insert("mrkdwn_in".into(), json!(self.mrkdwn_in));
        for (k, t) in [("pretext", &self.pretext), ("footer", &self.footer)] {
            let v = render_or(t, &data, lib, String::new)?;
            if !v.is_empty() {
                att.insert(k.into(), json!(v));
            }
        }
        for (k, v) in [
            ("image_url", &self.image_url),
            ("thumb_url", &self.thumb_url),
            ("callback_id", &self.callback_id),
        ] {
            if let Some(v) = v {
                att.insert(k.into(), json!(v));
            }
        }
        if !self.fields.is_empty() {
            let mut fs = Vec::new();
            for (t, v, short) in &self.fields {
                fs.push(json!({"title": t.render(&data, lib)?, "value": v.render(&data, lib)?, "short": short}));
            }
            att.insert("fields".into(), Json::Array(fs));
        }
        let mut msg = Map::new();
        for (k, t) in [
            ("channel", &self.channel),
            ("username", &self.username),
            ("icon_emoji", &self.icon_emoji),
            ("icon_url", &self.icon_url),
        ] {
            let v = render_or(t, &data, lib, String::new)?;
            if !v.is_empty() {
                msg.insert(k.into(), json!(v));
            }
        }
        if !msg.contains_key("username") {
            msg.insert("username".into(), json!("Sightline"));
        }
        if self.link_names {
            msg.insert("link_names".into(), json!(true));
        }
        msg.insert("attachments".into(), json!([Json::Object(att)]));
        Ok(vec![Request {
            url: self.api_url.clone(),
            body: serde_json::to_vec(&msg).map_err(|e| e.to_string())?,
        }])
    }
}

fn default_text(n: &Notification, console: &str) -> String {
    let mut s = String::new();
    for a in &n.firing {
        s.push_str(&slack_markup(&describe_alert(a, true)));
        s.push('\n');
    }
    for a in &n.resolved {
        s.push_str(&slack_markup(&describe_alert(a, false)));
        s.push('\n');
    }
    s.push_str(&format!("<{console}|Open in Sightline>"));
    s
}

fn slack_markup(text: &str) -> String {
    // Bold the first line (status, name, severity, summary); link the runbook.
    let mut lines = text.lines();
    let mut out = String::new();
    if let Some(first) = lines.next() {
        out.push('*');
        out.push_str(first);
        out.push_str("*\n");
    }
    for l in lines {
        match l.strip_prefix("Runbook: ") {
            Some(url) => out.push_str(&format!("<{url}|:notebook: Runbook>\n")),
            None => {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    out
}
