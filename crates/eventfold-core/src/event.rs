//! Events as a client writes them and as the store records them.

use bytes::Bytes;
use serde::Serialize;
use uuid::Uuid;

use crate::{Limits, Position, Revision, StoreError, StreamName, Timestamp};

/// The default content type of event data.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// A content type read from storage, without allocating for the common JSON case.
pub fn content_type_from(text: &str) -> std::borrow::Cow<'static, str> {
    if text == CONTENT_TYPE_JSON {
        std::borrow::Cow::Borrowed(CONTENT_TYPE_JSON)
    } else {
        std::borrow::Cow::Owned(text.to_owned())
    }
}

/// An event as a client writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// Chosen by the client so that a retried append is recognised; random by default.
    pub id: Uuid,
    /// The event type, such as `Deposited`.
    pub event_type: String,
    /// The payload. JSON unless `content_type` says otherwise.
    pub data: Bytes,
    /// The payload's media type (`application/json` by default).
    pub content_type: String,
    /// A JSON object as text (`{}` by default).
    pub metadata: Bytes,
    /// When the fact happened, as the client knows it (bitemporal questions).
    pub occurred_at: Option<Timestamp>,
}

impl NewEvent {
    /// A JSON event with a new id and empty metadata. `data` must be JSON text.
    ///
    /// The id is a UUID version 7: a millisecond timestamp then random bits, so ids made close
    /// in time sort close together, and a database index on them (PostgreSQL's) grows at its
    /// end instead of at random pages.
    pub fn new(event_type: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: event_type.into(),
            data: data.into(),
            content_type: CONTENT_TYPE_JSON.to_owned(),
            metadata: Bytes::from_static(b"{}"),
            occurred_at: None,
        }
    }

    /// A JSON event whose data is `value` serialised.
    pub fn json(event_type: impl Into<String>, value: &impl Serialize) -> Self {
        let data = serde_json::to_vec(value).expect("a serde value serialises to JSON");
        Self::new(event_type, data)
    }

    /// Sets the id (for idempotent retries).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    /// Sets the metadata (a JSON object).
    pub fn with_metadata(mut self, metadata: &serde_json::Value) -> Self {
        self.metadata = Bytes::from(serde_json::to_vec(metadata).expect("JSON serialises"));
        self
    }

    /// Sets a non-JSON payload and its content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Sets when the fact happened.
    pub fn with_occurred_at(mut self, occurred_at: Timestamp) -> Self {
        self.occurred_at = Some(occurred_at);
        self
    }

    /// The bytes this event counts against the size limits.
    pub fn size_bytes(&self) -> usize {
        self.data.len() + self.metadata.len() + self.event_type.len() + self.content_type.len()
    }

    /// Checks this event against `limits` and the shape rules; returns its size in bytes.
    pub fn validate(&self, limits: &Limits) -> Result<usize, StoreError> {
        let invalid = |field: &str, reason: String| StoreError::InvalidEvent {
            id: self.id,
            field: field.to_owned(),
            reason,
        };
        if self.event_type.is_empty() || self.event_type.len() > limits.event_type_bytes_max {
            return Err(invalid(
                "type",
                format!("must be 1..={} bytes", limits.event_type_bytes_max),
            ));
        }
        if self.event_type.chars().any(char::is_control) {
            return Err(invalid("type", "cannot contain control characters".into()));
        }
        if self.content_type.is_empty()
            || self.content_type.len() > limits.content_type_bytes_max
            || self.content_type.chars().any(char::is_control)
        {
            return Err(invalid(
                "content_type",
                format!(
                    "must be 1..={} bytes without control characters",
                    limits.content_type_bytes_max
                ),
            ));
        }
        let size = self.size_bytes();
        if size > limits.event_bytes_max {
            return Err(StoreError::EventTooLarge {
                id: self.id,
                size_bytes: size,
                limit_bytes: limits.event_bytes_max,
            });
        }
        if self.is_json() {
            if let Err(reason) = check_json_text(&self.data) {
                return Err(invalid("data", reason));
            }
        }
        if let Err(reason) = check_json_text(&self.metadata) {
            return Err(invalid("metadata", reason));
        }
        if self
            .metadata
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            != Some(&b'{')
        {
            return Err(invalid("metadata", "must be a JSON object".into()));
        }
        Ok(size)
    }

    /// True when the data is JSON.
    pub fn is_json(&self) -> bool {
        is_json_content_type(&self.content_type)
    }
}

/// The one definition of valid JSON text in Eventfold: every backend refuses to store JSON data
/// or metadata that fails this, the PostgreSQL backend checks its rows with it again when it
/// reads them, and reads of `$all` and streams, webhooks and every copy then write the stored
/// text out as it is. Returns the text.
///
/// `bytes` pass exactly when `serde_json::from_slice::<serde_json::Value>` (the bus matcher's
/// parser, with serde_json's default features) accepts them:
///
/// - one RFC 8259 JSON value, with whitespace around it and nothing else;
/// - UTF-8 throughout, and no escape that is not a character: a lone surrogate (`"\ud800"`,
///   or a trailing one without its leading half) is refused;
/// - numbers whose value is within `f64` range: `1e999999` is refused (and so is an integer of
///   more than 309 digits), `1e-999999` reads as zero and passes. Integers beyond 64 bits pass
///   (`12345678901234567890123`): the matcher reads them as the nearest `f64`, the stored text
///   keeps every digit;
/// - arrays and objects nested at most [`JSON_DEPTH_MAX`] (100) deep: under serde_json's
///   recursion limit of 128 with room to spare, so the server's own documents that carry stored
///   JSON a few levels down (dead letters, webhook bodies) still parse everywhere;
/// - duplicate object keys are allowed (the matcher keeps the last one).
///
/// It parses as the matcher does but builds nothing: the values are visited and dropped, and
/// strings are borrowed from the input or from the parser's scratch buffer, never allocated
/// (this is on the append path of every event). `serde::de::IgnoredAny`, used before, takes
/// serde_json's skipping path, which checks neither escapes, nor number ranges, nor depth.
pub fn check_json_text(bytes: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|error| format!("is not UTF-8: {error}"))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde::de::DeserializeSeed::deserialize(JsonChecked { depth: 0 }, &mut deserializer)
        .and_then(|_| deserializer.end())
        .map_err(|error| format!("is not valid JSON: {error}"))?;
    Ok(text)
}

/// Checks that `bytes` are JSON text as every earlier version of Eventfold stored it: UTF-8 and
/// JSON syntax, without the limits on escapes, number ranges and depth that
/// [`check_json_text`] adds. Reads use it to tell damage from data: what was once accepted
/// still reads, what no version ever wrote is damage.
pub fn check_json_syntax(bytes: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|error| format!("is not UTF-8: {error}"))?;
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|error| format!("is not valid JSON: {error}"))?;
    Ok(text)
}

/// The deepest nesting of arrays and objects in stored JSON data and metadata.
pub const JSON_DEPTH_MAX: usize = 100;

/// A JSON value at `depth` that is read in full, as `serde_json::Value` would read it, and
/// dropped.
#[derive(Clone, Copy)]
struct JsonChecked {
    depth: usize,
}

impl JsonChecked {
    fn deeper<E: serde::de::Error>(self) -> Result<Self, E> {
        if self.depth >= JSON_DEPTH_MAX {
            return Err(E::custom(format_args!(
                "nested deeper than {JSON_DEPTH_MAX} levels"
            )));
        }
        Ok(Self {
            depth: self.depth + 1,
        })
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonChecked {
    type Value = JsonChecked;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any`, as `Value` does: serde_json then parses every string (escapes,
        // surrogates) and number (range) in full.
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonChecked {
    type Value = JsonChecked;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        let inner = self.deeper()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let inner = self.deeper()?;
        while map.next_key_seed(inner)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(self)
    }
}

pub(crate) fn is_json_content_type(content_type: &str) -> bool {
    content_type == CONTENT_TYPE_JSON
}

/// An event as the store recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    /// The id the client gave (or the one generated for it).
    pub id: Uuid,
    /// The stream it belongs to.
    pub stream: StreamName,
    /// Its place in the stream.
    pub revision: Revision,
    /// Its place in the global log.
    pub position: Position,
    /// The event type.
    pub event_type: String,
    /// The payload. With the JSON content type, JSON text: the store promises it for the events
    /// it returns, and an event built by hand must keep it (its JSON form writes the text as
    /// it is).
    pub data: Bytes,
    /// The payload's media type (borrowed for the common `application/json`).
    pub content_type: std::borrow::Cow<'static, str>,
    /// A JSON object as text.
    pub metadata: Bytes,
    /// When the fact happened, as the client said.
    pub occurred_at: Option<Timestamp>,
    /// When the store committed it. Never decreases along the global log.
    pub recorded_at: Timestamp,
}

impl RecordedEvent {
    /// True when the data is JSON.
    pub fn is_json(&self) -> bool {
        is_json_content_type(&self.content_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(event: NewEvent) -> crate::ErrorCode {
        event.validate(&Limits::default()).unwrap_err().code()
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(NewEvent::new("Deposited", "{\"amount\":1}")
            .validate(&Limits::default())
            .is_ok());
        assert_eq!(codes(NewEvent::new("", "{}")), "invalid_event");
        assert_eq!(codes(NewEvent::new("T", "not json")), "invalid_event");
        assert_eq!(
            codes(NewEvent::new("T", "{}").with_metadata(&serde_json::json!([1]))),
            "invalid_event"
        );
        let mut bad_metadata = NewEvent::new("T", "{}");
        bad_metadata.metadata = bytes::Bytes::from_static(b" {\"a\": ");
        assert_eq!(codes(bad_metadata.clone()), "invalid_event");
        bad_metadata.metadata = bytes::Bytes::from_static(b" \"{\" ");
        assert_eq!(codes(bad_metadata), "invalid_event");
        let mut not_utf8 = NewEvent::new("T", &b"{\"a\":\"\xff\"}"[..]);
        assert_eq!(codes(not_utf8.clone()), "invalid_event");
        not_utf8.data = Bytes::from_static(b"{}");
        not_utf8.metadata = Bytes::from_static(b"{\"a\":\"\xff\"}");
        assert_eq!(codes(not_utf8), "invalid_event");
        let big = format!("\"{}\"", "x".repeat(1 << 20));
        assert_eq!(codes(NewEvent::new("T", big)), "too_large");
        let binary =
            NewEvent::new("T", vec![0xff, 0x00]).with_content_type("application/octet-stream");
        assert!(binary.validate(&Limits::default()).is_ok());
    }
}

#[cfg(test)]
mod json_text_tests {
    use super::{check_json_text, JSON_DEPTH_MAX};

    fn depth(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// What the bus matcher's parser says of `bytes`, with the nesting limit.
    fn matcher_accepts(bytes: &[u8]) -> bool {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|value| depth(&value) <= JSON_DEPTH_MAX)
    }

    fn nested(open: &str, close: &str, depth: usize) -> String {
        format!("{}{}", open.repeat(depth), close.repeat(depth))
    }

    /// Inputs near every edge serde_json's `Value` parser has.
    fn tricky() -> Vec<Vec<u8>> {
        let mut inputs: Vec<Vec<u8>> = [
            // Strings and escapes.
            r#"{"x":"\ud800"}"#,
            r#""\udc00""#,
            r#""\ud800\udc00""#,
            r#""\ud83d\ude00""#,
            r#""\ud800\u0041""#,
            r#""\ud800x""#,
            r#""\ud800\""#,
            r#""\udbff\udfff""#,
            r#""\u0000""#,
            r#""\u00e9 é""#,
            r#""\u12""#,
            r#""\x""#,
            r#""\/\b\f\n\r\t\"\\""#,
            "\"tab\tinside\"",
            "\"nul\u{0}inside\"",
            r#"{"\ud800":1}"#,
            r#"{"a\u00e9":1}"#,
            r#"{"a":1,"a":2}"#,
            // Numbers.
            r#"{"x":1e999999}"#,
            "-1e999999",
            "1e308",
            "1.7976931348623157e308",
            "1.8e308",
            "1e-999999",
            "4.9e-324",
            r#"{"x":12345678901234567890123}"#,
            "-12345678901234567890123",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1.50",
            "-0",
            "0e0",
            "1E+2",
            "01",
            "-",
            "1.",
            ".5",
            "+1",
            "1e",
            "NaN",
            "Infinity",
            // Shapes.
            "",
            " ",
            " {} \n",
            "{} {}",
            "[1,]",
            r#"{"a":1,}"#,
            "[1 2]",
            "{1:2}",
            "\u{feff}{}",
            "nul",
            "null",
            "true",
            "[[[]]]",
        ]
        .iter()
        .map(|text| text.as_bytes().to_vec())
        .collect();
        let huge_integer = "9".repeat(400);
        inputs.push(huge_integer.into_bytes());
        inputs.push("1".repeat(309).into_bytes());
        inputs.push("1".repeat(310).into_bytes());
        inputs.push(b"\"\xff\"".to_vec());
        inputs.push(b"{\"\xc3\":1}".to_vec());
        inputs.push(b"\xff".to_vec());
        for depth in [99, 100, 101, 126, 127, 128, 129, 1000] {
            inputs.push(nested("[", "]", depth).into_bytes());
            inputs.push(
                nested("{\"a\":", "}", depth)
                    .replace(":}", ":1}")
                    .into_bytes(),
            );
            inputs.push(nested("[{\"a\":", "}]", depth / 2).into_bytes());
        }
        inputs
    }

    #[test]
    fn refuses_what_the_matcher_refuses_and_keeps_big_integers() {
        let deep_array = nested("[", "]", 129);
        let deep_object = nested("{\"a\":", "}", 200).replace(":}", ":1}");
        let deepest_allowed = nested("[", "]", 100);
        let too_deep = nested("{\"a\":", "}", 101).replace(":}", ":1}");
        let table: [(&[u8], bool); 10] = [
            (too_deep.as_bytes(), false),
            (br#"{"x":"\ud800"}"#, false),
            (br#"{"x":1e999999}"#, false),
            (deep_array.as_bytes(), false),
            (deep_object.as_bytes(), false),
            (deepest_allowed.as_bytes(), true),
            (br#"{"x":12345678901234567890123}"#, true),
            (
                br#"{"x":12345678901234567890123, "y": 1.50, "z":"\u00e9"}"#,
                true,
            ),
            (br#""\ud83d\ude00""#, true),
            (b"{\"a\":\"\xff\"}", false),
        ];
        for (input, valid) in table {
            let got = check_json_text(input);
            assert_eq!(
                got.is_ok(),
                valid,
                "{}: {got:?}",
                String::from_utf8_lossy(&input[..input.len().min(60)])
            );
        }
        let error = check_json_text(br#"{"x":"\ud800"}"#).unwrap_err();
        assert!(error.starts_with("is not valid JSON: "), "{error}");
        assert!(error.contains("escape"), "{error}");
        let error = check_json_text(br#"{"x":1e999999}"#).unwrap_err();
        assert!(error.contains("out of range"), "{error}");
        let error = check_json_text(nested("[", "]", 101).as_bytes()).unwrap_err();
        assert!(error.contains("nested deeper than 100"), "{error}");
        assert_eq!(
            check_json_text(b" {} ").unwrap(),
            " {} ",
            "the text comes back"
        );
    }

    #[test]
    fn agrees_with_the_matchers_parser_on_tricky_inputs() {
        let mut verdicts = [0, 0];
        for input in tricky() {
            let ours = check_json_text(&input).is_ok();
            assert_eq!(
                ours,
                matcher_accepts(&input),
                "{}",
                String::from_utf8_lossy(&input[..input.len().min(80)])
            );
            verdicts[usize::from(ours)] += 1;
        }
        assert!(verdicts[0] > 20 && verdicts[1] > 20, "{verdicts:?}");
    }

    /// A small deterministic generator (xorshift) of JSON-like texts: values nested at random,
    /// with leaves that are sometimes invalid, and now and then a byte dropped or repeated.
    struct Texts(u64);

    impl Texts {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// A number in `0..n`.
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
            choices[(self.next() % choices.len() as u64) as usize]
        }

        fn value(&mut self, out: &mut String, depth: usize) {
            let deep = self.below(4) == 0;
            match self.next() % 8 {
                0 | 1 if depth < 140 => {
                    out.push('[');
                    let items = if deep { 1 } else { self.next() % 4 };
                    for i in 0..items {
                        if i > 0 {
                            out.push(',');
                        }
                        self.value(out, depth + 1);
                    }
                    out.push(']');
                }
                2 | 3 if depth < 140 => {
                    out.push('{');
                    let members = if deep { 1 } else { self.next() % 4 };
                    for i in 0..members {
                        if i > 0 {
                            out.push(',');
                        }
                        let key = self.pick(&[r#""k""#, r#""\u00e9""#, r#""\udfff""#, r#""""#]);
                        out.push_str(key);
                        out.push(':');
                        self.value(out, depth + 1);
                    }
                    out.push('}');
                }
                _ => {
                    let leaf = self.pick(&[
                        "0",
                        "-1",
                        "1.50",
                        "12345678901234567890123",
                        "1e308",
                        "1e309",
                        "-1e999999",
                        "1e-400",
                        "true",
                        "null",
                        r#""plain""#,
                        r#""\ud800""#,
                        r#""\ud800\udc00""#,
                        r#""\u00e9""#,
                        r#""\q""#,
                        "\"é\"",
                    ]);
                    out.push_str(leaf);
                }
            }
        }
    }

    #[test]
    fn agrees_with_the_matchers_parser_on_generated_texts() {
        let mut texts = Texts(0x9e37_79b9_7f4a_7c15);
        let mut verdicts = [0, 0];
        for _ in 0..5_000 {
            let mut text = String::new();
            texts.value(&mut text, 0);
            let mut bytes = text.into_bytes();
            if texts.below(5) == 0 && !bytes.is_empty() {
                let at = (texts.next() % bytes.len() as u64) as usize;
                if texts.below(2) == 0 {
                    bytes.remove(at);
                } else {
                    bytes.insert(at, bytes[at]);
                }
            }
            let ours = check_json_text(&bytes).is_ok();
            assert_eq!(
                ours,
                matcher_accepts(&bytes),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
            verdicts[usize::from(ours)] += 1;
        }
        assert!(verdicts[0] > 500 && verdicts[1] > 500, "{verdicts:?}");
    }
}
