//! The node's writer: batches waiting writes into one transaction that holds the head row's
//! lock from the first statement to the commit (see the crate's documentation for why).

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use eventfold_store::embedded::internals::time_to_nanos;
use eventfold_store::rules::{self, Retry, StreamHead, StreamState, WrittenAt};
use eventfold_store::{
    AppendResult, DeleteMode, ExpectedRevision, NewEvent, Position, Revision, StoreError,
    StreamMetadata, StreamName,
};

use crate::reads::{head_of, to_sql_int};
use crate::{append_rows, pg_error};

/// A write for the writer.
pub enum Command {
    Append {
        stream: StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<AppendResult, StoreError>>,
    },
    SetMetadata {
        stream: StreamName,
        metadata: StreamMetadata,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Delete {
        stream: StreamName,
        expected: ExpectedRevision,
        mode: DeleteMode,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

impl Command {
    fn stream(&self) -> &StreamName {
        match self {
            Command::Append { stream, .. }
            | Command::SetMetadata { stream, .. }
            | Command::Delete { stream, .. } => stream,
        }
    }

    fn event_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        let events = match self {
            Command::Append { events, .. } => &events[..],
            _ => &[],
        };
        events.iter().map(|event| event.id)
    }

    /// Roughly what the command carries to the database, in bytes.
    fn size_bytes(&self) -> usize {
        match self {
            Command::Append { events, .. } => events.iter().map(NewEvent::size_bytes).sum(),
            _ => 1024,
        }
    }

    fn fail(self, error: impl Fn() -> StoreError) {
        match self {
            Command::Append { reply, .. } => drop(reply.send(Err(error()))),
            Command::SetMetadata { reply, .. } | Command::Delete { reply, .. } => {
                drop(reply.send(Err(error())))
            }
        }
    }
}

/// What a command came to, answered once the transaction commits.
enum Outcome {
    Appended(Result<AppendResult, StoreError>),
    Changed(Result<(), StoreError>),
}

/// The most event bytes one write transaction carries (later writes wait for the next one).
const BATCH_BYTES_MAX: usize = 32 << 20;

/// Why a write transaction failed.
pub enum WriteError {
    /// It was rolled back (or never started): nothing of it exists.
    RolledBack(StoreError),
    /// The connection failed while COMMIT was on its way: it may or may not have committed.
    OutcomeUnknown(StoreError),
}

/// Takes writes from `commands` until every sender is gone: as many as are waiting, up to
/// `batch_max` commands and [`BATCH_BYTES_MAX`] bytes, per transaction.
pub async fn run(
    pool: Pool,
    mut commands: mpsc::Receiver<Command>,
    head: watch::Sender<Position>,
    batch_max: usize,
    channel: String,
) {
    let mut waiting: std::collections::VecDeque<Command> = std::collections::VecDeque::new();
    let mut last_batch = 1;
    loop {
        if waiting.is_empty() {
            match commands.recv().await {
                Some(command) => waiting.push_back(command),
                None => return,
            }
        }
        // Writers answered by the last transaction are about to send their next write: when
        // this batch is smaller than the last one, let them run first, so they ride along
        // instead of waiting a whole transaction.
        for _ in 0..4 {
            while waiting.len() < batch_max {
                match commands.try_recv() {
                    Ok(command) => waiting.push_back(command),
                    Err(_) => break,
                }
            }
            if waiting.len() >= last_batch {
                break;
            }
            tokio::task::yield_now().await;
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        while let Some(command) = waiting.front() {
            let size = command.size_bytes();
            if !batch.is_empty() && (bytes + size > BATCH_BYTES_MAX || batch.len() >= batch_max) {
                break;
            }
            bytes += size;
            batch.push(waiting.pop_front().expect("looked at"));
        }
        last_batch = batch.len();
        match write(&pool, &batch, &channel).await {
            Ok((outcomes, next_position)) => answer(&head, batch, outcomes, next_position),
            // One write the database refuses (or a lost connection) must not fail the writes
            // batched with it: after a rollback, each is tried again on its own.
            Err(WriteError::RolledBack(error)) if batch.len() > 1 => {
                tracing::warn!(%error, "a write transaction failed; retrying its writes one by one");
                for command in batch {
                    let single = vec![command];
                    match write(&pool, &single, &channel).await {
                        Ok((outcomes, next)) => answer(&head, single, outcomes, next),
                        Err(error) => fail_all(single, error),
                    }
                }
            }
            Err(error) => fail_all(batch, error),
        }
    }
}

/// Sends each command its outcome, and raises the head.
fn answer(head: &watch::Sender<Position>, batch: Vec<Command>, outcomes: Vec<Outcome>, next: u64) {
    head.send_if_modified(|head| {
        let moved = next > head.0;
        head.0 = head.0.max(next);
        moved
    });
    for (command, outcome) in batch.into_iter().zip(outcomes) {
        match (command, outcome) {
            (Command::Append { reply, .. }, Outcome::Appended(result)) => {
                let _ = reply.send(result);
            }
            (
                Command::SetMetadata { reply, .. } | Command::Delete { reply, .. },
                Outcome::Changed(result),
            ) => {
                let _ = reply.send(result);
            }
            _ => unreachable!("one outcome per command, in order"),
        }
    }
}

fn fail_all(batch: Vec<Command>, error: WriteError) {
    let message = match error {
        WriteError::RolledBack(error) => {
            tracing::warn!(%error, "a write failed");
            format!("{error}; nothing was written")
        }
        WriteError::OutcomeUnknown(error) => {
            tracing::error!(%error, "the connection failed during COMMIT");
            format!(
                "{error}: the connection failed during COMMIT, so the write may or may not have \
                 been committed; read the stream to find out, or retry with the same event ids \
                 (a retry of a committed append returns its original result)"
            )
        }
    };
    for command in batch {
        command.fail(|| StoreError::Backend(message.clone()));
    }
}

/// The rows a batch inserts, column by column (for `unnest`): one per append, and one per
/// event id.
#[derive(Default)]
struct AppendRows {
    first_position: Vec<i64>,
    event_count: Vec<i32>,
    stream: Vec<String>,
    category: Vec<String>,
    first_revision: Vec<i64>,
    created_stream: Vec<bool>,
    recorded_ns: Vec<i64>,
    event_types: Vec<String>,
    events: Vec<Vec<u8>>,
    id: Vec<Uuid>,
    id_position: Vec<i64>,
    id_append_position: Vec<i64>,
}

/// The heads and ids a batch works with: loaded under the lock, then changed by the batch's
/// own writes in order.
struct BatchState {
    heads: HashMap<StreamName, StreamHead>,
    written: HashMap<Uuid, WrittenAt>,
    changed: Vec<StreamName>,
    next_position: u64,
    recorded_ns: i64,
    rows: AppendRows,
}

impl BatchState {
    fn head(&self, stream: &StreamName) -> StreamHead {
        self.heads.get(stream).cloned().unwrap_or_default()
    }

    fn set_head(&mut self, stream: &StreamName, head: StreamHead) {
        if self.heads.insert(stream.clone(), head).is_none() || !self.changed.contains(stream) {
            self.changed.push(stream.clone());
        }
    }

    fn append(
        &mut self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        let head = self.head(stream);
        if head.state.tombstoned {
            return Err(StoreError::StreamDeleted(stream.clone()));
        }
        let written_at = |id: &Uuid| self.written.get(id).cloned();
        let retry = rules::retry_by_ids(stream, expected, events, written_at)
            .unwrap_or_else(|| rules::taken_id(events, written_at));
        if let Retry::Original(original) = retry {
            return Ok(original);
        }
        if !head.accepts(expected) {
            return Err(head.wrong_expectation(stream, expected));
        }
        if let Retry::IdsTaken(conflict) = retry {
            return Err(conflict);
        }
        let first_revision = head.next_revision;
        let first_position = self.next_position;
        let created_stream = !head.exists();
        let count = events.len() as u64;
        let rows = &mut self.rows;
        rows.first_position.push(to_sql_int(first_position));
        rows.event_count.push(events.len() as i32);
        rows.stream.push(stream.as_str().to_owned());
        rows.category.push(stream.category().to_owned());
        rows.first_revision.push(to_sql_int(first_revision));
        rows.created_stream.push(created_stream);
        rows.recorded_ns.push(self.recorded_ns);
        rows.event_types.push(append_rows::event_types(events));
        let mut blob = Vec::new();
        append_rows::encode(&mut blob, events);
        rows.events.push(blob);
        for (i, event) in events.iter().enumerate() {
            let (revision, position) = (first_revision + i as u64, first_position + i as u64);
            rows.id.push(event.id);
            rows.id_position.push(to_sql_int(position));
            rows.id_append_position.push(to_sql_int(first_position));
            self.written.insert(
                event.id,
                WrittenAt {
                    stream: stream.clone(),
                    revision,
                    position,
                    append_start: first_revision,
                    append_len: events.len() as u32,
                    created_stream,
                },
            );
        }
        self.next_position += count;
        self.set_head(
            stream,
            StreamHead {
                next_revision: first_revision + count,
                ..head
            },
        );
        Ok(AppendResult {
            first_revision: Revision(first_revision),
            last_revision: Revision(first_revision + count - 1),
            first_position: Position(first_position),
            last_position: Position(first_position + count - 1),
        })
    }

    fn change_state(
        &mut self,
        stream: &StreamName,
        change: impl FnOnce(&StreamHead) -> Result<StreamState, StoreError>,
    ) -> Result<(), StoreError> {
        let head = self.head(stream);
        let state = change(&head)?;
        self.set_head(
            stream,
            StreamHead {
                state: Arc::new(state),
                ..head
            },
        );
        Ok(())
    }
}

/// Writes `batch` in one transaction; the outcomes in order, and the head after it.
async fn write(
    pool: &Pool,
    batch: &[Command],
    channel: &str,
) -> Result<(Vec<Outcome>, u64), WriteError> {
    let mut client = pool
        .get()
        .await
        .map_err(|error| WriteError::RolledBack(crate::pool_error(error)))?;
    if let Some(written) = attempt(&mut client, batch, channel, false).await? {
        return Ok(written);
    }
    // Rare: an id of the batch was written before (a retry, or a reused id), or an append
    // failed its checks. Again, this time looking the ids up, so each append gets the rules'
    // answer.
    attempt(&mut client, batch, channel, true)
        .await?
        .ok_or_else(|| {
            WriteError::RolledBack(StoreError::Backend(
                "an event id was inserted twice although it had been looked up under the head \
                 row's lock"
                    .into(),
            ))
        })
}

/// One transaction for `batch` (see [`stage`] for `look_up_ids`); `None` when it was rolled
/// back because, staged without looking ids up, its answer depends on them.
async fn attempt(
    client: &mut deadpool_postgres::Object,
    batch: &[Command],
    channel: &str,
    look_up_ids: bool,
) -> Result<Option<(Vec<Outcome>, u64)>, WriteError> {
    let rolled_back = WriteError::RolledBack;
    // READ COMMITTED whatever the database's default: each statement must see the commits
    // made before the head row's lock was granted.
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
        .start()
        .await
        .map_err(|error| rolled_back(pg_error(error)))?;
    // Dropped on an error, the transaction rolls back.
    let (outcomes, next, changed) = match stage(&tx, batch, channel, look_up_ids).await {
        Ok(staged) => staged,
        Err(Staging::Failed(error)) => return Err(rolled_back(error)),
        Err(Staging::NeedsIds) => {
            tx.rollback()
                .await
                .map_err(|error| rolled_back(pg_error(error)))?;
            return Ok(None);
        }
    };
    if !changed {
        tx.rollback()
            .await
            .map_err(|error| rolled_back(pg_error(error)))?;
        return Ok(Some((outcomes, next)));
    }
    tx.commit()
        .await
        .map_err(|error| WriteError::OutcomeUnknown(pg_error(error)))?;
    Ok(Some((outcomes, next)))
}

/// Why staging a write transaction stopped.
enum Staging {
    /// The batch was staged without looking its ids up, and its answer depends on them: one
    /// was written before, or an append failed its checks (a retry fails them, and its answer
    /// is the original result).
    NeedsIds,
    Failed(StoreError),
}

impl From<StoreError> for Staging {
    fn from(error: StoreError) -> Self {
        Staging::Failed(error)
    }
}

/// Everything of a write transaction but its end: the outcomes, the head after it, and whether
/// anything changed.
///
/// Without `look_up_ids`, the batch is decided as if none of its ids had been written before,
/// which saves looking hundreds of ids up in every transaction: the id table's primary key
/// refuses a written id, and then — or when an append fails its checks, as a retry would — the
/// caller stages the batch again with `look_up_ids`.
async fn stage(
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &[Command],
    channel: &str,
    look_up_ids: bool,
) -> Result<(Vec<Outcome>, u64, bool), Staging> {
    let streams: Vec<&str> = batch.iter().map(|c| c.stream().as_str()).collect();
    let ids: Vec<Uuid> = batch.iter().flat_map(Command::event_ids).collect();
    let lock_sql = "SELECT next_position, last_recorded_ns FROM eventfold_head FOR UPDATE";
    let heads_sql = "SELECT next_revision, deleted_before, tombstoned, metadata, stream
                     FROM eventfold_streams WHERE stream = ANY($1)";
    let ids_sql = "SELECT i.id, a.stream, a.first_revision + (i.position - a.first_position),
                          i.position, a.first_revision, a.event_count, a.created_stream
                   FROM eventfold_event_ids i
                   JOIN eventfold_appends a ON a.first_position = i.append_position
                   WHERE i.id = ANY($1)";
    // The lock is prepared once per connection. The lookups are not: their plans must suit
    // the tables as they are now, and a statement prepared while the tables were small kept a
    // sequential scan of the streams (w2 on a fresh database ran at a fifth of its speed until
    // autovacuum analysed the table). Each is sent with its parameters' types, in one message.
    let lock_statement = tx.prepare_cached(lock_sql).await.map_err(pg_error)?;
    let heads_param: [(&(dyn ToSql + Sync), Type); 1] = [(&streams, Type::TEXT_ARRAY)];
    let ids_param: [(&(dyn ToSql + Sync), Type); 1] = [(&ids, Type::UUID_ARRAY)];
    // Pipelined: each query goes out whole, in this order, when first polled, so the server
    // runs the lookups after the lock is granted, each with a fresh snapshot that sees every
    // earlier commit.
    let (head, head_rows, id_rows) = futures::try_join!(
        tx.query_one(&lock_statement, &[]),
        tx.query_typed(heads_sql, &heads_param),
        async {
            match look_up_ids {
                true => tx.query_typed(ids_sql, &ids_param).await,
                false => Ok(Vec::new()),
            }
        }
    )
    .map_err(pg_error)?;
    let mut heads = HashMap::with_capacity(head_rows.len());
    for row in &head_rows {
        let name: String = row.get(4);
        let name = StreamName::new(&name).map_err(|e| StoreError::Backend(e.to_string()))?;
        heads.insert(name, head_of(row)?);
    }
    let mut written = HashMap::with_capacity(id_rows.len());
    for row in &id_rows {
        let name: String = row.get(1);
        let stream = StreamName::new(&name).map_err(|e| StoreError::Backend(e.to_string()))?;
        written.insert(
            row.get::<_, Uuid>(0),
            WrittenAt {
                stream,
                revision: row.get::<_, i64>(2) as u64,
                position: row.get::<_, i64>(3) as u64,
                append_start: row.get::<_, i64>(4) as u64,
                append_len: row.get::<_, i32>(5) as u32,
                created_stream: row.get(6),
            },
        );
    }
    let now = time_to_nanos(chrono::Utc::now());
    let mut state = BatchState {
        heads,
        written,
        changed: Vec::new(),
        next_position: head.get::<_, i64>(0) as u64,
        recorded_ns: now.max(head.get::<_, i64>(1)),
        rows: AppendRows::default(),
    };
    let outcomes: Vec<Outcome> = batch
        .iter()
        .map(|command| match command {
            Command::Append {
                stream,
                expected,
                events,
                ..
            } => Outcome::Appended(state.append(stream, *expected, events)),
            Command::SetMetadata {
                stream, metadata, ..
            } => Outcome::Changed(state.change_state(stream, |head| {
                if head.state.tombstoned {
                    return Err(StoreError::StreamDeleted(stream.clone()));
                }
                Ok(StreamState {
                    metadata: metadata.clone(),
                    ..(*head.state).clone()
                })
            })),
            Command::Delete {
                stream,
                expected,
                mode,
                ..
            } => Outcome::Changed(state.change_state(stream, |head| {
                rules::delete_state(stream, head, *expected, *mode)
            })),
        })
        .collect();
    let failed = |outcome: &Outcome| matches!(outcome, Outcome::Appended(Err(_)));
    if !look_up_ids && outcomes.iter().any(failed) {
        return Err(Staging::NeedsIds);
    }
    if state.changed.is_empty() {
        return Ok((outcomes, state.next_position, false));
    }
    let next_position = to_sql_int(state.next_position);
    // Pipelined too: the statements are independent; the commit waits for them all. Once one
    // fails, the server answers every later one with "transaction aborted"; the inserts' own
    // answer (an id written before means the batch goes round again with the lookups) decides,
    // whichever answer the connection delivers first.
    let (inserted, upserted, head_moved, notified) = futures::join!(
        insert_events(tx, &state.rows),
        upsert_streams(tx, &state),
        async {
            let statement = tx
                .prepare_cached(
                    "UPDATE eventfold_head SET next_position = $1, last_recorded_ns = $2",
                )
                .await?;
            tx.execute(&statement, &[&next_position, &state.recorded_ns])
                .await
        },
        async {
            let statement = tx
                .prepare_cached("SELECT pg_notify($1, $2::bigint::text)")
                .await?;
            tx.execute(&statement, &[&channel, &next_position]).await
        },
    );
    inserted?;
    upserted?;
    head_moved.map_err(pg_error)?;
    notified.map_err(pg_error)?;
    Ok((outcomes, state.next_position, true))
}

async fn insert_events(
    tx: &deadpool_postgres::Transaction<'_>,
    rows: &AppendRows,
) -> Result<(), Staging> {
    if rows.first_position.is_empty() {
        return Ok(());
    }
    let (appends, ids) = futures::try_join!(
        tx.prepare_cached(
            "INSERT INTO eventfold_appends (first_position, event_count, stream, category,
             first_revision, created_stream, recorded_ns, event_types, events)
         SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[],
             $5::bigint[], $6::boolean[], $7::bigint[], $8::text[], $9::bytea[])",
        ),
        tx.prepare_cached(
            "INSERT INTO eventfold_event_ids (id, position, append_position)
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])",
        )
    )
    .map_err(pg_error)?;
    let append_params: [&(dyn ToSql + Sync); 9] = [
        &rows.first_position,
        &rows.event_count,
        &rows.stream,
        &rows.category,
        &rows.first_revision,
        &rows.created_stream,
        &rows.recorded_ns,
        &rows.event_types,
        &rows.events,
    ];
    let id_params: [&(dyn ToSql + Sync); 3] =
        [&rows.id, &rows.id_position, &rows.id_append_position];
    futures::try_join!(
        tx.execute(&appends, &append_params),
        tx.execute(&ids, &id_params)
    )
    .map_err(|error| {
        let db = error.as_db_error();
        if db.is_some_and(|db| db.constraint() == Some("eventfold_event_ids_pkey")) {
            Staging::NeedsIds
        } else {
            Staging::Failed(pg_error(error))
        }
    })?;
    Ok(())
}

async fn upsert_streams(
    tx: &deadpool_postgres::Transaction<'_>,
    state: &BatchState,
) -> Result<(), StoreError> {
    let mut names = Vec::new();
    let mut next_revision = Vec::new();
    let mut deleted_before = Vec::new();
    let mut tombstoned = Vec::new();
    let mut max_age = Vec::new();
    let mut max_count = Vec::new();
    let mut truncate_before = Vec::new();
    let mut metadata = Vec::new();
    for stream in &state.changed {
        let head = &state.heads[stream];
        let meta = &head.state.metadata;
        names.push(stream.as_str());
        next_revision.push(to_sql_int(head.next_revision));
        deleted_before.push(to_sql_int(head.state.deleted_before));
        tombstoned.push(head.state.tombstoned);
        max_age.push(meta.max_age_secs.map(to_sql_int));
        max_count.push(meta.max_count.map(to_sql_int));
        truncate_before.push(meta.truncate_before.map(to_sql_int));
        metadata.push(serde_json::to_string(meta).expect("metadata serialises"));
    }
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO eventfold_streams (stream, next_revision, deleted_before, tombstoned,
             max_age_secs, max_count, truncate_before, metadata)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::boolean[],
             $5::bigint[], $6::bigint[], $7::bigint[], $8::text[])
         ON CONFLICT (stream) DO UPDATE SET
             next_revision = excluded.next_revision, deleted_before = excluded.deleted_before,
             tombstoned = excluded.tombstoned, max_age_secs = excluded.max_age_secs,
             max_count = excluded.max_count, truncate_before = excluded.truncate_before,
             metadata = excluded.metadata",
        )
        .await
        .map_err(pg_error)?,
        &[
            &names,
            &next_revision,
            &deleted_before,
            &tombstoned,
            &max_age,
            &max_count,
            &truncate_before,
            &metadata,
        ],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}
