//! Event ids: every id the log holds, so that an id is never stored twice, and where each one
//! went, so that a retried append gets its original answer. "Is this append a retry?" is
//! answered here for the embedded engine ([`Ids::find_retry`]); what a retry *is* is decided by
//! [`crate::rules`], shared with the other backends.
//!
//! Two parts:
//! - [`IdTable`]: every id of the log, by a 64-bit keyed fingerprint (a mix of the id under a
//!   random key kept in the index snapshot), mapped to the position of the first event with that
//!   fingerprint. Ids whose fingerprint another id has already taken are kept whole beside it
//!   (`collided`). A fingerprint hit is always checked against the full id, so a collision
//!   costs one read and never a wrong answer. 16 bytes per event in a hash table (19–39 bytes
//!   with the table's spare room); see docs/ARCHITECTURE.md.
//! - A window over the most recent events (at least `recent_ids_max`, and every event not yet
//!   durable): their full ids, and their appends (stream, first revision, length), so recent and
//!   in-flight retries are answered from memory. Older ones read the log.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use parking_lot::RwLock;
use uuid::Uuid;

use eventfold_core::{ExpectedRevision, NewEvent, StoreError, StreamName};

use super::format;
use super::index::Index;
use super::reader;
use crate::rules::{self, Retry, WrittenAt};

/// The fingerprint key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdKey(pub u64, pub u64);

impl IdKey {
    /// A new random key.
    pub fn random() -> Self {
        let bits = Uuid::new_v4().as_u128();
        Self(bits as u64, (bits >> 64) as u64)
    }
}

/// The finaliser of SplitMix64: every input bit moves about half of the output bits.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Fingerprints are keyed hashes already: the table uses them as they are.
#[derive(Default, Clone, Copy)]
pub struct AsIs(u64);

impl Hasher for AsIs {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type FingerprintMap = HashMap<u64, u64, BuildHasherDefault<AsIs>>;

/// How many hash tables the fingerprints are spread over. A table doubles
/// when it fills, rehashing everything in it while the writer waits: one table of millions of
/// entries paused appends for 100–200 ms at each doubling; 64 tables pause a few milliseconds
/// each, at different moments.
const SHARDS: usize = 64;

/// The shard of a fingerprint: bits 50–55. Not the top bits: a hash table keeps the top seven
/// as each slot's tag, and the low ones pick the bucket, so the shard must use neither, or
/// within a shard the tags would all look alike and every probe compare several keys.
fn shard_of(fingerprint: u64) -> usize {
    ((fingerprint >> 50) & (SHARDS as u64 - 1)) as usize
}

/// The fingerprints, in [`SHARDS`] tables.
struct Fingerprints {
    shards: Vec<FingerprintMap>,
}

impl Fingerprints {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    FingerprintMap::with_capacity_and_hasher(capacity / SHARDS, Default::default())
                })
                .collect(),
        }
    }

    fn shard(&self, fingerprint: u64) -> &FingerprintMap {
        &self.shards[shard_of(fingerprint)]
    }

    fn shard_mut(&mut self, fingerprint: u64) -> &mut FingerprintMap {
        &mut self.shards[shard_of(fingerprint)]
    }

    fn get(&self, fingerprint: u64) -> Option<u64> {
        self.shard(fingerprint).get(&fingerprint).copied()
    }

    /// Adds `fingerprint` at `position`; `Err` with the position that has it already.
    fn try_insert(&mut self, fingerprint: u64, position: u64) -> Result<(), u64> {
        match self.shard_mut(fingerprint).entry(fingerprint) {
            std::collections::hash_map::Entry::Occupied(taken) => Err(*taken.get()),
            std::collections::hash_map::Entry::Vacant(room) => {
                room.insert(position);
                Ok(())
            }
        }
    }

    fn remove(&mut self, fingerprint: u64) {
        self.shard_mut(fingerprint).remove(&fingerprint);
    }

    fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.shards.iter().flat_map(|shard| {
            shard
                .iter()
                .map(|(fingerprint, position)| (*fingerprint, *position))
        })
    }
}

/// Every event id of the log (see the module documentation).
pub struct IdTable {
    key: IdKey,
    first_at: Fingerprints,
    collided: HashMap<Uuid, u64>,
    /// Ids met while scanning the log whose fingerprint was taken already: each is either a
    /// collision or an id a version before this table stored twice; [`Ids::load`] reads the
    /// log to tell.
    unresolved: Vec<(Uuid, u64)>,
}

impl Default for IdTable {
    fn default() -> Self {
        Self::with_key(IdKey::random(), 0)
    }
}

impl IdTable {
    /// An empty table under `key`, with room for `capacity` ids.
    pub fn with_key(key: IdKey, capacity: usize) -> Self {
        Self {
            key,
            first_at: Fingerprints::with_capacity(capacity),
            collided: HashMap::new(),
            unresolved: Vec::new(),
        }
    }

    /// The key of its fingerprints.
    pub fn key(&self) -> IdKey {
        self.key
    }

    /// The id's fingerprint: a keyed mix of its 128 bits. Not SipHash: it is computed for
    /// every event appended, and SipHash-1-3 cost w3 4–5% (BENCHMARKS.md, 2026-12-03). A
    /// collision, crafted or not, costs one read of the log, never a wrong answer, so the mix
    /// needs to spread ids well, not to resist an attacker.
    fn fingerprint(&self, id: &Uuid) -> u64 {
        let bits = id.as_u128();
        let low = (bits as u64) ^ self.key.0;
        let high = ((bits >> 64) as u64) ^ self.key.1;
        mix(low.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix(high))
    }

    /// Adds an id met while scanning the log in order.
    pub fn add_scanned(&mut self, id: Uuid, position: u64) {
        let fingerprint = self.fingerprint(&id);
        if let Err(taken) = self.first_at.try_insert(fingerprint, position) {
            debug_assert!(taken < position);
            self.unresolved.push((id, position));
        }
    }

    /// Adds a fingerprint read from the index snapshot.
    pub fn add_fingerprint(&mut self, fingerprint: u64, position: u64) {
        let _ = self.first_at.try_insert(fingerprint, position);
    }

    /// Adds a collided id read from the index snapshot.
    pub fn add_collided(&mut self, id: Uuid, position: u64) {
        self.collided.entry(id).or_insert(position);
    }

    /// `(position, fingerprint)` of every fingerprint, and the collided ids with their
    /// positions, both in position order, for the snapshot.
    pub fn entries(&self) -> TableEntries {
        let mut fingerprints: Vec<(u64, u64)> = self
            .first_at
            .iter()
            .map(|(fingerprint, position)| (position, fingerprint))
            .collect();
        fingerprints.sort_unstable();
        let mut collided: Vec<(Uuid, u64)> = self
            .collided
            .iter()
            .map(|(id, position)| (*id, *position))
            .collect();
        collided.sort_unstable_by_key(|(_, position)| *position);
        (fingerprints, collided)
    }

    /// True while ids met scanning still wait for [`Ids::load`] (the snapshot is then not
    /// written: it would have to hold them).
    pub fn is_resolved(&self) -> bool {
        self.unresolved.is_empty()
    }
}

/// What [`IdTable::entries`] lists: `(position, fingerprint)` pairs, and collided ids with
/// their positions.
pub type TableEntries = (Vec<(u64, u64)>, Vec<(Uuid, u64)>);

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

    fn written_at(&self, position: u64) -> WrittenAt {
        WrittenAt {
            stream: self.stream.clone(),
            revision: self.first_revision + (position - self.first_position),
            position,
            append_start: self.first_revision,
            append_len: self.len,
            created_stream: self.created_stream,
        }
    }
}

/// The most recent events: their ids, by position, and their appends.
struct Window {
    ids: VecDeque<Uuid>,
    /// The position of `ids[0]`.
    start: u64,
    appends: VecDeque<AppendRecord>,
    capacity: usize,
}

impl Window {
    fn end(&self) -> u64 {
        self.start + self.ids.len() as u64
    }

    fn id_at(&self, position: u64) -> Option<Uuid> {
        let at = position.checked_sub(self.start)?;
        self.ids.get(usize::try_from(at).ok()?).copied()
    }

    fn written_at(&self, position: u64) -> Option<WrittenAt> {
        self.id_at(position)?;
        let after = self
            .appends
            .partition_point(|append| append.first_position <= position);
        let append = &self.appends[after.checked_sub(1)?];
        debug_assert!(position < append.end_position());
        Some(append.written_at(position))
    }

    /// Forgets the oldest events beyond the capacity, but never one below `durable` (one not
    /// yet durable cannot be read from the log).
    fn trim(&mut self, durable: u64) {
        while self.ids.len() > self.capacity && self.start < durable {
            self.ids.pop_front();
            self.start += 1;
        }
        while self
            .appends
            .front()
            .is_some_and(|append| append.end_position() <= self.start)
        {
            self.appends.pop_front();
        }
    }
}

/// The writer's view of event ids: the table of every id, and the recent window.
pub struct Ids {
    table: IdTable,
    window: Window,
}

impl Ids {
    /// Takes the id table recovery built out of `index` (resolving what the scan could not),
    /// and loads the ids of the last `capacity` events into the window.
    pub fn load(index: &RwLock<Index>, capacity: usize) -> Result<Self, StoreError> {
        assert!(capacity > 0, "the window holds at least one id");
        let mut table = index.write().ids.take().unwrap_or_default();
        resolve(&mut table, index)?;
        let head = index.read().next_position;
        let first = head.saturating_sub(capacity as u64);
        let start = append_start_at_or_before(index, first)?;
        let mut ids = Self {
            table,
            window: Window {
                ids: VecDeque::new(),
                start,
                appends: VecDeque::new(),
                capacity,
            },
        };
        ids.load_window(index, start, head)?;
        Ok(ids)
    }

    /// Reads the appends from `start` (where one starts) to `head` into the window.
    fn load_window(
        &mut self,
        index: &RwLock<Index>,
        start: u64,
        head: u64,
    ) -> Result<(), StoreError> {
        let mut names: HashMap<Box<str>, StreamName> = HashMap::new();
        let mut append: Option<(StreamName, u64, u64, bool)> = None;
        let mut pending: Vec<Uuid> = Vec::new();
        let mut position = start;
        while position < head {
            let chunk: Vec<u64> = (position..head.min(position + 8192)).collect();
            let mut at = position;
            reader::visit_events(index, &chunk, |body| {
                let identity = format::peek_event_identity(&body)?;
                if append.is_none() {
                    let stream = match names.get(identity.stream) {
                        Some(name) => name.clone(),
                        None => {
                            let name =
                                StreamName::new(identity.stream).map_err(|e| e.to_string())?;
                            names.insert(identity.stream.into(), name.clone());
                            name
                        }
                    };
                    append = Some((stream, identity.revision, at, identity.created_stream));
                }
                pending.push(identity.id);
                at += 1;
                if identity.ends_write {
                    let (stream, revision, first, created) = append.take().expect("set above");
                    self.remember(stream, revision, first, created, pending.drain(..));
                }
                Ok(())
            })?;
            position += chunk.len() as u64;
        }
        self.window.trim(head);
        Ok(())
    }

    /// Puts the table back into `index`, for the snapshot written at a clean close.
    pub fn put_back(self, index: &RwLock<Index>) {
        index.write().ids = Some(self.table);
    }

    /// Takes the fingerprints of `ids` for the append at `first_position` if every one is
    /// free: `true` then, and the table holds them. `false` (nothing changed) when one is taken
    /// already: a retry, a conflict or a collision, for [`Ids::find_retry`] to decide.
    pub fn claim_new(
        &mut self,
        ids: impl Iterator<Item = Uuid> + Clone,
        first_position: u64,
    ) -> bool {
        for (i, id) in ids.clone().enumerate() {
            let fingerprint = self.table.fingerprint(&id);
            if self
                .table
                .first_at
                .try_insert(fingerprint, first_position + i as u64)
                .is_err()
            {
                // Give back what this append took (rare: a retry, a conflict or a collision).
                for taken in ids.take(i) {
                    let fingerprint = self.table.fingerprint(&taken);
                    self.table.first_at.remove(fingerprint);
                }
                return false;
            }
        }
        true
    }

    /// Records the ids of one append to `stream`, in order, whose first event goes to
    /// `first_revision` at `first_position`; `durable` is the durable head (events below it may
    /// leave the window). Every id must be new (checked by [`Ids::claim_new`] — `claimed` when
    /// it took them already — or [`Ids::find_retry`]).
    #[allow(clippy::too_many_arguments)]
    pub fn insert_append(
        &mut self,
        stream: StreamName,
        first_revision: u64,
        first_position: u64,
        created_stream: bool,
        ids: impl ExactSizeIterator<Item = Uuid> + Clone,
        claimed: bool,
        durable: u64,
    ) {
        if !claimed {
            for (i, id) in ids.clone().enumerate() {
                let position = first_position + i as u64;
                let fingerprint = self.table.fingerprint(&id);
                if self
                    .table
                    .first_at
                    .try_insert(fingerprint, position)
                    .is_err()
                {
                    self.table.collided.insert(id, position);
                }
            }
        }
        self.remember(stream, first_revision, first_position, created_stream, ids);
        self.window.trim(durable);
    }

    /// Adds an append to the window only.
    fn remember(
        &mut self,
        stream: StreamName,
        first_revision: u64,
        first_position: u64,
        created_stream: bool,
        ids: impl ExactSizeIterator<Item = Uuid>,
    ) {
        let len = ids.len();
        debug_assert!(
            self.window.ids.is_empty() || first_position == self.window.end(),
            "appends are remembered in log order"
        );
        if self.window.ids.is_empty() {
            self.window.start = first_position;
        }
        self.window.ids.extend(ids);
        self.window.appends.push_back(AppendRecord {
            stream,
            first_position,
            first_revision,
            len: len as u32,
            created_stream,
        });
    }

    /// Whether an append of `events` to `stream` repeats one already written (the original's
    /// result), reuses ids written otherwise (a conflict), or is new.
    pub fn find_retry(
        &self,
        index: &RwLock<Index>,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: &[NewEvent],
    ) -> Result<Retry, StoreError> {
        let lookup = Lookup {
            ids: self,
            index,
            from_log: RefCell::new(None),
            failed: RefCell::new(None),
        };
        let written_at = |id: &Uuid| lookup.written_at(id);
        let retry = rules::retry_by_ids(stream, expected, events, written_at)
            .unwrap_or_else(|| rules::taken_id(events, written_at));
        match lookup.failed.into_inner() {
            Some(error) => Err(error),
            None => Ok(retry),
        }
    }
}

/// The ids of the table that scanning could not place: a collision is kept whole; an id stored
/// twice (possible before the table existed) keeps its first position.
fn resolve(table: &mut IdTable, index: &RwLock<Index>) -> Result<(), StoreError> {
    let unresolved = std::mem::take(&mut table.unresolved);
    let mut twice = 0u64;
    for (id, position) in unresolved {
        let first = table
            .first_at
            .get(table.fingerprint(&id))
            .expect("an unresolved id's fingerprint is taken");
        let mut same = false;
        reader::visit_events(index, &[first], |body| {
            same = format::peek_event_identity(&body)?.id == id;
            Ok(())
        })?;
        if same {
            twice += 1;
        } else {
            table.collided.entry(id).or_insert(position);
        }
    }
    if twice > 0 {
        tracing::warn!(
            ids = twice,
            "the log holds ids stored twice (written before ids were unique for ever); their first events stand for them"
        );
    }
    Ok(())
}

/// One append read from the log.
struct LogAppend {
    first_position: u64,
    ids: Vec<Uuid>,
    record: AppendRecord,
}

/// One decision's lookups: an append read from the log is kept for the other ids of the same
/// append (a retry names all of them).
struct Lookup<'a> {
    ids: &'a Ids,
    index: &'a RwLock<Index>,
    from_log: RefCell<Option<LogAppend>>,
    failed: RefCell<Option<StoreError>>,
}

impl Lookup<'_> {
    fn written_at(&self, id: &Uuid) -> Option<WrittenAt> {
        match self.try_written_at(id) {
            Ok(found) => found,
            Err(error) => {
                self.failed.borrow_mut().get_or_insert(error);
                None
            }
        }
    }

    fn try_written_at(&self, id: &Uuid) -> Result<Option<WrittenAt>, StoreError> {
        let table = &self.ids.table;
        if let Some(position) = table.first_at.get(table.fingerprint(id)) {
            if let Some(found) = self.at_if(position, id)? {
                return Ok(Some(found));
            }
            if let Some(&position) = table.collided.get(id) {
                return self.at_if(position, id);
            }
        }
        Ok(None)
    }

    /// Where the event at `position` was written, if its id is `id`.
    fn at_if(&self, position: u64, id: &Uuid) -> Result<Option<WrittenAt>, StoreError> {
        let window = &self.ids.window;
        if let Some(stored) = window.id_at(position) {
            return Ok((stored == *id)
                .then(|| window.written_at(position))
                .flatten());
        }
        let mut cached = self.from_log.borrow_mut();
        let fits = |append: &LogAppend| {
            (append.first_position..append.first_position + append.ids.len() as u64)
                .contains(&position)
        };
        if !cached.as_ref().is_some_and(fits) {
            *cached = Some(read_append(self.index, position)?);
        }
        let append = cached.as_ref().expect("read above");
        let stored = append.ids[(position - append.first_position) as usize];
        Ok((stored == *id).then(|| append.record.written_at(position)))
    }
}

/// Reads the whole append holding the durable event at `position` from the log.
fn read_append(index: &RwLock<Index>, position: u64) -> Result<LogAppend, StoreError> {
    let first_position = append_start_at_or_before(index, position)?;
    let head = index.read().next_position;
    let mut ids = Vec::new();
    let mut first: Option<(String, u64, bool)> = None;
    let mut ended = false;
    let mut at = first_position;
    while !ended && at < head {
        let chunk: Vec<u64> = (at..head.min(at + 256)).collect();
        reader::visit_events(index, &chunk, |body| {
            if ended {
                return Ok(());
            }
            let identity = format::peek_event_identity(&body)?;
            first.get_or_insert_with(|| {
                (
                    identity.stream.to_owned(),
                    identity.revision,
                    identity.created_stream,
                )
            });
            ids.push(identity.id);
            ended = identity.ends_write;
            Ok(())
        })?;
        at += chunk.len() as u64;
    }
    let (stream, first_revision, created_stream) = first.ok_or_else(|| {
        StoreError::Backend(format!("event {position} is not in the durable log"))
    })?;
    let stream = StreamName::new(&stream).map_err(|e| StoreError::Corrupted {
        file: "log".into(),
        offset: 0,
        reason: format!("event {position} names an invalid stream: {e}"),
    })?;
    let len = ids.len() as u32;
    Ok(LogAppend {
        first_position,
        ids,
        record: AppendRecord {
            stream,
            first_position,
            first_revision,
            len,
            created_stream,
        },
    })
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
    fn the_window_keeps_what_is_not_durable_and_forgets_the_oldest_beyond_capacity() {
        let stream = StreamName::new("s").unwrap();
        let mut ids = Ids {
            table: IdTable::default(),
            window: Window {
                ids: VecDeque::new(),
                start: 0,
                appends: VecDeque::new(),
                capacity: 2,
            },
        };
        for n in 0..5u64 {
            let id = Uuid::from_u128(u128::from(n));
            ids.insert_append(stream.clone(), n, n, n == 0, [id].into_iter(), false, 0);
        }
        assert_eq!(ids.window.ids.len(), 5, "nothing durable yet: all kept");
        ids.window.trim(5);
        assert_eq!(ids.window.start, 3);
        assert_eq!(ids.window.written_at(4).unwrap().revision, 4);
        assert!(ids.window.written_at(2).is_none());
        assert_eq!(ids.window.appends.len(), 2);
    }

    #[test]
    fn colliding_fingerprints_keep_both_ids() {
        let mut table = IdTable::with_key(IdKey(1, 2), 0);
        let a = Uuid::from_u128(7);
        table.add_scanned(a, 0);
        let fingerprint = table.fingerprint(&a);
        // Another id with the same fingerprint (forced: a collision is too rare to find).
        table.add_fingerprint(fingerprint, 5);
        assert_eq!(
            table.first_at.get(fingerprint),
            Some(0),
            "the first position stays"
        );
        table.add_scanned(a, 9);
        assert_eq!(table.unresolved, vec![(a, 9)]);
    }
}
