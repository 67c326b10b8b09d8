//! One row per append: the events of an append travel and rest as one `bytea` in
//! `eventfold_appends`, so an append of n events costs PostgreSQL one heap row and two index
//! entries instead of n rows and 3n entries (see `docs/ARCHITECTURE.md`, the PostgreSQL
//! backend). This module is that column's format.
//!
//! The format (every integer big-endian, as PostgreSQL's `int4send`/`int8send` write them, so
//! migration 3 builds the same bytes in SQL from the old one-row-per-event table):
//!
//! ```text
//! blob   = version:u8 (1) event*            the events in revision order
//! event  = id:16 bytes  occurred  type  content_type  data  metadata
//! occurred = 0x00 | 0x01 nanos:i64        when the client said the fact happened
//! type, content_type, data, metadata = length:u32 bytes
//! ```
//!
//! Decoding checks every length against what is left, the UTF-8 of the texts, the event count
//! the row states and that nothing is left over: a damaged value is an error, never a short or
//! shifted read.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use eventfold_store::embedded::internals::{nanos_to_time, time_to_nanos};
use eventfold_store::{
    check_json_syntax, content_type_from, NewEvent, Position, RecordedEvent, Revision, StreamName,
    CONTENT_TYPE_JSON,
};

/// The format's version byte.
const VERSION: u8 = 1;

/// Appends the encoding of `events` (one append, in order) to `out`.
pub fn encode(out: &mut Vec<u8>, events: &[NewEvent]) {
    out.reserve(1 + events.iter().map(|e| 40 + e.size_bytes()).sum::<usize>());
    out.push(VERSION);
    for event in events {
        out.extend_from_slice(event.id.as_bytes());
        match event.occurred_at {
            Some(time) => {
                out.push(1);
                out.extend_from_slice(&time_to_nanos(time).to_be_bytes());
            }
            None => out.push(0),
        }
        for part in [
            event.event_type.as_bytes(),
            event.content_type.as_bytes(),
            &event.data[..],
            &event.metadata[..],
        ] {
            let length = u32::try_from(part.len()).expect("event parts are far below 4 GiB");
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(part);
        }
    }
}

/// The newline-separated distinct event types of `events` (event types hold no control
/// characters), which lets a type-filtered `$all` read skip appends in SQL.
pub fn event_types(events: &[NewEvent]) -> String {
    let mut types: Vec<&str> = Vec::new();
    for event in events {
        if !types.contains(&event.event_type.as_str()) {
            types.push(&event.event_type);
        }
    }
    types.join("\n")
}

/// What a row says about its append, besides the blob.
pub struct AppendRow {
    pub stream: StreamName,
    pub first_position: u64,
    pub first_revision: u64,
    pub event_count: u32,
    pub recorded_ns: i64,
}

/// Reads the fixed-size and length-prefixed parts of a blob, refusing to run past its end.
struct Cursor {
    blob: Bytes,
    at: usize,
}

impl Cursor {
    fn take(&mut self, length: usize, what: &str) -> Result<Bytes, String> {
        let end = self
            .at
            .checked_add(length)
            .filter(|end| *end <= self.blob.len())
            .ok_or_else(|| format!("{what} runs past the end ({} bytes)", self.blob.len()))?;
        let part = self.blob.slice(self.at..end);
        self.at = end;
        Ok(part)
    }

    fn sized(&mut self, what: &str) -> Result<Bytes, String> {
        let length = self.take(4, what)?;
        let length = u32::from_be_bytes(length[..].try_into().expect("four bytes"));
        self.take(length as usize, what)
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        let bytes = self.sized(what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }
}

/// The fewest bytes an encoded event takes: an id, the occurred-at flag and four lengths.
const SMALLEST_EVENT_BYTES: usize = 16 + 1 + 4 * 4;

/// The events of `row`, whose blob is `blob`, in revision order.
pub fn decode(row: &AppendRow, blob: Bytes) -> Result<Vec<RecordedEvent>, String> {
    let mut cursor = Cursor { blob, at: 0 };
    let version = cursor.take(1, "the version byte")?;
    if version[0] != VERSION {
        return Err(format!("unknown append format version {}", version[0]));
    }
    let recorded_at: DateTime<Utc> = nanos_to_time(row.recorded_ns);
    // The count is checked against the blob as events are decoded; until then it only sizes
    // the vector, and a damaged count must not ask for more memory than the blob could hold.
    let could_hold = cursor.blob.len() / SMALLEST_EVENT_BYTES;
    let mut events = Vec::with_capacity((row.event_count as usize).min(could_hold));
    for i in 0..u64::from(row.event_count) {
        let id = cursor.take(16, "an event id")?;
        let id = Uuid::from_slice(&id).expect("sixteen bytes");
        let occurred_at = match cursor.take(1, "the occurred-at flag")?[0] {
            0 => None,
            1 => {
                let nanos = cursor.take(8, "the occurred-at time")?;
                Some(nanos_to_time(i64::from_be_bytes(
                    nanos[..].try_into().expect("eight bytes"),
                )))
            }
            other => return Err(format!("occurred-at flag {other} is neither 0 nor 1")),
        };
        let event_type = cursor.text("an event type")?;
        let content_type = cursor.text("a content type")?;
        let data = cursor.sized("event data")?;
        let metadata = cursor.sized("event metadata")?;
        // Rows have no checksum; JSON syntax is checked here instead, so a damaged row is
        // reported, never served as broken JSON (the syntax any version accepted: rows stored
        // before the stricter `check_json_text` still read).
        let content_type = content_type_from(&content_type);
        if content_type == CONTENT_TYPE_JSON {
            check_json_syntax(&data).map_err(|reason| format!("event data {reason}"))?;
        }
        check_json_syntax(&metadata).map_err(|reason| format!("event metadata {reason}"))?;
        events.push(RecordedEvent {
            id,
            stream: row.stream.clone(),
            revision: Revision(row.first_revision + i),
            position: Position(row.first_position + i),
            event_type,
            data,
            content_type,
            metadata,
            occurred_at,
            recorded_at,
        });
    }
    if cursor.at != cursor.blob.len() {
        return Err(format!(
            "{} bytes left over after the row's {} events",
            cursor.blob.len() - cursor.at,
            row.event_count
        ));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<NewEvent> {
        let mut with_time = NewEvent::new("Opened", r#"{"owner":"ada"}"#);
        with_time.occurred_at = Some(nanos_to_time(1_700_000_000_123_456_789));
        with_time.metadata = Bytes::from_static(br#"{"by":"test"}"#);
        let mut binary = NewEvent::new("Scanned", "");
        binary.content_type = "image/png".into();
        binary.data = Bytes::from_static(&[0, 159, 146, 150, 255]);
        vec![with_time, binary, NewEvent::new("Opened", "{}")]
    }

    fn row(count: u32) -> AppendRow {
        AppendRow {
            stream: StreamName::new("account-1").unwrap(),
            first_position: 40,
            first_revision: 7,
            event_count: count,
            recorded_ns: 1_800_000_000_000_000_000,
        }
    }

    #[test]
    fn events_come_back_as_they_went_in() {
        let events = sample();
        let mut blob = Vec::new();
        encode(&mut blob, &events);
        let decoded = decode(&row(3), Bytes::from(blob)).unwrap();
        assert_eq!(decoded.len(), 3);
        for (i, (new, recorded)) in events.iter().zip(&decoded).enumerate() {
            assert_eq!(recorded.id, new.id);
            assert_eq!(recorded.event_type, new.event_type);
            assert_eq!(recorded.content_type, new.content_type);
            assert_eq!(recorded.data, new.data);
            assert_eq!(recorded.metadata, new.metadata);
            assert_eq!(recorded.occurred_at, new.occurred_at);
            assert_eq!(recorded.revision, Revision(7 + i as u64));
            assert_eq!(recorded.position, Position(40 + i as u64));
            assert_eq!(
                recorded.recorded_at,
                nanos_to_time(1_800_000_000_000_000_000)
            );
        }
        assert_eq!(event_types(&events), "Opened\nScanned");
    }

    #[test]
    fn damage_is_an_error_never_a_short_read() {
        let mut blob = Vec::new();
        encode(&mut blob, &sample());
        // Every cut, and every count that does not match, is refused.
        for cut in 0..blob.len() {
            assert!(decode(&row(3), Bytes::copy_from_slice(&blob[..cut])).is_err());
        }
        assert!(decode(&row(2), Bytes::from(blob.clone())).is_err());
        assert!(decode(&row(4), Bytes::from(blob.clone())).is_err());
        let mut version = blob.clone();
        version[0] = 9;
        assert!(decode(&row(3), Bytes::from(version)).is_err());
        // A length that points past the end.
        let mut length = blob.clone();
        length[1 + 16 + 1 + 8] = 0xff;
        assert!(decode(&row(3), Bytes::from(length)).is_err());
        let mut flag = blob.clone();
        flag[17] = 7;
        assert!(decode(&row(3), Bytes::from(flag)).is_err());
        // A damaged count asks for no more memory than the blob could hold.
        assert!(decode(&row(u32::MAX), Bytes::from(blob)).is_err());
        // JSON data or metadata that is not JSON (or not UTF-8) is damage too.
        for (data, metadata) in [("{\"a\":", "{}"), ("{}", "{\"by\":\"\u{1}"), ("{}", "")] {
            let mut event = NewEvent::new("T", data.to_owned());
            event.metadata = Bytes::from(metadata.to_owned());
            let mut blob = Vec::new();
            encode(&mut blob, &[event]);
            let refused = decode(&row(1), Bytes::from(blob));
            assert!(refused.is_err(), "{data:?} {metadata:?}: {refused:?}");
        }
        let mut not_utf8 = NewEvent::new("T", &b"{\"a\":\"\xff\"}"[..]);
        not_utf8.metadata = Bytes::from_static(b"{}");
        let mut blob = Vec::new();
        encode(&mut blob, &[not_utf8]);
        assert!(decode(&row(1), Bytes::from(blob)).is_err());
    }
}
