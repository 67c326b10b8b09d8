//! A read model in SQLite (rusqlite, SQLite compiled in).

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::ReadModel;
use crate::SdkError;

/// A SQLite database holding read models and, in the same database, the checkpoints of their
/// projections (tables `eventfold_checkpoints` and `eventfold_active_versions`): a batch of
/// events and the checkpoint after it commit in one transaction.
///
/// The database runs in WAL mode, so other connections (opened with [`Self::open`] on the same
/// file, or any SQLite client) can query while a projector writes.
pub struct SqliteReadModel {
    connection: Connection,
}

fn sqlite_error(error: rusqlite::Error) -> SdkError {
    SdkError::read_model(format!("SQLite: {error}"))
}

impl SqliteReadModel {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SdkError> {
        let path = path.as_ref();
        let connection = Connection::open(path).map_err(|error| {
            SdkError::read_model(format!(
                "opening SQLite database {}: {error}",
                path.display()
            ))
        })?;
        Self::with_connection(connection)
    }

    /// A private database in memory.
    pub fn in_memory() -> Result<Self, SdkError> {
        Self::with_connection(Connection::open_in_memory().map_err(sqlite_error)?)
    }

    fn with_connection(connection: Connection) -> Result<Self, SdkError> {
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA busy_timeout = 5000;
                 CREATE TABLE IF NOT EXISTS eventfold_checkpoints (
                     projection TEXT NOT NULL,
                     version INTEGER NOT NULL,
                     next_position INTEGER NOT NULL,
                     PRIMARY KEY (projection, version)
                 );
                 CREATE TABLE IF NOT EXISTS eventfold_active_versions (
                     projection TEXT PRIMARY KEY,
                     version INTEGER NOT NULL
                 );",
            )
            .map_err(sqlite_error)?;
        Ok(Self { connection })
    }

    /// The connection, for queries.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The connection, for queries in a transaction of their own.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.connection
    }
}

impl ReadModel for SqliteReadModel {
    type Tx<'a> = Transaction<'a>;

    fn transaction<R>(
        &mut self,
        work: impl FnOnce(&mut Self::Tx<'_>) -> Result<R, SdkError>,
    ) -> Result<R, SdkError> {
        // Immediate: take the write lock up front, so two projectors sharing a file wait for
        // each other (busy_timeout) instead of failing when a read turns into a write.
        let mut tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sqlite_error)?;
        let value = work(&mut tx)?;
        tx.commit().map_err(sqlite_error)?;
        Ok(value)
    }

    fn checkpoint(
        tx: &mut Self::Tx<'_>,
        name: &str,
        version: u32,
    ) -> Result<Option<u64>, SdkError> {
        tx.query_row(
            "SELECT next_position FROM eventfold_checkpoints WHERE projection = ?1 AND version = ?2",
            params![name, version],
            |row| row.get::<_, i64>(0),
        )
        .optional()
        .map(|next| next.map(|next| next as u64))
        .map_err(sqlite_error)
    }

    fn set_checkpoint(
        tx: &mut Self::Tx<'_>,
        name: &str,
        version: u32,
        next: Option<u64>,
    ) -> Result<(), SdkError> {
        match next {
            Some(next) => tx.execute(
                "INSERT INTO eventfold_checkpoints (projection, version, next_position)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (projection, version) DO UPDATE SET next_position = excluded.next_position",
                params![name, version, next as i64],
            ),
            None => tx.execute(
                "DELETE FROM eventfold_checkpoints WHERE projection = ?1 AND version = ?2",
                params![name, version],
            ),
        }
        .map(drop)
        .map_err(sqlite_error)
    }

    fn active_version(tx: &mut Self::Tx<'_>, name: &str) -> Result<Option<u32>, SdkError> {
        tx.query_row(
            "SELECT version FROM eventfold_active_versions WHERE projection = ?1",
            params![name],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite_error)
    }

    fn set_active_version(tx: &mut Self::Tx<'_>, name: &str, version: u32) -> Result<(), SdkError> {
        tx.execute(
            "INSERT INTO eventfold_active_versions (projection, version) VALUES (?1, ?2)
             ON CONFLICT (projection) DO UPDATE SET version = excluded.version",
            params![name, version],
        )
        .map(drop)
        .map_err(sqlite_error)
    }
}

impl From<rusqlite::Error> for SdkError {
    fn from(error: rusqlite::Error) -> Self {
        sqlite_error(error)
    }
}
