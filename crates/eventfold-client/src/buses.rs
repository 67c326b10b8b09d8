//! Event buses through the server: define buses and rules, put events, replay the archive.

use reqwest::Method;

use eventfold_api::buses::{
    BusDescribed, BusList, BusSettings, BusView, PutEvent, PutEvents, PutResult, ReplayRequest,
    ReplayView, RuleDescribed, RuleRequest, RuleSaved,
};
use eventfold_api::groups::PageQuery;
use eventfold_api::streams::EventsPage;
use eventfold_store::{RecordedEvent, StoreError};

use crate::Client;

impl Client {
    /// Creates the bus or replaces its settings.
    pub async fn save_bus(&self, bus: &str, settings: &BusSettings) -> Result<BusView, StoreError> {
        self.call(
            self.request(Method::PUT, &["buses", bus]).json(settings),
            None,
        )
        .await
    }

    /// Every bus.
    pub async fn buses(&self) -> Result<Vec<BusView>, StoreError> {
        let list: BusList = self
            .call(self.request(Method::GET, &["buses"]), None)
            .await?;
        Ok(list.buses)
    }

    /// A bus: settings, rules, replays.
    pub async fn describe_bus(&self, bus: &str) -> Result<BusDescribed, StoreError> {
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
        events: Vec<PutEvent>,
    ) -> Result<PutResult, StoreError> {
        let request = self
            .request(Method::POST, &["buses", bus, "events"])
            .json(&PutEvents { events });
        self.call(request, None).await
    }

    /// Creates or replaces a rule.
    pub async fn save_rule(
        &self,
        bus: &str,
        rule: &str,
        definition: &RuleRequest,
    ) -> Result<RuleSaved, StoreError> {
        let request = self
            .request(Method::PUT, &["buses", bus, "rules", rule])
            .json(definition);
        self.call(request, None).await
    }

    /// A rule's settings and progress.
    pub async fn describe_rule(&self, bus: &str, rule: &str) -> Result<RuleDescribed, StoreError> {
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
        let query = PageQuery {
            from: Some(from),
            limit: Some(limit),
        };
        let request = self
            .request(Method::GET, &["buses", bus, "rules", rule, "dead-letters"])
            .query(&query);
        let page: EventsPage = self.call(request, None).await?;
        Ok(page.events.into_owned())
    }

    /// Starts replaying the bus's events recorded in `request.from..request.to`.
    pub async fn replay_bus(
        &self,
        bus: &str,
        request: &ReplayRequest,
    ) -> Result<ReplayView, StoreError> {
        self.call(
            self.request(Method::POST, &["buses", bus, "replays"])
                .json(request),
            None,
        )
        .await
    }

    /// A replay's progress.
    pub async fn replay_status(&self, bus: &str, name: &str) -> Result<ReplayView, StoreError> {
        self.call(
            self.request(Method::GET, &["buses", bus, "replays", name]),
            None,
        )
        .await
    }
}
