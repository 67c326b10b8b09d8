//! `bank`: seed 001's bank account service over Eventfold.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use bank::{Backend, Bank, BankConfig};

/// The bank account service of seed 001: open accounts, credit, withdraw, view balances.
#[derive(Parser)]
#[command(name = "bank", version)]
struct Args {
    /// Where the embedded store keeps events (and the read model, unless --read-model).
    #[arg(long, env = "BANK_DATA", default_value = "bank-data")]
    data: PathBuf,
    /// Use an Eventfold server instead of the embedded store.
    #[arg(long, env = "EVENTFOLD_SERVER")]
    server: Option<String>,
    /// The address to listen on.
    #[arg(long, env = "BANK_LISTEN", default_value = "127.0.0.1:7200")]
    listen: SocketAddr,
    /// The SQLite file of the balances read model [default: <data>/balances.db].
    #[arg(long)]
    read_model: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BANK_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = BankConfig {
        backend: match args.server {
            Some(url) => Backend::Server(url),
            None => Backend::Embedded(args.data.clone()),
        },
        read_model: args
            .read_model
            .unwrap_or_else(|| args.data.join("balances.db")),
    };
    let bank = Arc::new(Bank::start(&config).await?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    eprintln!(
        "bank listening on http://{} ({})",
        listener.local_addr()?,
        match &config.backend {
            Backend::Embedded(dir) => format!("embedded store in {}", dir.display()),
            Backend::Server(url) => format!("Eventfold server {url}"),
        }
    );
    axum::serve(listener, bank::router(bank.clone()))
        .with_graceful_shutdown(stop_signal())
        .await?;
    if let Ok(bank) = Arc::try_unwrap(bank) {
        bank.close().await;
    }
    eprintln!("bank stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
