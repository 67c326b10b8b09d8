//! The idempotency window: where the most recent event ids were written.

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

use eventfold_core::{StoreError, StreamName};
use parking_lot::RwLock;

use super::format;
use super::index::Index;
use super::reader;

/// Where an event id was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenAt {
    pub stream: StreamName,
    pub revision: u64,
    pub position: u64,
    /// The first revision of the append that wrote it.
    pub append_start: u64,
    /// How many events that append had.
    pub append_len: u32,
    /// True when the stream did not exist when that append was made (so `no_stream` could have
    /// been its expectation, and `exists` could not).
    pub created_stream: bool,
}

/// Hashes an event id by its first eight bytes: ids are random (or at least unique), and the
/// window is probed once per event appended, so SipHash's cost shows in profiles.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
}

type IdMap<V> = HashMap<Uuid, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The last `capacity` event ids written, oldest forgotten first.
pub struct RecentIds {
    by_id: IdMap<WrittenAt>,
    order: VecDeque<Uuid>,
    capacity: usize,
}

impl RecentIds {
    /// An empty window of `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "the window holds at least one id");
        Self {
            by_id: IdMap::default(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// A window holding the ids of the last `capacity` events of the log, so retries are
    /// recognised across a restart too.
    pub fn load(index: &RwLock<Index>, capacity: usize) -> Result<Self, StoreError> {
        let head = index.read().next_position;
        let first = head.saturating_sub(capacity as u64);
        let mut window = Self::new(capacity);
        window.by_id.reserve((head - first) as usize);
        window.order.reserve((head - first) as usize);
        let mut names: HashMap<Box<str>, StreamName> = HashMap::new();
        // An append's events are consecutive in the log and its last one ends the write. The
        // window's edge may cut an append: reading starts where that append starts, so its ids
        // inside the window keep their append's boundaries (they can only conflict then, as in
        // the live window), and ids before the edge stay out.
        let mut append: Vec<(Uuid, StreamName, u64, u64)> = Vec::new();
        let mut position = append_start_at_or_before(index, first)?;
        while position < head {
            let chunk: Vec<u64> = (position..head.min(position + 8192)).collect();
            let mut at = position;
            reader::visit_events(index, &chunk, |body| {
                let identity = format::peek_event_identity(&body)?;
                let stream = match names.get(identity.stream) {
                    Some(name) => name.clone(),
                    None => {
                        let name = StreamName::new(identity.stream).map_err(|e| e.to_string())?;
                        names.insert(identity.stream.into(), name.clone());
                        name
                    }
                };
                append.push((identity.id, stream, identity.revision, at));
                at += 1;
                if identity.ends_write {
                    window.insert_append(append.drain(..), first, identity.created_stream);
                }
                Ok(())
            })?;
            position += chunk.len() as u64;
        }
        Ok(window)
    }

    /// Remembers the events of one append, `(id, stream, revision, position)` in order, those
    /// at or after position `from`.
    fn insert_append(
        &mut self,
        events: impl ExactSizeIterator<Item = (Uuid, StreamName, u64, u64)>,
        from: u64,
        created_stream: bool,
    ) {
        let append_len = events.len() as u32;
        let mut append_start = None;
        for (id, stream, revision, position) in events {
            let append_start = *append_start.get_or_insert(revision);
            if position >= from {
                let at = WrittenAt {
                    stream,
                    revision,
                    position,
                    append_start,
                    append_len,
                    created_stream,
                };
                self.insert(id, at);
            }
        }
    }

    /// Remembers that `id` was written at `at`.
    pub fn insert(&mut self, id: Uuid, at: WrittenAt) {
        if self.by_id.insert(id, at).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > self.capacity {
            let oldest = self.order.pop_front().expect("longer than capacity");
            self.by_id.remove(&oldest);
        }
    }

    /// Where `id` was written, if it is still in the window.
    pub fn get(&self, id: &Uuid) -> Option<&WrittenAt> {
        self.by_id.get(id)
    }
}

/// The position where the append holding position `position` starts: after the nearest
/// earlier event that ends a write (or 0).
fn append_start_at_or_before(index: &RwLock<Index>, position: u64) -> Result<u64, StoreError> {
    const STEP: u64 = 256;
    let mut upper = position;
    while upper > 0 {
        let lower = upper.saturating_sub(STEP);
        let chunk: Vec<u64> = (lower..upper).collect();
        let mut last_end = None;
        let mut at = lower;
        reader::visit_events(index, &chunk, |body| {
            if format::peek_event_identity(&body)?.ends_write {
                last_end = Some(at);
            }
            at += 1;
            Ok(())
        })?;
        if let Some(end) = last_end {
            return Ok(end + 1);
        }
        upper = lower;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let stream = StreamName::new("s").unwrap();
        let mut window = RecentIds::new(2);
        for n in 0..3u128 {
            let at = WrittenAt {
                stream: stream.clone(),
                revision: n as u64,
                position: n as u64,
                append_start: n as u64,
                append_len: 1,
                created_stream: n == 0,
            };
            window.insert(Uuid::from_u128(n), at);
        }
        assert!(window.get(&Uuid::from_u128(0)).is_none());
        assert_eq!(window.get(&Uuid::from_u128(2)).unwrap().revision, 2);
    }
}
