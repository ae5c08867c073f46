//! Whole-render behaviour through the public API: exposition format
//! validity, failure isolation between collectors, option validation and
//! render cost on the real host.

use sightline_hostmetrics::{HostCollector, HostCollectorOptions, OptionsError};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn fixture_options() -> HostCollectorOptions {
    HostCollectorOptions {
        procfs: fixture("proc"),
        sysfs: fixture("sys"),
        rootfs: fixture("root"),
        ..Default::default()
    }
}

/// Checks the text-format rules a Prometheus parser enforces: every family
/// opens with HELP then TYPE, its samples follow contiguously, and no family
/// appears twice. Returns the family names in order.
fn check_format(text: &str) -> Vec<String> {
    let mut families = Vec::new();
    let mut seen = HashSet::new();
    let mut current: Option<String> = None;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap().to_string();
            let ty = lines.next().expect("TYPE after HELP");
            assert!(ty.starts_with(&format!("# TYPE {name} ")), "{ty}");
            let kind = ty.rsplit(' ').next().unwrap();
            assert!(["counter", "gauge", "untyped"].contains(&kind), "{ty}");
            assert!(seen.insert(name.clone()), "family {name} appears twice");
            families.push(name.clone());
            current = Some(name);
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap();
        assert_eq!(
            Some(name),
            current.as_deref(),
            "sample outside its family: {line}"
        );
        let value = line.rsplit(' ').next().unwrap();
        assert!(
            value.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&value),
            "{line}"
        );
    }
    families
}

#[test]
fn fixture_tree_renders_valid_exposition() {
    let c = HostCollector::try_new(fixture_options()).unwrap();
    let mut out = String::from("# existing content is kept\n");
    let errors = c.render_reporting(&mut out);
    assert!(errors.is_empty(), "{errors:?}");
    let body = out
        .strip_prefix("# existing content is kept\n")
        .expect("render appends");
    let families = check_format(body);
    for f in [
        "node_cpu_seconds_total",
        "node_memory_MemTotal_bytes",
        "node_load1",
        "node_boot_time_seconds",
        "node_filesystem_size_bytes",
        "node_disk_read_bytes_total",
        "node_network_receive_bytes_total",
        "node_uname_info",
        "node_time_seconds",
        "node_vmstat_pgfault",
        "node_filefd_allocated",
        "node_sockstat_sockets_used",
        "node_netstat_Tcp_CurrEstab",
        "node_os_info",
        "node_scrape_collector_success",
    ] {
        assert!(families.iter().any(|x| x == f), "{f} missing");
    }
    for line in [
        "node_memory_MemTotal_bytes 25276502016",
        "node_load15 0.39",
        "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 425.89",
        // "/" resolves to the fixture root directory, which exists.
        "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0",
        // "/data disk" does not exist under the fixture root.
        "node_filesystem_device_error{device=\"/dev/vdb\",fstype=\"xfs\",mountpoint=\"/data disk\"} 1",
        "node_network_receive_bytes_total{device=\"lo\"} 46119",
        "node_os_version{id=\"debian\",id_like=\"rhel fedora\",name=\"Debian GNU/Linux\"} 12.4",
    ] {
        assert!(body.lines().any(|l| l == line), "missing line {line}");
    }
    for collector in [
        "cpu",
        "diskstats",
        "filesystem",
        "meminfo",
        "netdev",
        "os",
        "time",
        "uname",
    ] {
        let line = format!("node_scrape_collector_success{{collector=\"{collector}\"}} 1");
        assert!(body.lines().any(|l| l == line), "missing {line}");
    }
}

#[test]
fn failing_collectors_are_isolated_and_reported() {
    let opts = HostCollectorOptions {
        procfs: fixture("proc-bad"),
        sysfs: fixture("sys"),
        rootfs: fixture("root"),
        ..Default::default()
    };
    let c = HostCollector::new(opts);
    let mut out = String::new();
    let errors = c.render_reporting(&mut out);
    check_format(&out);
    let failed: HashSet<&str> = errors.iter().map(|(name, _)| *name).collect();
    // proc-bad has a malformed loadavg, stat (no btime) and netstat, and
    // nothing else.
    for name in [
        "loadavg",
        "stat",
        "netstat",
        "meminfo",
        "diskstats",
        "netdev",
        "filefd",
        "filesystem",
        "sockstat",
        "vmstat",
    ] {
        assert!(failed.contains(name), "{name} should fail: {errors:?}");
        let line = format!("node_scrape_collector_success{{collector=\"{name}\"}} 0");
        assert!(out.lines().any(|l| l == line), "missing {line}");
    }
    for (name, e) in &errors {
        assert!(
            e.to_string().contains("proc-bad"),
            "{name}: error should name the file: {e}"
        );
    }
    // No partial families from failed collectors.
    assert!(!out.contains("node_load1"));
    assert!(!out.contains("node_boot_time_seconds"));
    // cpu reads the same malformed /proc/stat, but its cpuN lines are valid.
    assert!(out.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 0.04\n"));
    // Collectors that do not read procfs still work.
    for name in ["os", "time", "uname"] {
        let line = format!("node_scrape_collector_success{{collector=\"{name}\"}} 1");
        assert!(out.lines().any(|l| l == line), "missing {line}");
    }
}

#[test]
fn invalid_patterns_are_rejected_by_try_new_only() {
    let opts = HostCollectorOptions {
        diskstats_exclude: "(unclosed".into(),
        ..fixture_options()
    };
    match HostCollector::try_new(opts.clone()) {
        Err(OptionsError::BadRegex { option, .. }) => assert_eq!(option, "diskstats_exclude"),
        Ok(_) => panic!("invalid regex accepted"),
    }
    // `new` falls back to excluding nothing.
    let mut out = String::new();
    HostCollector::new(opts).render(&mut out);
    assert!(out.contains("node_disk_reads_completed_total{device=\"loop0\"} 0"));
}

#[test]
fn defaults_are_node_exporters() {
    let o = HostCollectorOptions::default();
    assert_eq!(o.procfs, PathBuf::from("/proc"));
    assert_eq!(o.sysfs, PathBuf::from("/sys"));
    assert_eq!(o.rootfs, PathBuf::from("/"));
    assert!(o
        .filesystem_exclude_mount_points
        .contains("sys|var/lib/docker/.+"));
    assert!(o.filesystem_exclude_fs_types.contains("tracefs"));
    assert!(o.diskstats_exclude.starts_with("^(ram|loop|fd|"));
    assert!(o.netdev_exclude.is_empty());
}

#[test]
fn renders_the_real_host_quickly() {
    let c = HostCollector::new(HostCollectorOptions::default());
    let mut out = String::new();
    c.render(&mut out); // warm up buffers
    check_format(&out);
    let runs = 20;
    let start = Instant::now();
    for _ in 0..runs {
        out.clear();
        c.render(&mut out);
    }
    let per_render = start.elapsed() / runs;
    println!("render: {per_render:?} per call, {} bytes", out.len());
    // The target is "well under 10 ms"; allow slack for an unoptimised test
    // build on a busy shared machine.
    assert!(
        per_render < Duration::from_millis(10),
        "render took {per_render:?}"
    );
}

#[test]
fn collector_can_be_shared_between_server_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<HostCollector>();
    let c = std::sync::Arc::new(HostCollector::new(fixture_options()));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut out = String::new();
                c.render(&mut out);
                check_format(&out);
                out.contains("node_memory_MemTotal_bytes 25276502016")
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
}
