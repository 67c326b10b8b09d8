//! What every razors service does with Eventfold: own a bus (only it may publish there),
//! route some of its events to other services' inboxes with rules, consume its own inbox
//! through a consumer group, and rebuild its state from its bus's archive.
//!
//! A service's state changes only by publishing an event on its own bus, and the bus stores
//! the event before it is acknowledged: the state change and the event are one write, so an
//! event is raised if and only if the change happened (seed 003's outbox, by construction).

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};
use tokio::sync::watch;
use uuid::Uuid;

use eventfold_client::api::buses::{BusSettings, Policy, PutEvent, RuleRequest, Target};
use eventfold_client::api::groups::{GroupRequest, NackAction, StartAt, Strategy};
use eventfold_client::Client;
use eventfold_store::{
    Direction, EventStore, ReadStream, RecordedEvent, StoreError, StreamFrom, StreamName,
};

/// One of the company's services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Takes subscriptions; cancels them when their payment is cancelled.
    Subscription,
    /// Allocates 12 razors per subscription; gives them back when its payment is cancelled.
    Stock,
    /// Creates a direct debit per subscription; lets the customer cancel it.
    Payments,
}

impl Service {
    /// The service's name: its bus, its inbox, its source on its bus.
    pub fn name(self) -> &'static str {
        match self {
            Self::Subscription => "subscription",
            Self::Stock => "stock",
            Self::Payments => "payments",
        }
    }

    /// The source the service publishes as (its bus accepts no other).
    pub fn source(self) -> String {
        format!("razors.{}", self.name())
    }

    /// The stream rules deliver this service's incoming events to.
    pub fn inbox(self) -> String {
        format!("razors-{}-inbox", self.name())
    }

    /// The consumer group that reads the inbox.
    pub fn group(self) -> String {
        format!("razors-{}", self.name())
    }

    /// The rules on this service's bus: (rule, event type, services it goes to).
    fn routes(self) -> &'static [(&'static str, &'static str, &'static [Service])] {
        match self {
            Self::Subscription => &[(
                "subscription-created",
                "SubscriptionCreated",
                &[Service::Stock, Service::Payments],
            )],
            Self::Payments => &[(
                "payment-cancelled",
                "PaymentCancelled",
                &[Service::Stock, Service::Subscription],
            )],
            Self::Stock => &[],
        }
    }
}

/// A service's connection to Eventfold.
#[derive(Clone)]
pub struct Platform {
    client: Client,
    service: Service,
}

/// An event as a service sees it.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// The event's id (a redelivery has the same).
    pub id: Uuid,
    /// Its type.
    pub event_type: String,
    /// Its data.
    pub data: Value,
}

impl Platform {
    /// Connects to the server at `url` and declares the service's bus (with its policy), the
    /// rules on it, and its inbox group. Safe to repeat: the declarations are idempotent.
    pub async fn connect(url: &str, service: Service) -> anyhow::Result<Self> {
        let client = Client::new(url)?;
        let bus = service.name();
        client
            .save_bus(
                bus,
                &BusSettings {
                    policy: Policy {
                        sources: Some(vec![service.source()]),
                        types: None,
                    },
                    archive_days: None,
                },
            )
            .await
            .with_context(|| format!("declaring bus {bus} on {url}"))?;
        for (rule, event_type, to) in service.routes() {
            let targets = to
                .iter()
                .map(|s| Ok(Target::Stream(StreamName::new(&s.inbox())?)))
                .collect::<Result<_, StoreError>>()?;
            let definition = RuleRequest {
                pattern: json!({"type": [event_type]}),
                targets,
                enabled: None,
                description: None,
            };
            client.save_rule(bus, rule, &definition).await?;
        }
        let inbox = GroupRequest {
            stream: Some(service.inbox()),
            start: Some(StartAt::Start),
            strategy: Some(Strategy::Pinned),
            retry_backoff_ms: Some(200),
            max_attempts: Some(10),
            ..GroupRequest::default()
        };
        client.save_group(&service.group(), &inbox).await?;
        Ok(Self { client, service })
    }

    /// Every event the service ever published, oldest first (its state's history): the bus's
    /// archive, which holds each event once. Servers before the bus's replays stream put replayed
    /// copies into the archive too, marked as replays: they are not history, and are skipped.
    async fn history(&self) -> anyhow::Result<Vec<Incoming>> {
        let stream = StreamName::new(&format!("$bus:{}:archive", self.service.name()))?;
        let mut events = Vec::new();
        let mut from = StreamFrom::Start;
        loop {
            let request = ReadStream {
                from,
                direction: Direction::Forward,
                limit: 1_000,
                ..Default::default()
            };
            let page = match self.client.read_stream(&stream, request).await {
                Ok(page) => page,
                Err(StoreError::StreamNotFound(_)) => break,
                Err(error) => return Err(error.into()),
            };
            let Some(last) = page.last() else { break };
            from = StreamFrom::Revision(eventfold_store::Revision(last.revision.0 + 1));
            for event in page.iter().filter(|event| !is_replayed_copy(event)) {
                events.push(Incoming {
                    id: event.id,
                    event_type: event.event_type.clone(),
                    data: serde_json::from_slice(&event.data)?,
                });
            }
        }
        Ok(events)
    }

    /// The service's state: `initial`, then each event it ever published applied in order.
    pub async fn rebuild<S>(
        &self,
        initial: S,
        apply: fn(&mut S, &str, &Value),
    ) -> anyhow::Result<S> {
        let mut state = initial;
        for event in self.history().await? {
            apply(&mut state, &event.event_type, &event.data);
        }
        Ok(state)
    }

    /// Publishes an event on the service's own bus. `id` makes a retry harmless: use one
    /// derived from the cause ([`caused_by`]).
    pub async fn publish(&self, id: Uuid, event_type: &str, data: Value) -> anyhow::Result<()> {
        let mut event = PutEvent::new(self.service.source(), event_type, &data);
        event.id = Some(id);
        self.client
            .put_events(self.service.name(), vec![event])
            .await
            .with_context(|| format!("publishing {event_type}"))?;
        Ok(())
    }

    /// Consumes the inbox until `stop`: each event is handled, then acknowledged; a handler
    /// error nacks it (retried with back-off, parked after 10 attempts).
    pub async fn consume<H, F>(&self, handle: H, mut stop: watch::Receiver<bool>)
    where
        H: Fn(Incoming) -> F,
        F: Future<Output = anyhow::Result<()>>,
    {
        let group = self.service.group();
        let consumer = format!("{}-{}", self.service.name(), std::process::id());
        while !*stop.borrow_and_update() {
            let fetched = tokio::select! {
                fetched = self.client.fetch(&group, &consumer, 50, 1_000) => fetched,
                _ = stop.changed() => return,
            };
            let deliveries = match fetched {
                Ok(deliveries) => deliveries,
                Err(error) => {
                    tracing::warn!(%error, "cannot fetch from the inbox; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            for delivery in deliveries {
                let incoming = Incoming {
                    id: delivery.event.id,
                    event_type: delivery.event.event_type.clone(),
                    data: serde_json::from_slice(&delivery.event.data).unwrap_or(Value::Null),
                };
                let ids = [delivery.ack_id];
                let answered = match handle(incoming).await {
                    Ok(()) => self.client.ack(&group, &ids).await.map(drop),
                    Err(error) => {
                        tracing::warn!(%error, "handling an event failed; it will be retried");
                        let reason = format!("{error:#}");
                        self.client
                            .nack(&group, &ids, NackAction::Retry, &reason)
                            .await
                            .map(drop)
                    }
                };
                if let Err(error) = answered {
                    // Unanswered deliveries come back after the ack timeout: nothing is lost.
                    tracing::warn!(%error, "cannot answer a delivery");
                }
            }
        }
    }
}

/// Whether an archived event is a replay's copy (its bus envelope has `replay`), which servers
/// before the bus's replays stream put into the archive.
fn is_replayed_copy(event: &RecordedEvent) -> bool {
    serde_json::from_slice::<Value>(&event.metadata)
        .is_ok_and(|envelope| !envelope["replay"].is_null())
}

/// The id of the event a service publishes because of `cause`: the same on every redelivery.
pub fn caused_by(cause: Uuid, service: Service, event_type: &str) -> Uuid {
    let name = format!("{cause}/{}/{event_type}", service.name());
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}
