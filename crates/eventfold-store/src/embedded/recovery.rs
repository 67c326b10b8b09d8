//! Opening the log: check every frame, rebuild the derived index, and cut a torn tail.
//!
//! The cases, in the order they are tested (`tests/recovery.rs` covers each):
//!
//! | what is found                                              | what happens                    |
//! |------------------------------------------------------------|---------------------------------|
//! | the log ends below its durable-end evidence (any cause)    | `Corrupted` naming what is missing; nothing is changed |
//! | every frame valid, last frame ends a write                 | open                            |
//! | … followed only by zero bytes (preallocated space)          | open (the zeros stay)           |
//! | last segment: damage, and no valid frame anywhere after it | torn tail: cut at the last complete write |
//! | last segment: valid frames but the last write has no end   | torn tail: cut at the last complete write |
//! | last segment: header short or invalid, file ≤ header size  | half-created segment: removed   |
//! | damage followed by any valid frame (in the last segment)   | `Corrupted` naming file and offset |
//! | damage anywhere in an earlier segment                      | `Corrupted` naming file and offset |
//! | positions or revisions out of sequence                     | `Corrupted` naming file and offset |
//!
//! Only the last write can be torn: every earlier write was followed by an fdatasync before it
//! was acknowledged, and a segment is sealed (fully synced) before the next one is created.
//! The durable-end evidence (the [durable-end record](super::durable_end), and the index
//! snapshot's end) tells a torn tail from loss: the other rows apply only above it.

use std::sync::Arc;

use bytes::Bytes;

use eventfold_core::{Position, StoreError, StreamName};

use super::durable_end::{self, LogEnd, DURABLE_END_FILE};
use super::format::{
    self, check_frame, decode_record, NameCache, Record, Salt, SEGMENT_HEADER_BYTES,
};
use super::ids::IdTable;
use super::index::{Index, StreamState};
use super::io::{SegmentFile, Storage};
use super::snapshot;

/// What recovery found besides the index.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments checked.
    pub segments: usize,
    /// Events found.
    pub events: u64,
    /// Stream-state records found.
    pub stream_states: u64,
    /// A torn tail that was (or, when checking only, would be) cut away.
    pub torn_tail: Option<TornTail>,
    /// A half-created last segment that was (or would be) removed.
    pub removed_segment: Option<String>,
    /// Events the index snapshot covered (read from it, not scanned).
    pub events_from_snapshot: u64,
    /// Why an index snapshot was present but not used.
    pub snapshot_unusable: Option<String>,
    /// How far the log is known to have been acknowledged, and what says so; `None` for a log
    /// that has no such evidence (a store that never wrote, or one from before the record).
    pub evidence: Option<Evidence>,
    /// Why the durable-end record could not be read, if it could not.
    pub evidence_problem: Option<String>,
    /// Acknowledged writes missing from the end of the log. Only the modes that check or
    /// accept loss ([`Mode::CheckOnly`], [`Mode::PlanDamagedTail`], [`Mode::AcceptLoss`])
    /// report it; the others fail with it.
    pub loss: Option<Loss>,
}

impl RecoveryReport {
    /// What stops a store from opening, as found checking only: damage that valid frames
    /// follow in the last segment, acknowledged writes missing at the end, or a damaged
    /// durable-end record. Beside a live writer the first two may be a look racing its
    /// writes; with none, it is the truth.
    pub fn problem(&self) -> Option<StoreError> {
        self.torn_tail
            .as_ref()
            .and_then(|tail| tail.damage())
            .or_else(|| self.loss.as_ref().map(Loss::error))
            .or_else(|| self.evidence_problem.as_deref().map(evidence_error))
    }
}

/// The error for a durable-end record that cannot be read.
fn evidence_error(problem: &str) -> StoreError {
    StoreError::Corrupted {
        file: DURABLE_END_FILE.into(),
        offset: 0,
        reason: format!(
            "{problem}: the end of the log cannot be checked against what was acknowledged. \
             Restore the data directory from a backup, or run `eventfold repair --accept-loss` \
             to rebuild the record from the log as it is"
        ),
    }
}

/// Evidence of how far the log was acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// Where the log ended at least.
    pub end: LogEnd,
    /// What says so: `"the durable-end record"` or `"the index snapshot"`.
    pub source: &'static str,
}

/// Acknowledged writes missing from the end of the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Loss {
    /// Where the complete log ends now (`None`: no segment is left).
    pub found: Option<LogEnd>,
    /// How far it had been acknowledged.
    pub acknowledged: Evidence,
    /// The damage found where the log now ends, if any (otherwise it was cut or removed).
    pub damage: Option<String>,
}

impl Loss {
    /// Events acknowledged but missing.
    pub fn events(&self) -> u64 {
        let found = self.found.map_or(0, |end| end.next_position);
        self.acknowledged.end.next_position.saturating_sub(found)
    }

    /// The error an open fails with.
    pub fn error(&self) -> StoreError {
        let ack = &self.acknowledged.end;
        let (file, offset, found) = match &self.found {
            Some(end) => (
                super::io::DirectoryStorage::segment_file_name(end.segment),
                end.end,
                format!(
                    "the log ends at position {} (offset {} of segment {})",
                    end.next_position,
                    end.end,
                    super::io::DirectoryStorage::segment_file_name(end.segment)
                ),
            ),
            None => ("log".to_owned(), 0, "no segment is left".to_owned()),
        };
        let damage = self
            .damage
            .as_ref()
            .map_or(String::new(), |damage| format!(" (found there: {damage})"));
        StoreError::Corrupted {
            file,
            offset,
            reason: format!(
                "acknowledged writes are missing from the end of the log: {found}{damage}, but {} \
                 shows it reached position {} (offset {} of segment {}): {} acknowledged events \
                 are gone{}. Nothing was changed. Restore the data directory from a backup, or \
                 run `eventfold repair --accept-loss` to open it without them",
                self.acknowledged.source,
                ack.next_position,
                ack.end,
                super::io::DirectoryStorage::segment_file_name(ack.segment),
                self.events(),
                if self.events() == 0 {
                    " (stream-state records, such as metadata or deletes, are)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// An incomplete last write: never acknowledged, so it is safe to cut.
#[derive(Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub file: String,
    /// Where the complete content ends (the file is cut here).
    pub offset: u64,
    /// How many bytes follow.
    pub bytes: u64,
    /// What was found there.
    pub reason: String,
    /// Where damage was found when valid frames follow it (see [`Mode::CutDamagedTail`]):
    /// `(damage offset, offset of the first valid frame after it)`.
    pub damage_before_valid_frames: Option<(u64, u64)>,
}

impl TornTail {
    /// The error for damage that valid frames follow, if that is what this tail is.
    pub fn damage(&self) -> Option<StoreError> {
        let (offset, valid_at) = self.damage_before_valid_frames?;
        Some(StoreError::Corrupted {
            file: self.file.clone(),
            offset,
            reason: format!(
                "{}, followed by a valid frame at offset {valid_at}: the log is damaged in the middle \
                 (if the machine lost power, see `eventfold repair`)",
                self.reason
            ),
        })
    }
}

/// Whether recovery may change files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Cut torn tails and remove half-created segments (opening the store).
    Repair,
    /// Change nothing; only report (`eventfold verify`).
    CheckOnly,
    /// Like `Repair`, and also cut the last segment at damage that valid frames follow
    /// (`eventfold repair --yes`): what a power loss can leave when the disk wrote later pages
    /// of unsynced writes before earlier ones. Only an operator chooses this.
    CutDamagedTail,
    /// What `CutDamagedTail` would do, changing nothing (`eventfold repair` without `--yes`);
    /// loss below the evidence is reported, not an error.
    PlanDamagedTail,
    /// Like `CutDamagedTail`, and accepts that the log ends below its durable-end evidence
    /// (`eventfold repair --accept-loss`). Only an operator chooses this.
    AcceptLoss,
}

impl Mode {
    fn changes_files(self) -> bool {
        matches!(self, Mode::Repair | Mode::CutDamagedTail | Mode::AcceptLoss)
    }

    fn cuts_damage(self) -> bool {
        matches!(
            self,
            Mode::CutDamagedTail | Mode::PlanDamagedTail | Mode::AcceptLoss
        )
    }

    /// Checking only, next to a possibly live writer, a loss may be a look racing a change
    /// of the files (a scavenge renaming a rewritten segment): it is reported, and the caller
    /// decides (see [`RecoveryReport::problem`]).
    fn reports_loss(self) -> bool {
        matches!(
            self,
            Mode::CheckOnly | Mode::PlanDamagedTail | Mode::AcceptLoss
        )
    }
}

/// Reads every segment, checks every frame and returns the index of the log (the index
/// snapshot is not used, but its end counts as evidence).
pub fn recover(storage: &dyn Storage, mode: Mode) -> Result<(Index, RecoveryReport), StoreError> {
    let evidence = gather_evidence(storage, mode, snapshot::claimed_end(storage))?;
    recover_from(storage, mode, Index::default(), &evidence)
}

/// Opens the log as a store does: from the index snapshot if there is a usable one (scanning
/// only the log after it), from the whole log otherwise.
pub fn open_log(storage: &dyn Storage, mode: Mode) -> Result<(Index, RecoveryReport), StoreError> {
    let loaded = snapshot::load(storage);
    // Read once, before the log: next to a live writer, the log only grows past it.
    let evidence = gather_evidence(storage, mode, loaded.claimed_end)?;
    let problem = match loaded.index {
        Ok(None) => None,
        Ok(Some(index)) => match recover_from(storage, mode, index, &evidence) {
            Ok(recovered) => return Ok(recovered),
            Err(error) => Some(error.to_string()),
        },
        Err(reason) => Some(reason),
    };
    if let Some(reason) = &problem {
        tracing::warn!(%reason, "index snapshot not used; rebuilding the index from the log");
    }
    let (index, report) = recover_from(storage, mode, Index::default(), &evidence)?;
    Ok((
        index,
        RecoveryReport {
            snapshot_unusable: problem,
            ..report
        },
    ))
}

/// What recovery knows of how far the log was acknowledged.
struct Gathered {
    /// The strongest evidence: the durable-end record or the index snapshot's end, whichever
    /// is further.
    best: Option<Evidence>,
    /// Why the durable-end record could not be read, if it could not.
    problem: Option<String>,
}

/// Reads the evidence. Without its record, the end of the log cannot be checked: an open
/// refuses (the same damage may have cut the log); checking reports it; accepting loss
/// rebuilds the record.
fn gather_evidence(
    storage: &dyn Storage,
    mode: Mode,
    snapshot_end: Option<LogEnd>,
) -> Result<Gathered, StoreError> {
    let (record, problem) = match durable_end::read(storage) {
        Ok(record) => (record, None),
        Err(problem) if matches!(mode, Mode::Repair | Mode::CutDamagedTail) => {
            return Err(evidence_error(&problem))
        }
        Err(problem) => (None, Some(problem)),
    };
    let from_record = record.map(|end| Evidence {
        end,
        source: "the durable-end record",
    });
    let from_snapshot = snapshot_end.map(|end| Evidence {
        end,
        source: "the index snapshot",
    });
    let best = match (from_record, from_snapshot) {
        (Some(record), Some(snapshot)) if snapshot.end > record.end => Some(snapshot),
        (record, snapshot) => record.or(snapshot),
    };
    Ok(Gathered { best, problem })
}

/// Bytes a follower reads first from where its index ends; the window grows (×4) only when a
/// write does not fit, up to [`FOLLOW_WINDOW_BYTES_MAX`].
const FOLLOW_WINDOW_BYTES_FIRST: u64 = 1 << 20;
/// The largest window: more than the largest write (a 32 MiB append plus framing).
const FOLLOW_WINDOW_BYTES_MAX: u64 = 64 << 20;

/// What one look at the log found.
#[derive(Debug, PartialEq, Eq)]
pub enum Look {
    /// Nothing complete beyond what is indexed (nothing new, or a write in progress).
    Nothing,
    /// New complete writes were indexed.
    Progress,
    /// Invalid bytes followed by valid frames at this offset of the last segment. Next to a
    /// live writer this is usually a read racing a write; it is damage only if it stays.
    Suspect { file: String, offset: u64 },
}

/// One look at the log by a read-only reader following a writer in another process: indexes
/// the complete writes that appeared since the last look. A write still in progress (or torn)
/// is left for a later look.
pub fn follow_step(storage: &dyn Storage, index: &mut Index) -> Result<Look, StoreError> {
    let mut look = Look::Nothing;
    loop {
        let Some(last) = index.segments.last() else {
            if open_next_segment(storage, index)? {
                look = Look::Progress;
                continue;
            }
            return Ok(look);
        };
        let (file, end) = (last.file.clone(), last.end);
        match scan_new_bytes(index, &file, end)? {
            Look::Progress => {
                look = Look::Progress;
                continue;
            }
            Look::Suspect { file, offset } => return Ok(Look::Suspect { file, offset }),
            Look::Nothing => {}
        }
        // Nothing more here. The writer finishes a segment before it creates the next one, so
        // once the next exists, one more look at this one sees all of it.
        if !next_segment_exists(storage, index)? {
            return Ok(look);
        }
        if scan_new_bytes(index, &file, end)? != Look::Nothing {
            continue;
        }
        if !open_next_segment(storage, index)? {
            return Ok(look);
        }
        look = Look::Progress;
    }
}

/// Scans what follows `end` in `file` (the last indexed segment).
fn scan_new_bytes(
    index: &mut Index,
    file: &Arc<dyn SegmentFile>,
    end: u64,
) -> Result<Look, StoreError> {
    let len = file
        .size_bytes()
        .map_err(|e| StoreError::io(file.name(), e))?;
    let mut window = FOLLOW_WINDOW_BYTES_FIRST;
    loop {
        let bytes = read_range(&**file, end, len.min(end + window))?;
        if bytes.len() < FRAME_PEEK_BYTES || bytes[..FRAME_PEEK_BYTES] == [0; FRAME_PEEK_BYTES] {
            return Ok(Look::Nothing);
        }
        let full_window = end + window <= len;
        let mut report = RecoveryReport::default();
        let tail = scan_segment(index, &**file, Bytes::from(bytes), end, &mut report)?;
        if index
            .segments
            .last()
            .is_some_and(|segment| segment.end > end)
        {
            return Ok(Look::Progress);
        }
        if let Some((offset, _)) = tail.and_then(|t| t.damage_before_valid_frames) {
            return Ok(Look::Suspect {
                file: file.name().to_owned(),
                offset,
            });
        }
        if !full_window || window >= FOLLOW_WINDOW_BYTES_MAX {
            return Ok(Look::Nothing); // a write in progress
        }
        window *= 4; // a write larger than the window
    }
}

/// Bytes looked at to tell whether anything follows the indexed end of a segment.
const FRAME_PEEK_BYTES: usize = 8;

fn next_segment_exists(storage: &dyn Storage, index: &Index) -> Result<bool, StoreError> {
    let next = Position(index.next_position);
    let segments = storage
        .list_segments()
        .map_err(|e| StoreError::io("listing segments", e))?;
    Ok(segments.contains(&next))
}

/// Adds the segment that continues the index, if it exists and its header is complete.
fn open_next_segment(storage: &dyn Storage, index: &mut Index) -> Result<bool, StoreError> {
    if !next_segment_exists(storage, index)? {
        return Ok(false);
    }
    let next = Position(index.next_position);
    let file = storage
        .open_segment(next)
        .map_err(|e| StoreError::io(format!("opening segment {next}"), e))?;
    let len = file
        .size_bytes()
        .map_err(|e| StoreError::io(file.name(), e))?;
    let header = read_range(&*file, 0, len.min(SEGMENT_HEADER_BYTES))?;
    let Ok(salt) = check_header(index, next, &header) else {
        return Ok(false); // being created: look again later
    };
    index.add_segment(next, file, SEGMENT_HEADER_BYTES, salt);
    Ok(true)
}

/// Like [`recover`], but starts from `index`, which already describes a prefix of the log (its
/// segments are the first ones, each complete up to its `end`; see [`super::snapshot`]). Only
/// what follows that prefix is read and checked.
/// `evidence` was read before the log. Files are changed (a torn tail cut, a half-created
/// segment removed) only once the whole log is checked and found to end at or beyond its
/// evidence.
fn recover_from(
    storage: &dyn Storage,
    mode: Mode,
    mut index: Index,
    evidence: &Gathered,
) -> Result<(Index, RecoveryReport), StoreError> {
    let mut report = RecoveryReport {
        events_from_snapshot: index.next_position,
        evidence_problem: evidence.problem.clone(),
        ..RecoveryReport::default()
    };
    // Only a store opened to write needs every id (to keep them unique); the others drop them.
    if mode != Mode::Repair {
        index.ids = None;
    } else if index.ids.is_none() {
        index.ids = Some(IdTable::default());
    }
    let firsts = storage
        .list_segments()
        .map_err(|e| StoreError::io("listing segments", e))?;
    let mut change = None;
    let known = index.segments.len();
    for (i, first) in firsts.iter().enumerate() {
        let is_last = i + 1 == firsts.len();
        if i + 1 < known {
            report.segments += 1;
            continue;
        }
        let (file, start) = if i + 1 == known {
            let segment = &index.segments[i];
            (segment.file.clone(), segment.end)
        } else {
            let file = storage
                .open_segment(*first)
                .map_err(|e| StoreError::io(format!("opening segment {}", first.0), e))?;
            let len = file
                .size_bytes()
                .map_err(|e| StoreError::io(file.name(), e))?;
            let header = read_range(&*file, 0, len.min(SEGMENT_HEADER_BYTES))?;
            let salt = match check_header(&index, *first, &header) {
                Err(reason) if is_last && len <= SEGMENT_HEADER_BYTES => {
                    // Created but its header never became durable: nothing in it was acknowledged.
                    report.removed_segment = Some(format!("{}: {reason}", file.name()));
                    change = Some(Change::Remove(*first, file));
                    break;
                }
                Err(reason) => return Err(corrupted(&*file, 0, reason)),
                Ok(salt) => salt,
            };
            index.add_segment(*first, file.clone(), SEGMENT_HEADER_BYTES, salt);
            (file, SEGMENT_HEADER_BYTES)
        };
        report.segments += 1;
        let len = file
            .size_bytes()
            .map_err(|e| StoreError::io(file.name(), e))?;
        let bytes = Bytes::from(read_range(&*file, start, len)?);
        if let Some(tail) = scan_segment(&mut index, &*file, bytes, start, &mut report)? {
            if let Some(damage) = tail.damage() {
                // Checking only, next to a possibly live writer, the last segment's damage may
                // be a read racing a write: it is reported, and the caller decides.
                let reported = is_last && mode == Mode::CheckOnly;
                if !is_last || !(mode.cuts_damage() || reported) {
                    return Err(damage);
                }
            } else if !is_last {
                return Err(corrupted(&*file, tail.offset, tail.reason));
            }
            change = Some(Change::Truncate(file.clone(), tail.offset));
            report.torn_tail = Some(tail);
        }
    }
    if known > report.segments {
        return Err(StoreError::Corrupted {
            file: "log".into(),
            offset: 0,
            reason: format!(
                "the index snapshot knows {known} segments, the log has {}",
                report.segments
            ),
        });
    }
    let found = index.log_end();
    if let Some(acknowledged) = evidence.best.clone().filter(|ack| found < Some(ack.end)) {
        let loss = Loss {
            found,
            acknowledged,
            damage: report.torn_tail.as_ref().map(|tail| tail.reason.clone()),
        };
        if !mode.reports_loss() {
            // Damage that valid frames follow is reported as such: it is in the middle.
            let damage = report.torn_tail.as_ref().and_then(|tail| tail.damage());
            return Err(damage.unwrap_or_else(|| loss.error()));
        }
        report.loss = Some(loss);
    }
    report.evidence = evidence.best.clone();
    if mode.changes_files() {
        match change {
            Some(Change::Remove(first, file)) => storage
                .remove_segment(first)
                .map_err(|e| StoreError::io(file.name(), e))?,
            Some(Change::Truncate(file, offset)) => file
                .truncate(offset)
                .map_err(|e| StoreError::io(file.name(), e))?,
            None => {}
        }
    }
    Ok((index, report))
}

/// The one file change recovery may make, at the end of the log.
enum Change {
    /// Remove a half-created last segment.
    Remove(Position, Arc<dyn SegmentFile>),
    /// Cut the last segment after its last complete write.
    Truncate(Arc<dyn SegmentFile>, u64),
}

fn check_header(index: &Index, first: Position, header: &[u8]) -> Result<Salt, String> {
    let (position, salt) = format::decode_segment_header(header)?;
    if position != first || position.0 != index.next_position {
        return Err(format!(
            "segment header says first position {position}, expected {}",
            index.next_position
        ));
    }
    Ok(salt)
}

fn read_range(file: &dyn SegmentFile, start: u64, end: u64) -> Result<Vec<u8>, StoreError> {
    let mut bytes = vec![0u8; end.saturating_sub(start) as usize];
    file.read_exact_at(&mut bytes, start)
        .map_err(|e| StoreError::io(file.name(), e))?;
    Ok(bytes)
}

fn corrupted(file: &dyn SegmentFile, offset: u64, reason: String) -> StoreError {
    StoreError::Corrupted {
        file: file.name().to_owned(),
        offset,
        reason,
    }
}

/// An event of a write whose end has not been seen yet.
struct PendingEvent {
    id: uuid::Uuid,
    stream: StreamName,
    revision: u64,
    event_type: String,
    offset: u64,
    recorded_at_nanos: i64,
}

/// Scans the frames of one segment into the index. Returns the torn tail, if any; mid-segment
/// damage is an error.
fn scan_segment(
    index: &mut Index,
    file: &dyn SegmentFile,
    bytes: Bytes,
    base: u64,
    report: &mut RecoveryReport,
) -> Result<Option<TornTail>, StoreError> {
    let salt = index
        .segments
        .last()
        .expect("the segment being scanned")
        .salt;
    let mut offset = 0usize;
    let mut complete_end = offset;
    let mut names = NameCache::default();
    let at = |offset: usize| base + offset as u64;
    let mut pending: Vec<PendingEvent> = Vec::new();
    while offset < bytes.len() {
        let (body, frame_len) = match check_frame(&bytes[offset..], salt) {
            Ok(frame) => frame,
            Err(_) if is_zero(&bytes[offset..]) => break,
            Err(error) => {
                let reason = format!("{error:?} frame");
                let damage = Damage {
                    base,
                    offset,
                    complete_end,
                    reason,
                };
                return tail_or_corruption(file, &bytes, salt, damage);
            }
        };
        let body = bytes.slice_ref(body);
        let record = decode_record(body, &mut names)
            .map_err(|reason| corrupted(file, at(offset), reason))?;
        let ends_write = record.ends_write();
        match record {
            Record::Event { event, .. } => {
                let expected_position = index.next_position + pending.len() as u64;
                let expected_revision = pending.last().map_or_else(
                    || {
                        index
                            .streams
                            .get(event.stream.as_str())
                            .map_or(0, |e| e.next_revision())
                    },
                    |last| last.revision + 1,
                );
                if event.position != Position(expected_position)
                    || event.revision.0 != expected_revision
                    || pending
                        .last()
                        .is_some_and(|last| last.stream != event.stream)
                {
                    return Err(corrupted(
                        file,
                        at(offset),
                        format!(
                            "event at position {} revision {} of {} is out of sequence (expected position {expected_position}, revision {expected_revision})",
                            event.position, event.revision, event.stream
                        ),
                    ));
                }
                pending.push(PendingEvent {
                    id: event.id,
                    stream: event.stream,
                    revision: event.revision.0,
                    event_type: event.event_type,
                    offset: at(offset),
                    recorded_at_nanos: format::time_to_nanos(event.recorded_at),
                });
            }
            Record::StreamState { stream, state_json } => {
                if !pending.is_empty() {
                    return Err(corrupted(
                        file,
                        at(offset),
                        "stream-state record inside an unfinished write".into(),
                    ));
                }
                let stream = StreamName::new(&stream)
                    .map_err(|e| corrupted(file, at(offset), e.to_string()))?;
                let state: StreamState = serde_json::from_slice(&state_json).map_err(|e| {
                    corrupted(file, at(offset), format!("stream state is not valid: {e}"))
                })?;
                index.set_stream_state(&stream, state.into());
                report.stream_states += 1;
            }
        }
        offset += frame_len;
        if ends_write {
            report.events += pending.len() as u64;
            for event in pending.drain(..) {
                let position = index.next_position;
                if let Some(ids) = index.ids.as_mut() {
                    ids.add_scanned(event.id, position);
                }
                index.add_append(
                    &event.stream,
                    event.revision,
                    &[event.offset],
                    [(event.event_type.as_str(), 1)],
                    event.recorded_at_nanos,
                );
            }
            complete_end = offset;
            index.set_segment_end(at(offset));
        }
    }
    if pending.is_empty() {
        return Ok(None);
    }
    Ok(Some(TornTail {
        file: file.name().to_owned(),
        offset: at(complete_end),
        bytes: (bytes.len() - complete_end) as u64,
        reason: "the last write has no end record".into(),
        damage_before_valid_frames: None,
    }))
}

/// The first offset at or after `from` where a valid frame starts. The salted header check
/// rejects almost every offset in O(1), so this is linear in the bytes scanned.
fn first_valid_frame(bytes: &[u8], from: usize, salt: Salt) -> Option<usize> {
    (from..bytes.len()).find(|at| check_frame(&bytes[*at..], salt).is_ok())
}

/// Where damage was found while scanning a segment.
struct Damage {
    /// File offset of the scanned bytes.
    base: u64,
    /// Offset of the invalid frame in the scanned bytes.
    offset: usize,
    /// Offset after the last complete write before it.
    complete_end: usize,
    reason: String,
}

/// True when every byte is zero: preallocated space the writer has not reached yet.
fn is_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|byte| *byte == 0)
}

/// Damage at `offset`: a torn tail if nothing valid follows, corruption otherwise.
fn tail_or_corruption(
    file: &dyn SegmentFile,
    bytes: &[u8],
    salt: Salt,
    damage: Damage,
) -> Result<Option<TornTail>, StoreError> {
    let Damage {
        base,
        offset,
        complete_end,
        reason,
    } = damage;
    let valid_at = first_valid_frame(bytes, offset + 1, salt);
    Ok(Some(TornTail {
        file: file.name().to_owned(),
        offset: base + complete_end as u64,
        bytes: (bytes.len() - complete_end) as u64,
        reason: format!("{reason} at offset {}", base + offset as u64),
        damage_before_valid_frames: valid_at
            .map(|valid_at| (base + offset as u64, base + valid_at as u64)),
    }))
}
