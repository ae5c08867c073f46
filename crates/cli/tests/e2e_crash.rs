//! Durability under `kill -9`: remote_write load runs while the process is killed;
//! after each restart every sample acknowledged (HTTP 204) before the kill is there.
//! Several rounds on the same data directory.

mod common;
use common::*;
use prost::Message;
use sightline_remote_write::proto::v1::{Label, Sample, TimeSeries, WriteRequest};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SERIES: usize = 50;

fn request(writer: usize, seq: i64) -> Vec<u8> {
    let t = 1_700_000_000_000 + seq * 1000;
    let timeseries = (0..SERIES)
        .map(|i| TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "crash_test_total".into(),
                },
                Label {
                    name: "series".into(),
                    value: format!("{i}"),
                },
                Label {
                    name: "writer".into(),
                    value: format!("{writer}"),
                },
            ],
            samples: vec![Sample {
                value: (seq * 10 + i as i64) as f64,
                timestamp: t,
            }],
            ..Default::default()
        })
        .collect();
    let req = WriteRequest {
        timeseries,
        ..Default::default()
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

#[test]
fn acknowledged_samples_survive_kill_9() {
    let mut s = Sightline::start("self_monitoring: {enabled: false, host_collector: false}\n");
    let acked: Arc<Mutex<Vec<(usize, i64)>>> = Arc::default();
    let mut next_seq = [0i64; 2];
    for round in 0..3 {
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..2)
            .map(|w| {
                let addr = s.addr.clone();
                let acked = acked.clone();
                let stop = stop.clone();
                let start = next_seq[w];
                std::thread::spawn(move || {
                    let mut seq = start;
                    let url = format!("http://{addr}/api/v1/write");
                    while !stop.load(Ordering::SeqCst) {
                        let body = request(w, seq);
                        let r = ureq::post(&url)
                            .timeout(Duration::from_secs(5))
                            .set("Content-Encoding", "snappy")
                            .set("Content-Type", "application/x-protobuf")
                            .set("X-Prometheus-Remote-Write-Version", "0.1.0")
                            .send_bytes(&body);
                        match r {
                            Ok(resp) if resp.status() == 204 => {
                                acked.lock().unwrap().push((w, seq))
                            }
                            Ok(resp) => panic!("unexpected status {}", resp.status()),
                            Err(ureq::Error::Status(code, resp)) => {
                                panic!("status {code}: {}", resp.into_string().unwrap_or_default())
                            }
                            Err(_) => break, // connection refused/reset: the process is gone
                        }
                        seq += 1;
                    }
                    seq
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1500 + 700 * round));
        s.kill9();
        stop.store(true, Ordering::SeqCst);
        for (w, h) in handles.into_iter().enumerate() {
            // A request in flight at the kill may or may not have been stored; the next
            // round starts after it so every timestamp stays increasing.
            next_seq[w] = h.join().unwrap() + 1;
        }
        s.restart();

        let stored = s.export("crash_test_total");
        eprintln!(
            "round {round}: export has {} series, {} samples, t in {:?}",
            stored.len(),
            stored.iter().map(|x| x.1.len()).sum::<usize>(),
            stored
                .first()
                .map(|x| (x.1.first().map(|p| p.0), x.1.last().map(|p| p.0)))
        );
        let mut have = std::collections::HashSet::new();
        for (key, samples) in &stored {
            let w: usize = key
                .split(',')
                .find_map(|l| l.strip_prefix("writer="))
                .unwrap()
                .parse()
                .unwrap();
            let i: i64 = key
                .split(',')
                .find_map(|l| l.strip_prefix("series="))
                .unwrap()
                .parse()
                .unwrap();
            for (t, v) in samples {
                let seq = (t - 1_700_000_000_000) / 1000;
                assert_eq!(*v, (seq * 10 + i) as f64, "value of {key} at {t}");
                have.insert((w, seq, i));
            }
        }
        let acked = acked.lock().unwrap();
        assert!(
            acked.len() > 10,
            "round {round}: too few acknowledged writes ({})",
            acked.len()
        );
        let mut lost = 0;
        for (w, seq) in acked.iter() {
            for i in 0..SERIES as i64 {
                if !have.contains(&(*w, *seq, i)) {
                    lost += 1;
                }
            }
        }
        assert_eq!(
            lost,
            0,
            "round {round}: {lost} acknowledged samples lost after kill -9\n{}",
            s.log_text()
        );
        eprintln!(
            "round {round}: {} acknowledged requests all present after kill -9",
            acked.len()
        );
    }
}
