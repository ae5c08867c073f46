//! `sightline import openmetrics` backfills a file with timestamps into blocks that
//! the server serves after start, sample for sample.

mod common;
use common::*;
use std::fmt::Write as _;
use std::process::Command;

#[test]
fn imported_openmetrics_is_served_exactly() {
    // Five hours of two series at 30 s, crossing several 2 h block boundaries.
    let start_s: i64 = 1_700_000_000;
    let mut om =
        String::from("# HELP backfill_requests Requests.\n# TYPE backfill_requests counter\n");
    let mut expected: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
    for code in ["200", "500"] {
        let mut samples = Vec::new();
        for i in 0..600i64 {
            let t = start_s + i * 30;
            let v = (i * if code == "200" { 7 } else { 1 }) as f64 + 0.25;
            samples.push((t * 1000, v));
        }
        expected.push((
            format!("__name__=backfill_requests_total,code={code}"),
            samples,
        ));
    }
    for (key, samples) in &expected {
        let code = key.rsplit('=').next().unwrap();
        for (t, v) in samples {
            writeln!(
                om,
                "backfill_requests_total{{code=\"{code}\"}} {v} {}",
                t / 1000
            )
            .unwrap();
        }
    }
    om.push_str("# EOF\n");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backfill.om");
    std::fs::write(&file, &om).unwrap();
    let s = Sightline::start_with(
        "self_monitoring: {enabled: false, host_collector: false}\n",
        |data| {
            let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
                .args(["import", "openmetrics"])
                .arg(&file)
                .arg("--data-dir")
                .arg(data)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "import failed: {text}");
            assert!(text.contains("imported 1200 samples of 2 series"), "{text}");
        },
    );
    let got = s.export("backfill_requests_total");
    assert_eq!(got, expected);

    // A broken file is refused with its line number.
    std::fs::write(
        &file,
        "backfill_requests_total{code=\"200\"} 1 1700000000\nbroken line here\n# EOF\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["import", "openmetrics"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("backfill.om:2"), "{err}");
}
