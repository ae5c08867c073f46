//! `uname`: `node_uname_info` labelled with the fields of `uname(2)`.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};

/// Publishes the kernel's identity.
pub(crate) struct UnameCollector;

impl UnameCollector {
    pub(crate) fn new() -> Self {
        UnameCollector
    }
}

/// Decodes a NUL-terminated `utsname` field (the whole array if no NUL).
fn field(raw: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Collector for UnameCollector {
    fn name(&self) -> &'static str {
        "uname"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        // SAFETY: uname fills the zeroed struct we own.
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        if unsafe { libc::uname(&mut u) } != 0 {
            return Err(CollectError::Syscall {
                call: "uname",
                source: std::io::Error::last_os_error(),
            });
        }
        let (domainname, machine, nodename) =
            (field(&u.domainname), field(&u.machine), field(&u.nodename));
        let (release, sysname, version) = (field(&u.release), field(&u.sysname), field(&u.version));
        let name = "node_uname_info";
        expo::header(
            out,
            name,
            "Labeled system information as provided by the uname system call.",
            Kind::Gauge,
        );
        expo::sample(
            out,
            name,
            &[
                ("domainname", &domainname),
                ("machine", &machine),
                ("nodename", &nodename),
                ("release", &release),
                ("sysname", &sysname),
                ("version", &version),
            ],
            1.0,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::run;

    #[test]
    fn renders_kernel_identity() {
        let out = run(&mut UnameCollector::new());
        let sample = out.lines().nth(2).unwrap();
        assert!(
            sample.starts_with("node_uname_info{domainname=\""),
            "{sample}"
        );
        assert!(sample.contains(",sysname=\"Linux\","), "{sample}");
        assert!(sample.ends_with("\"} 1"), "{sample}");
    }
}
