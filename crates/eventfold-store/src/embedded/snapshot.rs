//! The index snapshot: the derived index saved at a clean close, so the next open reads it
//! instead of scanning the whole log. It is derived data: delete it and the next open rebuilds
//! the index from the log. It is trusted only if its checksum matches and the log still holds
//! what it describes (every segment it knows is at least as long as it says, and the last 4 KiB
//! before its end in each segment hash the same). See docs/FORMAT.md.

use eventfold_core::{Position, StreamName};

use super::durable_end::LogEnd;
use super::field_reader::FieldReader;
use super::format::Salt;
use super::ids::{IdKey, IdTable};
use super::index::{Index, SegmentIndex, StreamEntry, StreamState};
use super::io::{SegmentFile, Storage};

/// The snapshot's file name in the data directory.
pub const SNAPSHOT_FILE: &str = "index.snapshot";
const MAGIC: [u8; 8] = *b"EVFOLDIX";
const VERSION: u32 = 5;
/// Bytes before each segment's end whose checksum ties the snapshot to the log.
const TAIL_CHECK_BYTES: u64 = 4096;

/// Writes `index` as the snapshot of the log, atomically (temporary file, sync, rename).
pub fn write(storage: &dyn Storage, index: &Index) -> std::io::Result<()> {
    let Some(ids) = index.ids.as_ref().filter(|ids| ids.is_resolved()) else {
        return Err(std::io::Error::other("the index holds no id table to save"));
    };
    let mut out = Vec::with_capacity(64 + index.next_position as usize * 28);
    out.extend_from_slice(&MAGIC);
    put_u32(&mut out, VERSION);
    put_u64(&mut out, index.next_position);
    put_u64(&mut out, index.last_recorded_at_nanos as u64);
    put_u64(&mut out, index.segments.len() as u64);
    for segment in &index.segments {
        put_u64(&mut out, segment.first_position.0);
        put_u64(&mut out, segment.end);
        put_u32(&mut out, segment.salt.0);
        put_u32(&mut out, tail_checksum(&*segment.file, segment.end)?);
        let offsets = segment.offsets.iter().map(|offset| u64::from(*offset));
        put_ascending(&mut out, offsets, segment.offsets.len());
    }
    let marks = index.time_marks.iter().map(|t| *t as u64);
    put_ascending(&mut out, marks, index.time_marks.len());
    put_u64(&mut out, index.streams.len() as u64);
    for (name, entry) in &index.streams {
        put_str(&mut out, name.as_str());
        put_ascending(
            &mut out,
            entry.positions.iter().copied(),
            entry.positions.len(),
        );
        let state = if *entry.state == StreamState::default() {
            Vec::new()
        } else {
            serde_json::to_vec(&*entry.state).expect("stream state serialises")
        };
        put_u64(&mut out, state.len() as u64);
        out.extend_from_slice(&state);
    }
    for map in [&index.types, &index.categories] {
        put_u64(&mut out, map.len() as u64);
        for (key, positions) in map {
            put_str(&mut out, key);
            put_ascending(&mut out, positions.iter().copied(), positions.len());
        }
    }
    put_ids(&mut out, ids);
    put_u64(&mut out, index.erased_events);
    let crc = crc32c::crc32c(&out);
    put_u32(&mut out, crc);

    storage.replace_file(SNAPSHOT_FILE, &out, true)
}

/// Removes the snapshot (it is rebuilt at the next clean close).
pub fn remove(storage: &dyn Storage) -> std::io::Result<()> {
    storage.remove_file(SNAPSHOT_FILE)
}

/// What was found in the snapshot file.
pub struct Loaded {
    /// Where the log ended when the snapshot was written, if its checksum matches: evidence of
    /// how far the log was acknowledged, even when the snapshot cannot be used.
    pub claimed_end: Option<LogEnd>,
    /// The index, `Ok(None)` when there is no snapshot, `Err` with the reason when it cannot be
    /// used (the caller then rebuilds from the log).
    pub index: Result<Option<Index>, String>,
}

/// Loads the snapshot.
pub fn load(storage: &dyn Storage) -> Loaded {
    let mut claimed_end = None;
    let index = parse(storage, &mut claimed_end, true);
    Loaded { claimed_end, index }
}

/// Only where the log ended when the snapshot was written (evidence for a full check, which
/// has no use for the rest).
pub fn claimed_end(storage: &dyn Storage) -> Option<LogEnd> {
    let mut claimed_end = None;
    let _ = parse(storage, &mut claimed_end, false);
    claimed_end
}

fn parse(
    storage: &dyn Storage,
    claimed_end: &mut Option<LogEnd>,
    whole: bool,
) -> Result<Option<Index>, String> {
    let bytes = match storage.read_file(SNAPSHOT_FILE) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(error) => return Err(format!("cannot read it: {error}")),
    };
    if bytes.len() < MAGIC.len() + 8 || bytes[..8] != MAGIC {
        return Err("not an index snapshot".into());
    }
    let (content, crc) = bytes.split_at(bytes.len() - 4);
    if crc32c::crc32c(content) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err("checksum mismatch".into());
    }
    let mut reader = FieldReader::new(&content[8..]);
    if reader.u32()? != VERSION {
        return Err("unsupported snapshot version".into());
    }
    let mut index = Index {
        next_position: reader.u64()?,
        last_recorded_at_nanos: reader.u64()? as i64,
        ..Index::default()
    };
    let segment_count = reader.u64()?;
    let mut segments = Vec::new();
    for _ in 0..segment_count {
        let first_position = Position(reader.u64()?);
        let end = reader.u64()?;
        let salt = Salt(reader.u32()?);
        let tail_crc = reader.u32()?;
        let offsets = ascending(&mut reader)?
            .into_iter()
            .map(|offset| u32::try_from(offset).map_err(|_| "an offset beyond 4 GiB".to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        segments.push((first_position, end, salt, tail_crc, offsets));
    }
    *claimed_end = segments.last().map(|(segment, end, ..)| LogEnd {
        segment: *segment,
        end: *end,
        next_position: index.next_position,
    });
    if !whole {
        return Ok(None);
    }
    for (first_position, end, salt, tail_crc, offsets) in segments {
        let file = storage
            .open_segment(first_position)
            .map_err(|e| format!("segment {first_position} is gone: {e}"))?;
        check_segment(&*file, end, tail_crc)?;
        index.segments.push(SegmentIndex {
            first_position,
            file,
            offsets,
            end,
            salt,
        });
    }
    index.time_marks = ascending(&mut reader)?
        .into_iter()
        .map(|t| t as i64)
        .collect();
    let stream_count = reader.u64()?;
    for _ in 0..stream_count {
        let name = StreamName::new(&string(&mut reader)?).map_err(|e| e.to_string())?;
        let positions = ascending(&mut reader)?;
        let state_len = count(&mut reader, 1)?;
        let state: StreamState = if state_len == 0 {
            StreamState::default()
        } else {
            serde_json::from_slice(reader.take(state_len)?).map_err(|e| e.to_string())?
        };
        index.streams.insert(
            name.clone(),
            StreamEntry {
                positions,
                state: Default::default(),
            },
        );
        index.set_stream_state(&name, state.into());
    }
    for map in [&mut index.types, &mut index.categories] {
        let count = reader.u64()?;
        for _ in 0..count {
            let key = string(&mut reader)?;
            map.insert(key.into(), ascending(&mut reader)?);
        }
    }
    index.ids = Some(ids(&mut reader, index.next_position)?);
    index.erased_events = reader.u64()?;
    if reader.remaining() != 0 {
        return Err("trailing bytes".into());
    }
    let counted: usize = index.segments.iter().map(|s| s.offsets.len()).sum();
    if counted as u64 != index.next_position {
        return Err("segment offsets do not add up to the head position".into());
    }
    Ok(Some(index))
}

/// The id table: its key, then each fingerprint with its position (ascending positions, as
/// differences), then the collided ids with theirs.
fn put_ids(out: &mut Vec<u8>, ids: &IdTable) {
    let key = ids.key();
    put_u64(out, key.0);
    put_u64(out, key.1);
    let (fingerprints, collided) = ids.entries();
    put_ascending(
        out,
        fingerprints.iter().map(|(position, _)| *position),
        fingerprints.len(),
    );
    out.reserve(fingerprints.len() * 8);
    for (_, fingerprint) in &fingerprints {
        put_u64(out, *fingerprint);
    }
    put_u64(out, collided.len() as u64);
    for (id, position) in &collided {
        out.extend_from_slice(id.as_bytes());
        put_u64(out, *position);
    }
}

fn ids(reader: &mut FieldReader<'_>, next_position: u64) -> Result<IdTable, String> {
    let key = IdKey(reader.u64()?, reader.u64()?);
    let positions = ascending(reader)?;
    if positions.len() as u64 > next_position
        || positions.last().is_some_and(|p| *p >= next_position)
    {
        return Err("the id table names positions beyond the head".into());
    }
    if positions.len() * 8 > reader.remaining() {
        return Err("the id table runs past the end of the snapshot".into());
    }
    let mut table = IdTable::with_key(key, positions.len());
    for position in positions {
        table.add_fingerprint(reader.u64()?, position);
    }
    let collided = count(reader, 24)?;
    for _ in 0..collided {
        let id = uuid::Uuid::from_slice(reader.take(16)?).map_err(|e| e.to_string())?;
        table.add_collided(id, reader.u64()?);
    }
    Ok(table)
}

fn check_segment(file: &dyn SegmentFile, end: u64, tail_crc: u32) -> Result<(), String> {
    let len = file.size_bytes().map_err(|e| e.to_string())?;
    if len < end {
        return Err(format!(
            "{} is shorter ({len} bytes) than the snapshot says ({end})",
            file.name()
        ));
    }
    match tail_checksum(file, end) {
        Ok(crc) if crc == tail_crc => Ok(()),
        Ok(_) => Err(format!(
            "{} does not hold what the snapshot describes",
            file.name()
        )),
        Err(error) => Err(error.to_string()),
    }
}

fn tail_checksum(file: &dyn SegmentFile, end: u64) -> std::io::Result<u32> {
    let start = end.saturating_sub(TAIL_CHECK_BYTES);
    let mut bytes = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut bytes, start)?;
    Ok(crc32c::crc32c(&bytes))
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A non-decreasing list as its length, then each value's difference from the previous one as
/// a LEB128 varint: positions and offsets mostly differ by a little, so most take 1–2 bytes.
fn put_ascending(out: &mut Vec<u8>, values: impl Iterator<Item = u64>, len: usize) {
    put_u64(out, len as u64);
    out.reserve(len * 2);
    let mut previous = 0u64;
    for value in values {
        debug_assert!(value >= previous, "lists in the index never decrease");
        put_varint(out, value.wrapping_sub(previous));
        previous = value;
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_u64(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// A count of items of `item_bytes` each, checked against what is left.
fn count(reader: &mut FieldReader<'_>, item_bytes: usize) -> Result<usize, String> {
    let count = reader.u64()?;
    if count.saturating_mul(item_bytes as u64) > reader.remaining() as u64 {
        return Err("a length runs past the end of the snapshot".into());
    }
    Ok(count as usize)
}

fn ascending(reader: &mut FieldReader<'_>) -> Result<Vec<u64>, String> {
    let len = count(reader, 1)?;
    let mut values = Vec::with_capacity(len);
    let mut previous = 0u64;
    for _ in 0..len {
        previous = previous.wrapping_add(varint(reader)?);
        values.push(previous);
    }
    Ok(values)
}

fn varint(reader: &mut FieldReader<'_>) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = reader.u8()?;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a number in the snapshot is too long".into())
}

fn string(reader: &mut FieldReader<'_>) -> Result<String, String> {
    let len = count(reader, 1)?;
    Ok(reader.str(len, "a name")?.to_owned())
}
