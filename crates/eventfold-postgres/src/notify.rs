//! Following the head: `LISTEN` on the schema's channel for other nodes' commits, and a slow poll in case
//! a notification is lost (a dropped connection) — never a busy loop. After a quiet interval the
//! listening connection is pinged; one that does not answer within the interval (half-open: its
//! peer gone without a word) is replaced.

use std::time::Duration;

use deadpool_postgres::Pool;
use futures::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use eventfold_store::Position;

use crate::reads;

/// Why a listening connection was given up.
enum Lost {
    Failed(tokio_postgres::Error),
    /// It did not answer a ping within the poll interval.
    Silent,
}

impl From<tokio_postgres::Error> for Lost {
    fn from(error: tokio_postgres::Error) -> Self {
        Lost::Failed(error)
    }
}

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
            let outcome = loop {
                tokio::select! {
                    note = notifications.recv() => match note {
                        Some(Some(next)) => raise(next),
                        Some(None) => {}
                        None => break Ok(()),
                    },
                    () = tokio::time::sleep(poll_interval) => {
                        if let Ok(client) = pool.get().await {
                            if let Ok(now) = reads::head(&client).await {
                                raise(now);
                            }
                        }
                        // Quiet for a whole interval: make sure the listening connection still
                        // answers. A half-open one (its peer gone without a word) would leave
                        // other nodes' commits to this poll, a second late, without an error.
                        let ping = tokio::time::timeout(poll_interval, client.simple_query("SELECT 1"));
                        match ping.await {
                            Ok(Ok(_)) => {}
                            Ok(Err(error)) => break Err(Lost::Failed(error)),
                            Err(_) => break Err(Lost::Silent),
                        }
                    }
                    _ = stop.changed() => break Ok(()),
                }
            };
            // The connection's driver goes with it, whatever ended the listening.
            driver.abort();
            outcome
        };
        match listening.await {
            Ok(()) if *stop.borrow() || stop.has_changed().is_err() => return,
            Ok(()) => tracing::warn!("the LISTEN connection closed; reconnecting"),
            Err(Lost::Failed(error)) => {
                tracing::warn!(%error, "the LISTEN connection failed; reconnecting")
            }
            Err(Lost::Silent) => {
                tracing::warn!("the LISTEN connection stopped answering; reconnecting")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(poll_interval) => {}
            _ = stop.changed() => return,
        }
    }
}
