//! Snapshots in PostgreSQL (`eventfold_snapshots`), so a node keeps nothing another node needs.

use async_trait::async_trait;
use bytes::Bytes;

use eventfold_store::embedded::internals::{nanos_to_time, time_to_nanos};
use eventfold_store::{Snapshot, SnapshotStore, StoreError, StreamName};

use crate::reads::to_sql_int;
use crate::{pg_error, PostgresStore};

#[async_trait]
impl SnapshotStore for PostgresStore {
    async fn load(&self, stream: &StreamName) -> Result<Option<Snapshot>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT revision, last_event_id, schema_version, recorded_ns, state
                 FROM eventfold_snapshots WHERE stream = $1",
                &[&stream.as_str()],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.map(|row| Snapshot {
            stream: stream.clone(),
            revision: row.get::<_, i64>(0) as u64,
            last_event_id: row.get(1),
            schema_version: row.get::<_, i32>(2) as u32,
            recorded_at: nanos_to_time(row.get(3)),
            state: Bytes::from(row.get::<_, Vec<u8>>(4)),
        }))
    }

    async fn save(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        snapshot.validate()?;
        self.client()
            .await?
            .execute(
                "INSERT INTO eventfold_snapshots
                     (stream, revision, last_event_id, schema_version, recorded_ns, state)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (stream) DO UPDATE SET
                     revision = excluded.revision, last_event_id = excluded.last_event_id,
                     schema_version = excluded.schema_version,
                     recorded_ns = excluded.recorded_ns, state = excluded.state",
                &[
                    &snapshot.stream.as_str(),
                    &to_sql_int(snapshot.revision),
                    &snapshot.last_event_id,
                    &(snapshot.schema_version.min(i32::MAX as u32) as i32),
                    &time_to_nanos(snapshot.recorded_at),
                    &snapshot.state.as_ref(),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn delete(&self, stream: &StreamName) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "DELETE FROM eventfold_snapshots WHERE stream = $1",
                &[&stream.as_str()],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }
}
