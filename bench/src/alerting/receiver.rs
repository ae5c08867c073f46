//! A webhook receiver (Alertmanager's v4 payload) that records when each notification
//! arrived, its `status` and how many alerts it carried. Both systems under test post
//! to the same receiver code, so delivery costs are the same for both.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// One notification as it arrived.
#[derive(Debug, Clone)]
pub struct Notification {
    /// When the body had been read completely.
    pub at: Instant,
    /// The payload's `status`: `firing` or `resolved` (empty when absent or unparsable).
    pub status: String,
    /// Number of entries in `alerts`.
    pub alerts: usize,
}

/// The receiver: its port and the stream of notifications.
#[derive(Debug)]
pub struct Receiver {
    /// Port on 127.0.0.1.
    pub port: u16,
    rx: mpsc::Receiver<Notification>,
}

impl Receiver {
    /// Binds a free loopback port and accepts notifications on a background thread.
    pub fn start() -> Result<Receiver> {
        let l = TcpListener::bind("127.0.0.1:0").context("binding the webhook receiver")?;
        let port = l.local_addr()?.port();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &tx);
                });
            }
        });
        Ok(Receiver { port, rx })
    }

    /// The URL to configure as `webhook_configs[].url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Drops every notification received so far.
    pub fn drain(&self) -> Vec<Notification> {
        self.rx.try_iter().collect()
    }

    /// Waits up to `timeout` for a notification with `status`, skipping others.
    pub fn wait_for(&self, status: &str, timeout: Duration) -> Option<Notification> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left) {
                Ok(n) if n.status == status => return Some(n),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Reads requests from one connection (keep-alive allowed), answers 200 to each.
fn serve(conn: TcpStream, tx: &mpsc::Sender<Notification>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    loop {
        let mut len = 0usize;
        let mut first = true;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" || line == "\n" {
                if first {
                    continue;
                }
                break;
            }
            first = false;
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len.min(64 << 20)];
        reader.read_exact(&mut body)?;
        let at = Instant::now();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let _ = tx.send(Notification {
            at,
            status: v["status"].as_str().unwrap_or("").to_string(),
            alerts: v["alerts"].as_array().map_or(0, Vec::len),
        });
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_status_and_alert_count_over_keep_alive() {
        let r = Receiver::start().unwrap();
        let agent = ureq::AgentBuilder::new().build();
        for status in ["firing", "resolved"] {
            let resp = agent
                .post(&r.url())
                .send_string(&format!(
                    r#"{{"version":"4","status":"{status}","alerts":[{{}},{{}}]}}"#
                ))
                .unwrap();
            assert_eq!(resp.status(), 200);
        }
        let n = r.wait_for("resolved", Duration::from_secs(5)).unwrap();
        assert_eq!(n.alerts, 2);
        assert!(
            r.drain().is_empty(),
            "the firing one was skipped by wait_for"
        );
    }
}
