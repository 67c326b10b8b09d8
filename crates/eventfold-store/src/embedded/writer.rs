//! The writer thread: the first half of group commit.
//!
//! It takes every command waiting in its queue, checks each against the stream heads (the
//! index plus the groups still waiting for their sync), frames all accepted events into one
//! buffer and writes it to the segment — then hands the group to the [sync thread](super::syncer)
//! and goes on with the next group while the disk syncs. The sync thread makes groups durable
//! with one fdatasync for all that are waiting, and only then updates the index, publishes the
//! new head position and answers: no append is acknowledged before its data is on disk.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};

use eventfold_core::{
    AppendResult, ExpectedRevision, NewEvent, Position, Revision, StoreError, StreamMetadata,
    StreamName,
};

use super::durable_end::{LogEnd, Recorder};
use super::format::{
    self, EventParts, Salt, FLAG_CREATED_STREAM, FLAG_END_OF_WRITE, SEGMENT_HEADER_BYTES,
};
use super::group::{Reply, Staged, WrittenGroup};
use super::handoff;
use super::ids::Ids;
use super::index::Index;
use super::io::{SegmentFile, Storage};
use super::preallocator::Preallocator;
use super::syncer::Pipeline;
use crate::rules::{delete_state, Retry, StreamHead, StreamState};
use crate::DeleteMode;

/// The most bytes of events one group commit writes; the rest waits for the next group.
const GROUP_BYTES_MAX: usize = 32 << 20;
/// The most commands one group commit takes.
const GROUP_COMMANDS_MAX: usize = 8192;

/// What the writer is asked to do.
pub enum Command {
    /// Append validated events.
    Append {
        stream: StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
        size_bytes: usize,
        reply: oneshot::Sender<Result<AppendResult, StoreError>>,
    },
    /// Replace a stream's metadata.
    SetMetadata {
        stream: StreamName,
        metadata: StreamMetadata,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Delete a stream.
    Delete {
        stream: StreamName,
        expected: ExpectedRevision,
        mode: DeleteMode,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Finish what came before, then close the segment being written (if it holds anything)
    /// and start the next, so everything written so far is in closed segments.
    Seal {
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Finish what came before, then stop.
    Shutdown { reply: oneshot::Sender<()> },
}

impl Command {
    fn size_bytes(&self) -> usize {
        match self {
            Command::Append { size_bytes, .. } => *size_bytes,
            _ => 256,
        }
    }
}

/// A stream's head as this group sees it: the index plus the group's own earlier changes.
type Head = StreamHead;

/// The writer's state. Lives on its own thread.
pub struct Writer {
    storage: Arc<dyn Storage>,
    index: Arc<RwLock<Index>>,
    pipeline: Pipeline,
    preallocator: Preallocator,
    /// The first position of the segment being written.
    segment: Position,
    /// Its checksum seed.
    salt: Salt,
    file: Arc<dyn SegmentFile>,
    file_end: u64,
    segment_bytes_max: u64,
    ids: Ids,
    /// Heads changed by groups not yet applied to the index, with the group that changed them.
    in_flight_heads: HashMap<StreamName, (Head, u64)>,
    next_position: u64,
    last_recorded_at_nanos: i64,
    buffer: Vec<u8>,
    /// Set once the tail past the durable end was cut after a failure.
    tail_cut: bool,
    /// The durable-end record, moved to a new segment as soon as it exists.
    recorder: Arc<Mutex<Recorder>>,
    /// The durable head when the current group started.
    durable_position: u64,
}

/// Prune heads of durable groups once the in-flight map holds this many streams.
const IN_FLIGHT_HEADS_PRUNE_AT: usize = 4096;

impl Writer {
    /// A writer appending to the last segment of `index` where its data ends, syncing
    /// through `pipeline`.
    pub fn new(
        storage: Arc<dyn Storage>,
        index: Arc<RwLock<Index>>,
        pipeline: Pipeline,
        preallocator: Preallocator,
        segment_bytes_max: u64,
        ids: Ids,
        recorder: Arc<Mutex<Recorder>>,
    ) -> Self {
        let (segment, salt, file, file_end, next_position, last_recorded_at_nanos) = {
            let index = index.read();
            let last = index.segments.last().expect("a segment exists");
            (
                last.first_position,
                last.salt,
                last.file.clone(),
                last.end,
                index.next_position,
                index.last_recorded_at_nanos,
            )
        };
        Self {
            storage,
            index,
            pipeline,
            preallocator,
            segment,
            salt,
            file,
            file_end,
            segment_bytes_max,
            ids,
            in_flight_heads: HashMap::new(),
            next_position,
            last_recorded_at_nanos,
            buffer: Vec::with_capacity(1 << 20),
            tail_cut: false,
            recorder,
            durable_position: next_position,
        }
    }

    /// Runs until a shutdown command or until every sender is gone, then stops the sync thread
    /// once it has finished every group.
    pub fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut group = Vec::new();
        let mut shutdown = None;
        let mut waiter = handoff::Waiter::default();
        while let Some(first) = next_command(&mut waiter, &mut commands) {
            let mut bytes = first.size_bytes();
            group.push(first);
            while bytes < GROUP_BYTES_MAX && group.len() < GROUP_COMMANDS_MAX {
                match commands.try_recv() {
                    Ok(command) => {
                        bytes += command.size_bytes();
                        group.push(command);
                    }
                    Err(_) => break,
                }
            }
            shutdown = self.write_group(&mut group);
            if shutdown.is_some() {
                commands.close();
                // Commands already queued behind the shutdown are refused, not dropped silently.
                while let Ok(command) = commands.try_recv() {
                    refuse(command, || StoreError::Closed);
                }
                break;
            }
        }
        // A failure in the last groups (or before a drop) must still cut the unsynced tail.
        self.pipeline.wait_until_idle();
        if self.pipeline.poisoned().is_some() {
            self.cut_unsynced_tail();
        }
        self.pipeline.finish(shutdown);
        // Everything is durable: the ids go back to the index for the snapshot.
        self.ids.put_back(&self.index);
    }

    /// Stages and writes the commands of one group and hands it to the sync thread; returns
    /// the shutdown reply if one was among them.
    fn write_group(&mut self, group: &mut Vec<Command>) -> Option<oneshot::Sender<()>> {
        if let Some(reason) = self.pipeline.poisoned() {
            self.cut_unsynced_tail();
            return refuse_all(group, || StoreError::Poisoned(reason.clone()));
        }
        if let Err(error) = self.roll_segment_if_full() {
            self.pipeline.poison(&error);
            return self.write_group(group);
        }
        if self.in_flight_heads.len() >= IN_FLIGHT_HEADS_PRUNE_AT {
            let durable = self.pipeline.durable_group();
            self.in_flight_heads
                .retain(|_, (_, group)| *group > durable);
        }
        let seq = self.pipeline.next_group();
        // Where the durable log ends, once per group (it only grows: a stale value only keeps
        // a few more ids in the window).
        self.durable_position = self.index.read().next_position;
        let now = format::time_to_nanos(chrono::Utc::now());
        // recorded_at never goes backwards along the log, even if the clock does.
        self.last_recorded_at_nanos = now.max(self.last_recorded_at_nanos);
        let mut staged = Vec::new();
        let mut replies = Vec::with_capacity(group.len());
        let mut shutdown = None;
        let mut seals = Vec::new();
        self.buffer.clear();
        for command in group.drain(..) {
            match command {
                Command::Shutdown { reply } => {
                    shutdown = Some(reply);
                    break;
                }
                Command::Seal { reply } => seals.push(reply),
                Command::Append {
                    stream,
                    expected,
                    events,
                    reply,
                    ..
                } => {
                    let result = self.stage_append(&mut staged, seq, stream, expected, events);
                    replies.push(Reply::Append(reply, result));
                }
                Command::SetMetadata {
                    stream,
                    metadata,
                    reply,
                } => {
                    let result = self.stage_state(&mut staged, seq, &stream, |head| {
                        if head.state.tombstoned {
                            return Err(StoreError::StreamDeleted(stream.clone()));
                        }
                        Ok(StreamState {
                            metadata: metadata.clone(),
                            ..(*head.state).clone()
                        })
                    });
                    replies.push(Reply::Unit(reply, result));
                }
                Command::Delete {
                    stream,
                    expected,
                    mode,
                    reply,
                } => {
                    let result = self.stage_state(&mut staged, seq, &stream, |head| {
                        delete_state(&stream, head, expected, mode)
                    });
                    replies.push(Reply::Unit(reply, result));
                }
            }
        }
        for command in group.drain(..) {
            refuse(command, || StoreError::Closed);
        }
        let base = self.file_end;
        if !self.buffer.is_empty() {
            let end = base + self.buffer.len() as u64;
            self.preallocator.reserve(self.segment, base, end);
            if let Err(error) = self.file.write_all_at(&self.buffer, base) {
                let error = StoreError::io(format!("writing {}", self.file.name()), error);
                self.pipeline.poison(&error);
                let reason = error.to_string();
                replies
                    .into_iter()
                    .for_each(|r| r.fail(|| StoreError::Poisoned(reason.clone())));
                return shutdown;
            }
            self.file_end += self.buffer.len() as u64;
        }
        self.pipeline.submit(WrittenGroup {
            seq,
            file: self.file.clone(),
            log_end: LogEnd {
                segment: self.segment,
                end: self.file_end,
                next_position: self.next_position,
            },
            wrote: !self.buffer.is_empty(),
            staged,
            recorded_at_nanos: self.last_recorded_at_nanos,
            replies,
        });
        if !seals.is_empty() {
            let sealed = self.seal();
            if let Err(error) = &sealed {
                self.pipeline.poison(error);
            }
            for reply in seals {
                let answer = match &sealed {
                    Ok(()) => Ok(()),
                    Err(error) => Err(StoreError::Poisoned(error.to_string())),
                };
                let _ = reply.send(answer);
            }
        }
        shutdown
    }

    /// Closes the segment being written, once everything in it is durable, if it holds
    /// anything.
    fn seal(&mut self) -> Result<(), StoreError> {
        self.pipeline.wait_until_idle();
        if let Some(reason) = self.pipeline.poisoned() {
            return Err(StoreError::Poisoned(reason));
        }
        if self.file_end > SEGMENT_HEADER_BYTES {
            self.roll_segment()?;
        }
        Ok(())
    }

    /// After a failed write or sync, cuts the segment back to its last durable end (once).
    /// Linux may keep pages that failed to write in its cache, marked clean: a reopen in the
    /// same boot would read them as if they were on disk, and later syncs would never write
    /// them. Cutting the file drops them; nothing past the durable end was acknowledged.
    fn cut_unsynced_tail(&mut self) {
        if self.tail_cut {
            return;
        }
        self.tail_cut = true;
        self.pipeline.wait_until_idle();
        let durable_end = self.index.read().segments.last().map(|segment| segment.end);
        let Some(durable_end) = durable_end else {
            return;
        };
        match self.file.truncate(durable_end) {
            Ok(()) => tracing::warn!(
                file = self.file.name(),
                durable_end,
                "cut the segment back to its durable end after the failure"
            ),
            Err(error) => {
                tracing::error!(%error, file = self.file.name(), "could not cut the segment back to its durable end; check the disk before reopening")
            }
        }
    }

    /// The head of `stream`: from a group still in flight, or from the index.
    fn head(&self, stream: &StreamName) -> Head {
        if let Some((head, _)) = self.in_flight_heads.get(stream) {
            return head.clone();
        }
        let index = self.index.read();
        match index.streams.get(stream.as_str()) {
            Some(entry) => Head {
                next_revision: entry.next_revision(),
                state: entry.state.clone(),
            },
            None => Head {
                next_revision: 0,
                state: Default::default(),
            },
        }
    }

    fn stage_append(
        &mut self,
        staged: &mut Vec<Staged>,
        seq: u64,
        stream: StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let head = self.head(&stream);
        if head.state.tombstoned {
            return Err(StoreError::StreamDeleted(stream));
        }
        let first_position = self.next_position;
        // The common case, an append that fits and whose ids are all new, takes one probe of
        // the id table per event; anything else is decided in full.
        let claimed = head.accepts(expected)
            && self
                .ids
                .claim_new(events.iter().map(|event| event.id), first_position);
        if !claimed {
            let retry = self
                .ids
                .find_retry(&self.index, &stream, expected, &events)?;
            if let Retry::Original(original) = retry {
                return Ok(original);
            }
            if !head.accepts(expected) {
                return Err(head.wrong_expectation(&stream, expected));
            }
            if let Retry::IdsTaken(conflict) = retry {
                return Err(conflict);
            }
        }
        let first_revision = head.next_revision;
        let count = events.len() as u64;
        let mut offsets = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let revision = first_revision + i as u64;
            let position = first_position + i as u64;
            let end = if i + 1 == events.len() {
                FLAG_END_OF_WRITE
            } else {
                0
            };
            let created = if head.exists() {
                0
            } else {
                FLAG_CREATED_STREAM
            };
            let flags = end | created;
            let offset = self.file_end + self.buffer.len() as u64;
            let parts = EventParts {
                position: Position(position),
                revision: Revision(revision),
                recorded_at_nanos: self.last_recorded_at_nanos,
                occurred_at_nanos: event.occurred_at.map(format::time_to_nanos),
                id: event.id,
                stream: stream.as_str(),
                event_type: &event.event_type,
                content_type: &event.content_type,
                metadata: &event.metadata,
                data: &event.data,
            };
            format::encode_event(&mut self.buffer, self.salt, &parts, flags);
            offsets.push(offset);
        }
        let durable = self.durable_position;
        self.ids.insert_append(
            stream.clone(),
            first_revision,
            first_position,
            !head.exists(),
            events.iter().map(|event| event.id),
            claimed,
            durable,
        );
        staged.push(Staged::Append {
            stream: stream.clone(),
            first_revision,
            offsets,
            type_runs: type_runs(events),
        });
        self.next_position += count;
        let head = Head {
            next_revision: first_revision + count,
            ..head
        };
        self.in_flight_heads.insert(stream, (head, seq));
        Ok(AppendResult {
            first_revision: Revision(first_revision),
            last_revision: Revision(first_revision + count - 1),
            first_position: Position(first_position),
            last_position: Position(first_position + count - 1),
        })
    }

    fn stage_state(
        &mut self,
        staged: &mut Vec<Staged>,
        seq: u64,
        stream: &StreamName,
        change: impl FnOnce(&Head) -> Result<StreamState, StoreError>,
    ) -> Result<(), StoreError> {
        let head = self.head(stream);
        let state = Arc::new(change(&head)?);
        let json = serde_json::to_vec(&*state).expect("stream state serialises");
        format::encode_stream_state(&mut self.buffer, self.salt, stream.as_str(), &json);
        staged.push(Staged::State {
            stream: stream.clone(),
            state: state.clone(),
        });
        self.in_flight_heads
            .insert(stream.clone(), (Head { state, ..head }, seq));
        Ok(())
    }

    /// Starts a new segment once the current one is full. Waits until every group written to
    /// the old segment is durable first, so only the last segment can ever have a torn tail.
    fn roll_segment_if_full(&mut self) -> Result<(), StoreError> {
        if self.file_end < self.segment_bytes_max {
            return Ok(());
        }
        self.roll_segment()
    }

    /// Starts a new segment, once every group written to the current one is durable.
    fn roll_segment(&mut self) -> Result<(), StoreError> {
        self.pipeline.wait_until_idle();
        if let Some(reason) = self.pipeline.poisoned() {
            return Err(StoreError::Poisoned(reason));
        }
        let first_position = Position(self.next_position);
        let file = self
            .storage
            .create_segment(first_position)
            .map_err(|e| StoreError::io(format!("creating segment {first_position}"), e))?;
        let salt = Salt::random();
        if let Err(error) = write_segment_header(&*file, first_position, salt) {
            // Nothing in it was acknowledged; do not leave a header that may not be on disk.
            if let Err(removal) = self.storage.remove_segment(first_position) {
                tracing::error!(%removal, "could not remove the half-created segment");
            }
            return Err(error);
        }
        // The new segment's header is durable: from now on the log ends in it, and a log that
        // lost it has lost something acknowledged.
        // Synced at once: the sync thread may be asleep with nothing to write after it.
        {
            let mut recorder = self.recorder.lock();
            recorder.record(LogEnd {
                segment: first_position,
                end: SEGMENT_HEADER_BYTES,
                next_position: self.next_position,
            })?;
            recorder.sync()?;
        }
        self.index
            .write()
            .add_segment(first_position, file.clone(), SEGMENT_HEADER_BYTES, salt);
        self.segment = first_position;
        self.salt = salt;
        self.file = file;
        self.file_end = SEGMENT_HEADER_BYTES;
        Ok(())
    }
}

/// The events' types as runs: each type once, with how many events in a row have it.
fn type_runs(events: Vec<NewEvent>) -> Vec<(String, usize)> {
    let mut runs: Vec<(String, usize)> = Vec::new();
    for event in events {
        match runs.last_mut() {
            Some((event_type, count)) if *event_type == event.event_type => *count += 1,
            _ => runs.push((event.event_type, 1)),
        }
    }
    runs
}

/// Writes and syncs the header of a new segment.
pub fn write_segment_header(
    file: &dyn SegmentFile,
    first: Position,
    salt: Salt,
) -> Result<(), StoreError> {
    let header = format::encode_segment_header(first, salt);
    file.write_all_at(&header, 0)
        .and_then(|()| file.sync_data())
        .map_err(|e| StoreError::io(format!("writing the header of {}", file.name()), e))
}

/// The next command (`None` once every sender is gone).
fn next_command(
    waiter: &mut handoff::Waiter,
    commands: &mut mpsc::Receiver<Command>,
) -> Option<Command> {
    use mpsc::error::TryRecvError;
    waiter.next(
        commands,
        |commands| match commands.try_recv() {
            Ok(command) => Some(Some(command)),
            Err(TryRecvError::Disconnected) => Some(None),
            Err(TryRecvError::Empty) => None,
        },
        |commands| commands.blocking_recv(),
    )
}

fn refuse_all(
    group: &mut Vec<Command>,
    error: impl Fn() -> StoreError,
) -> Option<oneshot::Sender<()>> {
    let mut shutdown = None;
    for command in group.drain(..) {
        match command {
            Command::Shutdown { reply } => shutdown = Some(reply),
            other => refuse(other, &error),
        }
    }
    shutdown
}

fn refuse(command: Command, error: impl Fn() -> StoreError) {
    match command {
        Command::Append { reply, .. } => drop(reply.send(Err(error()))),
        Command::SetMetadata { reply, .. }
        | Command::Delete { reply, .. }
        | Command::Seal { reply } => drop(reply.send(Err(error()))),
        Command::Shutdown { reply } => drop(reply.send(())),
    }
}
