//! One consumer group's delivery loop: a task that owns all of the group's state and takes
//! commands (fetch, ack, nack, replay, status) over a channel, so no lock guards it.
//!
//! It reads the source ahead (at most `buffer_size` unfinished events), hands events to
//! consumers, times deliveries out, schedules retries with back-off, parks what exhausts its
//! attempts, and checkpoints the first unfinished cursor once a second when the group got
//! further (see [`super::progress`]). Everything before the checkpoint is finished (acked,
//! skipped or parked), so a restart resumes at-least-once.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use eventfold_store::{
    AllFrom, EventStore, ExpectedRevision, Position, ReadStream, RecordedEvent, Revision,
    StoreError, StreamFrom, StreamName, Subscription, SubscriptionMessage,
};

use super::progress::Progress;
use super::storage;
use crate::reserved::Name;
pub use eventfold_api::groups::{
    AckId, ConsumerStatus, Counters, Delivery, GroupSettings, GroupStatus, NackAction, Settled,
    Strategy,
};

/// How often the checkpoint is saved (when the group got further) and a lost source is re-opened.
const TICK: Duration = Duration::from_secs(1);
/// The most parked events one replay request takes back.
pub const PARKED_REPLAY_MAX: usize = 10_000;
/// The most events parked in one append.
const PARK_BATCH_MAX: usize = 500;
/// A consumer not seen for this long is no longer listed.
const CONSUMER_FORGOTTEN_AFTER: Duration = Duration::from_secs(300);
/// The most consumers a group remembers (names come from clients).
const CONSUMERS_MAX: usize = 1_000;

/// Commands to a group's task.
pub enum Command {
    /// Hand out up to `max` ready events to `consumer`, keeping it under `in_flight_max`.
    Fetch {
        consumer: Arc<str>,
        max: usize,
        in_flight_max: usize,
        reply: oneshot::Sender<Vec<Delivery>>,
    },
    /// The events are processed.
    Ack {
        ids: Vec<AckId>,
        reply: oneshot::Sender<Settled>,
    },
    /// The events were not processed.
    Nack {
        ids: Vec<AckId>,
        action: NackAction,
        reason: String,
        reply: oneshot::Sender<Settled>,
    },
    /// Deliver the parked events again.
    ReplayParked {
        reply: oneshot::Sender<Result<usize, crate::ApiError>>,
    },
    /// Report the state.
    Status { reply: oneshot::Sender<GroupStatus> },
    /// Save the checkpoint and stop.
    Stop { reply: oneshot::Sender<()> },
}

enum State {
    /// Waiting in the ready queue (or, pinned, behind an earlier event of its stream).
    Ready,
    /// Out with a consumer until `deadline`.
    InFlight {
        consumer: Arc<str>,
        deadline: Instant,
    },
    /// Back in the ready queue at `until`.
    Waiting { until: Instant },
}

struct Entry {
    event: Arc<RecordedEvent>,
    attempts: u32,
    state: State,
}

impl Entry {
    /// An event not delivered yet.
    fn fresh(event: RecordedEvent) -> Self {
        Self {
            event: Arc::new(event),
            attempts: 0,
            state: State::Ready,
        }
    }
}

/// A replay of parked events: the copies before `up_to` are dropped when all are finished.
struct ParkedReplay {
    up_to: u64,
    outstanding: usize,
}

/// The task of one group.
pub struct Actor {
    name: Name,
    settings: GroupSettings,
    /// Which group of this name this is (its checkpoints are tagged with it).
    incarnation: u64,
    store: Arc<dyn EventStore>,
    source: Option<Subscription>,
    next_cursor: u64,
    saved: u64,
    /// What moved since `saved`: whether the next save is worth writing.
    progress: Progress,
    caught_up: bool,
    entries: BTreeMap<AckId, Entry>,
    source_entries: usize,
    /// The bytes of those entries' events (see `buffer_bytes_max`).
    source_bytes: usize,
    /// The most bytes of events read ahead, besides `buffer_size` events.
    buffer_bytes_max: usize,
    ready: VecDeque<AckId>,
    timers: BTreeSet<(Instant, AckId)>,
    /// Pinned only: the unfinished cursors of each stream, oldest first.
    streams: HashMap<StreamName, VecDeque<u64>>,
    replay: Option<ParkedReplay>,
    /// Events to park once the current command or timer round is done (one append for all).
    parking: Vec<(AckId, String)>,
    ready_signal: watch::Sender<u64>,
    counters: Counters,
    consumers: HashMap<Arc<str>, Instant>,
    /// How many events are out with each consumer (kept by `set_state` and `settle`).
    in_flight_by: HashMap<Arc<str>, usize>,
}

impl Actor {
    /// A group's task; `ready_signal` ticks when events become ready.
    pub fn new(
        name: Name,
        settings: GroupSettings,
        incarnation: u64,
        store: Arc<dyn EventStore>,
        ready_signal: watch::Sender<u64>,
        buffer_bytes_max: usize,
    ) -> Self {
        let checkpoint = settings.start;
        Self {
            name,
            settings,
            incarnation,
            store,
            source: None,
            next_cursor: checkpoint,
            saved: checkpoint,
            progress: Progress::new(checkpoint),
            caught_up: false,
            entries: BTreeMap::new(),
            source_entries: 0,
            source_bytes: 0,
            buffer_bytes_max,
            ready: VecDeque::new(),
            timers: BTreeSet::new(),
            streams: HashMap::new(),
            replay: None,
            parking: Vec::new(),
            ready_signal,
            counters: Counters::default(),
            consumers: HashMap::new(),
            in_flight_by: HashMap::new(),
        }
    }

    /// Loads the checkpoint (retrying while the store fails), then runs until told to stop (or
    /// every sender is gone), then saves the checkpoint.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        if !self.load_checkpoint(&mut commands).await {
            return;
        }
        self.open_source().await;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let room = self.has_room();
            let wake = self.timers.first().map(|(at, _)| *at);
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Stop { reply }) => {
                        self.save_checkpoint(true).await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.on_command(command).await,
                    None => {
                        self.save_checkpoint(true).await;
                        return;
                    }
                },
                message = next_message(&mut self.source), if room => self.on_source(message),
                () = sleep_until(wake), if wake.is_some() => self.on_timers().await,
                _ = tick.tick() => {
                    self.save_checkpoint(false).await;
                    if self.source.is_none() {
                        self.open_source().await;
                    }
                }
            }
        }
    }

    /// Resumes from the saved checkpoint; false when told to stop first. Commands that come
    /// meanwhile are dropped (their callers are told the group is unavailable).
    async fn load_checkpoint(&mut self, commands: &mut mpsc::Receiver<Command>) -> bool {
        loop {
            match storage::load_checkpoint(
                &*self.store,
                &self.name,
                &self.settings,
                self.incarnation,
            )
            .await
            {
                Ok(checkpoint) => {
                    self.next_cursor = checkpoint;
                    self.saved = checkpoint;
                    self.progress = Progress::new(checkpoint);
                    return true;
                }
                Err(error) => {
                    tracing::error!(group = %self.name, %error, "cannot load the group's checkpoint; retrying");
                }
            }
            let deadline = tokio::time::sleep(TICK);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    () = &mut deadline => break,
                    command = commands.recv() => match command {
                        Some(Command::Stop { reply }) => {
                            let _ = reply.send(());
                            return false;
                        }
                        Some(_) => {}
                        None => return false,
                    },
                }
            }
        }
    }

    async fn open_source(&mut self) {
        let opened = match &self.settings.stream {
            None => {
                let from = AllFrom::Position(Position(self.next_cursor));
                let filter = self.settings.filter.to_event_filter();
                self.store.subscribe_all(from, filter).await
            }
            Some(stream) => {
                let from = StreamFrom::Revision(Revision(self.next_cursor));
                self.store.subscribe_stream(stream, from).await
            }
        };
        match opened {
            Ok(source) => self.source = Some(source),
            Err(error) => {
                tracing::warn!(group = %self.name, %error, "cannot read the group's source; retrying");
            }
        }
    }

    fn on_source(&mut self, message: Option<Result<SubscriptionMessage, StoreError>>) {
        let mut message = message;
        loop {
            match message {
                None => {
                    tracing::warn!(group = %self.name, "the group's source ended; re-opening");
                    self.source = None;
                    return;
                }
                Some(Err(error)) => {
                    tracing::warn!(group = %self.name, %error, "reading the group's source failed; re-opening");
                    self.source = None;
                    return;
                }
                Some(Ok(SubscriptionMessage::Event(event))) => self.load(event),
                Some(Ok(SubscriptionMessage::Checkpoint(position))) => {
                    if self.settings.stream.is_none() && position.0 > self.next_cursor {
                        self.progress.skipped(self.next_cursor..position.0);
                        self.next_cursor = position.0;
                    }
                }
                Some(Ok(SubscriptionMessage::CaughtUp)) => self.caught_up = true,
            }
            // Take what is already there without going round the loop again.
            if !self.has_room() {
                return;
            }
            match self.source.as_mut().and_then(|s| s.next().now_or_never()) {
                Some(next) => message = next,
                None => return,
            }
        }
    }

    /// Whether the group reads further ahead: fewer than `buffer_size` events and
    /// `buffer_bytes_max` bytes of them unfinished (one event may take it past the bytes).
    fn has_room(&self) -> bool {
        self.source_entries < self.settings.buffer_size && self.source_bytes < self.buffer_bytes_max
    }

    fn cursor_of(&self, event: &RecordedEvent) -> u64 {
        match self.settings.stream {
            None => event.position.0,
            Some(_) => event.revision.0,
        }
    }

    fn load(&mut self, event: RecordedEvent) {
        let cursor = self.cursor_of(&event);
        if cursor < self.next_cursor {
            return; // read again after the source was re-opened
        }
        self.next_cursor = cursor + 1;
        if self.settings.stream.is_none() && !self.wants_server_streams(&event.stream) {
            return; // the server's own streams: other groups' checkpoints, dead letters, …
        }
        let id = AckId::Source(cursor);
        let pinned_behind = match self.settings.strategy {
            Strategy::RoundRobin => false,
            Strategy::Pinned => {
                let queue = self.streams.entry(event.stream.clone()).or_default();
                queue.push_back(cursor);
                queue.len() > 1
            }
        };
        self.source_bytes += eventfold_store::rules::event_bytes(&event);
        self.entries.insert(id, Entry::fresh(event));
        self.source_entries += 1;
        if !pinned_behind {
            self.make_ready(id);
        }
    }

    /// A group on `$all` gets streams whose name starts with `$` (the server's: checkpoints,
    /// dead letters, bus archives) only when its prefix filter names them, as `$bus:orders:archive`.
    fn wants_server_streams(&self, stream: &StreamName) -> bool {
        !stream.as_str().starts_with('$')
            || self
                .settings
                .filter
                .prefix
                .as_deref()
                .is_some_and(|prefix| prefix.starts_with('$'))
    }

    /// Forgets the pending timer of an entry that is settled or changes state.
    fn clear_timer(&mut self, id: AckId) {
        let at = match self.entries.get(&id).map(|entry| &entry.state) {
            Some(State::InFlight { deadline, .. }) => *deadline,
            Some(State::Waiting { until }) => *until,
            _ => return,
        };
        self.timers.remove(&(at, id));
    }

    /// Removes a settled entry with its timer.
    fn settle(&mut self, id: AckId) -> Option<Entry> {
        self.clear_timer(id);
        let entry = self.entries.remove(&id)?;
        if let State::InFlight { consumer, .. } = &entry.state {
            release(&mut self.in_flight_by, consumer);
        }
        self.finish(id, &entry);
        // Room for a push consumer at its in-flight limit, or a pinned stream's next event.
        self.ready_signal.send_modify(|generation| *generation += 1);
        Some(entry)
    }

    fn make_ready(&mut self, id: AckId) {
        if self.set_state(id, State::Ready) {
            self.ready.push_back(id);
            self.ready_signal.send_modify(|generation| *generation += 1);
        }
    }

    /// Moves entry `id` (if it is still there) to `state`, keeping the in-flight counts.
    fn set_state(&mut self, id: AckId, state: State) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else {
            return false;
        };
        if let State::InFlight { consumer, .. } = &entry.state {
            release(&mut self.in_flight_by, consumer);
        }
        if let State::InFlight { consumer, .. } = &state {
            *self.in_flight_by.entry(consumer.clone()).or_default() += 1;
        }
        entry.state = state;
        true
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Fetch {
                consumer,
                max,
                in_flight_max,
                reply,
            } => {
                let deliveries = self.fetch(consumer, max, in_flight_max);
                let _ = reply.send(deliveries);
            }
            Command::Ack { ids, reply } => {
                let _ = reply.send(self.ack(&ids));
            }
            Command::Nack {
                ids,
                action,
                reason,
                reply,
            } => {
                let settled = self.nack(&ids, action, &reason);
                self.flush_parking().await;
                let _ = reply.send(settled);
            }
            Command::ReplayParked { reply } => {
                let _ = reply.send(self.replay_parked().await);
            }
            Command::Status { reply } => {
                let status = self.status().await;
                let _ = reply.send(status);
            }
            Command::Stop { .. } => unreachable!("handled by run"),
        }
    }

    fn fetch(&mut self, consumer: Arc<str>, max: usize, in_flight_max: usize) -> Vec<Delivery> {
        let now = Instant::now();
        self.consumers.insert(consumer.clone(), now);
        if self.consumers.len() > CONSUMERS_MAX {
            self.forget_consumers(now);
        }
        let holding = self.in_flight_by.get(&consumer).copied().unwrap_or(0);
        let max = max.min(in_flight_max.saturating_sub(holding));
        let deadline = now + self.settings.ack_timeout();
        let mut deliveries = Vec::new();
        while deliveries.len() < max {
            let Some(id) = self.ready.pop_front() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&id) else {
                continue; // settled while it waited
            };
            if !matches!(entry.state, State::Ready) {
                continue;
            }
            entry.attempts += 1;
            let (attempt, event) = (entry.attempts, entry.event.clone());
            let out = State::InFlight {
                consumer: consumer.clone(),
                deadline,
            };
            self.set_state(id, out);
            self.timers.insert((deadline, id));
            deliveries.push(Delivery {
                ack_id: id,
                attempt,
                replayed: matches!(id, AckId::Parked(_)),
                event,
            });
        }
        self.counters.delivered += deliveries.len() as u64;
        deliveries
    }

    /// Forgets consumers idle for five minutes, then the longest idle beyond the maximum.
    fn forget_consumers(&mut self, now: Instant) {
        self.consumers
            .retain(|_, seen| now.duration_since(*seen) < CONSUMER_FORGOTTEN_AFTER);
        if self.consumers.len() > CONSUMERS_MAX {
            let mut seen: Vec<Instant> = self.consumers.values().copied().collect();
            seen.sort_unstable();
            let oldest_kept = seen[seen.len() - CONSUMERS_MAX];
            self.consumers.retain(|_, at| *at >= oldest_kept);
        }
    }

    /// Takes out an entry that was delivered at least once (an id never handed out cannot be
    /// settled: in pinned order that would let a later event overtake).
    fn take_delivered(&mut self, id: AckId) -> Option<Entry> {
        match self.entries.get(&id) {
            Some(entry) if entry.attempts > 0 => self.settle(id),
            _ => None,
        }
    }

    fn ack(&mut self, ids: &[AckId]) -> Settled {
        let mut settled = Settled::default();
        for &id in ids {
            match self.take_delivered(id) {
                Some(_) => {
                    self.counters.acked += 1;
                    settled.settled += 1;
                }
                None => settled.unknown.push(id.to_string()),
            }
        }
        settled
    }

    fn nack(&mut self, ids: &[AckId], action: NackAction, reason: &str) -> Settled {
        let mut settled = Settled::default();
        for &id in ids {
            // Only what is out with a consumer: a second nack of an event already waiting for
            // its retry would restart its back-off.
            let out = self
                .entries
                .get(&id)
                .is_some_and(|entry| matches!(entry.state, State::InFlight { .. }));
            if !out {
                settled.unknown.push(id.to_string());
                continue;
            }
            settled.settled += 1;
            match action {
                NackAction::Retry => self.retry_or_park(id, reason),
                NackAction::Park => self.parking.push((id, reason.to_owned())),
                NackAction::Skip => {
                    if self.settle(id).is_some() {
                        self.counters.skipped += 1;
                    }
                }
            }
        }
        settled
    }

    /// Schedules a retry, or queues the event for parking when its attempts are exhausted.
    fn retry_or_park(&mut self, id: AckId, reason: &str) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        if entry.attempts >= self.settings.max_attempts {
            let reason = format!("max_attempts ({}): {reason}", self.settings.max_attempts);
            self.parking.push((id, reason));
            return;
        }
        let until = Instant::now() + self.settings.backoff(entry.attempts);
        self.clear_timer(id);
        self.set_state(id, State::Waiting { until });
        self.timers.insert((until, id));
        self.counters.retried += 1;
    }

    /// Parks the queued events, a few hundred per append.
    async fn flush_parking(&mut self) {
        let mut queued = std::mem::take(&mut self.parking);
        queued.sort_by_key(|(id, _)| *id);
        queued.dedup_by_key(|(id, _)| *id);
        queued.retain(|(id, _)| self.entries.contains_key(id));
        let stream = storage::parked_stream(&self.name);
        for batch in queued.chunks(PARK_BATCH_MAX) {
            let copies = batch
                .iter()
                .map(|(id, reason)| {
                    let entry = &self.entries[id];
                    crate::dead_letters::copy_of(&entry.event, entry.attempts, reason)
                })
                .collect();
            match self
                .store
                .append(&stream, ExpectedRevision::Any, copies)
                .await
            {
                Ok(_) => {
                    for (id, _) in batch {
                        self.settle(*id);
                        self.counters.parked += 1;
                    }
                }
                Err(error) => {
                    // Never dropped: delivered again later, and parked again when it fails.
                    tracing::error!(group = %self.name, %error, "cannot park events; they will be delivered again");
                    let until = Instant::now() + TICK;
                    for (id, _) in batch {
                        self.clear_timer(*id);
                        if self.set_state(*id, State::Waiting { until }) {
                            self.timers.insert((until, *id));
                        }
                    }
                }
            }
        }
    }

    /// Book-keeping once an entry is settled: the pinned stream's next event becomes ready, a
    /// finished replay drops its parked copies.
    fn finish(&mut self, id: AckId, entry: &Entry) {
        match id {
            AckId::Source(cursor) => {
                self.progress.finished(cursor, &entry.event.stream);
                self.source_entries -= 1;
                self.source_bytes -= eventfold_store::rules::event_bytes(&entry.event);
                if self.settings.strategy == Strategy::Pinned {
                    self.next_of_stream(&entry.event.stream, cursor);
                }
            }
            AckId::Parked(_) => {
                if let Some(replay) = &mut self.replay {
                    replay.outstanding -= 1;
                }
            }
        }
    }

    fn next_of_stream(&mut self, stream: &StreamName, cursor: u64) {
        let Some(queue) = self.streams.get_mut(stream) else {
            return;
        };
        queue.retain(|c| *c != cursor);
        match queue.front().copied() {
            Some(next) => {
                let idle = self
                    .entries
                    .get(&AckId::Source(next))
                    .is_some_and(|entry| entry.attempts == 0);
                if idle {
                    self.make_ready(AckId::Source(next));
                }
            }
            None => {
                self.streams.remove(stream);
            }
        }
    }

    async fn on_timers(&mut self) {
        let now = Instant::now();
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            match entry.state {
                State::InFlight { deadline, .. } if deadline == at => {
                    self.counters.timed_out += 1;
                    self.retry_or_park(id, "ack timeout");
                }
                State::Waiting { until } if until == at => self.make_ready(id),
                _ => {} // a timer of an earlier state
            }
        }
        self.flush_parking().await;
        self.finish_replay().await;
    }

    async fn replay_parked(&mut self) -> Result<usize, crate::ApiError> {
        if let Some(replay) = &self.replay {
            return Err(crate::ApiError::conflict(format!(
                "a replay of parked events is in progress ({} left)",
                replay.outstanding
            )));
        }
        // At most a page's default bytes (16 MiB) at a time; the rest stays parked for the
        // next replay.
        let page = ReadStream {
            limit: PARKED_REPLAY_MAX,
            ..ReadStream::default()
        };
        let copies = storage::read_parked(&*self.store, &self.name, page).await?;
        let Some(last) = copies.last() else {
            return Ok(0);
        };
        let up_to = last.revision.0 + 1;
        let mut originals = Vec::with_capacity(copies.len());
        for copy in &copies {
            originals.push((copy.revision.0, crate::dead_letters::unpark(copy)?));
        }
        let count = originals.len();
        self.replay = Some(ParkedReplay {
            up_to,
            outstanding: count,
        });
        for (revision, event) in originals {
            let id = AckId::Parked(revision);
            self.entries.insert(id, Entry::fresh(event));
            self.make_ready(id);
        }
        Ok(count)
    }

    /// Once every replayed event is settled, hides the parked copies it took back.
    async fn finish_replay(&mut self) {
        let Some(replay) = &self.replay else {
            return;
        };
        if replay.outstanding > 0 {
            return;
        }
        let up_to = replay.up_to;
        match storage::drop_parked_before(&*self.store, &self.name, up_to).await {
            Ok(()) => self.replay = None,
            Err(error) => {
                tracing::warn!(group = %self.name, %error, "cannot drop replayed parked events; retrying")
            }
        }
    }

    /// The first unfinished cursor: everything before it is settled.
    fn watermark(&self) -> u64 {
        match self.entries.keys().next() {
            Some(AckId::Source(cursor)) => *cursor,
            _ => self.next_cursor,
        }
    }

    /// Saves the watermark if the group got further for a reason that counts (see
    /// [`Progress`]); `stopping`, any delivery finished since the last save counts.
    async fn save_checkpoint(&mut self, stopping: bool) {
        self.finish_replay().await;
        let watermark = self.watermark();
        if let Err(error) = self
            .progress
            .look_at_skipped(&*self.store, self.saved, watermark)
            .await
        {
            tracing::warn!(group = %self.name, %error, "cannot read what the filter skipped; retrying");
        }
        if !self.progress.worth_saving(self.saved, watermark, stopping) {
            return;
        }
        match storage::save_checkpoint(&*self.store, &self.name, watermark, self.incarnation).await
        {
            Ok(()) => {
                self.saved = watermark;
                self.progress.saved(watermark);
            }
            Err(error) => {
                tracing::warn!(group = %self.name, %error, "cannot save the checkpoint; retrying")
            }
        }
    }

    async fn status(&mut self) -> GroupStatus {
        let now = Instant::now();
        self.forget_consumers(now);
        let mut in_flight = 0;
        let mut retrying = 0;
        let mut per_consumer: HashMap<&str, usize> = HashMap::new();
        for entry in self.entries.values() {
            match &entry.state {
                State::InFlight { consumer, .. } => {
                    in_flight += 1;
                    *per_consumer.entry(consumer).or_default() += 1;
                }
                State::Waiting { .. } => retrying += 1,
                State::Ready => {}
            }
        }
        // The counts fetches use must agree with the entries (the tests run with this check).
        debug_assert_eq!(
            per_consumer,
            self.in_flight_by
                .iter()
                .map(|(name, n)| (&**name, *n))
                .collect::<HashMap<&str, usize>>(),
            "in-flight counts"
        );
        let consumers = self
            .consumers
            .iter()
            .map(|(name, seen)| ConsumerStatus {
                name: name.to_string(),
                in_flight: self.in_flight_by.get(name).copied().unwrap_or(0),
                idle_seconds: now.duration_since(*seen).as_secs_f64(),
            })
            .collect();
        // A live group on `$all` reads every new event at once (its own checkpoints included,
        // which the filter skips): positions past its cursor count only while it catches up
        // or its buffer is full.
        let following = self.settings.stream.is_none()
            && self.caught_up
            && self.source.is_some()
            && self.has_room();
        let unread = if following {
            Ok(0)
        } else {
            unread(&*self.store, &self.settings, self.next_cursor).await
        };
        let unread = unread.unwrap_or_else(|error| {
            tracing::warn!(group = %self.name, %error, "cannot compute the group's lag");
            0
        });
        let oldest = self
            .entries
            .iter()
            .filter(|(id, _)| matches!(id, AckId::Source(_)))
            .map(|(_, entry)| entry.event.recorded_at)
            .min();
        let lag_seconds = oldest.map_or(0.0, |at| {
            (chrono::Utc::now() - at)
                .num_microseconds()
                .unwrap_or(0)
                .max(0) as f64
                / 1e6
        });
        GroupStatus {
            checkpoint: self.watermark(),
            saved_checkpoint: self.saved,
            read_cursor: self.next_cursor,
            caught_up: self.caught_up,
            source_open: self.source.is_some(),
            buffered: self.source_entries,
            in_flight,
            retrying,
            replaying: self.replay.as_ref().map_or(0, |r| r.outstanding),
            lag_events: self.source_entries as u64 + unread,
            lag_seconds,
            counters: self.counters,
            consumers,
        }
    }
}

/// Events of the source from `next_cursor` on: not read yet.
async fn unread(
    store: &dyn EventStore,
    settings: &GroupSettings,
    next_cursor: u64,
) -> Result<u64, StoreError> {
    let end = match &settings.stream {
        None => store.head_position().await?.0,
        Some(stream) => match crate::streams::next_revision(store, stream).await {
            Err(StoreError::StreamDeleted(_)) => 0,
            other => other?,
        },
    };
    Ok(end.saturating_sub(next_cursor))
}

async fn next_message(
    source: &mut Option<Subscription>,
) -> Option<Result<SubscriptionMessage, StoreError>> {
    match source {
        Some(source) => source.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One event less out with `consumer`; a consumer with none is dropped from the counts.
fn release(in_flight_by: &mut HashMap<Arc<str>, usize>, consumer: &Arc<str>) {
    if let Some(count) = in_flight_by.get_mut(consumer) {
        *count -= 1;
        if *count == 0 {
            in_flight_by.remove(consumer);
        }
    }
}
