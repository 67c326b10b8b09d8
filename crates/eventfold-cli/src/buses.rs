//! `eventfold bus …`: event buses on a server.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use eventfold_client::api::buses::{BusSettings, PutEvent, ReplayRequest, RuleRequest};
use eventfold_store::Timestamp;

use crate::groups::client;
use crate::output::JsonLines;

/// What to do with a bus.
#[derive(Subcommand)]
pub enum BusCommand {
    /// Create a bus, or replace its policy and archive settings.
    Save(SaveArgs),
    /// List the buses.
    List,
    /// Show a bus: policy, rules, replays, events put.
    Describe(NameArgs),
    /// Delete a bus and its rules (its archive stream stays).
    Delete(NameArgs),
    /// Put one event on a bus.
    Put(PutArgs),
    /// Create or replace a rule.
    Rule(RuleArgs),
    /// Show a rule and its progress (lag, matched, delivered, dead-lettered).
    DescribeRule(RuleNameArgs),
    /// Delete a rule.
    DeleteRule(RuleNameArgs),
    /// List what a rule could not deliver, and why.
    DeadLetters(RuleNameArgs),
    /// Replay the bus's events recorded in a time range (marked as replays).
    Replay(ReplayArgs),
    /// Show a replay's progress.
    ReplayStatus(ReplayStatusArgs),
}

#[derive(Args)]
pub struct NameArgs {
    /// The bus.
    bus: String,
}

#[derive(Args)]
pub struct SaveArgs {
    /// The bus.
    bus: String,
    /// Allowed sources (repeat or comma-separate; `prefix*` allows a prefix). All when absent.
    #[arg(long = "allow-source", value_delimiter = ',')]
    sources: Vec<String>,
    /// Allowed event types (as above).
    #[arg(long = "allow-type", value_delimiter = ',')]
    types: Vec<String>,
    /// Keep archived events this many days (forever when absent).
    #[arg(long)]
    archive_days: Option<u64>,
}

#[derive(Args)]
pub struct PutArgs {
    /// The bus.
    bus: String,
    /// Who sends it.
    source: String,
    /// The event type.
    event_type: String,
    /// The data, as JSON.
    #[arg(value_name = "DATA")]
    payload: String,
    /// The sender's metadata, as JSON.
    #[arg(long)]
    metadata: Option<String>,
}

#[derive(Args)]
pub struct RuleArgs {
    /// The bus.
    bus: String,
    /// The rule.
    rule: String,
    /// The event pattern (EventBridge syntax) as JSON; see docs/BUSES.md.
    #[arg(long)]
    pattern: String,
    /// A target as JSON: {"stream": "s"}, {"bus": "b"}, {"group": "g"} or
    /// {"webhook": {"url": "http://…"}}. Repeat for several.
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Let events go by without delivering them.
    #[arg(long)]
    disabled: bool,
    /// What the rule is for.
    #[arg(long)]
    description: Option<String>,
}

#[derive(Args)]
pub struct RuleNameArgs {
    /// The bus.
    bus: String,
    /// The rule.
    rule: String,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The bus.
    bus: String,
    /// The replay's name (marks the replayed events).
    name: String,
    /// From this time (RFC 3339).
    #[arg(long)]
    from: Timestamp,
    /// To this time (now when absent).
    #[arg(long)]
    to: Option<Timestamp>,
}

#[derive(Args)]
pub struct ReplayStatusArgs {
    /// The bus.
    bus: String,
    /// The replay.
    name: String,
}

fn json_arg(what: &str, text: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).with_context(|| format!("{what} is not valid JSON"))
}

/// Runs a bus command.
pub async fn run(server: Option<&str>, command: BusCommand) -> anyhow::Result<ExitCode> {
    let client = client(server, "event buses")?;
    let mut out = JsonLines::stdout();
    match command {
        BusCommand::Save(args) => {
            let mut policy = serde_json::Map::new();
            if !args.sources.is_empty() {
                policy.insert("sources".into(), json!(args.sources));
            }
            if !args.types.is_empty() {
                policy.insert("types".into(), json!(args.types));
            }
            let mut settings = json!({ "policy": policy });
            if let Some(days) = args.archive_days {
                settings["archive_days"] = json!(days);
            }
            let settings: BusSettings =
                serde_json::from_value(settings).context("the bus's settings")?;
            out.line(&client.save_bus(&args.bus, &settings).await?)?;
        }
        BusCommand::List => {
            for bus in client.buses().await? {
                out.line(&bus)?;
            }
        }
        BusCommand::Describe(args) => out.line(&client.describe_bus(&args.bus).await?)?,
        BusCommand::Delete(args) => client.delete_bus(&args.bus).await?,
        BusCommand::Put(args) => {
            let mut event = PutEvent::new(
                args.source,
                args.event_type,
                &json_arg("data", &args.payload)?,
            );
            event.metadata = args
                .metadata
                .as_deref()
                .map(|m| json_arg("--metadata", m))
                .transpose()?
                .map(|m| serde_json::value::to_raw_value(&m))
                .transpose()?;
            let put = client.put_events(&args.bus, vec![event]).await?;
            out.line(&json!({"id": put.ids[0], "position": put.first_position}))?;
        }
        BusCommand::Rule(args) => {
            let targets = args
                .targets
                .iter()
                .map(|t| json_arg("--target", t))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut definition = json!({
                "pattern": json_arg("--pattern", &args.pattern)?,
                "targets": targets,
                "enabled": !args.disabled,
            });
            if let Some(description) = args.description {
                definition["description"] = json!(description);
            }
            let definition: RuleRequest = serde_json::from_value(definition).context("the rule")?;
            out.line(&client.save_rule(&args.bus, &args.rule, &definition).await?)?;
        }
        BusCommand::DescribeRule(args) => {
            out.line(&client.describe_rule(&args.bus, &args.rule).await?)?
        }
        BusCommand::DeleteRule(args) => client.delete_rule(&args.bus, &args.rule).await?,
        BusCommand::DeadLetters(args) => {
            for event in client.dead_letters(&args.bus, &args.rule, 0, 1_000).await? {
                out.line(&event)?;
            }
        }
        BusCommand::Replay(args) => out.line(
            &client
                .replay_bus(
                    &args.bus,
                    &ReplayRequest {
                        name: eventfold_client::api::Name::parse("replay", &args.name)?,
                        from: args.from,
                        to: args.to,
                    },
                )
                .await?,
        )?,
        BusCommand::ReplayStatus(args) => {
            out.line(&client.replay_status(&args.bus, &args.name).await?)?
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
