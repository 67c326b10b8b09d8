//! The idempotency window: where the most recent event ids were written.

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

use eventfold_core::{StoreError, StreamName};
use parking_lot::RwLock;

use super::format;
use super::index::Index;
use super::reader;

pub use crate::rules::WrittenAt;

/// Hashes an event id by mixing its bytes eight at a time: ids are random (or at least
/// unique), and the window is probed once per event appended, so SipHash's cost shows in
/// profiles.
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

/// One append whose events are (partly) in the window.
struct AppendRecord {
    stream: StreamName,
    first_position: u64,
    first_revision: u64,
    len: u32,
    created_stream: bool,
}

impl AppendRecord {
    fn end_position(&self) -> u64 {
        self.first_position + u64::from(self.len)
    }
}

/// The ids of the last `capacity` events written, with where each went.
///
/// Ids map to positions in two generations of at most `capacity` ids each: new ids go into
/// the current one, and when it is full the previous generation is dropped whole and the
/// current one takes its place. The last `capacity` ids are always in one of the two, and
/// forgetting costs one clear per `capacity` ids instead of a probe per id (the probes of a
/// one-by-one eviction missed the cache and showed in profiles). What an id's position means
/// (stream, revision, the append's boundaries) is kept once per append, in log order.
pub struct RecentIds {
    current: IdMap<u64>,
    previous: IdMap<u64>,
    appends: VecDeque<AppendRecord>,
    capacity: usize,
    /// One past the last position remembered.
    end: u64,
}

impl RecentIds {
    /// An empty window of `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "the window holds at least one id");
        Self {
            current: IdMap::default(),
            previous: IdMap::default(),
            appends: VecDeque::new(),
            capacity,
            end: 0,
        }
    }

    /// A window holding the ids of the last `capacity` events of the log, so retries are
    /// recognised across a restart too.
    pub fn load(index: &RwLock<Index>, capacity: usize) -> Result<Self, StoreError> {
        let head = index.read().next_position;
        let first = head.saturating_sub(capacity as u64);
        let mut window = Self::new(capacity);
        let mut names: HashMap<Box<str>, StreamName> = HashMap::new();
        // An append's events are consecutive in the log and its last one ends the write. The
        // window's edge may cut an append: reading starts where that append starts, so its ids
        // inside the window keep their append's boundaries (they can only conflict then, as in
        // the live window), and ids before the edge stay out.
        let mut ids: Vec<Uuid> = Vec::new();
        let mut append_start: Option<(StreamName, u64, u64)> = None;
        let mut position = append_start_at_or_before(index, first)?;
        while position < head {
            let chunk: Vec<u64> = (position..head.min(position + 8192)).collect();
            let mut at = position;
            reader::visit_events(index, &chunk, |body| {
                let identity = format::peek_event_identity(&body)?;
                if append_start.is_none() {
                    let stream = match names.get(identity.stream) {
                        Some(name) => name.clone(),
                        None => {
                            let name =
                                StreamName::new(identity.stream).map_err(|e| e.to_string())?;
                            names.insert(identity.stream.into(), name.clone());
                            name
                        }
                    };
                    append_start = Some((stream, identity.revision, at));
                }
                ids.push(identity.id);
                at += 1;
                if identity.ends_write {
                    let (stream, revision, start) = append_start.take().expect("set above");
                    window.insert_append(
                        stream,
                        revision,
                        start,
                        identity.created_stream,
                        ids.drain(..),
                    );
                }
                Ok(())
            })?;
            position += chunk.len() as u64;
        }
        Ok(window)
    }

    /// Remembers the ids of one append to `stream`, in order, whose first event went to
    /// `first_revision` at `first_position`.
    pub fn insert_append(
        &mut self,
        stream: StreamName,
        first_revision: u64,
        first_position: u64,
        created_stream: bool,
        ids: impl ExactSizeIterator<Item = Uuid>,
    ) {
        debug_assert!(
            first_position >= self.end,
            "appends are remembered in log order"
        );
        let len = ids.len();
        for (i, id) in ids.enumerate() {
            if self.current.len() >= self.capacity {
                self.previous.clear();
                std::mem::swap(&mut self.current, &mut self.previous);
            }
            self.current.insert(id, first_position + i as u64);
        }
        self.appends.push_back(AppendRecord {
            stream,
            first_position,
            first_revision,
            len: len as u32,
            created_stream,
        });
        self.end = first_position + len as u64;
        self.forget_before(self.end.saturating_sub(self.capacity as u64));
    }

    /// Drops the appends that end before `position`.
    fn forget_before(&mut self, position: u64) {
        while self
            .appends
            .front()
            .is_some_and(|append| append.end_position() <= position)
        {
            self.appends.pop_front();
        }
    }

    /// Where `id` was written, if it is still in the window.
    pub fn get(&self, id: &Uuid) -> Option<WrittenAt> {
        let position = *self.current.get(id).or_else(|| self.previous.get(id))?;
        if position < self.end.saturating_sub(self.capacity as u64) {
            return None;
        }
        let after = self
            .appends
            .partition_point(|append| append.first_position <= position);
        let append = &self.appends[after.checked_sub(1)?];
        debug_assert!(position < append.end_position());
        Some(WrittenAt {
            stream: append.stream.clone(),
            revision: append.first_revision + (position - append.first_position),
            position,
            append_start: append.first_revision,
            append_len: append.len,
            created_stream: append.created_stream,
        })
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

    fn single(window: &mut RecentIds, stream: &StreamName, n: u64) {
        let id = Uuid::from_u128(u128::from(n));
        window.insert_append(stream.clone(), n, n, n == 0, [id].into_iter());
    }

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let stream = StreamName::new("s").unwrap();
        let mut window = RecentIds::new(2);
        for n in 0..3 {
            single(&mut window, &stream, n);
        }
        assert!(window.get(&Uuid::from_u128(0)).is_none());
        assert_eq!(window.get(&Uuid::from_u128(1)).unwrap().revision, 1);
        assert_eq!(window.get(&Uuid::from_u128(2)).unwrap().revision, 2);
    }

    #[test]
    fn remembers_exactly_the_last_capacity_ids_across_generations() {
        let stream = StreamName::new("s").unwrap();
        let mut window = RecentIds::new(5);
        for n in 0..23 {
            single(&mut window, &stream, n);
            for old in 0..=n {
                let remembered = window.get(&Uuid::from_u128(u128::from(old))).is_some();
                assert_eq!(remembered, old + 5 > n, "id {old} after {n}");
            }
        }
    }

    #[test]
    fn an_append_cut_by_the_window_keeps_its_boundaries() {
        let a = StreamName::new("a").unwrap();
        let b = StreamName::new("b").unwrap();
        let mut window = RecentIds::new(4);
        let ids = |range: std::ops::Range<u128>| range.map(Uuid::from_u128).collect::<Vec<_>>();
        window.insert_append(a.clone(), 0, 0, true, ids(0..3).into_iter());
        window.insert_append(b.clone(), 7, 3, false, ids(3..6).into_iter());
        assert!(window.get(&Uuid::from_u128(1)).is_none());
        let cut = window.get(&Uuid::from_u128(2)).unwrap();
        assert_eq!(
            cut,
            WrittenAt {
                stream: a,
                revision: 2,
                position: 2,
                append_start: 0,
                append_len: 3,
                created_stream: true,
            }
        );
        let last = window.get(&Uuid::from_u128(5)).unwrap();
        assert_eq!((last.stream, last.revision, last.append_start), (b, 9, 7));
    }
}
