//! Following the head: `LISTEN` on the schema's channel for other nodes' commits, and a slow poll in case
//! a notification is lost (a dropped connection) — never a busy loop.

use std::time::Duration;

use deadpool_postgres::Pool;
use futures::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use eventfold_store::Position;

use crate::reads;

/// Raises `head` whenever the database's head moves, until `stop` turns true or is dropped.
pub async fn follow_head(
    config: tokio_postgres::Config,
    pool: Pool,
    head: watch::Sender<Position>,
    poll_interval: Duration,
    channel: String,
    mut stop: watch::Receiver<bool>,
) {
    let raise = |next: u64| {
        head.send_if_modified(|head| {
            let moved = next > head.0;
            head.0 = head.0.max(next);
            moved
        });
    };
    loop {
        // A listening connection of its own: notifications arrive on the connection object.
        let listening = async {
            let (client, mut connection) = config.connect(NoTls).await?;
            let (tell, mut notifications) = tokio::sync::mpsc::unbounded_channel();
            let driver = tokio::spawn(async move {
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(message) = messages.next().await {
                    match message {
                        Ok(AsyncMessage::Notification(note)) => {
                            if tell.send(note.payload().parse::<u64>().ok()).is_err() {
                                break;
                            }
                        }
                        Ok(_) => {}
                        Err(error) => return Err(error),
                    }
                }
                Ok(())
            });
            // The channel is built from a checked schema name; quoted as an identifier.
            client
                .batch_execute(&format!("LISTEN \"{channel}\""))
                .await?;
            // Catch what was committed before the LISTEN took effect.
            if let Ok(client) = pool.get().await {
                if let Ok(now) = reads::head(&client).await {
                    raise(now);
                }
            }
            loop {
                tokio::select! {
                    note = notifications.recv() => match note {
                        Some(Some(next)) => raise(next),
                        Some(None) => {}
                        None => break,
                    },
                    () = tokio::time::sleep(poll_interval) => {
                        if let Ok(client) = pool.get().await {
                            if let Ok(now) = reads::head(&client).await {
                                raise(now);
                            }
                        }
                    }
                    _ = stop.changed() => {
                        driver.abort();
                        return Ok(());
                    }
                }
            }
            driver.abort();
            Ok::<(), tokio_postgres::Error>(())
        };
        match listening.await {
            Ok(()) if *stop.borrow() || stop.has_changed().is_err() => return,
            Ok(()) => tracing::warn!("the LISTEN connection closed; reconnecting"),
            Err(error) => tracing::warn!(%error, "the LISTEN connection failed; reconnecting"),
        }
        tokio::select! {
            () = tokio::time::sleep(poll_interval) => {}
            _ = stop.changed() => return,
        }
    }
}
