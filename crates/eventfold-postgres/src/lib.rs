//! The [`EventStore`] trait on PostgreSQL: several stateless Eventfold nodes over one database.
//!
//! **Order without skips.** Every write transaction first locks the single row of
//! `eventfold_head`, takes its positions from it, and commits while still holding the lock. So
//! transactions commit one after another in position order: when a reader sees position p, every
//! position below p is already committed and visible, and no later commit can fill a gap behind
//! it (the skipped-event failure of `bigserial` event tables). To keep throughput with one commit
//! at a time, each node batches the appends waiting for it into one transaction (group commit,
//! as the embedded engine does with fdatasync).
//!
//! **Live subscriptions** are reads that wait for the head to move: a node learns of its own
//! commits at once, of other nodes' through `LISTEN eventfold_head[_<schema>]` (the writer
//! sends `pg_notify` inside its transaction), and polls the head every second as a fallback.

mod append_rows;
mod notify;
mod reads;
mod schema;
mod snapshots;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::NoTls;

use eventfold_store::rules::validate_append;
use eventfold_store::{
    subscribe_all_by_polling, subscribe_stream_by_polling, AllFrom, AllSlice, AppendResult,
    DeleteMode, EventFilter, EventStore, ExpectedRevision, Limits, NewEvent, Position, ReadAll,
    ReadStream, RecordedEvent, Revision, StoreError, StreamFrom, StreamMetadata, StreamName,
    Subscription,
};

use writer::Command;

/// Settings of a [`PostgresStore`].
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Size limits of events and reads.
    pub limits: Limits,
    /// Connections this node opens at most (reads and the writer share them).
    pub connections_max: usize,
    /// How often the head is polled when no notification arrives.
    pub poll_interval: Duration,
    /// The most writes one transaction takes.
    pub batch_commands_max: usize,
    /// The PostgreSQL schema Eventfold's tables live in (created if missing); `None` for the
    /// connection's default (usually `public`). Several Eventfold stores can share a database
    /// in separate schemas.
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            connections_max: 16,
            poll_interval: Duration::from_secs(1),
            batch_commands_max: 512,
            schema: None,
        }
    }
}

/// An event store in a PostgreSQL database. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    limits: Limits,
    commands: mpsc::Sender<Command>,
    head: watch::Receiver<Position>,
    /// Stops the background tasks when the last clone goes.
    _stop: watch::Sender<bool>,
}

/// What went wrong with a database call, with its causes (tokio-postgres keeps "connection
/// refused" and the like in the source chain).
fn pg_text(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.message().to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A `StoreError` for a failed database call.
pub(crate) fn pg_error(error: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(format!("PostgreSQL: {}", pg_text(&error)))
}

fn pool_text(error: deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Backend(error) => pg_text(&error),
        other => format!("connection pool: {other}"),
    }
}

pub(crate) fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Backend(format!("PostgreSQL: {}", pool_text(error)))
}

/// The longest identifier PostgreSQL keeps (a channel name included), in bytes.
const IDENTIFIER_BYTES_MAX: usize = 63;

/// The notification channel of a schema's head: stores in other schemas of the same database
/// must not hear it. A long schema name is cut and told apart by a hash of the whole name, so
/// the channel stays within PostgreSQL's 63 bytes.
fn notify_channel(schema: Option<&str>) -> String {
    let Some(schema) = schema else {
        return "eventfold_head".to_owned();
    };
    let channel = format!("eventfold_head_{schema}");
    if channel.len() <= IDENTIFIER_BYTES_MAX {
        return channel;
    }
    // FNV-1a: stable across nodes and versions (unlike std's hasher).
    let hash = schema.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    let kept = IDENTIFIER_BYTES_MAX - "eventfold_head_".len() - 9;
    format!("eventfold_head_{}_{hash:08x}", &schema[..kept])
}

/// Where `config` points, for error messages (never the password).
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}:{port}, database {}, user {}",
        hosts.join(","),
        config.get_dbname().unwrap_or("(default)"),
        config.get_user().unwrap_or("(default)")
    )
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/database`), creating or
    /// migrating Eventfold's schema.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|error| {
            StoreError::InvalidRequest(format!("`{url}` is not a PostgreSQL URL: {error}"))
        })?;
        // A session stuck in a transaction (a stalled node holding the head row's lock) is ended
        // by the server after a minute, so other nodes are not blocked for long.
        let mut session = String::from("-c idle_in_transaction_session_timeout=60000");
        if let Some(schema) = &options.schema {
            let valid = schema.len() <= IDENTIFIER_BYTES_MAX
                && schema.starts_with(|c: char| c.is_ascii_lowercase())
                && schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(StoreError::InvalidRequest(format!(
                    "schema `{schema}`: use a lowercase letter, then up to 62 lowercase letters, \
                     digits and underscores"
                )));
            }
            // Quoted: a name such as `user` is a keyword.
            session.push_str(&format!(" -c search_path=\"{schema}\""));
        }
        config
            .options(session)
            .connect_timeout(Duration::from_secs(10))
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        let build_pool = |size: usize| {
            let manager = Manager::from_config(
                config.clone(),
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Verified,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(30)))
                .create_timeout(Some(Duration::from_secs(10)))
                .build()
                .map_err(|error| StoreError::Backend(format!("PostgreSQL pool: {error}")))
        };
        // Reads and the writer have pools of their own: many subscribers waiting for a
        // connection never delay a write.
        let pool = build_pool(options.connections_max.max(2))?;
        let write_pool = build_pool(2)?;
        let where_ = describe(&config);
        let mut client = pool.get().await.map_err(|error| {
            StoreError::Backend(format!(
                "cannot connect to PostgreSQL at {where_}: {}; check the URL, that the server \
                 runs and accepts TCP connections, and the credentials",
                pool_text(error)
            ))
        })?;
        let encoding: String = client
            .query_one("SHOW server_encoding", &[])
            .await
            .map_err(pg_error)?
            .get(0);
        if encoding != "UTF8" {
            return Err(StoreError::Backend(format!(
                "the database at {where_} uses the {encoding} encoding; Eventfold needs UTF8 \
                 (CREATE DATABASE … ENCODING 'UTF8')"
            )));
        }
        schema::migrate(&mut client, options.schema.as_deref()).await?;
        let head = reads::head(&client).await?;
        drop(client);
        let (publish, head) = watch::channel(Position(head));
        let (stop, stopped) = watch::channel(false);
        let batch_max = options.batch_commands_max.max(1);
        let (commands, queue) = mpsc::channel(batch_max * 4);
        let channel = notify_channel(options.schema.as_deref());
        tokio::spawn(writer::run(
            write_pool,
            queue,
            publish.clone(),
            batch_max,
            channel.clone(),
        ));
        tokio::spawn(notify::follow_head(
            config,
            pool.clone(),
            publish,
            options.poll_interval.max(Duration::from_millis(10)),
            channel,
            stopped,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                limits: options.limits,
                commands,
                head,
                _stop: stop,
            }),
        })
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.inner.pool.get().await.map_err(pool_error)
    }

    async fn send<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Command,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .commands
            .send(command(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    fn check_read_limit(&self, limit: usize) -> Result<(), StoreError> {
        eventfold_store::rules::check_read_limit(&self.inner.limits, limit)
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate_append(&self.inner.limits, &events)?;
        let stream = stream.clone();
        self.send(|reply| Command::Append {
            stream,
            expected,
            events,
            reply,
        })
        .await
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        request: ReadStream,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.check_read_limit(request.limit)?;
        reads::read_stream(&**self.client().await?, stream, request).await
    }

    async fn read_all(&self, request: ReadAll) -> Result<AllSlice, StoreError> {
        self.check_read_limit(request.limit)?;
        request.filter.validate()?;
        let client = self.client().await?;
        // A large unfiltered page is read in two halves at once, when a second connection is
        // free right away.
        let second =
            if request.filter.is_empty() && request.limit as u64 >= reads::SPLIT_POSITIONS_MIN {
                let wait = deadpool_postgres::Timeouts {
                    wait: Some(Duration::ZERO),
                    ..Default::default()
                };
                self.inner.pool.timeout_get(&wait).await.ok()
            } else {
                None
            };
        reads::read_all(&client, second.as_deref().map(|c| &**c), &request).await
    }

    async fn subscribe_all(
        &self,
        from: AllFrom,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        filter.validate()?;
        let store: Arc<dyn EventStore> = Arc::new(self.clone());
        Ok(subscribe_all_by_polling(
            store,
            self.inner.head.clone(),
            from,
            filter,
        ))
    }

    async fn subscribe_stream(
        &self,
        stream: &StreamName,
        from: StreamFrom,
    ) -> Result<Subscription, StoreError> {
        let store: Arc<dyn EventStore> = Arc::new(self.clone());
        Ok(subscribe_stream_by_polling(
            store,
            self.inner.head.clone(),
            stream.clone(),
            from,
        ))
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<Revision>, StoreError> {
        let head = reads::stream_head(&**self.client().await?, stream).await?;
        let head = head.as_ref().map(|h| (h.next_revision, &*h.state));
        eventfold_store::rules::revision_answer(stream, head)
    }

    async fn stream_metadata(&self, stream: &StreamName) -> Result<StreamMetadata, StoreError> {
        let head = reads::stream_head(&**self.client().await?, stream).await?;
        eventfold_store::rules::metadata_answer(stream, head.as_ref().map(|h| &*h.state))
    }

    async fn set_stream_metadata(
        &self,
        stream: &StreamName,
        metadata: StreamMetadata,
    ) -> Result<(), StoreError> {
        metadata.validate(&self.inner.limits)?;
        let stream = stream.clone();
        self.send(|reply| Command::SetMetadata {
            stream,
            metadata,
            reply,
        })
        .await
    }

    async fn delete_stream(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        mode: DeleteMode,
    ) -> Result<(), StoreError> {
        let stream = stream.clone();
        self.send(|reply| Command::Delete {
            stream,
            expected,
            mode,
            reply,
        })
        .await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        Ok(Position(reads::head(&**self.client().await?).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_channels_fit_postgresql_identifiers_and_differ_per_schema() {
        assert_eq!(notify_channel(None), "eventfold_head");
        assert_eq!(notify_channel(Some("tenant_a")), "eventfold_head_tenant_a");
        let long_a = format!("a{}", "x".repeat(62));
        let long_b = format!("b{}", "x".repeat(62));
        let mut long_c = "x".repeat(62);
        long_c.push('c');
        let channels: Vec<String> = [&long_a, &long_b, &long_c]
            .iter()
            .map(|schema| notify_channel(Some(schema)))
            .collect();
        for channel in &channels {
            assert!(channel.len() <= IDENTIFIER_BYTES_MAX, "{channel}");
        }
        assert_ne!(
            channels[1], channels[2],
            "names alike at the start stay apart"
        );
        assert_ne!(channels[0], channels[1]);
        assert_eq!(channels[2], notify_channel(Some(&long_c)), "stable");
    }
}
