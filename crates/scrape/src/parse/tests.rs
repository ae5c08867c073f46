//! Parser tests: both formats, error reporting, and property tests.

use super::*;
use proptest::prelude::*;

fn all(input: &str, f: Format) -> Result<Vec<Entry<'_>>, ParseError> {
    Parser::new(input.as_bytes(), f).collect()
}

fn sample<'a>(
    name: &'a str,
    labels: &[(&'a str, &'a str)],
    value: f64,
    ts: Option<i64>,
) -> Entry<'a> {
    Entry::Sample {
        name: Cow::Borrowed(name),
        labels: labels
            .iter()
            .map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v)))
            .collect(),
        timestamp_ms: ts,
        value,
        exemplar: None,
    }
}

#[test]
fn prometheus_text_full() {
    let input = "# HELP go_goroutines Number of goroutines\\nthat exist \\\\ now.\n\
# TYPE go_goroutines gauge\n\
go_goroutines 33  \t123123\n\
# a plain comment\n\
\n\
   \n\
_metric_starting_with_underscore 1\n\
testmetric{label=\"\\\"bar\\\"\"} 1\n\
testmetric{le=\"10\",} 1\n\
  leading_ws{ a = \"b\" , c=\"d\\n\\q\" } -Inf\n\
nan_metric NaN\n\
pos_inf +Inf 5\n\
name{labelname=\"val1\",basename=\"basevalue\"} 0.23 -1\n\
# TYPE untyped_m untyped\n";
    let got = all(input, Format::PrometheusText).unwrap();
    assert_eq!(
        got[0],
        Entry::Help {
            name: "go_goroutines",
            help: Cow::Owned("Number of goroutines\nthat exist \\ now.".into())
        }
    );
    assert_eq!(
        got[1],
        Entry::Type {
            name: "go_goroutines",
            metric_type: MetricType::Gauge
        }
    );
    assert_eq!(got[2], sample("go_goroutines", &[], 33.0, Some(123123)));
    assert_eq!(
        got[3],
        sample("_metric_starting_with_underscore", &[], 1.0, None)
    );
    assert_eq!(
        got[4],
        sample("testmetric", &[("label", "\"bar\"")], 1.0, None)
    );
    assert_eq!(got[5], sample("testmetric", &[("le", "10")], 1.0, None));
    assert_eq!(
        got[6],
        sample(
            "leading_ws",
            &[("a", "b"), ("c", "d\n\\q")],
            f64::NEG_INFINITY,
            None
        )
    );
    match &got[7] {
        Entry::Sample { value, .. } => assert!(value.is_nan()),
        e => panic!("{e:?}"),
    }
    assert_eq!(got[8], sample("pos_inf", &[], f64::INFINITY, Some(5)));
    assert_eq!(
        got[9],
        sample(
            "name",
            &[("labelname", "val1"), ("basename", "basevalue")],
            0.23,
            Some(-1)
        )
    );
    assert_eq!(
        got[10],
        Entry::Type {
            name: "untyped_m",
            metric_type: MetricType::Unknown
        }
    );
    assert_eq!(got.len(), 11);
}

#[test]
fn unescaped_values_are_borrowed() {
    let input = "m{a=\"plain\"} 1\n";
    let got = all(input, Format::PrometheusText).unwrap();
    match &got[0] {
        Entry::Sample { name, labels, .. } => {
            assert!(matches!(name, Cow::Borrowed(_)));
            assert!(matches!(labels[0].1, Cow::Borrowed(_)));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn utf8_quoted_metric_names() {
    let got = all("{\"my.metric\", a=\"1\"} 2\n", Format::PrometheusText).unwrap();
    assert_eq!(got[0], sample("my.metric", &[("a", "1")], 2.0, None));
}

#[test]
fn text_errors_carry_line_numbers() {
    let cases = [
        ("ok 1\nbad{a=\"1\" 1\n", 2, "expected ','"),
        (
            "a 1\nb 2\nc{x=\"1\",x=\"2\"} 3\n",
            3,
            "duplicate label name",
        ),
        ("m abc\n", 1, "invalid value"),
        ("m 1 1.5\n", 1, "invalid timestamp"),
        ("m 1 2 3\n", 1, "unexpected text"),
        ("# TYPE m bogus\n", 1, "invalid metric type"),
        ("m{a=\"unterminated} 1\n", 1, "unterminated"),
        ("1m 1\n", 1, "metric name"),
        ("m\n", 1, "whitespace before the value"),
        ("m{} \n", 1, "missing value"),
    ];
    for (input, line, msg) in cases {
        let e = all(input, Format::PrometheusText).unwrap_err();
        assert_eq!(e.line, line, "{input:?}: {e}");
        assert!(e.message.contains(msg), "{input:?}: {e}");
    }
    let e = Parser::new(b"ok 1\nm{a=\"\xff\"} 1\n", Format::PrometheusText)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().starts_with("line 2: invalid UTF-8"));
}

#[test]
fn openmetrics_full() {
    let input = "# TYPE a_seconds counter\n\
# HELP a_seconds help \\\"quoted\\\"\n\
# UNIT a_seconds seconds\n\
a_seconds_total{x=\"1\"} 1 1520879607.789 # {trace_id=\"abc\"} 0.5 1520879607.5\n\
a_seconds_total{x=\"2\"} 2 # {id=\"z\"} 7\n\
a_seconds_created{x=\"1\"} 1520000000\n\
# TYPE s stateset\n\
s{s=\"a\"} 1\n\
# TYPE i info\n\
i_info{v=\"1.0\"} 1\n\
# TYPE g gaugehistogram\n\
g_bucket{le=\"+Inf\"} 3 100\n\
# EOF";
    let got = all(input, Format::OpenMetrics).unwrap();
    assert_eq!(
        got[0],
        Entry::Type {
            name: "a_seconds",
            metric_type: MetricType::Counter
        }
    );
    assert_eq!(
        got[1],
        Entry::Help {
            name: "a_seconds",
            help: Cow::Owned("help \"quoted\"".into())
        }
    );
    assert_eq!(
        got[2],
        Entry::Unit {
            name: "a_seconds",
            unit: "seconds"
        }
    );
    match &got[3] {
        Entry::Sample {
            timestamp_ms,
            exemplar: Some(ex),
            ..
        } => {
            assert_eq!(*timestamp_ms, Some(1_520_879_607_789));
            assert_eq!(ex.value, 0.5);
            assert_eq!(ex.timestamp_ms, Some(1_520_879_607_500));
            assert_eq!(ex.labels[0].1, "abc");
        }
        e => panic!("{e:?}"),
    }
    match &got[4] {
        Entry::Sample {
            timestamp_ms: None,
            exemplar: Some(ex),
            ..
        } => assert_eq!((ex.value, ex.timestamp_ms), (7.0, None)),
        e => panic!("{e:?}"),
    }
    assert_eq!(
        got[5],
        sample("a_seconds_created", &[("x", "1")], 1.52e9, None)
    );
    assert_eq!(
        got[11],
        sample("g_bucket", &[("le", "+Inf")], 3.0, Some(100_000))
    );
    assert_eq!(got.last(), Some(&Entry::Eof));

    // Prometheus treats _created as a creation timestamp, not a series.
    let skipped: Vec<_> = Parser::new(input.as_bytes(), Format::OpenMetrics)
        .skip_created_series(true)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(skipped.len(), got.len() - 1);
    assert!(!skipped
        .iter()
        .any(|e| matches!(e, Entry::Sample { name, .. } if name == "a_seconds_created")));
}

#[test]
fn openmetrics_errors() {
    let cases = [
        ("a 1\n", 2, "missing # EOF"),
        ("a 1\n# EOF\nb 2\n", 3, "after # EOF"),
        ("a 1\n\n# EOF\n", 2, "empty lines"),
        ("# a comment\n# EOF\n", 1, "expected # HELP"),
        ("#comment\n# EOF\n", 1, "comments are not allowed"),
        ("a  1\n# EOF\n", 1, "missing value"),
        (
            "a 1 # {x=\"1\"}\n# EOF\n",
            1,
            "space before the exemplar value",
        ),
        ("# UNIT a_bytes seconds\n# EOF\n", 1, "not a suffix"),
        ("a 1 NaN\n# EOF\n", 1, "invalid timestamp"),
        ("# TYPE a untyped\n# EOF\n", 1, "invalid metric type"),
    ];
    for (input, line, msg) in cases {
        let e = all(input, Format::OpenMetrics).unwrap_err();
        assert_eq!(e.line, line, "{input:?}: {e}");
        assert!(e.message.contains(msg), "{input:?}: {e}");
    }
    let long = format!("a 1 # {{x=\"{}\"}} 1\n# EOF\n", "y".repeat(130));
    assert!(all(&long, Format::OpenMetrics)
        .unwrap_err()
        .message
        .contains("128"));
    // A trailing newline after # EOF is fine.
    assert!(all("a 1\n# EOF\n", Format::OpenMetrics).is_ok());
}

#[test]
fn om_timestamps_are_exact() {
    use super::lexer::parse_om_timestamp;
    assert_eq!(parse_om_timestamp("1.001").unwrap(), 1001);
    assert_eq!(parse_om_timestamp("-1.5").unwrap(), -1500);
    assert_eq!(parse_om_timestamp("1234").unwrap(), 1_234_000);
    assert_eq!(parse_om_timestamp("1.23456").unwrap(), 1234);
    assert_eq!(parse_om_timestamp("1e3").unwrap(), 1_000_000);
    assert!(parse_om_timestamp("Inf").is_err());
    assert!(parse_om_timestamp("99999999999999999999").is_err());
}

#[test]
fn content_types() {
    assert_eq!(
        format_from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Format::OpenMetrics
    );
    assert_eq!(
        format_from_content_type("text/plain; version=0.0.4"),
        Format::PrometheusText
    );
    assert_eq!(format_from_content_type(""), Format::PrometheusText);
}

#[test]
fn batch_groups_series_and_metadata() {
    let input = "# TYPE rq counter\n# HELP rq Requests.\n\
rq_total{code=\"200\"} 1 10 # {trace_id=\"t1\"} 1 10\n\
rq_total{code=\"200\"} 3 30\n\
rq_total{code=\"200\"} 2 20\n\
rq_created{code=\"200\"} 5 10\n\
up 1\n# EOF\n";
    let opts = BatchOptions {
        default_timestamp_ms: 99_000,
        extra_labels: Labels::from_pairs([("job", "import"), ("code", "ignored")]),
    };
    let b = parse_to_batch(input.as_bytes(), Format::OpenMetrics, &opts).unwrap();
    assert_eq!(b.series.len(), 2);
    let rq = &b.series[0];
    assert_eq!(rq.labels.get("code"), Some("200"));
    assert_eq!(rq.labels.get("job"), Some("import"));
    let ts: Vec<i64> = rq.samples.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![10_000, 20_000, 30_000]);
    assert_eq!(rq.exemplars[0].labels.get("trace_id"), Some("t1"));
    assert_eq!(b.series[1].samples[0].t, 99_000);
    assert_eq!(b.metadata.len(), 1);
    assert_eq!(b.metadata[0].metric_type, MetricType::Counter);
    assert_eq!(b.metadata[0].help, "Requests.");
}

fn label_value() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 _\\-\"\\\\\n\u{e9}\u{4e2d}]{0,12}").unwrap()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

type GenSample = (String, Vec<(String, String)>, f64, Option<i64>);

fn gen_sample() -> impl Strategy<Value = GenSample> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,10}",
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,6}", label_value(), 0..4),
        prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY)
        ],
        proptest::option::of(-1_000_000_000_000i64..4_000_000_000_000i64),
    )
        .prop_map(|(n, l, v, t)| {
            (
                n,
                l.into_iter().filter(|(k, _)| k != "__name__").collect(),
                v,
                t,
            )
        })
}

fn render(samples: &[GenSample], om: bool) -> String {
    let mut s = String::new();
    for (n, ls, v, t) in samples {
        s.push_str(n);
        if !ls.is_empty() {
            s.push('{');
            let parts: Vec<String> = ls
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            s.push_str(&parts.join(","));
            s.push('}');
        }
        let vs = if v.is_infinite() {
            if *v > 0.0 {
                "+Inf".to_string()
            } else {
                "-Inf".to_string()
            }
        } else {
            format!("{v:?}")
        };
        s.push(' ');
        s.push_str(&vs);
        if let Some(t) = t {
            if om {
                let sign = if *t < 0 { "-" } else { "" };
                s.push_str(&format!(" {sign}{}.{:03}", t.abs() / 1000, t.abs() % 1000));
            } else {
                s.push_str(&format!(" {t}"));
            }
        }
        s.push('\n');
    }
    if om {
        s.push_str("# EOF\n");
    }
    s
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        for f in [Format::PrometheusText, Format::OpenMetrics] {
            for e in Parser::new(&data, f) { let _ = e; }
            let _ = parse_to_batch(&data, f, &BatchOptions::default());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "[a-z{}=\",# \\\\\n\t.0-9+\u{e9}_-]{0,120}") {
        for f in [Format::PrometheusText, Format::OpenMetrics] {
            for e in Parser::new(s.as_bytes(), f) { let _ = e; }
        }
    }

    #[test]
    fn valid_expositions_round_trip(samples in proptest::collection::vec(gen_sample(), 0..8), om in any::<bool>()) {
        let text = render(&samples, om);
        let f = if om { Format::OpenMetrics } else { Format::PrometheusText };
        let got: Vec<Entry<'_>> = Parser::new(text.as_bytes(), f).collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e} in {text:?}")))?;
        let got: Vec<&Entry<'_>> = got.iter().filter(|e| !matches!(e, Entry::Eof)).collect();
        prop_assert_eq!(got.len(), samples.len());
        for (e, (n, ls, v, t)) in got.iter().zip(&samples) {
            match e {
                Entry::Sample { name, labels, timestamp_ms, value, exemplar } => {
                    prop_assert_eq!(name.as_ref(), n.as_str());
                    let want: Vec<(&str, &str)> = ls.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                    let have: Vec<(&str, &str)> = labels.iter().map(|(a, b)| (a.as_ref(), b.as_ref())).collect();
                    prop_assert_eq!(have, want);
                    prop_assert_eq!(value.to_bits(), v.to_bits());
                    prop_assert_eq!(timestamp_ms, t);
                    prop_assert!(exemplar.is_none());
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
