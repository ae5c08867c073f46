//! `filesystem`: size, free space and inodes of every mounted filesystem,
//! from the mount table (/proc/1/mounts, else /proc/self/mounts) and
//! `statfs(2)`.
//!
//! Mounts matching the exclude patterns are skipped. Local filesystems are
//! stat'ed inline; any other `statfs` runs on a helper thread with a
//! timeout: a hung network mount is reported with
//! `node_filesystem_device_error 1` and is not touched again until its
//! pending call returns, so one dead NFS server cannot hang every scrape.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::options::HostCollectorOptions;
use crate::source::read_into;
use regex::Regex;
use std::collections::HashSet;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one `statfs` may take before the mount counts as stuck.
const STAT_TIMEOUT: Duration = Duration::from_secs(5);

/// Filesystem types whose `statfs` is answered from local kernel state and
/// cannot block on a remote server; they are stat'ed inline. Anything else
/// (NFS, CIFS, FUSE, Ceph, unknown types) goes through the timeout thread.
const LOCAL_FS_TYPES: [&str; 21] = [
    "bcachefs", "btrfs", "devtmpfs", "efivarfs", "exfat", "ext2", "ext3", "ext4", "f2fs", "jfs",
    "nilfs2", "ntfs", "ntfs3", "overlay", "ramfs", "reiserfs", "squashfs", "tmpfs", "vfat", "xfs",
    "zfs",
];

/// The numbers `statfs(2)` gives for one filesystem.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FsStats {
    pub(crate) size_bytes: f64,
    pub(crate) free_bytes: f64,
    pub(crate) avail_bytes: f64,
    pub(crate) files: f64,
    pub(crate) files_free: f64,
}

/// Function used to stat a mount point; replaced in tests.
pub(crate) type StatFn = fn(&Path) -> io::Result<FsStats>;

/// Calls `statfs(2)` on `path`.
// The libc field types differ between architectures; the casts are no-ops on some.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn statfs(path: &Path) -> io::Result<FsStats> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: statfs writes only into the zeroed struct we pass; `c` is a
    // valid NUL-terminated string that outlives the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let bsize = st.f_bsize as f64;
    Ok(FsStats {
        size_bytes: st.f_blocks as f64 * bsize,
        free_bytes: st.f_bfree as f64 * bsize,
        avail_bytes: st.f_bavail as f64 * bsize,
        files: st.f_files as f64,
        files_free: st.f_ffree as f64,
    })
}

/// One line of the mount table, with octal escapes decoded.
#[derive(Debug, PartialEq)]
pub(crate) struct Mount {
    pub(crate) device: String,
    pub(crate) mountpoint: String,
    pub(crate) fstype: String,
    pub(crate) readonly: bool,
}

/// Decodes the `\NNN` octal escapes the kernel uses for spaces and the like.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let v = (u32::from(b[i + 1] - b'0') << 6)
                | (u32::from(b[i + 2] - b'0') << 3)
                | u32::from(b[i + 3] - b'0');
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a mount table, skipping lines with fewer than four fields.
pub(crate) fn parse_mounts(text: &str) -> Vec<Mount> {
    let mut mounts = Vec::new();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(device), Some(mountpoint), Some(fstype), Some(options)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        mounts.push(Mount {
            device: unescape(device),
            mountpoint: unescape(mountpoint),
            fstype: fstype.to_string(),
            readonly: options.split(',').any(|o| o == "ro"),
        });
    }
    mounts
}

/// Publishes per-filesystem capacity.
pub(crate) struct FilesystemCollector {
    mount_tables: [PathBuf; 2],
    rootfs: PathBuf,
    mount_points_exclude: Option<Regex>,
    fs_types_exclude: Option<Regex>,
    buf: String,
    /// Mount points whose last `statfs` has not returned yet.
    stuck: Arc<Mutex<HashSet<PathBuf>>>,
    stat: StatFn,
    timeout: Duration,
}

impl FilesystemCollector {
    pub(crate) fn new(
        o: &HostCollectorOptions,
        mount_points_exclude: Option<Regex>,
        fs_types_exclude: Option<Regex>,
    ) -> Self {
        Self {
            mount_tables: [o.procfs.join("1/mounts"), o.procfs.join("self/mounts")],
            rootfs: o.rootfs.clone(),
            mount_points_exclude,
            fs_types_exclude,
            buf: String::new(),
            stuck: Arc::new(Mutex::new(HashSet::new())),
            stat: statfs,
            timeout: STAT_TIMEOUT,
        }
    }

    #[cfg(test)]
    fn with_stat(mut self, stat: StatFn) -> Self {
        self.stat = stat;
        self
    }

    /// Reads the first mount table that exists.
    fn read_mounts(&mut self) -> Result<Vec<Mount>, CollectError> {
        let text = match read_into(&self.mount_tables[0], &mut self.buf) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => read_into(&self.mount_tables[1], &mut self.buf)?,
            Err(e) => return Err(e),
        };
        Ok(parse_mounts(text))
    }

    /// Label value of a mount point: with the rootfs prefix removed when the
    /// mount table shows host paths under a non-`/` rootfs.
    fn label_mountpoint<'a>(&self, mountpoint: &'a str) -> &'a str {
        let Some(root) = self.rootfs.to_str().map(|r| r.trim_end_matches('/')) else {
            return mountpoint;
        };
        if root.is_empty() {
            return mountpoint;
        }
        match mountpoint.strip_prefix(root) {
            Some("") => "/",
            Some(rest) if rest.starts_with('/') => rest,
            _ => mountpoint,
        }
    }

    /// Stats `path` on a helper thread, giving up after [`STAT_TIMEOUT`].
    fn stat_with_timeout(&self, path: PathBuf) -> io::Result<FsStats> {
        {
            let stuck = self.stuck.lock().unwrap_or_else(|p| p.into_inner());
            if stuck.contains(&path) {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "previous statfs still pending",
                ));
            }
        }
        let (tx, rx) = mpsc::channel();
        let stuck = Arc::clone(&self.stuck);
        let stat = self.stat;
        let thread_path = path.clone();
        let spawned = std::thread::Builder::new()
            .name("hostmetrics-statfs".into())
            .spawn(move || {
                let result = stat(&thread_path);
                if tx.send(result).is_err() {
                    // The scrape gave up on us; the mount is usable again.
                    stuck
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&thread_path);
                }
            });
        spawned?;
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(_) => {
                self.stuck
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(path);
                Err(io::Error::new(io::ErrorKind::TimedOut, "statfs timed out"))
            }
        }
    }
}

impl Collector for FilesystemCollector {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let mounts = self.read_mounts()?;
        let mut seen: HashSet<(&str, &str, &str)> = HashSet::new();
        let mut rows: Vec<(&Mount, &str, Option<FsStats>)> = Vec::new();
        for m in &mounts {
            let mountpoint = self.label_mountpoint(&m.mountpoint);
            if self
                .mount_points_exclude
                .as_ref()
                .is_some_and(|r| r.is_match(mountpoint))
                || self
                    .fs_types_exclude
                    .as_ref()
                    .is_some_and(|r| r.is_match(&m.fstype))
                || !seen.insert((&m.device, mountpoint, &m.fstype))
            {
                continue;
            }
            let path = self.rootfs.join(mountpoint.trim_start_matches('/'));
            let stats = if LOCAL_FS_TYPES.contains(&m.fstype.as_str()) {
                (self.stat)(&path)
            } else {
                self.stat_with_timeout(path)
            };
            rows.push((m, mountpoint, stats.ok()));
        }

        type Pick = fn(&Mount, &FsStats) -> f64;
        let families: [(&str, &str, Pick); 7] = [
            (
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                |_, s| s.avail_bytes,
            ),
            (
                "node_filesystem_device_error",
                "Whether an error occurred while getting statistics for the given device.",
                |_, _| 0.0,
            ),
            (
                "node_filesystem_files",
                "Filesystem total file nodes.",
                |_, s| s.files,
            ),
            (
                "node_filesystem_files_free",
                "Filesystem total free file nodes.",
                |_, s| s.files_free,
            ),
            (
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
                |_, s| s.free_bytes,
            ),
            (
                "node_filesystem_readonly",
                "Filesystem read-only status.",
                |m, _| f64::from(u8::from(m.readonly)),
            ),
            (
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
                |_, s| s.size_bytes,
            ),
        ];
        for (name, help, pick) in families {
            expo::header(out, name, help, Kind::Gauge);
            for (m, mountpoint, stats) in &rows {
                let labels = [
                    ("device", m.device.as_str()),
                    ("fstype", m.fstype.as_str()),
                    ("mountpoint", *mountpoint),
                ];
                match stats {
                    Some(s) => expo::sample(out, name, &labels, pick(m, s)),
                    None if name == "node_filesystem_device_error" => {
                        expo::sample(out, name, &labels, 1.0)
                    }
                    None => {}
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
    use crate::options::{DEFAULT_FS_TYPES_EXCLUDE, DEFAULT_MOUNT_POINTS_EXCLUDE};

    fn fake_stat(path: &Path) -> io::Result<FsStats> {
        let p = path.to_string_lossy();
        if p.ends_with("hung") {
            std::thread::sleep(Duration::from_secs(30));
        }
        if p.ends_with("run") {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        let k = if p.contains("data disk") { 2.0 } else { 1.0 };
        Ok(FsStats {
            size_bytes: 1000.0 * k,
            free_bytes: 400.0 * k,
            avail_bytes: 300.0 * k,
            files: 50.0 * k,
            files_free: 20.0 * k,
        })
    }

    fn collector(rootfs: &str) -> FilesystemCollector {
        let o = HostCollectorOptions {
            procfs: fixture("proc"),
            rootfs: PathBuf::from(rootfs),
            ..Default::default()
        };
        FilesystemCollector::new(
            &o,
            Some(Regex::new(DEFAULT_MOUNT_POINTS_EXCLUDE).unwrap()),
            Some(Regex::new(DEFAULT_FS_TYPES_EXCLUDE).unwrap()),
        )
        .with_stat(fake_stat)
    }

    #[test]
    fn renders_non_excluded_mounts_and_flags_errors() {
        let mut c = collector("/");
        // Pretend the NFS mount hung on an earlier scrape, so the test does not wait.
        c.stuck.lock().unwrap().insert(PathBuf::from("/mnt/hung"));
        let out = run(&mut c);
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        let root = "device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"";
        let data = "device=\"/dev/vdb\",fstype=\"xfs\",mountpoint=\"/data disk\"";
        let hung = "device=\"nfs.example:/export\",fstype=\"nfs4\",mountpoint=\"/mnt/hung\"";
        let run_ = "device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/run\"";
        let expected = [
            format!("node_filesystem_avail_bytes{{{root}}} 300"),
            format!("node_filesystem_avail_bytes{{{data}}} 600"),
            format!("node_filesystem_device_error{{{root}}} 0"),
            format!("node_filesystem_device_error{{{data}}} 0"),
            format!("node_filesystem_device_error{{{hung}}} 1"),
            format!("node_filesystem_device_error{{{run_}}} 1"),
            format!("node_filesystem_files{{{root}}} 50"),
            format!("node_filesystem_files{{{data}}} 100"),
            format!("node_filesystem_files_free{{{root}}} 20"),
            format!("node_filesystem_files_free{{{data}}} 40"),
            format!("node_filesystem_free_bytes{{{root}}} 400"),
            format!("node_filesystem_free_bytes{{{data}}} 800"),
            format!("node_filesystem_readonly{{{root}}} 0"),
            format!("node_filesystem_readonly{{{data}}} 1"),
            format!("node_filesystem_size_bytes{{{root}}} 1000"),
            format!("node_filesystem_size_bytes{{{data}}} 2000"),
        ];
        assert_eq!(samples, expected);
        assert!(out.contains("# TYPE node_filesystem_size_bytes gauge\n"));
    }

    #[test]
    fn hung_statfs_times_out_and_is_remembered() {
        let mut c = collector("/");
        c.timeout = Duration::from_millis(200);
        let start = std::time::Instant::now();
        assert!(c.stat_with_timeout(PathBuf::from("/mnt/hung")).is_err());
        assert!(start.elapsed() >= c.timeout);
        let start = std::time::Instant::now();
        assert!(c.stat_with_timeout(PathBuf::from("/mnt/hung")).is_err());
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "stuck mount must be skipped at once"
        );
    }

    #[test]
    fn rootfs_prefix_is_stripped_from_labels() {
        let c = collector("/host");
        assert_eq!(c.label_mountpoint("/host"), "/");
        assert_eq!(c.label_mountpoint("/host/boot"), "/boot");
        assert_eq!(c.label_mountpoint("/hostile"), "/hostile");
        assert_eq!(c.label_mountpoint("/"), "/");
    }

    #[test]
    fn mount_table_parsing() {
        let m = parse_mounts("a /x\\040y\\134z ext4 rw,ro 0 0\nshort line\n\\12 /q ext4 rw\n");
        assert_eq!(
            m,
            [
                Mount {
                    device: "a".into(),
                    mountpoint: "/x y\\z".into(),
                    fstype: "ext4".into(),
                    readonly: true
                },
                Mount {
                    device: "\\12".into(),
                    mountpoint: "/q".into(),
                    fstype: "ext4".into(),
                    readonly: false
                },
            ]
        );
    }

    #[test]
    fn real_statfs_of_root_works() {
        let s = statfs(Path::new("/")).unwrap();
        assert!(s.size_bytes > 0.0 && s.avail_bytes <= s.size_bytes);
        assert!(statfs(Path::new("/definitely/not/here")).is_err());
    }
}
