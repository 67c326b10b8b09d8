//! Consumer groups through the server: define them, then fetch, ack and nack deliveries.
//!
//! ```no_run
//! # async fn example() -> Result<(), eventfold_store::StoreError> {
//! use eventfold_client::api::groups::{GroupFilter, GroupRequest, StartAt};
//! use eventfold_client::Client;
//!
//! let client = Client::new("http://127.0.0.1:7117")?;
//! let filter = GroupFilter { category: Some("order".into()), ..Default::default() };
//! let request = GroupRequest { filter: Some(filter), start: Some(StartAt::Start), ..Default::default() };
//! client.save_group("billing", &request).await?;
//! loop {
//!     let deliveries = client.fetch("billing", "worker-1", 100, 5_000).await?;
//!     let ids: Vec<_> = deliveries.iter().map(|d| d.ack_id).collect();
//!     // … process each delivery.event …
//!     client.ack("billing", &ids).await?;
//! #   break;
//! }
//! # Ok(()) }
//! ```

use reqwest::Method;

use eventfold_api::groups::{
    AckId, AckRequest, Delivery, FetchRequest, Fetched, GroupDescribed, GroupList, GroupRequest,
    GroupView, NackAction, NackRequest, PageQuery, Replaying, Settled,
};
use eventfold_api::streams::EventsPage;
use eventfold_store::{RecordedEvent, StoreError};

use crate::Client;

impl Client {
    /// Creates the group or updates its settings; the group as the server stored it.
    pub async fn save_group(
        &self,
        group: &str,
        request: &GroupRequest,
    ) -> Result<GroupView, StoreError> {
        let http = self.request(Method::PUT, &["groups", group]).json(request);
        self.call(http, None).await
    }

    /// Every group.
    pub async fn groups(&self) -> Result<Vec<GroupView>, StoreError> {
        let list: GroupList = self
            .call(self.request(Method::GET, &["groups"]), None)
            .await?;
        Ok(list.groups)
    }

    /// A group's settings and state (lag, in flight, counters, consumers).
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescribed, StoreError> {
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
        let body = FetchRequest {
            consumer: Some(consumer.to_owned()),
            max: Some(max),
            wait_ms: Some(wait_ms),
        };
        let request = self
            .request(Method::POST, &["groups", group, "fetch"])
            .json(&body);
        let fetched: Fetched = self.call(request, None).await?;
        Ok(fetched.messages)
    }

    /// The events are processed.
    pub async fn ack(&self, group: &str, ack_ids: &[AckId]) -> Result<Settled, StoreError> {
        let body = AckRequest {
            ack_ids: ack_ids.iter().map(AckId::to_string).collect(),
        };
        let request = self
            .request(Method::POST, &["groups", group, "ack"])
            .json(&body);
        self.call(request, None).await
    }

    /// The events were not processed: retry them later, park them, or skip them.
    pub async fn nack(
        &self,
        group: &str,
        ack_ids: &[AckId],
        action: NackAction,
        reason: &str,
    ) -> Result<Settled, StoreError> {
        let body = NackRequest {
            ack_ids: ack_ids.iter().map(AckId::to_string).collect(),
            action: Some(action),
            reason: Some(reason.to_owned()),
        };
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
        let query = PageQuery {
            from: Some(from),
            limit: Some(limit),
        };
        let request = self
            .request(Method::GET, &["groups", group, "parked"])
            .query(&query);
        let page: EventsPage = self.call(request, None).await?;
        Ok(page.events.into_owned())
    }

    /// Delivers the parked events again; how many.
    pub async fn replay_parked(&self, group: &str) -> Result<u64, StoreError> {
        let request = self.request(Method::POST, &["groups", group, "parked", "replay"]);
        let answer: Replaying = self.call(request, None).await?;
        Ok(answer.replaying)
    }
}
