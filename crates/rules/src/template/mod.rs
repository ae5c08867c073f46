//! Prometheus alert templating: a hand-written subset of Go's `text/template`
//! with Prometheus' function library.
//!
//! Templates are parsed when rules are loaded, so a typo (unknown function,
//! undefined variable, unclosed `{{ if }}`) is reported by `check rules` and at
//! reload rather than at 3 a.m. when the alert fires. Expansion mirrors
//! Prometheus: `$labels`, `$externalLabels`, `$externalURL` and `$value` are
//! predefined, `.` is the same data as a struct (`.Labels`, `.Value`…), missing
//! label keys expand to "", and an expansion error becomes the annotation text
//! `<error expanding template: …>`.

pub mod exec;
pub mod gofmt;
pub mod humanize;
pub mod parse;
pub mod value;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use exec::QueryFn;
pub use parse::ParseError;
pub use value::Val;

/// Variables Prometheus predefines in alert templates.
const PREDEFINED: &[&str] = &["", "labels", "externalLabels", "externalURL", "value"];

/// A parsed template.
#[derive(Clone, Debug)]
pub struct Template {
    src: String,
    nodes: Vec<parse::Node>,
}

/// The data an alert template sees.
#[derive(Clone, Debug, Default)]
pub struct AlertData {
    /// The alert's sample labels (`$labels`, `.Labels`).
    pub labels: BTreeMap<String, String>,
    /// The server's external labels (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// The server's external URL (`$externalURL`).
    pub external_url: String,
    /// The sample value (`$value`, `.Value`).
    pub value: f64,
}

impl Template {
    /// Parses `src`, reporting Go-style errors with the line inside the template.
    pub fn parse(src: &str) -> Result<Template, ParseError> {
        let nodes = parse::parse(src, PREDEFINED)?;
        Ok(Template {
            src: src.to_string(),
            nodes,
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// True when the template has no actions (expansion returns the text as is).
    pub fn is_static(&self) -> bool {
        self.nodes.iter().all(|n| matches!(n, parse::Node::Text(_)))
    }

    /// Expands the template; `query` backs the `query` function.
    pub fn expand(&self, data: &AlertData, query: Option<QueryFn<'_>>) -> Result<String, String> {
        if self.is_static() {
            return Ok(self.src.clone());
        }
        let labels = Val::Map(Arc::new(data.labels.clone()));
        let ext = Val::Map(Arc::new(data.external_labels.clone()));
        let url = Val::Str(data.external_url.clone());
        let value = Val::Float(data.value);
        let mut root = BTreeMap::new();
        root.insert("Labels", labels.clone());
        root.insert("ExternalLabels", ext.clone());
        root.insert("ExternalURL", url.clone());
        root.insert("Value", value.clone());
        let root = Val::Record(Arc::new(root));
        let vars = vec![
            (String::new(), root.clone()),
            ("labels".to_string(), labels),
            ("externalLabels".to_string(), ext),
            ("externalURL".to_string(), url),
            ("value".to_string(), value),
        ];
        let mut out = String::new();
        exec::Exec::new(vars, query).run(&self.nodes, &root, &mut out)?;
        Ok(out)
    }

    /// Expands like Prometheus does for annotations and labels: errors become
    /// the text `<error expanding template: …>`.
    pub fn expand_or_error(&self, data: &AlertData, query: Option<QueryFn<'_>>) -> String {
        match self.expand(data, query) {
            Ok(s) => s,
            Err(e) => format!("<error expanding template: {e}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(value: f64) -> AlertData {
        AlertData {
            labels: [
                ("instance", "web-1:9100"),
                ("job", "node"),
                ("severity", "page"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            external_labels: [("cluster".to_string(), "eu1".to_string())].into(),
            external_url: "http://sightline:9090".into(),
            value,
        }
    }

    fn run(src: &str, value: f64) -> String {
        Template::parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .expand(&data(value), None)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[test]
    fn prometheus_forms() {
        let cases: &[(&str, f64, &str)] = &[
            ("{{ $labels.instance }} down", 1.0, "web-1:9100 down"),
            ("{{ .Labels.job }}/{{ .Value }}", 0.5, "node/0.5"),
            ("{{ $value }}", 1e6, "1e+06"),
            ("{{ $externalLabels.cluster }}", 0.0, "eu1"),
            ("{{ $externalURL }}", 0.0, "http://sightline:9090"),
            ("{{ $labels.missing }}|", 0.0, "|"),
            ("{{ $value | humanize }}", 1234567.0, "1.235M"),
            ("{{ humanize1024 $value }}", 2048.0, "2ki"),
            ("{{ $value | humanizeDuration }}", 90.0, "1m 30s"),
            ("{{ $value | humanizePercentage }}", 0.0512, "5.12%"),
            (
                "{{ $value | humanizeTimestamp }}",
                1435065584.128,
                "2015-06-23 13:19:44.128 +0000 UTC",
            ),
            ("{{ printf \"%.2f\" $value }}", 2.0 / 3.0, "0.67"),
            ("{{ $labels.job | title }}", 0.0, "Node"),
            ("{{ title \"hello wide-world\" }}", 0.0, "Hello Wide-World"),
            ("{{ $labels.job | toUpper }}", 0.0, "NODE"),
            ("{{ \"ABC\" | toLower }}", 0.0, "abc"),
            (
                "{{ reReplaceAll \":[0-9]+$\" \"\" $labels.instance }}",
                0.0,
                "web-1",
            ),
            (
                "{{ reReplaceAll \"(.*):(.*)\" \"$2@$1\" $labels.instance }}",
                0.0,
                "9100@web-1",
            ),
            (
                "{{ if gt $value 10.0 }}high{{ else }}low{{ end }}",
                11.0,
                "high",
            ),
            (
                "{{ if gt $value 10.0 }}high{{ else if gt $value 5.0 }}mid{{ else }}low{{ end }}",
                6.0,
                "mid",
            ),
            ("{{ if eq $labels.severity \"page\" }}P{{ end }}", 0.0, "P"),
            (
                "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
                0.0,
                "instance=web-1:9100;job=node;severity=page;",
            ),
            (
                "{{ with $labels.job }}job {{ . }}{{ end }}",
                0.0,
                "job node",
            ),
            ("{{- \"  x \" -}}  ", 0.0, "  x "),
            ("{{ $x := 5 }}{{ $x }}", 0.0, "5"),
            ("{{ $labels.instance | stripPort }}", 0.0, "web-1"),
            ("{{ len $labels }}", 0.0, "3"),
            (
                "{{ and 1 0 }} {{ or 0 \"a\" }} {{ not true }}",
                0.0,
                "0 a false",
            ),
            ("{{ index $labels \"job\" }}", 0.0, "node"),
            (
                "{{ printf \"%s is %.1f%%\" $labels.job 99.95 }}",
                0.0,
                "node is 100.0%",
            ),
        ];
        for (src, v, want) in cases {
            assert_eq!(run(src, *v), *want, "template {src}");
        }
    }

    #[test]
    fn query_first_value() {
        let t = Template::parse("{{ query \"up\" | first | value | humanize }} {{ with query \"x\" }}{{ . | first | label \"job\" }}{{ end }}").unwrap();
        let q = |e: &str| -> Result<Vec<Val>, String> {
            Ok(vec![Val::sample(
                [("job".to_string(), e.to_string())].into(),
                1500.0,
            )])
        };
        assert_eq!(t.expand(&data(0.0), Some(&q)).unwrap(), "1.5k x");
        let empty = |_: &str| -> Result<Vec<Val>, String> { Ok(vec![]) };
        let e = t.expand(&data(0.0), Some(&empty)).unwrap_err();
        assert!(e.contains("no elements"), "{e}");
        assert!(t
            .expand_or_error(&data(0.0), None)
            .starts_with("<error expanding template: query is not available"));
    }

    #[test]
    fn load_time_errors() {
        for (src, want) in [
            ("{{ humanise $value }}", "function \"humanise\" not defined"),
            ("{{ $lables.x }}", "undefined variable \"$lables\""),
            ("{{ if $value }}x", "without {{end}}"),
            ("x\n{{ end }}", "unexpected {{end}}"),
            ("{{ $value", "unclosed action"),
        ] {
            let e = Template::parse(src).unwrap_err();
            assert!(e.to_string().contains(want), "{src}: {e}");
        }
    }
}
