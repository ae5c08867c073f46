//! The series catalogue of one simulated node_exporter target: names, label values and
//! magnitudes as a Linux host with 8 CPUs, NVMe disks and a few interfaces reports
//! them, about 540 series per host.

use rand::rngs::SmallRng;
use rand::Rng;

use super::gen::{ValueGen, CPU_MODES};
use super::profile::HostProfile;

/// One series: sorted labels (including `__name__`) and its value generator.
#[derive(Debug, Clone)]
pub struct SeriesDef {
    /// Labels sorted by name, `__name__` included.
    pub labels: Vec<(String, String)>,
    /// How its value evolves.
    pub gen: ValueGen,
}

struct Catalog<'a> {
    instance: &'a str,
    out: Vec<SeriesDef>,
}

impl Catalog<'_> {
    fn add(&mut self, name: &str, extra: &[(&str, &str)], gen: ValueGen) {
        let mut labels: Vec<(String, String)> = Vec::with_capacity(extra.len() + 3);
        labels.push(("__name__".into(), name.into()));
        labels.push(("instance".into(), self.instance.into()));
        labels.push(("job".into(), "node".into()));
        for (k, v) in extra {
            labels.push(((*k).into(), (*v).into()));
        }
        labels.sort();
        self.out.push(SeriesDef { labels, gen });
    }
}

/// Collectors node_exporter enables by default (for `node_scrape_collector_*`).
const COLLECTORS: [&str; 34] = [
    "arp",
    "bcache",
    "bonding",
    "btrfs",
    "conntrack",
    "cpu",
    "cpufreq",
    "diskstats",
    "dmi",
    "edac",
    "entropy",
    "fibrechannel",
    "filefd",
    "filesystem",
    "hwmon",
    "infiniband",
    "ipvs",
    "loadavg",
    "mdadm",
    "meminfo",
    "netclass",
    "netdev",
    "netstat",
    "nfs",
    "nfsd",
    "nvme",
    "os",
    "powersupplyclass",
    "pressure",
    "rapl",
    "schedstat",
    "sockstat",
    "stat",
    "time",
];

/// `/proc/meminfo` fields (without `_bytes`) and their share of total memory; a share
/// of 0 marks fields that stay 0 on most hosts.
const MEMINFO: [(&str, f64); 42] = [
    ("MemFree", 0.22),
    ("MemAvailable", 0.61),
    ("Buffers", 0.02),
    ("Cached", 0.36),
    ("SwapCached", 0.0),
    ("Active", 0.31),
    ("Inactive", 0.29),
    ("Active_anon", 0.14),
    ("Inactive_anon", 0.03),
    ("Active_file", 0.17),
    ("Inactive_file", 0.26),
    ("Unevictable", 0.001),
    ("Mlocked", 0.001),
    ("SwapTotal", 0.0),
    ("SwapFree", 0.0),
    ("Zswap", 0.0),
    ("Zswapped", 0.0),
    ("Dirty", 0.0002),
    ("Writeback", 0.0),
    ("AnonPages", 0.16),
    ("Mapped", 0.05),
    ("Shmem", 0.01),
    ("KReclaimable", 0.03),
    ("Slab", 0.05),
    ("SReclaimable", 0.03),
    ("SUnreclaim", 0.02),
    ("KernelStack", 0.001),
    ("PageTables", 0.004),
    ("SecPageTables", 0.0),
    ("NFS_Unstable", 0.0),
    ("Bounce", 0.0),
    ("WritebackTmp", 0.0),
    ("CommitLimit", 0.5),
    ("Committed_AS", 0.42),
    ("VmallocUsed", 0.002),
    ("VmallocChunk", 0.0),
    ("Percpu", 0.0005),
    ("HardwareCorrupted", 0.0),
    ("AnonHugePages", 0.02),
    ("ShmemHugePages", 0.0),
    ("DirectMap4k", 0.02),
    ("DirectMap2M", 0.7),
];

/// Rounds bytes down to whole kilobytes, as `/proc/meminfo` reports them.
fn kb(bytes: f64) -> f64 {
    (bytes / 1024.0).floor() * 1024.0
}

/// The series of host `profile`, labelled `instance`.
pub fn host_series(profile: &HostProfile, instance: &str, rng: &mut SmallRng) -> Vec<SeriesDef> {
    let mut c = Catalog {
        instance,
        out: Vec::with_capacity(600),
    };
    let uptime_s = rng.random_range(86_400.0..60.0 * 86_400.0);
    let cpus: Vec<String> = (0..profile.cpus).map(|i| i.to_string()).collect();
    let busy0 = profile.busy(0);

    // CPU: node_cpu_seconds_total, guest time, frequencies, schedstat.
    for cpu in &cpus {
        for (mode, share) in CPU_MODES {
            let idle = mode == "idle";
            let frac = if idle { 1.0 - busy0 } else { busy0 * share };
            let ticks = (uptime_s * 100.0 * frac * rng.random_range(0.8..1.2)) as u64;
            c.add(
                "node_cpu_seconds_total",
                &[("cpu", cpu), ("mode", mode)],
                ValueGen::Cpu { ticks, share, idle },
            );
        }
        for mode in ["nice", "user"] {
            c.add(
                "node_cpu_guest_seconds_total",
                &[("cpu", cpu), ("mode", mode)],
                ValueGen::Const(0.0),
            );
        }
        let fmax = 3_600_000_000.0;
        c.add(
            "node_cpu_scaling_frequency_hertz",
            &[("cpu", cpu)],
            ValueGen::steps(2_400_000_000.0, 100_000_000.0, 0.6, 8, 1_200_000_000.0),
        );
        c.add(
            "node_cpu_scaling_frequency_max_hertz",
            &[("cpu", cpu)],
            ValueGen::Const(fmax),
        );
        c.add(
            "node_cpu_scaling_frequency_min_hertz",
            &[("cpu", cpu)],
            ValueGen::Const(800_000_000.0),
        );
        let run_ms = (uptime_s * 1000.0 * busy0) as u64;
        c.add(
            "node_schedstat_running_seconds_total",
            &[("cpu", cpu)],
            ValueGen::counter(run_ms * 1_000_000, 1e9 * busy0, 0.1, 1e9),
        );
        c.add(
            "node_schedstat_waiting_seconds_total",
            &[("cpu", cpu)],
            ValueGen::counter(run_ms * 50_000, 5e7 * busy0, 0.3, 1e9),
        );
        c.add(
            "node_schedstat_timeslices_total",
            &[("cpu", cpu)],
            ValueGen::counter((uptime_s * 900.0) as u64, 900.0, 0.2, 1.0),
        );
    }

    // Memory: ~45 gauges in whole kilobytes, most of them nearly constant.
    let total = profile.mem_bytes as f64;
    c.add(
        "node_memory_MemTotal_bytes",
        &[],
        ValueGen::Const(kb(total)),
    );
    for (field, share) in MEMINFO {
        let name = format!("node_memory_{field}_bytes");
        let v = kb(total * share * rng.random_range(0.9..1.1));
        let gen = match field {
            _ if share == 0.0 => ValueGen::Const(0.0),
            "CommitLimit" | "DirectMap4k" | "DirectMap2M" => ValueGen::Const(v),
            "Dirty" => ValueGen::steps(v, 4096.0, 0.9, 200, v),
            "MemFree" | "MemAvailable" | "Cached" | "Active" | "Inactive" | "Active_file"
            | "Inactive_file" | "AnonPages" | "Active_anon" | "Committed_AS" => {
                ValueGen::steps(v, 4096.0, 0.8, 600, total * 0.05)
            }
            _ => ValueGen::steps(v, 4096.0, 0.15, 20, total * 0.005),
        };
        c.add(&name, &[], gen);
    }
    c.add(
        "node_memory_VmallocTotal_bytes",
        &[],
        ValueGen::Const(35_184_372_087_808.0),
    );
    for f in [
        "HugePages_Total",
        "HugePages_Free",
        "HugePages_Rsvd",
        "HugePages_Surp",
    ] {
        c.add(&format!("node_memory_{f}"), &[], ValueGen::Const(0.0));
    }
    c.add(
        "node_memory_Hugepagesize_bytes",
        &[],
        ValueGen::Const(2_097_152.0),
    );
    c.add("node_memory_Hugetlb_bytes", &[], ValueGen::Const(0.0));

    // Filesystems.
    let fs = [
        ("/dev/nvme0n1p2", "ext4", "/", 480e9),
        ("/dev/nvme0n1p1", "vfat", "/boot/efi", 0.5e9),
        ("/dev/nvme1n1", "xfs", "/var/lib/data", 1.9e12),
        ("tmpfs", "tmpfs", "/run", 3.2e9),
    ];
    for (device, fstype, mountpoint, size) in fs {
        let l = [
            ("device", device),
            ("fstype", fstype),
            ("mountpoint", mountpoint),
        ];
        let size = (size / 4096.0f64).floor() * 4096.0;
        let free = (size * rng.random_range(0.2..0.8) / 4096.0).floor() * 4096.0;
        let busy_fs = mountpoint != "/boot/efi";
        let step = |v: f64| {
            if busy_fs {
                ValueGen::steps(v, 4096.0, 0.7, 500, size * 0.01)
            } else {
                ValueGen::Const(v)
            }
        };
        c.add("node_filesystem_size_bytes", &l, ValueGen::Const(size));
        c.add("node_filesystem_free_bytes", &l, step(free));
        c.add("node_filesystem_avail_bytes", &l, step(free - size * 0.05));
        let files = (size / 16384.0).floor();
        c.add("node_filesystem_files", &l, ValueGen::Const(files));
        c.add(
            "node_filesystem_files_free",
            &l,
            if busy_fs {
                ValueGen::steps((files * 0.9).floor(), 1.0, 0.5, 40, files * 0.01)
            } else {
                ValueGen::Const((files * 0.99).floor())
            },
        );
        c.add("node_filesystem_readonly", &l, ValueGen::Const(0.0));
        c.add("node_filesystem_device_error", &l, ValueGen::Const(0.0));
    }

    // Disks: 17 diskstats series per device.
    for (device, activity) in [("nvme0n1", 1.0), ("nvme1n1", 3.0), ("dm-0", 0.8)] {
        let l = [("device", device)];
        let reads = 40.0 * activity;
        let writes = 90.0 * activity;
        let up = uptime_s;
        let cnt = |rate: f64, div: f64, noise: f64| {
            ValueGen::counter((up * rate) as u64, rate, noise, div)
        };
        c.add("node_disk_reads_completed_total", &l, cnt(reads, 1.0, 0.5));
        c.add(
            "node_disk_reads_merged_total",
            &l,
            cnt(reads * 0.1, 1.0, 0.8),
        );
        c.add(
            "node_disk_read_bytes_total",
            &l,
            cnt(reads * 16384.0, 1.0, 0.6),
        );
        c.add(
            "node_disk_read_time_seconds_total",
            &l,
            cnt(reads * 0.2, 1000.0, 0.6),
        );
        c.add(
            "node_disk_writes_completed_total",
            &l,
            cnt(writes, 1.0, 0.4),
        );
        c.add(
            "node_disk_writes_merged_total",
            &l,
            cnt(writes * 0.3, 1.0, 0.6),
        );
        c.add(
            "node_disk_written_bytes_total",
            &l,
            cnt(writes * 24576.0, 1.0, 0.5),
        );
        c.add(
            "node_disk_write_time_seconds_total",
            &l,
            cnt(writes * 0.5, 1000.0, 0.5),
        );
        c.add(
            "node_disk_io_now",
            &l,
            ValueGen::steps(0.0, 1.0, 0.2, 3, 4.0),
        );
        c.add(
            "node_disk_io_time_seconds_total",
            &l,
            cnt(60.0 * activity, 1000.0, 0.4),
        );
        c.add(
            "node_disk_io_time_weighted_seconds_total",
            &l,
            cnt(90.0 * activity, 1000.0, 0.5),
        );
        c.add(
            "node_disk_discards_completed_total",
            &l,
            cnt(0.05, 1.0, 1.0),
        );
        c.add("node_disk_discards_merged_total", &l, ValueGen::Const(0.0));
        c.add("node_disk_discarded_sectors_total", &l, cnt(40.0, 1.0, 1.0));
        c.add(
            "node_disk_discard_time_seconds_total",
            &l,
            cnt(0.02, 1000.0, 1.0),
        );
        c.add(
            "node_disk_flush_requests_total",
            &l,
            cnt(2.0 * activity, 1.0, 0.5),
        );
        c.add(
            "node_disk_flush_requests_time_seconds_total",
            &l,
            cnt(1.0 * activity, 1000.0, 0.5),
        );
    }

    // Network: 16 netdev counters and 3 gauges per device.
    for (device, pps, mtu) in [
        ("eth0", 900.0, 1500.0),
        ("lo", 300.0, 65536.0),
        ("docker0", 40.0, 1500.0),
    ] {
        let l = [("device", device)];
        let up = uptime_s;
        let cnt = |rate: f64, noise: f64| ValueGen::counter((up * rate) as u64, rate, noise, 1.0);
        for dir in ["receive", "transmit"] {
            let k = if dir == "receive" { 1.0 } else { 0.8 };
            c.add(
                &format!("node_network_{dir}_bytes_total"),
                &l,
                cnt(pps * k * 700.0, 0.4),
            );
            c.add(
                &format!("node_network_{dir}_packets_total"),
                &l,
                cnt(pps * k, 0.3),
            );
            c.add(
                &format!("node_network_{dir}_errs_total"),
                &l,
                ValueGen::Const(0.0),
            );
            c.add(
                &format!("node_network_{dir}_drop_total"),
                &l,
                cnt(pps * 1e-5, 1.0),
            );
            c.add(
                &format!("node_network_{dir}_fifo_total"),
                &l,
                ValueGen::Const(0.0),
            );
            c.add(
                &format!("node_network_{dir}_compressed_total"),
                &l,
                ValueGen::Const(0.0),
            );
        }
        c.add("node_network_receive_frame_total", &l, ValueGen::Const(0.0));
        c.add("node_network_receive_multicast_total", &l, cnt(0.3, 0.5));
        c.add(
            "node_network_transmit_colls_total",
            &l,
            ValueGen::Const(0.0),
        );
        c.add(
            "node_network_transmit_carrier_total",
            &l,
            ValueGen::Const(0.0),
        );
        c.add("node_network_up", &l, ValueGen::Const(1.0));
        c.add("node_network_mtu_bytes", &l, ValueGen::Const(mtu));
        c.add("node_network_carrier", &l, ValueGen::Const(1.0));
    }

    // Load averages and kernel counters.
    let runnable = busy0 * profile.cpus as f64;
    for (name, tau) in [
        ("node_load1", 60.0),
        ("node_load5", 300.0),
        ("node_load15", 900.0),
    ] {
        c.add(
            name,
            &[],
            ValueGen::Load {
                value: runnable,
                tau,
            },
        );
    }
    let up = uptime_s;
    let cnt = |rate: f64, noise: f64| ValueGen::counter((up * rate) as u64, rate, noise, 1.0);
    c.add("node_context_switches_total", &[], cnt(9000.0, 0.2));
    c.add("node_intr_total", &[], cnt(7000.0, 0.2));
    c.add("node_forks_total", &[], cnt(12.0, 0.5));
    c.add(
        "node_procs_running",
        &[],
        ValueGen::steps(2.0, 1.0, 0.6, 3, 2.0),
    );
    c.add(
        "node_procs_blocked",
        &[],
        ValueGen::steps(0.0, 1.0, 0.1, 1, 1.0),
    );
    let now_s = 1.7e9;
    c.add(
        "node_boot_time_seconds",
        &[],
        ValueGen::Const((now_s - uptime_s).floor()),
    );
    c.add("node_time_seconds", &[], ValueGen::Clock);
    c.add("node_entropy_available_bits", &[], ValueGen::Const(256.0));
    c.add("node_entropy_pool_size_bits", &[], ValueGen::Const(256.0));
    c.add(
        "node_filefd_allocated",
        &[],
        ValueGen::steps(4800.0, 8.0, 0.7, 10, 800.0),
    );
    c.add(
        "node_filefd_maximum",
        &[],
        ValueGen::Const(9_223_372_036_854_775_807.0),
    );
    c.add(
        "node_nf_conntrack_entries",
        &[],
        ValueGen::steps(310.0, 1.0, 0.9, 30, 200.0),
    );
    c.add(
        "node_nf_conntrack_entries_limit",
        &[],
        ValueGen::Const(262_144.0),
    );
    c.add("node_textfile_scrape_error", &[], ValueGen::Const(0.0));
    for f in [
        "pgfault",
        "pgmajfault",
        "pgpgin",
        "pgpgout",
        "pswpin",
        "pswpout",
        "oom_kill",
        "workingset_refault_file",
        "pgsteal_kswapd",
        "pgscan_kswapd",
    ] {
        let rate = match f {
            "pgfault" => 20000.0,
            "pgpgin" | "pgpgout" => 800.0,
            "pgmajfault" => 0.5,
            "pswpin" | "pswpout" | "oom_kill" => 0.0,
            _ => 3.0,
        };
        let gen = if rate == 0.0 {
            ValueGen::Const(0.0)
        } else {
            cnt(rate, 0.4)
        };
        c.add(&format!("node_vmstat_{f}"), &[], gen);
    }
    let netstat = [
        ("Tcp_ActiveOpens", 4.0),
        ("Tcp_PassiveOpens", 6.0),
        ("Tcp_AttemptFails", 0.05),
        ("Tcp_EstabResets", 0.2),
        ("Tcp_InErrs", 0.0),
        ("Tcp_OutRsts", 0.5),
        ("Tcp_InSegs", 800.0),
        ("Tcp_OutSegs", 750.0),
        ("Tcp_RetransSegs", 0.3),
        ("Udp_InDatagrams", 20.0),
        ("Udp_OutDatagrams", 20.0),
        ("Udp_InErrors", 0.0),
        ("Udp_NoPorts", 0.01),
        ("Udp_RcvbufErrors", 0.0),
        ("Udp_SndbufErrors", 0.0),
        ("UdpLite_InDatagrams", 0.0),
        ("UdpLite_InErrors", 0.0),
        ("Udp6_InDatagrams", 0.5),
        ("Udp6_OutDatagrams", 0.5),
        ("Udp6_InErrors", 0.0),
        ("Udp6_NoPorts", 0.0),
        ("Ip_Forwarding", -1.0),
        ("IpExt_InOctets", 560_000.0),
        ("IpExt_OutOctets", 510_000.0),
        ("Ip6_InOctets", 300.0),
        ("Ip6_OutOctets", 300.0),
        ("TcpExt_ListenDrops", 0.0),
        ("TcpExt_ListenOverflows", 0.0),
        ("TcpExt_SyncookiesSent", 0.0),
        ("TcpExt_TCPTimeouts", 0.05),
        ("TcpExt_TCPSynRetrans", 0.02),
        ("TcpExt_SyncookiesRecv", 0.0),
    ];
    for (f, rate) in netstat {
        let gen = if rate < 0.0 {
            ValueGen::Const(1.0)
        } else if rate == 0.0 {
            ValueGen::Const(0.0)
        } else {
            cnt(rate, 0.5)
        };
        c.add(&format!("node_netstat_{f}"), &[], gen);
    }
    c.add(
        "node_netstat_Tcp_CurrEstab",
        &[],
        ValueGen::steps(60.0, 1.0, 0.7, 6, 40.0),
    );
    for (f, v) in [
        ("sockets_used", 600.0),
        ("TCP_inuse", 70.0),
        ("TCP_orphan", 0.0),
        ("TCP_tw", 40.0),
        ("TCP_alloc", 90.0),
        ("TCP_mem", 20.0),
        ("TCP_mem_bytes", 81920.0),
        ("UDP_inuse", 8.0),
        ("UDP_mem", 2.0),
        ("UDP_mem_bytes", 8192.0),
        ("UDPLITE_inuse", 0.0),
        ("RAW_inuse", 0.0),
        ("FRAG_inuse", 0.0),
        ("FRAG_memory", 0.0),
        ("TCP6_inuse", 12.0),
        ("UDP6_inuse", 4.0),
    ] {
        let gen = if v == 0.0 {
            ValueGen::Const(0.0)
        } else if f.ends_with("_bytes") {
            ValueGen::steps(v, 4096.0, 0.5, 4, v * 0.5)
        } else {
            ValueGen::steps(v, 1.0, 0.6, 5, v * 0.5)
        };
        c.add(&format!("node_sockstat_{f}"), &[], gen);
    }
    for (res, kind) in [
        ("cpu", "waiting"),
        ("io", "waiting"),
        ("io", "stalled"),
        ("memory", "waiting"),
        ("memory", "stalled"),
    ] {
        let rate = if res == "cpu" {
            2e4 * busy0
        } else if kind == "waiting" {
            3e3
        } else {
            5e2
        };
        c.add(
            &format!("node_pressure_{res}_{kind}_seconds_total"),
            &[],
            ValueGen::counter((up * rate) as u64, rate, 0.8, 1e6),
        );
    }
    for (chip, sensor, t) in [
        ("platform_coretemp_0", "temp1", 48.0),
        ("platform_coretemp_0", "temp2", 45.0),
        ("platform_coretemp_0", "temp3", 46.0),
        ("platform_coretemp_0", "temp4", 44.0),
        ("platform_coretemp_0", "temp5", 47.0),
        ("nvme_nvme0", "temp1", 38.85),
        ("nvme_nvme1", "temp1", 41.85),
        ("acpitz", "temp1", 27.8),
    ] {
        c.add(
            "node_hwmon_temp_celsius",
            &[("chip", chip), ("sensor", sensor)],
            ValueGen::steps(t, 1.0, 0.3, 2, 6.0),
        );
    }
    for (name, v) in [
        ("node_timex_offset_seconds", 0.0),
        ("node_timex_frequency_adjustment_ratio", 1.0000039),
        ("node_timex_maxerror_seconds", 0.0),
        ("node_timex_estimated_error_seconds", 0.0),
        ("node_timex_status", 8193.0),
        ("node_timex_loop_time_constant", 7.0),
        ("node_timex_tick_seconds", 0.01),
        ("node_timex_pps_frequency_hertz", 0.0),
        ("node_timex_pps_jitter_seconds", 0.0),
        ("node_timex_pps_shift_seconds", 0.0),
        ("node_timex_pps_stability_hertz", 0.0),
        ("node_timex_pps_jitter_total", 0.0),
        ("node_timex_pps_calibration_total", 0.0),
        ("node_timex_pps_error_total", 0.0),
        ("node_timex_pps_stability_exceeded_total", 0.0),
        ("node_timex_tai_offset_seconds", 0.0),
        ("node_timex_sync_status", 1.0),
    ] {
        let gen = match name {
            "node_timex_offset_seconds" => ValueGen::Noisy {
                mean: 2e-5,
                sigma: 0.8,
            },
            "node_timex_maxerror_seconds" | "node_timex_estimated_error_seconds" => {
                ValueGen::steps(0.001_5, 0.000_001, 0.9, 500, 0.001)
            }
            _ => ValueGen::Const(v),
        };
        c.add(name, &[], gen);
    }
    c.add(
        "node_uname_info",
        &[
            ("domainname", "(none)"),
            ("machine", "x86_64"),
            (
                "nodename",
                &instance[..instance.find(':').unwrap_or(instance.len())],
            ),
            ("release", "6.1.0-18-amd64"),
            ("sysname", "Linux"),
            (
                "version",
                "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
            ),
        ],
        ValueGen::Const(1.0),
    );
    c.add(
        "node_os_info",
        &[
            ("id", "debian"),
            ("name", "Debian GNU/Linux"),
            ("pretty_name", "Debian GNU/Linux 12 (bookworm)"),
            ("version", "12 (bookworm)"),
            ("version_id", "12"),
        ],
        ValueGen::Const(1.0),
    );
    c.add(
        "node_exporter_build_info",
        &[
            ("branch", "HEAD"),
            ("goversion", "go1.21.6"),
            ("revision", "4a1b77600c1873a8233f3ffb55afcedbb63b8d84"),
            ("version", "1.7.0"),
        ],
        ValueGen::Const(1.0),
    );

    // Per-collector scrape duration and success.
    for col in COLLECTORS {
        let mean = match col {
            "netclass" | "hwmon" | "filesystem" => 0.004,
            "cpu" | "diskstats" | "netdev" => 0.0012,
            _ => 0.0002,
        };
        c.add(
            "node_scrape_collector_duration_seconds",
            &[("collector", col)],
            ValueGen::Noisy { mean, sigma: 0.35 },
        );
        c.add(
            "node_scrape_collector_success",
            &[("collector", col)],
            ValueGen::Const(1.0),
        );
    }

    // The exporter's own Go runtime and process metrics.
    for q in ["0", "0.25", "0.5", "0.75", "1"] {
        c.add(
            "go_gc_duration_seconds",
            &[("quantile", q)],
            ValueGen::Noisy {
                mean: 4e-5,
                sigma: 0.5,
            },
        );
    }
    c.add("go_gc_duration_seconds_sum", &[], cnt(1e-5, 1.0));
    c.add("go_gc_duration_seconds_count", &[], cnt(0.05, 1.0));
    c.add("go_goroutines", &[], ValueGen::steps(8.0, 1.0, 0.3, 2, 3.0));
    c.add("go_threads", &[], ValueGen::Const(9.0));
    c.add("go_info", &[("version", "go1.21.6")], ValueGen::Const(1.0));
    for (f, v) in [
        ("alloc_bytes", 3.1e6f64),
        ("heap_alloc_bytes", 3.1e6),
        ("heap_idle_bytes", 4.2e6),
        ("heap_inuse_bytes", 4.6e6),
        ("heap_objects", 21000.0),
        ("heap_released_bytes", 2.9e6),
        ("heap_sys_bytes", 8.8e6),
        ("stack_inuse_bytes", 753_664.0),
        ("stack_sys_bytes", 753_664.0),
        ("sys_bytes", 1.9e7),
        ("mspan_inuse_bytes", 118_000.0),
        ("next_gc_bytes", 4.3e6),
    ] {
        c.add(
            &format!("go_memstats_{f}"),
            &[],
            ValueGen::steps(v.round(), 8.0, 0.95, 4000, v * 0.3),
        );
    }
    c.add("go_memstats_mallocs_total", &[], cnt(2500.0, 0.2));
    c.add("go_memstats_frees_total", &[], cnt(2490.0, 0.2));
    c.add("go_memstats_alloc_bytes_total", &[], cnt(3.2e5, 0.2));
    c.add("go_memstats_lookups_total", &[], ValueGen::Const(0.0));
    c.add("go_memstats_last_gc_time_seconds", &[], ValueGen::Clock);
    c.add("process_cpu_seconds_total", &[], cnt(3.0, 0.3));
    c.add(
        "process_resident_memory_bytes",
        &[],
        ValueGen::steps(2.4e7, 4096.0, 0.7, 40, 3e6),
    );
    c.add(
        "process_virtual_memory_bytes",
        &[],
        ValueGen::steps(7.3e8, 4096.0, 0.1, 16, 1e6),
    );
    c.add(
        "process_virtual_memory_max_bytes",
        &[],
        ValueGen::Const(1.8446744073709552e19),
    );
    c.add(
        "process_open_fds",
        &[],
        ValueGen::steps(10.0, 1.0, 0.2, 2, 3.0),
    );
    c.add("process_max_fds", &[], ValueGen::Const(1_048_576.0));
    c.add(
        "process_start_time_seconds",
        &[],
        ValueGen::Const((now_s - uptime_s + 40.0).floor()),
    );
    c.add(
        "promhttp_metric_handler_errors_total",
        &[("cause", "encoding")],
        ValueGen::Const(0.0),
    );
    c.add(
        "promhttp_metric_handler_errors_total",
        &[("cause", "gathering")],
        ValueGen::Const(0.0),
    );
    for code in ["200", "500", "503"] {
        let gen = if code == "200" {
            ValueGen::counter((up / 15.0) as u64, 1.0 / 15.0, 0.0, 1.0)
        } else {
            ValueGen::Const(0.0)
        };
        c.add(
            "promhttp_metric_handler_requests_total",
            &[("code", code)],
            gen,
        );
    }
    c.add(
        "promhttp_metric_handler_requests_in_flight",
        &[],
        ValueGen::Const(1.0),
    );

    // What the scraping Prometheus adds per target.
    let scraped = c.out.len() as f64;
    c.add("up", &[], ValueGen::Const(1.0));
    c.add(
        "scrape_duration_seconds",
        &[],
        ValueGen::Noisy {
            mean: 0.021,
            sigma: 0.25,
        },
    );
    c.add("scrape_samples_scraped", &[], ValueGen::Const(scraped));
    c.add(
        "scrape_samples_post_metric_relabeling",
        &[],
        ValueGen::Const(scraped),
    );
    c.add("scrape_series_added", &[], ValueGen::Const(0.0));
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn a_host_has_500_to_700_unique_sorted_series() {
        let p = HostProfile::new(0, 1);
        let mut rng = SmallRng::seed_from_u64(1);
        let s = host_series(&p, "host-000:9100", &mut rng);
        assert!((500..=700).contains(&s.len()), "{} series", s.len());
        let mut seen = HashSet::new();
        for d in &s {
            assert!(
                d.labels.windows(2).all(|w| w[0].0 < w[1].0),
                "unsorted {:?}",
                d.labels
            );
            assert!(d.labels.iter().any(|(k, v)| k == "job" && v == "node"));
            assert!(seen.insert(d.labels.clone()), "duplicate {:?}", d.labels);
        }
    }
}
