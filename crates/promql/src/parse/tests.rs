//! Syntax errors against the exact answers of Prometheus 2.42's `/api/v1/query`
//! (the `invalid parameter "query": ` prefix is the HTTP layer's and is left out).

use super::*;

/// (query, Prometheus' error). Collected by asking a real Prometheus 2.42.
const TABLE: &[(&str, &str)] = &[
    ("sum(rate(x[5m])", "1:16: parse error: unclosed left parenthesis"),
    ("sum(x", "1:6: parse error: unclosed left parenthesis"),
    ("x)", "1:3: parse error: unexpected right parenthesis ')'"),
    ("(", "1:2: parse error: unclosed left parenthesis"),
    (")", "1:2: parse error: unexpected right parenthesis ')'"),
    ("foo{", "1:5: parse error: unexpected end of input inside braces"),
    ("foo{a=\"b\"", "1:10: parse error: unexpected end of input inside braces"),
    ("foo{a=}", "1:7: parse error: unexpected \"}\" in label matching, expected string"),
    ("foo{a=\"b\"}[5m", "1:14: parse error: unclosed left bracket"),
    ("foo[5x]", "1:5: parse error: bad duration syntax: \"5\""),
    ("foo[]", "1:5: parse error: missing unit character in duration"),
    ("foo[5m:1m:1m]", "1:10: parse error: unexpected colon ':'"),
    ("rate(foo)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"),
    ("rate(foo[5m], 1)", "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2"),
    ("nosuchfn(foo)", "1:1: parse error: unknown function with name \"nosuchfn\""),
    ("sum by (a) foo", "1:12: parse error: unexpected identifier \"foo\" in aggregation"),
    ("sum(foo) by", "1:12: parse error: unexpected end of input in grouping opts, expected \"(\""),
    ("1 +", "1:4: parse error: unexpected end of input"),
    ("+", "1:2: parse error: unexpected end of input"),
    ("foo bar", "1:5: parse error: unexpected identifier \"bar\""),
    ("1 == bool", "1:10: parse error: unexpected end of input"),
    ("\"a\" + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"),
    ("foo offset", "1:11: parse error: unexpected end of input in offset, expected duration"),
    ("foo @", "1:6: parse error: unexpected end of input in @, expected timestamp"),
    ("foo @ bar", "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp"),
    ("foo[5m] offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"),
    ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ("{a=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ("foo and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"),
    ("1 and foo", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"),
    ("sum(foo) without (a) by (b)", "1:22: parse error: unexpected <by>"),
    ("topk(foo)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"),
    ("topk(1)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"),
    ("count_values(1, foo)", "1:14: parse error: expected type string in aggregation parameter, got scalar"),
    ("label_replace(foo, \"a\")", "1:1: parse error: expected 5 argument(s) in call to \"label_replace\", got 2"),
    ("foo{a=\"b\"}{c=\"d\"}", "1:11: parse error: unexpected \"{\""),
    ("'unterminated", "1:1: parse error: unterminated quoted string"),
    ("\"unterminated", "1:1: parse error: unterminated quoted string"),
    ("`unterminated", "1:1: parse error: unterminated raw string"),
    ("1e", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax"),
    ("foo[5m]]", "1:8: parse error: unexpected right bracket ']'"),
    ("foo[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"),
    ("sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector"),
    ("abs(foo[5m])", "1:5: parse error: expected type instant vector in call to function \"abs\", got range vector"),
    ("-\"a\"", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\""),
    ("foo unless on(a) group_left bar", "1:1: parse error: no grouping allowed for \"unless\" operation"),
    ("foo * on(a) group_left(b) group_right bar", "1:27: parse error: unexpected <group_right>"),
    ("", "1:1: parse error: no expression found in input"),
    ("sum(\n  rate(x[5m]", "2:13: parse error: unclosed left parenthesis"),
    ("foo +\n  bar[5m]", "2:3: parse error: binary expression must contain only scalar and instant vector types"),
    ("rate(foo[5m],)", "1:13: parse error: trailing commas not allowed in function call args"),
    ("sum(x) by (1)", "1:12: parse error: unexpected number \"1\" in grouping opts, expected label"),
    ("foo{a=\"b\" c=\"d\"}", "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\""),
    ("foo{a!b}", "1:6: parse error: unexpected character after '!' inside braces: 'b'"),
    ("foo{a}", "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator"),
    ("foo[5m:1m", "1:10: parse error: unclosed left bracket"),
    ("foo[5m 1m]", "1:8: parse error: unexpected duration \"1m\" in subquery or range, expected \":\" or \"]\""),
    ("foo offset -", "1:13: parse error: unexpected end of input in offset, expected duration"),
    ("a # comment\n + )", "2:5: parse error: unexpected right parenthesis ')'"),
    ("(foo)[5m]", "1:6: parse error: ranges only allowed for vector selectors"),
    ("foo = 1", "1:5: parse error: unexpected \"=\""),
    ("foo @ start", "1:12: parse error: unexpected end of input in @, expected timestamp"),
    ("rate(\n  foo\n)", "2:3: parse error: expected type range vector in call to function \"rate\", got instant vector"),
    ("foo ! bar", "1:5: parse error: unexpected character after '!': ' '"),
    ("foo{a=\"\\q\"}", "1:7: parse error: unknown escape sequence U+0071 'q'"),
    ("3 + \"x\"", "1:5: parse error: binary expression must contain only scalar and instant vector types"),
    ("sum(rate(foo[5m])) by (job", "1:27: parse error: unclosed left parenthesis"),
    ("label_join(foo, \"a\", \",\", \"b\",)", "1:30: parse error: trailing commas not allowed in function call args"),
    ("foo[1h:5m:]", "1:10: parse error: unexpected colon ':'"),
    ("histogram_quantile(0.9, foo)) ", "1:30: parse error: unexpected right parenthesis ')'"),
    ("1 +\n-\n", "3:1: parse error: unexpected end of input"),
];

// Known differences, left out of the table on purpose:
// - `foo{a=~"("}`: Prometheus prints Go's regexp error text, which has no
//   equivalent in Rust's regex crate; the position (1:5) is still right.
// - `foo{"a"}`: Prometheus 2.42 rejects the quoted name; 3.x (which we follow)
//   reads it as a second metric name.
// - `0x`: we report the same text as Prometheus but at a different offset only
//   if the lexer split differs; kept out until checked against 3.x.

#[test]
fn syntax_errors_match_prometheus() {
    let mut bad = Vec::new();
    for (q, want) in TABLE {
        match parse(q) {
            Ok(_) => bad.push(format!("{q:?}: parsed, want {want}")),
            Err(e) => {
                let got = e.to_string();
                if got != *want {
                    bad.push(format!("{q:?}:\n   got  {got}\n   want {want}"));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn regex_errors_point_at_the_matcher() {
    let e = parse("foo{a=~\"(\"}").err().unwrap().to_string();
    assert!(e.starts_with("1:5: parse error: "), "{e}");
}

#[test]
fn line_col_is_byte_based_per_line() {
    assert_eq!(line_col("abc", 0), "1:1");
    assert_eq!(line_col("abc", 3), "1:4");
    assert_eq!(line_col("a\nbc", 3), "2:2");
    assert_eq!(line_col("a\n", 2), "2:1");
}

#[test]
fn invalid_utf8_literals_are_found() {
    let p = parse(r#"label_replace(x, "\xff", "", "src", "(.*)")"#).unwrap();
    assert_eq!(p.invalid_utf8, vec!["\u{ff}".to_string()]);
    // Two bytes forming valid UTF-8 in Go are fine.
    let p = parse(r#"label_replace(x, "\xc3\xbf", "", "src", "(.*)")"#).unwrap();
    assert!(p.invalid_utf8.is_empty());
}

#[test]
fn selectors_of_a_query_in_order() {
    let s =
        query_selectors(r#"sum(rate(a{x="1"}[5m])) / on() b + max_over_time(c[5m:1m] offset 1m)"#)
            .unwrap();
    let names: Vec<&str> = s
        .iter()
        .map(|ms| {
            ms.iter()
                .find(|m| m.name == "__name__")
                .map(|m| m.value.as_str())
                .unwrap_or("")
        })
        .collect();
    assert_eq!(names, vec!["a", "b", "c"]);
    assert_eq!(s[0].len(), 2);
    assert!(query_selectors("sum(").is_err());
}
