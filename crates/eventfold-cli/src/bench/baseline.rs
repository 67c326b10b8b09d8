//! The PostgreSQL baseline: the append workloads' concurrency and batch sizes as plain
//! `INSERT`s (one durable commit per statement) into a scratch table, with no event store logic.
//! What PostgreSQL itself does on this machine, to put the PostgreSQL backend's figures beside.

use std::time::{Duration, Instant};

use anyhow::bail;
use tokio_postgres::NoTls;

use super::{histogram, payload, record, Figures, Workload};

/// Runs w1, w2 or w3's shape as plain inserts into `eventfold_bench_plain` for `seconds`.
pub async fn plain_inserts(url: &str, workload: Workload, seconds: u64) -> anyhow::Result<Figures> {
    let (writers, batch) = match workload {
        Workload::W1 => (1, 1),
        Workload::W2 => (64, 1),
        Workload::W3 => (4, 100),
        other => bail!("--plain-insert runs w1, w2 or w3, not {other:?}"),
    };
    let (setup, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    setup
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS eventfold_bench_plain (
                 id bigserial PRIMARY KEY,
                 stream text NOT NULL,
                 event_type text NOT NULL,
                 data bytea NOT NULL,
                 recorded_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
            tokio::spawn(connection);
            let insert = client
                .prepare(
                    "INSERT INTO eventfold_bench_plain (stream, event_type, data)
                     SELECT unnest($1::text[]), 'Deposited', unnest($2::bytea[])",
                )
                .await?;
            let mut latency = histogram();
            let mut written = 0u64;
            let mut round = 0u64;
            while Instant::now() < deadline {
                let streams: Vec<String> = (0..batch)
                    .map(|_| format!("account-{writer}-{round}"))
                    .collect();
                let data: Vec<Vec<u8>> = (0..batch).map(|i| payload(round + i).to_vec()).collect();
                let begun = Instant::now();
                client.execute(&insert, &[&streams, &data]).await?;
                record(&mut latency, begun.elapsed());
                written += batch;
                round += 1;
            }
            anyhow::Ok((written, latency))
        }));
    }
    let mut latency = histogram();
    let mut events = 0;
    for task in tasks {
        let (written, task_latency) = task.await??;
        events += written;
        latency.add(task_latency).expect("same histogram bounds");
    }
    let mut extra = serde_json::Map::new();
    extra.insert("writers".into(), writers.into());
    extra.insert("events_per_append".into(), batch.into());
    Ok(Figures {
        workload,
        events,
        seconds: started.elapsed().as_secs_f64(),
        latency_us: latency,
        extra,
    })
}
