//! Consumer groups (persistent subscriptions): named, server-side subscriptions whose
//! consumers compete for events, ack or nack them, and get retries, back-off and a dead-letter
//! (parked) stream. Definitions, checkpoints and dead letters live in the event store (see
//! [`storage`]); each group's live state is one task ([`actor`]).
//!
//! Every change of definition goes through `$groups`, a [`ConfigLog`]: a node appends the
//! change, and every node follows `$groups` and starts, restarts or stops the group's task.

pub mod actor;
pub mod progress;
pub mod routes;
pub mod storage;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};

use eventfold_store::{
    AllFrom, Direction, EventFilter, EventStore, ReadAll, StoreError, StreamName,
};

use crate::config_log::{Apply, ConfigLog, Logged};
use crate::reserved::{Name, Reserved};
use crate::ApiError;
use actor::{Actor, Command};
use eventfold_api::groups::{GroupRequest, GroupSettings, StartAt, GROUPS_MAX};
use storage::GroupChange;

/// How many commands may wait for one group's task.
const COMMANDS_QUEUED_MAX: usize = 1_024;

/// A running group: its settings and the way to its task.
#[derive(Clone)]
pub struct GroupHandle {
    /// The group's name.
    pub name: Name,
    /// Its settings.
    pub settings: GroupSettings,
    /// The revision in `$groups` of the change that created it: a group deleted and created
    /// again under the same name is another incarnation, whose checkpoints are its own.
    incarnation: u64,
    commands: mpsc::Sender<Command>,
    /// Ticks when events become ready to fetch.
    pub ready: watch::Receiver<u64>,
}

impl GroupHandle {
    /// Sends a command and waits for the answer.
    pub async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ApiError> {
        let (reply, answer) = oneshot::channel();
        let gone = || {
            ApiError::unavailable(format!(
                "consumer group {} is starting, restarting or was deleted; try again",
                self.name
            ))
        };
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }
}

/// Every group of this server.
pub struct Groups {
    store: Arc<dyn EventStore>,
    /// The most bytes of events each group reads ahead.
    buffer_bytes_max: usize,
    running: Mutex<BTreeMap<Name, GroupHandle>>,
    log: std::sync::OnceLock<Arc<ConfigLog>>,
}

#[async_trait::async_trait]
impl Apply for Groups {
    type Change = GroupChange;

    async fn load(&self, history: Vec<Logged<GroupChange>>) {
        let mut defined: BTreeMap<Name, (GroupSettings, u64)> = BTreeMap::new();
        for Logged { revision, change } in history {
            match change {
                GroupChange::Saved { name, settings } => {
                    let incarnation = defined.get(&name).map_or(revision, |(_, i)| *i);
                    defined.insert(name, (settings, incarnation));
                }
                GroupChange::Deleted { name } => {
                    defined.remove(&name);
                }
            }
        }
        let mut running = self.running.lock();
        for (name, (settings, incarnation)) in defined {
            let handle = self.spawn(name.clone(), settings, incarnation);
            running.insert(name, handle);
        }
    }

    async fn apply(&self, change: Logged<GroupChange>) {
        self.apply_change(change).await
    }
}

impl Groups {
    /// Starts every group defined in `$groups`, and follows later changes from any node.
    /// Each group reads ahead at most `buffer_bytes_max` bytes of events.
    pub async fn start(
        store: Arc<dyn EventStore>,
        buffer_bytes_max: usize,
    ) -> Result<Arc<Self>, StoreError> {
        let groups = Arc::new(Self {
            store: store.clone(),
            buffer_bytes_max,
            running: Mutex::new(BTreeMap::new()),
            log: std::sync::OnceLock::new(),
        });
        let log = ConfigLog::start(store, Reserved::Groups.stream(), groups.clone()).await?;
        let _ = groups.log.set(log);
        Ok(groups)
    }

    fn log(&self) -> &ConfigLog {
        self.log.get().expect("set at start")
    }

    /// Starts, restarts or stops a group's task.
    async fn apply_change(&self, Logged { revision, change }: Logged<GroupChange>) {
        match change {
            GroupChange::Saved { name, settings } => {
                let running = self
                    .running
                    .lock()
                    .get(&name)
                    .map(|running| (running.settings == settings, running.incarnation));
                if running.is_some_and(|(same, _)| same) {
                    return;
                }
                // New settings for a running group keep its incarnation; otherwise it is new.
                let incarnation = running.map_or(revision, |(_, incarnation)| incarnation);
                self.stop(&name).await;
                let handle = self.spawn(name.clone(), settings, incarnation);
                self.running.lock().insert(name, handle);
            }
            GroupChange::Deleted { name } => self.stop(&name).await,
        }
    }

    /// Starts a group's task (which loads its checkpoint, retrying until the store answers).
    fn spawn(&self, name: Name, settings: GroupSettings, incarnation: u64) -> GroupHandle {
        let (commands, inbox) = mpsc::channel(COMMANDS_QUEUED_MAX);
        let (ready_signal, ready) = watch::channel(0);
        let actor = Actor::new(
            name.clone(),
            settings.clone(),
            incarnation,
            self.store.clone(),
            ready_signal,
            self.buffer_bytes_max,
        );
        tokio::spawn(actor.run(inbox));
        GroupHandle {
            name,
            settings,
            incarnation,
            commands,
            ready,
        }
    }

    async fn stop(&self, name: &str) {
        let running = self.running.lock().remove(name);
        if let Some(handle) = running {
            let _ = handle.ask(|reply| Command::Stop { reply }).await;
        }
    }

    /// Stops following `$groups` and stops every group, saving checkpoints.
    pub async fn shutdown(&self) {
        self.log().stop().await;
        let names: Vec<Name> = self.running.lock().keys().cloned().collect();
        for name in names {
            self.stop(&name).await;
        }
    }

    /// The running group called `name`.
    pub fn get(&self, name: &str) -> Result<GroupHandle, ApiError> {
        self.running
            .lock()
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::group_not_found(name))
    }

    /// Every group, by name.
    pub fn list(&self) -> Vec<GroupHandle> {
        self.running.lock().values().cloned().collect()
    }

    /// Creates the group or replaces its settings; true when it was created.
    pub async fn save(&self, name: &Name, request: &GroupRequest) -> Result<bool, ApiError> {
        request.check_start()?;
        request.settings(0)?; // refuse bad input before touching anything
        let _changing = self.log().lock().await;
        let existing = self.running.lock().get(name).map(|g| g.settings.clone());
        let (settings, created) = match existing {
            Some(existing) => {
                let settings = request.settings(existing.start)?;
                if !settings.same_source(&existing) {
                    return Err(ApiError::conflict(
                        "stream and filter of a group cannot change; delete the group and create it again",
                    ));
                }
                if settings == existing {
                    return Ok(false);
                }
                (settings, false)
            }
            None => {
                if self.running.lock().len() >= GROUPS_MAX {
                    return Err(ApiError::invalid(format!(
                        "this server already has {GROUPS_MAX} consumer groups"
                    )));
                }
                let start = self.resolve_start(request).await?;
                let settings = request.settings(start)?;
                storage::forget(&*self.store, name).await?;
                storage::limit_checkpoints(&*self.store, name).await?;
                (settings, true)
            }
        };
        let change = GroupChange::Saved {
            name: name.clone(),
            settings,
        };
        self.log().record("GroupSaved", &change).await?;
        Ok(created)
    }

    /// Deletes the group, its checkpoints and its parked events.
    pub async fn delete(&self, name: &Name) -> Result<(), ApiError> {
        let _changing = self.log().lock().await;
        self.get(name)?;
        let change = GroupChange::Deleted { name: name.clone() };
        self.log().record("GroupDeleted", &change).await?;
        storage::forget(&*self.store, name).await?;
        Ok(())
    }

    /// The first cursor of a new group.
    async fn resolve_start(&self, request: &GroupRequest) -> Result<u64, ApiError> {
        let start = request.start.clone().unwrap_or(StartAt::End);
        let cursor = match (&request.stream, start) {
            (_, StartAt::Start) => 0,
            (_, StartAt::Position(cursor) | StartAt::Revision(cursor)) => cursor,
            (None, StartAt::End) => self.store.head_position().await?.0,
            (Some(stream), StartAt::End) => {
                let stream = StreamName::new(stream)?;
                crate::streams::next_revision(&*self.store, &stream).await?
            }
            (None, StartAt::Time(time)) => {
                let page = self
                    .store
                    .read_all(ReadAll {
                        from: AllFrom::Time(time),
                        direction: Direction::Forward,
                        limit: 1,
                        filter: EventFilter::default(),
                        ..Default::default()
                    })
                    .await?;
                match page.events.first() {
                    Some(event) => event.position.0,
                    None => self.store.head_position().await?.0,
                }
            }
            (Some(_), StartAt::Time(_)) => unreachable!("refused by check_start"),
        };
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventfold_store::embedded::{EmbeddedStore, Options};

    /// New settings keep a group's incarnation; deleting and creating it again makes a new one,
    /// and a restarted server derives the same from `$groups`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn incarnations_change_only_when_a_group_is_created_again() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn EventStore> =
            Arc::new(EmbeddedStore::open(dir.path(), Options::default()).unwrap());
        let groups = Groups::start(store.clone(), 16 << 20).await.unwrap();
        let g = Name::parse("group", "g").unwrap();
        let incarnation = |groups: &Groups| groups.get("g").unwrap().incarnation;
        let request = GroupRequest::default();
        assert!(groups.save(&g, &request).await.unwrap());
        let first = incarnation(&groups);
        let slower = GroupRequest {
            max_attempts: Some(9),
            ..GroupRequest::default()
        };
        assert!(!groups.save(&g, &slower).await.unwrap());
        assert_eq!(incarnation(&groups), first, "new settings, same group");
        groups.delete(&g).await.unwrap();
        assert!(groups.save(&g, &request).await.unwrap());
        let second = incarnation(&groups);
        assert!(second > first, "{second} after {first}");
        groups.shutdown().await;
        let restarted = Groups::start(store, 16 << 20).await.unwrap();
        assert_eq!(incarnation(&restarted), second);
        restarted.shutdown().await;
    }
}
