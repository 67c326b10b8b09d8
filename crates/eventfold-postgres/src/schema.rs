//! The schema, created and migrated by Eventfold itself. Migrations run under an advisory lock,
//! so several nodes starting at once apply each migration exactly once.

use tokio_postgres::Client;

use eventfold_store::StoreError;

use crate::pg_error;

/// The advisory lock key migrations hold ("evfold" in ASCII).
const MIGRATION_LOCK: i64 = 0x6576_666f_6c64;

/// The migrations, in order. Never edit one that has shipped: add a new one.
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
];

/// Creates (in `schema`, if given, created too) or migrates the tables; returns the schema
/// version now in place.
pub async fn migrate(client: &mut Client, schema: Option<&str>) -> Result<i32, StoreError> {
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
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
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
    Ok(latest)
}
