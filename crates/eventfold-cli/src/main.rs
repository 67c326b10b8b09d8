//! `eventfold`: the command line of the Eventfold event store.

mod bench;
mod buses;
mod commands;
mod config;
mod groups;
mod output;
mod repair;
mod scavenge;
mod serve;
mod target;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// mimalloc: glibc's allocator (malloc, free and their consolidation) was 15–20% of the server's
/// and the HTTP client's time under batch appends.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Eventfold: an event store with streams, subscriptions and optimistic concurrency.
///
/// `eventfold serve` runs the HTTP API; the other commands work on a local data directory (the
/// embedded store). Events print as JSON lines, one event per line.
#[derive(Parser)]
#[command(name = "eventfold", version, propagate_version = true)]
struct Cli {
    /// The data directory of the embedded store [default: ./eventfold-data].
    #[arg(long, global = true, env = "EVENTFOLD_DATA")]
    data: Option<PathBuf>,
    /// A configuration file (TOML: `data`, and `[serve]` with `listen`, `body_bytes_max`,
    /// `request_timeout_secs`, `subscribers_max`). Flags and environment variables win over it.
    #[arg(long, global = true, env = "EVENTFOLD_CONFIG")]
    config: Option<PathBuf>,
    /// Talk to the Eventfold server at this URL instead of a data directory (store commands:
    /// append, read, read-all, tail, metadata, delete); needed by group and bus.
    #[arg(long, global = true, env = "EVENTFOLD_SERVER")]
    server: Option<String>,
    /// How log lines on standard error look: `text` for people, `json` (one object per line)
    /// for log collectors.
    #[arg(long, global = true, env = "EVENTFOLD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API on the data directory (the embedded store) until interrupted.
    Serve(serve::ServeArgs),
    /// Append one event to a stream; prints the revisions and positions written.
    Append(commands::AppendArgs),
    /// Read a stream.
    Read(commands::ReadArgs),
    /// Read the global log ($all).
    ReadAll(commands::ReadAllArgs),
    /// Follow a stream or the global log: history, then live events until interrupted.
    Tail(commands::TailArgs),
    /// Show a stream's metadata, or replace it with --set.
    Metadata(commands::MetadataArgs),
    /// Delete a stream (soft by default; --hard leaves a tombstone).
    Delete(commands::DeleteArgs),
    /// Check every frame of the data directory and report damage precisely.
    Verify(verify::VerifyArgs),
    /// Cut the log at damage a power loss can leave, after showing what would be cut.
    Repair(repair::RepairArgs),
    /// Erase what deletes, truncation and expiry hide (the bytes leave the disk), on the data
    /// directory or, with --server, on a running server; progress on stderr.
    Scavenge,
    /// Consumer groups on a server (--server): save, list, describe, delete, fetch, tail, ack,
    /// nack, parked, replay-parked.
    #[command(subcommand)]
    Group(groups::GroupCommand),
    /// Event buses on a server (--server): save, list, describe, delete, put, rule,
    /// describe-rule, delete-rule, dead-letters, replay, replay-status.
    #[command(subcommand)]
    Bus(buses::BusCommand),
    /// Measure a workload (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Print a shell completion script: `eventfold completions bash > /etc/bash_completion.d/eventfold`
    /// (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `eventfold man | man -l -`.
    Man,
    /// Print the OpenAPI document of the HTTP API (the JSON `GET /openapi.json` serves), for
    /// generating clients without a running server.
    Openapi,
    /// Open a data directory and report the time and memory it took (used by `bench --workload w6`).
    #[command(hide = true)]
    BenchOpen,
}

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    refuse_unused_global_flags(&matches, &cli.command);
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let json = std::env::args().any(|arg| arg == "--json");
    let result = runtime.block_on(run(cli));
    match result {
        Ok(code) => code,
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(&error, json);
            ExitCode::FAILURE
        }
    }
}

/// Prints a failure on standard error with its stable code (the HTTP API's, for errors of the
/// store): `error [stream_not_found]: …`, or with `--json` one object,
/// `{"error": "stream_not_found", "message": "…"}`.
fn report_error(error: &anyhow::Error, json: bool) {
    let code = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<eventfold_store::StoreError>())
        .map(|store| store.code().as_str())
        .or_else(|| {
            error
                .chain()
                .any(|cause| cause.is::<std::io::Error>())
                .then_some("io")
        })
        .unwrap_or("failed");
    let message = format!("{error:#}");
    if json {
        eprintln!(
            "{}",
            serde_json::json!({ "error": code, "message": message })
        );
    } else {
        eprintln!("error [{code}]: {message}");
    }
}

/// Logs go to standard error; `EVENTFOLD_LOG` (or `RUST_LOG`) picks the level, `warn` by default,
/// so recovery actions (a torn tail cut, an index snapshot not used) are always visible.
/// With `EVENTFOLD_LOG=info` the server logs one line per request ("answered", with its method,
/// path, `request_id`, status and time).
fn init_logging(format: LogFormat) {
    let filter = std::env::var("EVENTFOLD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

/// Exits with a usage error when `--server` is given on the command line to a command that
/// would ignore it (`eventfold --server URL serve` would serve the local directory, whatever
/// the URL says). From the environment it is not refused: a shell may export
/// `EVENTFOLD_SERVER` for the commands that use it.
fn refuse_unused_global_flags(matches: &clap::ArgMatches, command: &Command) {
    let uses_server = !matches!(
        command,
        Command::Serve(_)
            | Command::Verify(_)
            | Command::Repair(_)
            | Command::BenchOpen
            | Command::Completions { .. }
            | Command::Man
            | Command::Openapi
    );
    // A global flag's value lands in the subcommand's matches too: look at both.
    let (name, sub) = match matches.subcommand() {
        Some((name, sub)) => (name, Some(sub)),
        None => ("", None),
    };
    let given = [Some(matches), sub]
        .into_iter()
        .flatten()
        .any(|m| m.value_source("server") == Some(ValueSource::CommandLine));
    if given && !uses_server {
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "--server does not apply to `eventfold {name}`: it works on the data \
                     directory (--data) or on nothing"
                ),
            )
            .exit();
    }
}

/// The data directory when neither a flag, the environment nor a configuration file names one.
const DATA_DEFAULT: &str = "./eventfold-data";

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = config::ConfigFile::load(cli.config.as_deref())?;
    let data = cli
        .data
        .clone()
        .or(file.data.clone())
        .unwrap_or_else(|| DATA_DEFAULT.into());
    let target = match &cli.server {
        Some(url) => target::Target::Server(url.clone()),
        None => target::Target::Data(data.clone()),
    };
    match cli.command {
        Command::Serve(args) => serve::serve(&data, args, &file.serve).await,
        Command::Append(args) => commands::append(&target, args).await,
        Command::Read(args) => commands::read(&target, args).await,
        Command::ReadAll(args) => commands::read_all(&target, args).await,
        Command::Tail(args) => commands::tail(&target, args).await,
        Command::Metadata(args) => commands::metadata(&target, args).await,
        Command::Delete(args) => commands::delete(&target, args).await,
        Command::Verify(args) => verify::verify(&data, args),
        Command::Repair(args) => repair::repair(&data, args),
        Command::Scavenge => scavenge::scavenge(&target).await,
        Command::Group(command) => groups::run(cli.server.as_deref(), command).await,
        Command::Bus(command) => buses::run(cli.server.as_deref(), command).await,
        Command::Bench(args) => bench::bench(args, cli.server.as_deref()).await,
        Command::BenchOpen => bench::bench_open(&data).await,
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "eventfold", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            println!("{}", eventfold_server::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
