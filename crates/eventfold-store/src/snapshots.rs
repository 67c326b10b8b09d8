//! Snapshots of folded state, kept apart from the log.
//!
//! A snapshot is a cache: the state of one stream folded up to a revision, so loading it costs
//! the snapshot plus the events after it instead of the whole stream. Losing one only costs time,
//! so snapshots are not synced; a damaged one is detected (a CRC) and ignored, never trusted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use eventfold_core::{StoreError, StreamName, Timestamp};

use crate::files::{DirectoryFiles, Files};

/// The largest state a snapshot may hold, in bytes.
pub const SNAPSHOT_STATE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// The state of one stream folded up to and including `revision`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream it folds.
    pub stream: StreamName,
    /// The last revision folded into `state`.
    pub revision: u64,
    /// The id of the event at `revision`: a reader uses the snapshot only while that event is
    /// still there (a stream deleted and written again, or a snapshot naming a revision the
    /// stream does not have, is refused).
    pub last_event_id: Uuid,
    /// The schema version of `state`: a reader ignores a snapshot of another version.
    pub schema_version: u32,
    /// When the last folded event was recorded (so a load "as of a time" knows whether the
    /// snapshot is usable).
    pub recorded_at: Timestamp,
    /// The state, as the SDK encoded it (JSON).
    pub state: Bytes,
}

impl Snapshot {
    /// Checks the snapshot's size.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.state.len() > SNAPSHOT_STATE_BYTES_MAX {
            return Err(StoreError::InvalidRequest(format!(
                "snapshot state of {} bytes is over the limit of {SNAPSHOT_STATE_BYTES_MAX}",
                self.state.len()
            )));
        }
        Ok(())
    }
}

/// Where snapshots are kept: one per stream, the latest saved wins.
#[async_trait]
pub trait SnapshotStore: Send + Sync + 'static {
    /// The snapshot of `stream`, if there is a usable one.
    async fn load(&self, stream: &StreamName) -> Result<Option<Snapshot>, StoreError>;

    /// Keeps `snapshot` as the latest of its stream.
    async fn save(&self, snapshot: Snapshot) -> Result<(), StoreError>;

    /// Forgets the snapshot of `stream` (nothing happens if there is none).
    async fn delete(&self, stream: &StreamName) -> Result<(), StoreError>;
}

/// Snapshots in memory, for tests and short-lived processes.
#[derive(Default)]
pub struct MemorySnapshotStore {
    snapshots: Mutex<HashMap<StreamName, Snapshot>>,
}

#[async_trait]
impl SnapshotStore for MemorySnapshotStore {
    async fn load(&self, stream: &StreamName) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.snapshots.lock().get(stream).cloned())
    }

    async fn save(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        snapshot.validate()?;
        self.snapshots
            .lock()
            .insert(snapshot.stream.clone(), snapshot);
        Ok(())
    }

    async fn delete(&self, stream: &StreamName) -> Result<(), StoreError> {
        self.snapshots.lock().remove(stream);
        Ok(())
    }
}

/// Snapshots as files in a directory (the embedded store keeps them in `<data>/snapshots`).
///
/// A file is named by a hash of its stream's name, under one of 256 subdirectories, and holds
/// a header (magic, CRC of the rest, length) and the snapshot as JSON, the stream's name
/// included: a hash collision or a damaged file reads as "no snapshot". Writes go to a temporary
/// file renamed over the old one, so a reader never sees half a snapshot.
pub struct DirectorySnapshotStore {
    dir: PathBuf,
    files: Arc<dyn Files>,
}

const FILE_MAGIC: &[u8; 8] = b"EVFSNAP2";
const FILE_HEADER_BYTES: usize = 16;

impl DirectorySnapshotStore {
    /// Snapshots under `dir`, created if missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        let files = DirectoryFiles::new(&dir).map_err(|source| StoreError::Io {
            context: format!("creating the snapshot directory {}", dir.display()),
            source,
        })?;
        Ok(Self::with_files(dir, Arc::new(files)))
    }

    /// Snapshots kept in any [`Files`] (tests inject faults this way); `dir` names it.
    pub fn with_files(dir: PathBuf, files: Arc<dyn Files>) -> Self {
        Self { dir, files }
    }

    /// The directory this store keeps its files in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn name_of(stream: &StreamName) -> String {
        let hash = name_hash(stream.as_str());
        format!("{:02x}/{hash:032x}.snap", hash >> 120)
    }

    fn read(&self, stream: &StreamName) -> Result<Option<Snapshot>, StoreError> {
        let name = Self::name_of(stream);
        let bytes = match self.files.read_file(&name) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    context: format!("reading snapshot {}", self.files.describe(&name)),
                    source,
                })
            }
        };
        match decode_file(&bytes) {
            Some(snapshot) if snapshot.stream == *stream => Ok(Some(snapshot)),
            Some(_) => Ok(None),
            None => {
                tracing::warn!(path = %self.files.describe(&name), "ignoring a damaged snapshot");
                Ok(None)
            }
        }
    }

    /// Snapshots are derived data: written atomically (never read half-written), not synced.
    fn write(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let name = Self::name_of(&snapshot.stream);
        self.files
            .replace_file(&name, &encode_file(snapshot), false)
            .map_err(|source| StoreError::Io {
                context: format!("writing snapshot {}", self.files.describe(&name)),
                source,
            })
    }

    fn remove(&self, stream: &StreamName) -> Result<(), StoreError> {
        let name = Self::name_of(stream);
        self.files
            .remove_file(&name)
            .map_err(|source| StoreError::Io {
                context: format!("removing snapshot {}", self.files.describe(&name)),
                source,
            })
    }

    /// Runs file work on the blocking pool, off the async runtime's threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Self {
            dir: self.dir.clone(),
            files: self.files.clone(),
        };
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|error| StoreError::Backend(format!("snapshot I/O task failed: {error}")))?
    }
}

#[async_trait]
impl SnapshotStore for DirectorySnapshotStore {
    async fn load(&self, stream: &StreamName) -> Result<Option<Snapshot>, StoreError> {
        let stream = stream.clone();
        self.blocking(move |store| store.read(&stream)).await
    }

    async fn save(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        snapshot.validate()?;
        self.blocking(move |store| store.write(&snapshot)).await
    }

    async fn delete(&self, stream: &StreamName) -> Result<(), StoreError> {
        let stream = stream.clone();
        self.blocking(move |store| store.remove(&stream)).await
    }
}

/// A stable 128-bit hash of a stream name (two FNV-1a lanes), for file names.
fn name_hash(name: &str) -> u128 {
    let mut low: u64 = 0xcbf2_9ce4_8422_2325;
    let mut high: u64 = 0x6c62_272e_07bb_0142;
    for &byte in name.as_bytes() {
        low = (low ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        high = (high ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3) ^ (low >> 29);
    }
    (u128::from(high) << 64) | u128::from(low)
}

/// A snapshot file's description of its state (the state itself follows it, raw).
#[derive(Serialize, Deserialize)]
struct FileHeader {
    stream: StreamName,
    revision: u64,
    last_event_id: Uuid,
    schema_version: u32,
    recorded_at: Timestamp,
}

/// `magic, CRC (of everything after the first 16 bytes), length of the JSON header`, the JSON
/// header, then the state as is.
fn encode_file(snapshot: &Snapshot) -> Vec<u8> {
    let header = serde_json::to_vec(&FileHeader {
        stream: snapshot.stream.clone(),
        revision: snapshot.revision,
        last_event_id: snapshot.last_event_id,
        schema_version: snapshot.schema_version,
        recorded_at: snapshot.recorded_at,
    })
    .expect("a snapshot header serialises");
    let mut file = Vec::with_capacity(FILE_HEADER_BYTES + header.len() + snapshot.state.len());
    file.extend_from_slice(FILE_MAGIC);
    file.extend_from_slice(&[0; 4]);
    file.extend_from_slice(&(header.len() as u32).to_le_bytes());
    file.extend_from_slice(&header);
    file.extend_from_slice(&snapshot.state);
    let crc = crc32c::crc32c(&file[FILE_HEADER_BYTES..]);
    file[8..12].copy_from_slice(&crc.to_le_bytes());
    file
}

fn decode_file(file: &[u8]) -> Option<Snapshot> {
    let (header, rest) = file.split_at_checked(FILE_HEADER_BYTES)?;
    let crc = u32::from_le_bytes(header[8..12].try_into().ok()?);
    let header_len = u32::from_le_bytes(header[12..16].try_into().ok()?) as usize;
    if &header[..8] != FILE_MAGIC || crc32c::crc32c(rest) != crc {
        return None;
    }
    let (json, state) = rest.split_at_checked(header_len)?;
    let header: FileHeader = serde_json::from_slice(json).ok()?;
    Some(Snapshot {
        stream: header.stream,
        revision: header.revision,
        last_event_id: header.last_event_id,
        schema_version: header.schema_version,
        recorded_at: header.recorded_at,
        state: Bytes::copy_from_slice(state),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(stream: &str, revision: u64) -> Snapshot {
        Snapshot {
            stream: StreamName::new(stream).unwrap(),
            revision,
            last_event_id: Uuid::from_u128(u128::from(revision)),
            schema_version: 1,
            recorded_at: chrono::Utc::now(),
            state: Bytes::from_static(br#"{"balance":60}"#),
        }
    }

    #[tokio::test]
    async fn a_directory_store_keeps_the_latest_snapshot_per_stream() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirectorySnapshotStore::open(dir.path()).unwrap();
        let a = StreamName::new("account-a").unwrap();
        assert_eq!(store.load(&a).await.unwrap(), None);
        store.save(snapshot("account-a", 9)).await.unwrap();
        store.save(snapshot("account-a", 19)).await.unwrap();
        store.save(snapshot("account-b", 9)).await.unwrap();
        assert_eq!(store.load(&a).await.unwrap().unwrap().revision, 19);
        let reopened = DirectorySnapshotStore::open(dir.path()).unwrap();
        assert_eq!(reopened.load(&a).await.unwrap().unwrap().revision, 19);
        reopened.delete(&a).await.unwrap();
        reopened.delete(&a).await.unwrap();
        assert_eq!(reopened.load(&a).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_damaged_snapshot_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirectorySnapshotStore::open(dir.path()).unwrap();
        let a = StreamName::new("account-a").unwrap();
        store.save(snapshot("account-a", 9)).await.unwrap();
        let path = store.dir().join(DirectorySnapshotStore::name_of(&a));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(store.load(&a).await.unwrap(), None);
        std::fs::write(&path, &bytes[..10]).unwrap();
        assert_eq!(store.load(&a).await.unwrap(), None);
    }

    #[tokio::test]
    async fn oversized_states_are_refused() {
        let store = MemorySnapshotStore::default();
        let mut big = snapshot("s", 0);
        big.state = Bytes::from(vec![b' '; SNAPSHOT_STATE_BYTES_MAX + 1]);
        let error = store.save(big).await.unwrap_err();
        assert_eq!(error.code(), "invalid_request");
    }
}
