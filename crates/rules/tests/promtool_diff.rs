//! `check rules` agrees with Debian's `promtool check rules` on which files are
//! valid, and every error we report carries a line. Skips without promtool.

use sightline_rules::file::check_files;
use std::path::Path;

const HEAD: &str = "groups:\n  - name: g\n    rules:\n";

fn cases() -> Vec<(&'static str, String)> {
    let r = |body: &str| format!("{HEAD}{body}");
    vec![
        ("valid", r("      - record: job:up:sum\n        expr: sum by (job) (up)\n      - alert: Down\n        expr: up == 0\n        for: 5m\n        keep_firing_for: 1m\n        labels: {severity: page}\n        annotations:\n          summary: '{{ $labels.instance }} is {{ $value | humanize }}'\n")),
        ("valid-empty", "groups: []\n".to_string()),
        ("bad-expr", r("      - record: a\n        expr: sum(\n")),
        ("dup-group", "groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n".to_string()),
        ("bad-record-name", r("      - record: bad-name\n        expr: up\n")),
        ("record-and-alert", r("      - record: a\n        alert: b\n        expr: up\n")),
        ("neither", r("      - expr: up\n")),
        ("unknown-field", r("      - alert: A\n        expr: up\n        fore: 5m\n")),
        ("bad-template-func", r("      - alert: A\n        expr: up\n        annotations:\n          s: '{{ humanise $value }}'\n")),
        ("undefined-var", r("      - alert: A\n        expr: up\n        annotations:\n          s: '{{ $lables.x }}'\n")),
        ("unclosed-if", r("      - alert: A\n        expr: up\n        labels:\n          s: '{{ if true }}x'\n")),
        ("annotations-on-record", r("      - record: a\n        expr: up\n        annotations: {x: y}\n")),
        ("for-on-record", r("      - record: a\n        expr: up\n        for: 1m\n")),
        ("bad-label-name", r("      - alert: A\n        expr: up\n        labels: {1abc: x}\n")),
        ("empty-group-name", "groups:\n  - name: ''\n    rules: []\n".to_string()),
        ("bad-duration", "groups:\n  - name: a\n    interval: 5x\n    rules: []\n".to_string()),
        ("missing-expr", r("      - alert: A\n")),
        ("not-yaml", "groups:\n  - name: a\n    rules:\n  bad\n".to_string()),
    ]
}

#[test]
fn agrees_with_promtool_on_validity() {
    let promtool = Path::new("/usr/bin/promtool");
    let dir = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    for (name, text) in cases() {
        let path = dir.path().join(format!("{name}.yml"));
        std::fs::write(&path, &text).unwrap();
        let ours = &check_files(std::slice::from_ref(&path))[0];
        assert_eq!(ours.ok(), name.starts_with("valid"), "{name}: {ours}");
        for e in &ours.errors {
            assert!(e.pos.is_some(), "{name}: error without a line: {e}");
        }
        if !promtool.exists() {
            continue;
        }
        let out = std::process::Command::new(promtool)
            .args(["check", "rules"])
            .arg(&path)
            .output()
            .unwrap();
        if out.status.success() != ours.ok() {
            disagreements.push(format!(
                "{name}: promtool ok={} ours ok={}\n{}{}",
                out.status.success(),
                ours.ok(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    if !promtool.exists() {
        eprintln!("SKIP promtool comparison: /usr/bin/promtool not installed");
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
