//! Command handling, snapshots, time travel, reversal and upcasting on the embedded store.

mod common;

use std::sync::Arc;

use common::{stream, Ledger, LedgerCommand, LedgerDecider, LedgerError, LedgerEvent};
use eventfold::event::{decode, to_new_event, EventMetadata};
use eventfold::store::testing::embedded_store;
use eventfold::store::{ExpectedRevision, NewEvent, ReadStream};
use eventfold::{
    AsOf, CommandError, CommandHandler, Decider, DomainEvent, MemorySnapshotStore, SnapshotPolicy,
    SnapshotStore, Upcasters,
};

fn handler(store: Arc<dyn eventfold::EventStore>) -> CommandHandler<LedgerDecider> {
    CommandHandler::new(LedgerDecider, store)
}

#[tokio::test]
async fn a_command_appends_its_events_and_a_refused_one_appends_nothing() {
    let test = embedded_store();
    let handler = handler(test.store.clone());
    let s = stream("a");
    let opened = handler
        .handle(&s, &LedgerCommand::Open("ann".into()))
        .await
        .unwrap();
    assert_eq!(opened.revision, Some(0));
    let credited = handler
        .handle(&s, &LedgerCommand::Credit(50))
        .await
        .unwrap();
    assert_eq!(credited.events, vec![LedgerEvent::Credited { amount: 50 }]);
    assert_eq!(credited.state.balance, 50);

    let refused = handler
        .handle(&s, &LedgerCommand::Debit(80))
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        CommandError::Domain(LedgerError::Insufficient {
            balance: 50,
            amount: 80
        })
    ));
    let nothing = handler.handle(&s, &LedgerCommand::Credit(0)).await.unwrap();
    assert!(nothing.append.is_none());
    assert_eq!(test.store.stream_revision(&s).await.unwrap().unwrap().0, 1);

    let loaded = handler.load(&s).await.unwrap();
    assert_eq!((loaded.state.balance, loaded.revision), (50, Some(1)));
    let fresh = handler.load(&stream("none")).await.unwrap();
    assert_eq!((fresh.state, fresh.revision), (Ledger::default(), None));
}

#[tokio::test]
async fn concurrent_commands_retry_on_a_fresh_state_and_never_overdraw() {
    let test = embedded_store();
    let handler = Arc::new(handler(test.store.clone()));
    let s = stream("race");
    handler
        .handle(&s, &LedgerCommand::Open("bob".into()))
        .await
        .unwrap();
    handler
        .handle(&s, &LedgerCommand::Credit(100))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (handler, s) = (handler.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            handler.handle(&s, &LedgerCommand::Debit(30)).await
        }));
    }
    let mut succeeded = 0;
    let mut retried = false;
    for task in tasks {
        match task.await.unwrap() {
            Ok(handled) => {
                succeeded += 1;
                retried |= handled.attempts > 1;
            }
            Err(CommandError::Domain(LedgerError::Insufficient { .. }))
            | Err(CommandError::Conflict { .. }) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert!(succeeded <= 3, "at most three debits of 30 fit in 100");
    let state = handler.load(&s).await.unwrap().state;
    assert_eq!(state.balance, 100 - 30 * succeeded);
    assert!(retried || succeeded == 1, "racing debits must have retried");
}

#[tokio::test]
async fn a_single_attempt_reports_the_conflict() {
    let test = embedded_store();
    let s = stream("conflict");
    let handler = handler(test.store.clone()).with_max_attempts(1);
    handler
        .handle(&s, &LedgerCommand::Open("c".into()))
        .await
        .unwrap();
    // A stale decider: a store whose stream moves between the load and the append.
    let racing = Arc::new(RacingStore {
        inner: test.store.clone(),
    });
    let stale = CommandHandler::new(LedgerDecider, racing).with_max_attempts(2);
    let error = stale
        .handle(&s, &LedgerCommand::Credit(5))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CommandError::Conflict { attempts: 2, .. }),
        "{error}"
    );
}

/// A store on which another writer always appends between a load and an append.
struct RacingStore {
    inner: Arc<dyn eventfold::EventStore>,
}

#[async_trait::async_trait]
impl eventfold::EventStore for RacingStore {
    async fn append(
        &self,
        stream: &eventfold::StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<eventfold::store::AppendResult, eventfold::store::StoreError> {
        let other = to_new_event(
            &LedgerEvent::Credited { amount: 1 },
            &EventMetadata::default_for::<LedgerEvent>(),
            None,
        )
        .unwrap();
        self.inner
            .append(stream, ExpectedRevision::Any, vec![other])
            .await?;
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &eventfold::StreamName,
        request: ReadStream,
    ) -> Result<Vec<eventfold::store::RecordedEvent>, eventfold::store::StoreError> {
        self.inner.read_stream(stream, request).await
    }
    async fn read_all(
        &self,
        request: eventfold::store::ReadAll,
    ) -> Result<eventfold::store::AllSlice, eventfold::store::StoreError> {
        self.inner.read_all(request).await
    }
    async fn subscribe_all(
        &self,
        from: eventfold::store::AllFrom,
        filter: eventfold::store::EventFilter,
    ) -> Result<eventfold::store::Subscription, eventfold::store::StoreError> {
        self.inner.subscribe_all(from, filter).await
    }
    async fn subscribe_stream(
        &self,
        stream: &eventfold::StreamName,
        from: eventfold::store::StreamFrom,
    ) -> Result<eventfold::store::Subscription, eventfold::store::StoreError> {
        self.inner.subscribe_stream(stream, from).await
    }
    async fn stream_revision(
        &self,
        stream: &eventfold::StreamName,
    ) -> Result<Option<eventfold::store::Revision>, eventfold::store::StoreError> {
        self.inner.stream_revision(stream).await
    }
    async fn stream_metadata(
        &self,
        stream: &eventfold::StreamName,
    ) -> Result<eventfold::store::StreamMetadata, eventfold::store::StoreError> {
        self.inner.stream_metadata(stream).await
    }
    async fn set_stream_metadata(
        &self,
        stream: &eventfold::StreamName,
        metadata: eventfold::store::StreamMetadata,
    ) -> Result<(), eventfold::store::StoreError> {
        self.inner.set_stream_metadata(stream, metadata).await
    }
    async fn delete_stream(
        &self,
        stream: &eventfold::StreamName,
        expected: ExpectedRevision,
        mode: eventfold::store::DeleteMode,
    ) -> Result<(), eventfold::store::StoreError> {
        self.inner.delete_stream(stream, expected, mode).await
    }
    async fn head_position(
        &self,
    ) -> Result<eventfold::store::Position, eventfold::store::StoreError> {
        self.inner.head_position().await
    }
}

#[tokio::test]
async fn snapshots_every_ten_events_bound_the_load() {
    let test = embedded_store();
    let snapshots = Arc::new(MemorySnapshotStore::default());
    let handler = handler(test.store.clone())
        .with_snapshots(snapshots.clone(), SnapshotPolicy::EveryEvents(10));
    let s = stream("snap");
    handler
        .handle(&s, &LedgerCommand::Open("d".into()))
        .await
        .unwrap();
    for _ in 0..24 {
        handler.handle(&s, &LedgerCommand::Credit(1)).await.unwrap();
    }
    // 25 events: revisions 0..=24; snapshots at revisions 9 and 19.
    let snapshot = snapshots.load(&s).await.unwrap().unwrap();
    assert_eq!(snapshot.revision, 19);
    let loaded = handler.load(&s).await.unwrap();
    assert_eq!(loaded.snapshot_revision, Some(19));
    assert_eq!(loaded.events_folded, 5);
    assert_eq!(loaded.state.balance, 24);
    let unsnapshotted = CommandHandler::new(LedgerDecider, test.store.clone());
    assert_eq!(unsnapshotted.load(&s).await.unwrap().state, loaded.state);
}

/// The same ledger with a new state schema: older snapshots must not be used.
struct LedgerV2;

impl Decider for LedgerV2 {
    type State = Ledger;
    type Command = LedgerCommand;
    type Event = LedgerEvent;
    type Error = LedgerError;
    const STATE_SCHEMA_VERSION: u32 = 2;
    fn initial_state(&self) -> Ledger {
        LedgerDecider.initial_state()
    }
    fn decide(&self, c: &LedgerCommand, s: &Ledger) -> Result<Vec<LedgerEvent>, LedgerError> {
        LedgerDecider.decide(c, s)
    }
    fn evolve(&self, s: Ledger, e: &LedgerEvent) -> Ledger {
        LedgerDecider.evolve(s, e)
    }
}

#[tokio::test]
async fn a_snapshot_of_an_older_state_schema_is_ignored_and_replaced() {
    let test = embedded_store();
    let snapshots = Arc::new(MemorySnapshotStore::default());
    let s = stream("schema");
    let v1 = handler(test.store.clone())
        .with_snapshots(snapshots.clone(), SnapshotPolicy::EveryEvents(10));
    v1.handle(&s, &LedgerCommand::Open("e".into()))
        .await
        .unwrap();
    for _ in 0..11 {
        v1.handle(&s, &LedgerCommand::Credit(2)).await.unwrap();
    }
    assert_eq!(snapshots.load(&s).await.unwrap().unwrap().schema_version, 1);
    let v2 = CommandHandler::new(LedgerV2, test.store.clone())
        .with_snapshots(snapshots.clone(), SnapshotPolicy::EveryEvents(10));
    let loaded = v2.load(&s).await.unwrap();
    assert_eq!(loaded.snapshot_revision, None);
    assert_eq!(loaded.events_folded, 12);
    assert_eq!(loaded.state.balance, 22);
    let replaced = snapshots.load(&s).await.unwrap().unwrap();
    assert_eq!((replaced.schema_version, replaced.revision), (2, 11));
    assert_eq!(v2.load(&s).await.unwrap().snapshot_revision, Some(11));
}

#[tokio::test]
async fn a_snapshot_past_a_soft_delete_is_dropped() {
    let test = embedded_store();
    let snapshots = Arc::new(MemorySnapshotStore::default());
    let s = stream("deleted");
    let handler = handler(test.store.clone())
        .with_snapshots(snapshots.clone(), SnapshotPolicy::EveryEvents(10));
    handler
        .handle(&s, &LedgerCommand::Open("f".into()))
        .await
        .unwrap();
    for _ in 0..9 {
        handler.handle(&s, &LedgerCommand::Credit(3)).await.unwrap();
    }
    assert!(snapshots.load(&s).await.unwrap().is_some());
    test.store
        .delete_stream(
            &s,
            ExpectedRevision::Any,
            eventfold::store::DeleteMode::Soft,
        )
        .await
        .unwrap();
    let loaded = handler.load(&s).await.unwrap();
    assert_eq!((loaded.state, loaded.revision), (Ledger::default(), None));
    assert!(snapshots.load(&s).await.unwrap().is_none());
}

#[tokio::test]
async fn a_stream_deleted_and_written_again_is_not_loaded_from_its_old_snapshot() {
    let test = embedded_store();
    let snapshots = Arc::new(MemorySnapshotStore::default());
    let s = stream("recreated");
    let handler = handler(test.store.clone())
        .with_snapshots(snapshots.clone(), SnapshotPolicy::EveryEvents(10));
    handler
        .handle(&s, &LedgerCommand::Open("m".into()))
        .await
        .unwrap();
    for _ in 0..9 {
        handler.handle(&s, &LedgerCommand::Credit(5)).await.unwrap();
    }
    assert_eq!(snapshots.load(&s).await.unwrap().unwrap().revision, 9);
    test.store
        .delete_stream(
            &s,
            ExpectedRevision::Any,
            eventfold::store::DeleteMode::Soft,
        )
        .await
        .unwrap();
    // Written again: revisions continue at 10, right after the snapshot's.
    handler
        .handle(&s, &LedgerCommand::Open("n".into()))
        .await
        .unwrap();
    let loaded = handler.load(&s).await.unwrap();
    assert_eq!((loaded.state.balance, loaded.revision), (0, Some(10)));
    let unsnapshotted = CommandHandler::new(LedgerDecider, test.store.clone());
    assert_eq!(unsnapshotted.load(&s).await.unwrap().state, loaded.state);
}

#[tokio::test]
async fn a_snapshot_naming_an_event_the_stream_does_not_have_is_not_used() {
    let test = embedded_store();
    let snapshots = Arc::new(MemorySnapshotStore::default());
    let s = stream("forged");
    let handler = handler(test.store.clone())
        .with_snapshots(snapshots.clone(), SnapshotPolicy::EveryEvents(10));
    handler
        .handle(&s, &LedgerCommand::Open("o".into()))
        .await
        .unwrap();
    handler.handle(&s, &LedgerCommand::Credit(7)).await.unwrap();
    let forged_state = bytes::Bytes::from(
        serde_json::to_vec(&Ledger {
            open: true,
            balance: 1_000,
            movements: 1,
        })
        .unwrap(),
    );
    for (revision, id) in [
        (u64::MAX, uuid::Uuid::new_v4()),
        (1, uuid::Uuid::new_v4()),
        (50, uuid::Uuid::new_v4()),
    ] {
        snapshots
            .save(eventfold::Snapshot {
                stream: s.clone(),
                revision,
                last_event_id: id,
                schema_version: 1,
                recorded_at: chrono::Utc::now(),
                state: forged_state.clone(),
            })
            .await
            .unwrap();
        let loaded = handler.load(&s).await.unwrap();
        assert_eq!(
            (loaded.state.balance, loaded.revision),
            (7, Some(1)),
            "{revision}"
        );
        handler.handle(&s, &LedgerCommand::Credit(0)).await.unwrap();
    }
}

#[tokio::test]
async fn loading_a_100k_event_stream_with_a_snapshot_folds_only_its_tail() {
    let test = embedded_store();
    let snapshots = Arc::new(MemorySnapshotStore::default());
    let s = stream("long");
    let handler = handler(test.store.clone())
        .with_snapshots(snapshots.clone(), SnapshotPolicy::EveryEvents(10));
    handler
        .handle(&s, &LedgerCommand::Open("g".into()))
        .await
        .unwrap();
    let metadata = EventMetadata::default_for::<LedgerEvent>();
    for _ in 0..100 {
        let batch = (0..1000)
            .map(|_| to_new_event(&LedgerEvent::Credited { amount: 1 }, &metadata, None).unwrap())
            .collect();
        test.store
            .append(&s, ExpectedRevision::Any, batch)
            .await
            .unwrap();
    }
    // Written around the handler: the first load folds everything and takes a snapshot.
    let first = handler.load(&s).await.unwrap();
    assert_eq!(first.events_folded, 100_001);
    let handled = handler.handle(&s, &LedgerCommand::Debit(1)).await.unwrap();
    assert_eq!(handled.state.balance, 99_999);
    let loaded = handler.load(&s).await.unwrap();
    assert_eq!(loaded.snapshot_revision, Some(100_000));
    assert_eq!(loaded.events_folded, 1);
    assert_eq!(loaded.revision, Some(100_001));
}

#[tokio::test]
async fn state_as_of_a_revision_a_recorded_time_and_an_occurred_time() {
    let test = embedded_store();
    let snapshots = Arc::new(MemorySnapshotStore::default());
    let s = stream("travel");
    let handler = handler(test.store.clone())
        .with_snapshots(snapshots.clone(), SnapshotPolicy::EveryEvents(3));
    let day = |d: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 1, d)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
    };
    handler
        .handle_at(&s, &LedgerCommand::Open("h".into()), day(1))
        .await
        .unwrap();
    handler
        .handle_at(&s, &LedgerCommand::Credit(10), day(2))
        .await
        .unwrap();
    handler
        .handle_at(&s, &LedgerCommand::Credit(20), day(5))
        .await
        .unwrap();
    let recorded_middle = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // Registered late: it occurred on day 3, between the two credits.
    handler
        .handle_at(&s, &LedgerCommand::Credit(40), day(3))
        .await
        .unwrap();
    handler
        .handle_at(&s, &LedgerCommand::Debit(5), day(6))
        .await
        .unwrap();

    let at = |as_of| handler.load_as_of(&s, as_of);
    assert_eq!(at(AsOf::Revision(1)).await.unwrap().state.balance, 10);
    assert_eq!(at(AsOf::Revision(2)).await.unwrap().state.balance, 30);
    assert_eq!(at(AsOf::Revision(99)).await.unwrap().state.balance, 65);
    assert_eq!(
        at(AsOf::RecordedAt(recorded_middle))
            .await
            .unwrap()
            .state
            .balance,
        30
    );
    let occurred = at(AsOf::OccurredAt(day(4))).await.unwrap();
    assert_eq!(occurred.state.balance, 50, "day 2's 10 and day 3's late 40");
    assert_eq!(at(AsOf::OccurredAt(day(1))).await.unwrap().state.balance, 0);
    let before = at(AsOf::RecordedAt(day(1))).await.unwrap();
    assert_eq!((before.state, before.revision), (Ledger::default(), None));
}

#[tokio::test]
async fn reversal_appends_the_compensating_event_once() {
    let test = embedded_store();
    let handler = handler(test.store.clone());
    let s = stream("reverse");
    handler
        .handle(&s, &LedgerCommand::Open("i".into()))
        .await
        .unwrap();
    handler
        .handle(&s, &LedgerCommand::Credit(70))
        .await
        .unwrap();
    handler.handle(&s, &LedgerCommand::Credit(5)).await.unwrap();
    let reversed = handler.reverse(&s, 1).await.unwrap();
    assert_eq!(reversed.events, vec![LedgerEvent::Debited { amount: 70 }]);
    assert_eq!(reversed.state.balance, 5);

    let events = test
        .store
        .read_stream(&s, ReadStream::default())
        .await
        .unwrap();
    let compensating = decode::<LedgerEvent>(&events[3], &Upcasters::new()).unwrap();
    let reference = compensating
        .metadata
        .reverses
        .expect("it names the original");
    assert_eq!((reference.revision, reference.id), (1, events[1].id));

    let again = handler.reverse(&s, 1).await.unwrap_err();
    assert!(
        matches!(again, CommandError::AlreadyReversed { revision: 1, .. }),
        "{again}"
    );
    let opened = handler.reverse(&s, 0).await.unwrap_err();
    assert!(
        matches!(opened, CommandError::NotReversible { revision: 0, .. }),
        "{opened}"
    );
    let missing = handler.reverse(&s, 99).await.unwrap_err();
    assert!(
        matches!(
            missing,
            CommandError::Sdk(eventfold::SdkError::EventNotFound { .. })
        ),
        "{missing}"
    );
    assert_eq!(handler.load(&s).await.unwrap().state.balance, 5);
}

/// Version 2 of the ledger's events: `Credited` carries cents.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum LedgerEventV2 {
    Opened { owner: String },
    Credited { cents: u64 },
    Withdrawn { cents: u64 },
}

impl DomainEvent for LedgerEventV2 {
    const SCHEMA_VERSION: u32 = 2;
}

#[tokio::test]
async fn upcasters_bring_old_events_to_the_current_schema() {
    let test = embedded_store();
    let s = stream("upcast");
    let old = EventMetadata::default_for::<LedgerEvent>();
    let written = [
        LedgerEvent::Opened { owner: "j".into() },
        LedgerEvent::Credited { amount: 3 },
        LedgerEvent::Debited { amount: 1 },
    ]
    .iter()
    .map(|event| to_new_event(event, &old, None).unwrap())
    .collect();
    test.store
        .append(&s, ExpectedRevision::NoStream, written)
        .await
        .unwrap();
    let upcasters = Upcasters::new()
        .data("Credited", 1, |mut data| {
            let amount = data["amount"]
                .take()
                .as_u64()
                .ok_or("amount is not a number")?;
            Ok(serde_json::json!({ "cents": amount * 100 }))
        })
        .step("Debited", 1, |_, data| {
            let amount = data["amount"].as_u64().ok_or("amount is not a number")?;
            Ok((
                "Withdrawn".into(),
                serde_json::json!({ "cents": amount * 100 }),
            ))
        });
    let events = test
        .store
        .read_stream(&s, ReadStream::default())
        .await
        .unwrap();
    let decoded: Vec<LedgerEventV2> = events
        .iter()
        .map(|event| decode::<LedgerEventV2>(event, &upcasters).unwrap().event)
        .collect();
    assert_eq!(
        decoded,
        vec![
            LedgerEventV2::Opened { owner: "j".into() },
            LedgerEventV2::Credited { cents: 300 },
            LedgerEventV2::Withdrawn { cents: 100 },
        ]
    );
    // Without the upcaster the old shape does not decode, with a clear error.
    let error = decode::<LedgerEventV2>(&events[1], &Upcasters::new()).unwrap_err();
    assert!(error.to_string().contains("Credited"), "{error}");
    // An event from a newer schema than the code is refused, not misread.
    let newer = decode::<LedgerEvent>(
        &{
            let mut event = events[1].clone();
            event.metadata = bytes::Bytes::from_static(br#"{"schema":7}"#);
            event
        },
        &Upcasters::new(),
    )
    .unwrap_err();
    assert!(newer.to_string().contains("newer"), "{newer}");
}
