//! `razors`: one of seed 003's three services, as its own process.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, ValueEnum};

use razors::Service;

/// Runs one service of the razor-subscription company against an Eventfold server.
#[derive(Parser)]
#[command(name = "razors", version)]
struct Args {
    /// Which service.
    #[arg(value_enum)]
    service: Which,
    /// The Eventfold server.
    #[arg(
        long,
        env = "EVENTFOLD_SERVER",
        default_value = "http://127.0.0.1:7117"
    )]
    server: String,
    /// The address to listen on [default: 7301 subscription, 7302 stock, 7303 payments].
    #[arg(long)]
    listen: Option<SocketAddr>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Which {
    Subscription,
    Stock,
    Payments,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAZORS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let (service, port) = match args.service {
        Which::Subscription => (Service::Subscription, 7301),
        Which::Stock => (Service::Stock, 7302),
        Which::Payments => (Service::Payments, 7303),
    };
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], port)));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    eprintln!(
        "razors {} listening on http://{} (Eventfold server {})",
        service.name(),
        listener.local_addr()?,
        args.server
    );
    razors::run(service, &args.server, listener, stop_signal()).await?;
    eprintln!("razors {} stopped", service.name());
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
