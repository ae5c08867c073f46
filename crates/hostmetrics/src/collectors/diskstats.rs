//! `diskstats`: per block device I/O counters from /proc/diskstats, plus
//! `node_disk_info` labelled with udev properties when udev data exists.
//!
//! Sector counts are converted to bytes (×512) and millisecond times to
//! seconds. Discard and flush columns exist only on newer kernels; their
//! families appear only for devices whose line has them.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::options::HostCollectorOptions;
use crate::source::{parse_u64, read_into};
use regex::Regex;
use std::path::PathBuf;

/// How a raw column is scaled for publication.
#[derive(Clone, Copy)]
enum Scale {
    One,
    SectorsToBytes,
    MillisToSeconds,
}

/// (column after the device name, metric name, help, type, scale)
const COLUMNS: [(usize, &str, &str, Kind, Scale); 17] = [
    (
        0,
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        Kind::Counter,
        Scale::One,
    ),
    (
        1,
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        Kind::Counter,
        Scale::One,
    ),
    (
        2,
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        Kind::Counter,
        Scale::SectorsToBytes,
    ),
    (
        3,
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        Kind::Counter,
        Scale::MillisToSeconds,
    ),
    (
        4,
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        Kind::Counter,
        Scale::One,
    ),
    (
        5,
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        Kind::Counter,
        Scale::One,
    ),
    (
        6,
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        Kind::Counter,
        Scale::SectorsToBytes,
    ),
    (
        7,
        "node_disk_write_time_seconds_total",
        "The total number of seconds spent by all writes.",
        Kind::Counter,
        Scale::MillisToSeconds,
    ),
    (
        8,
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        Kind::Gauge,
        Scale::One,
    ),
    (
        9,
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        Kind::Counter,
        Scale::MillisToSeconds,
    ),
    (
        10,
        "node_disk_io_time_weighted_seconds_total",
        "The weighted number of seconds spent doing I/Os.",
        Kind::Counter,
        Scale::MillisToSeconds,
    ),
    (
        11,
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        Kind::Counter,
        Scale::One,
    ),
    (
        12,
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        Kind::Counter,
        Scale::One,
    ),
    (
        13,
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        Kind::Counter,
        Scale::One,
    ),
    (
        14,
        "node_disk_discard_time_seconds_total",
        "The total number of seconds spent by all discards.",
        Kind::Counter,
        Scale::MillisToSeconds,
    ),
    (
        15,
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully.",
        Kind::Counter,
        Scale::One,
    ),
    (
        16,
        "node_disk_flush_requests_time_seconds_total",
        "The total number of seconds spent by all flush requests.",
        Kind::Counter,
        Scale::MillisToSeconds,
    ),
];

/// One /proc/diskstats line.
struct Disk<'a> {
    major: &'a str,
    minor: &'a str,
    name: &'a str,
    values: [u64; 17],
    columns: usize,
}

/// udev properties published as `node_disk_info` labels, in label order.
const UDEV_LABELS: [(&str, &str); 5] = [
    ("model", "ID_MODEL"),
    ("path", "ID_PATH"),
    ("revision", "ID_REVISION"),
    ("serial", "ID_SERIAL_SHORT"),
    ("wwn", "ID_WWN"),
];

/// Publishes block device statistics.
pub(crate) struct DiskstatsCollector {
    path: PathBuf,
    udev_dir: PathBuf,
    exclude: Option<Regex>,
    buf: String,
    udev_buf: String,
    udev_path: PathBuf,
}

impl DiskstatsCollector {
    pub(crate) fn new(o: &HostCollectorOptions, exclude: Option<Regex>) -> Self {
        Self {
            path: o.procfs.join("diskstats"),
            udev_dir: o.rootfs.join("run/udev/data"),
            exclude,
            buf: String::new(),
            udev_buf: String::new(),
            udev_path: PathBuf::new(),
        }
    }
}

fn parse<'a>(
    path: &std::path::Path,
    text: &'a str,
    exclude: Option<&Regex>,
) -> Result<Vec<Disk<'a>>, CollectError> {
    let mut disks = Vec::new();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(major), Some(minor), Some(name)) = (f.next(), f.next(), f.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(CollectError::parse(path, format!("short line {line:?}")));
        };
        if exclude.is_some_and(|r| r.is_match(name)) {
            continue;
        }
        let mut values = [0u64; 17];
        let mut columns = 0;
        for (slot, field) in values.iter_mut().zip(f) {
            *slot = parse_u64(path, name, field)?;
            columns += 1;
        }
        if columns < 11 {
            return Err(CollectError::parse(
                path,
                format!("{name}: only {columns} counters"),
            ));
        }
        disks.push(Disk {
            major,
            minor,
            name,
            values,
            columns,
        });
    }
    Ok(disks)
}

impl Collector for DiskstatsCollector {
    fn name(&self) -> &'static str {
        "diskstats"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let text = read_into(&self.path, &mut self.buf)?;
        let disks = parse(&self.path, text, self.exclude.as_ref())?;

        let name = "node_disk_info";
        expo::header(out, name, "Info of /sys/block/<block_device>.", Kind::Gauge);
        for d in &disks {
            self.udev_path.clear();
            self.udev_path.push(&self.udev_dir);
            self.udev_path.push(format!("b{}:{}", d.major, d.minor));
            // udev data is optional: absent in containers and minimal systems.
            let props = read_into(&self.udev_path, &mut self.udev_buf).unwrap_or("");
            let mut udev = [""; UDEV_LABELS.len()];
            for line in props.lines() {
                let Some((key, value)) = line.strip_prefix("E:").and_then(|l| l.split_once('='))
                else {
                    continue;
                };
                if let Some(i) = UDEV_LABELS.iter().position(|(_, k)| *k == key) {
                    udev[i] = value;
                }
            }
            let labels = [
                ("device", d.name),
                ("major", d.major),
                ("minor", d.minor),
                (UDEV_LABELS[0].0, udev[0]),
                (UDEV_LABELS[1].0, udev[1]),
                (UDEV_LABELS[2].0, udev[2]),
                (UDEV_LABELS[3].0, udev[3]),
                (UDEV_LABELS[4].0, udev[4]),
            ];
            expo::sample(out, name, &labels, 1.0);
        }

        for (col, name, help, kind, scale) in COLUMNS {
            if !disks.iter().any(|d| d.columns > col) {
                continue;
            }
            expo::header(out, name, help, kind);
            for d in disks.iter().filter(|d| d.columns > col) {
                let labels = [("device", d.name)];
                let raw = d.values[col];
                match scale {
                    Scale::One => expo::sample_u64(out, name, &labels, raw),
                    Scale::SectorsToBytes => expo::sample(out, name, &labels, raw as f64 * 512.0),
                    Scale::MillisToSeconds => expo::sample(out, name, &labels, raw as f64 / 1000.0),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};
    use crate::options::DEFAULT_DISKSTATS_EXCLUDE;

    fn collector() -> DiskstatsCollector {
        let o = HostCollectorOptions {
            procfs: fixture("proc"),
            rootfs: fixture("root"),
            ..Default::default()
        };
        DiskstatsCollector::new(&o, Some(Regex::new(DEFAULT_DISKSTATS_EXCLUDE).unwrap()))
    }

    #[test]
    fn renders_devices_with_units_converted() {
        let out = run(&mut collector());
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_disk_info{device=\"vda\",major=\"254\",minor=\"0\",model=\"QEMU HARDDISK\",path=\"pci-0000:00:05.0\",revision=\"2.5+\",serial=\"QM00001\",wwn=\"\"} 1",
                "node_disk_info{device=\"sr0\",major=\"11\",minor=\"0\",model=\"\",path=\"\",revision=\"\",serial=\"\",wwn=\"\"} 1",
                "node_disk_reads_completed_total{device=\"vda\"} 45447",
                "node_disk_reads_completed_total{device=\"sr0\"} 3",
                "node_disk_reads_merged_total{device=\"vda\"} 6726",
                "node_disk_reads_merged_total{device=\"sr0\"} 0",
                "node_disk_read_bytes_total{device=\"vda\"} 1854886912",
                "node_disk_read_bytes_total{device=\"sr0\"} 1024",
                "node_disk_read_time_seconds_total{device=\"vda\"} 55.67",
                "node_disk_read_time_seconds_total{device=\"sr0\"} 0.004",
                "node_disk_writes_completed_total{device=\"vda\"} 6451",
                "node_disk_writes_completed_total{device=\"sr0\"} 0",
                "node_disk_writes_merged_total{device=\"vda\"} 21712",
                "node_disk_writes_merged_total{device=\"sr0\"} 0",
                "node_disk_written_bytes_total{device=\"vda\"} 1523503104",
                "node_disk_written_bytes_total{device=\"sr0\"} 0",
                "node_disk_write_time_seconds_total{device=\"vda\"} 9.744",
                "node_disk_write_time_seconds_total{device=\"sr0\"} 0",
                "node_disk_io_now{device=\"vda\"} 1",
                "node_disk_io_now{device=\"sr0\"} 0",
                "node_disk_io_time_seconds_total{device=\"vda\"} 5.832",
                "node_disk_io_time_seconds_total{device=\"sr0\"} 0.008",
                "node_disk_io_time_weighted_seconds_total{device=\"vda\"} 65.747",
                "node_disk_io_time_weighted_seconds_total{device=\"sr0\"} 0.004",
                "node_disk_discards_completed_total{device=\"vda\"} 4257",
                "node_disk_discards_merged_total{device=\"vda\"} 27",
                "node_disk_discarded_sectors_total{device=\"vda\"} 246328",
                "node_disk_discard_time_seconds_total{device=\"vda\"} 0.31",
                "node_disk_flush_requests_total{device=\"vda\"} 700",
                "node_disk_flush_requests_time_seconds_total{device=\"vda\"} 0.022",
            ]
        );
        assert!(out.contains("# TYPE node_disk_io_now gauge\n"));
        assert!(out.contains("# TYPE node_disk_read_bytes_total counter\n"));
    }

    #[test]
    fn malformed_line_is_an_error() {
        let p = std::path::Path::new("/proc/diskstats");
        assert!(parse(p, "8 0 sda 1 2 3\n", None).is_err());
        assert!(parse(p, "8 0\n", None).is_err());
        assert!(parse(p, "8 0 sda 1 2 3 4 5 6 7 8 9 10 x\n", None).is_err());
        assert_eq!(
            parse(p, "\n8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n", None)
                .unwrap()
                .len(),
            1
        );
    }
}
