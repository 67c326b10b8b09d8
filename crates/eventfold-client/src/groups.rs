//! Consumer groups through the server: define them, then fetch, ack and nack deliveries.
//!
//! ```no_run
//! # async fn example() -> Result<(), eventfold_store::StoreError> {
//! use eventfold_client::{Client, GroupOptions, NackAction};
//!
//! let client = Client::new("http://127.0.0.1:7117")?;
//! let options = GroupOptions { category: Some("order".into()), start: Some(serde_json::json!("start")), ..Default::default() };
//! client.save_group("billing", &options).await?;
//! loop {
//!     let deliveries = client.fetch("billing", "worker-1", 100, 5_000).await?;
//!     let ids: Vec<String> = deliveries.iter().map(|d| d.ack_id.clone()).collect();
//!     // … process each delivery.event …
//!     client.ack("billing", &ids).await?;
//! #   break;
//! }
//! # Ok(()) }
//! ```

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use eventfold_store::{RecordedEvent, StoreError};

use crate::Client;

/// The settings of `PUT /groups/{group}`; `None` takes the server's default.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupOptions {
    /// Follow this stream instead of `$all`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// `$all` only: these event types.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// `$all` only: streams of this category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `$all` only: streams starting with this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `"start"`, `"end"`, `{"position": n}`, `{"revision": n}` or `{"time": "…"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Value>,
    /// `"round_robin"` or `"pinned"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Deliveries before an event is parked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Time to answer a delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_timeout_ms: Option<u64>,
    /// The first retry's delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_backoff_ms: Option<u64>,
    /// The longest retry delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_backoff_max_ms: Option<u64>,
    /// Events read ahead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_size: Option<usize>,
}

impl GroupOptions {
    /// The request body: filter fields gathered under `filter`.
    pub fn to_json(&self) -> Value {
        let mut body = serde_json::to_value(self).expect("options serialise");
        let object = body.as_object_mut().expect("an object");
        let mut filter = serde_json::Map::new();
        for key in ["types", "category", "prefix"] {
            if let Some(value) = object.remove(key) {
                filter.insert(key.to_owned(), value);
            }
        }
        if !filter.is_empty() {
            object.insert("filter".into(), Value::Object(filter));
        }
        body
    }
}

/// One event handed to a consumer.
#[derive(Clone, Debug, Deserialize)]
pub struct Delivery {
    /// What to ack or nack.
    pub ack_id: String,
    /// 1 for the first delivery, then one more per retry.
    pub attempt: u32,
    /// True when it comes back from the parked stream.
    pub replayed: bool,
    /// The event.
    pub event: RecordedEvent,
}

/// What to do with an event that was not processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NackAction {
    /// Deliver again after the back-off.
    Retry,
    /// Move to the parked stream.
    Park,
    /// Drop it.
    Skip,
}

/// The answer to an ack or nack.
#[derive(Clone, Debug, Deserialize)]
pub struct Settled {
    /// How many ids were settled.
    pub settled: usize,
    /// Ids that were not out for delivery.
    pub unknown: Vec<String>,
}

#[derive(Deserialize)]
struct Fetched {
    messages: Vec<Delivery>,
}

impl Client {
    /// Creates the group or updates its settings; the group's JSON as the server stored it.
    pub async fn save_group(
        &self,
        group: &str,
        options: &GroupOptions,
    ) -> Result<Value, StoreError> {
        let request = self
            .request(Method::PUT, &["groups", group])
            .json(&options.to_json());
        self.call(request, None).await
    }

    /// Every group.
    pub async fn groups(&self) -> Result<Value, StoreError> {
        self.call(self.request(Method::GET, &["groups"]), None)
            .await
    }

    /// A group's settings and state (lag, in flight, counters, consumers).
    pub async fn describe_group(&self, group: &str) -> Result<Value, StoreError> {
        self.call(self.request(Method::GET, &["groups", group]), None)
            .await
    }

    /// Deletes a group with its checkpoints and parked events.
    pub async fn delete_group(&self, group: &str) -> Result<(), StoreError> {
        self.no_content(self.request(Method::DELETE, &["groups", group]), None)
            .await
    }

    /// Up to `max` events for `consumer`, waiting up to `wait_ms` for the first.
    pub async fn fetch(
        &self,
        group: &str,
        consumer: &str,
        max: usize,
        wait_ms: u64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let body = json!({"consumer": consumer, "max": max, "wait_ms": wait_ms});
        let request = self
            .request(Method::POST, &["groups", group, "fetch"])
            .json(&body);
        let fetched: Fetched = self.call(request, None).await?;
        Ok(fetched.messages)
    }

    /// The events are processed.
    pub async fn ack(&self, group: &str, ack_ids: &[String]) -> Result<Settled, StoreError> {
        let request = self
            .request(Method::POST, &["groups", group, "ack"])
            .json(&json!({ "ack_ids": ack_ids }));
        self.call(request, None).await
    }

    /// The events were not processed: retry them later, park them, or skip them.
    pub async fn nack(
        &self,
        group: &str,
        ack_ids: &[String],
        action: NackAction,
        reason: &str,
    ) -> Result<Settled, StoreError> {
        let body = json!({ "ack_ids": ack_ids, "action": action, "reason": reason });
        let request = self
            .request(Method::POST, &["groups", group, "nack"])
            .json(&body);
        self.call(request, None).await
    }

    /// The group's parked events (dead letters), oldest first, from revision `from`.
    pub async fn parked(
        &self,
        group: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let query = [("from", from.to_string()), ("limit", limit.to_string())];
        let request = self
            .request(Method::GET, &["groups", group, "parked"])
            .query(&query);
        let page: crate::wire::EventsPage = self.call(request, None).await?;
        Ok(page.events)
    }

    /// Delivers the parked events again; how many.
    pub async fn replay_parked(&self, group: &str) -> Result<u64, StoreError> {
        let request = self.request(Method::POST, &["groups", group, "parked", "replay"]);
        let answer: Value = self.call(request, None).await?;
        Ok(answer["replaying"].as_u64().unwrap_or(0))
    }
}
