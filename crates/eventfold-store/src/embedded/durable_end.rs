//! The durable-end record: how far the log is known to have been acknowledged.
//!
//! Recovery cuts an incomplete last write (a torn tail) automatically, because it was never
//! acknowledged. From the log alone, though, a log cut or damaged at its end after the fact
//! looks just like one. This record tells them apart: after every group's fdatasync, and before
//! its answers are sent, the sync thread writes where the log then ends. A log that ends below
//! the record has lost acknowledged writes, and the open refuses (see docs/FORMAT.md).
//!
//! The record is written in place, without a sync of its own per group (that would double the
//! syncs of an append): it is written only after the log's sync, so it can never claim more
//! than the disk holds. After a process crash (SIGKILL, out of memory) the page cache still
//! holds it, so it is exact; after a power loss it may lag by what the kernel had not written
//! back yet, which the sync thread bounds by syncing the record at most once a second while
//! the log is written. The file has two slots a page apart, written in turn, each with its own
//! checksum: a torn write damages one slot only, and the larger valid slot is the record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eventfold_core::{Position, StoreError};

use super::field_reader::FieldReader;
use super::io::{SegmentFile, Storage};

/// The record's file name in the data directory.
pub const DURABLE_END_FILE: &str = "durable.end";
const MAGIC: [u8; 8] = *b"EVFOLDDE";
const VERSION: u32 = 1;
/// Slots are a page apart, so one torn write cannot damage both.
const SLOT_BYTES: u64 = 4096;
const RECORD_BYTES: usize = 8 + 4 + 8 + 8 + 8 + 4;
/// How often, at most, the record is synced while the log is being written.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Where the log ends: its last segment, the offset after its last complete write there, and
/// the position the next event gets. Ends compare in log order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogEnd {
    /// The first position of the last segment.
    pub segment: Position,
    /// The offset in that segment after the last complete write.
    pub end: u64,
    /// The position the next event gets.
    pub next_position: u64,
}

impl LogEnd {
    fn encode(&self) -> [u8; RECORD_BYTES] {
        let mut out = Vec::with_capacity(RECORD_BYTES);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.next_position.to_le_bytes());
        out.extend_from_slice(&self.segment.0.to_le_bytes());
        out.extend_from_slice(&self.end.to_le_bytes());
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.try_into().expect("the record's size")
    }

    /// `Ok(None)` for a slot never written (zeros).
    fn decode(slot: &[u8]) -> Result<Option<Self>, String> {
        if slot.iter().all(|byte| *byte == 0) {
            return Ok(None);
        }
        let (content, crc) = slot.split_at(RECORD_BYTES - 4);
        if content[..8] != MAGIC
            || crc32c::crc32c(content) != u32::from_le_bytes(crc.try_into().expect("4 bytes"))
        {
            return Err("checksum mismatch".into());
        }
        let mut reader = FieldReader::new(&content[8..]);
        if reader.u32()? != VERSION {
            return Err("unsupported version".into());
        }
        let next_position = reader.u64()?;
        let segment = Position(reader.u64()?);
        let end = reader.u64()?;
        Ok(Some(Self {
            segment,
            end,
            next_position,
        }))
    }
}

/// Reads the record: `Ok(None)` when there is none (a store from before it existed, or one
/// that never wrote), `Err` with the reason when neither slot is valid.
pub fn read(storage: &dyn Storage) -> Result<Option<LogEnd>, String> {
    let bytes = storage
        .read_file(DURABLE_END_FILE)
        .map_err(|e| format!("cannot read {}: {e}", storage.describe(DURABLE_END_FILE)))?;
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    if bytes.len() as u64 != 2 * SLOT_BYTES {
        return Err(format!(
            "{} is damaged: it has {} bytes, not {}",
            storage.describe(DURABLE_END_FILE),
            bytes.len(),
            2 * SLOT_BYTES
        ));
    }
    let slot = |i: u64| {
        let start = (i * SLOT_BYTES) as usize;
        bytes
            .get(start..start + RECORD_BYTES)
            .map_or(Ok(None), LogEnd::decode)
    };
    match (slot(0), slot(1)) {
        (Ok(a), Ok(b)) => Ok(a.max(b)),
        (Ok(Some(one)), Err(_)) | (Err(_), Ok(Some(one))) => Ok(Some(one)),
        (Err(reason), _) | (_, Err(reason)) => Err(format!(
            "{} is damaged: {reason}",
            storage.describe(DURABLE_END_FILE)
        )),
    }
}

/// Writes the record as the sync thread makes groups durable.
pub struct Recorder {
    file: Arc<dyn SegmentFile>,
    last: LogEnd,
    next_slot: u64,
    unsynced_since: Option<Instant>,
}

impl Recorder {
    /// Opens the record and sets it to `end` (where recovery found the log to end, made
    /// durable), in both slots.
    pub fn open(storage: &dyn Storage, end: LogEnd) -> Result<Self, StoreError> {
        let io = |e| StoreError::io(storage.describe(DURABLE_END_FILE), e);
        let mut file = storage
            .open_record_file(DURABLE_END_FILE, 2 * SLOT_BYTES)
            .map_err(io)?;
        if file.size_bytes().map_err(io)? != 2 * SLOT_BYTES {
            // Damaged (and accepted as such): start again from zeros.
            let zeros = vec![0; (2 * SLOT_BYTES) as usize];
            storage
                .replace_file(DURABLE_END_FILE, &zeros, true)
                .map_err(io)?;
            file = storage
                .open_record_file(DURABLE_END_FILE, 2 * SLOT_BYTES)
                .map_err(io)?;
        }
        let mut recorder = Self {
            file,
            last: end,
            next_slot: 0,
            unsynced_since: None,
        };
        for _ in 0..2 {
            recorder.write(end).and_then(|()| recorder.sync())?;
        }
        Ok(recorder)
    }

    /// Records that the log now ends at `end` (durable already), unless it did before.
    pub fn record(&mut self, end: LogEnd) -> Result<(), StoreError> {
        if end == self.last {
            return Ok(());
        }
        self.write(end)?;
        self.unsynced_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// How long until the record is due for a sync (`None` when it is synced).
    pub fn sync_due_in(&self) -> Option<Duration> {
        self.unsynced_since
            .map(|since| SYNC_EVERY.saturating_sub(since.elapsed()))
    }

    /// Syncs the record if it was last synced more than a second ago.
    pub fn sync_if_due(&mut self) -> Result<(), StoreError> {
        match self.unsynced_since {
            Some(since) if since.elapsed() >= SYNC_EVERY => self.sync(),
            _ => Ok(()),
        }
    }

    /// Makes the record durable.
    /// A failure is tried again a second later, not at once.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if let Err(error) = self.file.sync_data() {
            self.unsynced_since = Some(Instant::now());
            return Err(StoreError::io(
                format!("syncing {}", self.file.name()),
                error,
            ));
        }
        self.unsynced_since = None;
        Ok(())
    }

    fn write(&mut self, end: LogEnd) -> Result<(), StoreError> {
        self.file
            .write_all_at(&end.encode(), self.next_slot * SLOT_BYTES)
            .map_err(|e| StoreError::io(format!("writing {}", self.file.name()), e))?;
        self.next_slot ^= 1;
        self.last = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_a_damaged_slot_falls_back_to_the_other() {
        let end = LogEnd {
            segment: Position(7),
            end: 4096,
            next_position: 12,
        };
        let bytes = end.encode();
        assert_eq!(LogEnd::decode(&bytes).unwrap(), Some(end));
        assert_eq!(LogEnd::decode(&[0; RECORD_BYTES]).unwrap(), None);
        let mut flipped = bytes;
        flipped[20] ^= 1;
        assert!(LogEnd::decode(&flipped).is_err());
    }

    #[test]
    fn ends_compare_in_log_order() {
        let at = |segment, end| LogEnd {
            segment: Position(segment),
            end,
            next_position: segment + end,
        };
        assert!(at(0, 900) < at(100, 32));
        assert!(at(100, 32) < at(100, 33));
    }
}
