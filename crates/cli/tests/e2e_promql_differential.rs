//! Differential test against the real thing: the same generated dataset is loaded
//! into Debian's `prometheus` (via `promtool tsdb create-blocks-from openmetrics`)
//! and into Sightline (via `sightline import openmetrics`), and a generated query
//! set — every function and operator family over counters, gauges and classic
//! histograms, with and without grouping, offsets, `@`, subqueries — runs through
//! both HTTP APIs as instant queries at several times and as range queries over
//! several ranges and steps. Results must agree: result type, label sets,
//! timestamps, values within 1e-9 relative, and error vs no error (same type).
//!
//! The reference is Prometheus 2.42; Sightline implements 3.x. Each known
//! difference is listed by name in `promql_diff::queries::EXCLUSIONS`, and only
//! those are excluded. Known Sightline bugs found by this test are listed in
//! [`KNOWN_BUGS`] so the suite stays green while they stay visible.

mod common;
mod promql_diff;

use std::collections::BTreeMap;
use std::time::Instant;

use common::encode;
use promql_diff::compare::{
    diff, diff_with, parse_answer, render, same_selection, Answer, Tolerance,
};
use promql_diff::dataset::{E, STEP, T0};
use promql_diff::queries::{cases, exclusion, random_cases, Case, Reference, EXCLUSIONS};
use promql_diff::servers::{get, post_form, start_pair, Reply};

/// Instant evaluation times: early (ranges reach before the data), inside the
/// 20-minute hole of the gappy series, mid-data, just after the last sample and
/// beyond the 5-minute lookback after the end.
/// One time carries milliseconds, so fractional timestamps are written too.
const INSTANT_TIMES: &[f64] = &[
    (E + 600) as f64,
    (E + 3605) as f64,
    (E + 5000) as f64 + 0.25,
    (E + 7300) as f64,
    (E + 10_795) as f64,
    (E + 11_100) as f64,
];

/// Range queries `(start, end, step)`: the whole dataset at 5 m, 30 minutes at the
/// 15 s scrape step across the hole, and the end of the data at an unaligned 45 s
/// step running past the last sample.
const RANGES: &[(f64, f64, f64)] = &[
    ((E) as f64, (E + 10_800) as f64, 300.0),
    ((E + 3_600) as f64, (E + 5_400) as f64, 15.0),
    ((E + 9_000) as f64, (E + 11_400) as f64, 45.0),
    ((E + 1_000) as f64 + 0.5, (E + 3_000) as f64, 35.0),
    ((E + 5_000) as f64, (E + 5_000) as f64, 60.0),
    ((E) as f64, (E + 10_800) as f64, 3_600.0),
];

/// How many random compositions join the templated queries.
const RANDOM_QUERIES: usize = 300;

/// Sightline bugs this test exposes, as `(reference query, what is wrong)`. The
/// cases still run; a mismatch on one of them is reported but does not fail.
const KNOWN_BUGS: &[(&str, &str)] = &[];

#[derive(Clone, Copy, Debug)]
enum Eval {
    Instant(f64),
    Range(f64, f64, f64),
}

impl std::fmt::Display for Eval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Eval::Instant(t) => write!(f, "instant time={t}"),
            Eval::Range(s, e, st) => write!(f, "range start={s} end={e} step={st}"),
        }
    }
}

fn ask(addr: &str, query: &str, eval: Eval) -> Reply {
    match eval {
        // Instant queries by GET, range queries by form POST: both are Prometheus API forms.
        Eval::Instant(t) => get(
            addr,
            &format!("/api/v1/query?query={}&time={t}", encode(query)),
            &[],
        ),
        Eval::Range(s, e, step) => post_form(
            addr,
            "/api/v1/query_range",
            &[
                ("query", query),
                ("start", &s.to_string()),
                ("end", &e.to_string()),
                ("step", &step.to_string()),
            ],
            &[],
        ),
    }
}

fn answer(reply: Reply) -> Result<Answer, String> {
    let (code, body) = reply?;
    parse_answer(code, &body)
}

struct Outcome {
    case: usize,
    eval: Eval,
    want: Result<Answer, String>,
    got: Result<Answer, String>,
}

#[test]
fn generated_queries_match_reference_prometheus() {
    let started = Instant::now();
    let Some(pair) = start_pair() else {
        return;
    };
    // The boundary-avoidance invariant the exclusion list relies on.
    assert_eq!(T0.rem_euclid(5), 2);
    assert_eq!(STEP % 5, 0);
    // Times are ≡ 1 (mod 5) s up to a fraction below one second.
    let off_lattice = |t: f64| (1.0..2.0).contains(&t.rem_euclid(5.0));
    for t in INSTANT_TIMES {
        assert!(off_lattice(*t), "{t}");
    }
    for (s, e, st) in RANGES {
        assert!(
            off_lattice(*s) && off_lattice(*e) && st % 5.0 == 0.0,
            "{s} {e} {st}"
        );
    }
    let loaded = Instant::now();

    let mut all = cases();
    let templated = all.len();
    all.extend(random_cases(RANDOM_QUERIES, 0xD1FF));
    let mut work: Vec<(usize, Eval)> = Vec::new();
    for i in 0..all.len() {
        for t in INSTANT_TIMES {
            work.push((i, Eval::Instant(*t)));
        }
        for (s, e, st) in RANGES {
            work.push((i, Eval::Range(*s, *e, *st)));
        }
    }
    // Two client threads: one per core; each asks both servers in turn.
    let prom = pair.prom_addr.clone();
    let sl = pair.sightline_addr().to_string();
    let chunks: Vec<Vec<(usize, Eval)>> = {
        let mut c = vec![Vec::new(), Vec::new()];
        for (n, w) in work.into_iter().enumerate() {
            c[n % 2].push(w);
        }
        c
    };
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let (all, prom, sl) = (&all, &prom, &sl);
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(case, eval)| {
                            let c: &Case = &all[case];
                            Outcome {
                                case,
                                eval,
                                want: answer(ask(prom, &c.prom, eval)),
                                got: answer(ask(sl, &c.sightline, eval)),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let mut compared = 0usize;
    let mut passed = 0usize;
    let (mut with_data, mut both_empty, mut both_errors) = (0usize, 0usize, 0usize);
    let mut tie_choices = 0usize;
    let mut error_texts: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut excluded: BTreeMap<&str, usize> = BTreeMap::new();
    let mut known: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    for o in &outcomes {
        let c = &all[o.case];
        if let Some(ex) = exclusion(c) {
            *excluded.entry(ex.name).or_default() += 1;
            // The reference must behave as the exclusion's reason says.
            let justified = match (&o.want, ex.reference) {
                (_, Reference::Avoided) => false,
                (Ok(Answer::Error { .. }), Reference::Error) => true,
                (Ok(Answer::Data { series, .. }), Reference::Empty) => series.is_empty(),
                (Ok(Answer::Data { series, .. }), Reference::KeepsName) => {
                    series.iter().all(|s| s.labels.contains("__name__="))
                }
                _ => false,
            };
            if !justified {
                failures.push(format!(
                    "{} [{}]: excluded as {} but the reference does not behave as stated ({:?}): {}",
                    c.prom,
                    o.eval,
                    ex.name,
                    ex.reference,
                    o.want.as_ref().map(render).unwrap_or_else(|e| e.clone())
                ));
            }
            // Not compared, but Sightline must still answer with a valid envelope.
            if let Err(e) = &o.got {
                failures.push(format!(
                    "{} [{}] (excluded: {}): Sightline's answer is broken: {e}",
                    c.sightline, o.eval, ex.name
                ));
            }
            continue;
        }
        compared += 1;
        let ordered = c.ordered() && matches!(o.eval, Eval::Instant(_));
        let problem = match (&o.want, &o.got) {
            (Err(e), _) => Some(format!("reference answer unusable: {e}")),
            (_, Err(e)) => Some(format!("Sightline answer unusable: {e}")),
            (Ok(w), Ok(g)) => match diff(w, g, ordered) {
                None => None,
                // topk/bottomk may keep a different one of several equal values.
                Some(_) if c.selects() && same_selection(w, g) => {
                    tie_choices += 1;
                    None
                }
                Some(_) if sums(&c.prom) && diff_with(w, g, ordered, ROUNDING).is_none() => {
                    compared -= 1;
                    *excluded.entry("summation-rounding").or_default() += 1;
                    continue;
                }
                Some(_)
                    if deviates(&c.prom) && diff_with(w, g, ordered, LONE_NONFINITE).is_none() =>
                {
                    compared -= 1;
                    *excluded.entry("stddev-lone-nonfinite").or_default() += 1;
                    continue;
                }
                Some(d) => Some(format!(
                    "{d}\n    want: {}\n    got:  {}",
                    render(w),
                    render(g)
                )),
            },
        };
        match problem {
            None => {
                passed += 1;
                match &o.want {
                    Ok(Answer::Error { error, .. }) => {
                        both_errors += 1;
                        if let (Ok(Answer::Error { error: mine, .. }), Eval::Instant(_)) =
                            (&o.got, o.eval)
                        {
                            error_texts.insert(c.prom.clone(), (error.clone(), mine.clone()));
                        }
                    }
                    Ok(Answer::Data { series, .. }) if series.is_empty() => both_empty += 1,
                    _ => with_data += 1,
                }
            }
            Some(p) => {
                if let Some((_, bug)) = KNOWN_BUGS.iter().find(|(q, _)| *q == c.prom) {
                    *known.entry(bug).or_default() += 1;
                } else {
                    let sent = if c.prom == c.sightline {
                        String::new()
                    } else {
                        format!(" (Sightline: {})", c.sightline)
                    };
                    failures.push(format!("{}{sent} [{}]: {p}", c.prom, o.eval));
                }
            }
        }
    }

    println!("PromQL differential test vs Prometheus 2.42");
    println!(
        "  {} queries ({templated} templated, {} random) x ({} instant times + {} ranges) = {} evaluations; load {:.1}s, queries {:.1}s",
        all.len(),
        all.len() - templated,
        INSTANT_TIMES.len(),
        RANGES.len(),
        outcomes.len(),
        (loaded - started).as_secs_f64(),
        loaded.elapsed().as_secs_f64()
    );
    println!(
        "  compared {compared}, passed {passed}, known Sightline bugs {}, unexplained {}",
        known.values().sum::<usize>(),
        failures.len()
    );
    println!(
        "  of the passed: {with_data} with data, {both_empty} empty on both, {both_errors} refused by both; \
         {tie_choices} topk/bottomk answers kept another of several equal values (unspecified in Prometheus)"
    );
    for ex in EXCLUSIONS {
        println!(
            "  excluded {:>4} [{}]: {}",
            excluded.get(ex.name).copied().unwrap_or(0),
            ex.name,
            ex.reason
        );
    }
    for (bug, n) in &known {
        println!("  known bug ({n} evaluations): {bug}");
    }
    // Parse errors carry Prometheus' `line:column:` position; it must be the same.
    // The wording is printed where it differs (2.42's and 3.x's wording may differ).
    for (q, (want, got)) in &error_texts {
        if want == got {
            continue;
        }
        if position(want) != position(got) {
            failures.push(format!(
                "{q}: error position differs:\n    want: {want}\n    got:  {got}"
            ));
        } else {
            println!(
                "  error wording differs for {q}:\n    reference: {want}\n    sightline: {got}"
            );
        }
    }
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(60).collect();
        panic!(
            "{} unexplained mismatches (first {} shown; Sightline log at the end):\n{}\n--- Sightline log ---\n{}",
            failures.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            {
                let log = pair.sightline.log_text();
                log[log.len().saturating_sub(4000)..].to_string()
            }
        );
    }
    // A broken load (no data on either side) must not pass as agreement.
    assert!(
        with_data * 10 >= compared * 7,
        "only {with_data} of {compared} evaluations returned data: the comparison is vacuous"
    );
}

/// Tolerance of the summation-rounding exclusion.
const ROUNDING: Tolerance = Tolerance {
    plain_decimals: false,
    near_zero: 1e-12,
    zero_as_nan: false,
};
/// Tolerance of the stddev-lone-nonfinite exclusion.
const LONE_NONFINITE: Tolerance = Tolerance {
    plain_decimals: false,
    near_zero: 0.0,
    zero_as_nan: true,
};

/// True when the query aggregates with stddev/stdvar.
fn deviates(q: &str) -> bool {
    q.contains("stddev") || q.contains("stdvar")
}

/// True when the query sums floats somewhere (where 2.42 and 3.x round differently).
fn sums(q: &str) -> bool {
    [
        "sum",
        "avg",
        "stddev",
        "stdvar",
        "deriv",
        "predict_linear",
        "quantile",
    ]
    .iter()
    .any(|f| q.contains(f))
}

/// The `line:column` a parse error message names (`…: 1:5: parse error: …`).
fn position(msg: &str) -> Option<&str> {
    let at = msg.find(": parse error")?;
    let head = &msg[..at];
    let start = head.rfind(' ').map_or(0, |i| i + 1);
    Some(&head[start..])
}

/// Query API parameter errors: both refuse with the same status and error type.
#[test]
fn query_parameter_errors_match_reference() {
    let Some(pair) = start_pair() else {
        return;
    };
    let t = E + 3_600;
    let paths = [
        format!(
            "/api/v1/query_range?query=diff_queue_depth&start={}&end={t}&step=60",
            t + 100
        ),
        format!(
            "/api/v1/query_range?query=diff_queue_depth&start={t}&end={}&step=0",
            t + 100
        ),
        format!(
            "/api/v1/query_range?query=diff_queue_depth&start={t}&end={}&step=-5",
            t + 100
        ),
        format!(
            "/api/v1/query_range?query=diff_queue_depth&start={t}&end={}&step=0.5",
            t + 10_800
        ),
        format!(
            "/api/v1/query_range?query=diff_queue_depth&start={t}&end={}",
            t + 100
        ),
        format!("/api/v1/query_range?query=diff_queue_depth&start=yesterday&end={t}&step=60"),
        format!("/api/v1/query_range?start={t}&end={}&step=60", t + 100),
        "/api/v1/query?query=diff_queue_depth&time=notatime".to_string(),
        "/api/v1/query".to_string(),
        "/api/v1/query?query=".to_string(),
        format!("/api/v1/query?query=diff_queue_depth&time={t}&timeout=notaduration"),
        format!("/api/v1/query?query=diff_queue_depth&time={t}&timeout=30s"),
        format!(
            "/api/v1/query_range?query=diff_queue_depth&start={t}&end={}&step=1m",
            t + 600
        ),
        format!(
            "/api/v1/query_range?query=diff_queue_depth&start={t}&end={}&step=60.5",
            t + 600
        ),
        "/api/v1/query?query=diff_queue_depth&time=2023-11-14T23:13:21Z".to_string(),
        "/api/v1/query?query=diff_queue_depth&time=2023-11-14T23:13:21.5%2B01:00".to_string(),
    ];
    let mut failures = Vec::new();
    for path in &paths {
        let want = answer(get(&pair.prom_addr, path, &[]));
        let got = answer(get(pair.sightline_addr(), path, &[]));
        let problem = match (&want, &got) {
            (Ok(w), Ok(g)) => diff(w, g, false)
                .map(|d| format!("{d}\n    want: {}\n    got:  {}", render(w), render(g))),
            (w, g) => Some(format!("unusable answers: {w:?} / {g:?}")),
        };
        if let Some(p) = problem {
            failures.push(format!("GET {path}: {p}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The oracle itself: every kind of difference the comparison must catch is caught,
/// and only the tolerated ones (1e-9 relative, NaN = NaN, ties) pass.
#[test]
fn comparator_catches_each_kind_of_difference() {
    let vector = |samples: &[(&str, &str)]| {
        let result: Vec<String> = samples
            .iter()
            .map(|(l, v)| format!(r#"{{"metric":{{"a":"{l}"}},"value":[1700000001.5,"{v}"]}}"#))
            .collect();
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            result.join(",")
        );
        parse_answer(200, &body).unwrap()
    };
    let base = vector(&[("x", "1"), ("y", "NaN"), ("z", "+Inf")]);
    assert_eq!(diff(&base, &base, true), None);
    // Tolerated: 1e-10 relative, and another order when not ordered.
    assert_eq!(
        diff(
            &base,
            &vector(&[("x", "1.0000000001"), ("y", "NaN"), ("z", "+Inf")]),
            false
        ),
        None
    );
    assert_eq!(
        diff(
            &base,
            &vector(&[("z", "+Inf"), ("x", "1"), ("y", "NaN")]),
            false
        ),
        None
    );
    // Caught: values, NaN vs number, infinities, labels, series count, formatting, order.
    for other in [
        vector(&[("x", "1.00000001"), ("y", "NaN"), ("z", "+Inf")]),
        vector(&[("x", "1"), ("y", "0"), ("z", "+Inf")]),
        vector(&[("x", "1"), ("y", "NaN"), ("z", "-Inf")]),
        vector(&[("x", "1"), ("w", "NaN"), ("z", "+Inf")]),
        vector(&[("x", "1"), ("y", "NaN")]),
        vector(&[("x", "1.0"), ("y", "NaN"), ("z", "+Inf")]),
    ] {
        assert!(diff(&base, &other, false).is_some(), "{other:?}");
    }
    assert!(diff(
        &base,
        &vector(&[("z", "+Inf"), ("x", "1"), ("y", "NaN")]),
        true
    )
    .is_some());
    // Equal values may be permuted even in sorted results.
    let nans = vector(&[("x", "1"), ("y", "NaN"), ("z", "NaN")]);
    assert_eq!(
        diff(
            &nans,
            &vector(&[("x", "1"), ("z", "NaN"), ("y", "NaN")]),
            true
        ),
        None
    );
    // topk's choice among equal values is free, its values are not.
    let top = vector(&[("x", "3"), ("y", "NaN")]);
    assert!(same_selection(&top, &vector(&[("x", "3"), ("z", "NaN")])));
    assert!(!same_selection(&top, &vector(&[("x", "3"), ("z", "2")])));
    // Timestamps as written, result types, and error types.
    let at = |t: &str| {
        parse_answer(
            200,
            &format!(
                r#"{{"status":"success","data":{{"resultType":"scalar","result":[{t},"1"]}}}}"#
            ),
        )
        .unwrap()
    };
    assert_eq!(diff(&at("1700000001"), &at("1700000001"), false), None);
    assert!(diff(&at("1700000001"), &at("1700000001.0"), false).is_some());
    assert!(diff(&at("1700000001"), &at("1700000002"), false).is_some());
    assert!(diff(&at("1700000001"), &vector(&[("x", "1")]), false).is_some());
    let error = |status: u16, t: &str| {
        parse_answer(
            status,
            &format!(r#"{{"status":"error","errorType":"{t}","error":"e"}}"#),
        )
        .unwrap()
    };
    assert_eq!(
        diff(&error(400, "bad_data"), &error(400, "bad_data"), false),
        None
    );
    assert!(diff(&error(400, "bad_data"), &error(422, "execution"), false).is_some());
    assert!(diff(&error(400, "bad_data"), &at("1700000001"), false).is_some());
    // Each tolerance admits exactly its own explained difference.
    let one = |v: &str| vector(&[("x", v)]);
    // Value text must match exactly: exponent notation is part of the contract.
    assert!(diff(&one("1e-07"), &one("0.0000001"), false).is_some());
    assert!(diff(&one("0.5"), &one("0.50"), false).is_some());
    assert!(diff_with(&one("3e-16"), &one("-5e-17"), false, ROUNDING).is_none());
    assert!(diff_with(&one("3e-10"), &one("-5e-11"), false, ROUNDING).is_some());
    assert!(diff_with(&one("0"), &one("NaN"), false, LONE_NONFINITE).is_none());
    assert!(diff_with(&one("1"), &one("NaN"), false, LONE_NONFINITE).is_some());
    assert!(diff_with(&one("NaN"), &one("0"), false, LONE_NONFINITE).is_some());
}
