//! Event buses through the server: define buses and rules, put events, replay the archive.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use eventfold_store::{Position, RecordedEvent, StoreError, Timestamp};

use crate::Client;

/// An event to put on a bus.
#[derive(Clone, Debug, Serialize)]
pub struct BusEvent {
    /// Its id, for idempotent retries (the server draws one when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<uuid::Uuid>,
    /// Who sends it.
    pub source: String,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its data.
    pub data: Value,
    /// The sender's metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl BusEvent {
    /// An event of `event_type` from `source`.
    pub fn new(source: impl Into<String>, event_type: impl Into<String>, data: Value) -> Self {
        Self {
            id: None,
            source: source.into(),
            event_type: event_type.into(),
            data,
            metadata: None,
        }
    }
}

/// What a put stored.
#[derive(Clone, Debug, Deserialize)]
pub struct PutResult {
    /// The events' ids, in order.
    pub ids: Vec<uuid::Uuid>,
    /// The first event's position in `$all`.
    pub first_position: Position,
    /// The last event's position.
    pub last_position: Position,
}

impl Client {
    /// Creates the bus or replaces its settings (`{"policy": …, "archive_days": …}`).
    pub async fn save_bus(&self, bus: &str, settings: &Value) -> Result<Value, StoreError> {
        self.call(
            self.request(Method::PUT, &["buses", bus]).json(settings),
            None,
        )
        .await
    }

    /// Every bus.
    pub async fn buses(&self) -> Result<Value, StoreError> {
        self.call(self.request(Method::GET, &["buses"]), None).await
    }

    /// A bus: settings, rules, replays.
    pub async fn describe_bus(&self, bus: &str) -> Result<Value, StoreError> {
        self.call(self.request(Method::GET, &["buses", bus]), None)
            .await
    }

    /// Deletes a bus and its rules (its archive stays).
    pub async fn delete_bus(&self, bus: &str) -> Result<(), StoreError> {
        self.no_content(self.request(Method::DELETE, &["buses", bus]), None)
            .await
    }

    /// Puts events on a bus: stored durably (atomically) when this returns.
    pub async fn put_events(
        &self,
        bus: &str,
        events: &[BusEvent],
    ) -> Result<PutResult, StoreError> {
        let request = self
            .request(Method::POST, &["buses", bus, "events"])
            .json(&json!({ "events": events }));
        self.call(request, None).await
    }

    /// Creates or replaces a rule (`{"pattern": …, "targets": […]}`).
    pub async fn save_rule(
        &self,
        bus: &str,
        rule: &str,
        definition: &Value,
    ) -> Result<Value, StoreError> {
        let request = self
            .request(Method::PUT, &["buses", bus, "rules", rule])
            .json(definition);
        self.call(request, None).await
    }

    /// A rule's settings and progress.
    pub async fn describe_rule(&self, bus: &str, rule: &str) -> Result<Value, StoreError> {
        self.call(
            self.request(Method::GET, &["buses", bus, "rules", rule]),
            None,
        )
        .await
    }

    /// Deletes a rule.
    pub async fn delete_rule(&self, bus: &str, rule: &str) -> Result<(), StoreError> {
        self.no_content(
            self.request(Method::DELETE, &["buses", bus, "rules", rule]),
            None,
        )
        .await
    }

    /// What a rule could not deliver, oldest first.
    pub async fn dead_letters(
        &self,
        bus: &str,
        rule: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let query = [("from", from.to_string()), ("limit", limit.to_string())];
        let request = self
            .request(Method::GET, &["buses", bus, "rules", rule, "dead-letters"])
            .query(&query);
        let page: crate::wire::EventsPage = self.call(request, None).await?;
        Ok(page.events)
    }

    /// Starts replaying the bus's events recorded in `from..to` (to now when `None`).
    pub async fn replay_bus(
        &self,
        bus: &str,
        name: &str,
        from: Timestamp,
        to: Option<Timestamp>,
    ) -> Result<Value, StoreError> {
        let body = json!({ "name": name, "from": from, "to": to });
        let body = match to {
            Some(_) => body,
            None => json!({ "name": name, "from": from }),
        };
        self.call(
            self.request(Method::POST, &["buses", bus, "replays"])
                .json(&body),
            None,
        )
        .await
    }

    /// A replay's progress.
    pub async fn replay_status(&self, bus: &str, name: &str) -> Result<Value, StoreError> {
        self.call(
            self.request(Method::GET, &["buses", bus, "replays", name]),
            None,
        )
        .await
    }
}
