//! `time`: the system clock, the local time zone offset, and the kernel's
//! clock sources from sysfs.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::read_into;
use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

extern "C" {
    /// POSIX tzset(3); not exported by the libc crate.
    fn tzset();
}

/// Publishes `node_time_seconds` and friends.
pub(crate) struct TimeCollector {
    clocksource_dir: PathBuf,
    buf: String,
    devices: Vec<(String, String, String)>,
}

impl TimeCollector {
    pub(crate) fn new(sysfs: &Path) -> Self {
        // SAFETY: tzset only initialises libc's time zone state from TZ.
        unsafe { tzset() };
        Self {
            clocksource_dir: sysfs.join("devices/system/clocksource"),
            buf: String::new(),
            devices: Vec::new(),
        }
    }

    /// (device number, available sources, current source) per clocksource
    /// device, sorted by device number; empty when sysfs lacks them.
    fn read_clocksources(&mut self) -> Result<(), CollectError> {
        self.devices.clear();
        let entries = match std::fs::read_dir(&self.clocksource_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CollectError::io(&self.clocksource_dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| CollectError::io(&self.clocksource_dir, e))?;
            let file_name = entry.file_name();
            let Some(device) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix("clocksource"))
            else {
                continue;
            };
            if device.is_empty() || !device.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let dir = entry.path();
            let available = read_into(&dir.join("available_clocksource"), &mut self.buf)?
                .trim()
                .to_string();
            let current = read_into(&dir.join("current_clocksource"), &mut self.buf)?
                .trim()
                .to_string();
            self.devices.push((device.to_string(), available, current));
        }
        self.devices
            .sort_by_key(|(d, _, _)| d.parse::<u64>().unwrap_or(u64::MAX));
        Ok(())
    }
}

/// The local time zone's abbreviation and UTC offset in seconds at `now`.
// time_t and tm_gmtoff are i64 on 64-bit targets but narrower elsewhere.
#[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
fn local_zone(now: i64) -> Option<(String, i64)> {
    let t: libc::time_t = now.try_into().ok()?;
    // SAFETY: localtime_r writes into the zeroed `tm`; tm_zone then points to
    // static libc storage that stays valid for the process.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    Some((zone, tm.tm_gmtoff as i64))
}

impl Collector for TimeCollector {
    fn name(&self) -> &'static str {
        "time"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        self.read_clocksources()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        if !self.devices.is_empty() {
            let name = "node_time_clocksource_available_info";
            expo::header(
                out,
                name,
                "Available clocksources read from '/sys/devices/system/clocksource'.",
                Kind::Gauge,
            );
            for (device, available, _) in &self.devices {
                for source in available.split_ascii_whitespace() {
                    expo::sample(
                        out,
                        name,
                        &[("clocksource", source), ("device", device)],
                        1.0,
                    );
                }
            }
            let name = "node_time_clocksource_current_info";
            expo::header(
                out,
                name,
                "Current clocksource read from '/sys/devices/system/clocksource'.",
                Kind::Gauge,
            );
            for (device, _, current) in &self.devices {
                expo::sample(
                    out,
                    name,
                    &[("clocksource", current), ("device", device)],
                    1.0,
                );
            }
        }
        expo::single(
            out,
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
            Kind::Gauge,
            now,
        );
        if let Some((zone, offset)) = local_zone(now as i64) {
            let name = "node_time_zone_offset_seconds";
            expo::header(
                out,
                name,
                "System time zone offset in seconds.",
                Kind::Gauge,
            );
            expo::sample(out, name, &[("time_zone", &zone)], offset as f64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_clock_and_clocksources() {
        let out = run(&mut TimeCollector::new(&fixture("sys")));
        let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines[..4],
            [
                "node_time_clocksource_available_info{clocksource=\"kvm-clock\",device=\"0\"} 1",
                "node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"} 1",
                "node_time_clocksource_available_info{clocksource=\"acpi_pm\",device=\"0\"} 1",
                "node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"} 1",
            ]
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let t: f64 = lines[4]
            .strip_prefix("node_time_seconds ")
            .unwrap()
            .parse()
            .unwrap();
        assert!((now - t).abs() < 5.0, "{t} vs {now}");
        assert!(
            lines[5].starts_with("node_time_zone_offset_seconds{time_zone=\""),
            "{}",
            lines[5]
        );
    }

    #[test]
    fn missing_clocksource_dir_is_not_an_error() {
        let out = run(&mut TimeCollector::new(&fixture("nonexistent")));
        assert!(out.starts_with("# HELP node_time_seconds "));
    }
}
