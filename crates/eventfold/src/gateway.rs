//! Replay-aware gateways: every call to an external system goes through one.
//!
//! Live, calls go out, and each is journaled in the store (stream `gateway-<name>`), keyed by
//! the event being processed: the answers to *queries*, and the *commands* sent. An event
//! processed again live (a projector restarted before its checkpoint moved) makes no second
//! call: the journal answers the query again, and a command already sent for that event is not
//! sent twice. A crash between a send and its journal entry can still repeat that one send
//! (at-least-once); external systems should accept the event id as an idempotency key.
//!
//! In replay, nothing goes out: queries are answered from the journal (the answer given then,
//! not today's), and commands are collected. After a bug-fix replay, [`Gateway::correction`]
//! compares what the fixed code would have sent with what was sent, so only the difference is
//! sent (and the wrong commands reversed).
//!
//! A gateway holds its journal in memory (read at creation): one entry per call made.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use eventfold_core::{ExpectedRevision, ReadStream, StoreError, StreamFrom, StreamName};
use eventfold_store::EventStore;

use crate::event::{decode, to_new_event, EventMetadata, Upcasters};
use crate::{DomainEvent, SdkError};

/// An external system, as a gateway calls it.
#[async_trait]
pub trait External: Send + Sync + 'static {
    /// Performs a side effect (a payment, an e-mail).
    async fn send(&self, command: &Value) -> Result<(), String>;

    /// Asks a question (an exchange rate, a credit score).
    async fn query(&self, query: &Value) -> Result<Value, String>;
}

/// Whether calls go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayMode {
    /// Calls go out and are journaled.
    Live,
    /// Nothing goes out: queries are answered from the journal, commands are collected.
    Replay,
}

/// What a gateway journals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Journaled {
    QueryAnswered {
        cause: Uuid,
        query: Value,
        answer: Value,
    },
    CommandSent {
        cause: Uuid,
        command: Value,
    },
}

impl DomainEvent for Journaled {}

/// A command sent (live) or that would have been sent (replay), with the id of the event being
/// processed when it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The event that caused it.
    pub cause: Uuid,
    /// The command.
    pub command: Value,
}

/// What a bug-fix replay changes in what was sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Correction {
    /// Commands the fixed code sends that were not sent: send these.
    pub to_send: Vec<Sent>,
    /// Commands that were sent and that the fixed code does not send: reverse these.
    pub sent_wrongly: Vec<Sent>,
}

impl Correction {
    /// True when the replay would send exactly what was sent.
    pub fn is_empty(&self) -> bool {
        self.to_send.is_empty() && self.sent_wrongly.is_empty()
    }
}

/// The journal as read back for a replay.
#[derive(Default)]
struct Journal {
    answers: HashMap<(Uuid, String), Value>,
    sent: Vec<Sent>,
}

/// A gateway to one external system.
pub struct Gateway {
    name: String,
    stream: StreamName,
    mode: GatewayMode,
    store: Arc<dyn EventStore>,
    external: Arc<dyn External>,
    journal: Mutex<Journal>,
    /// Replay: the commands the replayed code sends.
    collected: Mutex<Vec<Sent>>,
}

impl Gateway {
    /// A live gateway named `name` to `external`, journaling into `store` (its journal so far is
    /// read first, so calls already made are not made again).
    pub async fn live(
        name: &str,
        store: Arc<dyn EventStore>,
        external: Arc<dyn External>,
    ) -> Result<Self, SdkError> {
        let stream = journal_stream(name)?;
        let journal = read_journal(&*store, &stream).await?;
        Ok(Self {
            name: name.to_owned(),
            stream,
            mode: GatewayMode::Live,
            store,
            external,
            journal: Mutex::new(journal),
            collected: Mutex::new(Vec::new()),
        })
    }

    /// A replaying gateway named `name`: reads its journal from `store`; `external` is never
    /// called.
    pub async fn replay(
        name: &str,
        store: Arc<dyn EventStore>,
        external: Arc<dyn External>,
    ) -> Result<Self, SdkError> {
        let stream = journal_stream(name)?;
        let journal = read_journal(&*store, &stream).await?;
        Ok(Self {
            name: name.to_owned(),
            stream,
            mode: GatewayMode::Replay,
            store,
            external,
            journal: Mutex::new(journal),
            collected: Mutex::new(Vec::new()),
        })
    }

    /// Whether calls go out.
    pub fn mode(&self) -> GatewayMode {
        self.mode
    }

    fn error(&self, reason: impl Into<String>) -> SdkError {
        SdkError::Gateway {
            gateway: self.name.clone(),
            reason: reason.into(),
        }
    }

    /// Asks `query` while processing the event `cause`. If this event asked it before, the
    /// recorded answer. Otherwise, live: the external system answers and the answer is
    /// journaled; replay: an error (the code asks something it did not ask then).
    pub async fn query(&self, cause: Uuid, query: Value) -> Result<Value, SdkError> {
        let key = (cause, query.to_string());
        if let Some(answer) = self.journal.lock().answers.get(&key) {
            return Ok(answer.clone());
        }
        if self.mode == GatewayMode::Replay {
            return Err(self.error(format!(
                "no recorded answer to {query} for event {cause}: the replayed code asks \
                 something the original did not"
            )));
        }
        let answer = self
            .external
            .query(&query)
            .await
            .map_err(|reason| self.error(format!("query failed: {reason}")))?;
        self.journal(Journaled::QueryAnswered {
            cause,
            query,
            answer: answer.clone(),
        })
        .await?;
        self.journal.lock().answers.insert(key, answer.clone());
        Ok(answer)
    }

    /// Sends `command` while processing the event `cause`. Live: it goes out, then is
    /// journaled — unless this event already sent this command. Replay: it is only collected.
    pub async fn send(&self, cause: Uuid, command: Value) -> Result<(), SdkError> {
        let sent = Sent { cause, command };
        if self.mode == GatewayMode::Replay {
            self.collected.lock().push(sent);
            return Ok(());
        }
        if self.journal.lock().sent.contains(&sent) {
            return Ok(());
        }
        self.external
            .send(&sent.command)
            .await
            .map_err(|reason| self.error(format!("send failed: {reason}")))?;
        self.journal(Journaled::CommandSent {
            cause,
            command: sent.command.clone(),
        })
        .await?;
        self.journal.lock().sent.push(sent);
        Ok(())
    }

    /// In replay, the commands the replayed code sent so far (none live: see the journal).
    pub fn sent(&self) -> Vec<Sent> {
        self.collected.lock().clone()
    }

    /// After a replay of the events `replayed`: what the replayed code would send that was not
    /// sent, and what was sent that it would not (compared per event, as multisets).
    pub fn correction(&self, replayed: &HashSet<Uuid>) -> Correction {
        let journal = self.journal.lock();
        let mut recorded: Vec<&Sent> = journal
            .sent
            .iter()
            .filter(|sent| replayed.contains(&sent.cause))
            .collect();
        let mut correction = Correction::default();
        for sent in self.collected.lock().iter() {
            match recorded.iter().position(|original| *original == sent) {
                Some(index) => {
                    recorded.swap_remove(index);
                }
                None => correction.to_send.push(sent.clone()),
            }
        }
        correction.sent_wrongly = recorded.into_iter().cloned().collect();
        correction
    }

    async fn journal(&self, entry: Journaled) -> Result<(), SdkError> {
        let event = to_new_event(&entry, &EventMetadata::default_for::<Journaled>(), None)?;
        self.store
            .append(&self.stream, ExpectedRevision::Any, vec![event])
            .await?;
        Ok(())
    }
}

fn journal_stream(name: &str) -> Result<StreamName, SdkError> {
    Ok(StreamName::new(&format!("gateway-{name}"))?)
}

async fn read_journal(store: &dyn EventStore, stream: &StreamName) -> Result<Journal, SdkError> {
    let mut journal = Journal::default();
    let mut next = 0;
    let upcasters = Upcasters::new();
    loop {
        let request = ReadStream {
            from: StreamFrom::Revision(eventfold_core::Revision(next)),
            limit: 1000,
            ..ReadStream::default()
        };
        let page = match store.read_stream(stream, request).await {
            Ok(page) => page,
            Err(StoreError::StreamNotFound(_)) => return Ok(journal),
            Err(error) => return Err(error.into()),
        };
        let Some(last) = page.last() else {
            return Ok(journal);
        };
        next = last.revision.0 + 1;
        for recorded in &page {
            match decode::<Journaled>(recorded, &upcasters)?.event {
                Journaled::QueryAnswered {
                    cause,
                    query,
                    answer,
                } => {
                    journal.answers.insert((cause, query.to_string()), answer);
                }
                Journaled::CommandSent { cause, command } => {
                    journal.sent.push(Sent { cause, command })
                }
            }
        }
    }
}
