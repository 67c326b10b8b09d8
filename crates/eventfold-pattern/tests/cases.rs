//! Every documented behaviour as a table: patterns with events that must and must not match,
//! and invalid patterns with the path and message their error must carry.

use eventfold_pattern::{limits, Pattern, PatternErrorKind};
use serde_json::{json, Value};

/// A pattern, events it matches and events it does not (both JSON arrays).
struct Case {
    name: &'static str,
    pattern: Value,
    matching: Value,
    not_matching: Value,
}

fn case(name: &'static str, pattern: Value, matching: Value, not_matching: Value) -> Case {
    Case {
        name,
        pattern,
        matching,
        not_matching,
    }
}

fn check(cases: Vec<Case>) {
    for case in cases {
        let pattern =
            Pattern::parse(&case.pattern).unwrap_or_else(|error| panic!("{}: {error}", case.name));
        for event in case.matching.as_array().expect("an array of events") {
            assert!(
                pattern.matches(event),
                "{}: should match {event}",
                case.name
            );
        }
        for event in case.not_matching.as_array().expect("an array of events") {
            assert!(
                !pattern.matches(event),
                "{}: should not match {event}",
                case.name
            );
        }
    }
}

#[test]
fn literal_values() {
    check(vec![
        case(
            "exact string",
            json!({"source": ["billing"]}),
            json!([{"source": "billing"}, {"source": "billing", "other": 1}]),
            json!([{"source": "Billing"}, {"source": "billing2"}, {"source": 1}, {}, {"other": "billing"}]),
        ),
        case(
            "any of several strings",
            json!({"source": ["a", "b", "c"]}),
            json!([{"source": "a"}, {"source": "c"}]),
            json!([{"source": "d"}, {"source": ["d", "e"]}]),
        ),
        case(
            "many strings (binary searched)",
            json!({"n": (0..50).map(|n| format!("s{n}")).collect::<Vec<_>>()}),
            json!([{"n": "s0"}, {"n": "s49"}, {"n": "s25"}]),
            json!([{"n": "s50"}, {"n": "s"}]),
        ),
        case(
            "numbers compare numerically",
            json!({"n": [5]}),
            json!([{"n": 5}, {"n": 5.0}, {"n": 5e0}]),
            json!([{"n": "5"}, {"n": 5.000001}, {"n": -5}]),
        ),
        case(
            "float literal",
            json!({"n": [0.5, -3]}),
            json!([{"n": 0.5}, {"n": -3.0}]),
            json!([{"n": 1}]),
        ),
        case(
            "booleans",
            json!({"ok": [true]}),
            json!([{"ok": true}]),
            json!([{"ok": false}, {"ok": "true"}, {"ok": 1}]),
        ),
        case(
            "false",
            json!({"ok": [false]}),
            json!([{"ok": false}]),
            json!([{"ok": true}, {"ok": null}, {}]),
        ),
        case(
            "null matches null only",
            json!({"x": [null]}),
            json!([{"x": null}]),
            json!([{}, {"x": "null"}, {"x": 0}, {"x": false}]),
        ),
        case(
            "mixed types in one list",
            json!({"x": ["a", 1, true, null]}),
            json!([{"x": "a"}, {"x": 1}, {"x": true}, {"x": null}]),
            json!([{"x": "b"}, {"x": 2}, {"x": false}, {"x": {}}]),
        ),
        case(
            "all fields must match",
            json!({"a": ["1"], "b": ["2"]}),
            json!([{"a": "1", "b": "2"}]),
            json!([{"a": "1"}, {"b": "2"}, {"a": "1", "b": "3"}]),
        ),
    ]);
}

#[test]
fn nested_fields() {
    check(vec![
        case(
            "nested object",
            json!({"data": {"currency": ["EUR"]}}),
            json!([{"data": {"currency": "EUR", "amount": 1}}]),
            json!([{"data": {"currency": "USD"}}, {"data": "EUR"}, {"currency": "EUR"}, {}]),
        ),
        case(
            "three levels",
            json!({"a": {"b": {"c": [1]}}}),
            json!([{"a": {"b": {"c": 1}}}]),
            json!([{"a": {"b": {"c": 2}}}, {"a": {"b": 1}}, {"a": {"c": 1}}]),
        ),
        case(
            "a key with a dot is one key",
            json!({"a.b": ["x"]}),
            json!([{"a.b": "x"}]),
            json!([{"a": {"b": "x"}}]),
        ),
        case(
            "the empty pattern matches everything",
            json!({}),
            json!([{}, {"a": 1}, "not an object", [1, 2], null]),
            json!([]),
        ),
        case(
            "an event that is not an object has no fields",
            json!({"a": ["x"]}),
            json!([]),
            json!(["x", ["x"], null, 1]),
        ),
    ]);
}

#[test]
fn arrays_in_events() {
    check(vec![
        case(
            "any element of an array",
            json!({"tags": ["red"]}),
            json!([{"tags": ["blue", "red"]}, {"tags": "red"}, {"tags": [["red"]]}]),
            json!([{"tags": ["blue"]}, {"tags": []}, {"tags": [{"red": 1}]}]),
        ),
        case(
            "operators apply to each element",
            json!({"n": [{"numeric": [">", 10]}]}),
            json!([{"n": [1, 2, 30]}]),
            json!([{"n": [1, 2, 3]}, {"n": ["30"]}]),
        ),
        case(
            "a nested pattern matches any object in an array",
            json!({"items": {"sku": ["a"]}}),
            json!([{"items": [{"sku": "b"}, {"sku": "a"}]}, {"items": {"sku": "a"}}, {"items": [[{"sku": "a"}]]}]),
            json!([{"items": [{"sku": "b"}]}, {"items": []}, {"items": ["a"]}]),
        ),
        case(
            "one element must satisfy every field of a nested pattern",
            json!({"employees": {"first": ["Anna"], "last": ["Smith"]}}),
            json!([{"employees": [{"first": "John", "last": "Doe"}, {"first": "Anna", "last": "Smith"}]}]),
            json!([{"employees": [{"first": "Anna", "last": "Jones"}, {"first": "Peter", "last": "Smith"}]}]),
        ),
    ]);
}

#[test]
fn prefix_suffix_and_case() {
    check(vec![
        case(
            "prefix",
            json!({"t": [{"prefix": "Order"}]}),
            json!([{"t": "OrderPlaced"}, {"t": "Order"}, {"t": ["x", "OrderX"]}]),
            json!([{"t": "order"}, {"t": "Orde"}, {"t": "MyOrder"}, {"t": 1}, {}]),
        ),
        case(
            "empty prefix matches every string",
            json!({"t": [{"prefix": ""}]}),
            json!([{"t": ""}, {"t": "x"}]),
            json!([{"t": 1}, {"t": null}, {}]),
        ),
        case(
            "prefix ignoring case",
            json!({"t": [{"prefix": {"equals-ignore-case": "ORDER"}}]}),
            json!([{"t": "orderPlaced"}, {"t": "ORDER"}, {"t": "OrDeR-1"}]),
            json!([{"t": "ord"}, {"t": "myorder"}]),
        ),
        case(
            "suffix",
            json!({"f": [{"suffix": ".png"}]}),
            json!([{"f": "cat.png"}, {"f": ".png"}]),
            json!([{"f": "cat.PNG"}, {"f": "png"}, {"f": "cat.png.gz"}]),
        ),
        case(
            "suffix ignoring case",
            json!({"f": [{"suffix": {"equals-ignore-case": ".PNG"}}]}),
            json!([{"f": "cat.png"}, {"f": "CAT.Png"}]),
            json!([{"f": "cat.jpg"}, {"f": "png"}]),
        ),
        case(
            "equals-ignore-case",
            json!({"s": [{"equals-ignore-case": "Paid"}]}),
            json!([{"s": "paid"}, {"s": "PAID"}, {"s": "pAiD"}]),
            json!([{"s": "paid "}, {"s": "unpaid"}, {"s": 1}]),
        ),
        case(
            "equals-ignore-case beyond ASCII",
            json!({"s": [{"equals-ignore-case": "ÉTÉ"}]}),
            json!([{"s": "été"}, {"s": "Été"}]),
            json!([{"s": "ete"}]),
        ),
    ]);
}

#[test]
fn full_case_folding() {
    check(vec![
        case(
            "ß folds to ss",
            json!({"s": [{"equals-ignore-case": "straße"}]}),
            json!([{"s": "STRASSE"}, {"s": "strasse"}, {"s": "Straße"}, {"s": "STRAẞE"}, {"s": "StrasSe"}]),
            json!([{"s": "strase"}, {"s": "straßen"}, {"s": "strass"}, {"s": "strasses"}]),
        ),
        case(
            "SS matches ß",
            json!({"s": [{"equals-ignore-case": "MASS"}]}),
            json!([{"s": "Maß"}, {"s": "mass"}, {"s": "MAẞ"}]),
            json!([{"s": "Mas"}, {"s": "Maßs"}]),
        ),
        case(
            "the fi ligature folds to fi",
            json!({"s": [{"equals-ignore-case": "ﬁle"}]}),
            json!([{"s": "FILE"}, {"s": "file"}, {"s": "ﬁLE"}, {"s": "FiLe"}]),
            json!([{"s": "fle"}, {"s": "ﬁ"}, {"s": "filer"}]),
        ),
        case(
            "Greek iota with dialytika and tonos folds to three code points",
            json!({"s": [{"equals-ignore-case": "\u{390}"}]}),
            json!([{"s": "\u{3b9}\u{308}\u{301}"}, {"s": "\u{390}"}, {"s": "\u{1fd3}"}, {"s": "\u{399}\u{308}\u{301}"}]),
            json!([{"s": "\u{3b9}"}, {"s": "\u{3ca}"}, {"s": "\u{3b9}\u{308}"}]),
        ),
        case(
            "final sigma and the Kelvin sign",
            json!({"s": [{"equals-ignore-case": "ΟΔΟΣ"}], "u": [{"equals-ignore-case": "k"}]}),
            json!([{"s": "οδος", "u": "K"}, {"s": "οδοσ", "u": "\u{212a}"}]),
            json!([{"s": "οδο", "u": "k"}, {"s": "οδος", "u": "x"}]),
        ),
        case(
            "no normalization: precomposed and combining forms differ",
            json!({"s": [{"equals-ignore-case": "É"}]}),
            json!([{"s": "é"}, {"s": "É"}]),
            json!([{"s": "e\u{301}"}, {"s": "E\u{301}"}]),
        ),
        case(
            "prefix ignoring case compares the start of the folded strings",
            json!({"s": [{"prefix": {"equals-ignore-case": "STRASS"}}]}),
            json!([{"s": "straße"}, {"s": "Strassen"}, {"s": "STRAẞE"}]),
            json!([{"s": "strab"}, {"s": "stras"}]),
        ),
        case(
            "a folded prefix may end inside a character's fold",
            json!({"s": [{"prefix": {"equals-ignore-case": "F"}}]}),
            json!([{"s": "ﬁne"}, {"s": "fun"}]),
            json!([{"s": "ine"}]),
        ),
        case(
            "suffix ignoring case compares the end of the folded strings",
            json!({"s": [{"suffix": {"equals-ignore-case": "SS"}}], "g": [{"suffix": {"equals-ignore-case": "\u{301}"}}]}),
            json!([{"s": "Maß", "g": "x\u{390}"}, {"s": "MASS", "g": "\u{1fd3}"}]),
            json!([{"s": "mas", "g": "\u{390}"}, {"s": "maß", "g": "\u{3b9}"}]),
        ),
        case(
            "anything-but equals-ignore-case folds too",
            json!({"s": [{"anything-but": {"equals-ignore-case": ["STRASSE", "ﬁ"]}}]}),
            json!([{"s": "strase"}, {"s": "f"}, {"s": "fix"}]),
            json!([{"s": "straße"}, {"s": "FI"}, {"s": "fi"}, {"s": "ﬁ"}]),
        ),
    ]);
}

#[test]
fn wildcards() {
    check(vec![
        case(
            "stars in the middle",
            json!({"k": [{"wildcard": "img/*/thumb-*.png"}]}),
            json!([{"k": "img/2024/thumb-1.png"}, {"k": "img//thumb-.png"}]),
            json!([{"k": "img/2024/full-1.png"}, {"k": "img/thumb-1.png"}, {"k": 1}]),
        ),
        case(
            "leading and trailing stars",
            json!({"k": [{"wildcard": "*error*"}]}),
            json!([{"k": "error"}, {"k": "an error here"}]),
            json!([{"k": "eror"}]),
        ),
        case(
            "an escaped star is literal",
            json!({"k": [{"wildcard": "a\\*b*"}]}),
            json!([{"k": "a*b"}, {"k": "a*bc"}]),
            json!([{"k": "axb"}, {"k": "ab"}]),
        ),
        case(
            "an escaped backslash is literal",
            json!({"k": [{"wildcard": "c:\\\\*"}]}),
            json!([{"k": "c:\\temp"}]),
            json!([{"k": "c:temp"}]),
        ),
        case(
            "no star is an exact match",
            json!({"k": [{"wildcard": "abc"}]}),
            json!([{"k": "abc"}]),
            json!([{"k": "abcd"}, {"k": "ab"}]),
        ),
    ]);
}

/// A wildcard with the most stars allowed against a 1 MiB value that nearly matches. This
/// only checks the answers; that the matcher reads each byte of the value at most once is
/// counted by the unit tests in `src/wildcard.rs`.
#[test]
fn wildcards_on_a_mebibyte_near_miss() {
    let stars = "*ab".repeat(limits::WILDCARD_STARS_MAX - 1) + "*c";
    let abab = "ab".repeat(1 << 19);
    let half = "ab".repeat(1 << 18);
    check(vec![
        case(
            "*ab*ab*…*c",
            json!({"k": [{"wildcard": stars}]}),
            json!([{"k": format!("{abab}c")}, {"k": format!("{half}c{half}c")}]),
            json!([{"k": abab}, {"k": format!("c{abab}")}, {"k": format!("{half}c{half}")}]),
        ),
        case(
            "*a*a*…*b* on a run of a",
            json!({"k": [{"wildcard": "*a".repeat(limits::WILDCARD_STARS_MAX - 2) + "*b*"}]}),
            json!([{"k": format!("{}b", "a".repeat(1 << 20))}]),
            json!([{"k": "a".repeat(1 << 20)}]),
        ),
        case(
            "anything-but a list of such wildcards",
            json!({"k": [{"anything-but": {"wildcard": [stars.clone(), stars.replace('c', "d")]}}]}),
            json!([{"k": abab.clone()}]),
            json!([{"k": format!("{abab}c")}, {"k": format!("{abab}d")}]),
        ),
    ]);
}

#[test]
fn cidr() {
    check(vec![
        case(
            "an IPv4 block",
            json!({"ip": [{"cidr": "10.0.0.0/24"}]}),
            json!([{"ip": "10.0.0.0"}, {"ip": "10.0.0.1"}, {"ip": "10.0.0.255"}, {"ip": ["1.1.1.1", "10.0.0.7"]}]),
            json!([
                {"ip": "10.0.1.0"}, {"ip": "9.255.255.255"}, {"ip": "10.0.0.256"}, {"ip": "10.0.0"},
                {"ip": "10.0.0.1 "}, {"ip": "010.0.0.1"}, {"ip": "10.0.0.1/32"}, {"ip": "host"},
                {"ip": ""}, {"ip": 167_772_161}, {"ip": true}, {"ip": null}, {}, {"ip": {"a": "10.0.0.1"}}
            ]),
        ),
        case(
            "the boundaries of a block that does not end on an octet",
            json!({"ip": [{"cidr": "172.16.0.0/20"}], "jp": [{"cidr": "10.128.0.0/9"}]}),
            json!([
                {"ip": "172.16.0.0", "jp": "10.128.0.0"},
                {"ip": "172.16.15.255", "jp": "10.255.255.255"},
                {"ip": "172.16.8.9", "jp": "10.200.1.1"}
            ]),
            json!([
                {"ip": "172.16.16.0", "jp": "10.128.0.0"},
                {"ip": "172.15.255.255", "jp": "10.128.0.0"},
                {"ip": "172.16.0.0", "jp": "10.127.255.255"},
                {"ip": "172.16.0.0", "jp": "11.0.0.0"}
            ]),
        ),
        case(
            "/32 is one address",
            json!({"ip": [{"cidr": "192.168.1.1/32"}]}),
            json!([{"ip": "192.168.1.1"}]),
            json!([{"ip": "192.168.1.0"}, {"ip": "192.168.1.2"}]),
        ),
        case(
            "/0 is every IPv4 address and no IPv6 one",
            json!({"ip": [{"cidr": "0.0.0.0/0"}]}),
            json!([{"ip": "0.0.0.0"}, {"ip": "255.255.255.255"}, {"ip": "8.8.8.8"}]),
            json!([{"ip": "::"}, {"ip": "::1"}, {"ip": "::ffff:8.8.8.8"}, {"ip": "x"}, {"ip": 0}]),
        ),
        case(
            "host bits after the prefix are masked off",
            json!({"ip": [{"cidr": "10.0.0.5/24"}]}),
            json!([{"ip": "10.0.0.0"}, {"ip": "10.0.0.1"}, {"ip": "10.0.0.5"}, {"ip": "10.0.0.255"}]),
            json!([{"ip": "10.0.1.0"}, {"ip": "9.255.255.255"}]),
        ),
        case(
            "an IPv6 block, any spelling of its addresses",
            json!({"ip": [{"cidr": "2001:db8::/32"}]}),
            json!([
                {"ip": "2001:db8::"}, {"ip": "2001:db8::1"}, {"ip": "2001:DB8:0:0:0:0:0:1"},
                {"ip": "2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff"}, {"ip": "2001:db8::10.0.0.1"}
            ]),
            json!([
                {"ip": "2001:db9::"}, {"ip": "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"},
                {"ip": "10.0.0.1"}, {"ip": "[2001:db8::1]"}, {"ip": "2001:db8::1%eth0"},
                {"ip": "2001:db8:::1"}, {"ip": 20010}, {"ip": null}
            ]),
        ),
        case(
            "an IPv6 block written upper case, with host bits",
            json!({"ip": [{"cidr": "2001:DB8:ABCD:12::FFFF/64"}]}),
            json!([{"ip": "2001:db8:abcd:12::"}, {"ip": "2001:db8:abcd:12:ffff:ffff:ffff:ffff"}]),
            json!([{"ip": "2001:db8:abcd:13::"}, {"ip": "2001:db8:abcd:11:ffff:ffff:ffff:ffff"}]),
        ),
        case(
            "IPv6 /128, /127 and /0",
            json!({"one": [{"cidr": "::1/128"}], "two": [{"cidr": "2001:db8::/127"}], "all": [{"cidr": "::/0"}]}),
            json!([
                {"one": "::1", "two": "2001:db8::", "all": "::"},
                {"one": "0:0:0:0:0:0:0:1", "two": "2001:db8::1", "all": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}
            ]),
            json!([
                {"one": "::2", "two": "2001:db8::", "all": "::"},
                {"one": "127.0.0.1", "two": "2001:db8::", "all": "::"},
                {"one": "::1", "two": "2001:db8::2", "all": "::"},
                {"one": "::1", "two": "2001:db8::", "all": "0.0.0.0"}
            ]),
        ),
        case(
            "IPv4 and IPv6 do not mix, not even IPv4-mapped addresses",
            json!({"v4": [{"cidr": "10.0.0.0/8"}], "v6": [{"cidr": "::ffff:0:0/96"}]}),
            json!([{"v4": "10.1.2.3", "v6": "::ffff:10.1.2.3"}]),
            json!([{"v4": "::ffff:10.1.2.3", "v6": "::ffff:10.1.2.3"}, {"v4": "10.1.2.3", "v6": "10.1.2.3"}]),
        ),
        case(
            "several blocks and other matchers",
            json!({"ip": [{"cidr": "10.0.0.0/8"}, {"cidr": "fd00::/8"}, "localhost"]}),
            json!([{"ip": "10.1.1.1"}, {"ip": "fd12::1"}, {"ip": "localhost"}]),
            json!([{"ip": "11.0.0.0"}, {"ip": "fe80::1"}, {"ip": "LOCALHOST"}]),
        ),
    ]);
}

#[test]
fn numeric_ranges() {
    check(vec![
        case(
            "open lower, closed upper",
            json!({"n": [{"numeric": [">", 0, "<=", 5]}]}),
            json!([{"n": 0.0001}, {"n": 5}, {"n": 5.0}, {"n": 3}]),
            json!([{"n": 0}, {"n": 5.0001}, {"n": -1}, {"n": "3"}, {}]),
        ),
        case(
            "closed lower, open upper",
            json!({"n": [{"numeric": [">=", 10, "<", 20]}]}),
            json!([{"n": 10}, {"n": 19.999}]),
            json!([{"n": 20}, {"n": 9.999}]),
        ),
        case(
            "equal bounds when both are inclusive",
            json!({"n": [{"numeric": [">=", 7, "<=", 7]}]}),
            json!([{"n": 7}]),
            json!([{"n": 7.0001}, {"n": 6.9999}]),
        ),
        case(
            "one comparison: <",
            json!({"n": [{"numeric": ["<", 10]}]}),
            json!([{"n": 9.99}, {"n": -1e300}]),
            json!([{"n": 10}, {"n": 11}]),
        ),
        case(
            "one comparison: <=",
            json!({"n": [{"numeric": ["<=", 10]}]}),
            json!([{"n": 10}]),
            json!([{"n": 10.1}]),
        ),
        case(
            "one comparison: >",
            json!({"n": [{"numeric": [">", -1.5]}]}),
            json!([{"n": -1.4}, {"n": 0}]),
            json!([{"n": -1.5}]),
        ),
        case(
            "one comparison: >=",
            json!({"n": [{"numeric": [">=", -1.5]}]}),
            json!([{"n": -1.5}]),
            json!([{"n": -1.6}]),
        ),
        case(
            "equality",
            json!({"n": [{"numeric": ["=", 301.8]}]}),
            json!([{"n": 3.018e2}]),
            json!([{"n": 301}]),
        ),
        case(
            "large integers",
            json!({"n": [{"numeric": [">", 4_000_000_000u64]}]}),
            json!([{"n": u64::MAX}, {"n": 4_000_000_001u64}]),
            json!([{"n": i64::MIN}, {"n": 4_000_000_000u64}]),
        ),
    ]);
}

#[test]
fn anything_but() {
    check(vec![
        case(
            "one string",
            json!({"s": [{"anything-but": "stopped"}]}),
            json!([{"s": "running"}, {"s": ""}, {"s": ["stopped", "x"]}, {"s": 1}, {"s": null}, {"s": true}]),
            json!([{"s": "stopped"}, {}, {"s": {"a": 1}}, {"s": ["stopped"]}, {"s": []}]),
        ),
        case(
            "a list of strings",
            json!({"s": [{"anything-but": ["stopped", "overloaded"]}]}),
            json!([{"s": "running"}]),
            json!([{"s": "stopped"}, {"s": "overloaded"}, {}]),
        ),
        case(
            "one number",
            json!({"n": [{"anything-but": 100}]}),
            json!([{"n": 99}, {"n": 100.5}, {"n": "7"}, {"n": "100"}]),
            json!([{"n": 100}, {"n": 100.0}, {"n": 1e2}, {}]),
        ),
        case(
            "a list of numbers",
            json!({"n": [{"anything-but": [100, 200, 300]}]}),
            json!([{"n": 150}, {"n": "150"}]),
            json!([{"n": 200}, {"n": 300.0}]),
        ),
        case(
            "prefix",
            json!({"s": [{"anything-but": {"prefix": "init"}}]}),
            json!([{"s": "running"}, {"s": "ini"}, {"s": 1}]),
            json!([{"s": "initializing"}, {"s": "init"}, {}]),
        ),
        case(
            "suffix",
            json!({"f": [{"anything-but": {"suffix": ".tmp"}}]}),
            json!([{"f": "a.txt"}]),
            json!([{"f": "a.tmp"}]),
        ),
        case(
            "equals-ignore-case, one",
            json!({"s": [{"anything-but": {"equals-ignore-case": "Stopped"}}]}),
            json!([{"s": "running"}]),
            json!([{"s": "STOPPED"}, {"s": "stopped"}]),
        ),
        case(
            "equals-ignore-case, a list",
            json!({"s": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]}),
            json!([{"s": "c"}]),
            json!([{"s": "a"}, {"s": "B"}]),
        ),
        case(
            "wildcard, one and a list",
            json!({"s": [{"anything-but": {"wildcard": "*.tmp"}}], "t": [{"anything-but": {"wildcard": ["a*", "*z"]}}]}),
            json!([{"s": "a.txt", "t": "bcd"}]),
            json!([{"s": "a.tmp", "t": "bcd"}, {"s": "a.txt", "t": "abc"}, {"s": "a.txt", "t": "xyz"}]),
        ),
        case(
            "anything-but next to other matchers",
            json!({"s": [{"anything-but": {"prefix": "x"}}, "xyz"]}),
            json!([{"s": "y"}, {"s": "xyz"}, {"s": 6}]),
            json!([{"s": "x"}, {"s": "xy"}]),
        ),
    ]);
}

#[test]
fn anything_but_lets_other_types_through() {
    // As in EventBridge, anything-but excludes values of its own type only: a value of
    // another type, `true`, `false` and `null` included, is not excluded, so it matches.
    check(vec![
        case(
            "a list of numbers: strings are not excluded",
            json!({"n": [{"anything-but": [111, 222]}]}),
            json!([{"n": "444"}, {"n": "111"}, {"n": 333}, {"n": true}, {"n": false}, {"n": null}, {"n": [111, "111"]}]),
            json!([{"n": 111}, {"n": 222.0}, {"n": [111, 222]}, {}, {"n": {"x": 1}}, {"n": []}]),
        ),
        case(
            "one number: strings are not excluded",
            json!({"n": [{"anything-but": 5}]}),
            json!([{"n": "5"}, {"n": true}, {"n": null}]),
            json!([{"n": 5}, {"n": 5.0}]),
        ),
        case(
            "one string: numbers are not excluded",
            json!({"s": [{"anything-but": "zdd"}]}),
            json!([{"s": 123}, {"s": 0}, {"s": -1.5}, {"s": true}, {"s": false}, {"s": null}, {"s": "zd"}]),
            json!([{"s": "zdd"}, {}, {"s": {"zdd": 1}}]),
        ),
        case(
            "a list of strings: numbers are not excluded",
            json!({"s": [{"anything-but": ["a", "b", "123"]}]}),
            json!([{"s": 123}, {"s": true}, {"s": null}, {"s": ["a", 1]}]),
            json!([{"s": "a"}, {"s": "b"}, {"s": "123"}, {"s": ["a", "b"]}]),
        ),
        case(
            "prefix: non-strings are not excluded",
            json!({"s": [{"anything-but": {"prefix": "1"}}]}),
            json!([{"s": 1}, {"s": 12}, {"s": true}, {"s": null}, {"s": "21"}]),
            json!([{"s": "1"}, {"s": "12"}]),
        ),
        case(
            "suffix: non-strings are not excluded",
            json!({"s": [{"anything-but": {"suffix": "e"}}]}),
            json!([{"s": true}, {"s": false}, {"s": null}, {"s": 1e3}]),
            json!([{"s": "true"}, {"s": "false"}]),
        ),
        case(
            "equals-ignore-case: non-strings are not excluded",
            json!({"s": [{"anything-but": {"equals-ignore-case": ["NULL", "True"]}}]}),
            json!([{"s": null}, {"s": true}, {"s": 7}, {"s": "nil"}]),
            json!([{"s": "null"}, {"s": "TRUE"}]),
        ),
        case(
            "wildcard: non-strings are not excluded, even by a lone star",
            json!({"s": [{"anything-but": {"wildcard": "*"}}]}),
            json!([{"s": 1}, {"s": false}, {"s": null}, {"s": ["x", 2]}]),
            json!([{"s": ""}, {"s": "anything"}, {"s": ["x", "y"]}, {}]),
        ),
        case(
            "numbers and strings excluded side by side",
            json!({"v": [{"anything-but": [1, 2]}, {"anything-but": ["1", "2"]}]}),
            json!([{"v": 1}, {"v": "1"}, {"v": 3}, {"v": "3"}, {"v": null}]),
            json!([{}, {"v": {}}]),
        ),
    ]);
}

#[test]
fn anything_but_prefix_and_suffix_lists() {
    check(vec![
        case(
            "a list of prefixes: a string starting with none of them",
            json!({"s": [{"anything-but": {"prefix": ["$", "%"]}}]}),
            json!([{"s": "abc"}, {"s": "a$"}, {"s": ""}, {"s": "#%"}, {"s": 5}, {"s": ["$x", "y"]}]),
            json!([{"s": "$x"}, {"s": "%"}, {"s": "$"}, {"s": ["$", "%%"]}, {}]),
        ),
        case(
            "a list of suffixes: a string ending with none of them",
            json!({"f": [{"anything-but": {"suffix": [".a", ".b"]}}]}),
            json!([{"f": "x.c"}, {"f": "a"}, {"f": ".ab"}, {"f": ".a.c"}, {"f": null}]),
            json!([{"f": "x.a"}, {"f": ".b"}, {"f": "y.z.b"}]),
        ),
        case(
            "a list of one, with duplicates and overlaps",
            json!({"s": [{"anything-but": {"prefix": ["ab", "ab", "abc"]}}]}),
            json!([{"s": "a"}, {"s": "ba"}]),
            json!([{"s": "ab"}, {"s": "abc"}, {"s": "abd"}]),
        ),
        case(
            "prefixes beyond ASCII",
            json!({"s": [{"anything-but": {"prefix": ["é", "日本"]}}]}),
            json!([{"s": "e"}, {"s": "日"}, {"s": "x日本"}]),
            json!([{"s": "été"}, {"s": "日本語"}]),
        ),
    ]);
}

#[test]
fn exists() {
    check(vec![
        case(
            "exists: true needs a leaf value",
            json!({"a": [{"exists": true}]}),
            json!([{"a": 1}, {"a": "x"}, {"a": null}, {"a": false}, {"a": [1]}, {"a": [{}, 2]}]),
            json!([{}, {"a": {"b": 1}}, {"a": []}, {"a": [{"b": 1}]}, {"b": 1}]),
        ),
        case(
            "exists: false is the opposite",
            json!({"a": [{"exists": false}]}),
            json!([{}, {"a": {"b": 1}}, {"a": []}, {"a": [{"b": 1}]}, {"b": 1}]),
            json!([{"a": 1}, {"a": "x"}, {"a": null}, {"a": [1]}]),
        ),
        case(
            "exists: false under an absent parent",
            json!({"data": {"x": [{"exists": false}]}}),
            json!([{}, {"data": {}}, {"data": "scalar"}, {"data": []}, {"data": {"y": 1}}]),
            json!([{"data": {"x": 1}}]),
        ),
        case(
            "exists: true under an absent parent",
            json!({"data": {"x": [{"exists": true}]}}),
            json!([{"data": {"x": 0}}]),
            json!([{}, {"data": 1}, {"data": {"y": 1}}]),
        ),
        case(
            "exists: false inside an array of objects, per element",
            json!({"items": {"sku": [{"exists": false}]}}),
            json!([{"items": [{"sku": "a"}, {"name": "b"}]}, {"items": []}]),
            json!([{"items": [{"sku": "a"}]}]),
        ),
        case(
            "exists: false or a value",
            json!({"a": [{"exists": false}, "x"]}),
            json!([{}, {"a": "x"}]),
            json!([{"a": "y"}]),
        ),
        case(
            "exists combined with other fields",
            json!({"source": ["s"], "data": {"deleted": [{"exists": false}], "id": [{"exists": true}]}}),
            json!([{"source": "s", "data": {"id": 1}}]),
            json!([{"source": "s", "data": {"id": 1, "deleted": true}}, {"source": "s"}]),
        ),
    ]);
}

#[test]
fn or() {
    check(vec![
        case(
            "top-level $or",
            json!({"source": ["cw"], "$or": [{"metric": ["CPU"]}, {"namespace": ["EC2"]}]}),
            json!([{"source": "cw", "metric": "CPU"}, {"source": "cw", "namespace": "EC2"}, {"source": "cw", "metric": "CPU", "namespace": "EC2"}]),
            json!([{"source": "cw"}, {"source": "x", "metric": "CPU"}, {"source": "cw", "metric": "disk"}]),
        ),
        case(
            "a branch with several fields is an and",
            json!({"$or": [{"a": [1], "b": [2]}, {"c": [3]}]}),
            json!([{"a": 1, "b": 2}, {"c": 3}]),
            json!([{"a": 1}, {"b": 2, "c": 4}]),
        ),
        case(
            "nested $or",
            json!({"$or": [
                {"name": ["x"]},
                {"type": ["t"], "$or": [{"id": [1]}, {"space": [2]}]}
            ]}),
            json!([{"name": "x"}, {"type": "t", "id": 1}, {"type": "t", "space": 2}]),
            json!([{"type": "t"}, {"id": 1}, {"type": "t", "id": 2}]),
        ),
        case(
            "$or inside a nested object",
            json!({"data": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, "$or": [{"x": [1]}, {"y": [1]}]}),
            json!([{"data": {"a": "1"}, "x": 1}, {"data": {"b": "2"}, "y": 1}]),
            json!([{"data": {"a": "1"}}, {"data": {"c": "1"}, "x": 1}, {"a": "1", "x": 1}]),
        ),
        case(
            "$or with exists: false branches matches absent objects",
            json!({"data": {"$or": [{"a": [{"exists": false}]}, {"b": ["2"]}]}}),
            json!([{}, {"data": {"b": "2", "a": 1}}]),
            json!([{"data": {"a": 1}}]),
        ),
    ]);
}

#[test]
fn realistic_bus_rule() {
    check(vec![case(
        "several operators together",
        json!({
            "source": ["shop.orders"],
            "type": [{"prefix": "Order"}],
            "data": {
                "total": [{"numeric": [">=", 100, "<", 1000]}],
                "country": [{"anything-but": ["US", "CA"]}],
                "coupon": [{"exists": false}]
            },
            "metadata": {"channel": [{"equals-ignore-case": "web"}, {"wildcard": "app-*"}]}
        }),
        json!([
            {"source": "shop.orders", "type": "OrderPlaced", "data": {"total": 250, "country": "FR"}, "metadata": {"channel": "WEB"}},
            {"source": "shop.orders", "type": "OrderPaid", "data": {"total": 100, "country": "DE"}, "metadata": {"channel": "app-ios"}}
        ]),
        json!([
            {"source": "shop.orders", "type": "OrderPlaced", "data": {"total": 250, "country": "US"}, "metadata": {"channel": "web"}},
            {"source": "shop.orders", "type": "OrderPlaced", "data": {"total": 1000, "country": "FR"}, "metadata": {"channel": "web"}},
            {"source": "shop.orders", "type": "OrderPlaced", "data": {"total": 250, "country": "FR", "coupon": "X"}, "metadata": {"channel": "web"}},
            {"source": "shop.orders", "type": "OrderPlaced", "data": {"total": 250, "country": "FR"}, "metadata": {"channel": "email"}},
            {"source": "shop.orders", "type": "Refund", "data": {"total": 250, "country": "FR"}, "metadata": {"channel": "web"}}
        ]),
    )]);
}

/// An invalid pattern (JSON text), the path its error names and a fragment of its message.
const INVALID: &[(&str, &str, &str)] = &[
    ("not json", "", "not JSON"),
    ("[1]", "", "must be a JSON object, not an array"),
    ("\"x\"", "", "must be a JSON object, not a string"),
    (
        r#"{"source": "x"}"#,
        "source",
        "must be an array of matchers or an object",
    ),
    (r#"{"a": {"b": 5}}"#, "a.b", "not a number"),
    (r#"{"a": null}"#, "a", "not null"),
    (r#"{"a": []}"#, "a", "must not be empty"),
    (r#"{"a": {}}"#, "a", "at least one field"),
    (r#"{"a": [[1]]}"#, "a[0]", "not an array"),
    (r#"{"a": [{}]}"#, "a[0]", "exactly one operator, found 0"),
    (
        r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
        "a[0]",
        "exactly one operator, found 2",
    ),
    (
        r#"{"a": [{"regex": "x"}]}"#,
        "a[0].regex",
        "unknown operator `regex`",
    ),
    (
        r#"{"a": [{"cidr": 10}]}"#,
        "a[0].cidr",
        "`cidr` expects a string",
    ),
    (
        r#"{"a": [{"cidr": "10.0.0.0"}]}"#,
        "a[0].cidr",
        "invalid CIDR block: expected an address, `/` and a prefix length",
    ),
    (
        r#"{"a": [{"cidr": "10.0.0.0/33"}]}"#,
        "a[0].cidr",
        "an IPv4 prefix length is at most 32",
    ),
    (
        r#"{"a": [{"cidr": "2001:db8::/129"}]}"#,
        "a[0].cidr",
        "an IPv6 prefix length is at most 128",
    ),
    (
        r#"{"a": [{"cidr": "10.0.0.0/x"}]}"#,
        "a[0].cidr",
        "must be a decimal number",
    ),
    (
        r#"{"a": [{"cidr": "10.0.0.0/-1"}]}"#,
        "a[0].cidr",
        "must be a decimal number",
    ),
    (
        r#"{"a": [{"cidr": "10.0.0.0/"}]}"#,
        "a[0].cidr",
        "must be a decimal number",
    ),
    (
        r#"{"a": [{"cidr": "10.0.0/8"}]}"#,
        "a[0].cidr",
        "not an IPv4 or IPv6 address",
    ),
    (
        r#"{"a": [{"cidr": "[::1]/128"}]}"#,
        "a[0].cidr",
        "not an IPv4 or IPv6 address",
    ),
    (
        r#"{"data": {"ip": ["x", {"cidr": "::1/200"}]}}"#,
        "data.ip[1].cidr",
        "invalid CIDR block",
    ),
    (
        r#"{"a": [{"anything-but": {"cidr": "10.0.0.0/8"}}]}"#,
        "a[0].anything-but.cidr",
        "not `cidr`",
    ),
    (
        r#"{"a": [{"prefix": 1}]}"#,
        "a[0].prefix",
        "`prefix` expects a string",
    ),
    (
        r#"{"a": [{"prefix": {"wildcard": "x"}}]}"#,
        "a[0].prefix",
        "`prefix` expects",
    ),
    (
        r#"{"a": [{"prefix": {"equals-ignore-case": 1}}]}"#,
        "a[0].prefix.equals-ignore-case",
        "expects a string",
    ),
    (
        r#"{"a": [{"suffix": ["x"]}]}"#,
        "a[0].suffix",
        "`suffix` expects",
    ),
    (
        r#"{"a": [{"equals-ignore-case": ["x"]}]}"#,
        "a[0].equals-ignore-case",
        "not an array",
    ),
    (
        r#"{"a": [{"wildcard": "a**b"}]}"#,
        "a[0].wildcard",
        "consecutive `*`",
    ),
    (
        r#"{"a": [{"wildcard": "a\\b"}]}"#,
        "a[0].wildcard",
        "may only escape",
    ),
    (
        r#"{"a": [{"wildcard": 3}]}"#,
        "a[0].wildcard",
        "expects a string",
    ),
    (
        r#"{"a": [{"exists": "yes"}]}"#,
        "a[0].exists",
        "expects true or false",
    ),
    (
        r#"{"a": [{"numeric": 5}]}"#,
        "a[0].numeric",
        "expected an array",
    ),
    (
        r#"{"a": [{"numeric": []}]}"#,
        "a[0].numeric",
        "[operator, number]",
    ),
    (
        r#"{"a": [{"numeric": [">", 1, "<"]}]}"#,
        "a[0].numeric",
        "[operator, number]",
    ),
    (
        r#"{"a": [{"numeric": ["~", 1]}]}"#,
        "a[0].numeric[0]",
        "unknown operator `~`",
    ),
    (
        r#"{"a": [{"numeric": [5, ">"]}]}"#,
        "a[0].numeric[0]",
        "expected an operator",
    ),
    (
        r#"{"a": [{"numeric": [">", "5"]}]}"#,
        "a[0].numeric[1]",
        "expected a number after `>`",
    ),
    (
        r#"{"a": [{"numeric": [">", 0, "<", "9"]}]}"#,
        "a[0].numeric[3]",
        "expected a number",
    ),
    (
        r#"{"data": {"price": [1, {"numeric": [">", 5, "<", 1]}]}}"#,
        "data.price[1].numeric",
        "the range is empty",
    ),
    (
        r#"{"a": [{"numeric": [">", 5, "<=", 5]}]}"#,
        "a[0].numeric",
        "the range is empty",
    ),
    (
        r#"{"a": [{"numeric": ["<", 5, ">", 1]}]}"#,
        "a[0].numeric[0]",
        "starts with its lower bound",
    ),
    (
        r#"{"a": [{"numeric": [">", 1, ">", 5]}]}"#,
        "a[0].numeric[2]",
        "must be < or <=",
    ),
    (
        r#"{"a": [{"numeric": ["=", 1, "<", 5]}]}"#,
        "a[0].numeric[0]",
        "`=` cannot be part of a range",
    ),
    (
        r#"{"a": [{"anything-but": []}]}"#,
        "a[0].anything-but",
        "needs at least one value",
    ),
    (
        r#"{"a": [{"anything-but": ["x", 1]}]}"#,
        "a[0].anything-but[1]",
        "only strings or only numbers, not a number",
    ),
    (
        r#"{"a": [{"anything-but": [true]}]}"#,
        "a[0].anything-but[0]",
        "only strings or only numbers, not a boolean",
    ),
    (
        r#"{"a": [{"anything-but": null}]}"#,
        "a[0].anything-but",
        "not null",
    ),
    (
        r#"{"a": [{"anything-but": {"numeric": [">", 1]}}]}"#,
        "a[0].anything-but.numeric",
        "not `numeric`",
    ),
    (
        r#"{"a": [{"anything-but": {"prefix": 1}}]}"#,
        "a[0].anything-but.prefix",
        "expects a string",
    ),
    (
        r#"{"a": [{"anything-but": {"prefix": []}}]}"#,
        "a[0].anything-but.prefix",
        "`prefix` needs at least one value",
    ),
    (
        r#"{"a": [{"anything-but": {"suffix": []}}]}"#,
        "a[0].anything-but.suffix",
        "`suffix` needs at least one value",
    ),
    (
        r#"{"a": [{"anything-but": {"suffix": ["x", 1]}}]}"#,
        "a[0].anything-but.suffix[1]",
        "a string or a list of strings",
    ),
    (
        r#"{"a": [{"anything-but": {"prefix": ""}}]}"#,
        "a[0].anything-but.prefix",
        "`anything-but` `prefix` must not be empty",
    ),
    (
        r#"{"a": [{"anything-but": {"suffix": ["x", ""]}}]}"#,
        "a[0].anything-but.suffix[1]",
        "`anything-but` `suffix` must not be empty",
    ),
    (
        r#"{"a": [{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]}"#,
        "a[0].anything-but.prefix",
        "not an object",
    ),
    (
        r#"{"a": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}"#,
        "a[0].anything-but",
        "exactly one operator",
    ),
    (
        r#"{"a": [{"anything-but": {"equals-ignore-case": []}}]}"#,
        "a[0].anything-but.equals-ignore-case",
        "at least one value",
    ),
    (
        r#"{"a": [{"anything-but": {"equals-ignore-case": ["x", 2]}}]}"#,
        "a[0].anything-but.equals-ignore-case[1]",
        "a string or a list of strings",
    ),
    (
        r#"{"a": [{"anything-but": {"wildcard": ["ok*", "x**"]}}]}"#,
        "a[0].anything-but.wildcard[1]",
        "consecutive `*`",
    ),
    (
        r#"{"$or": [{"a": [1]}]}"#,
        "$or",
        "2 to 32 branches, found 1",
    ),
    (
        r#"{"$or": {"a": [1]}}"#,
        "$or",
        "must be an array of pattern objects, not an object",
    ),
    (
        r#"{"$or": [{"a": [1]}, 5]}"#,
        "$or[1]",
        "must be a JSON object, not a number",
    ),
    (
        r#"{"$or": [{"a": [1]}, {}]}"#,
        "$or[1]",
        "at least one field",
    ),
    (
        r#"{"x": {"$or": [{"a": [1]}, {"b": "oops"}]}}"#,
        "x.$or[1].b",
        "must be an array of matchers",
    ),
    (
        r#"{"a.b": {"": [{"nope": 1}]}}"#,
        r#"["a.b"][""][0].nope"#,
        "unknown operator `nope`",
    ),
];

#[test]
fn invalid_patterns_name_the_spot() {
    for (text, path, fragment) in INVALID {
        let error = Pattern::parse_str(text).expect_err(text);
        assert_eq!(error.path(), *path, "{text}: {error}");
        let message = error.to_string();
        assert!(
            message.contains(fragment),
            "{text}: {message:?} lacks {fragment:?}"
        );
        if !path.is_empty() {
            assert!(
                message.contains(&format!(" at {path}: ")),
                "{text}: {message}"
            );
        }
    }
}

#[test]
fn limits_are_enforced() {
    let too_long = format!(r#"{{"a": ["{}"]}}"#, "x".repeat(limits::PATTERN_BYTES_MAX));
    let error = Pattern::parse_str(&too_long).unwrap_err();
    assert!(
        matches!(error.kind(), PatternErrorKind::PatternTooLong { .. }),
        "{error}"
    );

    // A pattern given as a value has the same text limit (the issue's 170 KB pattern): many
    // strings, each under the string limit, under the node limit, over 64 KiB in all.
    let strings: Vec<String> = (0..100)
        .map(|n| format!("{n:04}{}", "y".repeat(1_000)))
        .collect();
    let wide = json!({"a": strings});
    let error = Pattern::parse(&wide).unwrap_err();
    assert!(
        matches!(error.kind(), PatternErrorKind::PatternTooLong { bytes } if *bytes > limits::PATTERN_BYTES_MAX),
        "{error}"
    );
    let fits = json!({"a": &strings[..50]});
    assert!(Pattern::parse(&fits).is_ok());

    let long_string = json!({"a": ["x".repeat(limits::STRING_BYTES_MAX + 1)]});
    let error = Pattern::parse(&long_string).unwrap_err();
    assert_eq!(error.path(), "a[0]");
    assert!(matches!(
        error.kind(),
        PatternErrorKind::StringTooLong { .. }
    ));
    assert!(Pattern::parse(&json!({"a": ["x".repeat(limits::STRING_BYTES_MAX)]})).is_ok());

    let long_key = json!({"k".repeat(limits::STRING_BYTES_MAX + 1): [1]});
    let error = Pattern::parse(&long_key).unwrap_err();
    assert!(matches!(
        error.kind(),
        PatternErrorKind::StringTooLong { .. }
    ));

    let many: Vec<Value> = (0..limits::PATTERN_NODES_MAX).map(Value::from).collect();
    let error = Pattern::parse(&json!({"a": many})).unwrap_err();
    assert_eq!(error.kind(), &PatternErrorKind::TooManyNodes);
    assert_eq!(
        error.path(),
        format!("a[{}]", limits::PATTERN_NODES_MAX - 1)
    );
    let fits: Vec<Value> = (0..limits::PATTERN_NODES_MAX - 1)
        .map(Value::from)
        .collect();
    assert!(Pattern::parse(&json!({"a": fits})).is_ok());

    let deep = |levels: usize| {
        let mut pattern = json!({"leaf": [1]});
        for _ in 1..levels {
            pattern = json!({"n": pattern});
        }
        pattern
    };
    assert!(Pattern::parse(&deep(limits::PATTERN_DEPTH_MAX)).is_ok());
    let error = Pattern::parse(&deep(limits::PATTERN_DEPTH_MAX + 1)).unwrap_err();
    assert_eq!(error.kind(), &PatternErrorKind::TooDeep);
    assert_eq!(error.path(), vec!["n"; limits::PATTERN_DEPTH_MAX].join("."));

    let stars = "a*".repeat(limits::WILDCARD_STARS_MAX + 1);
    let error = Pattern::parse(&json!({"a": [{"wildcard": stars}]})).unwrap_err();
    assert!(matches!(
        error.kind(),
        PatternErrorKind::TooManyStars { .. }
    ));
    assert_eq!(error.path(), "a[0].wildcard");

    let branches: Vec<Value> = (0..=limits::OR_BRANCHES_MAX)
        .map(|n| json!({"a": [n]}))
        .collect();
    let error = Pattern::parse(&json!({"$or": branches})).unwrap_err();
    assert_eq!(
        error.kind(),
        &PatternErrorKind::OrBranchCount {
            branches: limits::OR_BRANCHES_MAX + 1
        }
    );
}

#[test]
fn patterns_keep_their_source_and_are_shareable() {
    let source = json!({"a": [{"prefix": "x"}], "b": {"c": [1]}});
    let pattern: Pattern = source.to_string().parse().unwrap();
    assert_eq!(pattern.source(), &source);
    assert_eq!(pattern.to_string(), source.to_string());
    assert!(format!("{pattern:?}").starts_with("Pattern("));
    let copy = pattern.clone();
    let event = json!({"a": "xy", "b": {"c": 1}});
    let handle = std::thread::spawn(move || copy.matches(&event));
    assert!(handle.join().unwrap());
}

/// A tiny deterministic generator, so the junk below is the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A JSON value biased toward pattern syntax: operator names, operators and small shapes.
    fn junk(&mut self, depth: u32) -> Value {
        const WORDS: &[&str] = &[
            "prefix",
            "suffix",
            "equals-ignore-case",
            "wildcard",
            "anything-but",
            "numeric",
            "exists",
            "$or",
            "cidr",
            "10.0.0.0/8",
            "::/0",
            "a",
            "b",
            "",
            ">",
            "<=",
            "=",
            "*",
            "a**",
            "\\",
            "x*y",
            "É",
        ];
        let word = |g: &mut Self| WORDS[g.below(WORDS.len() as u64) as usize];
        match self.below(if depth == 0 { 5 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 0),
            2 => json!(self.below(20) as f64 - 10.0),
            3 | 4 => Value::String(word(self).to_owned()),
            5 | 6 => {
                let len = self.below(4);
                (0..len).map(|_| self.junk(depth - 1)).collect()
            }
            _ => {
                let len = self.below(4);
                let mut object = serde_json::Map::new();
                for _ in 0..len {
                    let key = word(self).to_owned();
                    object.insert(key, self.junk(depth - 1));
                }
                Value::Object(object)
            }
        }
    }
}

#[test]
fn junk_never_panics() {
    let mut generator = SplitMix(0x5eed);
    let events: Vec<Value> = (0..50).map(|_| generator.junk(4)).collect();
    let mut compiled = 0;
    for _ in 0..20_000 {
        let pattern = generator.junk(5);
        if let Ok(pattern) = Pattern::parse(&pattern) {
            compiled += 1;
            for event in &events {
                let _ = pattern.matches(event);
            }
        }
        let _ = Pattern::parse_str(&pattern.to_string());
    }
    // The corpus must reach past the first checks for the test to mean something.
    assert!(compiled > 100, "only {compiled} junk patterns compiled");
}

#[test]
fn deep_event_arrays_do_not_overflow() {
    let pattern = Pattern::parse(&json!({"a": ["x"], "b": {"c": [{"exists": false}]}})).unwrap();
    // Deeper than the matcher looks, shallow enough for serde_json's recursive drop.
    let mut deep = json!("x");
    for _ in 0..1_000 {
        deep = json!([deep]);
    }
    let event = json!({"a": deep.clone(), "b": deep});
    assert!(!pattern.matches(&event));
}
