//! `eventfold group …`: consumer groups on a server.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use eventfold_client::api::groups::{AckId, GroupRequest, NackAction};
use eventfold_client::Client;

use crate::output::JsonLines;

/// What to do with a group.
#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a group, or update its settings (stream and filter never change).
    Save(SaveArgs),
    /// List the groups.
    List,
    /// Show a group's settings and state: lag, in flight, retries, consumers.
    Describe(NameArgs),
    /// Delete a group with its checkpoints and parked events.
    Delete(NameArgs),
    /// Fetch deliveries (one JSON line each); `--ack` acknowledges them once printed.
    Fetch(FetchArgs),
    /// Follow a group: print deliveries as they come (long polls) until Ctrl-C; `--ack`
    /// acknowledges each batch once printed.
    Tail(TailArgs),
    /// Acknowledge deliveries.
    Ack(SettleArgs),
    /// Refuse deliveries: retry them later (default), park or skip them.
    Nack(NackArgs),
    /// List the parked events (dead letters) with why they were parked.
    Parked(ParkedArgs),
    /// Deliver the parked events again.
    ReplayParked(NameArgs),
}

#[derive(Args)]
pub struct NameArgs {
    /// The group.
    group: String,
}

#[derive(Args)]
pub struct SaveArgs {
    /// The group.
    group: String,
    /// Follow this stream instead of $all.
    #[arg(long)]
    stream: Option<String>,
    /// $all only: these event types (repeat or comma-separate).
    #[arg(long = "type", value_delimiter = ',')]
    types: Vec<String>,
    /// $all only: streams of this category.
    #[arg(long)]
    category: Option<String>,
    /// $all only: streams whose name starts with this.
    #[arg(long)]
    prefix: Option<String>,
    /// Where a new group starts: start, end (default), a number (position on $all, revision
    /// on a stream) or an RFC 3339 time ($all).
    #[arg(long)]
    start: Option<String>,
    /// round_robin (default) or pinned (one event per stream at a time, in order).
    #[arg(long)]
    strategy: Option<String>,
    /// Deliveries before an event is parked (default 5).
    #[arg(long)]
    max_attempts: Option<u32>,
    /// Time to answer a delivery, in ms (default 30000).
    #[arg(long)]
    ack_timeout_ms: Option<u64>,
    /// The first retry's delay, in ms (default 500), doubled per retry.
    #[arg(long)]
    retry_backoff_ms: Option<u64>,
    /// The longest retry delay, in ms (default 60000).
    #[arg(long)]
    retry_backoff_max_ms: Option<u64>,
    /// Events read ahead (default 1000).
    #[arg(long)]
    buffer_size: Option<usize>,
}

#[derive(Args)]
pub struct FetchArgs {
    /// The group.
    group: String,
    /// The consumer's name.
    #[arg(long, default_value = "cli")]
    consumer: String,
    /// At most this many.
    #[arg(long, default_value_t = 10)]
    max: usize,
    /// Wait up to this long for the first, in ms.
    #[arg(long, default_value_t = 0)]
    wait_ms: u64,
    /// Acknowledge what was printed.
    #[arg(long)]
    ack: bool,
}

#[derive(Args)]
pub struct TailArgs {
    /// The group.
    group: String,
    /// The consumer's name.
    #[arg(long, default_value = "cli")]
    consumer: String,
    /// Acknowledge what was printed.
    #[arg(long)]
    ack: bool,
}

#[derive(Args)]
pub struct SettleArgs {
    /// The group.
    group: String,
    /// The deliveries' ack ids.
    #[arg(required = true)]
    ack_ids: Vec<AckId>,
}

#[derive(Args)]
pub struct NackArgs {
    /// The group.
    group: String,
    /// The deliveries' ack ids.
    #[arg(required = true)]
    ack_ids: Vec<AckId>,
    /// retry, park or skip.
    #[arg(long, default_value = "retry", value_parser = ["retry", "park", "skip"])]
    action: String,
    /// Why (kept with parked events).
    #[arg(long, default_value = "nacked from the command line")]
    reason: String,
}

#[derive(Args)]
pub struct ParkedArgs {
    /// The group.
    group: String,
    /// From this revision of the parked stream.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// The client of the server `--server` names.
pub fn client(server: Option<&str>, what: &str) -> anyhow::Result<Client> {
    let url = server.with_context(|| {
        format!("{what} live on a server: pass --server URL or set EVENTFOLD_SERVER")
    })?;
    Ok(Client::new(url)?)
}

fn start_value(text: &str) -> serde_json::Value {
    match text {
        "start" | "end" => json!(text),
        number if number.parse::<u64>().is_ok() => {
            json!({"position": number.parse::<u64>().unwrap_or(0)})
        }
        time => json!({ "time": time }),
    }
}

/// One fetch, printed as JSON lines (then acknowledged if asked).
struct Batch<'a> {
    group: &'a str,
    consumer: &'a str,
    max: usize,
    wait_ms: u64,
    ack: bool,
}

impl Batch<'_> {
    async fn print(&self, client: &Client, out: &mut JsonLines) -> anyhow::Result<()> {
        let deliveries = client
            .fetch(self.group, self.consumer, self.max, self.wait_ms)
            .await?;
        for delivery in &deliveries {
            out.line(delivery)?;
        }
        out.flush()?;
        if self.ack && !deliveries.is_empty() {
            let ids: Vec<AckId> = deliveries.iter().map(|d| d.ack_id).collect();
            client.ack(self.group, &ids).await?;
        }
        Ok(())
    }
}

/// Runs a group command.
pub async fn run(server: Option<&str>, command: GroupCommand) -> anyhow::Result<ExitCode> {
    let client = client(server, "consumer groups")?;
    let mut out = JsonLines::stdout();
    match command {
        GroupCommand::Save(args) => {
            let start = args.start.as_deref().map(|text| {
                let value = start_value(text);
                // On a stream a number is a revision.
                match (&args.stream, value.get("position")) {
                    (Some(_), Some(n)) => json!({ "revision": n }),
                    _ => value,
                }
            });
            let mut filter = serde_json::Map::new();
            if !args.types.is_empty() {
                filter.insert("types".into(), json!(args.types));
            }
            if let Some(category) = args.category {
                filter.insert("category".into(), json!(category));
            }
            if let Some(prefix) = args.prefix {
                filter.insert("prefix".into(), json!(prefix));
            }
            let request = json!({
                "stream": args.stream,
                "filter": (!filter.is_empty()).then_some(filter),
                "start": start,
                "strategy": args.strategy,
                "max_attempts": args.max_attempts,
                "ack_timeout_ms": args.ack_timeout_ms,
                "retry_backoff_ms": args.retry_backoff_ms,
                "retry_backoff_max_ms": args.retry_backoff_max_ms,
                "buffer_size": args.buffer_size,
            });
            let request: GroupRequest =
                serde_json::from_value(request).context("the group's settings")?;
            out.line(&client.save_group(&args.group, &request).await?)?;
        }
        GroupCommand::List => {
            for group in client.groups().await? {
                out.line(&group)?;
            }
        }
        GroupCommand::Describe(args) => out.line(&client.describe_group(&args.group).await?)?,
        GroupCommand::Delete(args) => client.delete_group(&args.group).await?,
        GroupCommand::Fetch(args) => {
            let batch = Batch {
                group: &args.group,
                consumer: &args.consumer,
                max: args.max,
                wait_ms: args.wait_ms,
                ack: args.ack,
            };
            batch.print(&client, &mut out).await?;
        }
        GroupCommand::Tail(args) => {
            let batch = Batch {
                group: &args.group,
                consumer: &args.consumer,
                max: 100,
                wait_ms: 10_000,
                ack: args.ack,
            };
            // One listener for the whole tail: a Ctrl-C between two batches is not lost.
            let interrupted = tokio::signal::ctrl_c();
            tokio::pin!(interrupted);
            loop {
                tokio::select! {
                    printed = batch.print(&client, &mut out) => printed?,
                    _ = &mut interrupted => break,
                }
            }
        }
        GroupCommand::Ack(args) => {
            let settled = client.ack(&args.group, &args.ack_ids).await?;
            out.line(&settled)?;
        }
        GroupCommand::Nack(args) => {
            let action = match args.action.as_str() {
                "park" => NackAction::Park,
                "skip" => NackAction::Skip,
                _ => NackAction::Retry,
            };
            let settled = client
                .nack(&args.group, &args.ack_ids, action, &args.reason)
                .await?;
            out.line(&settled)?;
        }
        GroupCommand::Parked(args) => {
            for event in client.parked(&args.group, args.from, args.limit).await? {
                out.line(&event)?;
            }
        }
        GroupCommand::ReplayParked(args) => {
            let replaying = client.replay_parked(&args.group).await?;
            out.line(&json!({ "replaying": replaying }))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
