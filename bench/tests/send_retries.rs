//! The sender against a real local HTTP receiver: every sample arrives once, in
//! order per series, and a 503 is retried rather than lost.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use sightline_bench::encode::encode;
use sightline_bench::send::{send, SendConfig};
use sightline_bench::workload::{Workload, WorkloadSpec};
use sightline_remote_write::proto::v1::WriteRequest;

type Seen = Arc<Mutex<HashMap<String, Vec<i64>>>>;

/// Serves HTTP/1.1 keep-alive connections: the `fail_first` first requests get 503,
/// the others are decoded and recorded, then answered 204.
fn serve(listener: TcpListener, fail_first: u64, seen: Seen, count: Arc<AtomicU64>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let (seen, count) = (seen.clone(), count.clone());
        std::thread::spawn(move || {
            let mut w = stream.try_clone().unwrap();
            let mut r = BufReader::new(stream);
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap();
                    if h == "\r\n" {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0u8; len];
                r.read_exact(&mut body).unwrap();
                let n = count.fetch_add(1, Ordering::SeqCst);
                if n < fail_first {
                    let msg = "overloaded";
                    write!(
                        w,
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\n\r\n{msg}",
                        msg.len()
                    )
                    .unwrap();
                    continue;
                }
                let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                let wr = WriteRequest::decode(raw.as_slice()).unwrap();
                let mut g = seen.lock().unwrap();
                for ts in wr.timeseries {
                    let key: Vec<String> = ts
                        .labels
                        .iter()
                        .map(|l| format!("{}={}", l.name, l.value))
                        .collect();
                    g.entry(key.join(","))
                        .or_default()
                        .push(ts.samples[0].timestamp);
                }
                drop(g);
                write!(w, "HTTP/1.1 204 No Content\r\n\r\n").unwrap();
            }
        });
    }
}

#[test]
fn all_samples_arrive_in_order_and_a_503_is_retried() {
    let spec = WorkloadSpec::ending_at(4, 1_700_000_000_000, 8 * 15_000, 15_000, 2);
    let load = encode(Workload::build(spec), 3, 700, 2).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let count = Arc::new(AtomicU64::new(0));
    {
        let (seen, count) = (seen.clone(), count.clone());
        std::thread::spawn(move || serve(listener, 1, seen, count));
    }
    let rep = send(
        &load,
        &SendConfig {
            url: format!("http://127.0.0.1:{port}/api/v1/write"),
            max_retries: 5,
            timeout: Duration::from_secs(10),
        },
    );
    assert!(!rep.aborted, "{rep:?}");
    assert_eq!(rep.retries, 1);
    assert_eq!(rep.samples_accepted, load.samples);
    assert_eq!(rep.samples_rejected, 0);
    assert_eq!(rep.first_error.as_deref(), Some("HTTP 503: overloaded"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64, load.series);
    for ts in seen.values() {
        assert_eq!(ts.len(), 8);
        assert!(ts.windows(2).all(|w| w[0] < w[1]), "out of order: {ts:?}");
    }
}

#[test]
fn a_dead_receiver_aborts_instead_of_hanging() {
    let spec = WorkloadSpec::ending_at(1, 1_700_000_000_000, 2 * 15_000, 15_000, 2);
    let load = encode(Workload::build(spec), 2, 2000, 1).unwrap();
    // A port that was free a moment ago: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rep = send(
        &load,
        &SendConfig {
            url: format!("http://127.0.0.1:{port}/api/v1/write"),
            max_retries: 2,
            timeout: Duration::from_secs(2),
        },
    );
    assert!(rep.aborted);
    assert_eq!(rep.samples_accepted, 0);
    assert!(rep.first_error.unwrap().starts_with("transport:"));
}
