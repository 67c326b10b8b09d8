//! Property test: random operations on the embedded store against a simple in-memory model,
//! with reopens (recovery from the log) in between.

use std::collections::HashMap;

use proptest::prelude::*;
use uuid::Uuid;

use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{
    DeleteMode, EventStore, ExpectedRevision, NewEvent, ReadAll, ReadStream, StreamName,
};

#[derive(Clone, Debug)]
enum Expect {
    Any,
    NoStream,
    Exists,
    Current,
    Exact(u64),
}

#[derive(Clone, Debug)]
enum Op {
    Append {
        stream: u8,
        expect: Expect,
        count: u8,
    },
    RetryLast,
    SoftDelete {
        stream: u8,
    },
    HardDelete {
        stream: u8,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let expect = prop_oneof![
        Just(Expect::Any),
        Just(Expect::NoStream),
        Just(Expect::Exists),
        Just(Expect::Current),
        (0u64..6).prop_map(Expect::Exact),
    ];
    prop_oneof![
        8 => (0u8..4, expect, 1u8..4).prop_map(|(stream, expect, count)| Op::Append { stream, expect, count }),
        2 => Just(Op::RetryLast),
        1 => (0u8..4).prop_map(|stream| Op::SoftDelete { stream }),
        1 => (0u8..4).prop_map(|stream| Op::HardDelete { stream }),
        1 => Just(Op::Reopen),
    ]
}

/// The model: what each stream holds.
#[derive(Default, Clone)]
struct ModelStream {
    ids: Vec<Uuid>,
    deleted_before: usize,
    tombstoned: bool,
}

impl ModelStream {
    fn exists(&self) -> bool {
        !self.tombstoned && self.ids.len() > self.deleted_before
    }
}

fn name(stream: u8) -> StreamName {
    StreamName::new(&format!("model-{stream}")).unwrap()
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        // Small segments and a snapshot at every close: reopens exercise both recovery paths.
        let options = Options {
            segment_bytes_max: 2048,
            snapshot_after_events: 0,
            ..Options::default()
        };
        let mut store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
        let mut model: HashMap<u8, ModelStream> = HashMap::new();
        let mut log: Vec<(u8, usize)> = Vec::new();
        let mut last: Option<(
            u8,
            ExpectedRevision,
            Vec<NewEvent>,
            eventfold_store::AppendResult,
        )> = None;
        for op in ops {
            match op {
                Op::Append {
                    stream,
                    expect,
                    count,
                } => {
                    let state = model.entry(stream).or_default();
                    let expected = match expect {
                        Expect::Any => ExpectedRevision::Any,
                        Expect::NoStream => ExpectedRevision::NoStream,
                        Expect::Exists => ExpectedRevision::StreamExists,
                        Expect::Current => state
                            .ids
                            .len()
                            .checked_sub(1)
                            .map_or(ExpectedRevision::NoStream, |r| {
                                ExpectedRevision::Exact(r as u64)
                            }),
                        Expect::Exact(n) => ExpectedRevision::Exact(n),
                    };
                    let events: Vec<NewEvent> =
                        (0..count).map(|i| NewEvent::json("E", &i)).collect();
                    let accepted = match expected {
                        ExpectedRevision::Any => true,
                        ExpectedRevision::NoStream => !state.exists(),
                        ExpectedRevision::StreamExists => state.exists(),
                        ExpectedRevision::Exact(n) => state.ids.len() as u64 == n + 1,
                    };
                    let result = store.append(&name(stream), expected, events.clone()).await;
                    if state.tombstoned {
                        assert_eq!(result.unwrap_err().code(), "stream_deleted");
                    } else if accepted {
                        let result = result.unwrap();
                        assert_eq!(result.first_revision.0, state.ids.len() as u64);
                        assert_eq!(result.first_position.0, log.len() as u64);
                        for event in &events {
                            log.push((stream, state.ids.len()));
                            state.ids.push(event.id);
                        }
                        last = Some((stream, expected, events, result));
                    } else {
                        assert_eq!(result.unwrap_err().code(), "wrong_expected_revision");
                    }
                }
                Op::RetryLast => {
                    if let Some((stream, expected, events, original)) = &last {
                        let result = store
                            .append(&name(*stream), *expected, events.clone())
                            .await;
                        if model[stream].tombstoned {
                            assert_eq!(result.unwrap_err().code(), "stream_deleted");
                        } else {
                            assert_eq!(
                                &result.unwrap(),
                                original,
                                "a retry returns the original result"
                            );
                        }
                    }
                }
                Op::SoftDelete { stream } => {
                    let state = model.entry(stream).or_default();
                    let result = store
                        .delete_stream(&name(stream), ExpectedRevision::Any, DeleteMode::Soft)
                        .await;
                    if state.tombstoned {
                        assert_eq!(result.unwrap_err().code(), "stream_deleted");
                    } else if !state.exists() {
                        assert_eq!(result.unwrap_err().code(), "stream_not_found");
                    } else {
                        result.unwrap();
                        state.deleted_before = state.ids.len();
                    }
                }
                Op::HardDelete { stream } => {
                    let state = model.entry(stream).or_default();
                    let result = store
                        .delete_stream(&name(stream), ExpectedRevision::Any, DeleteMode::Hard)
                        .await;
                    if state.tombstoned {
                        assert_eq!(result.unwrap_err().code(), "stream_deleted");
                    } else {
                        result.unwrap();
                        state.tombstoned = true;
                    }
                }
                Op::Reopen => {
                    store.close().await;
                    drop(store);
                    store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
                }
            }
            check(&store, &model, &log).await;
        }
    });
}

async fn check(store: &EmbeddedStore, model: &HashMap<u8, ModelStream>, log: &[(u8, usize)]) {
    for (stream, state) in model {
        let read = store
            .read_stream(&name(*stream), ReadStream::default())
            .await;
        if state.tombstoned {
            assert_eq!(read.unwrap_err().code(), "stream_deleted");
        } else if !state.exists() {
            assert_eq!(read.unwrap_err().code(), "stream_not_found");
        } else {
            let ids: Vec<Uuid> = read.unwrap().iter().map(|e| e.id).collect();
            assert_eq!(ids, state.ids[state.deleted_before..].to_vec());
        }
    }
    let visible: Vec<Uuid> = log
        .iter()
        .filter(|(stream, revision)| {
            let state = &model[stream];
            !state.tombstoned && *revision >= state.deleted_before
        })
        .map(|(stream, revision)| model[stream].ids[*revision])
        .collect();
    let all = store
        .read_all(ReadAll {
            limit: 10_000,
            ..ReadAll::default()
        })
        .await
        .unwrap();
    assert_eq!(all.events.iter().map(|e| e.id).collect::<Vec<_>>(), visible);
    assert_eq!(store.head_position().await.unwrap().0, log.len() as u64);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn the_store_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops);
    }
}
