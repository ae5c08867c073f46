//! Contract tests: requests shaped exactly as Grafana's Prometheus datasource sends
//! them (its Go backend client: form POSTs for queries and label/series lookups,
//! GET for label values, metadata and buildinfo, `start`/`end` floored to a
//! multiple of the step, step and times as float seconds, `$__rate_interval`
//! expanded to Go duration text like `1m0s`, Grafana's headers), sent to Sightline
//! and to the real Prometheus loaded with the same data. The JSON answers must be
//! identical in structure and values, except fields that legitimately differ
//! (build version strings) and orderings Prometheus does not guarantee.

mod common;
mod promql_diff;

use common::encode;
use promql_diff::compare::{diff, parse_answer};
use promql_diff::dataset::G;
use promql_diff::servers::{
    get, post_form, response_headers, serve_exposition, start_pair, start_pair_scraping, Pair,
    Reply, OPENMETRICS_FORMAT, TEXT_FORMAT,
};
use serde_json::Value;

/// Headers Grafana's backend adds to datasource requests.
const GRAFANA_HEADERS: &[(&str, &str)] = &[
    ("User-Agent", "Grafana/11.3.0"),
    ("X-Grafana-Org-Id", "1"),
    ("X-Dashboard-Uid", "sightline-contract"),
    ("X-Panel-Id", "2"),
    ("Accept", "application/json, text/plain, */*"),
];

/// Grafana's `AlignTimeRange`: floors a time (seconds) to a multiple of the step.
fn align(t: f64, step: f64) -> f64 {
    (t / step).floor() * step
}

/// Grafana's `formatTime`: float seconds with no trailing zeros.
fn fmt_time(t: f64) -> String {
    let s = format!("{t:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Both replies, both must be transport successes.
fn both(pair: &Pair, f: impl Fn(&str) -> Reply) -> ((u16, Value), (u16, Value)) {
    let parse = |who: &str, r: Reply| -> (u16, Value) {
        let (code, body) = r.unwrap_or_else(|e| panic!("{who}: {e}"));
        let v = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{who}: HTTP {code}, not JSON ({e}): {body}"));
        (code, v)
    };
    (
        parse("prometheus", f(&pair.prom_addr)),
        parse("sightline", f(pair.sightline_addr())),
    )
}

/// Differences between two JSON documents, with their paths; `unordered` paths hold
/// arrays compared as multisets.
fn json_diff(want: &Value, got: &Value, path: &str, unordered: &[&str], out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            if ka != kb {
                out.push(format!("{path}: keys {ka:?} vs {kb:?}"));
            }
            for (k, va) in a {
                if let Some(vb) = b.get(k) {
                    json_diff(va, vb, &format!("{path}.{k}"), unordered, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{path}: {} vs {} elements", a.len(), b.len()));
                return;
            }
            let (mut a, mut b) = (a.clone(), b.clone());
            if unordered.contains(&path) {
                a.sort_by_key(|v| v.to_string());
                b.sort_by_key(|v| v.to_string());
            }
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                json_diff(x, y, &format!("{path}[{i}]"), unordered, out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

fn assert_same_json(what: &str, want: &(u16, Value), got: &(u16, Value), unordered: &[&str]) {
    assert_eq!(
        want.0, got.0,
        "{what}: HTTP status\nprometheus: {}\nsightline: {}",
        want.1, got.1
    );
    let mut out = Vec::new();
    json_diff(&want.1, &got.1, "$", unordered, &mut out);
    assert!(
        out.is_empty(),
        "{what}: answers differ:\n  {}\nprometheus: {:.2000}\nsightline:  {:.2000}",
        out.join("\n  "),
        want.1.to_string(),
        got.1.to_string()
    );
}

/// A dashboard time range (ms precision, as the browser sends it) and panel step.
struct Panel {
    from: f64,
    to: f64,
    step: f64,
}

const PANELS: &[Panel] = &[
    Panel {
        from: G as f64 + 1234.567,
        to: G as f64 + 8765.432,
        step: 15.0,
    },
    Panel {
        from: G as f64 + 3000.001,
        to: G as f64 + 6599.999,
        step: 30.0,
    },
    Panel {
        from: G as f64 + 9000.5,
        to: G as f64 + 11_900.25,
        step: 60.0,
    },
    Panel {
        from: G as f64 - 600.0,
        to: G as f64 + 12_000.0,
        step: 120.0,
    },
];

/// Panel expressions as Grafana has them after its variable interpolation
/// (`$__rate_interval` → `1m0s`, `$__interval` → `30s`).
const EXPRS: &[&str] = &[
    "sum by (job) (rate(diff_http_requests_total[1m0s]))",
    "rate(diff_http_requests_total{code=\"500\"}[5m0s])",
    "histogram_quantile(0.95, sum by (le) (rate(diff_request_duration_seconds_bucket[1m0s])))",
    "avg_over_time(diff_temperature_celsius[30s])",
    "diff_gappy_gauge",
    "topk(3, sum by (instance, code) (increase(diff_http_requests_total[1h0m0s])))",
    "1+1",
];

#[test]
fn query_range_as_grafana_sends_it() {
    let Some(pair) = start_pair() else {
        return;
    };
    let mut non_empty = 0;
    for p in PANELS {
        let start = fmt_time(align(p.from, p.step));
        let end = fmt_time(align(p.to, p.step));
        let step = fmt_time(p.step);
        for expr in EXPRS {
            // With a query timeout configured on the datasource, Grafana adds it.
            let form = [
                ("query", *expr),
                ("start", start.as_str()),
                ("end", end.as_str()),
                ("step", step.as_str()),
                ("timeout", "30s"),
            ];
            // Datasource HTTP method POST (the default), then GET.
            let (w, g) = both(&pair, |addr| {
                post_form(addr, "/api/v1/query_range", &form, GRAFANA_HEADERS)
            });
            let path = format!(
                "/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
                encode(expr)
            );
            let (wg, gg) = both(&pair, |addr| get(addr, &path, GRAFANA_HEADERS));
            assert_same_json(&format!("GET {path} vs POST"), &w, &wg, &[]);
            assert_same_json(&format!("Sightline GET {path} vs POST"), &g, &gg, &[]);
            if w.1["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                non_empty += 1;
            }
            let what = format!("POST query_range {form:?}");
            // Values are compared numerically (1e-9 relative), the rest exactly.
            let wa = parse_answer(w.0, &w.1.to_string()).unwrap();
            let ga = parse_answer(g.0, &g.1.to_string()).unwrap();
            if let Some(d) = diff(&wa, &ga, false) {
                panic!(
                    "{what}: {d}\nprometheus: {:.1500}\nsightline: {:.1500}",
                    w.1.to_string(),
                    g.1.to_string()
                );
            }
            assert_envelope_shape(&what, &w.1, &g.1);
        }
    }
    assert!(
        non_empty >= PANELS.len() * EXPRS.len() - 2,
        "only {non_empty} non-empty results: vacuous"
    );
}

/// The envelope and `data` carry the same keys, and every series the same keys.
fn assert_envelope_shape(what: &str, want: &Value, got: &Value) {
    let keys = |v: &Value| {
        v.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(
        keys(want),
        keys(got),
        "{what}: envelope keys\nprometheus: {want:.500}\nsightline: {got:.500}"
    );
    assert_eq!(keys(&want["data"]), keys(&got["data"]), "{what}: data keys");
    if let (Some(a), Some(b)) = (
        want["data"]["result"].as_array(),
        got["data"]["result"].as_array(),
    ) {
        for (x, y) in a.iter().zip(b) {
            assert_eq!(keys(x), keys(y), "{what}: series keys");
        }
    }
}

#[test]
fn instant_queries_and_health_check_as_grafana_sends_them() {
    let Some(pair) = start_pair() else {
        return;
    };
    for p in PANELS {
        // Instant queries use the panel's end time as is (not aligned).
        let time = fmt_time(p.to);
        for expr in EXPRS {
            let form = [("query", *expr), ("time", time.as_str())];
            let (w, g) = both(&pair, |addr| {
                post_form(addr, "/api/v1/query", &form, GRAFANA_HEADERS)
            });
            let what = format!("POST query {form:?}");
            let wa = parse_answer(w.0, &w.1.to_string()).unwrap();
            let ga = parse_answer(g.0, &g.1.to_string()).unwrap();
            if let Some(d) = diff(&wa, &ga, false) {
                panic!(
                    "{what}: {d}\nprometheus: {:.1500}\nsightline: {:.1500}",
                    w.1.to_string(),
                    g.1.to_string()
                );
            }
            assert_envelope_shape(&what, &w.1, &g.1);
        }
    }
    // Grafana parses by Content-Type; success and error answers carry the same one.
    for path in [
        format!(
            "/api/v1/query?query={}&time={}",
            encode("sum(diff_queue_depth)"),
            G + 4000
        ),
        format!("/api/v1/query?query={}", encode("sum(")),
        format!("/api/v1/labels?start={}&end={}", G, G + 4000),
    ] {
        let w = response_headers(&pair.prom_addr, &path).unwrap();
        let g = response_headers(pair.sightline_addr(), &path).unwrap();
        assert_eq!(w, g, "status and Content-Type of {path}");
    }
    // The datasource's "Save & test": an instant `1+1` by GET, then buildinfo.
    let path = format!(
        "/api/v1/query?query={}&time={}",
        encode("1+1"),
        fmt_time(G as f64 + 4000.0)
    );
    let (w, g) = both(&pair, |addr| get(addr, &path, GRAFANA_HEADERS));
    assert_same_json("health check query", &w, &g, &[]);
}

#[test]
fn label_and_series_lookups_as_grafana_sends_them() {
    let Some(pair) = start_pair() else {
        return;
    };
    let start = (G + 1200).to_string();
    let end = (G + 9000).to_string();
    let (s, e) = (start.as_str(), end.as_str());

    // Label names: form POST (datasource method POST) and GET (method GET).
    let (w, g) = both(&pair, |addr| {
        post_form(
            addr,
            "/api/v1/labels",
            &[("start", s), ("end", e)],
            GRAFANA_HEADERS,
        )
    });
    assert_same_json("POST labels", &w, &g, &[]);
    let names = w.1["data"].to_string();
    assert!(
        names.contains("\"zone\"") && names.contains("\"le\""),
        "vacuous: {names}"
    );
    let (w, g) = both(&pair, |addr| {
        get(
            addr,
            &format!("/api/v1/labels?start={s}&end={e}"),
            GRAFANA_HEADERS,
        )
    });
    assert_same_json("GET labels", &w, &g, &[]);
    let m = encode("{__name__=\"diff_request_duration_seconds_bucket\"}");
    let (w, g) = both(&pair, |addr| {
        get(
            addr,
            &format!("/api/v1/labels?match[]={m}&start={s}&end={e}"),
            GRAFANA_HEADERS,
        )
    });
    assert_same_json("GET labels with match[]", &w, &g, &[]);

    // Metric names for the metric picker, and label values for a chosen metric.
    let (w, g) = both(&pair, |addr| {
        get(
            addr,
            &format!("/api/v1/label/__name__/values?start={s}&end={e}"),
            GRAFANA_HEADERS,
        )
    });
    assert_same_json("GET label/__name__/values", &w, &g, &[]);
    assert!(
        w.1["data"].to_string().contains("diff_gappy_gauge"),
        "vacuous: {}",
        w.1
    );
    for (label, matcher) in [
        ("job", "diff_http_requests_total"),
        ("le", "diff_request_duration_seconds_bucket{job=\"api\"}"),
        ("path", "diff_build_info"),
        ("instance", "{__name__=~\"diff_.*\"}"),
    ] {
        let q = format!(
            "/api/v1/label/{label}/values?match[]={}&start={s}&end={e}",
            encode(matcher)
        );
        let (w, g) = both(&pair, |addr| get(addr, &q, GRAFANA_HEADERS));
        assert_same_json(&format!("GET {q}"), &w, &g, &[]);
    }

    // Series for a selector (label browser, variable queries); Prometheus does not
    // promise an order, so series are compared as a set.
    for sel in [
        "{__name__=\"diff_http_requests_total\"}",
        "diff_gappy_gauge{instance=\"vanishes\"}",
        "diff_request_duration_seconds_count",
    ] {
        let form = [("match[]", sel), ("start", s), ("end", e)];
        let (w, g) = both(&pair, |addr| {
            post_form(addr, "/api/v1/series", &form, GRAFANA_HEADERS)
        });
        assert_same_json(&format!("POST series {sel}"), &w, &g, &["$.data"]);
        assert!(
            w.1["data"].as_array().is_some_and(|a| !a.is_empty()),
            "vacuous: {}",
            w.1
        );
        let q = format!("/api/v1/series?match[]={}&start={s}&end={e}", encode(sel));
        let (w, g) = both(&pair, |addr| get(addr, &q, GRAFANA_HEADERS));
        assert_same_json(&format!("GET {q}"), &w, &g, &["$.data"]);
    }
    // Several match[] at once (the label browser with several metrics selected),
    // overlapping so the union must not repeat a series.
    let form = [
        ("match[]", "diff_queue_depth"),
        ("match[]", "{__name__=~\"diff_queue.*|diff_build_info\"}"),
        ("match[]", "diff_extreme{kind=~\"tiny|huge\"}"),
        ("start", s),
        ("end", e),
    ];
    let (w, g) = both(&pair, |addr| {
        post_form(addr, "/api/v1/series", &form, GRAFANA_HEADERS)
    });
    assert_same_json("POST series with three match[]", &w, &g, &["$.data"]);
    assert_eq!(w.1["data"].as_array().map(|a| a.len()), Some(7), "{}", w.1);
    // A window with no data at all, and a selector matching nothing.
    let (w, g) = both(&pair, |addr| {
        get(
            addr,
            "/api/v1/series?match[]=diff_queue_depth&start=1600000000&end=1600003600",
            GRAFANA_HEADERS,
        )
    });
    assert_same_json("GET series outside the data", &w, &g, &[]);
    let (w, g) = both(&pair, |addr| {
        get(
            addr,
            &format!("/api/v1/label/job/values?match[]=nonexistent&start={s}&end={e}"),
            GRAFANA_HEADERS,
        )
    });
    assert_same_json("GET label values for nothing", &w, &g, &[]);
}

/// What the exporter both servers scrape serves: every metric type with HELP text
/// needing escapes, so both learn the same metadata.
const EXPOSITION: &str = "# HELP exp_requests_total Requests \\\\ served\\n(all).\n# TYPE exp_requests_total counter\nexp_requests_total{code=\"200\"} 10\n\
# HELP exp_temperature Current temperature.\n# TYPE exp_temperature gauge\nexp_temperature 21.5\n\
# HELP exp_latency_seconds Latency.\n# TYPE exp_latency_seconds histogram\nexp_latency_seconds_bucket{le=\"0.1\"} 1\nexp_latency_seconds_bucket{le=\"+Inf\"} 2\nexp_latency_seconds_sum 0.3\nexp_latency_seconds_count 2\n\
# HELP exp_rpc_seconds RPC time.\n# TYPE exp_rpc_seconds summary\nexp_rpc_seconds{quantile=\"0.5\"} 0.2\nexp_rpc_seconds_sum 1\nexp_rpc_seconds_count 4\n\
# TYPE exp_untyped untyped\nexp_untyped 1\n\
exp_no_metadata 3\n";

/// An OpenMetrics exporter whose counter and buckets carry exemplars with their own
/// timestamps (so both servers store identical exemplars whenever they scrape).
const EXEMPLARS: &str = "# TYPE exo_requests counter\n# HELP exo_requests Requests with traces.\n\
exo_requests_total{path=\"/a\"} 17 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 1 1700004000.5\n\
exo_requests_total{path=\"/b\"} 3 # {trace_id=\"00f067aa0ba902b7\",span_id=\"b7ad6b7169203331\"} 2.5 1700005000\n\
# TYPE exo_latency_seconds histogram\n# HELP exo_latency_seconds Latency with traces.\n\
exo_latency_seconds_bucket{le=\"0.1\"} 4 # {trace_id=\"a1\"} 0.05 1700004500.25\n\
exo_latency_seconds_bucket{le=\"1\"} 6 # {trace_id=\"a2\"} 0.7 1700006000\n\
exo_latency_seconds_bucket{le=\"+Inf\"} 7 # {trace_id=\"a3\"} 4 1700007000\n\
exo_latency_seconds_sum 6.2\nexo_latency_seconds_count 7\n# EOF\n";

#[test]
fn metadata_buildinfo_and_exemplars_as_grafana_asks() {
    let targets = [
        serve_exposition(EXPOSITION, TEXT_FORMAT),
        serve_exposition(EXEMPLARS, OPENMETRICS_FORMAT),
    ];
    let Some(pair) = start_pair_scraping(&targets) else {
        return;
    };
    // Both must have scraped the exporter (Prometheus keeps metadata per target).
    let has_meta = |addr: &str| {
        ["exp_rpc_seconds", "exo_latency_seconds"].iter().all(|m| {
            get(addr, &format!("/api/v1/metadata?metric={m}"), &[])
                .map(|(_, b)| b.contains("\"type\""))
                .unwrap_or(false)
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !(has_meta(&pair.prom_addr) && has_meta(pair.sightline_addr())) {
        assert!(
            std::time::Instant::now() < deadline,
            "no metadata after 30 s of scraping\nprometheus targets: {:?}\nsightline targets: {:?}",
            get(&pair.prom_addr, "/api/v1/targets", &[]),
            get(pair.sightline_addr(), "/api/v1/targets", &[]),
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Metadata (metric type/help tooltips, the metrics browser).
    for q in [
        "/api/v1/metadata",
        "/api/v1/metadata?metric=exp_requests_total",
        "/api/v1/metadata?metric=diff_temperature_celsius",
        "/api/v1/metadata?limit_per_metric=1",
    ] {
        let (w, g) = both(&pair, |addr| get(addr, q, GRAFANA_HEADERS));
        assert_same_json(&format!("GET {q}"), &w, &g, &[]);
    }
    let (full, _) = both(&pair, |addr| get(addr, "/api/v1/metadata", GRAFANA_HEADERS));
    assert!(
        full.1["data"]["exp_latency_seconds"].is_array(),
        "the comparison must not be vacuous: {}",
        full.1
    );
    // With `limit`, Prometheus returns any `limit` metrics (Go map order): compare
    // the count, and each returned entry against the full answer.
    let (w, g) = both(&pair, |addr| {
        get(addr, "/api/v1/metadata?limit=2", GRAFANA_HEADERS)
    });
    for (who, v) in [("prometheus", &w.1), ("sightline", &g.1)] {
        let data = v["data"]
            .as_object()
            .unwrap_or_else(|| panic!("{who}: {v}"));
        assert_eq!(data.len(), 2, "{who} limit=2: {v}");
        for (name, entries) in data {
            assert_eq!(entries, &full.1["data"][name], "{who} limit=2 entry {name}");
        }
    }
    // buildinfo: Grafana reads `data.version` to pick features; the same keys must
    // be there as strings, the values legitimately differ.
    let (w, g) = both(&pair, |addr| {
        get(addr, "/api/v1/status/buildinfo", GRAFANA_HEADERS)
    });
    assert_eq!((w.0, g.0), (200, 200));
    assert_eq!(w.1["status"], g.1["status"]);
    let keys =
        |v: &Value| -> Vec<String> { v["data"].as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&w.1), keys(&g.1), "buildinfo keys: {} vs {}", w.1, g.1);
    for k in keys(&g.1) {
        assert!(
            g.1["data"][&k].is_string(),
            "buildinfo {k} is not a string: {}",
            g.1
        );
    }

    // Exemplars for a panel's queries and range, as Grafana's exemplar toggle asks.
    let (start, end) = (fmt_time(G as f64 + 1200.0), fmt_time(G as f64 + 9000.0));
    let mut seen = 0;
    for query in [
        "rate(exo_requests_total[1m0s])",
        "histogram_quantile(0.9, sum by (le) (rate(exo_latency_seconds_bucket[1m0s])))",
        "exo_requests_total{path=\"/b\"} + exo_latency_seconds_count",
        "diff_temperature_celsius",
    ] {
        let form = [
            ("query", query),
            ("start", start.as_str()),
            ("end", end.as_str()),
        ];
        let (w, g) = both(&pair, |addr| {
            post_form(addr, "/api/v1/query_exemplars", &form, GRAFANA_HEADERS)
        });
        assert_same_json(
            &format!("POST query_exemplars {query}"),
            &w,
            &g,
            &["$.data"],
        );
        seen += w.1["data"].as_array().map_or(0, |a| a.len());
    }
    assert!(
        seen >= 5,
        "the exemplar comparison must not be vacuous ({seen} series)"
    );
}
