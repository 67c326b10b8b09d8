//! `eventfold serve`: the HTTP API on the embedded store in the data directory, or on
//! PostgreSQL.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use eventfold_postgres::{PostgresOptions, PostgresStore};
use eventfold_server::{ConnectionLimits, ServerConfig, DEFAULT_LISTEN};
use eventfold_store::embedded::{EmbeddedStore, Options};

use crate::config::ServeConfig;

#[derive(Args)]
pub struct ServeArgs {
    /// The address to listen on [default: 127.0.0.1:7117].
    #[arg(long, env = "EVENTFOLD_LISTEN")]
    listen: Option<String>,
    /// The largest request body, in bytes [default: 33554432].
    #[arg(long, env = "EVENTFOLD_BODY_BYTES_MAX")]
    body_bytes_max: Option<usize>,
    /// How long a request (other than a subscription) may take, in seconds [default: 30].
    #[arg(long, env = "EVENTFOLD_REQUEST_TIMEOUT_SECS")]
    request_timeout_secs: Option<u64>,
    /// How many subscriptions may be open at once [default: 1024].
    #[arg(long, env = "EVENTFOLD_SUBSCRIBERS_MAX")]
    subscribers_max: Option<usize>,
    /// How many consumer-group push streams may be open at once [default: 1024].
    #[arg(long, env = "EVENTFOLD_GROUP_SUBSCRIBERS_MAX")]
    group_subscribers_max: Option<usize>,
    /// How long a request's head may take to arrive, and an idle keep-alive connection may
    /// wait for its next request, in seconds [default: 10].
    #[arg(long, env = "EVENTFOLD_HEADER_TIMEOUT_SECS")]
    header_timeout_secs: Option<u64>,
    /// How long a connection may go without a byte moving either way, in seconds [default: 120].
    #[arg(long, env = "EVENTFOLD_IDLE_TIMEOUT_SECS")]
    idle_timeout_secs: Option<u64>,
    /// How many connections may be open at once; more get a 503 [default: 4096].
    #[arg(long, env = "EVENTFOLD_CONNECTIONS_MAX")]
    connections_max: Option<usize>,
    /// How long shutdown waits for open connections, in seconds [default: 10].
    #[arg(long, env = "EVENTFOLD_SHUTDOWN_GRACE_SECS")]
    shutdown_grace_secs: Option<u64>,
    /// The most bytes of events one page of a read holds, at least 2 MiB [default: 16777216].
    #[arg(long, env = "EVENTFOLD_PAGE_BYTES_MAX")]
    page_bytes_max: Option<usize>,
    /// How many read pages are assembled at once; more readers wait [default: 16].
    #[arg(long, env = "EVENTFOLD_PAGES_IN_FLIGHT_MAX")]
    pages_in_flight_max: Option<usize>,
    /// The most bytes of events each consumer group reads ahead [default: 16777216].
    #[arg(long, env = "EVENTFOLD_GROUP_BUFFER_BYTES_MAX")]
    group_buffer_bytes_max: Option<usize>,
    /// Let browsers call the API from this origin (`https://console.example.com`; repeat for
    /// more, or `*` for any). Without it, no CORS headers are sent.
    #[arg(
        long = "cors-origin",
        env = "EVENTFOLD_CORS_ORIGIN",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// Keep events in this PostgreSQL database (`postgres://user@host:port/database`) instead
    /// of the data directory; several servers may share one database.
    #[arg(long, env = "EVENTFOLD_POSTGRES")]
    postgres: Option<String>,
    /// The PostgreSQL schema for Eventfold's tables [default: the connection's, usually public].
    #[arg(long, env = "EVENTFOLD_POSTGRES_SCHEMA", requires = "postgres")]
    postgres_schema: Option<String>,
}

/// An idle timeout shorter than what a live connection may go quiet for would cut it: an SSE
/// stream between keep-alives (15 s), or a request still within its time-out.
fn check_timeouts(config: &ServerConfig) -> anyhow::Result<()> {
    let idle = config.connections.idle_timeout;
    let quiet_max = config.request_timeout.max(Duration::from_secs(30));
    if idle <= quiet_max {
        anyhow::bail!(
            "--idle-timeout-secs ({} s) must be longer than --request-timeout-secs ({} s) and 30 s \
             (twice the SSE keep-alive), or live connections would be cut",
            idle.as_secs(),
            config.request_timeout.as_secs()
        );
    }
    Ok(())
}

fn connection_limits(
    args: &ServeArgs,
    file: &ServeConfig,
    defaults: &ConnectionLimits,
) -> ConnectionLimits {
    let secs = |flag: Option<u64>, key: Option<u64>, default: Duration| {
        flag.or(key)
            .map_or(default, |secs| Duration::from_secs(secs.max(1)))
    };
    ConnectionLimits {
        header_timeout: secs(
            args.header_timeout_secs,
            file.header_timeout_secs,
            defaults.header_timeout,
        ),
        idle_timeout: secs(
            args.idle_timeout_secs,
            file.idle_timeout_secs,
            defaults.idle_timeout,
        ),
        connections_max: args
            .connections_max
            .or(file.connections_max)
            .unwrap_or(defaults.connections_max)
            .max(1),
        shutdown_grace: secs(
            args.shutdown_grace_secs,
            file.shutdown_grace_secs,
            defaults.shutdown_grace,
        ),
    }
}

pub async fn serve(data: &Path, args: ServeArgs, file: &ServeConfig) -> anyhow::Result<ExitCode> {
    let defaults = ServerConfig::default();
    let timeout_secs = args.request_timeout_secs.or(file.request_timeout_secs);
    let config = ServerConfig {
        body_bytes_max: args
            .body_bytes_max
            .or(file.body_bytes_max)
            .unwrap_or(defaults.body_bytes_max),
        request_timeout: timeout_secs.map_or(defaults.request_timeout, |secs| {
            Duration::from_secs(secs.max(1))
        }),
        subscribers_max: args
            .subscribers_max
            .or(file.subscribers_max)
            .unwrap_or(defaults.subscribers_max),
        group_subscribers_max: args
            .group_subscribers_max
            .or(file.group_subscribers_max)
            .unwrap_or(defaults.group_subscribers_max),
        connections: connection_limits(&args, file, &defaults.connections),
        page_bytes_max: args
            .page_bytes_max
            .or(file.page_bytes_max)
            .unwrap_or(defaults.page_bytes_max),
        pages_in_flight_max: args
            .pages_in_flight_max
            .or(file.pages_in_flight_max)
            .unwrap_or(defaults.pages_in_flight_max),
        group_buffer_bytes_max: args
            .group_buffer_bytes_max
            .or(file.group_buffer_bytes_max)
            .unwrap_or(defaults.group_buffer_bytes_max),
        cors: {
            let origins = if args.cors_origins.is_empty() {
                file.cors_origins.clone().unwrap_or_default()
            } else {
                args.cors_origins.clone()
            };
            eventfold_server::Cors::parse(&origins).map_err(anyhow::Error::msg)?
        },
    };
    check_timeouts(&config)?;
    let listen = args
        .listen
        .or(file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let (backend, embedded, described) = match &args.postgres {
        Some(url) => {
            let options = PostgresOptions {
                schema: args.postgres_schema.clone(),
                ..PostgresOptions::default()
            };
            let store = PostgresStore::connect(url, options).await?;
            let backend = eventfold_server::Backend {
                store: Arc::new(store.clone()),
                snapshots: Arc::new(store),
            };
            (backend, None, "PostgreSQL".to_owned())
        }
        None => {
            let store = EmbeddedStore::open(data, Options::default())
                .with_context(|| format!("opening the data directory {}", data.display()))?;
            let backend = eventfold_server::Backend::embedded(store.clone(), data)?;
            (backend, Some(store), format!("data: {}", data.display()))
        }
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let address = listener.local_addr()?;
    eprintln!("eventfold listening on http://{address} ({described})");
    eventfold_server::serve(listener, backend, &config, interrupted()).await?;
    // Requests in flight have finished; make everything durable and save the index.
    if let Some(store) = embedded {
        store.close().await;
    }
    say("eventfold stopped");
    Ok(ExitCode::SUCCESS)
}

/// A line on standard error; a closed stderr does not stop the server.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn interrupted() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
