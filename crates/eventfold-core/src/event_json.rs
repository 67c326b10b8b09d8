//! The JSON form of a recorded event, which the HTTP API, the CLI and the client all use: JSON
//! data and metadata inline, byte for byte; other data as a base64 string; times as RFC 3339
//! in UTC with nanoseconds.
//!
//! Both directions sit on the hot path of `$all` reads over HTTP (pages of 10,000 events), so
//! each avoids the general machinery where it showed in profiles: stored JSON is written
//! without being parsed again, times are formatted and parsed by hand in the one layout the
//! store writes (anything else goes through chrono), and data is copied once when read.

use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::event::is_json_content_type;
use crate::{content_type_from, Position, RecordedEvent, Revision, StreamName, Timestamp};

impl RecordedEvent {
    /// About how many bytes this event's JSON form takes: enough to size a page's buffer once
    /// instead of growing it (and copying it) many times.
    pub fn json_size_hint(&self) -> usize {
        let data = if self.is_json() {
            self.data.len()
        } else {
            self.data.len().div_ceil(3) * 4
        };
        // Field names, the id, two times, numbers and punctuation: under 256 bytes.
        256 + data + self.metadata.len() + self.stream.as_str().len() + self.event_type.len()
    }
}

impl Serialize for RecordedEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut event = serializer.serialize_struct("RecordedEvent", 10)?;
        event.serialize_field("stream", &self.stream)?;
        event.serialize_field("revision", &self.revision)?;
        event.serialize_field("position", &self.position)?;
        event.serialize_field("id", &self.id)?;
        event.serialize_field("type", &self.event_type)?;
        event.serialize_field("content_type", &self.content_type)?;
        match self.is_json().then(|| stored_json(&self.data)).flatten() {
            Some(data) => event.serialize_field("data", &data)?,
            None => {
                let text = base64::engine::general_purpose::STANDARD.encode(&self.data);
                event.serialize_field("data", &text)?
            }
        }
        let metadata = stored_json(&self.metadata).unwrap_or(StoredJson("{}"));
        event.serialize_field("metadata", &metadata)?;
        event.serialize_field("occurred_at", &self.occurred_at.map(Rfc3339))?;
        event.serialize_field("recorded_at", &Rfc3339(self.recorded_at))?;
        event.end()
    }
}

/// JSON text the store checked when the event was written (every backend refuses an append
/// whose JSON data or metadata fails [`crate::check_json_text`]; the embedded engine's frames
/// are checksummed and PostgreSQL's rows are checked again when decoded), written into the
/// output as it is instead of being parsed again. A `RecordedEvent` built by hand must keep
/// the same promise: JSON content type, JSON text.
///
/// This is serde_json's own `RawValue` mechanism: a struct with serde_json's raw-value token as
/// its name, which serde_json's serializers write verbatim (and its `Value` serializer parses).
/// `RawValue` itself can only be built by parsing, which was a tenth of the server's time
/// serving `$all` pages. The round-trip test below fails if serde_json ever changes the token.
struct StoredJson<'a>(&'a str);

/// The struct name (and field name) serde_json's serializers recognise as raw JSON.
const SERDE_JSON_RAW_TOKEN: &str = "$serde_json::private::RawValue";

/// Stored JSON as text, without the whitespace around it (it may end in a newline, which would
/// break a line of JSON output or an SSE `data:` line).
fn stored_json(bytes: &[u8]) -> Option<StoredJson<'_>> {
    std::str::from_utf8(bytes.trim_ascii()).ok().map(StoredJson)
}

impl Serialize for StoredJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut raw = serializer.serialize_struct(SERDE_JSON_RAW_TOKEN, 1)?;
        raw.serialize_field(SERDE_JSON_RAW_TOKEN, self.0)?;
        raw.end()
    }
}

/// A time as RFC 3339 in UTC with nanoseconds (`2026-11-23T17:19:37.948350037Z`), formatted
/// into a buffer and written as one string: the default path escapes it character by
/// character, which showed in profiles of `$all` reads.
struct Rfc3339(Timestamp);

/// The length of the layout `Rfc3339` writes for years 0 to 9999.
const RFC3339_NANOS_LEN: usize = "0000-00-00T00:00:00.000000000Z".len();

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use chrono::{Datelike, Timelike};
        let time = self.0;
        let year = time.year();
        if !(0..=9999).contains(&year) {
            return serializer
                .collect_str(&time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
        }
        let mut text = *b"0000-00-00T00:00:00.000000000Z";
        let mut put = |at: usize, digits: usize, mut value: u32| {
            for i in (at..at + digits).rev() {
                text[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year as u32);
        put(5, 2, time.month());
        put(8, 2, time.day());
        put(11, 2, time.hour());
        put(14, 2, time.minute());
        put(17, 2, time.second());
        put(20, 9, time.nanosecond().min(999_999_999));
        serializer.serialize_str(std::str::from_utf8(&text).expect("ASCII digits"))
    }
}

/// Reads the layout `Rfc3339` writes without chrono's general parser; `None` for any other
/// text (which chrono then reads, or refuses).
fn parse_rfc3339_nanos(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() != RFC3339_NANOS_LEN {
        return None;
    }
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    let well_placed = punctuation.iter().all(|&(at, byte)| bytes[at] == byte)
        && bytes[19] == b'.'
        && bytes[29] == b'Z';
    if !well_placed {
        return None;
    }
    let number = |at: usize, digits: usize| -> Option<u32> {
        bytes[at..at + digits]
            .iter()
            .try_fold(0u32, |value, &byte| {
                byte.is_ascii_digit()
                    .then(|| value * 10 + u32::from(byte - b'0'))
            })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(5, 2)?,
        number(8, 2)?,
    )?;
    let time = chrono::NaiveTime::from_hms_nano_opt(
        number(11, 2)?,
        number(14, 2)?,
        number(17, 2)?,
        number(20, 9)?,
    )?;
    Some(date.and_time(time).and_utc())
}

/// A time in the JSON form: the layout `Rfc3339` writes, or any RFC 3339 text chrono reads.
struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = Timestamp;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an RFC 3339 time")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
        if let Some(time) = parse_rfc3339_nanos(text) {
            return Ok(time);
        }
        text.parse::<Timestamp>().map_err(E::custom)
    }
}

/// `recorded_at`.
fn deserialize_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    deserializer.deserialize_str(TimeVisitor)
}

/// `occurred_at`: a time or null.
fn deserialize_optional_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Timestamp>, D::Error> {
    #[derive(Deserialize)]
    struct Time(#[serde(deserialize_with = "deserialize_time")] Timestamp);
    Ok(Option::<Time>::deserialize(deserializer)?.map(|Time(time)| time))
}

impl<'de> Deserialize<'de> for RecordedEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            stream: StreamName,
            revision: Revision,
            position: Position,
            id: Uuid,
            #[serde(rename = "type")]
            event_type: String,
            content_type: String,
            data: Box<RawValue>,
            metadata: Box<RawValue>,
            #[serde(default, deserialize_with = "deserialize_optional_time")]
            occurred_at: Option<Timestamp>,
            #[serde(deserialize_with = "deserialize_time")]
            recorded_at: Timestamp,
        }
        let wire = Wire::deserialize(deserializer)?;
        let data = if is_json_content_type(&wire.content_type) {
            Bytes::from(String::from(Box::<str>::from(wire.data)))
        } else {
            let text: String = serde_json::from_str(wire.data.get()).map_err(de::Error::custom)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(de::Error::custom)?;
            Bytes::from(bytes)
        };
        Ok(Self {
            id: wire.id,
            stream: wire.stream,
            revision: wire.revision,
            position: wire.position,
            event_type: wire.event_type,
            data,
            content_type: content_type_from(&wire.content_type),
            metadata: Bytes::from(String::from(Box::<str>::from(wire.metadata))),
            occurred_at: wire.occurred_at,
            recorded_at: wire.recorded_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CONTENT_TYPE_JSON;

    fn event() -> RecordedEvent {
        RecordedEvent {
            id: Uuid::from_u128(7),
            stream: StreamName::new("account-1").unwrap(),
            revision: Revision(3),
            position: Position(9),
            event_type: "Deposited".into(),
            data: Bytes::from_static(b"{\"b\":1, \"a\":  2}"),
            content_type: content_type_from(CONTENT_TYPE_JSON),
            metadata: Bytes::from_static(b"{\"by\": \"teller\"}"),
            occurred_at: None,
            recorded_at: chrono::DateTime::from_timestamp(1_700_000_000, 5).unwrap(),
        }
    }

    #[test]
    fn json_form_keeps_data_bytes_and_round_trips() {
        let event = event();
        let text = serde_json::to_string(&event).unwrap();
        assert!(
            text.contains("\"data\":{\"b\":1, \"a\":  2}")
                && text.contains("\"metadata\":{\"by\": \"teller\"}"),
            "data and metadata byte for byte: {text}"
        );
        assert_eq!(serde_json::from_str::<RecordedEvent>(&text).unwrap(), event);
        assert!(
            text.len() <= event.json_size_hint(),
            "{} > {}",
            text.len(),
            event.json_size_hint()
        );
        let binary = RecordedEvent {
            data: Bytes::from_static(&[0, 255]),
            content_type: content_type_from("application/octet-stream"),
            ..event
        };
        let text = serde_json::to_string(&binary).unwrap();
        assert!(text.contains("\"data\":\"AP8=\""), "{text}");
        assert_eq!(
            serde_json::from_str::<RecordedEvent>(&text).unwrap(),
            binary
        );
    }

    #[test]
    fn whitespace_around_stored_json_is_left_out_and_occurred_at_may_be_missing() {
        let spaced = RecordedEvent {
            data: Bytes::from_static(b" {\"a\": 1}\n"),
            metadata: Bytes::from_static(b"\t{}\r\n"),
            ..event()
        };
        let text = serde_json::to_string(&spaced).unwrap();
        assert!(
            text.contains("\"data\":{\"a\": 1},") && text.contains("\"metadata\":{},"),
            "{text}"
        );
        let mut json = serde_json::to_value(event()).unwrap();
        json.as_object_mut().unwrap().remove("occurred_at");
        let read: RecordedEvent = serde_json::from_str(&json.to_string()).unwrap();
        assert_eq!(read.occurred_at, None);
    }

    #[test]
    fn stored_json_becomes_a_value_inside_a_json_tree() {
        let value = serde_json::to_value(event()).unwrap();
        assert_eq!(value["data"], serde_json::json!({"a": 2, "b": 1}));
        assert_eq!(value["metadata"]["by"], "teller");
        let from_value: RecordedEvent = serde_json::from_str(&value.to_string()).unwrap();
        assert_eq!(from_value.revision, Revision(3));
    }

    #[test]
    fn times_read_back_exactly_and_other_rfc3339_layouts_still_parse() {
        let times = [
            chrono::DateTime::from_timestamp(0, 0).unwrap(),
            chrono::DateTime::from_timestamp(1_700_000_000, 999_999_999).unwrap(),
            chrono::DateTime::from_timestamp(253_402_300_799, 1).unwrap(), // 9999-12-31
        ];
        for time in times {
            let text = serde_json::to_string(&Rfc3339(time)).unwrap();
            let parsed = parse_rfc3339_nanos(text.trim_matches('"'));
            assert_eq!(parsed, Some(time), "{text}");
        }
        let by_chrono: Timestamp = "2026-11-23T18:19:37.5+01:00".parse().unwrap();
        let mut json = serde_json::to_value(event()).unwrap();
        json["recorded_at"] = "2026-11-23T18:19:37.5+01:00".into();
        json["occurred_at"] = "2026-11-23T17:19:37Z".into();
        let event: RecordedEvent = serde_json::from_str(&json.to_string()).unwrap();
        assert_eq!(event.recorded_at, by_chrono);
        assert_eq!(
            event.occurred_at,
            Some("2026-11-23T17:19:37Z".parse().unwrap())
        );
        let invalid = [
            "2026-13-01T00:00:00.000000000Z",
            "2026-02-30T00:00:00.000000000Z",
            "2026-01-01T24:00:00.000000000Z",
            "2026-01-01T00:00:00.00000000xZ",
        ];
        for bad in invalid {
            let mut json = serde_json::to_value(self::event()).unwrap();
            json["recorded_at"] = bad.into();
            let refused = serde_json::from_str::<RecordedEvent>(&json.to_string()).is_err();
            assert!(refused, "{bad}");
        }
        for other_layout in invalid
            .into_iter()
            .chain(["2026-01-01 00:00:00.000000000Z"])
        {
            assert_eq!(parse_rfc3339_nanos(other_layout), None, "{other_layout}");
        }
    }
}
