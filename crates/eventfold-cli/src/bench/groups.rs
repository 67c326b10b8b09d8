//! w11: consumer-group delivery over HTTP. First a backlog of events is delivered to four
//! competing consumers that fetch and ack in batches (throughput); then writers append live at
//! a fixed rate while consumers long-poll (latency: append acknowledged → event fetched).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use parking_lot::Mutex;

use eventfold_client::api::groups::{GroupFilter, GroupRequest, StartAt};
use eventfold_client::Client;
use eventfold_store::{EventStore, ExpectedRevision, StreamName};

use super::{delivery_latencies, deposited, paced_appends, Figures, Workload};

/// Events in the backlog.
const BACKLOG: u64 = 200_000;
/// Competing consumers.
const CONSUMERS: usize = 4;
/// Events per fetch.
const FETCH_MAX: usize = 500;
/// Live appends per second in the latency phase.
const LIVE_RATE: u64 = 5_000;

/// Runs w11 against the server at `url`; `run_id` keeps this run's streams and groups apart.
pub async fn delivery(url: &str, run_id: u64, seconds: u64) -> anyhow::Result<Figures> {
    let client = Client::new(url)?;
    let category = format!("groupbench{run_id}");
    fill(&client, &category).await?;

    let backlog_group = format!("bench-backlog-{run_id}");
    let options = GroupRequest {
        filter: Some(GroupFilter {
            category: Some(category.clone()),
            ..GroupFilter::default()
        }),
        start: Some(StartAt::Start),
        buffer_size: Some(10_000),
        ..GroupRequest::default()
    };
    client.save_group(&backlog_group, &options).await?;
    let started = Instant::now();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|n| {
            let client = client.clone();
            let group = backlog_group.clone();
            tokio::spawn(async move {
                let mut acked = 0u64;
                loop {
                    let batch = client
                        .fetch(&group, &format!("c{n}"), FETCH_MAX, 500)
                        .await?;
                    if batch.is_empty() {
                        return anyhow::Ok(acked);
                    }
                    let ids: Vec<_> = batch.into_iter().map(|d| d.ack_id).collect();
                    acked += client.ack(&group, &ids).await?.settled as u64;
                }
            })
        })
        .collect();
    let mut delivered = 0;
    for consumer in consumers {
        delivered += consumer.await??;
    }
    let throughput_seconds = started.elapsed().as_secs_f64() - 0.5; // the last empty long poll
    if delivered != BACKLOG {
        bail!("{delivered} of {BACKLOG} backlog events were acknowledged");
    }
    client.delete_group(&backlog_group).await?;

    let latency = live_latency(&client, &category, run_id, seconds).await?;
    let mut extra = serde_json::Map::new();
    extra.insert(
        "events_are".into(),
        format!("backlog events fetched and acked by {CONSUMERS} consumers, {FETCH_MAX} per fetch")
            .into(),
    );
    extra.insert(
        "latency_is_per".into(),
        format!("event: append acknowledged → fetched by a long-polling consumer, at {LIVE_RATE} events/s").into(),
    );
    Ok(Figures {
        workload: Workload::W11,
        events: delivered,
        seconds: throughput_seconds,
        latency_us: latency,
        extra,
    })
}

async fn fill(client: &Client, category: &str) -> anyhow::Result<()> {
    let writers: Vec<_> = (0..4u64)
        .map(|writer| {
            let client = client.clone();
            let category = category.to_owned();
            tokio::spawn(async move {
                let batches = BACKLOG / 100 / 4;
                for batch in 0..batches {
                    let stream = StreamName::new(&format!("{category}-{writer}-{}", batch % 100))?;
                    let events = (0..100).map(|n| deposited(batch * 100 + n)).collect();
                    client
                        .append(&stream, ExpectedRevision::Any, events)
                        .await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for writer in writers {
        writer.await?.context("filling the backlog")?;
    }
    Ok(())
}

async fn live_latency(
    client: &Client,
    category: &str,
    run_id: u64,
    seconds: u64,
) -> anyhow::Result<hdrhistogram::Histogram<u64>> {
    let group = format!("bench-live-{run_id}");
    let live = format!("{category}live");
    let options = GroupRequest {
        filter: Some(GroupFilter {
            category: Some(live.clone()),
            ..GroupFilter::default()
        }),
        ..GroupRequest::default()
    };
    client.save_group(&group, &options).await?;
    let arrived: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let consumers: Vec<_> = (0..2)
        .map(|n| {
            let (client, group, arrived, mut stopped) = (
                client.clone(),
                group.clone(),
                arrived.clone(),
                stopped.clone(),
            );
            tokio::spawn(async move {
                while !*stopped.borrow_and_update() {
                    let batch = client
                        .fetch(&group, &format!("live{n}"), FETCH_MAX, 200)
                        .await?;
                    let now = Instant::now();
                    let mut ids = Vec::with_capacity(batch.len());
                    {
                        let mut arrived = arrived.lock();
                        for delivery in batch {
                            arrived.insert(delivery.event.position.0, now);
                            ids.push(delivery.ack_id);
                        }
                    }
                    if !ids.is_empty() {
                        client.ack(&group, &ids).await?;
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    let store: Arc<dyn EventStore> = Arc::new(client.clone());
    let streams = (0..16)
        .map(|writer| StreamName::new(&format!("{live}-{writer}")))
        .collect::<Result<Vec<_>, _>>()?;
    let acknowledged = paced_appends(&store, streams, LIVE_RATE, seconds).await?;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let _ = stop.send(true);
    for consumer in consumers {
        consumer.await??;
    }
    client.delete_group(&group).await?;
    let arrived = arrived.lock();
    delivery_latencies(&acknowledged, &arrived, "the group")
}
