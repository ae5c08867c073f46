//! Runs Prometheus' promqltest conformance files against the engine.
//!
//! Files are read from `/work/shared/conformance/promqltest` (found relative to this
//! crate). Each `eval` is one case: passed, failed (with a reason) or skipped (native
//! histograms, which the engine does not support yet). A report is written to
//! `target/promqltest-report.txt`. Stable files have pass-count floors below; the
//! test fails if a file passes fewer cases than its floor. Raise floors as the engine
//! improves; never lower them.

use sightline_model::{Labels, Sample, STALE_NAN};
use sightline_promql::{Engine, EngineOptions, MemStorage, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const STABLE: &[(&str, usize)] = &[
    ("aggregators", 125),
    ("at_modifier", 78),
    ("collision", 2),
    ("functions", 373),
    ("histograms", 93),
    ("limit", 15),
    ("literals", 25),
    ("name_label_dropping", 30),
    ("operators", 145),
    ("range_queries", 17),
    ("selectors", 31),
    ("staleness", 17),
    ("subquery", 32),
    ("trig_functions", 19),
];

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
    failures: Vec<String>,
}

#[derive(Default, Debug)]
struct Expect {
    fail: Option<Option<Matcher>>,
    warn: Option<Option<Matcher>>,
    info: Option<Option<Matcher>>,
    no_warn: bool,
    no_info: bool,
    ordered: bool,
    string: Option<String>,
    range_vec: Option<(i64, i64, i64)>,
}

#[derive(Debug)]
enum Matcher {
    Msg(String),
    Regex(String),
}

impl Matcher {
    fn matches(&self, s: &str) -> bool {
        match self {
            Matcher::Msg(m) => s == m,
            Matcher::Regex(r) => regex::Regex::new(r)
                .map(|re| re.is_match(s))
                .unwrap_or(false),
        }
    }
}

enum Expected {
    Scalar(f64),
    Series(Labels, Vec<Option<f64>>),
}

fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(v) = s.parse::<f64>() {
        return Ok((v * 1000.0).round() as i64);
    }
    sightline_model::units::parse_duration(s).map(|d| d.as_millis() as i64)
}

fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = match body.to_ascii_lowercase().as_str() {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        "stale" => STALE_NAN,
        _ => body.parse::<f64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// Expands one value token (`1`, `_`, `stale`, `a+bxN`, `a-bxN`, `axN`, `_xN`).
fn expand_token(tok: &str, out: &mut Vec<Option<f64>>) -> Result<(), String> {
    if tok == "_" {
        out.push(None);
        return Ok(());
    }
    if let Some(n) = tok.strip_prefix("_x") {
        let n: usize = n.parse().map_err(|_| format!("bad token {tok}"))?;
        out.extend(std::iter::repeat_n(None, n));
        return Ok(());
    }
    if let Some(v) = parse_num(tok) {
        out.push(Some(v));
        return Ok(());
    }
    let Some(xpos) = tok.rfind('x') else {
        return Err(format!("bad value {tok}"));
    };
    let (head, n) = (&tok[..xpos], &tok[xpos + 1..]);
    let n: usize = n.parse().map_err(|_| format!("bad repeat in {tok}"))?;
    let bytes = head.as_bytes();
    let mut split = None;
    for i in 1..bytes.len() {
        if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
            split = Some(i);
            break;
        }
    }
    match split {
        None => {
            let a = parse_num(head).ok_or(format!("bad value {tok}"))?;
            out.extend(std::iter::repeat_n(Some(a), n + 1));
        }
        Some(i) => {
            let a = parse_num(&head[..i]).ok_or(format!("bad value {tok}"))?;
            let b = parse_num(&head[i..]).ok_or(format!("bad delta {tok}"))?;
            let mut v = a;
            out.push(Some(v));
            for _ in 0..n {
                v += b;
                out.push(Some(v));
            }
        }
    }
    Ok(())
}

fn unquote(s: &str) -> Result<(String, usize), String> {
    let q = s.chars().next().ok_or("empty")?;
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == q {
            return Ok((out, i + 1));
        }
        if c == '\\' && q != '`' {
            let (_, e) = chars.next().ok_or("dangling escape")?;
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                'x' => {
                    let h: String = (0..2).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    let b = u8::from_str_radix(&h, 16).map_err(|_| "bad \\x")?;
                    out.push(b as char);
                }
                'u' => {
                    let h: String = (0..4).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    let c = u32::from_str_radix(&h, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or("bad \\u")?;
                    out.push(c);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        } else {
            out.push(c);
        }
    }
    Err("unterminated string".into())
}

/// Parses `name{l="v", ...}` at the start of `s`; returns labels and the rest.
fn parse_series(s: &str) -> Result<(Labels, &str), String> {
    let s = s.trim_start();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let name_end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    if name_end > 0 {
        pairs.push(("__name__".into(), s[..name_end].to_string()));
    }
    let mut rest = &s[name_end..];
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let (lname, r) = if rest.starts_with('"') || rest.starts_with('\'') {
                let (n, used) = unquote(rest)?;
                (n, &rest[used..])
            } else {
                let e = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .ok_or("bad label")?;
                (rest[..e].to_string(), &rest[e..])
            };
            let r = r.trim_start();
            if let Some(r2) = r.strip_prefix('=') {
                let r2 = r2.trim_start();
                let (v, used) = unquote(r2)?;
                pairs.push((lname, v));
                rest = &r2[used..];
            } else {
                // A quoted metric name alone: {"metric.name", ...}
                pairs.push(("__name__".into(), lname));
                rest = r;
            }
        }
    }
    Ok((Labels::from_pairs(pairs), rest))
}

fn almost_equal(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let min_normal = f64::from_bits(0x0010_0000_0000_0000);
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < 1e-6 * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < 1e-6
}

struct Case {
    line: usize,
    expr: String,
    start: i64,
    end: i64,
    step: i64,
    instant: bool,
    expect: Expect,
    expected: Vec<Expected>,
    skip: bool,
}

fn parse_matcher(rest: &str) -> Option<Matcher> {
    let rest = rest.trim();
    if let Some(m) = rest.strip_prefix("msg:") {
        Some(Matcher::Msg(m.trim().to_string()))
    } else {
        rest.strip_prefix("regex:")
            .map(|r| Matcher::Regex(r.trim().to_string()))
    }
}

fn check_case(engine: &Engine, db: &MemStorage, c: &Case) -> Result<(), String> {
    let res = if c.instant {
        engine.instant_with(db, &c.expr, c.start, None)
    } else {
        engine.range_with(db, &c.expr, c.start, c.end, c.step, None)
    };
    let res = match (res, &c.expect.fail) {
        (Err(e), Some(m)) => {
            return match m {
                Some(m) if !m.matches(&e.to_string()) => {
                    Err(format!("error {:?} does not match {:?}", e.to_string(), m))
                }
                _ => Ok(()),
            };
        }
        (Ok(_), Some(_)) => return Err("expected error, query succeeded".into()),
        (Err(e), None) => return Err(format!("error: {e}")),
        (Ok(r), None) => r,
    };
    for (want, no, got, what) in [
        (&c.expect.warn, c.expect.no_warn, &res.warnings, "warning"),
        (&c.expect.info, c.expect.no_info, &res.infos, "info"),
    ] {
        if let Some(m) = want {
            if got.is_empty() {
                return Err(format!("expected {what}, got none"));
            }
            if let Some(m) = m {
                if !got.iter().any(|g| m.matches(g)) {
                    return Err(format!("no {what} matches {m:?}: {got:?}"));
                }
            }
        }
        if no && !got.is_empty() {
            return Err(format!("unexpected {what}: {got:?}"));
        }
    }
    if let Some(s) = &c.expect.string {
        return match &res.value {
            Value::String { v, .. } if v == s => Ok(()),
            other => Err(format!("expected string {s:?}, got {other:?}")),
        };
    }
    match &res.value {
        Value::Scalar { v, .. } => match c.expected.as_slice() {
            [Expected::Scalar(e)] if almost_equal(*e, *v) => Ok(()),
            _ => Err(format!("scalar {v} does not match expectation")),
        },
        Value::String { v, .. } => Err(format!("unexpected string result {v:?}")),
        Value::Vector(vec) => {
            if vec.len() != c.expected.len() {
                return Err(format!(
                    "expected {} series, got {}: {}",
                    c.expected.len(),
                    vec.len(),
                    short_vec(vec)
                ));
            }
            for (pos, e) in c.expected.iter().enumerate() {
                let Expected::Series(l, vals) = e else {
                    return Err("expected scalar, got vector".into());
                };
                let Some(gi) = vec.iter().position(|x| &x.0 == l) else {
                    return Err(format!("missing series {l}; got {}", short_vec(vec)));
                };
                if c.expect.ordered && gi != pos {
                    return Err(format!("series {l} at position {gi}, want {pos}"));
                }
                let want = vals.first().copied().flatten();
                match want {
                    Some(w) if almost_equal(w, vec[gi].2) => {}
                    _ => return Err(format!("series {l}: got {}, want {:?}", vec[gi].2, want)),
                }
            }
            Ok(())
        }
        Value::Matrix(m) => {
            let (start, step) = match (c.instant, c.expect.range_vec) {
                (true, Some((s, _, st))) => (s, st),
                (true, None) => (c.start, 1),
                _ => (c.start, c.step),
            };
            let exp: Vec<(&Labels, Vec<(i64, f64)>)> = c
                .expected
                .iter()
                .filter_map(|e| match e {
                    Expected::Series(l, vals) => Some((
                        l,
                        vals.iter()
                            .enumerate()
                            .filter_map(|(i, v)| v.map(|v| (start + i as i64 * step, v)))
                            .collect(),
                    )),
                    _ => None,
                })
                .collect();
            let got: Vec<&(Labels, Vec<Sample>)> = m.iter().filter(|s| !s.1.is_empty()).collect();
            let exp_nonempty: Vec<_> = exp.iter().filter(|e| !e.1.is_empty()).collect();
            if got.len() != exp_nonempty.len() {
                return Err(format!(
                    "expected {} series, got {}: {}",
                    exp_nonempty.len(),
                    got.len(),
                    short_mat(m)
                ));
            }
            for (l, pts) in exp_nonempty {
                let Some(g) = got.iter().find(|x| &x.0 == *l) else {
                    return Err(format!("missing series {l}; got {}", short_mat(m)));
                };
                let gp: Vec<(i64, f64)> = g.1.iter().map(|s| (s.t, s.v)).collect();
                let ok = gp.len() == pts.len()
                    && gp
                        .iter()
                        .zip(pts.iter())
                        .all(|(a, b)| a.0 == b.0 && almost_equal(a.1, b.1));
                if !ok {
                    return Err(format!("series {l}: got {gp:?}, want {pts:?}"));
                }
            }
            Ok(())
        }
    }
}

fn short_vec(v: &[(Labels, i64, f64)]) -> String {
    let s: Vec<String> = v
        .iter()
        .take(4)
        .map(|x| format!("{} {}", x.0, x.2))
        .collect();
    s.join(", ")
}

fn short_mat(m: &[(Labels, Vec<Sample>)]) -> String {
    let s: Vec<String> = m
        .iter()
        .take(3)
        .map(|x| format!("{} ({} pts)", x.0, x.1.len()))
        .collect();
    s.join(", ")
}

/// True when some selector in `expr` matches one of `series` (native histograms the
/// runner could not load), so the case is counted as skipped.
fn selects_any(expr: &str, series: &[Labels]) -> bool {
    use promql_parser::label::MatchOp as P;
    use promql_parser::parser::{Expr, VectorSelector};
    fn sel_matches(vs: &VectorSelector, l: &Labels) -> bool {
        if let Some(n) = &vs.name {
            if l.metric_name() != Some(n.as_str()) {
                return false;
            }
        }
        vs.matchers.matchers.iter().all(|m| {
            let v = l.get(&m.name).unwrap_or("");
            match &m.op {
                P::Equal => v == m.value,
                P::NotEqual => v != m.value,
                P::Re(r) => r.is_match(v),
                P::NotRe(r) => !r.is_match(v),
            }
        })
    }
    fn walk(e: &Expr, series: &[Labels]) -> bool {
        match e {
            Expr::VectorSelector(vs) => series.iter().any(|l| sel_matches(vs, l)),
            Expr::MatrixSelector(ms) => series.iter().any(|l| sel_matches(&ms.vs, l)),
            Expr::Subquery(sq) => walk(&sq.expr, series),
            Expr::Aggregate(a) => walk(&a.expr, series),
            Expr::Unary(u) => walk(&u.expr, series),
            Expr::Binary(b) => walk(&b.lhs, series) || walk(&b.rhs, series),
            Expr::Paren(p) => walk(&p.expr, series),
            Expr::Call(c) => c.args.args.iter().any(|a| walk(a, series)),
            _ => false,
        }
    }
    match promql_parser::parser::parse(expr) {
        Ok(e) => walk(&e, series),
        Err(_) => false,
    }
}

fn run_file(path: &Path) -> Tally {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let engine = Engine::new(EngineOptions::default());
    let mut db = MemStorage::new();
    let mut hist_series: Vec<Labels> = Vec::new();
    let mut t = Tally::default();
    let mut i = 0;
    let is_blank = |l: &str| l.trim().is_empty();
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "clear" {
            db.clear();
            hist_series.clear();
            continue;
        }
        if let Some(rest) = line.strip_prefix("load") {
            let nhcb = rest.starts_with("_with_nhcb");
            let step = rest
                .split_whitespace()
                .last()
                .and_then(|s| parse_time(s).ok())
                .unwrap_or(60_000);
            while i < lines.len() && !is_blank(lines[i]) {
                let l = lines[i].trim();
                i += 1;
                if l.starts_with('#') {
                    continue;
                }
                let Ok((labels, vals)) = parse_series(l) else {
                    continue;
                };
                if vals.contains("{{") {
                    hist_series.push(labels);
                    continue;
                }
                if nhcb {
                    // load_with_nhcb also creates a native histogram under the base name.
                    if let Some(base) = labels.metric_name().and_then(|n| n.strip_suffix("_bucket"))
                    {
                        let mut b = labels.to_builder();
                        b.set("__name__", base.to_string());
                        b.del("le");
                        hist_series.push(b.build());
                    }
                }
                let mut vs = Vec::new();
                let mut ok = true;
                for tok in vals.split_whitespace() {
                    if expand_token(tok, &mut vs).is_err() {
                        ok = false;
                    }
                }
                if !ok {
                    continue;
                }
                let samples: Vec<Sample> = vs
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.map(|v| Sample::new(k as i64 * step, v)))
                    .collect();
                db.add(labels, samples);
            }
            continue;
        }
        if line.starts_with("eval") {
            let start_line = i;
            let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
            let mut expect = Expect::default();
            match cmd {
                "eval_fail" => expect.fail = Some(None),
                "eval_warn" => expect.warn = Some(None),
                "eval_info" => expect.info = Some(None),
                "eval_ordered" => expect.ordered = true,
                _ => {}
            }
            let mut body: Vec<&str> = Vec::new();
            while i < lines.len() && !is_blank(lines[i]) {
                body.push(lines[i].trim());
                i += 1;
            }
            let mut case = Case {
                line: start_line,
                expr: String::new(),
                start: 0,
                end: 0,
                step: 0,
                instant: true,
                expect,
                expected: Vec::new(),
                skip: false,
            };
            let parsed: Result<(), String> = (|| {
                let words: Vec<&str> = rest.split_whitespace().collect();
                if rest.trim_start().starts_with("instant") {
                    // instant at <t> <expr>
                    let t = words.get(2).ok_or("no time")?;
                    case.start = parse_time(t)?;
                    case.end = case.start;
                    let idx = rest.find(t).ok_or("no time")? + t.len();
                    case.expr = rest[idx..].trim().to_string();
                } else if rest.trim_start().starts_with("range") {
                    // range from <a> to <b> step <s> <expr>
                    let (a, b, s) = (
                        words.get(2).ok_or("from")?,
                        words.get(4).ok_or("to")?,
                        words.get(6).ok_or("step")?,
                    );
                    case.start = parse_time(a)?;
                    case.end = parse_time(b)?;
                    case.step = parse_time(s)?;
                    case.instant = false;
                    let marker = format!("step {s}");
                    let idx = rest.find(&marker).ok_or("no step")? + marker.len();
                    case.expr = rest[idx..].trim().to_string();
                } else {
                    return Err(format!("unknown eval form: {line}"));
                }
                for b in &body {
                    if b.starts_with('#') {
                        continue;
                    }
                    if let Some(x) = b.strip_prefix("expect ") {
                        let (kind, tail) = x.trim().split_once(' ').unwrap_or((x.trim(), ""));
                        match kind {
                            "fail" => case.expect.fail = Some(parse_matcher(tail)),
                            "warn" => case.expect.warn = Some(parse_matcher(tail)),
                            "info" => case.expect.info = Some(parse_matcher(tail)),
                            "no_warn" => case.expect.no_warn = true,
                            "no_info" => case.expect.no_info = true,
                            "ordered" => case.expect.ordered = true,
                            "string" => case.expect.string = Some(unquote(tail.trim())?.0),
                            "range" => {
                                let w: Vec<&str> = tail.split_whitespace().collect();
                                let (a, b2, s) = (
                                    w.get(2).ok_or("from")?,
                                    w.get(4).ok_or("to")?,
                                    w.get(6).ok_or("step")?,
                                );
                                case.expect.range_vec =
                                    Some((parse_time(a)?, parse_time(b2)?, parse_time(s)?));
                            }
                            other => return Err(format!("unknown expect {other}")),
                        }
                        continue;
                    }
                    if b.contains("{{") {
                        case.skip = true;
                        continue;
                    }
                    if let Some(v) = parse_num(b) {
                        case.expected.push(Expected::Scalar(v));
                        continue;
                    }
                    let (labels, vals) = parse_series(b)?;
                    let mut vs = Vec::new();
                    for tok in vals.split_whitespace() {
                        expand_token(tok, &mut vs)?;
                    }
                    case.expected.push(Expected::Series(labels, vs));
                }
                Ok(())
            })();
            // Cases reading native histograms the runner could not load count as
            // skipped when they fail (they may still pass, e.g. on the float part).
            let touches_hist = !hist_series.is_empty() && selects_any(&case.expr, &hist_series);
            if case.skip {
                t.skipped += 1;
                continue;
            }
            let outcome = parsed.and_then(|_| check_case(&engine, &db, &case));
            match outcome {
                Ok(()) => t.passed += 1,
                Err(_) if touches_hist => t.skipped += 1,
                Err(e) => {
                    t.failed += 1;
                    let mut reason = e;
                    if reason.len() > 300 {
                        let mut cut = 300;
                        while !reason.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        reason.truncate(cut);
                    }
                    t.failures.push(format!(
                        "  line {}: {}\n    -> {}",
                        case.line, case.expr, reason
                    ));
                }
            }
            continue;
        }
        t.failures
            .push(format!("  line {i}: unrecognised command: {line}"));
    }
    t
}

#[test]
fn promqltest_conformance() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../../../shared/conformance/promqltest");
    if !dir.is_dir() {
        println!("SKIP: {} absent", dir.display());
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "test"));
    files.sort();
    let mut report = String::new();
    let mut table = String::new();
    let mut below = Vec::new();
    for (section, stable) in [("stable", true), ("experimental", false)] {
        writeln!(table, "== {section} ==").unwrap();
        writeln!(
            table,
            "{:<22} {:>6} {:>6} {:>7}",
            "file", "pass", "fail", "skip"
        )
        .unwrap();
        for f in &files {
            let name = f
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string();
            let floor = STABLE.iter().find(|(n, _)| *n == name).map(|x| x.1);
            if floor.is_some() != stable {
                continue;
            }
            let t = run_file(f);
            writeln!(
                table,
                "{:<22} {:>6} {:>6} {:>7}",
                name, t.passed, t.failed, t.skipped
            )
            .unwrap();
            writeln!(
                report,
                "### {name}: passed {} failed {} skipped {}",
                t.passed, t.failed, t.skipped
            )
            .unwrap();
            for fl in &t.failures {
                writeln!(report, "{fl}").unwrap();
            }
            if let Some(floor) = floor {
                if t.passed < floor {
                    below.push(format!("{name}: {} passed < floor {floor}", t.passed));
                }
            }
        }
    }
    println!("{table}");
    let out = manifest.join("../../target/promqltest-report.txt");
    let _ = std::fs::write(&out, format!("{table}\n{report}"));
    assert!(below.is_empty(), "pass counts below floors: {below:?}");
}
