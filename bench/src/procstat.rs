//! Reading a process' CPU time and memory from `/proc`, and reaping a child with its
//! resource usage.

use std::fs;
use std::io;

/// Clock ticks per second used by `/proc/PID/stat`.
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Parses user + system CPU seconds out of the text of `/proc/PID/stat`.
pub fn parse_stat_cpu(stat: &str, ticks: f64) -> io::Result<f64> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected /proc/PID/stat format",
        )
    };
    let rest = &stat[stat.rfind(')').ok_or_else(bad)? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state(3) ... utime(14) stime(15).
    let ut: f64 = f.get(11).ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let st: f64 = f.get(12).ok_or_else(bad)?.parse().map_err(|_| bad())?;
    Ok((ut + st) / ticks)
}

/// User + system CPU seconds consumed so far by process `pid`.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_cpu(&s, clock_ticks())
}

/// CPU seconds of this process.
pub fn self_cpu_seconds() -> io::Result<f64> {
    cpu_seconds(std::process::id())
}

/// Parses a `kB` field such as `VmHWM` out of the text of `/proc/PID/status`, in bytes.
pub fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let v = l.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// Peak resident set size (`VmHWM`) of process `pid`, in bytes.
pub fn peak_rss(pid: u32) -> io::Result<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_kb(&s, "VmHWM")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmHWM in /proc/PID/status"))
}

/// What `wait4` reports for a reaped child.
#[derive(Debug, Clone, Copy)]
pub struct Reaped {
    /// Raw wait status.
    pub status: i32,
    /// User + system CPU seconds over the child's whole life.
    pub cpu_seconds: f64,
    /// Peak RSS over the child's whole life, bytes.
    pub max_rss: u64,
}

impl Reaped {
    /// Exit code, or `None` when killed by a signal.
    pub fn exit_code(&self) -> Option<i32> {
        libc::WIFEXITED(self.status).then(|| libc::WEXITSTATUS(self.status))
    }

    /// Terminating signal, if any.
    pub fn signal(&self) -> Option<i32> {
        libc::WIFSIGNALED(self.status).then(|| libc::WTERMSIG(self.status))
    }
}

/// Reaps child `pid` if it has exited (`block` = false) or waits for it.
pub fn reap(pid: u32, block: bool) -> io::Result<Option<Reaped>> {
    let mut status = 0i32;
    // SAFETY: rusage is plain data, zero-initialised and written by the kernel.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: valid pointers to owned locals.
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, flags, &mut ru) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    if r == 0 {
        return Ok(None);
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Some(Reaped {
        status,
        cpu_seconds: tv(ru.ru_utime) + tv(ru.ru_stime),
        max_rss: ru.ru_maxrss.max(0) as u64 * 1024,
    }))
}

/// Sends `sig` to process `pid`.
pub fn signal(pid: u32, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid as libc::pid_t, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_command() {
        let s =
            "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 5 0 0";
        assert_eq!(parse_stat_cpu(s, 100.0).unwrap(), 3.0);
        assert!(parse_stat_cpu("garbage", 100.0).is_err());
    }

    #[test]
    fn parses_status_fields() {
        let s = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(parse_status_kb(s, "VmHWM"), Some(2048 * 1024));
        assert_eq!(parse_status_kb(s, "VmSwap"), None);
    }

    #[test]
    #[allow(clippy::zombie_processes)] // reaped through wait4 by `reap`
    fn reads_this_process_and_reaps_a_child() {
        assert!(self_cpu_seconds().unwrap() >= 0.0);
        assert!(peak_rss(std::process::id()).unwrap() > 0);
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let r = reap(child.id(), true).unwrap().unwrap();
        assert_eq!(r.exit_code(), Some(3));
        assert!(r.max_rss > 0);
    }
}
