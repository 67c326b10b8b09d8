//! The schema, created and migrated by Eventfold itself. Migrations run under an advisory lock,
//! so several nodes starting at once apply each migration exactly once.

use tokio_postgres::Client;

use eventfold_store::StoreError;

use crate::pg_error;

/// The advisory lock key migrations hold ("evfold" in ASCII).
const MIGRATION_LOCK: i64 = 0x6576_666f_6c64;

/// The migrations, in order. Never change what a shipped migration builds: add a new one. (The
/// checks with which a migration refuses damaged data may be tightened; migration 3's were.)
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE eventfold_head (
         singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
         next_position bigint NOT NULL,
         last_recorded_ns bigint NOT NULL
     );
     INSERT INTO eventfold_head (next_position, last_recorded_ns) VALUES (0, 0);
     CREATE TABLE eventfold_streams (
         stream text PRIMARY KEY,
         next_revision bigint NOT NULL,
         deleted_before bigint NOT NULL DEFAULT 0,
         tombstoned boolean NOT NULL DEFAULT false,
         max_age_secs bigint,
         max_count bigint,
         truncate_before bigint,
         metadata text NOT NULL DEFAULT '{}'
     );
     CREATE TABLE eventfold_events (
         position bigint PRIMARY KEY,
         stream text NOT NULL,
         category text NOT NULL,
         revision bigint NOT NULL,
         id uuid NOT NULL UNIQUE,
         event_type text NOT NULL,
         content_type text NOT NULL,
         data bytea NOT NULL,
         metadata bytea NOT NULL,
         occurred_ns bigint,
         recorded_ns bigint NOT NULL,
         append_start bigint NOT NULL,
         append_len integer NOT NULL,
         created_stream boolean NOT NULL,
         UNIQUE (stream, revision)
     );
     -- No other index on the write path: filtered $all reads scan position ranges (bounded
     -- per page), and a time is found by binary search over positions (recorded_ns never
     -- decreases along them).
     CREATE TABLE eventfold_snapshots (
         stream text PRIMARY KEY,
         revision bigint NOT NULL,
         last_event_id uuid NOT NULL,
         schema_version integer NOT NULL,
         recorded_ns bigint NOT NULL,
         state bytea NOT NULL
     );",
    ),
    (
        2,
        // Streams whose metadata or deletion hides events, kept apart so `$all` reads join only
        // with them (usually none) instead of with every stream.
        "ALTER TABLE eventfold_streams ADD COLUMN hides boolean GENERATED ALWAYS AS (
             tombstoned OR deleted_before > 0 OR max_age_secs IS NOT NULL
             OR max_count IS NOT NULL OR truncate_before IS NOT NULL
         ) STORED;
         CREATE INDEX eventfold_streams_hiding ON eventfold_streams (stream) WHERE hides;",
    ),
    (
        3,
        // One row per append instead of one per event (the format is `append_rows.rs`'s; the
        // `string_agg` below writes the same bytes), and event ids in a narrow table of their
        // own. Existing events are converted in place; an append whose events are not one
        // contiguous run stops the migration.
        "CREATE TABLE eventfold_appends (
             first_position bigint PRIMARY KEY,
             event_count integer NOT NULL CHECK (event_count > 0),
             stream text NOT NULL,
             category text NOT NULL,
             first_revision bigint NOT NULL,
             created_stream boolean NOT NULL,
             recorded_ns bigint NOT NULL,
             event_types text NOT NULL,
             events bytea NOT NULL,
             UNIQUE (stream, first_revision)
         );
         -- Stored out of line when large, uncompressed: event data is often already compact,
         -- and compressing under the head row's lock would lengthen every write transaction.
         ALTER TABLE eventfold_appends ALTER COLUMN events SET STORAGE EXTERNAL;
         CREATE TABLE eventfold_event_ids (
             id uuid PRIMARY KEY,
             position bigint NOT NULL,
             append_position bigint NOT NULL
         );
         DO $$ BEGIN
             IF EXISTS (SELECT 1 FROM eventfold_events GROUP BY stream, append_start
                        HAVING max(position) - min(position) + 1 <> count(*)
                            OR max(revision) - min(revision) + 1 <> count(*)
                            OR min(revision) <> append_start
                            OR count(DISTINCT position - revision) <> 1
                            OR count(*) <> min(append_len)
                            OR min(append_len) <> max(append_len)
                            OR count(DISTINCT recorded_ns) <> 1
                            OR bool_or(created_stream) <> bool_and(created_stream)) THEN
                 RAISE EXCEPTION 'eventfold_events holds an append whose events are not one '
                     'contiguous run: the table is damaged; nothing was migrated';
             END IF;
             IF (SELECT count(*) FROM eventfold_events)
                <> (SELECT next_position FROM eventfold_head) THEN
                 RAISE EXCEPTION 'eventfold_events does not hold every position below the '
                     'head: the table is damaged; nothing was migrated';
             END IF;
         END $$;
         INSERT INTO eventfold_appends
         SELECT min(position), count(*), stream, min(category), append_start,
                bool_or(created_stream), min(recorded_ns),
                array_to_string(array_agg(DISTINCT event_type), E'\\n'),
                '\\x01'::bytea || string_agg(
                    uuid_send(id)
                    || CASE WHEN occurred_ns IS NULL THEN '\\x00'::bytea
                            ELSE '\\x01'::bytea || int8send(occurred_ns) END
                    || int4send(length(convert_to(event_type, 'UTF8')))
                    || convert_to(event_type, 'UTF8')
                    || int4send(length(convert_to(content_type, 'UTF8')))
                    || convert_to(content_type, 'UTF8')
                    || int4send(length(data)) || data
                    || int4send(length(metadata)) || metadata,
                    ''::bytea ORDER BY revision)
         FROM eventfold_events GROUP BY stream, append_start;
         INSERT INTO eventfold_event_ids
         SELECT id, position, min(position) OVER (PARTITION BY stream, append_start)
         FROM eventfold_events;
         DROP TABLE eventfold_events;",
    ),
];

/// Creates (in `schema`, if given, created too) or migrates the tables; returns the schema
/// version now in place.
pub async fn migrate(client: &mut Client, schema: Option<&str>) -> Result<i32, StoreError> {
    let latest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    migrate_to(client, schema, latest).await
}

/// [`migrate`], applying the migrations up to `target` only (tests of a migration start from
/// the version before it).
async fn migrate_to(
    client: &mut Client,
    schema: Option<&str>,
    target: i32,
) -> Result<i32, StoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg_error)?;
    if let Some(schema) = schema {
        // Checked by the caller: lowercase letters, digits and underscores only.
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .await
            .map_err(pg_error)?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS eventfold_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg_error)?;
    let applied: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM eventfold_migrations",
            &[],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    let latest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if applied > latest {
        return Err(StoreError::Backend(format!(
            "the database's Eventfold schema is version {applied}, newer than this binary's \
             {latest}: upgrade Eventfold"
        )));
    }
    let due: Vec<_> = MIGRATIONS
        .iter()
        .filter(|(version, _)| *version > applied && *version <= target)
        .collect();
    if applied >= 1 && !due.is_empty() {
        // Every write transaction locks the head row first, servers of older versions too:
        // holding it keeps them from writing while their tables are converted. Those that
        // wait fail once the migration commits (nothing they had was acknowledged).
        tx.batch_execute("SELECT 1 FROM eventfold_head FOR UPDATE")
            .await
            .map_err(pg_error)?;
    }
    for (version, sql) in due {
        tx.batch_execute(sql).await.map_err(pg_error)?;
        tx.execute(
            "INSERT INTO eventfold_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(pg_error)?;
        tracing::info!(version, "applied Eventfold schema migration");
    }
    tx.commit().await.map_err(pg_error)?;
    Ok(target.max(applied))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use eventfold_store::{
        AllFrom, Direction, EventStore, ExpectedRevision, NewEvent, Position, ReadAll, ReadStream,
        Revision, StoreError, StreamFrom, StreamName,
    };
    use tokio_postgres::NoTls;

    use crate::{PostgresOptions, PostgresStore};

    const SCHEMA: &str = "eventfold_migration_3";

    /// Revision, position, type, content type, data and metadata.
    type EventShape<'a> = (u64, u64, &'a str, &'a str, &'a [u8], &'a [u8]);

    /// Events written in the one-row-per-event layout of version 2 come out of version 3 the
    /// same, retries of them are still recognised, and the log goes on after them.
    #[tokio::test]
    async fn migration_3_keeps_every_event_and_id() {
        let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
            return;
        };
        let mut client = version_2(&url, SCHEMA).await;
        let ids: Vec<uuid::Uuid> = (0..4).map(|_| uuid::Uuid::now_v7()).collect();
        // account-1: an append of two events (one binary, one with an occurred time and
        // metadata), then one of one; cart-9: one event, soft-deleted.
        client
            .batch_execute(&format!(
                "UPDATE eventfold_head SET next_position = 4, last_recorded_ns = 3000;
                 INSERT INTO eventfold_streams (stream, next_revision, deleted_before)
                 VALUES ('account-1', 3, 0), ('cart-9', 1, 1);
                 INSERT INTO eventfold_events VALUES
                 (0, 'account-1', 'account', 0, '{}', 'Opened', 'application/json',
                  '{{\"owner\":\"ada\"}}', '{{\"by\":\"test\"}}', 1234567890, 1000, 0, 2,
                  true),
                 (1, 'account-1', 'account', 1, '{}', 'Scanned', 'image/png', '\\x00ff10',
                  '{{}}', NULL, 1000, 0, 2, true),
                 (2, 'cart-9', 'cart', 0, '{}', 'Added', 'application/json', '{{}}', '{{}}',
                  NULL, 2000, 0, 1, true),
                 (3, 'account-1', 'account', 2, '{}', 'Closed', 'application/json', '[]', '{{}}',
                  NULL, 3000, 2, 1, false);",
                ids[0], ids[1], ids[2], ids[3]
            ))
            .await
            .unwrap();
        assert_eq!(super::migrate(&mut client, Some(SCHEMA)).await.unwrap(), 3);
        let appends: i64 = client
            .query_one("SELECT count(*) FROM eventfold_appends", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(appends, 3, "one row per append");

        let options = PostgresOptions {
            schema: Some(SCHEMA.into()),
            ..PostgresOptions::default()
        };
        let store = Arc::new(PostgresStore::connect(&url, options).await.unwrap());
        let account = StreamName::new("account-1").unwrap();
        let events = store
            .read_stream(&account, ReadStream::default())
            .await
            .unwrap();
        let shape: Vec<EventShape> = events
            .iter()
            .map(|e| {
                (
                    e.revision.0,
                    e.position.0,
                    e.event_type.as_str(),
                    &*e.content_type,
                    &e.data[..],
                    &e.metadata[..],
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (
                    0,
                    0,
                    "Opened",
                    "application/json",
                    &br#"{"owner":"ada"}"#[..],
                    &br#"{"by":"test"}"#[..]
                ),
                (1, 1, "Scanned", "image/png", &[0, 255, 16][..], &b"{}"[..]),
                (2, 3, "Closed", "application/json", &b"[]"[..], &b"{}"[..]),
            ]
        );
        assert_eq!(
            events.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![ids[0], ids[1], ids[3]]
        );
        assert_eq!(
            events[0].occurred_at.unwrap().timestamp_nanos_opt(),
            Some(1234567890)
        );
        assert_eq!(events[1].occurred_at, None);
        assert_eq!(events[2].recorded_at.timestamp_nanos_opt(), Some(3000));
        // Backward, and $all (which hides the soft-deleted cart).
        let backward = store
            .read_stream(
                &account,
                ReadStream {
                    from: StreamFrom::End,
                    direction: Direction::Backward,
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            backward.iter().map(|e| e.revision.0).collect::<Vec<_>>(),
            vec![2, 1]
        );
        let all = store.read_all(ReadAll::default()).await.unwrap();
        assert_eq!(
            all.events.iter().map(|e| e.position.0).collect::<Vec<_>>(),
            vec![0, 1, 3]
        );
        // A retry of a migrated append gets its original result; reusing one of its ids
        // otherwise is refused; the log continues at position 4.
        let retry: Vec<NewEvent> = events[..2]
            .iter()
            .map(|e| NewEvent {
                id: e.id,
                event_type: e.event_type.clone(),
                data: e.data.clone(),
                content_type: e.content_type.to_string(),
                metadata: e.metadata.clone(),
                occurred_at: e.occurred_at,
            })
            .collect();
        let original = store
            .append(&account, ExpectedRevision::Any, retry)
            .await
            .unwrap();
        assert_eq!(
            (original.first_revision, original.last_position),
            (Revision(0), Position(1))
        );
        let mut reuse = NewEvent::new("Closed", "{}");
        reuse.id = ids[3];
        let refused = store
            .append(
                &account,
                ExpectedRevision::Any,
                vec![NewEvent::new("X", "{}"), reuse],
            )
            .await;
        assert!(
            matches!(refused, Err(StoreError::EventIdConflict { id, .. }) if id == ids[3]),
            "{refused:?}"
        );
        let next = store
            .append(
                &account,
                ExpectedRevision::Exact(2),
                vec![NewEvent::new("Reopened", "{}")],
            )
            .await
            .unwrap();
        assert_eq!(
            (next.first_revision, next.first_position),
            (Revision(3), Position(4))
        );
        let page = store
            .read_all(ReadAll {
                from: AllFrom::End,
                direction: Direction::Backward,
                limit: 2,
                ..ReadAll::default()
            })
            .await
            .unwrap();
        assert_eq!(
            page.events.iter().map(|e| e.position.0).collect::<Vec<_>>(),
            vec![4, 3]
        );
    }

    /// A fresh schema at version 2, on a connection whose search path is that schema.
    async fn version_2(url: &str, schema: &str) -> tokio_postgres::Client {
        let (mut client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
                 SET search_path TO {schema}"
            ))
            .await
            .unwrap();
        assert_eq!(
            super::migrate_to(&mut client, Some(schema), 2)
                .await
                .unwrap(),
            2
        );
        client
    }

    /// One event row of version 2: position, stream, revision, append start and length.
    fn event_row(position: u64, stream: &str, revision: u64, start: u64, len: u32) -> String {
        format!(
            "({position}, '{stream}', 'account', {revision}, '{}', 'T', 'application/json', \
             '{{}}', '{{}}', NULL, 1000, {start}, {len}, {})",
            uuid::Uuid::now_v7(),
            start == 0
        )
    }

    #[tokio::test]
    async fn migration_3_refuses_a_damaged_table_and_changes_nothing() {
        let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
            return;
        };
        let damaged = [
            // Positions and revisions out of step within one append.
            vec![
                event_row(0, "account-1", 1, 0, 2),
                event_row(1, "account-1", 0, 0, 2),
            ],
            // Revisions that do not start where the append says.
            vec![event_row(0, "account-1", 1, 0, 1)],
            // An append missing below the head.
            vec![event_row(0, "account-1", 0, 0, 1)],
        ];
        let heads = [2, 1, 2];
        for (rows, head) in damaged.iter().zip(heads) {
            let schema = "eventfold_migration_3_damaged";
            let mut client = version_2(&url, schema).await;
            client
                .batch_execute(&format!(
                    "UPDATE eventfold_head SET next_position = {head};
                     INSERT INTO eventfold_events VALUES {}",
                    rows.join(", ")
                ))
                .await
                .unwrap();
            let refused = super::migrate(&mut client, Some(schema)).await;
            assert!(
                matches!(&refused, Err(error) if error.to_string().contains("damaged")),
                "{rows:?}: {refused:?}"
            );
            let version: i32 = client
                .query_one("SELECT max(version) FROM eventfold_migrations", &[])
                .await
                .unwrap()
                .get(0);
            let kept: i64 = client
                .query_one("SELECT count(*) FROM eventfold_events", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!((version, kept), (2, rows.len() as i64), "{rows:?}");
        }
    }

    /// A server of the old version still writing while another migrates: the migration waits
    /// for its transaction (which holds the head row), and its events are converted too.
    #[tokio::test]
    async fn migration_3_waits_for_a_writer_of_the_old_version() {
        let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
            return;
        };
        let schema = "eventfold_migration_3_concurrent";
        let mut migrator = version_2(&url, schema).await;
        let (old_writer, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        old_writer
            .batch_execute(&format!(
                "SET search_path TO {schema}; BEGIN;
                 SELECT * FROM eventfold_head FOR UPDATE;
                 INSERT INTO eventfold_events VALUES {};
                 INSERT INTO eventfold_streams (stream, next_revision) VALUES ('account-1', 1);
                 UPDATE eventfold_head SET next_position = 1, last_recorded_ns = 1000;",
                event_row(0, "account-1", 0, 0, 1)
            ))
            .await
            .unwrap();
        let migration =
            tokio::spawn(async move { super::migrate(&mut migrator, Some(schema)).await });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !migration.is_finished(),
            "the migration waits for the writer"
        );
        old_writer.batch_execute("COMMIT").await.unwrap();
        assert_eq!(migration.await.unwrap().unwrap(), 3);
        let converted: i64 = old_writer
            .query_one("SELECT sum(event_count) FROM eventfold_appends", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(converted, 1, "the old writer's event was converted");
    }
}
