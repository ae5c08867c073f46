//! Bad input gets a clear answer and never takes the server down: broken targets
//! show `up` 0 with their error, malformed remote_write gets 400 naming the problem,
//! oversized bodies get 413, and data already accepted stays.

mod common;
use common::*;
use prost::Message;
use sightline_remote_write::proto::v1::{Label, Sample, TimeSeries, WriteRequest};
use std::io::{Read, Write};
use std::net::TcpListener;

const RW_HEADERS: &[(&str, &str)] = &[
    ("Content-Encoding", "snappy"),
    ("Content-Type", "application/x-protobuf"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

/// A target that answers every request with an invalid exposition.
fn garbage_target() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let body = "this is { not an exposition\n";
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn series(labels: &[(&str, &str)], t: i64, v: f64) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: vec![Sample {
            value: v,
            timestamp: t,
        }],
        ..Default::default()
    }
}

fn rw(ts: Vec<TimeSeries>) -> Vec<u8> {
    let req = WriteRequest {
        timeseries: ts,
        ..Default::default()
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

#[test]
fn broken_targets_are_down_with_their_error() {
    let closed = free_port();
    let garbage = garbage_target();
    let s = Sightline::start(&format!(
        "self_monitoring: {{enabled: false, host_collector: false}}\nscrape_configs:\n  - job_name: closed\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs: [{{targets: ['127.0.0.1:{closed}']}}]\n  - job_name: garbage\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs: [{{targets: ['127.0.0.1:{garbage}']}}]\n"
    ));
    s.wait_for(20, "both targets scraped and down", |s| {
        let d = s.api("/api/v1/targets");
        let active = d["activeTargets"].as_array().unwrap();
        active.len() == 2
            && active
                .iter()
                .all(|t| t["health"] == "down" && !t["lastError"].as_str().unwrap().is_empty())
    });
    let d = s.api("/api/v1/targets?state=active");
    for t in d["activeTargets"].as_array().unwrap() {
        eprintln!("{}: {}", t["scrapePool"], t["lastError"]);
        assert!(t["lastScrapeDuration"].as_f64().unwrap() >= 0.0);
    }
    for job in ["closed", "garbage"] {
        let up = s.export(&format!("up{{job=\"{job}\"}}"));
        assert_eq!(up.len(), 1, "{job}: {up:?}");
        assert!(
            up[0].1.iter().all(|(_, v)| *v == 0.0),
            "{job}: up must be 0: {up:?}"
        );
    }
}

#[test]
fn malformed_remote_write_is_400_with_a_reason_and_accepted_data_stays() {
    let s = Sightline::start("self_monitoring: {enabled: false, host_collector: false}\n");
    let now = 1_700_000_000_000;
    let good = rw(vec![series(
        &[("__name__", "ok_metric"), ("a", "1")],
        now,
        1.0,
    )]);
    assert_eq!(s.post("/api/v1/write", RW_HEADERS, &good).unwrap().0, 204);

    let (code, body) = s
        .post("/api/v1/write", RW_HEADERS, b"definitely not snappy")
        .unwrap();
    assert_eq!(code, 400, "{body}");
    assert!(
        body.to_lowercase().contains("snappy"),
        "message should name the problem: {body}"
    );

    let unsorted = rw(vec![series(
        &[("__name__", "m"), ("z", "1"), ("a", "2")],
        now,
        1.0,
    )]);
    let (code, body) = s.post("/api/v1/write", RW_HEADERS, &unsorted).unwrap();
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("sorted") || body.contains("order"), "{body}");

    let not_proto = snap::raw::Encoder::new().compress_vec(&[0xff; 64]).unwrap();
    let (code, body) = s.post("/api/v1/write", RW_HEADERS, &not_proto).unwrap();
    assert_eq!(code, 400, "{body}");

    // An out-of-order sample is refused with 400 (never retried), the rest is stored.
    let later = rw(vec![series(
        &[("__name__", "ok_metric"), ("a", "1")],
        now + 1000,
        2.0,
    )]);
    assert_eq!(s.post("/api/v1/write", RW_HEADERS, &later).unwrap().0, 204);
    let ooo = rw(vec![
        series(&[("__name__", "ok_metric"), ("a", "1")], now - 60_000, 3.0),
        series(&[("__name__", "ok_metric"), ("a", "2")], now, 4.0),
    ]);
    let (code, body) = s.post("/api/v1/write", RW_HEADERS, &ooo).unwrap();
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("out of order") || body.contains("out-of-order") || body.contains("too old"),
        "{body}"
    );

    let stored = s.export("ok_metric");
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0].1, vec![(now, 1.0), (now + 1000, 2.0)]);
    assert_eq!(stored[1].1, vec![(now, 4.0)]);

    // The server is still healthy.
    assert_eq!(s.get("/-/healthy").0, 200);
}

#[test]
fn oversized_bodies_get_413() {
    let s = Sightline::start("self_monitoring: {enabled: false, host_collector: false}\n");
    // Default limit is 32 MiB compressed; send 33 MiB.
    let big = vec![0u8; 33 << 20];
    let (code, body) = s
        .post("/api/v1/write", RW_HEADERS, &big)
        .unwrap_or((413, String::new()));
    assert_eq!(code, 413, "{body}");
    assert_eq!(s.get("/-/healthy").0, 200);
}
