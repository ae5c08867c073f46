//! `os`: `node_os_info` and `node_os_version` from the os-release file under
//! the root filesystem (`etc/os-release`, else `usr/lib/os-release`).

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::read_into;
use std::path::{Path, PathBuf};

/// os-release keys published as `node_os_info` labels, in label order.
const INFO_LABELS: [(&str, &str); 12] = [
    ("build_id", "BUILD_ID"),
    ("id", "ID"),
    ("id_like", "ID_LIKE"),
    ("image_id", "IMAGE_ID"),
    ("image_version", "IMAGE_VERSION"),
    ("name", "NAME"),
    ("pretty_name", "PRETTY_NAME"),
    ("variant", "VARIANT"),
    ("variant_id", "VARIANT_ID"),
    ("version", "VERSION"),
    ("version_codename", "VERSION_CODENAME"),
    ("version_id", "VERSION_ID"),
];

/// Decodes an os-release value: optional single or double quotes, with
/// backslash escapes inside double quotes.
fn unquote(raw: &str) -> String {
    let raw = raw.trim();
    if raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'') {
        return raw[1..raw.len() - 1].to_string();
    }
    let inner = if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The leading `major[.minor]` of a VERSION_ID, as a number.
fn major_minor(version_id: &str) -> Option<f64> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major = digits(version_id);
    if major == 0 {
        return None;
    }
    let mut end = major;
    if version_id[major..].starts_with('.') {
        end += 1 + digits(&version_id[major + 1..]);
    }
    version_id[..end].trim_end_matches('.').parse().ok()
}

/// Publishes the operating system's identity.
pub(crate) struct OsCollector {
    files: [PathBuf; 2],
    buf: String,
}

impl OsCollector {
    pub(crate) fn new(rootfs: &Path) -> Self {
        Self {
            files: [
                rootfs.join("etc/os-release"),
                rootfs.join("usr/lib/os-release"),
            ],
            buf: String::new(),
        }
    }
}

impl Collector for OsCollector {
    fn name(&self) -> &'static str {
        "os"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let text = match read_into(&self.files[0], &mut self.buf) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => read_into(&self.files[1], &mut self.buf)?,
            Err(e) => return Err(e),
        };
        let mut values: [String; INFO_LABELS.len()] = Default::default();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((key, raw)) = line.split_once('=') else {
                continue;
            };
            if let Some(i) = INFO_LABELS.iter().position(|(_, k)| *k == key) {
                values[i] = unquote(raw);
            }
        }
        let labels: Vec<(&str, &str)> = INFO_LABELS
            .iter()
            .zip(&values)
            .map(|((l, _), v)| (*l, v.as_str()))
            .collect();
        let name = "node_os_info";
        expo::header(
            out,
            name,
            "A metric with a constant '1' value labeled by the os-release identification fields.",
            Kind::Gauge,
        );
        expo::sample(out, name, &labels, 1.0);
        let name = "node_os_version";
        expo::header(
            out,
            name,
            "Metric containing the major.minor part of the OS version.",
            Kind::Gauge,
        );
        let version = major_minor(&values[11]).unwrap_or(0.0);
        expo::sample(
            out,
            name,
            &[
                ("id", &values[1]),
                ("id_like", &values[2]),
                ("name", &values[5]),
            ],
            version,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_os_release() {
        let out = run(&mut OsCollector::new(&fixture("root")));
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_os_info{build_id=\"\",id=\"debian\",id_like=\"rhel fedora\",image_id=\"\",image_version=\"\",name=\"Debian GNU/Linux\",pretty_name=\"Debian GNU/Linux 12 (bookworm)\",variant=\"With \\\"quotes\\\" and $dollar\",variant_id=\"\",version=\"12 (bookworm)\",version_codename=\"bookworm\",version_id=\"12.4\"} 1",
                "node_os_version{id=\"debian\",id_like=\"rhel fedora\",name=\"Debian GNU/Linux\"} 12.4",
            ]
        );
    }

    #[test]
    fn version_parsing() {
        assert_eq!(major_minor("12"), Some(12.0));
        assert_eq!(major_minor("22.04"), Some(22.04));
        assert_eq!(major_minor("3.18.4"), Some(3.18));
        assert_eq!(major_minor("7."), Some(7.0));
        assert_eq!(major_minor("rolling"), None);
        assert_eq!(major_minor(""), None);
    }

    #[test]
    fn missing_os_release_is_an_error() {
        assert!(OsCollector::new(&fixture("nonexistent"))
            .collect(&mut String::new())
            .is_err());
    }
}
