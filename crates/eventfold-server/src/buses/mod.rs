//! Event buses: named entry points for events from many sources, with policies (who may put
//! what), rules (an event pattern and targets: another bus, a stream, a consumer group's
//! stream, a webhook), an archive (the bus's own stream) and replays of it.
//!
//! An event put on a bus is stored in its archive, `$bus:<name>:archive`, before it is
//! acknowledged; a replay puts copies back in `$bus:<name>:replays`, so the archive holds each
//! event once. Rules read both (see [`rule`]), so what leaves a bus always comes from
//! committed history; a replayed event a rule sends to another bus goes to that bus's replays
//! stream, so no archive down a chain of buses holds a replay's copies.
//! Definitions live in `$buses`, a [`ConfigLog`] every node follows.

pub mod cursors;
pub mod events;
pub mod replay;
pub mod routes;
pub mod rule;
pub mod settings;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use eventfold_pattern::Pattern;
use eventfold_store::{EventStore, StoreError, StreamName};

use crate::config_log::{Apply, ConfigLog, Logged};
use crate::groups::Groups;
use crate::reserved::{Name, Reserved};
use crate::ApiError;
use cursors::{Cursors, Source};
use eventfold_api::buses::{
    BusSettings, RuleRequest, RuleSettings, RuleView, Target, BUSES_MAX, RULES_MAX,
};
use rule::{RuleStats, RuleTask};

/// An event of `$buses`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BusChange {
    /// A bus was created or its settings replaced.
    BusSaved { bus: Name, settings: BusSettings },
    /// A bus and its rules were deleted (its archive stays).
    BusDeleted { bus: Name },
    /// A rule was created or replaced.
    RuleSaved {
        bus: Name,
        rule: Name,
        settings: RuleSettings,
    },
    /// A rule was deleted.
    RuleDeleted { bus: Name, rule: Name },
}

/// What rules resolve their targets against: the buses' settings and the consumer groups.
pub struct Directory {
    buses: Mutex<BTreeMap<Name, BusSettings>>,
    /// How many bus targets the enabled rules of each bus have (for fan-out budgets).
    bus_targets: Mutex<BTreeMap<Name, u32>>,
    groups: Arc<Groups>,
}

impl Directory {
    /// The settings of bus `name`, if it exists.
    pub fn bus(&self, name: &str) -> Option<BusSettings> {
        self.buses.lock().get(name).cloned()
    }

    /// How many bus targets the enabled rules of `bus` have, all together.
    pub fn bus_targets(&self, bus: &str) -> u32 {
        self.bus_targets.lock().get(bus).copied().unwrap_or(0)
    }

    fn count_bus_targets(&self, bus: &Name, settings: &RuleSettings, added: bool) {
        let count = if settings.enabled {
            settings
                .targets
                .iter()
                .filter(|target| matches!(target, Target::Bus(_)))
                .count() as u32
        } else {
            0
        };
        let mut counts = self.bus_targets.lock();
        let total = counts.entry(bus.clone()).or_default();
        *total = if added {
            *total + count
        } else {
            total.saturating_sub(count)
        };
    }

    /// The stream consumer group `name` follows; a reason when there is none.
    pub fn group_stream(&self, name: &str) -> Result<StreamName, String> {
        let group = self
            .groups
            .get(name)
            .map_err(|_| "no such consumer group".to_owned())?;
        group.settings.stream.clone().ok_or_else(|| {
            "the group follows $all, not a stream (a prefix filter `$bus:<name>:archive` gives it a bus's events)".to_owned()
        })
    }
}

/// A running rule.
struct RuleHandle {
    settings: RuleSettings,
    /// The revision in `$buses` of the change that created the rule (see `checkpoints`).
    incarnation: u64,
    stats: Arc<RuleStats>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Every bus and rule of this server.
pub struct Buses {
    store: Arc<dyn EventStore>,
    directory: Arc<Directory>,
    rules: Mutex<BTreeMap<(Name, Name), RuleHandle>>,
    http: reqwest::Client,
    log: std::sync::OnceLock<Arc<ConfigLog>>,
    replays: replay::Replays,
}

#[async_trait::async_trait]
impl Apply for Buses {
    type Change = BusChange;

    async fn load(&self, history: Vec<Logged<BusChange>>) {
        let mut buses = BTreeMap::new();
        let mut rules: BTreeMap<(Name, Name), (RuleSettings, u64)> = BTreeMap::new();
        for Logged { revision, change } in history {
            match change {
                BusChange::BusSaved { bus, settings } => {
                    buses.insert(bus, settings);
                }
                BusChange::BusDeleted { bus } => {
                    buses.remove(&bus);
                    rules.retain(|(b, _), _| *b != bus);
                }
                BusChange::RuleSaved {
                    bus,
                    rule,
                    settings,
                } => {
                    let key = (bus, rule);
                    let incarnation = rules.get(&key).map_or(revision, |(_, i)| *i);
                    rules.insert(key, (settings, incarnation));
                }
                BusChange::RuleDeleted { bus, rule } => {
                    rules.remove(&(bus, rule));
                }
            }
        }
        *self.directory.buses.lock() = buses;
        for ((bus, rule), (settings, incarnation)) in rules {
            self.start_rule_checked(bus, rule, settings, incarnation);
        }
    }

    async fn apply(&self, Logged { revision, change }: Logged<BusChange>) {
        match change {
            BusChange::BusSaved { bus, settings } => {
                self.directory.buses.lock().insert(bus, settings);
            }
            BusChange::BusDeleted { bus } => {
                let names: Vec<(Name, Name)> = self
                    .rules
                    .lock()
                    .keys()
                    .filter(|(b, _)| *b == bus)
                    .cloned()
                    .collect();
                for (bus, rule) in names {
                    self.stop_rule(&bus, &rule).await;
                }
                self.replays.stop_bus(&bus).await;
                self.directory.buses.lock().remove(&bus);
            }
            BusChange::RuleSaved {
                bus,
                rule,
                settings,
            } => {
                // New settings for a running rule keep its incarnation; otherwise it is new.
                let incarnation = self
                    .rules
                    .lock()
                    .get(&(bus.clone(), rule.clone()))
                    .map_or(revision, |running| running.incarnation);
                self.stop_rule(&bus, &rule).await;
                self.start_rule_checked(bus, rule, settings, incarnation);
            }
            BusChange::RuleDeleted { bus, rule } => self.stop_rule(&bus, &rule).await,
        }
    }
}

impl Buses {
    /// Starts every bus and rule defined in `$buses`, and follows later changes.
    pub async fn start(
        store: Arc<dyn EventStore>,
        groups: Arc<Groups>,
    ) -> Result<Arc<Self>, StoreError> {
        let buses = Arc::new(Self {
            store: store.clone(),
            directory: Arc::new(Directory {
                buses: Mutex::new(BTreeMap::new()),
                bus_targets: Mutex::new(BTreeMap::new()),
                groups,
            }),
            rules: Mutex::new(BTreeMap::new()),
            // A redirect is an answer like any other 3xx: final, not followed.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|error| StoreError::Backend(format!("HTTP client: {error}")))?,
            log: std::sync::OnceLock::new(),
            replays: replay::Replays::default(),
        });
        let log = ConfigLog::start(store, Reserved::Buses.stream(), buses.clone()).await?;
        let _ = buses.log.set(log);
        Ok(buses)
    }

    fn log(&self) -> &ConfigLog {
        self.log.get().expect("set at start")
    }

    /// Starts a stored rule, unless its pattern no longer parses (said loudly).
    fn start_rule_checked(&self, bus: Name, rule: Name, settings: RuleSettings, incarnation: u64) {
        match Pattern::parse(&settings.pattern) {
            Ok(pattern) => self.start_rule(bus, rule, settings, pattern, incarnation),
            Err(error) => {
                tracing::error!(%bus, %rule, %error, "a stored rule's pattern does not parse; the rule is not started")
            }
        }
    }

    fn start_rule(
        &self,
        bus: Name,
        rule: Name,
        settings: RuleSettings,
        pattern: Pattern,
        incarnation: u64,
    ) {
        self.directory.count_bus_targets(&bus, &settings, true);
        let stats = Arc::new(RuleStats::default());
        let (stop, stopped) = watch::channel(false);
        let task = RuleTask {
            bus: bus.clone(),
            rule: rule.clone(),
            settings: settings.clone(),
            incarnation,
            pattern,
            store: self.store.clone(),
            directory: self.directory.clone(),
            http: self.http.clone(),
            stats: stats.clone(),
            aged: Default::default(),
        };
        let task = tokio::spawn(task.run(stopped));
        let handle = RuleHandle {
            settings,
            incarnation,
            stats,
            stop,
            task,
        };
        self.rules.lock().insert((bus, rule), handle);
    }

    async fn stop_rule(&self, bus: &Name, rule: &Name) {
        let handle = self.rules.lock().remove(&(bus.clone(), rule.clone()));
        if let Some(handle) = handle {
            self.directory
                .count_bus_targets(bus, &handle.settings, false);
            let _ = handle.stop.send(true);
            let _ = handle.task.await;
        }
    }

    /// Stops following `$buses`, every rule (saving checkpoints) and every replay.
    pub async fn shutdown(&self) {
        self.log().stop().await;
        self.replays.stop_all().await;
        let keys: Vec<(Name, Name)> = self.rules.lock().keys().cloned().collect();
        for (bus, rule) in keys {
            self.stop_rule(&bus, &rule).await;
        }
    }

    /// The settings of bus `name`.
    pub fn bus(&self, name: &str) -> Result<BusSettings, ApiError> {
        self.directory
            .bus(name)
            .ok_or_else(|| ApiError::bus_not_found(name))
    }

    /// Every bus, by name.
    pub fn list(&self) -> Vec<(Name, BusSettings)> {
        let buses = self.directory.buses.lock();
        buses.iter().map(|(n, s)| (n.clone(), s.clone())).collect()
    }

    /// The rules of `bus`, by name.
    pub fn rules_of(&self, bus: &Name) -> Vec<RuleView> {
        let rules = self.rules.lock();
        rules
            .iter()
            .filter(|((b, _), _)| b == bus)
            .map(|((_, name), handle)| RuleView {
                name: name.clone(),
                settings: handle.settings.clone(),
            })
            .collect()
    }

    /// Every rule's counters, by (bus, rule).
    pub fn stats(&self) -> Vec<((Name, Name), Arc<RuleStats>)> {
        let rules = self.rules.lock();
        rules
            .iter()
            .map(|(key, handle)| (key.clone(), handle.stats.clone()))
            .collect()
    }

    /// A rule's settings and counters.
    pub fn rule(
        &self,
        bus: &Name,
        rule: &Name,
    ) -> Result<(RuleSettings, Arc<RuleStats>), ApiError> {
        self.bus(bus)?;
        let rules = self.rules.lock();
        let handle = rules
            .get(&(bus.clone(), rule.clone()))
            .ok_or_else(|| ApiError::rule_not_found(bus, rule))?;
        Ok((handle.settings.clone(), handle.stats.clone()))
    }

    /// Creates the bus or replaces its settings; true when created.
    pub async fn save(&self, bus: &Name, settings: BusSettings) -> Result<bool, ApiError> {
        settings.validate()?;
        let _changing = self.log().lock().await;
        let existing = self.directory.bus(bus);
        if existing.as_ref() == Some(&settings) {
            return Ok(false);
        }
        if existing.is_none() && self.directory.buses.lock().len() >= BUSES_MAX {
            return Err(ApiError::invalid(format!(
                "this server already has {BUSES_MAX} buses"
            )));
        }
        // Replayed copies age out as the archive's events do.
        for source in Source::BOTH {
            let stream = source.stream(bus);
            let mut metadata = self.store.stream_metadata(&stream).await?;
            metadata.max_age_secs = settings.archive_days.map(|days| days * 86_400);
            self.store.set_stream_metadata(&stream, metadata).await?;
        }
        let change = BusChange::BusSaved {
            bus: bus.clone(),
            settings,
        };
        self.log().record("BusSaved", &change).await?;
        Ok(existing.is_none())
    }

    /// Deletes the bus and its rules; its archived events stay in `$bus:<name>:archive`.
    pub async fn delete(&self, bus: &Name) -> Result<(), ApiError> {
        let _changing = self.log().lock().await;
        self.bus(bus)?;
        let change = BusChange::BusDeleted { bus: bus.clone() };
        self.log().record("BusDeleted", &change).await
    }

    /// Creates the rule or replaces it; true when created. A new rule considers the events
    /// put on the bus from now on.
    pub async fn save_rule(
        &self,
        bus: &Name,
        rule: &Name,
        request: RuleRequest,
    ) -> Result<bool, ApiError> {
        let _changing = self.log().lock().await;
        self.bus(bus)?;
        let existing = self
            .rules
            .lock()
            .get(&(bus.clone(), rule.clone()))
            .map(|handle| Cursors {
                archive: handle.settings.start,
                replays: handle.settings.replays_start,
            });
        let start = match existing {
            Some(start) => start,
            None => {
                if self.rules_of(bus).len() >= RULES_MAX {
                    return Err(ApiError::invalid(format!(
                        "bus {bus} already has {RULES_MAX} rules"
                    )));
                }
                Cursors::end_of(&*self.store, bus).await?
            }
        };
        let (settings, _) = settings::check_rule(request, start)?;
        if existing.is_none() {
            forget_checkpoint(&*self.store, bus, rule).await?;
        }
        let change = BusChange::RuleSaved {
            bus: bus.clone(),
            rule: rule.clone(),
            settings,
        };
        self.log().record("RuleSaved", &change).await?;
        Ok(existing.is_none())
    }

    /// Deletes the rule (its dead letters stay).
    pub async fn delete_rule(&self, bus: &Name, rule: &Name) -> Result<(), ApiError> {
        let _changing = self.log().lock().await;
        self.rule(bus, rule)?;
        let change = BusChange::RuleDeleted {
            bus: bus.clone(),
            rule: rule.clone(),
        };
        self.log().record("RuleDeleted", &change).await?;
        forget_checkpoint(&*self.store, bus, rule).await?;
        Ok(())
    }
}

async fn forget_checkpoint(
    store: &dyn EventStore,
    bus: &Name,
    rule: &Name,
) -> Result<(), StoreError> {
    let checkpoints = Reserved::RuleCheckpoint(bus, rule).stream();
    crate::config_log::forget_streams(store, &[checkpoints]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventfold_api::buses::Target;
    use eventfold_store::embedded::{EmbeddedStore, Options};

    fn name(text: &str) -> Name {
        Name::parse("test", text).unwrap()
    }

    fn rule_request(description: &str) -> RuleRequest {
        RuleRequest {
            pattern: serde_json::json!({"type": ["Paid"]}),
            targets: vec![Target::Stream(StreamName::new("paid-1").unwrap())],
            enabled: None,
            description: Some(description.into()),
        }
    }

    /// New settings keep a rule's incarnation; deleting and creating it again makes a new one,
    /// and a restarted server derives the same from `$buses`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rule_incarnations_change_only_when_a_rule_is_created_again() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn EventStore> =
            Arc::new(EmbeddedStore::open(dir.path(), Options::default()).unwrap());
        let start = |store: &Arc<dyn EventStore>| {
            let store = store.clone();
            async move {
                let groups = Groups::start(store.clone(), 16 << 20).await.unwrap();
                (Buses::start(store, groups.clone()).await.unwrap(), groups)
            }
        };
        let incarnation =
            |buses: &Buses| buses.rules.lock()[&(name("orders"), name("paid"))].incarnation;
        let (buses, groups) = start(&store).await;
        buses
            .save(&name("orders"), BusSettings::default())
            .await
            .unwrap();
        assert!(buses
            .save_rule(&name("orders"), &name("paid"), rule_request("a"))
            .await
            .unwrap());
        let first = incarnation(&buses);
        assert!(!buses
            .save_rule(&name("orders"), &name("paid"), rule_request("b"))
            .await
            .unwrap());
        assert_eq!(incarnation(&buses), first, "new settings, same rule");
        buses
            .delete_rule(&name("orders"), &name("paid"))
            .await
            .unwrap();
        assert!(buses
            .save_rule(&name("orders"), &name("paid"), rule_request("a"))
            .await
            .unwrap());
        let second = incarnation(&buses);
        assert!(second > first, "{second} after {first}");
        buses.shutdown().await;
        groups.shutdown().await;
        let (buses, groups) = start(&store).await;
        assert_eq!(incarnation(&buses), second);
        buses.shutdown().await;
        groups.shutdown().await;
    }
}
