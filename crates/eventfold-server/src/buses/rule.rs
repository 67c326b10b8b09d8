//! One rule's task: it follows its bus's archive and replays stream (see [`cursors`]) from its
//! checkpoint, matches each event against the pattern, and delivers each match to every target
//! in order before it looks at the next event — so a stream's order is kept on every target.
//! A replayed event (one of the replays stream, or marked as a replay) goes to a bus target's
//! replays stream, never its archive: it reaches that bus's rules (and down a chain of buses,
//! theirs) while every archive keeps each event put on its bus once.
//! Deliveries that keep failing go to the rule's dead-letter stream; the store being
//! unavailable is waited out, never dead-lettered. The checkpoint is saved once a second when
//! the rule considered events: after a crash a few events are delivered again, with the same
//! ids.
//!
//! [`cursors`]: super::cursors

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;

use eventfold_pattern::Pattern;
use eventfold_store::{
    EventStore, ExpectedRevision, NewEvent, RecordedEvent, Revision, StoreError, StreamFrom,
    StreamName, Subscription, SubscriptionMessage,
};

use super::cursors::{self, Cursors, Source};
use super::events::{self, Envelope, Hop, FANOUT_COPIES_MAX, HOPS_MAX};
use super::replay;
use super::Directory;
use crate::reserved::{Name, Reserved};
use eventfold_api::buses::{RuleSettings, Target, Webhook};

/// How often the checkpoint is saved (when the rule considered events).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// The largest event (data and metadata, in bytes) matched on the rule's own task.
const MATCH_INLINE_BYTES_MAX: usize = 16 * 1024;
/// The longest wait between two tries when the store refuses a target's write.
const STORE_RETRY_MAX: Duration = Duration::from_secs(30);

/// A rule's counters, shared with the API.
#[derive(Debug, Default)]
pub struct RuleStats {
    /// The next revision of the bus's archive to consider.
    pub next: AtomicU64,
    /// The next revision of the bus's replays stream to consider.
    pub replays_next: AtomicU64,
    /// Events that matched.
    pub matched: AtomicU64,
    /// Deliveries made (one per target).
    pub delivered: AtomicU64,
    /// Webhook attempts that failed and were retried.
    pub retried: AtomicU64,
    /// Deliveries sent to the dead-letter stream.
    pub dead_lettered: AtomicU64,
    /// Events that aged out of the archive or the replays stream (`archive_days`) before the
    /// rule considered them.
    pub expired: AtomicU64,
}

impl RuleStats {
    /// Where the rule is.
    pub fn at(&self) -> Cursors {
        Cursors {
            archive: self.next.load(Ordering::Relaxed),
            replays: self.replays_next.load(Ordering::Relaxed),
        }
    }

    fn set(&self, at: Cursors) {
        self.next.store(at.archive, Ordering::Relaxed);
        self.replays_next.store(at.replays, Ordering::Relaxed);
    }

    /// Events of a bus whose streams end at `end` that the rule has not considered yet.
    pub fn lag(&self, end: Cursors) -> u64 {
        self.at().behind(end)
    }
}

/// What became of one delivery.
enum Outcome {
    Delivered,
    /// Given up for good: dead-lettered with this reason and attempt count.
    Failed(String, u32),
    /// The task was told to stop.
    Stopped,
}

/// A rule's task.
pub struct RuleTask {
    /// The bus.
    pub bus: Name,
    /// The rule.
    pub rule: Name,
    /// Its settings.
    pub settings: RuleSettings,
    /// Which rule of this name this is (its checkpoints are tagged with it).
    pub incarnation: u64,
    /// Its compiled pattern.
    pub pattern: Pattern,
    /// The store.
    pub store: Arc<dyn EventStore>,
    /// The buses and groups targets resolve against.
    pub directory: Arc<Directory>,
    /// For webhooks.
    pub http: reqwest::Client,
    /// Shared counters.
    pub stats: Arc<RuleStats>,
    /// The target buses whose replays stream was given its archive's age limit by this task.
    pub aged: parking_lot::Mutex<BTreeSet<Name>>,
}

impl RuleTask {
    /// Runs until `stop` turns true, then saves the checkpoint.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut at = loop {
            let loaded = cursors::load(
                &*self.store,
                &self.bus,
                &self.rule,
                &self.settings,
                self.incarnation,
            )
            .await;
            match loaded {
                Ok(at) => break at,
                Err(error) => {
                    tracing::error!(bus = %self.bus, rule = %self.rule, %error, "cannot load the rule's checkpoint; retrying");
                    if sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                        return;
                    }
                }
            }
        };
        self.stats.set(at);
        let mut saved = at;
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        'follow: loop {
            let opened = tokio::select! {
                opened = self.open(at) => opened,
                _ = stop.wait_for(|stopping| *stopping) => break 'follow,
            };
            let (mut archive, mut replays) = match opened {
                Ok(sources) => sources,
                Err(error) => {
                    tracing::warn!(bus = %self.bus, rule = %self.rule, %error, "cannot read the bus; retrying");
                    if sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                        break 'follow;
                    }
                    continue;
                }
            };
            loop {
                // Each stream in order; between the two, whichever has an event first.
                let step = tokio::select! {
                    message = archive.next() => Step::Message(Source::Archive, message),
                    message = replays.next() => Step::Message(Source::Replays, message),
                    _ = tick.tick() => Step::Tick,
                    _ = stop.wait_for(|stopping| *stopping) => Step::Stop,
                };
                match step {
                    Step::Message(source, Some(Ok(SubscriptionMessage::Event(event)))) => {
                        let next = at.get(source);
                        if event.revision.0 < next {
                            continue;
                        }
                        if event.revision.0 > next {
                            // Aged out (archive_days) before the rule got to them.
                            let missed = event.revision.0 - next;
                            self.stats.expired.fetch_add(missed, Ordering::Relaxed);
                            tracing::warn!(bus = %self.bus, rule = %self.rule, missed, "events expired from the bus before the rule delivered them");
                        }
                        if !self.consider(&event, source, &mut stop).await {
                            break 'follow;
                        }
                        at.set(source, event.revision.0 + 1);
                        self.stats.set(at);
                    }
                    Step::Message(_, Some(Ok(_))) => {}
                    Step::Message(_, Some(Err(error))) => {
                        tracing::warn!(bus = %self.bus, rule = %self.rule, %error, "reading the bus failed; resuming");
                        break;
                    }
                    Step::Message(_, None) => break,
                    Step::Tick => self.save_checkpoint(at, &mut saved).await,
                    Step::Stop => break 'follow,
                }
            }
            if sleep_or_stop(Duration::from_millis(100), &mut stop).await {
                break 'follow;
            }
        }
        self.save_checkpoint(at, &mut saved).await;
    }

    /// Subscribes to the bus's archive and replays stream from `at`.
    async fn open(&self, at: Cursors) -> Result<(Subscription, Subscription), StoreError> {
        let subscribe = |source: Source| {
            let from = StreamFrom::Revision(Revision(at.get(source)));
            let stream = source.stream(&self.bus);
            async move { self.store.subscribe_stream(&stream, from).await }
        };
        Ok((
            subscribe(Source::Archive).await?,
            subscribe(Source::Replays).await?,
        ))
    }

    /// Saves `at` when the rule considered events since `saved`.
    async fn save_checkpoint(&self, at: Cursors, saved: &mut Cursors) {
        if !at.passes(*saved) {
            return;
        }
        match cursors::save(&*self.store, &self.bus, &self.rule, at, self.incarnation).await {
            Ok(()) => *saved = at,
            Err(error) => {
                tracing::warn!(bus = %self.bus, rule = %self.rule, %error, "cannot save the rule's checkpoint")
            }
        }
    }

    /// Whether the pattern matches. A match costs up to the pattern's nodes times the event's
    /// size (a large event against the largest pattern: seconds of CPU), so events over
    /// [`MATCH_INLINE_BYTES_MAX`] are matched on the blocking pool, never on an async worker:
    /// the server keeps answering while a rule grinds.
    /// `None` when the blocking pool could not run it (the runtime is shutting down): the
    /// event is then left for the next start, never passed over.
    async fn matches(&self, document: serde_json::Value, event: &RecordedEvent) -> Option<bool> {
        if event.data.len() + event.metadata.len() <= MATCH_INLINE_BYTES_MAX {
            return Some(self.pattern.matches(&document));
        }
        let pattern = self.pattern.clone();
        tokio::task::spawn_blocking(move || pattern.matches(&document))
            .await
            .ok()
    }

    /// Matches and delivers one event read from `source`; false when told to stop before it
    /// was done.
    async fn consider(
        &self,
        event: &RecordedEvent,
        source: Source,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        if !self.settings.enabled {
            return true;
        }
        let envelope = match Envelope::of(event) {
            Ok(envelope) => envelope,
            Err(error) => {
                // Not ours to judge further: keep it, say why, go on.
                return self.dead_letter(event, &error.to_string(), 0, stop).await;
            }
        };
        let document = match events::match_document(event, &envelope) {
            Ok(document) => document,
            // Stored JSON that does not parse is corruption, handled as a broken envelope is.
            Err(error) => return self.dead_letter(event, &error.to_string(), 0, stop).await,
        };
        match self.matches(document, event).await {
            Some(true) => {}
            Some(false) => return true,
            None => return false,
        }
        self.stats.matched.fetch_add(1, Ordering::Relaxed);
        let matched = Matched {
            event,
            envelope: &envelope,
            // Copies that servers before the replays stream put into the archive are replays too.
            replayed: source == Source::Replays || envelope.replay.is_some(),
        };
        // Each bus target of this bus gets an equal share of the event's fan-out budget.
        let share = envelope.fanout_left() / self.directory.bus_targets(&self.bus).max(1);
        let mut refused = Vec::new();
        for (index, target) in self.settings.targets.iter().enumerate() {
            if let Target::Bus(bus) = target {
                if let Some(why) = self.refuse_forward(bus, &envelope, share) {
                    refused.push(format!("targets[{index}] ({}): {why}", target.describe()));
                    continue;
                }
            }
            let fanout = share.saturating_sub(1);
            match self.deliver(&matched, index, target, fanout, stop).await {
                Outcome::Delivered => {
                    self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Failed(reason, attempts) => {
                    let reason = format!("{}: {reason}", target.describe());
                    if !self.dead_letter(event, &reason, attempts, stop).await {
                        return false;
                    }
                }
                Outcome::Stopped => return false,
            }
        }
        // A loop or a spent budget is dead-lettered once per event, however many targets.
        if !refused.is_empty() && !self.dead_letter(event, &refused.join("; "), 1, stop).await {
            return false;
        }
        true
    }

    /// Why a copy of the event must not go to `bus`: a loop (the event came through it, or it
    /// is this bus), or the event's fan-out budget is spent.
    fn refuse_forward(&self, bus: &Name, envelope: &Envelope, share: u32) -> Option<String> {
        if **bus == *self.bus || envelope.came_through(bus) {
            let mut path: Vec<&str> = envelope.via.iter().map(|hop| hop.bus.as_str()).collect();
            path.push(&self.bus);
            path.push(bus);
            return Some(format!("a loop ({})", path.join(" → ")));
        }
        if share == 0 {
            return Some(format!(
                "the fan-out budget is spent (one event put on a bus makes at most {FANOUT_COPIES_MAX} copies through buses)"
            ));
        }
        None
    }

    /// Delivers a matched event to target number `index`. A replayed one goes to a bus
    /// target's replays stream, with an id of its own there (see [`events::replayed_copy_id`]).
    async fn deliver(
        &self,
        matched: &Matched<'_>,
        index: usize,
        target: &Target,
        fanout: u32,
        stop: &mut watch::Receiver<bool>,
    ) -> Outcome {
        let Matched {
            event,
            envelope,
            replayed,
        } = *matched;
        if let Target::Webhook(webhook) = target {
            let body = match events::webhook_body(event, envelope, &self.bus, &self.rule) {
                Ok(body) => body,
                Err(error) => return Outcome::Failed(error.to_string(), 0),
            };
            return self.call(webhook, event, body, stop).await;
        }
        if envelope.via.len() >= HOPS_MAX {
            return Outcome::Failed(
                format!("the event went through {HOPS_MAX} rules already (a loop?)"),
                1,
            );
        }
        let mut id = events::copy_id(event, &self.bus, &self.rule, index);
        let stream = match target {
            Target::Webhook(_) => unreachable!("delivered above"),
            Target::Stream(stream) => stream.clone(),
            Target::Bus(bus) => {
                let Some(settings) = self.directory.bus(bus) else {
                    return Outcome::Failed("no such bus".into(), 1);
                };
                if !settings.policy.allows_source(&envelope.source) {
                    return Outcome::Failed(
                        format!("its policy refuses source {:?}", envelope.source),
                        1,
                    );
                }
                if !settings.policy.allows_type(&event.event_type) {
                    return Outcome::Failed(
                        format!("its policy refuses type {:?}", event.event_type),
                        1,
                    );
                }
                if replayed {
                    let copies = Reserved::BusReplays(bus).stream();
                    self.age_copies_as_the_archive(bus).await;
                    id = events::replayed_copy_id(event, &copies, &self.bus, &self.rule, index);
                    copies
                } else {
                    Reserved::BusArchive(bus).stream()
                }
            }
            Target::Group(group) => match self.directory.group_stream(group) {
                Ok(stream) if !stream.as_str().starts_with('$') => stream,
                Ok(stream) => {
                    let reason = format!("the group follows {stream}, a stream of the server");
                    return Outcome::Failed(reason, 1);
                }
                Err(reason) => return Outcome::Failed(reason, 1),
            },
        };
        let hop = Hop {
            bus: self.bus.to_string(),
            rule: self.rule.to_string(),
        };
        let copy = events::forwarded(event, envelope, hop, id, fanout);
        self.append_until_done(&stream, copy, stop).await
    }

    /// Gives the replays stream of target bus `bus` its archive's age limit, once per run of
    /// this task and bus, in case the bus was last saved by a server that had no replays stream
    /// (as a replay of `bus` does). A failure is said and tried again at the next copy: the
    /// copy is delivered all the same.
    async fn age_copies_as_the_archive(&self, bus: &Name) {
        if self.aged.lock().contains(bus) {
            return;
        }
        match replay::age_copies_as_the_archive(&*self.store, bus).await {
            Ok(()) => {
                self.aged.lock().insert(bus.clone());
            }
            Err(error) => {
                tracing::warn!(bus = %self.bus, rule = %self.rule, target = %bus, %error, "cannot give the target bus's replays stream its archive's age limit")
            }
        }
    }

    /// Appends, waiting out an unavailable store; gives up only on a refusal that retrying
    /// cannot change (a tombstoned stream, a limit).
    async fn append_until_done(
        &self,
        stream: &StreamName,
        event: NewEvent,
        stop: &mut watch::Receiver<bool>,
    ) -> Outcome {
        let mut wait = Duration::from_millis(100);
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self
                .store
                .append(stream, ExpectedRevision::Any, vec![event.clone()])
                .await
            {
                Ok(_) => return Outcome::Delivered,
                Err(
                    error @ (StoreError::StreamDeleted(_)
                    | StoreError::EventTooLarge { .. }
                    | StoreError::AppendTooLarge { .. }
                    | StoreError::InvalidEvent { .. }
                    | StoreError::EventIdConflict { .. }),
                ) => return Outcome::Failed(error.to_string(), attempts),
                Err(error) => {
                    tracing::warn!(bus = %self.bus, rule = %self.rule, %error, "cannot deliver to {stream}; retrying");
                    if sleep_or_stop(wait, stop).await {
                        return Outcome::Stopped;
                    }
                    wait = (wait * 2).min(STORE_RETRY_MAX);
                }
            }
        }
    }

    /// Calls a webhook with retries: 2xx is delivered; 408, 429, 5xx, time-outs and connection
    /// errors are retried with back-off; any other status is final.
    async fn call(
        &self,
        webhook: &Webhook,
        event: &RecordedEvent,
        body: bytes::Bytes,
        stop: &mut watch::Receiver<bool>,
    ) -> Outcome {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .post(&webhook.url)
                .timeout(Duration::from_millis(webhook.timeout_ms))
                .header("eventfold-event-id", event.id.to_string())
                .header("eventfold-attempt", attempt.to_string())
                // JSON already, with the stored data and metadata in it as they are.
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            for (name, value) in &webhook.headers {
                request = request.header(name, value);
            }
            let failure = tokio::select! {
                response = request.send() => match response {
                    Ok(response) if response.status().is_success() => return Outcome::Delivered,
                    Ok(response) => {
                        let status = response.status();
                        let retryable = status.is_server_error()
                            || status == reqwest::StatusCode::REQUEST_TIMEOUT
                            || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                        if !retryable {
                            return Outcome::Failed(format!("answered {status}"), attempt);
                        }
                        format!("answered {status}")
                    }
                    Err(error) => format!("{error}"),
                },
                _ = stop.wait_for(|stopping| *stopping) => return Outcome::Stopped,
            };
            if attempt >= webhook.max_attempts {
                return Outcome::Failed(format!("{failure} (after {attempt} attempts)"), attempt);
            }
            self.stats.retried.fetch_add(1, Ordering::Relaxed);
            if sleep_or_stop(webhook.backoff(attempt), stop).await {
                return Outcome::Stopped;
            }
        }
    }

    /// Keeps a copy of an undeliverable event; false when told to stop before it was kept.
    async fn dead_letter(
        &self,
        event: &RecordedEvent,
        reason: &str,
        attempts: u32,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let stream = Reserved::RuleDeadLetters(&self.bus, &self.rule).stream();
        let mut wait = Duration::from_millis(100);
        loop {
            match crate::dead_letters::park(&*self.store, &stream, event, attempts, reason).await {
                Ok(()) => {
                    self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(bus = %self.bus, rule = %self.rule, event = %event.id, reason, "dead-lettered");
                    return true;
                }
                Err(
                    error @ (StoreError::EventTooLarge { .. }
                    | StoreError::AppendTooLarge { .. }
                    | StoreError::InvalidEvent { .. }),
                ) => {
                    // Retrying cannot change a refusal: say so loudly and go on, rather than
                    // hold up every later event of the bus.
                    self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(bus = %self.bus, rule = %self.rule, event = %event.id, reason, %error, "the store refuses the dead letter; the event is left in the archive only");
                    return true;
                }
                Err(error) => {
                    tracing::warn!(bus = %self.bus, rule = %self.rule, %error, "cannot dead-letter; retrying");
                    if sleep_or_stop(wait, stop).await {
                        return false;
                    }
                    wait = (wait * 2).min(STORE_RETRY_MAX);
                }
            }
        }
    }
}

/// A matched event on its way to the rule's targets.
#[derive(Clone, Copy)]
struct Matched<'a> {
    event: &'a RecordedEvent,
    envelope: &'a Envelope,
    /// A replay's copy, or a copy of one: bus targets get it in their replays stream.
    replayed: bool,
}

/// What woke the rule's loop.
enum Step {
    Message(Source, Option<Result<SubscriptionMessage, StoreError>>),
    Tick,
    Stop,
}

/// Sleeps; true when told to stop meanwhile.
async fn sleep_or_stop(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        _ = stop.wait_for(|stopping| *stopping) => true,
    }
}
