//! Moves the server's streams of the earlier naming scheme to their [`reserved`] names, when
//! the server opens and before any group or rule starts.
//!
//! The earlier scheme joined names with `-`, which names may contain, so some objects shared a
//! stream: the archive of bus `o-rule-r-checkpoint` was the checkpoint stream of rule `r` of
//! bus `o` (`$bus-o-rule-r-checkpoint`). Each old stream is claimed by every object whose old
//! name it is. A stream with one claimant is copied whole. A stream with several is split by
//! what each event is: a bus event (its metadata is a bus envelope) goes to the archive, a
//! `Checkpoint` that is not a bus event to the checkpoints, a dead letter to the dead letters —
//! so events put on a bus can never become another object's state. Each split is logged.
//!
//! Copies keep type, data, metadata and `occurred_at`, in order, with ids derived from the
//! originals. A copy that was cut short by a crash resumes where it stopped (the new stream
//! holds a prefix of the copy); the old stream is soft-deleted once every claimant has its
//! copy, so the next open finds nothing to do. What does not survive: recording times (the
//! copies are recorded now, which restarts `archive_days` and moves the events out of earlier
//! replay ranges) and positions (the copies are at the end of `$all`).
//!
//! Revisions of an archive are kept when it is copied whole and nothing of it had aged out;
//! otherwise the checkpoints of its rules are moved back by as many events, so no rule skips
//! any.

use std::collections::BTreeMap;

use uuid::Uuid;

use eventfold_store::{
    Direction, EventStore, ExpectedRevision, NewEvent, ReadStream, RecordedEvent, StoreError,
    StreamFrom, StreamMetadata, StreamName,
};

use crate::buses::events::Envelope;
use crate::buses::BusChange;
use crate::checkpoints;
use crate::dead_letters::ParkedMetadata;
use crate::groups::storage::GroupChange;
use crate::reserved::{Name, Reserved};

/// Events read and copied per append: at most 64 MiB of 1 MiB events.
const PAGE_EVENTS: usize = 64;

/// What kind of object claims an old stream (it decides which events it takes when several do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Archive,
    Checkpoints,
    DeadLetters,
}

/// One object whose old stream name is the key.
struct Claim {
    new: StreamName,
    kind: Kind,
}

/// A rule as the folded `$buses` defines it: its start and incarnation.
struct LiveRule {
    bus: Name,
    rule: Name,
    start: u64,
    incarnation: u64,
}

/// The event in `$migrations` that says this move is done (its id is fixed: recording it twice,
/// from two nodes, is a retry).
const DONE_TYPE: &str = "ReservedNamesMoved";

/// Moves every stream of the earlier scheme, once: a finished move is recorded in
/// `$migrations`, and later starts only read that.
pub async fn migrate(store: &dyn EventStore) -> Result<(), StoreError> {
    let done_stream = Reserved::Migrations.stream();
    let done = read_whole(store, &done_stream).await?.unwrap_or_default();
    if done.iter().any(|event| event.event_type == DONE_TYPE) {
        return Ok(());
    }
    if !move_streams(store).await? {
        return Ok(()); // no group or bus was ever defined: nothing to move, nothing to record
    }
    let mut record = NewEvent::json(DONE_TYPE, &serde_json::json!({}));
    record.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, DONE_TYPE.as_bytes());
    store
        .append(&done_stream, ExpectedRevision::Any, vec![record])
        .await
        .map(drop)
}

/// Moves the streams; false when no group or bus was ever defined.
async fn move_streams(store: &dyn EventStore) -> Result<bool, StoreError> {
    let mut claims: BTreeMap<StreamName, Vec<Claim>> = BTreeMap::new();
    let mut claim = |old: String, new: Reserved<'_>, kind: Kind| {
        let old = StreamName::new(&old).expect("old names fit stream names too");
        let new = new.stream();
        claims.entry(old).or_default().push(Claim { new, kind });
    };
    let (groups, old_prefixes) = group_names(store).await?;
    warn_of_old_prefixes(&old_prefixes);
    for group in groups {
        claim(
            format!("$group-{group}-checkpoint"),
            Reserved::GroupCheckpoint(&group),
            Kind::Checkpoints,
        );
        claim(
            format!("$group-{group}-parked"),
            Reserved::GroupParked(&group),
            Kind::DeadLetters,
        );
    }
    let (buses, rules, live) = bus_objects(store).await?;
    for bus in &buses {
        claim(
            format!("$bus-{bus}"),
            Reserved::BusArchive(bus),
            Kind::Archive,
        );
    }
    for (bus, rule) in &rules {
        claim(
            format!("$bus-{bus}-rule-{rule}-checkpoint"),
            Reserved::RuleCheckpoint(bus, rule),
            Kind::Checkpoints,
        );
        claim(
            format!("$bus-{bus}-rule-{rule}-dead"),
            Reserved::RuleDeadLetters(bus, rule),
            Kind::DeadLetters,
        );
    }
    for (old, claimants) in &claims {
        let Some(events) = read_whole(store, old).await? else {
            continue;
        };
        let old_next = crate::streams::next_revision(store, old).await?;
        let shared = claimants.len() > 1;
        if shared {
            tracing::warn!(stream = %old, claimants = claimants.len(), "an old stream was shared by several objects; its events are split by kind");
        }
        for claimant in claimants {
            let taken: Vec<&RecordedEvent> = events
                .iter()
                .filter(|event| !shared || belongs(event, claimant.kind))
                .collect();
            let limits = !shared || claimant.kind == Kind::Archive;
            copy(store, old, &claimant.new, &taken, limits).await?;
            // Revisions the new archive lacks (aged out, or another object's): its rules'
            // checkpoints move back by as many, before the old stream goes, so a crash in
            // between does it again rather than never.
            let shift = old_next.saturating_sub(taken.len() as u64);
            if claimant.kind == Kind::Archive && shift > 0 {
                for rule in live
                    .iter()
                    .filter(|rule| claimant.new == Reserved::BusArchive(&rule.bus).stream())
                {
                    shift_checkpoint(store, rule, shift).await?;
                }
            }
        }
        forget(store, old).await?;
        tracing::info!(stream = %old, events = events.len(), "moved to the reserved naming scheme");
    }
    Ok(!claims.is_empty())
}

/// Every group `$groups` ever defined, and the prefix filters of the old scheme among them.
async fn group_names(
    store: &dyn EventStore,
) -> Result<(Vec<Name>, Vec<(Name, String)>), StoreError> {
    let (mut names, mut old_prefixes) = (Vec::new(), Vec::new());
    for event in read_whole(store, &Reserved::Groups.stream())
        .await?
        .unwrap_or_default()
    {
        if let GroupChange::Saved { name, settings } = parse(&event)? {
            if let Some(prefix) = settings.filter.prefix.filter(|p| p.starts_with("$bus-")) {
                old_prefixes.push((name.clone(), prefix));
            }
            names.push(name);
        }
    }
    names.sort();
    names.dedup();
    old_prefixes.dedup();
    Ok((names, old_prefixes))
}

type BusObjects = (Vec<Name>, Vec<(Name, Name)>, Vec<LiveRule>);

/// Every bus and rule `$buses` ever defined, and the rules defined now.
async fn bus_objects(store: &dyn EventStore) -> Result<BusObjects, StoreError> {
    let (mut buses, mut rules) = (Vec::new(), Vec::new());
    let mut live: BTreeMap<(Name, Name), (u64, u64)> = BTreeMap::new();
    for event in read_whole(store, &Reserved::Buses.stream())
        .await?
        .unwrap_or_default()
    {
        match parse(&event)? {
            BusChange::BusSaved { bus, .. } => buses.push(bus),
            BusChange::BusDeleted { bus } => live.retain(|(b, _), _| *b != bus),
            BusChange::RuleSaved {
                bus,
                rule,
                settings,
            } => {
                rules.push((bus.clone(), rule.clone()));
                let key = (bus, rule);
                let incarnation = live.get(&key).map_or(event.revision.0, |(_, i)| *i);
                live.insert(key, (settings.start, incarnation));
            }
            BusChange::RuleDeleted { bus, rule } => {
                live.remove(&(bus, rule));
            }
        }
    }
    buses.sort();
    buses.dedup();
    rules.sort();
    rules.dedup();
    let live = live
        .into_iter()
        .map(|((bus, rule), (start, incarnation))| LiveRule {
            bus,
            rule,
            start,
            incarnation,
        })
        .collect();
    Ok((buses, rules, live))
}

fn parse<C: serde::de::DeserializeOwned>(event: &RecordedEvent) -> Result<C, StoreError> {
    serde_json::from_slice(&event.data).map_err(|error| {
        crate::dead_letters::corrupt(event, &format!("not a configuration change: {error}"))
    })
}

/// Whether `event` of a shared old stream is an object of `kind`.
fn belongs(event: &RecordedEvent, kind: Kind) -> bool {
    let bus_event = serde_json::from_slice::<Envelope>(&event.metadata).is_ok();
    match kind {
        Kind::Archive => bus_event,
        Kind::Checkpoints => !bus_event && event.event_type == "Checkpoint",
        Kind::DeadLetters => {
            !bus_event && serde_json::from_slice::<ParkedMetadata>(&event.metadata).is_ok()
        }
    }
}

/// Every visible event of `stream`; `None` when it does not exist (or was deleted).
async fn read_whole(
    store: &dyn EventStore,
    stream: &StreamName,
) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
    let mut events: Vec<RecordedEvent> = Vec::new();
    loop {
        let from = events.last().map_or(StreamFrom::Start, |last| {
            StreamFrom::Revision(eventfold_store::Revision(last.revision.0 + 1))
        });
        let request = ReadStream {
            from,
            direction: Direction::Forward,
            limit: PAGE_EVENTS,
            ..Default::default()
        };
        match store.read_stream(stream, request).await {
            Ok(page) if page.is_empty() => return Ok(Some(events)),
            Ok(page) => events.extend(page),
            Err(StoreError::StreamNotFound(_) | StoreError::StreamDeleted(_)) => {
                return Ok(if events.is_empty() {
                    None
                } else {
                    Some(events)
                })
            }
            Err(error) => return Err(error),
        }
    }
}

/// Appends to `new` the events of `taken` it does not hold yet (after the last one a crashed
/// run copied, found by its derived id), and, with `limits`, the old stream's limits.
async fn copy(
    store: &dyn EventStore,
    old: &StreamName,
    new: &StreamName,
    taken: &[&RecordedEvent],
    limits: bool,
) -> Result<(), StoreError> {
    let last_copied = last_event_id(store, new).await?;
    let resume = match last_copied {
        None => 0,
        Some(id) => match taken.iter().position(|event| copy_id(event, new) == id) {
            Some(at) => at + 1,
            None => {
                // The last copy's original aged out since: so did every older one.
                let held = crate::streams::next_revision(store, new).await? as usize;
                tracing::warn!(stream = %new, held, "resuming a move whose last original is gone");
                held.min(taken.len())
            }
        },
    };
    for page in taken[resume..].chunks(PAGE_EVENTS) {
        let copies = page.iter().map(|event| copy_of(event, new)).collect();
        store.append(new, ExpectedRevision::Any, copies).await?;
    }
    let moved = StreamMetadata {
        truncate_before: None, // it counted the old stream's revisions
        ..store.stream_metadata(old).await?
    };
    if limits && moved != StreamMetadata::default() {
        store.set_stream_metadata(new, moved).await?;
    }
    Ok(())
}

/// The id of the last event of `stream`, if any.
async fn last_event_id(
    store: &dyn EventStore,
    stream: &StreamName,
) -> Result<Option<Uuid>, StoreError> {
    let request = ReadStream {
        from: StreamFrom::End,
        direction: Direction::Backward,
        limit: 1,
        bytes_max: 1,
    };
    match store.read_stream(stream, request).await {
        Ok(events) => Ok(events.first().map(|event| event.id)),
        Err(StoreError::StreamNotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

fn copy_id(event: &RecordedEvent, new: &StreamName) -> Uuid {
    let name = format!("migrate/{}/{new}", event.id);
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

/// The copy of an old event. Data or metadata an earlier version accepted but the store no
/// longer takes as JSON is kept byte for byte: data as `application/octet-stream`, metadata
/// as text in `{"legacy_metadata": "…"}`.
fn copy_of(event: &RecordedEvent, new: &StreamName) -> NewEvent {
    let mut content_type = event.content_type.clone().into_owned();
    if event.is_json() && eventfold_store::check_json_text(&event.data).is_err() {
        content_type = "application/octet-stream".to_owned();
    }
    let mut metadata = event.metadata.clone();
    if eventfold_store::check_json_text(&metadata).is_err() {
        let text = String::from_utf8_lossy(&event.metadata);
        metadata = serde_json::to_vec(&serde_json::json!({ "legacy_metadata": text }))
            .expect("serialises")
            .into();
    }
    NewEvent {
        id: copy_id(event, new),
        event_type: event.event_type.clone(),
        data: event.data.clone(),
        content_type,
        metadata,
        occurred_at: event.occurred_at,
    }
}

async fn forget(store: &dyn EventStore, old: &StreamName) -> Result<(), StoreError> {
    crate::config_log::forget_streams(store, std::slice::from_ref(old)).await
}

/// Moves a rule's position back by `shift` events of its archive (they were not copied),
/// once: the moved checkpoint is marked, and a marked one is left alone.
async fn shift_checkpoint(
    store: &dyn EventStore,
    rule: &LiveRule,
    shift: u64,
) -> Result<(), StoreError> {
    let stream = Reserved::RuleCheckpoint(&rule.bus, &rule.rule).stream();
    let request = ReadStream {
        from: StreamFrom::End,
        direction: Direction::Backward,
        limit: 1,
        ..ReadStream::default()
    };
    let last = match store.read_stream(&stream, request).await {
        Ok(events) => events.into_iter().next(),
        Err(StoreError::StreamNotFound(_)) => None,
        Err(error) => return Err(error),
    };
    let marked = last.as_ref().is_some_and(|event| {
        serde_json::from_slice::<serde_json::Value>(&event.data)
            .is_ok_and(|saved| saved[MOVED_MARK] == true)
    });
    if marked {
        return Ok(());
    }
    let saved: Option<SavedNext> = checkpoints::load(store, &stream, rule.incarnation).await?;
    let next = saved
        .map_or(rule.start, |saved| saved.next)
        .saturating_sub(shift);
    tracing::info!(bus = %rule.bus, rule = %rule.rule, next, "rule checkpoint moved with its archive");
    let checkpoint =
        serde_json::json!({"next": next, "incarnation": rule.incarnation, MOVED_MARK: true});
    let event = NewEvent::json("Checkpoint", &checkpoint);
    store
        .append(&stream, ExpectedRevision::Any, vec![event])
        .await
        .map(drop)
}

/// The archive cursor of a rule checkpoint (servers of the old scheme saved nothing else).
#[derive(serde::Deserialize)]
struct SavedNext {
    next: u64,
}

/// Marks a rule checkpoint that the move of its archive already shifted.
const MOVED_MARK: &str = "moved_with_archive";

/// Says which groups filter on a prefix of the old scheme (`$bus-…`): they no longer see the
/// bus's events, and their filter cannot change (delete and create them again).
fn warn_of_old_prefixes(old_prefixes: &[(Name, String)]) {
    for (group, prefix) in old_prefixes {
        tracing::warn!(%group, %prefix, "the group's prefix filter names a stream of the old scheme; a bus's archive is now `$bus:<bus>:archive`: create the group again with that prefix");
    }
}
