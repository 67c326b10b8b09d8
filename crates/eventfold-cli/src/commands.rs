//! The store commands: append, read, read-all, tail, metadata, delete — on a local data
//! directory or against a server (see [`Target`]).

use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;
use uuid::Uuid;

use eventfold_store::{
    AllFrom, DeleteMode, Direction, EventFilter, ExpectedRevision, NewEvent, Position, ReadAll,
    ReadStream, Revision, StreamFrom, StreamMetadata, StreamName, SubscriptionMessage, Timestamp,
};

use crate::output::JsonLines;
use crate::target::Target;

/// Events per page when a command reads many.
const PAGE_EVENTS: usize = 1000;
/// The largest event data read from standard input, in bytes.
const STDIN_BYTES_MAX: u64 = 16 << 20;

fn stream_name(name: &str) -> anyhow::Result<StreamName> {
    Ok(StreamName::new(name)?)
}

#[derive(Args)]
pub struct AppendArgs {
    /// The stream, such as account-42.
    stream: String,
    /// The event type, such as Deposited.
    event_type: String,
    /// The event data as JSON; read from standard input when absent.
    json: Option<String>,
    /// The optimistic-concurrency check: any, no_stream, exists or a revision number.
    #[arg(long, default_value = "any")]
    expect: ExpectedRevision,
    /// The event id (a UUID), so a retry is recognised; random when absent.
    #[arg(long)]
    id: Option<Uuid>,
    /// Event metadata, a JSON object.
    #[arg(long)]
    metadata: Option<String>,
    /// When the fact happened (RFC 3339), if it differs from when it is recorded.
    #[arg(long)]
    occurred_at: Option<Timestamp>,
}

pub async fn append(target: &Target, args: AppendArgs) -> anyhow::Result<ExitCode> {
    let stream = stream_name(&args.stream)?;
    let json = match args.json {
        Some(json) => json,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .take(STDIN_BYTES_MAX + 1)
                .read_to_string(&mut text)
                .context("reading event data from standard input")?;
            if text.len() as u64 > STDIN_BYTES_MAX {
                bail!("event data on standard input is larger than {STDIN_BYTES_MAX} bytes");
            }
            text
        }
    };
    let mut event = NewEvent::new(args.event_type, json.trim().to_owned());
    if let Some(id) = args.id {
        event = event.with_id(id);
    }
    if let Some(metadata) = args.metadata {
        let value: serde_json::Value =
            serde_json::from_str(&metadata).context("--metadata is not valid JSON")?;
        event = event.with_metadata(&value);
    }
    if let Some(occurred_at) = args.occurred_at {
        event = event.with_occurred_at(occurred_at);
    }
    let store = target.open_to_write()?;
    let result = store
        .store()
        .append(&stream, args.expect, vec![event])
        .await;
    store.close().await;
    let mut out = JsonLines::stdout();
    out.line(&serde_json::to_value(result?)?)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ReadArgs {
    /// The stream.
    stream: String,
    /// The first revision to read (inclusive).
    #[arg(long)]
    from: Option<u64>,
    /// Newest first.
    #[arg(long)]
    backward: bool,
    /// The most events to print (all by default).
    #[arg(long)]
    limit: Option<usize>,
}

pub async fn read(target: &Target, args: ReadArgs) -> anyhow::Result<ExitCode> {
    let stream = stream_name(&args.stream)?;
    let store = target.open_to_read()?;
    let direction = if args.backward {
        Direction::Backward
    } else {
        Direction::Forward
    };
    let mut from = match (args.from, direction) {
        (Some(revision), _) => StreamFrom::Revision(Revision(revision)),
        (None, Direction::Forward) => StreamFrom::Start,
        (None, Direction::Backward) => StreamFrom::End,
    };
    let mut left = args.limit.unwrap_or(usize::MAX);
    let mut out = JsonLines::stdout();
    while left > 0 {
        let request = ReadStream {
            from,
            direction,
            limit: left.min(PAGE_EVENTS),
            ..Default::default()
        };
        let page = store.store().read_stream(&stream, request).await?;
        let Some(last) = page.last() else { break };
        from = match direction {
            Direction::Forward => StreamFrom::Revision(Revision(last.revision.0 + 1)),
            Direction::Backward if last.revision.0 == 0 => break,
            Direction::Backward => StreamFrom::Revision(Revision(last.revision.0 - 1)),
        };
        left -= page.len();
        for event in &page {
            out.line(event)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Which events of the global log, for read-all and tail.
#[derive(Args)]
pub struct FilterArgs {
    /// Only events of this type (repeatable).
    #[arg(long = "type")]
    event_types: Vec<String>,
    /// Only streams of this category (the part of the name before the first `-`).
    #[arg(long)]
    category: Option<String>,
    /// Only streams whose name starts with this.
    #[arg(long)]
    prefix: Option<String>,
}

impl FilterArgs {
    fn filter(self) -> EventFilter {
        EventFilter {
            stream_prefix: self.prefix,
            category: self.category,
            event_types: self.event_types,
        }
    }
}

#[derive(Args)]
pub struct ReadAllArgs {
    /// The first position to read (inclusive).
    #[arg(long, conflicts_with = "since")]
    from: Option<u64>,
    /// Start at the first event recorded at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<Timestamp>,
    /// Newest first.
    #[arg(long)]
    backward: bool,
    /// The most events to print (all by default).
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    filter: FilterArgs,
}

pub async fn read_all(target: &Target, args: ReadAllArgs) -> anyhow::Result<ExitCode> {
    let store = target.open_to_read()?;
    let direction = if args.backward {
        Direction::Backward
    } else {
        Direction::Forward
    };
    let mut from = match (args.from, args.since, direction) {
        (Some(position), _, _) => AllFrom::Position(Position(position)),
        (None, Some(time), _) => AllFrom::Time(time),
        (None, None, Direction::Forward) => AllFrom::Start,
        (None, None, Direction::Backward) => AllFrom::End,
    };
    let filter = args.filter.filter();
    let mut left = args.limit.unwrap_or(usize::MAX);
    let mut out = JsonLines::stdout();
    while left > 0 {
        let request = ReadAll {
            from,
            direction,
            limit: left.min(PAGE_EVENTS),
            filter: filter.clone(),
            ..Default::default()
        };
        let slice = store.store().read_all(request).await?;
        left -= slice.events.len();
        for event in &slice.events {
            out.line(event)?;
        }
        if slice.end_of_log {
            break;
        }
        from = AllFrom::Position(slice.next);
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct TailArgs {
    /// The stream to follow; omit it and pass --all to follow the global log.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    stream: Option<String>,
    /// Follow the global log.
    #[arg(long)]
    all: bool,
    /// Start at this position ($all) or revision (a stream), inclusive; the end by default.
    #[arg(long)]
    from: Option<u64>,
    #[command(flatten)]
    filter: FilterArgs,
}

pub async fn tail(target: &Target, args: TailArgs) -> anyhow::Result<ExitCode> {
    let store = target.open_to_read()?;
    let mut subscription = match &args.stream {
        Some(name) => {
            let from = args
                .from
                .map_or(StreamFrom::End, |r| StreamFrom::Revision(Revision(r)));
            store
                .store()
                .subscribe_stream(&stream_name(name)?, from)
                .await?
        }
        None => {
            let from = args
                .from
                .map_or(AllFrom::End, |p| AllFrom::Position(Position(p)));
            store
                .store()
                .subscribe_all(from, args.filter.filter())
                .await?
        }
    };
    let mut out = JsonLines::stdout();
    // One listener for the whole tail: a Ctrl-C while an event is written is not lost.
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let message = tokio::select! {
            message = subscription.next() => message,
            _ = &mut interrupted => break,
        };
        match message {
            Some(Ok(SubscriptionMessage::Event(event))) => {
                out.line(&event)?;
                out.flush()?;
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
            None => break,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct MetadataArgs {
    /// The stream.
    stream: String,
    /// Replace the metadata with this JSON document, e.g. '{"max_count": 100}'.
    /// Fields: max_age_secs, max_count, truncate_before, custom.
    #[arg(long)]
    set: Option<String>,
}

pub async fn metadata(target: &Target, args: MetadataArgs) -> anyhow::Result<ExitCode> {
    let stream = stream_name(&args.stream)?;
    let store = match &args.set {
        Some(json) => {
            let metadata: StreamMetadata =
                serde_json::from_str(json).context("--set is not a valid metadata document")?;
            let store = target.open_to_write()?;
            store.store().set_stream_metadata(&stream, metadata).await?;
            store
        }
        None => target.open_to_read()?,
    };
    let metadata = store.store().stream_metadata(&stream).await?;
    store.close().await;
    let mut out = JsonLines::stdout();
    out.line(&serde_json::to_value(metadata)?)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct DeleteArgs {
    /// The stream.
    stream: String,
    /// Leave a tombstone: the stream can never be written or read again.
    #[arg(long)]
    hard: bool,
    /// The optimistic-concurrency check: any, no_stream, exists or a revision number.
    #[arg(long, default_value = "any")]
    expect: ExpectedRevision,
}

pub async fn delete(target: &Target, args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let stream = stream_name(&args.stream)?;
    let store = target.open_to_write()?;
    let mode = if args.hard {
        DeleteMode::Hard
    } else {
        DeleteMode::Soft
    };
    let result = store
        .store()
        .delete_stream(&stream, args.expect, mode)
        .await;
    store.close().await;
    result?;
    let mut out = JsonLines::stdout();
    out.line(&serde_json::json!({ "deleted": stream, "hard": args.hard }))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
