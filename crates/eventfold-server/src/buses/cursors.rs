//! Where a rule is on its bus. A bus has two streams a rule follows: its archive, every event
//! put on the bus once, and its replays stream, the copies replays put back on it (so a fold of
//! the archive never sees an event twice). A rule's position is the next revision of each it
//! has not considered, saved as its checkpoint `{"next": a, "replays_next": r, "incarnation": i}`.

use serde::{Deserialize, Serialize};

use eventfold_store::{EventStore, StoreError, StreamName};

use crate::checkpoints;
use crate::reserved::{Name, Reserved};
use eventfold_api::buses::RuleSettings;

/// One of the two streams of a bus that its rules follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `$bus:<bus>:archive`: every event put on the bus, once.
    Archive,
    /// `$bus:<bus>:replays`: the copies the bus's replays put back on it.
    Replays,
}

impl Source {
    /// Both, archive first.
    pub const BOTH: [Source; 2] = [Source::Archive, Source::Replays];

    /// This stream of `bus`.
    pub fn stream(self, bus: &Name) -> StreamName {
        match self {
            Self::Archive => Reserved::BusArchive(bus).stream(),
            Self::Replays => Reserved::BusReplays(bus).stream(),
        }
    }
}

/// A revision of each of a bus's two streams.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursors {
    /// Of the archive.
    pub archive: u64,
    /// Of the replays stream.
    pub replays: u64,
}

impl Cursors {
    /// The revision of `source`.
    pub fn get(self, source: Source) -> u64 {
        match source {
            Source::Archive => self.archive,
            Source::Replays => self.replays,
        }
    }

    /// Sets the revision of `source`.
    pub fn set(&mut self, source: Source, revision: u64) {
        match source {
            Source::Archive => self.archive = revision,
            Source::Replays => self.replays = revision,
        }
    }

    /// The next revision of both streams of `bus`: where a rule made now starts.
    pub async fn end_of(store: &dyn EventStore, bus: &Name) -> Result<Self, StoreError> {
        let next = |source: Source| async move {
            crate::streams::next_revision(store, &source.stream(bus)).await
        };
        Ok(Self {
            archive: next(Source::Archive).await?,
            replays: next(Source::Replays).await?,
        })
    }

    /// How many events before `end` a rule at these cursors has yet to consider.
    pub fn behind(self, end: Cursors) -> u64 {
        end.archive.saturating_sub(self.archive) + end.replays.saturating_sub(self.replays)
    }

    /// Whether either cursor is past `other`'s.
    pub fn passes(self, other: Cursors) -> bool {
        self.archive > other.archive || self.replays > other.replays
    }
}

/// A rule's checkpoint as stored.
#[derive(Serialize, Deserialize)]
struct Saved {
    next: u64,
    /// Absent from checkpoints of servers that put replays into the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replays_next: Option<u64>,
}

/// Where rule `rule` of `bus` resumes: its last checkpoint of this incarnation, or its start.
pub async fn load(
    store: &dyn EventStore,
    bus: &Name,
    rule: &Name,
    settings: &RuleSettings,
    incarnation: u64,
) -> Result<Cursors, StoreError> {
    let stream = Reserved::RuleCheckpoint(bus, rule).stream();
    let saved: Option<Saved> = checkpoints::load(store, &stream, incarnation).await?;
    Ok(Cursors {
        archive: saved.as_ref().map_or(settings.start, |saved| saved.next),
        replays: saved
            .and_then(|saved| saved.replays_next)
            .unwrap_or(settings.replays_start),
    })
}

/// Saves where rule `rule` of `bus` is, for this incarnation.
pub async fn save(
    store: &dyn EventStore,
    bus: &Name,
    rule: &Name,
    at: Cursors,
    incarnation: u64,
) -> Result<(), StoreError> {
    let stream = Reserved::RuleCheckpoint(bus, rule).stream();
    let saved = Saved {
        next: at.archive,
        replays_next: Some(at.replays),
    };
    checkpoints::save(store, &stream, &saved, incarnation).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventfold_store::embedded::{EmbeddedStore, Options};
    use eventfold_store::{ExpectedRevision, NewEvent};

    /// A checkpoint of a server that put replays into the archive resumes the replays stream
    /// at the rule's start; a new one keeps both cursors.
    #[tokio::test]
    async fn checkpoints_keep_both_cursors_and_read_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
        let (bus, rule) = (
            Name::parse("bus", "b").unwrap(),
            Name::parse("rule", "r").unwrap(),
        );
        let settings = RuleSettings {
            pattern: serde_json::json!({}),
            targets: Vec::new(),
            enabled: true,
            description: None,
            start: 3,
            replays_start: 0,
        };
        let at = load(&store, &bus, &rule, &settings, 1).await.unwrap();
        assert_eq!(
            at,
            Cursors {
                archive: 3,
                replays: 0
            }
        );
        let old = NewEvent::new("Checkpoint", r#"{"next": 7, "incarnation": 1}"#);
        let stream = Reserved::RuleCheckpoint(&bus, &rule).stream();
        store
            .append(&stream, ExpectedRevision::Any, vec![old])
            .await
            .unwrap();
        let at = load(&store, &bus, &rule, &settings, 1).await.unwrap();
        assert_eq!(
            at,
            Cursors {
                archive: 7,
                replays: 0
            }
        );
        let moved = Cursors {
            archive: 9,
            replays: 4,
        };
        save(&store, &bus, &rule, moved, 1).await.unwrap();
        assert_eq!(
            load(&store, &bus, &rule, &settings, 1).await.unwrap(),
            moved
        );
        assert_eq!(
            moved.behind(Cursors {
                archive: 10,
                replays: 6
            }),
            3
        );
        assert!(moved.passes(Cursors {
            archive: 9,
            replays: 3
        }));
        assert!(!moved.passes(moved));
    }
}
