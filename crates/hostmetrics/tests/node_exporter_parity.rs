//! Parity with the real node_exporter: when the Debian
//! `prometheus-node-exporter` binary is installed, run it with only the
//! collectors this crate implements and compare its output with ours.
//!
//! Asserted: every node_exporter family exists here with the same TYPE and
//! label names; the sets of `cpu`, `device` and `mountpoint` label values
//! match; stable values agree (MemTotal and filesystem sizes exactly, boot
//! time within 1s, CPU seconds within a few seconds, uname/os/disk/network
//! info series and interface MTU/speed identical).

use sightline_hostmetrics::{HostCollector, HostCollectorOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

/// The node_exporter collectors this crate implements.
const COLLECTORS: [&str; 17] = [
    "cpu",
    "diskstats",
    "entropy",
    "filefd",
    "filesystem",
    "loadavg",
    "meminfo",
    "netclass",
    "netdev",
    "netstat",
    "os",
    "pressure",
    "sockstat",
    "stat",
    "time",
    "uname",
    "vmstat",
];

/// node_exporter families we deliberately do not produce, with the reason.
/// A family listed here may still be absent from node_exporter's output on a
/// given host (most depend on hardware or udev data).
const GAPS: [(&str, &str); 6] = [
    (
        "node_exporter_build_info",
        "describes the node_exporter binary, not the host",
    ),
    (
        "node_cpu_core_throttles_total",
        "sysfs thermal_throttle counters, only on bare-metal Intel",
    ),
    (
        "node_cpu_package_throttles_total",
        "sysfs thermal_throttle counters, only on bare-metal Intel",
    ),
    (
        "node_disk_filesystem_info",
        "udev ID_FS_* properties; node_disk_info covers the dashboards",
    ),
    (
        "node_disk_ata_",
        "udev ATA properties (rotation rate, write cache), hardware specific",
    ),
    (
        "node_disk_device_mapper_info",
        "udev device-mapper properties, LVM specific",
    ),
];

/// Families of the node_exporter process itself, not of any collector.
fn is_exporter_runtime(name: &str) -> bool {
    name.starts_with("go_") || name.starts_with("process_") || name.starts_with("promhttp_")
}

type Labels = BTreeMap<String, String>;

#[derive(Debug, Default)]
struct Family {
    kind: String,
    samples: Vec<(Labels, f64)>,
}

/// A small parser for the text exposition format, enough for both outputs.
fn parse(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            let fam = families.entry(name.to_string()).or_default();
            assert!(fam.kind.is_empty(), "duplicate TYPE for {name}");
            fam.kind = kind.to_string();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (mut name, labels, value) = parse_sample(line);
        if !families.contains_key(&name) {
            // Summary and histogram series carry a suffix after the family name.
            for suffix in ["_sum", "_count", "_bucket"] {
                if let Some(base) = name.strip_suffix(suffix) {
                    if families.contains_key(base) {
                        name = base.to_string();
                        break;
                    }
                }
            }
        }
        let fam = families
            .get_mut(&name)
            .unwrap_or_else(|| panic!("sample before TYPE: {line}"));
        fam.samples.push((labels, value));
    }
    families
}

fn parse_sample(line: &str) -> (String, Labels, f64) {
    let name_end = line.find(['{', ' ']).expect("sample line");
    let name = line[..name_end].to_string();
    let mut labels = Labels::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        let mut key = String::new();
        loop {
            let (i, c) = chars.next().expect("unterminated labels");
            match c {
                '}' => {
                    rest = &body[i + 1..];
                    break;
                }
                ',' => {}
                '=' => {
                    assert_eq!(chars.next().map(|x| x.1), Some('"'));
                    let mut value = String::new();
                    loop {
                        let (_, c) = chars.next().expect("unterminated value");
                        match c {
                            '"' => break,
                            '\\' => match chars.next().expect("escape").1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            c => value.push(c),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                c => key.push(c),
            }
        }
    }
    let value = rest.split_whitespace().next().expect("value");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    (name, labels, value)
}

/// Kills the node_exporter we started when the test ends, pass or fail.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    let (head, body) = body.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
}

fn label_set<'a>(fam: &'a Family, label: &str) -> BTreeSet<&'a str> {
    fam.samples
        .iter()
        .filter_map(|(l, _)| l.get(label).map(String::as_str))
        .collect()
}

fn label_names(fam: &Family) -> BTreeSet<&str> {
    fam.samples
        .iter()
        .flat_map(|(l, _)| l.keys().map(String::as_str))
        .collect()
}

fn get<'a>(fams: &'a BTreeMap<String, Family>, name: &str) -> &'a Family {
    fams.get(name).unwrap_or_else(|| panic!("{name} missing"))
}

fn value_of(fam: &Family, want: &[(&str, &str)]) -> Option<f64> {
    fam.samples
        .iter()
        .find(|(l, _)| {
            want.iter()
                .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| *v)
}

#[test]
fn matches_real_node_exporter() {
    if !Path::new(NODE_EXPORTER).exists() {
        println!(
            "skipping: {NODE_EXPORTER} is not installed (apt-get install prometheus-node-exporter)"
        );
        return;
    }
    let opts = HostCollectorOptions {
        netdev_exclude: "^lo$".to_string(),
        ..HostCollectorOptions::default()
    };

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(NODE_EXPORTER);
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--collector.disable-defaults")
        .arg(format!(
            "--collector.filesystem.mount-points-exclude={}",
            opts.filesystem_exclude_mount_points
        ))
        .arg(format!(
            "--collector.filesystem.fs-types-exclude={}",
            opts.filesystem_exclude_fs_types
        ))
        .arg(format!(
            "--collector.diskstats.device-exclude={}",
            opts.diskstats_exclude
        ))
        .arg(format!(
            "--collector.netdev.device-exclude={}",
            opts.netdev_exclude
        ))
        .arg(format!(
            "--collector.netclass.ignored-devices={}",
            opts.netdev_exclude
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for c in COLLECTORS {
        cmd.arg(format!("--collector.{c}"));
    }
    let _exporter = Exporter(cmd.spawn().expect("start node_exporter"));

    let deadline = Instant::now() + Duration::from_secs(15);
    let theirs = loop {
        if let Some(body) = http_get(port) {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "node_exporter did not answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let collector = HostCollector::try_new(opts).unwrap();
    let mut ours = String::new();
    let errors = collector.render_reporting(&mut ours);
    assert!(errors.is_empty(), "collector errors: {errors:?}");

    let theirs = parse(&theirs);
    let ours = parse(&ours);

    let mut problems = Vec::new();
    let mut compared = 0;
    for (name, their) in &theirs {
        if is_exporter_runtime(name) {
            continue;
        }
        if let Some((_, why)) = GAPS.iter().find(|(prefix, _)| name.starts_with(prefix)) {
            println!("deliberate gap {name}: {why}");
            continue;
        }
        let Some(mine) = ours.get(name) else {
            problems.push(format!("missing family {name}"));
            continue;
        };
        compared += 1;
        if mine.kind != their.kind {
            problems.push(format!(
                "{name}: TYPE {} here, {} in node_exporter",
                mine.kind, their.kind
            ));
        }
        if label_names(mine) != label_names(their) {
            problems.push(format!(
                "{name}: labels {:?} here, {:?} in node_exporter",
                label_names(mine),
                label_names(their)
            ));
        }
        for label in ["cpu", "device", "mountpoint", "collector"] {
            if label_set(mine, label) != label_set(their, label) {
                problems.push(format!(
                    "{name}: {label} values {:?} here, {:?} in node_exporter",
                    label_set(mine, label),
                    label_set(their, label)
                ));
            }
        }
    }
    for name in ours.keys() {
        if !theirs.contains_key(name) {
            println!("extra family here (not on this host's node_exporter): {name}");
        }
    }
    assert!(
        problems.is_empty(),
        "parity problems:\n{}",
        problems.join("\n")
    );
    assert!(
        compared >= 30,
        "only {compared} families compared: node_exporter output looks wrong"
    );
    println!("{compared} node_exporter families matched");

    // Stable values.
    let mem =
        |f: &BTreeMap<String, Family>| value_of(get(f, "node_memory_MemTotal_bytes"), &[]).unwrap();
    assert_eq!(mem(&ours), mem(&theirs), "MemTotal");

    let boot =
        |f: &BTreeMap<String, Family>| value_of(get(f, "node_boot_time_seconds"), &[]).unwrap();
    assert!((boot(&ours) - boot(&theirs)).abs() <= 1.0, "boot time");

    let their_size = get(&theirs, "node_filesystem_size_bytes");
    let my_size = get(&ours, "node_filesystem_size_bytes");
    for (labels, v) in &their_size.samples {
        let want: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            value_of(my_size, &want),
            Some(*v),
            "filesystem size of {labels:?}"
        );
    }

    let their_cpu = get(&theirs, "node_cpu_seconds_total");
    let my_cpu = get(&ours, "node_cpu_seconds_total");
    assert_eq!(their_cpu.samples.len(), my_cpu.samples.len());
    for (labels, v) in &their_cpu.samples {
        let want = [
            ("cpu", labels["cpu"].as_str()),
            ("mode", labels["mode"].as_str()),
        ];
        let mine = value_of(my_cpu, &want).unwrap_or_else(|| panic!("no cpu sample {labels:?}"));
        assert!(
            (mine - v).abs() <= 5.0,
            "cpu {labels:?}: {mine} here, {v} in node_exporter"
        );
    }

    for name in [
        "node_uname_info",
        "node_os_info",
        "node_os_version",
        "node_disk_info",
        "node_network_info",
        "node_network_mtu_bytes",
        "node_network_speed_bytes",
    ] {
        let their: BTreeSet<_> = get(&theirs, name)
            .samples
            .iter()
            .map(|(l, v)| (l.clone(), v.to_bits()))
            .collect();
        let mine: BTreeSet<_> = get(&ours, name)
            .samples
            .iter()
            .map(|(l, v)| (l.clone(), v.to_bits()))
            .collect();
        assert_eq!(mine, their, "{name}");
    }
}

#[test]
fn sample_parser_handles_escapes() {
    let (name, labels, value) = parse_sample(r#"m{a="x\"y",b="p\\q\nr"} 1.5e+09"#);
    assert_eq!(name, "m");
    assert_eq!(labels["a"], "x\"y");
    assert_eq!(labels["b"], "p\\q\nr");
    assert_eq!(value, 1.5e9);
}
