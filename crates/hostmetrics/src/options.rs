//! Options of the host collector and their compiled form.

use crate::error::OptionsError;
use regex::Regex;
use std::path::PathBuf;

/// node_exporter's default `--collector.filesystem.mount-points-exclude`.
pub const DEFAULT_MOUNT_POINTS_EXCLUDE: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
/// node_exporter's default `--collector.filesystem.fs-types-exclude`.
pub const DEFAULT_FS_TYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$";
/// node_exporter's default `--collector.diskstats.device-exclude`.
pub const DEFAULT_DISKSTATS_EXCLUDE: &str = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$";

/// Where to read host data from and what to leave out.
///
/// The defaults are node_exporter's (upstream, not a distribution's patched
/// ones). An empty pattern excludes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostCollectorOptions {
    /// Mount point of procfs, normally `/proc`.
    pub procfs: PathBuf,
    /// Mount point of sysfs, normally `/sys`.
    pub sysfs: PathBuf,
    /// The host's root filesystem, normally `/` (e.g. `/host` in a container);
    /// used for `/etc/os-release`, udev data and filesystem statistics.
    pub rootfs: PathBuf,
    /// Regex of mount points to leave out of `node_filesystem_*`.
    pub filesystem_exclude_mount_points: String,
    /// Regex of filesystem types to leave out of `node_filesystem_*`.
    pub filesystem_exclude_fs_types: String,
    /// Regex of network interfaces to leave out of `node_network_*`.
    pub netdev_exclude: String,
    /// Regex of block devices to leave out of `node_disk_*`.
    pub diskstats_exclude: String,
}

impl Default for HostCollectorOptions {
    fn default() -> Self {
        HostCollectorOptions {
            procfs: PathBuf::from("/proc"),
            sysfs: PathBuf::from("/sys"),
            rootfs: PathBuf::from("/"),
            filesystem_exclude_mount_points: DEFAULT_MOUNT_POINTS_EXCLUDE.to_string(),
            filesystem_exclude_fs_types: DEFAULT_FS_TYPES_EXCLUDE.to_string(),
            netdev_exclude: String::new(),
            diskstats_exclude: DEFAULT_DISKSTATS_EXCLUDE.to_string(),
        }
    }
}

/// Options with their patterns compiled once.
pub(crate) struct Compiled {
    pub(crate) opts: HostCollectorOptions,
    pub(crate) mount_points_exclude: Option<Regex>,
    pub(crate) fs_types_exclude: Option<Regex>,
    pub(crate) netdev_exclude: Option<Regex>,
    pub(crate) diskstats_exclude: Option<Regex>,
}

fn compile(option: &'static str, pattern: &str) -> Result<Option<Regex>, OptionsError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(pattern)
        .map(Some)
        .map_err(|source| OptionsError::BadRegex {
            option,
            pattern: pattern.to_string(),
            source,
        })
}

impl Compiled {
    /// Compiles every pattern, failing on the first invalid one.
    pub(crate) fn strict(o: &HostCollectorOptions) -> Result<Self, OptionsError> {
        Ok(Compiled {
            mount_points_exclude: compile(
                "filesystem_exclude_mount_points",
                &o.filesystem_exclude_mount_points,
            )?,
            fs_types_exclude: compile(
                "filesystem_exclude_fs_types",
                &o.filesystem_exclude_fs_types,
            )?,
            netdev_exclude: compile("netdev_exclude", &o.netdev_exclude)?,
            diskstats_exclude: compile("diskstats_exclude", &o.diskstats_exclude)?,
            opts: o.clone(),
        })
    }

    /// Compiles every pattern, treating invalid ones as empty.
    pub(crate) fn lenient(o: &HostCollectorOptions) -> Self {
        Compiled {
            mount_points_exclude: compile("", &o.filesystem_exclude_mount_points)
                .ok()
                .flatten(),
            fs_types_exclude: compile("", &o.filesystem_exclude_fs_types).ok().flatten(),
            netdev_exclude: compile("", &o.netdev_exclude).ok().flatten(),
            diskstats_exclude: compile("", &o.diskstats_exclude).ok().flatten(),
            opts: o.clone(),
        }
    }
}
