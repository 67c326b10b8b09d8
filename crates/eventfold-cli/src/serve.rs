//! `eventfold serve`: the HTTP API on the embedded store in the data directory.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use eventfold_server::{ServerConfig, DEFAULT_LISTEN};
use eventfold_store::embedded::{EmbeddedStore, Options};

#[derive(Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "EVENTFOLD_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: String,
    /// The largest request body, in bytes.
    #[arg(long, env = "EVENTFOLD_BODY_BYTES_MAX", default_value_t = ServerConfig::default().body_bytes_max)]
    body_bytes_max: usize,
    /// How long a request (other than a subscription) may take, in seconds.
    #[arg(long, env = "EVENTFOLD_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// How many subscriptions may be open at once.
    #[arg(long, env = "EVENTFOLD_SUBSCRIBERS_MAX", default_value_t = ServerConfig::default().subscribers_max)]
    subscribers_max: usize,
}

pub async fn serve(data: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig {
        body_bytes_max: args.body_bytes_max,
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        subscribers_max: args.subscribers_max,
    };
    let store = EmbeddedStore::open(data, Options::default())
        .with_context(|| format!("opening the data directory {}", data.display()))?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    eprintln!(
        "eventfold listening on http://{address} (data: {})",
        data.display()
    );
    eventfold_server::serve(listener, Arc::new(store.clone()), &config, interrupted()).await?;
    // Requests in flight have finished; make everything durable and save the index.
    store.close().await;
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
