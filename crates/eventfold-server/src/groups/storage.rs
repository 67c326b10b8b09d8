//! Where a group keeps its state: in the event store itself, so any node of a shared backend
//! (PostgreSQL) can take a group over and nothing lives only in one process.
//!
//! - `$groups`: `GroupSaved` / `GroupDeleted` events, the definitions of every group;
//! - `$group:<name>:checkpoint`: `Checkpoint {"cursor": n, "incarnation": r}`, every event
//!   before `n` is finished, for the group created by revision `r` of `$groups` (a node still
//!   stopping an earlier group of the same name cannot pass its cursor to a new one);
//! - `$group:<name>:parked`: the dead letters, copies of the events that exhausted their
//!   attempts or were parked by a consumer, with the original's coordinates in the metadata.

use serde::{Deserialize, Serialize};

use eventfold_store::{EventStore, ReadStream, RecordedEvent, StoreError, StreamName};

use crate::checkpoints;
use crate::reserved::{Name, Reserved};
use eventfold_api::groups::GroupSettings;

/// An event of `$groups`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupChange {
    /// A group was created or its settings replaced.
    Saved {
        /// The group.
        name: Name,
        /// Its settings.
        settings: GroupSettings,
    },
    /// A group was deleted.
    Deleted {
        /// The group.
        name: Name,
    },
}

/// The stream of a group's parked events (its dead letters).
pub fn parked_stream(group: &Name) -> StreamName {
    Reserved::GroupParked(group).stream()
}

fn checkpoint_stream(group: &Name) -> StreamName {
    Reserved::GroupCheckpoint(group).stream()
}

/// A group's checkpoint: every event before `cursor` is finished.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    cursor: u64,
}

/// The cursor to resume from: the last checkpoint of this incarnation, or the group's start.
pub async fn load_checkpoint(
    store: &dyn EventStore,
    group: &Name,
    settings: &GroupSettings,
    incarnation: u64,
) -> Result<u64, StoreError> {
    let stream = checkpoint_stream(group);
    let saved: Option<Checkpoint> = checkpoints::load(store, &stream, incarnation).await?;
    Ok(saved.map_or(settings.start, |saved| saved.cursor))
}

/// Records that every event before `cursor` is finished, for this incarnation of the group.
pub async fn save_checkpoint(
    store: &dyn EventStore,
    group: &Name,
    cursor: u64,
    incarnation: u64,
) -> Result<(), StoreError> {
    let checkpoint = Checkpoint { cursor };
    checkpoints::save(store, &checkpoint_stream(group), &checkpoint, incarnation).await
}

/// Keeps only the last few checkpoints visible (set when a group is created).
pub async fn limit_checkpoints(store: &dyn EventStore, group: &Name) -> Result<(), StoreError> {
    let stream = checkpoint_stream(group);
    let mut metadata = store.stream_metadata(&stream).await?;
    metadata.max_count = Some(checkpoints::CHECKPOINTS_KEPT as u64);
    store.set_stream_metadata(&stream, metadata).await
}

/// Reads a page of parked copies; none when the stream is empty.
pub async fn read_parked(
    store: &dyn EventStore,
    group: &Name,
    request: ReadStream,
) -> Result<Vec<RecordedEvent>, StoreError> {
    match store.read_stream(&parked_stream(group), request).await {
        Err(StoreError::StreamNotFound(_)) => Ok(Vec::new()),
        other => other,
    }
}

/// Hides the parked copies before `revision` (after they were replayed and finished).
pub async fn drop_parked_before(
    store: &dyn EventStore,
    group: &Name,
    revision: u64,
) -> Result<(), StoreError> {
    let stream = parked_stream(group);
    let mut metadata = store.stream_metadata(&stream).await?;
    metadata.truncate_before = Some(metadata.truncate_before.unwrap_or(0).max(revision));
    store.set_stream_metadata(&stream, metadata).await
}

/// Soft-deletes a group's checkpoints and dead letters (the group is gone).
pub async fn forget(store: &dyn EventStore, group: &Name) -> Result<(), StoreError> {
    let streams = [checkpoint_stream(group), parked_stream(group)];
    crate::config_log::forget_streams(store, &streams).await
}
