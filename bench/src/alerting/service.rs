//! A scrape target exposing `bench_errors_total`, which grows on every scrape while
//! the service is switched into failure and stays flat otherwise.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};

/// The failing-on-demand service; the switch is shared with the listener thread.
#[derive(Debug, Clone)]
pub struct Service {
    failing: Arc<AtomicBool>,
    /// Port on 127.0.0.1 the service listens on.
    pub port: u16,
}

impl Service {
    /// Binds a free loopback port and serves `/metrics` from a background thread.
    pub fn start() -> Result<Service> {
        let l = TcpListener::bind("127.0.0.1:0").context("binding the bench service")?;
        let port = l.local_addr()?.port();
        let failing = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let f = failing.clone();
        std::thread::spawn(move || {
            for mut conn in l.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                requests.fetch_add(100, Ordering::SeqCst);
                if f.load(Ordering::SeqCst) {
                    errors.fetch_add(100, Ordering::SeqCst);
                }
                let body = format!(
                    "# TYPE bench_errors_total counter\nbench_errors_total {}\n# TYPE bench_requests_total counter\nbench_requests_total {}\n",
                    errors.load(Ordering::SeqCst),
                    requests.load(Ordering::SeqCst)
                );
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Ok(Service { failing, port })
    }

    /// Switches the service into (`true`) or out of (`false`) failure.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(port: u16) -> u64 {
        let body = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        body.lines()
            .find_map(|l| l.strip_prefix("bench_errors_total "))
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn error_counter_grows_only_while_failing() {
        let s = Service::start().unwrap();
        assert_eq!(errors(s.port), 0);
        assert_eq!(errors(s.port), 0);
        s.set_failing(true);
        let a = errors(s.port);
        let b = errors(s.port);
        assert!(a > 0 && b > a, "{a} {b}");
        s.set_failing(false);
        assert_eq!(errors(s.port), b);
    }
}
