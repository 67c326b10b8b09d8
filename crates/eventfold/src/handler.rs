//! Command handling: load (snapshot + events after it) → decide → append with the expected
//! revision, retrying on a concurrent change; snapshots; time travel; reversal.

use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use eventfold_core::{
    AppendResult, ExpectedRevision, ReadStream, RecordedEvent, Revision, StoreError, StreamFrom,
    StreamName, Timestamp,
};
use eventfold_store::{EventStore, Snapshot, SnapshotStore};

use crate::event::{decode, to_new_event, EventMetadata, EventRef, Upcasters};
use crate::{Decider, SdkError};

/// Events read per page while loading a stream.
const LOAD_PAGE_EVENTS: usize = 1000;

/// When snapshots are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotPolicy {
    /// Never: every load folds the whole stream.
    Never,
    /// Whenever a stream's length crosses a multiple of this many events (and when a load had
    /// to fold at least this many events after the latest usable snapshot).
    EveryEvents(u64),
}

/// Which state to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// The state after the event at this revision (and all before it).
    Revision(u64),
    /// The state after every event recorded at or before this time.
    RecordedAt(Timestamp),
    /// The state folded from the events that occurred at or before this time, in stream
    /// order (an event without `occurred_at` occurred when it was recorded): bitemporal
    /// questions such as "what did we know had happened by then".
    OccurredAt(Timestamp),
}

/// A stream's state as loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<S> {
    /// The folded state.
    pub state: S,
    /// The revision of the last event folded (`None`: no events).
    pub revision: Option<u64>,
    /// The revision of the snapshot the load started from, if it used one.
    pub snapshot_revision: Option<u64>,
    /// How many events were read and folded after the snapshot (or from the start).
    pub events_folded: u64,
}

/// The outcome of a command that was accepted.
#[derive(Clone, Debug)]
pub struct Handled<E, S> {
    /// The events the command produced (and that were appended).
    pub events: Vec<E>,
    /// The state after them.
    pub state: S,
    /// The stream's revision after them (`None`: still no events).
    pub revision: Option<u64>,
    /// Where the events went, when there were any.
    pub append: Option<AppendResult>,
    /// How many times the command was decided (more than one after concurrent changes).
    pub attempts: u32,
}

/// Why a command was not handled.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error + 'static> {
    /// The decider refused the command; nothing was appended.
    #[error(transparent)]
    Domain(E),
    /// The stream kept changing under the command: every attempt lost the race.
    #[error("{stream} changed concurrently on each of {attempts} attempts")]
    Conflict { stream: StreamName, attempts: u32 },
    /// The decider has no compensating event for this event.
    #[error("the event at {stream}@{revision} cannot be reversed")]
    NotReversible { stream: StreamName, revision: u64 },
    /// The event was reversed already.
    #[error("the event at {stream}@{revision} is already reversed")]
    AlreadyReversed { stream: StreamName, revision: u64 },
    /// The store or the SDK failed.
    #[error(transparent)]
    Sdk(#[from] SdkError),
}

impl<E: std::error::Error + 'static> From<StoreError> for CommandError<E> {
    fn from(error: StoreError) -> Self {
        Self::Sdk(SdkError::Store(error))
    }
}

/// Handles commands for the streams of one decider.
pub struct CommandHandler<D: Decider> {
    decider: D,
    store: Arc<dyn EventStore>,
    snapshots: Option<(Arc<dyn SnapshotStore>, SnapshotPolicy)>,
    upcasters: Upcasters,
    max_attempts: u32,
}

/// What a command produced, before it is appended.
type Decision<D> = (Loaded<<D as Decider>::State>, Vec<<D as Decider>::Event>);

impl<D: Decider> CommandHandler<D> {
    /// A handler over `store`: no snapshots, no upcasters, 5 attempts per command.
    pub fn new(decider: D, store: Arc<dyn EventStore>) -> Self {
        Self {
            decider,
            store,
            snapshots: None,
            upcasters: Upcasters::new(),
            max_attempts: 5,
        }
    }

    /// Keeps snapshots in `snapshots` by `policy`.
    pub fn with_snapshots(
        mut self,
        snapshots: Arc<dyn SnapshotStore>,
        policy: SnapshotPolicy,
    ) -> Self {
        self.snapshots = match policy {
            SnapshotPolicy::Never | SnapshotPolicy::EveryEvents(0) => None,
            policy => Some((snapshots, policy)),
        };
        self
    }

    /// Brings old events up to the current schema with `upcasters`.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// How many times a command is decided before a run of concurrent changes makes it give up
    /// (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The decider.
    pub fn decider(&self) -> &D {
        &self.decider
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The upcasters events are decoded with.
    pub fn upcasters(&self) -> &Upcasters {
        &self.upcasters
    }

    /// The current state of `stream`.
    pub async fn load(&self, stream: &StreamName) -> Result<Loaded<D::State>, SdkError> {
        self.load_until(stream, None).await
    }

    /// The state of `stream` as of a revision or a time.
    pub async fn load_as_of(
        &self,
        stream: &StreamName,
        as_of: AsOf,
    ) -> Result<Loaded<D::State>, SdkError> {
        self.load_until(stream, Some(as_of)).await
    }

    /// Decides `command` on the current state of `stream` and appends the events, retrying
    /// with a fresh state when the stream changed in between.
    pub async fn handle(
        &self,
        stream: &StreamName,
        command: &D::Command,
    ) -> Result<Handled<D::Event, D::State>, CommandError<D::Error>> {
        self.handle_with(stream, command, None).await
    }

    /// As [`Self::handle`], the events marked as having occurred at `occurred_at`.
    pub async fn handle_at(
        &self,
        stream: &StreamName,
        command: &D::Command,
        occurred_at: Timestamp,
    ) -> Result<Handled<D::Event, D::State>, CommandError<D::Error>> {
        self.handle_with(stream, command, Some(occurred_at)).await
    }

    async fn handle_with(
        &self,
        stream: &StreamName,
        command: &D::Command,
        occurred_at: Option<Timestamp>,
    ) -> Result<Handled<D::Event, D::State>, CommandError<D::Error>> {
        let metadata = EventMetadata {
            schema_version: <D::Event as crate::DomainEvent>::SCHEMA_VERSION,
            reverses: None,
        };
        self.append_decided(stream, &metadata, occurred_at, None, |loaded| {
            let events = self
                .decider
                .decide(command, &loaded.state)
                .map_err(CommandError::Domain)?;
            Ok((loaded, events))
        })
        .await
    }

    /// Appends the compensating event of the event at `stream@revision` (the decider's
    /// [`Decider::reverse`]), referencing the original in its metadata. The compensating event's
    /// id is derived from the original's, so reversing twice is refused (while the original's
    /// id is in the store's idempotency window, the last 262,144 events by default).
    pub async fn reverse(
        &self,
        stream: &StreamName,
        revision: u64,
    ) -> Result<Handled<D::Event, D::State>, CommandError<D::Error>> {
        let original = self.read_event(stream, revision).await?;
        let decoded = decode::<D::Event>(&original, &self.upcasters)?;
        let compensating =
            self.decider
                .reverse(&decoded.event)
                .ok_or_else(|| CommandError::NotReversible {
                    stream: stream.clone(),
                    revision,
                })?;
        let metadata = EventMetadata {
            schema_version: <D::Event as crate::DomainEvent>::SCHEMA_VERSION,
            reverses: Some(EventRef::of(&original)),
        };
        let result = self
            .append_decided(
                stream,
                &metadata,
                None,
                Some(reversal_id(original.id)),
                |loaded| Ok((loaded, vec![compensating.clone()])),
            )
            .await;
        match result {
            // By code: through the HTTP client the conflict arrives as a remote error.
            Err(CommandError::Sdk(SdkError::Store(error)))
                if error.code() == "event_id_conflict" =>
            {
                Err(CommandError::AlreadyReversed {
                    stream: stream.clone(),
                    revision,
                })
            }
            other => other,
        }
    }

    /// Loads, decides with `decide`, and appends with the loaded revision as the expectation,
    /// until an append wins or the attempts run out.
    async fn append_decided(
        &self,
        stream: &StreamName,
        metadata: &EventMetadata,
        occurred_at: Option<Timestamp>,
        id: Option<Uuid>,
        decide: impl Fn(Loaded<D::State>) -> Result<Decision<D>, CommandError<D::Error>>,
    ) -> Result<Handled<D::Event, D::State>, CommandError<D::Error>> {
        for attempt in 1..=self.max_attempts {
            let (loaded, events) = decide(self.load(stream).await?)?;
            if events.is_empty() {
                return Ok(Handled {
                    events,
                    state: loaded.state,
                    revision: loaded.revision,
                    append: None,
                    attempts: attempt,
                });
            }
            let new_events = events
                .iter()
                .map(|event| {
                    let new = to_new_event(event, metadata, occurred_at)?;
                    Ok(match id {
                        Some(id) => new.with_id(id),
                        None => new,
                    })
                })
                .collect::<Result<Vec<_>, SdkError>>()?;
            let expected = match loaded.revision {
                Some(revision) => ExpectedRevision::Exact(revision),
                None => ExpectedRevision::NoStream,
            };
            match self.store.append(stream, expected, new_events).await {
                Ok(append) => {
                    let state = self.decider.fold(loaded.state, &events);
                    let revision = append.last_revision.0;
                    self.snapshot_after_append(stream, loaded.revision, revision, &state)
                        .await;
                    return Ok(Handled {
                        events,
                        state,
                        revision: Some(revision),
                        append: Some(append),
                        attempts: attempt,
                    });
                }
                Err(StoreError::WrongExpectedRevision { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(CommandError::Conflict {
            stream: stream.clone(),
            attempts: self.max_attempts,
        })
    }

    async fn read_event(
        &self,
        stream: &StreamName,
        revision: u64,
    ) -> Result<RecordedEvent, SdkError> {
        let request = ReadStream {
            from: StreamFrom::Revision(Revision(revision)),
            limit: 1,
            ..ReadStream::default()
        };
        let not_found = || SdkError::EventNotFound {
            stream: stream.clone(),
            revision,
        };
        match self.store.read_stream(stream, request).await {
            Ok(events) => events
                .into_iter()
                .find(|event| event.revision.0 == revision)
                .ok_or_else(not_found),
            Err(StoreError::StreamNotFound(_)) => Err(not_found()),
            Err(error) => Err(error.into()),
        }
    }

    /// The latest snapshot of `stream` usable for `as_of`: of the current state schema,
    /// decodable, and not past the point asked for. A snapshot is a cache: when the snapshot
    /// store fails, the load goes on without one.
    async fn usable_snapshot(
        &self,
        stream: &StreamName,
        as_of: Option<AsOf>,
    ) -> Option<(Snapshot, D::State)> {
        let (snapshots, _) = self.snapshots.as_ref()?;
        let snapshot = match snapshots.load(stream).await {
            Ok(snapshot) => snapshot?,
            Err(error) => {
                tracing::warn!(%stream, %error, "could not load a snapshot; folding the stream");
                return None;
            }
        };
        if snapshot.schema_version != D::STATE_SCHEMA_VERSION {
            return None;
        }
        let usable = match as_of {
            None => true,
            Some(AsOf::Revision(revision)) => snapshot.revision <= revision,
            Some(AsOf::RecordedAt(time)) => snapshot.recorded_at <= time,
            Some(AsOf::OccurredAt(_)) => false,
        };
        if !usable {
            return None;
        }
        match serde_json::from_slice(&snapshot.state) {
            Ok(state) => Some((snapshot, state)),
            Err(error) => {
                tracing::warn!(%stream, %error, "ignoring a snapshot whose state does not decode");
                None
            }
        }
    }

    async fn load_until(
        &self,
        stream: &StreamName,
        as_of: Option<AsOf>,
    ) -> Result<Loaded<D::State>, SdkError> {
        if let Some((snapshot, state)) = self.usable_snapshot(stream, as_of).await {
            let start = (snapshot.revision, snapshot.last_event_id, state);
            if let Some(loaded) = self.fold_from(stream, Some(start), as_of).await? {
                return Ok(loaded);
            }
            // The snapshot's last event is gone (the stream was deleted, and maybe written
            // again): start over.
            tracing::info!(%stream, "dropping a snapshot that no longer matches its stream");
            if let Some((snapshots, _)) = &self.snapshots {
                if let Err(error) = snapshots.delete(stream).await {
                    tracing::warn!(%stream, %error, "could not delete a stale snapshot");
                }
            }
        }
        Ok(self
            .fold_from(stream, None, as_of)
            .await?
            .expect("a load from the start always folds"))
    }

    /// Folds the events of `stream` after `snapshot` — `(revision, id of the event there,
    /// state)` — or from the start, into its state. `None` when the stream no longer has the
    /// snapshot's last event.
    async fn fold_from(
        &self,
        stream: &StreamName,
        snapshot: Option<(u64, Uuid, D::State)>,
        as_of: Option<AsOf>,
    ) -> Result<Option<Loaded<D::State>>, SdkError> {
        let mut to_check = snapshot.as_ref().map(|(revision, id, _)| (*revision, *id));
        let snapshot_revision = to_check.map(|(revision, _)| revision);
        let (mut revision, mut state) = match snapshot {
            Some((revision, _, state)) => (Some(revision), state),
            None => (None, self.decider.initial_state()),
        };
        // With a snapshot, reading starts at its last event, which must still be there.
        let mut next = revision.unwrap_or(0);
        let mut folded = 0u64;
        let mut last_folded = None;
        'pages: loop {
            let request = ReadStream {
                from: StreamFrom::Revision(Revision(next)),
                limit: LOAD_PAGE_EVENTS,
                ..ReadStream::default()
            };
            let page = match self.store.read_stream(stream, request).await {
                Ok(page) => page,
                Err(StoreError::StreamNotFound(_)) if to_check.is_some() => return Ok(None),
                Err(StoreError::StreamNotFound(_)) => Vec::new(),
                Err(error) => return Err(error.into()),
            };
            let mut events = &page[..];
            if let Some((at, id)) = to_check.take() {
                match events.split_first() {
                    Some((first, rest)) if first.revision.0 == at && first.id == id => {
                        events = rest;
                    }
                    _ => return Ok(None),
                }
            }
            for recorded in events {
                let past = match as_of {
                    None | Some(AsOf::OccurredAt(_)) => false,
                    Some(AsOf::Revision(until)) => recorded.revision.0 > until,
                    Some(AsOf::RecordedAt(time)) => recorded.recorded_at > time,
                };
                if past {
                    break 'pages;
                }
                if let Some(AsOf::OccurredAt(time)) = as_of {
                    if recorded.occurred_at.unwrap_or(recorded.recorded_at) > time {
                        continue;
                    }
                }
                let decoded = decode::<D::Event>(recorded, &self.upcasters)?;
                state = self.decider.evolve(state, &decoded.event);
                revision = Some(recorded.revision.0);
                last_folded = Some(SnapshotPoint {
                    revision: recorded.revision.0,
                    last_event_id: recorded.id,
                    recorded_at: recorded.recorded_at,
                });
                folded += 1;
            }
            // A page may end early at its byte budget, so only an empty one ends the stream.
            match page.last() {
                Some(last) => next = last.revision.0 + 1,
                None => break,
            }
        }
        if as_of.is_none() {
            if let (Some((snapshots, SnapshotPolicy::EveryEvents(every))), Some(point)) =
                (&self.snapshots, last_folded)
            {
                if folded >= *every {
                    save_snapshot::<D>(&**snapshots, stream, point, &state).await;
                }
            }
        }
        Ok(Some(Loaded {
            state,
            revision,
            snapshot_revision,
            events_folded: folded,
        }))
    }

    /// Takes a snapshot when an append from `before` to `after` crossed a multiple of the
    /// policy's interval. A failure is logged, never returned: the events are durable and the
    /// snapshot is only a cache.
    async fn snapshot_after_append(
        &self,
        stream: &StreamName,
        before: Option<u64>,
        after: u64,
        state: &D::State,
    ) {
        let Some((snapshots, SnapshotPolicy::EveryEvents(every))) = &self.snapshots else {
            return;
        };
        let length_before = before.map_or(0, |revision| revision + 1);
        if length_before / every == (after + 1) / every {
            return;
        }
        // The snapshot records its last event's id and when it was recorded (for loads as of a
        // time): read back from the store.
        match self.read_event(stream, after).await {
            Ok(last) => {
                let point = SnapshotPoint {
                    revision: after,
                    last_event_id: last.id,
                    recorded_at: last.recorded_at,
                };
                save_snapshot::<D>(&**snapshots, stream, point, state).await
            }
            Err(error) => tracing::warn!(%stream, %error, "could not take a snapshot"),
        }
    }
}

/// The event a snapshot ends at.
struct SnapshotPoint {
    revision: u64,
    last_event_id: Uuid,
    recorded_at: Timestamp,
}

async fn save_snapshot<D: Decider>(
    snapshots: &dyn SnapshotStore,
    stream: &StreamName,
    point: SnapshotPoint,
    state: &D::State,
) {
    let state = match serde_json::to_vec(state) {
        Ok(state) => Bytes::from(state),
        Err(error) => {
            tracing::warn!(%stream, %error, "could not encode a snapshot");
            return;
        }
    };
    let snapshot = Snapshot {
        stream: stream.clone(),
        revision: point.revision,
        last_event_id: point.last_event_id,
        schema_version: D::STATE_SCHEMA_VERSION,
        recorded_at: point.recorded_at,
        state,
    };
    if let Err(error) = snapshots.save(snapshot).await {
        tracing::warn!(%stream, %error, "could not save a snapshot");
    }
}

/// The id of the event that reverses the event with id `original`: derived, so a second
/// reversal of the same event reuses it and is refused.
pub fn reversal_id(original: Uuid) -> Uuid {
    Uuid::from_u128(original.as_u128().rotate_left(17) ^ 0x7265_7665_7273_616c_5f6f_665f_6576_6e74)
}
