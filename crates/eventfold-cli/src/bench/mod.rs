//! `eventfold bench`: the workloads of BENCHMARKS.md, measured on the embedded engine.
//!
//! Events carry 256-byte JSON payloads, type `Deposited`, in streams `account-<n>`. Durable
//! means fdatasync'd before the append returns (the only mode the engine has).

mod baseline;
mod groups;
mod pattern;
mod sdk;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;

use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{
    AllFrom, Direction, EventStore, ExpectedRevision, NewEvent, ReadAll, ReadStream, StreamFrom,
    StreamName,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Durable single-event appends, 1 writer.
    W1,
    /// Durable single-event appends, 64 concurrent writers over 10,000 streams.
    W2,
    /// Batches of 100 events to one stream each, 4 writers.
    W3,
    /// Read all of $all (1,000,000 events by default).
    W4,
    /// Read one 100-event stream among 1,000,000 events (latency).
    W5,
    /// Reopen time and memory after a clean shutdown (1,000,000 events by default).
    W6,
    /// Subscription latency: append acknowledged → event received, at 10,000 events/s.
    W7,
    /// SDK command round trip (load with snapshot + decide + append), 1 writer, on an account
    /// with 100,000 events and a snapshot every 10.
    W8,
    /// Projection rebuild into SQLite: purge, then replay the log (1,000,000 events by default).
    W9,
    /// Pattern matching: 1,000 rules evaluated against sample bus events on one core; reports
    /// rule evaluations/s.
    W10,
    /// Consumer-group delivery over HTTP: a 200,000-event backlog fetched and acked by 4
    /// consumers (events/s), then live appends at 5,000 events/s (append → fetch latency).
    /// Without --server, a server on a fresh embedded store runs in this process.
    W11,
}

#[derive(Args)]
pub struct BenchArgs {
    /// The workload.
    #[arg(long, value_enum)]
    workload: Workload,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    json: bool,
    /// How long append workloads run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Events in the log for read and reopen workloads (w4, w5, w6).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Where to put the data: a fresh temporary directory by default. Read workloads reuse
    /// the events already there.
    #[arg(long = "bench-data")]
    bench_data: Option<PathBuf>,
    /// Run w1–w4, w7–w9 on this PostgreSQL database instead of the embedded store.
    #[arg(long, env = "EVENTFOLD_POSTGRES", conflicts_with = "bench_data")]
    postgres: Option<String>,
    /// The PostgreSQL schema for Eventfold's tables.
    #[arg(long, env = "EVENTFOLD_POSTGRES_SCHEMA", requires = "postgres")]
    postgres_schema: Option<String>,
    /// The baseline: w1–w3's concurrency and batch sizes as plain INSERTs into a scratch table
    /// of the `--postgres` database (no event store logic).
    #[arg(long, requires = "postgres")]
    plain_insert: bool,
}

/// The figures of one run.
pub(crate) struct Figures {
    workload: Workload,
    events: u64,
    seconds: f64,
    latency_us: Histogram<u64>,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Figures {
    fn print(&self, json: bool) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        let events_per_sec = self.events as f64 / self.seconds;
        let p = |q: f64| self.latency_us.value_at_quantile(q);
        if json {
            let mut value = serde_json::json!({
                "workload": format!("{:?}", self.workload).to_lowercase(),
                "events": self.events,
                "seconds": self.seconds,
                "events_per_sec": events_per_sec.round(),
                "p50_us": p(0.5),
                "p99_us": p(0.99),
                "p999_us": p(0.999),
                "max_us": self.latency_us.max(),
            });
            value
                .as_object_mut()
                .expect("an object")
                .extend(self.extra.clone());
            writeln!(out, "{value}")?;
        } else {
            writeln!(
                out,
                "{:?}: {} events in {:.2} s = {:.0} events/s; latency p50 {} µs, p99 {} µs, p999 {} µs, max {} µs",
                self.workload, self.events, self.seconds, events_per_sec, p(0.5), p(0.99), p(0.999), self.latency_us.max()
            )?;
            for (key, value) in &self.extra {
                writeln!(out, "  {key}: {value}")?;
            }
        }
        Ok(())
    }
}

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

pub(crate) fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    histogram.saturating_record(elapsed.as_micros().max(1) as u64);
}

/// The latency from each append's acknowledgement (position, when) to its event's arrival,
/// failing if any acknowledged event never arrived at `receiver`.
pub(crate) fn delivery_latencies(
    acknowledged: &[(u64, Instant)],
    arrived: &std::collections::HashMap<u64, Instant>,
    receiver: &str,
) -> anyhow::Result<Histogram<u64>> {
    let mut latency = histogram();
    let mut missing = 0u64;
    for (position, acked_at) in acknowledged {
        match arrived.get(position) {
            Some(at) => record(&mut latency, at.saturating_duration_since(*acked_at)),
            None => missing += 1,
        }
    }
    if missing > 0 {
        bail!("{missing} acknowledged events never reached {receiver}");
    }
    Ok(latency)
}

/// Appends single events to `streams` (one writer each) at `rate` events/s in all for
/// `seconds`; returns each append's first position and when it was acknowledged.
pub(crate) async fn paced_appends(
    store: &Arc<dyn EventStore>,
    streams: Vec<StreamName>,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Vec<(u64, Instant)>> {
    let writers = streams.len() as f64;
    let period = Duration::from_secs_f64(writers / rate as f64);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(writer, stream)| {
            let store = store.clone();
            let first_tick =
                tokio::time::Instant::from_std(started) + period.mul_f64(writer as f64 / writers);
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval_at(first_tick, period);
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    ticks.tick().await;
                    let result = store
                        .append(&stream, ExpectedRevision::Any, vec![deposited(n)])
                        .await?;
                    acknowledged.push((result.first_position.0, Instant::now()));
                    n += 1;
                }
                anyhow::Ok(acknowledged)
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await??);
    }
    Ok(acknowledged)
}

/// A 256-byte JSON payload with `amount` `n % 1000`; made once per amount, so that making
/// the workloads' events costs the bench client next to nothing.
fn payload(n: u64) -> bytes::Bytes {
    static PAYLOADS: std::sync::OnceLock<Vec<bytes::Bytes>> = std::sync::OnceLock::new();
    let payloads = PAYLOADS.get_or_init(|| {
        (0..1000)
            .map(|amount| {
                let head = format!("{{\"amount\":{amount},\"currency\":\"EUR\",\"note\":\"");
                let pad = 256 - head.len() - 2;
                let text = format!("{head}{}\"}}", "x".repeat(pad));
                debug_assert_eq!(text.len(), 256);
                bytes::Bytes::from(text)
            })
            .collect()
    });
    payloads[(n % 1000) as usize].clone()
}

fn deposited(n: u64) -> NewEvent {
    NewEvent::new("Deposited", payload(n))
}

fn account(n: u64) -> StreamName {
    StreamName::new(&format!("account-{n}")).expect("valid stream name")
}

/// Runs a workload on a fresh embedded store (or `--bench-data`), or with `server` against a
/// running server through the client (w1–w4, w7).
pub async fn bench(args: BenchArgs, server: Option<&str>) -> anyhow::Result<ExitCode> {
    let temporary;
    let dir = match &args.bench_data {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::Builder::new()
                .prefix("eventfold-bench-")
                .tempdir_in(".")
                .or_else(|_| tempfile::tempdir())
                .context("creating a temporary data directory")?;
            temporary.path().to_owned()
        }
    };
    let remote = server.is_some() || args.postgres.is_some();
    let figures = match args.workload {
        Workload::W5 | Workload::W6 if remote => {
            bail!("w5 and w6 measure the embedded engine itself; run them without --server or --postgres")
        }
        Workload::W10 if remote => {
            bail!("w10 measures pattern matching in this process; run it without --server or --postgres")
        }
        Workload::W10 => pattern::rule_evaluations(args.seconds).await?,
        Workload::W11 if args.postgres.is_some() => {
            bail!("w11 runs through a server: start `eventfold serve --postgres URL` and pass --server")
        }
        Workload::W11 => {
            let run_id = uuid::Uuid::new_v4().as_u128() as u64 % 1_000_000;
            match server {
                Some(url) => groups::delivery(url, run_id, args.seconds).await?,
                None => {
                    in_process_server(&dir, |url| async move {
                        groups::delivery(&url, run_id, args.seconds).await
                    })
                    .await?
                }
            }
        }
        Workload::W5 => read_one_stream(&dir, args.events).await?,
        Workload::W6 => reopen(&dir, args.events).await?,
        workload if args.plain_insert => {
            let Some(url) = &args.postgres else {
                bail!("--plain-insert measures PostgreSQL itself: give --postgres URL");
            };
            baseline::plain_inserts(url, workload, args.seconds).await?
        }
        workload => {
            // A server or database keeps what earlier runs wrote: name this run's streams apart.
            let fresh_base =
                || (uuid::Uuid::new_v4().as_u128() as u64 % 1_000_000) * 1_000_000_000_000;
            let (store, snapshots, embedded, streams_base): (
                Arc<dyn EventStore>,
                Arc<dyn eventfold::SnapshotStore>,
                _,
                _,
            ) = match (server, &args.postgres) {
                (Some(url), _) => {
                    let client = eventfold_client::Client::new(url)?;
                    (
                        Arc::new(client.clone()),
                        Arc::new(client),
                        None,
                        fresh_base(),
                    )
                }
                (None, Some(url)) => {
                    let options = eventfold_postgres::PostgresOptions {
                        schema: args.postgres_schema.clone(),
                        ..Default::default()
                    };
                    let store = eventfold_postgres::PostgresStore::connect(url, options).await?;
                    (Arc::new(store.clone()), Arc::new(store), None, fresh_base())
                }
                (None, None) => {
                    let store = EmbeddedStore::open(&dir, Options::default())?;
                    let snapshots = eventfold::DirectorySnapshotStore::open(dir.join("snapshots"))?;
                    (Arc::new(store.clone()), Arc::new(snapshots), Some(store), 0)
                }
            };
            let run = Run {
                store,
                streams_base,
                seconds: args.seconds,
            };
            let figures = match workload {
                Workload::W8 => {
                    sdk::command_round_trip(run.store.clone(), snapshots, 100_000, args.seconds)
                        .await?
                }
                Workload::W9 => {
                    sdk::projection_rebuild(run.store.clone(), args.events, &dir).await?
                }
                Workload::W1 => run.appends(workload, 1, 1).await?,
                Workload::W2 => run.appends(workload, 64, 1).await?,
                Workload::W3 => run.appends(workload, 4, 100).await?,
                Workload::W4 => run.read_everything(args.events).await?,
                _ => run.subscription_latency(10_000).await?,
            };
            if let Some(store) = embedded {
                store.close().await;
            }
            figures
        }
    };
    let mut figures = figures;
    let target = match (server, &args.postgres) {
        (Some(url), _) => url.to_owned(),
        (None, Some(_)) if args.plain_insert => "postgresql (plain INSERT)".into(),
        (None, Some(_)) => "postgresql".into(),
        (None, None) => "embedded".into(),
    };
    figures.extra.insert("target".into(), target.into());
    figures.print(args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `work` against a server on the embedded store in `dir`, served in this process.
async fn in_process_server<F, Fut>(dir: &Path, work: F) -> anyhow::Result<Figures>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Figures>>,
{
    let store = EmbeddedStore::open(dir, Options::default())?;
    let backend = eventfold_server::Backend::embedded(store.clone(), dir)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = eventfold_server::ServerConfig::default();
    let served = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        eventfold_server::serve(listener, backend, &config, shutdown).await
    });
    let figures = work(url).await;
    let _ = stop.send(());
    served.await??;
    store.close().await;
    figures
}

/// A workload run on one store.
struct Run {
    store: Arc<dyn EventStore>,
    /// Added to stream numbers, so runs against one server do not collide.
    streams_base: u64,
    seconds: u64,
}

/// `writers` tasks append batches of `batch` events for `seconds`. Single-event writers own
/// disjoint streams and check the exact revision; batch writers give each batch a new stream.
impl Run {
    async fn appends(
        &self,
        workload: Workload,
        writers: u64,
        batch: u64,
    ) -> anyhow::Result<Figures> {
        let store = self.store.clone();
        let base = self.streams_base;
        let deadline = Instant::now() + Duration::from_secs(self.seconds);
        let started = Instant::now();
        let tasks: Vec<_> = (0..writers)
            .map(|writer| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut latency = histogram();
                    let mut written = 0u64;
                    let mut revisions = vec![None::<u64>; 10_000 / writers as usize + 1];
                    let mut round = 0u64;
                    while Instant::now() < deadline {
                        let (stream, expected, slot) = if batch == 1 {
                            let slot = (round % revisions.len() as u64) as usize;
                            let stream = account(base + writer + slot as u64 * writers);
                            let expected = revisions[slot]
                                .map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                            (stream, expected, Some(slot))
                        } else {
                            (
                                account(base + 1_000_000 + writer * 1_000_000_000 + round),
                                ExpectedRevision::NoStream,
                                None,
                            )
                        };
                        let events = (0..batch).map(|i| deposited(round + i)).collect();
                        let begun = Instant::now();
                        let result = store.append(&stream, expected, events).await?;
                        record(&mut latency, begun.elapsed());
                        if let Some(slot) = slot {
                            revisions[slot] = Some(result.last_revision.0);
                        }
                        written += batch;
                        round += 1;
                    }
                    anyhow::Ok((written, latency))
                })
            })
            .collect();
        let mut latency = histogram();
        let mut events = 0;
        for task in tasks {
            let (written, task_latency) = task.await??;
            events += written;
            latency.add(task_latency).expect("same histogram bounds");
        }
        let seconds = started.elapsed().as_secs_f64();
        let mut extra = serde_json::Map::new();
        extra.insert("writers".into(), writers.into());
        extra.insert("events_per_append".into(), batch.into());
        Ok(Figures {
            workload,
            events,
            seconds,
            latency_us: latency,
            extra,
        })
    }
}

/// Makes sure `store` holds at least `events` events, adding 100-event streams.
pub(crate) async fn populate(store: &Arc<dyn EventStore>, events: u64) -> anyhow::Result<()> {
    let have = store.head_position().await?.0;
    if have >= events {
        return Ok(());
    }
    eprintln!("populating: {have} → {events} events …");
    let writers = 4u64;
    let streams_needed = (events - have).div_ceil(100);
    let first_stream = have.div_ceil(100) + 10_000_000;
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut n = writer;
                while n < streams_needed {
                    let batch = (0..100).map(deposited).collect();
                    let stream = account(first_stream + n);
                    store
                        .append(&stream, ExpectedRevision::NoStream, batch)
                        .await?;
                    n += writers;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

impl Run {
    async fn read_everything(&self, events: u64) -> anyhow::Result<Figures> {
        let store = &self.store;
        populate(store, events).await?;
        let mut latency = histogram();
        let started = Instant::now();
        let mut from = AllFrom::Start;
        let mut read = 0u64;
        let mut bytes = 0u64;
        loop {
            let begun = Instant::now();
            let request = ReadAll {
                from,
                limit: 10_000,
                ..ReadAll::default()
            };
            let slice = store.read_all(request).await?;
            record(&mut latency, begun.elapsed());
            read += slice.events.len() as u64;
            bytes += slice
                .events
                .iter()
                .map(|e| e.data.len() as u64)
                .sum::<u64>();
            if slice.end_of_log {
                break;
            }
            from = AllFrom::Position(slice.next);
        }
        let seconds = started.elapsed().as_secs_f64();
        let mut extra = serde_json::Map::new();
        extra.insert("latency_is_per".into(), "page of 10,000 events".into());
        extra.insert("data_bytes".into(), bytes.into());
        Ok(Figures {
            workload: Workload::W4,
            events: read,
            seconds,
            latency_us: latency,
            extra,
        })
    }

    /// 32 writers append single events at `rate` events/s in all while a subscription to
    /// `$all` from the end receives them; latency is from each append's acknowledgement to
    /// its event's arrival (0 when the event arrives first).
    async fn subscription_latency(&self, rate: u64) -> anyhow::Result<Figures> {
        use futures::StreamExt;
        use std::collections::HashMap;
        let store = self.store.clone();
        let mut subscription = store
            .subscribe_all(AllFrom::End, Default::default())
            .await?;
        // Wait until the subscription is live, so every event of the run reaches it.
        while let Some(message) = subscription.next().await {
            if message? == eventfold_store::SubscriptionMessage::CaughtUp {
                break;
            }
        }
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let receiver = tokio::spawn(async move {
            let mut arrived = HashMap::new();
            loop {
                let message = tokio::select! {
                    message = subscription.next() => message,
                    _ = &mut stopped => break,
                };
                match message {
                    Some(Ok(eventfold_store::SubscriptionMessage::Event(event))) => {
                        arrived.insert(event.position.0, Instant::now());
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(error.into()),
                    None => break,
                }
            }
            anyhow::Ok(arrived)
        });
        let streams = (0..32).map(|writer| account(self.streams_base + 20_000_000 + writer));
        let started = Instant::now();
        let acknowledged = paced_appends(&store, streams.collect(), rate, self.seconds).await?;
        let seconds = started.elapsed().as_secs_f64();
        // Give the last events time to arrive, then stop listening.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = stop.send(());
        let arrived = receiver.await??;
        let latency = delivery_latencies(&acknowledged, &arrived, "the subscription")?;
        let mut extra = serde_json::Map::new();
        extra.insert(
            "latency_is_per".into(),
            "event: append acknowledged → received by the subscription".into(),
        );
        extra.insert("target_rate".into(), rate.into());
        Ok(Figures {
            workload: Workload::W7,
            events: acknowledged.len() as u64,
            seconds,
            latency_us: latency,
            extra,
        })
    }
}

async fn read_one_stream(dir: &Path, events: u64) -> anyhow::Result<Figures> {
    let store = EmbeddedStore::open(dir, Options::default())?;
    populate(&(Arc::new(store.clone()) as Arc<dyn EventStore>), events).await?;
    let streams = events / 100;
    let reads = 20_000u64;
    let mut latency = histogram();
    let mut read = 0u64;
    let started = Instant::now();
    for i in 0..reads {
        // A fixed stride visits streams all over the log, not just recent ones.
        let stream = account(10_000_000 + (i * 7_919) % streams);
        let request = ReadStream {
            from: StreamFrom::Start,
            direction: Direction::Forward,
            limit: 100,
            ..Default::default()
        };
        let begun = Instant::now();
        let page = store.read_stream(&stream, request).await?;
        record(&mut latency, begun.elapsed());
        if page.len() != 100 {
            bail!("stream {stream} has {} events, expected 100", page.len());
        }
        read += page.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    store.close().await;
    let mut extra = serde_json::Map::new();
    extra.insert(
        "latency_is_per".into(),
        "read of one 100-event stream".into(),
    );
    extra.insert("reads".into(), reads.into());
    Ok(Figures {
        workload: Workload::W5,
        events: read,
        seconds,
        latency_us: latency,
        extra,
    })
}

async fn reopen(dir: &Path, events: u64) -> anyhow::Result<Figures> {
    {
        let store = EmbeddedStore::open(dir, Options::default())?;
        populate(&(Arc::new(store.clone()) as Arc<dyn EventStore>), events).await?;
        store.close().await;
    }
    // Open in a fresh process so its memory is the store's alone.
    let exe = std::env::current_exe().context("finding the eventfold binary")?;
    let output = tokio::process::Command::new(exe)
        .arg("--data")
        .arg(dir)
        .arg("bench-open")
        .output()
        .await
        .context("running the reopen probe")?;
    if !output.status.success() {
        bail!(
            "reopen probe failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let probe: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let open_us = probe["open_us"].as_u64().unwrap_or(0);
    let mut latency = histogram();
    latency.saturating_record(open_us.max(1));
    let mut extra = serde_json::Map::new();
    extra.insert("latency_is_per".into(), "open of the store".into());
    extra.insert("open_ms".into(), (open_us / 1000).into());
    extra.insert("rss_mib_after_open".into(), probe["rss_mib"].clone());
    extra.insert("log_bytes".into(), probe["log_bytes"].clone());
    Ok(Figures {
        workload: Workload::W6,
        events: probe["events"].as_u64().unwrap_or(0),
        seconds: open_us as f64 / 1e6,
        latency_us: latency,
        extra,
    })
}

/// Opens the store at `data`, then prints the time it took and the process's memory.
pub async fn bench_open(data: &Path) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let store = EmbeddedStore::open(data, Options::default())?;
    let open_us = started.elapsed().as_micros() as u64;
    let events = store.head_position().await?.0;
    let log_bytes: u64 = std::fs::read_dir(data.join(eventfold_store::embedded::LOG_DIR))?
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|metadata| metadata.len())
        .sum();
    let report = serde_json::json!({
        "open_us": open_us, "events": events, "rss_mib": rss_mib(), "log_bytes": log_bytes,
    });
    writeln!(std::io::stdout(), "{report}")?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The resident memory of this process, in MiB (Linux), or null elsewhere.
fn rss_mib() -> serde_json::Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(serde_json::Value::Null, |kib| (kib / 1024).into())
}
