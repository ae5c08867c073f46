//! `meminfo`: one gauge per /proc/meminfo field.
//!
//! Names follow node_exporter: `Active(anon)` becomes `Active_anon`, values
//! given in kB are multiplied by 1024 and get a `_bytes` suffix, while unitless
//! fields (the `HugePages_*` page counts) keep their bare name.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_u64, read_into};
use std::path::{Path, PathBuf};

/// Publishes the kernel's memory accounting.
pub(crate) struct MeminfoCollector {
    path: PathBuf,
    buf: String,
    name: String,
    help: String,
}

impl MeminfoCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        Self {
            path: procfs.join("meminfo"),
            buf: String::new(),
            name: String::new(),
            help: String::new(),
        }
    }
}

/// Appends `field` with node_exporter's mangling: `(` → `_`, `)` dropped.
fn push_mangled(name: &mut String, field: &str) {
    for c in field.chars() {
        match c {
            '(' => name.push('_'),
            ')' => {}
            c => name.push(c),
        }
    }
}

impl Collector for MeminfoCollector {
    fn name(&self) -> &'static str {
        "meminfo"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let text = read_into(&self.path, &mut self.buf)?;
        for line in text.lines() {
            let Some((field, rest)) = line.split_once(':') else {
                continue;
            };
            let mut parts = rest.split_ascii_whitespace();
            let Some(number) = parts.next() else {
                return Err(CollectError::parse(
                    &self.path,
                    format!("{field}: no value"),
                ));
            };
            let mut value = parse_u64(&self.path, field, number)? as f64;
            self.name.clear();
            self.name.push_str("node_memory_");
            push_mangled(&mut self.name, field.trim());
            match parts.next() {
                None => {}
                Some("kB") => {
                    value *= 1024.0;
                    self.name.push_str("_bytes");
                }
                Some(unit) => {
                    return Err(CollectError::parse(
                        &self.path,
                        format!("{field}: unknown unit {unit:?}"),
                    ))
                }
            }
            self.help.clear();
            self.help.push_str("Memory information field ");
            self.help.push_str(&self.name["node_memory_".len()..]);
            self.help.push('.');
            expo::single(out, &self.name, &self.help, Kind::Gauge, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_every_field_with_node_exporter_names() {
        let out = run(&mut MeminfoCollector::new(&fixture("proc")));
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_memory_MemTotal_bytes 25276502016",
                "node_memory_MemFree_bytes 24261840896",
                "node_memory_MemAvailable_bytes 24864927744",
                "node_memory_Buffers_bytes 69341184",
                "node_memory_Active_anon_bytes 1589248",
                "node_memory_Inactive_file_bytes 530747392",
                "node_memory_NFS_Unstable_bytes 0",
                "node_memory_HugePages_Total 2",
                "node_memory_HugePages_Free 1",
                "node_memory_Hugepagesize_bytes 2097152",
                "node_memory_DirectMap4k_bytes 220200960",
            ]
        );
        assert!(out.starts_with(
            "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.\n\
             # TYPE node_memory_MemTotal_bytes gauge\n"
        ));
    }
}
