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

/// Moves every stream of the earlier scheme; does nothing once they are gone.
pub async fn migrate(store: &dyn EventStore) -> Result<(), StoreError> {
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
    // Rules whose archive lost its first revisions in the move, by how many.
    let mut archive_shift: BTreeMap<StreamName, u64> = BTreeMap::new();
    for (old, claimants) in &claims {
        let Some(events) = read_whole(store, old).await? else {
            continue;
        };
        let shared = claimants.len() > 1;
        if shared {
            tracing::warn!(stream = %old, claimants = claimants.len(), "an old stream was shared by several objects; its events are split by kind");
        }
        for claimant in claimants {
            let taken: Vec<&RecordedEvent> = events
                .iter()
                .filter(|event| !shared || belongs(event, claimant.kind))
                .collect();
            copy(store, old, &claimant.new, &taken).await?;
            let first = taken.first().map_or(0, |event| event.revision.0);
            let whole = taken.len() == events.len();
            if claimant.kind == Kind::Archive && !(whole && first == 0) {
                archive_shift.insert(claimant.new.clone(), first);
            }
        }
        forget(store, old).await?;
        tracing::info!(stream = %old, events = events.len(), "moved to the reserved naming scheme");
    }
    for rule in &live {
        let archive = Reserved::BusArchive(&rule.bus).stream();
        if let Some(&shift) = archive_shift.get(&archive) {
            shift_checkpoint(store, rule, shift).await?;
        }
    }
    Ok(())
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

/// Appends to `new` the events of `taken` it does not hold yet, and the old stream's limits.
async fn copy(
    store: &dyn EventStore,
    old: &StreamName,
    new: &StreamName,
    taken: &[&RecordedEvent],
) -> Result<(), StoreError> {
    let held = crate::streams::next_revision(store, new).await? as usize;
    for page in taken.get(held..).unwrap_or_default().chunks(PAGE_EVENTS) {
        let copies = page.iter().map(|event| copy_of(event, new)).collect();
        store.append(new, ExpectedRevision::Any, copies).await?;
    }
    let limits = store.stream_metadata(old).await?;
    let moved = StreamMetadata {
        truncate_before: None, // it counted the old stream's revisions
        ..limits
    };
    if held == 0 && moved != StreamMetadata::default() {
        store.set_stream_metadata(new, moved).await?;
    }
    Ok(())
}

fn copy_of(event: &RecordedEvent, new: &StreamName) -> NewEvent {
    let name = format!("migrate/{}/{new}", event.id);
    NewEvent {
        id: Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()),
        event_type: event.event_type.clone(),
        data: event.data.clone(),
        content_type: event.content_type.clone().into_owned(),
        metadata: event.metadata.clone(),
        occurred_at: event.occurred_at,
    }
}

async fn forget(store: &dyn EventStore, old: &StreamName) -> Result<(), StoreError> {
    crate::config_log::forget_streams(store, std::slice::from_ref(old)).await
}

/// Moves a rule's position back by `shift` events of its archive (they were not copied).
async fn shift_checkpoint(
    store: &dyn EventStore,
    rule: &LiveRule,
    shift: u64,
) -> Result<(), StoreError> {
    let stream = Reserved::RuleCheckpoint(&rule.bus, &rule.rule).stream();
    let saved = checkpoints::load(store, &stream, "next", rule.incarnation).await?;
    let next = saved.unwrap_or(rule.start).saturating_sub(shift);
    tracing::info!(bus = %rule.bus, rule = %rule.rule, next, "rule checkpoint moved with its archive");
    checkpoints::save(store, &stream, "next", next, rule.incarnation).await
}

/// Says which groups filter on a prefix of the old scheme (`$bus-…`): they no longer see the
/// bus's events, and their filter cannot change (delete and create them again).
fn warn_of_old_prefixes(old_prefixes: &[(Name, String)]) {
    for (group, prefix) in old_prefixes {
        tracing::warn!(%group, %prefix, "the group's prefix filter names a stream of the old scheme; a bus's archive is now `$bus:<bus>:archive`: create the group again with that prefix");
    }
}
