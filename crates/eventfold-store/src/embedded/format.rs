//! The on-disk format of log segments (see docs/FORMAT.md, which this file implements).
//!
//! A segment is a 32-byte header followed by frames. A frame is
//! `body_len: u32 LE | header check: u32 LE | body check: u32 LE | body`, both checks CRC-32C
//! seeded with the segment's random salt (over the 4 length bytes, and over the body). Without
//! the salt, bytes inside an event's data cannot pass for a frame, so a torn write is never
//! mistaken for damage, and scanning for the next valid frame costs O(1) per offset.
//! A body is an event record or a stream-state record; the last record of every atomic write
//! carries [`FLAG_END_OF_WRITE`], so a write that did not fully reach the disk is recognised and
//! cut away at open.

use bytes::{BufMut, Bytes};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use eventfold_core::{Position, RecordedEvent, Revision, StreamName};

use super::field_reader::FieldReader;

/// The first eight bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"EVFOLDLG";
/// The segment format version this code writes and reads.
pub const SEGMENT_FORMAT_VERSION: u32 = 2;
/// Bytes before the first frame.
pub const SEGMENT_HEADER_BYTES: u64 = 32;
/// Bytes of a frame before its body.
pub const FRAME_HEADER_BYTES: usize = 12;

/// A segment's random checksum seed (in its header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Salt(pub u32);

impl Salt {
    /// A fresh random salt, for a new segment.
    pub fn random() -> Self {
        Self(Uuid::new_v4().as_u128() as u32)
    }
}
/// The largest frame body this code accepts; anything larger is damage, not data.
pub const FRAME_BODY_BYTES_MAX: usize = 4 << 20;

/// Record kind: an event.
const KIND_EVENT: u8 = 1;
/// Record kind: a stream's state (metadata, soft delete, tombstone) as JSON.
const KIND_STREAM_STATE: u8 = 2;
/// Record kind: an event erased by a scavenge. It keeps the event's place in the log (flags,
/// position, revision, `recorded_at`, id and stream, in an event record's layout) and nothing
/// of its content: the type, content type, metadata and data are empty, `occurred_at` unset.
const KIND_ERASED: u8 = 3;
/// Flag: the last record of an atomic write.
pub const FLAG_END_OF_WRITE: u8 = 1;
/// Flag: the append this event belongs to was made when its stream did not exist (so it could
/// have expected `no_stream`). Set on every event of such an append.
pub const FLAG_CREATED_STREAM: u8 = 2;

/// Fixed part of an event record's body: kind, flags, position, revision, recorded_at,
/// occurred_at, id, and the five lengths.
const EVENT_FIXED_BYTES: usize = 1 + 1 + 8 + 8 + 8 + 8 + 16 + 2 + 2 + 2 + 4 + 4;
const STREAM_STATE_FIXED_BYTES: usize = 1 + 1 + 2 + 4;
/// `occurred_at` value meaning "not given".
const NO_TIME: i64 = i64::MIN;

/// Encodes a segment header for a segment whose first event has `first_position`.
pub fn encode_segment_header(
    first_position: Position,
    salt: Salt,
) -> [u8; SEGMENT_HEADER_BYTES as usize] {
    let mut header = [0u8; SEGMENT_HEADER_BYTES as usize];
    header[0..8].copy_from_slice(&SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&salt.0.to_le_bytes());
    header[16..24].copy_from_slice(&first_position.0.to_le_bytes());
    let crc = crc32c::crc32c(&header[0..24]);
    header[24..28].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Decodes a segment header: its first position and salt, or what is wrong with it.
pub fn decode_segment_header(header: &[u8]) -> Result<(Position, Salt), String> {
    if header.len() < SEGMENT_HEADER_BYTES as usize {
        return Err(format!(
            "header is {} bytes, expected {SEGMENT_HEADER_BYTES}",
            header.len()
        ));
    }
    if header[0..8] != SEGMENT_MAGIC {
        return Err("not an Eventfold segment (bad magic)".into());
    }
    let crc = u32::from_le_bytes(header[24..28].try_into().expect("4 bytes"));
    if crc != crc32c::crc32c(&header[0..24]) {
        return Err("segment header checksum mismatch".into());
    }
    let version = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    if version != SEGMENT_FORMAT_VERSION {
        return Err(format!(
            "segment format version {version} is not supported (this build reads {SEGMENT_FORMAT_VERSION})"
        ));
    }
    let salt = Salt(u32::from_le_bytes(
        header[12..16].try_into().expect("4 bytes"),
    ));
    let first_position = Position(u64::from_le_bytes(
        header[16..24].try_into().expect("8 bytes"),
    ));
    Ok((first_position, salt))
}

/// The borrowed parts of an event to encode.
pub struct EventParts<'a> {
    pub position: Position,
    pub revision: Revision,
    pub recorded_at_nanos: i64,
    pub occurred_at_nanos: Option<i64>,
    pub id: Uuid,
    pub stream: &'a str,
    pub event_type: &'a str,
    pub content_type: &'a str,
    pub metadata: &'a [u8],
    pub data: &'a [u8],
}

/// Appends one framed event record to `out`.
pub fn encode_event(out: &mut Vec<u8>, salt: Salt, event: &EventParts<'_>, flags: u8) {
    let body_len = EVENT_FIXED_BYTES
        + event.stream.len()
        + event.event_type.len()
        + event.content_type.len()
        + event.metadata.len()
        + event.data.len();
    let start = begin_frame(out, body_len);
    out.put_u8(KIND_EVENT);
    out.put_u8(flags);
    out.put_u64_le(event.position.0);
    out.put_u64_le(event.revision.0);
    out.put_i64_le(event.recorded_at_nanos);
    // The one instant that equals the "not given" marker is stored a nanosecond later.
    let occurred_at = event.occurred_at_nanos.map(|nanos| nanos.max(NO_TIME + 1));
    out.put_i64_le(occurred_at.unwrap_or(NO_TIME));
    out.put_slice(event.id.as_bytes());
    out.put_u16_le(len_u16(event.stream.len()));
    out.put_u16_le(len_u16(event.event_type.len()));
    out.put_u16_le(len_u16(event.content_type.len()));
    out.put_u32_le(len_u32(event.metadata.len()));
    out.put_u32_le(len_u32(event.data.len()));
    out.put_slice(event.stream.as_bytes());
    out.put_slice(event.event_type.as_bytes());
    out.put_slice(event.content_type.as_bytes());
    out.put_slice(event.metadata);
    out.put_slice(event.data);
    end_frame(out, start, salt);
}

/// Appends the erased form of the event record `body` (a checked event body) to `out`.
pub fn encode_erased(out: &mut Vec<u8>, salt: Salt, body: &[u8]) -> Result<(), String> {
    if body.len() < EVENT_FIXED_BYTES || body[0] != KIND_EVENT {
        return Err("only an event can be erased".into());
    }
    let stream_len = u16::from_le_bytes(body[50..52].try_into().expect("2 bytes")) as usize;
    let stream = body
        .get(EVENT_FIXED_BYTES..EVENT_FIXED_BYTES + stream_len)
        .ok_or("stream name runs past the record")?;
    let start = begin_frame(out, EVENT_FIXED_BYTES + stream_len);
    out.put_u8(KIND_ERASED);
    out.put_slice(&body[1..26]); // flags, position, revision, recorded_at
    out.put_i64_le(NO_TIME);
    out.put_slice(&body[34..52]); // id, stream name length
    out.put_u16_le(0);
    out.put_u16_le(0);
    out.put_u32_le(0);
    out.put_u32_le(0);
    out.put_slice(stream);
    end_frame(out, start, salt);
    Ok(())
}

/// True for an event read from an erased record (only those have an empty type: appends
/// refuse one).
pub fn is_erased(event: &RecordedEvent) -> bool {
    event.event_type.is_empty()
}

/// `recorded_at` of a checked event body (erased or not), in Unix nanoseconds.
pub fn recorded_at_nanos(body: &[u8]) -> i64 {
    i64::from_le_bytes(body[18..26].try_into().expect("8 bytes"))
}

/// True when a checked frame body is an erased event.
pub fn body_is_erased(body: &[u8]) -> bool {
    body.first() == Some(&KIND_ERASED)
}

/// Appends one framed stream-state record (always the end of its write) to `out`.
pub fn encode_stream_state(out: &mut Vec<u8>, salt: Salt, stream: &str, state_json: &[u8]) {
    let body_len = STREAM_STATE_FIXED_BYTES + stream.len() + state_json.len();
    let start = begin_frame(out, body_len);
    out.put_u8(KIND_STREAM_STATE);
    out.put_u8(FLAG_END_OF_WRITE);
    out.put_u16_le(len_u16(stream.len()));
    out.put_u32_le(len_u32(state_json.len()));
    out.put_slice(stream.as_bytes());
    out.put_slice(state_json);
    end_frame(out, start, salt);
}

fn len_u16(len: usize) -> u16 {
    u16::try_from(len).expect("field length was checked against the limits")
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("field length was checked against the limits")
}

fn begin_frame(out: &mut Vec<u8>, body_len: usize) -> usize {
    assert!(body_len <= FRAME_BODY_BYTES_MAX, "limits keep frames small");
    let start = out.len();
    out.put_u32_le(len_u32(body_len));
    out.put_u64_le(0); // the two checks, filled in by end_frame
    start
}

fn end_frame(out: &mut [u8], start: usize, salt: Salt) {
    let body_len = u32::from_le_bytes(out[start..start + 4].try_into().expect("4 bytes")) as usize;
    assert_eq!(
        out.len() - start - FRAME_HEADER_BYTES,
        body_len,
        "body matches its length"
    );
    let header_check = crc32c::crc32c_append(salt.0, &out[start..start + 4]);
    let body_check = crc32c::crc32c_append(salt.0, &out[start + FRAME_HEADER_BYTES..]);
    out[start + 4..start + 8].copy_from_slice(&header_check.to_le_bytes());
    out[start + 8..start + 12].copy_from_slice(&body_check.to_le_bytes());
}

/// Why the bytes at some offset are not a valid frame.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes remain than the frame needs.
    Truncated,
    /// The length field is zero or beyond the maximum.
    BadLength(u32),
    /// The checksum does not match.
    BadChecksum,
}

/// Checks the frame at the start of `bytes` against the segment's `salt`; returns its body
/// and its total length. The header check comes first, so garbage is rejected in O(1).
pub fn check_frame(bytes: &[u8], salt: Salt) -> Result<(&[u8], usize), FrameError> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err(FrameError::Truncated);
    }
    let read_u32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let body_len = read_u32(0);
    if body_len < 2 || body_len as usize > FRAME_BODY_BYTES_MAX {
        return Err(FrameError::BadLength(body_len));
    }
    if read_u32(4) != crc32c::crc32c_append(salt.0, &bytes[0..4]) {
        return Err(FrameError::BadChecksum);
    }
    let total = FRAME_HEADER_BYTES + body_len as usize;
    if bytes.len() < total {
        return Err(FrameError::Truncated);
    }
    let body = &bytes[FRAME_HEADER_BYTES..total];
    if read_u32(8) != crc32c::crc32c_append(salt.0, body) {
        return Err(FrameError::BadChecksum);
    }
    Ok((body, total))
}

/// The body of a checked frame, decoded.
#[derive(Debug)]
pub enum Record {
    /// An event; the body bytes are kept so data and metadata are slices, not copies.
    Event { event: RecordedEvent, flags: u8 },
    /// A stream's state, as JSON.
    StreamState { stream: String, state_json: Bytes },
}

impl Record {
    /// True when this record ends an atomic write.
    pub fn ends_write(&self) -> bool {
        match self {
            Record::Event { flags, .. } => flags & FLAG_END_OF_WRITE != 0,
            Record::StreamState { .. } => true,
        }
    }
}

/// The kind of a checked frame's body without decoding it, and its position if an event.
pub fn peek_event_position(body: &[u8]) -> Option<Position> {
    (body.len() >= 10 && (body[0] == KIND_EVENT || body[0] == KIND_ERASED))
        .then(|| Position(u64::from_le_bytes(body[2..10].try_into().expect("8 bytes"))))
}

/// What identifies an event record, read without decoding the rest.
#[derive(Debug, PartialEq, Eq)]
pub struct EventIdentity<'a> {
    pub revision: u64,
    pub id: Uuid,
    pub stream: &'a str,
    /// True when the record ends its write (the last event of an append).
    pub ends_write: bool,
    /// True when its append was made while the stream did not exist.
    pub created_stream: bool,
}

/// The identity of an event record without decoding the rest.
pub fn peek_event_identity(body: &[u8]) -> Result<EventIdentity<'_>, String> {
    if body.len() < EVENT_FIXED_BYTES || !(body[0] == KIND_EVENT || body[0] == KIND_ERASED) {
        return Err("not an event record".into());
    }
    let stream_len = u16::from_le_bytes(body[50..52].try_into().expect("2 bytes")) as usize;
    let stream = body
        .get(EVENT_FIXED_BYTES..EVENT_FIXED_BYTES + stream_len)
        .ok_or("stream name runs past the record")?;
    Ok(EventIdentity {
        revision: u64::from_le_bytes(body[10..18].try_into().expect("8 bytes")),
        id: Uuid::from_slice(&body[34..50]).expect("16 bytes"),
        stream: std::str::from_utf8(stream).map_err(|_| "stream name is not UTF-8")?,
        ends_write: body[1] & FLAG_END_OF_WRITE != 0,
        created_stream: body[1] & FLAG_CREATED_STREAM != 0,
    })
}

/// Decodes a checked frame body. Data and metadata become slices of `body` (no copy).
/// `names` remembers the last stream name, so consecutive events of one stream share it.
pub fn decode_record(body: Bytes, names: &mut NameCache) -> Result<Record, String> {
    let mut fields = FieldReader::new(&body);
    let kind = fields.u8()?;
    let flags = fields.u8()?;
    match kind {
        KIND_EVENT | KIND_ERASED => {
            let event = decode_event(&body, fields, names)?;
            if (kind == KIND_ERASED) != event.event_type.is_empty() {
                return Err("an event record without a type, or an erased one with one".into());
            }
            Ok(Record::Event { event, flags })
        }
        KIND_STREAM_STATE => {
            let stream_len = fields.u16()? as usize;
            let json_len = fields.u32()? as usize;
            if fields.remaining() != stream_len + json_len {
                return Err("stream-state record lengths do not add up".into());
            }
            let stream = fields.str(stream_len, "stream")?.to_owned();
            let start = fields.position();
            Ok(Record::StreamState {
                stream,
                state_json: body.slice(start..start + json_len),
            })
        }
        other => Err(format!("unknown record kind {other}")),
    }
}

fn decode_event(
    body: &Bytes,
    mut fields: FieldReader<'_>,
    names: &mut NameCache,
) -> Result<RecordedEvent, String> {
    let position = Position(fields.u64()?);
    let revision = Revision(fields.u64()?);
    let recorded_at = nanos_to_time(fields.u64()? as i64);
    let occurred_at = match fields.u64()? as i64 {
        NO_TIME => None,
        nanos => Some(nanos_to_time(nanos)),
    };
    let id = Uuid::from_slice(fields.take(16)?).expect("16 bytes");
    let stream_len = fields.u16()? as usize;
    let type_len = fields.u16()? as usize;
    let content_type_len = fields.u16()? as usize;
    let metadata_len = fields.u32()? as usize;
    let data_len = fields.u32()? as usize;
    if fields.remaining() != stream_len + type_len + content_type_len + metadata_len + data_len {
        return Err("event record lengths do not add up".into());
    }
    let stream = names.get(fields.str(stream_len, "stream")?)?;
    let event_type = fields.str(type_len, "type")?.to_owned();
    let content_type =
        eventfold_core::content_type_from(fields.str(content_type_len, "content type")?);
    let metadata_start = fields.position();
    let data_start = metadata_start + metadata_len;
    Ok(RecordedEvent {
        id,
        stream,
        revision,
        position,
        event_type,
        data: body.slice(data_start..data_start + data_len),
        content_type,
        metadata: body.slice(metadata_start..data_start),
        occurred_at,
        recorded_at,
    })
}

/// The last stream name decoded, reused while consecutive events share it.
#[derive(Default)]
pub struct NameCache {
    last: Option<StreamName>,
}

impl NameCache {
    fn get(&mut self, name: &str) -> Result<StreamName, String> {
        if let Some(last) = &self.last {
            if last.as_str() == name {
                return Ok(last.clone());
            }
        }
        let stream = StreamName::new(name).map_err(|error| error.to_string())?;
        self.last = Some(stream.clone());
        Ok(stream)
    }
}

/// A time as nanoseconds since the Unix epoch (saturating outside ±292 years).
pub fn time_to_nanos(time: DateTime<Utc>) -> i64 {
    time.timestamp_nanos_opt()
        .unwrap_or(if time.timestamp() < 0 {
            i64::MIN + 1
        } else {
            i64::MAX
        })
}

/// Nanoseconds since the Unix epoch as a time.
pub fn nanos_to_time(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: Salt = Salt(0x5eed_1234);

    #[test]
    fn a_frame_is_only_valid_with_its_own_salt() {
        let frame = sample(FLAG_END_OF_WRITE);
        assert!(check_frame(&frame, SALT).is_ok());
        assert_eq!(
            check_frame(&frame, Salt(SALT.0 + 1)),
            Err(FrameError::BadChecksum)
        );
    }

    fn sample(flags: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let parts = EventParts {
            position: Position(7),
            revision: Revision(3),
            recorded_at_nanos: 1_700_000_000_000_000_000,
            occurred_at_nanos: None,
            id: Uuid::from_u128(42),
            stream: "account-1",
            event_type: "Deposited",
            content_type: "application/json",
            metadata: b"{}",
            data: b"{\"amount\":5}",
        };
        encode_event(&mut out, SALT, &parts, flags);
        out
    }

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let header = encode_segment_header(Position(99), SALT);
        assert_eq!(decode_segment_header(&header), Ok((Position(99), SALT)));
        let mut damaged = header;
        damaged[17] ^= 1;
        assert!(decode_segment_header(&damaged)
            .unwrap_err()
            .contains("checksum"));
        assert!(decode_segment_header(b"nope").is_err());
    }

    #[test]
    fn event_round_trips() {
        let frame = sample(FLAG_END_OF_WRITE);
        let (body, total) = check_frame(&frame, SALT).unwrap();
        assert_eq!(total, frame.len());
        assert_eq!(peek_event_position(body), Some(Position(7)));
        let identity = peek_event_identity(body).unwrap();
        assert_eq!(
            (identity.revision, identity.id, identity.stream),
            (3, Uuid::from_u128(42), "account-1")
        );
        assert!(identity.ends_write);
        let record =
            decode_record(Bytes::copy_from_slice(body), &mut NameCache::default()).unwrap();
        assert!(record.ends_write());
        let Record::Event { event, .. } = record else {
            panic!("an event")
        };
        assert_eq!(event.stream.as_str(), "account-1");
        assert_eq!(event.revision, Revision(3));
        assert_eq!(&event.data[..], b"{\"amount\":5}");
        assert_eq!(event.id, Uuid::from_u128(42));
    }

    #[test]
    fn every_flipped_bit_and_every_cut_is_detected() {
        let frame = sample(0);
        for cut in 0..frame.len() {
            assert!(check_frame(&frame[..cut], SALT).is_err(), "cut at {cut}");
        }
        for byte in 0..frame.len() {
            let mut damaged = frame.clone();
            damaged[byte] ^= 0x10;
            assert!(check_frame(&damaged, SALT).is_err(), "flip in byte {byte}");
        }
    }
}
