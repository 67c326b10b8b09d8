//! The crash test: a child process appends under load and is killed with SIGKILL at random
//! moments. After each reopen, every acknowledged event is present and intact, and every
//! append is all there or not there at all.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use uuid::Uuid;

use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{AllFrom, EventStore, ExpectedRevision, NewEvent, ReadAll, StreamName};

const CHILD_DIR_VAR: &str = "EVENTFOLD_CRASH_CHILD_DIR";
const KILLS: usize = 25;

/// The child: appends batches from 16 tasks until it is killed, printing one line per
/// acknowledged append: `ack <stream> <first_revision> <first_position> <id>…`.
#[test]
#[ignore = "run by crash_and_recover as a child process"]
fn crash_child_appender() {
    let Ok(dir) = std::env::var(CHILD_DIR_VAR) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = EmbeddedStore::open(&dir, Options { segment_bytes_max: 256 << 10, ..Options::default() }).unwrap();
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
        let tasks: Vec<_> = (0..16)
            .map(|task| {
                let store = store.clone();
                let stdout = stdout.clone();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    loop {
                        let stream = StreamName::new(&format!("crash-{}", (task * 7 + n) % 20)).unwrap();
                        let size = 1 + (n % 5) as usize;
                        let batch = Uuid::new_v4();
                        let events: Vec<NewEvent> = (0..size)
                            .map(|i| {
                                NewEvent::json("Tick", &serde_json::json!({ "task": task, "n": n, "pad": "x".repeat(100 * i) }))
                                    .with_metadata(&serde_json::json!({ "batch": batch.to_string(), "size": size }))
                            })
                            .collect();
                        let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
                        let result = store.append(&stream, ExpectedRevision::Any, events).await.unwrap();
                        let mut out = stdout.lock().unwrap();
                        writeln!(out, "ack {stream} {} {} {}", result.first_revision, result.first_position, ids.join(" ")).unwrap();
                        out.flush().unwrap();
                        n += 1;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

struct Ack {
    stream: String,
    first_revision: u64,
    first_position: u64,
    ids: Vec<Uuid>,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut words = line.strip_prefix("ack ")?.split(' ');
    Some(Ack {
        stream: words.next()?.to_owned(),
        first_revision: words.next()?.parse().ok()?,
        first_position: words.next()?.parse().ok()?,
        ids: words.map(|id| id.parse().unwrap()).collect(),
    })
}

#[test]
fn crash_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<Ack> = Vec::new();
    let mut rng = rand::thread_rng();
    for round in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child_appender",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| parse_ack(&l))
                .collect::<Vec<_>>()
        });
        let lifetime = Duration::from_millis(rng.gen_range(150..600));
        let started = Instant::now();
        while started.elapsed() < lifetime {
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let new_acks = reader.join().unwrap();
        assert!(
            !new_acks.is_empty() || round > 0,
            "the child acknowledged appends before being killed"
        );
        acked.extend(new_acks);
        check_everything_acknowledged_is_there(dir.path(), &acked, round);
    }
    assert!(
        acked.len() > KILLS,
        "{} appends acknowledged across {KILLS} kills",
        acked.len()
    );
}

fn check_everything_acknowledged_is_there(dir: &std::path::Path, acked: &[Ack], round: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = EmbeddedStore::open(
            dir,
            Options {
                segment_bytes_max: 256 << 10,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let mut all = Vec::new();
        let mut from = AllFrom::Start;
        loop {
            let slice = store
                .read_all(ReadAll {
                    from,
                    limit: 10_000,
                    ..ReadAll::default()
                })
                .await
                .unwrap();
            all.extend(slice.events);
            if slice.end_of_log {
                break;
            }
            from = AllFrom::Position(slice.next);
        }
        let by_id: HashMap<Uuid, &eventfold_store::RecordedEvent> =
            all.iter().map(|e| (e.id, e)).collect();
        for ack in acked {
            for (i, id) in ack.ids.iter().enumerate() {
                let event = by_id
                    .get(id)
                    .unwrap_or_else(|| panic!("round {round}: acknowledged event {id} lost"));
                assert_eq!(event.stream.as_str(), ack.stream);
                assert_eq!(event.revision.0, ack.first_revision + i as u64);
                assert_eq!(event.position.0, ack.first_position + i as u64);
                let data: serde_json::Value =
                    serde_json::from_slice(&event.data).expect("intact JSON");
                assert!(data["task"].is_u64());
            }
        }
        // Positions gapless from 0; every append complete (nothing half-written visible).
        assert!(
            all.iter()
                .enumerate()
                .all(|(i, e)| e.position.0 == i as u64),
            "round {round}: positions gapless"
        );
        let mut batches: HashMap<String, (u64, usize)> = HashMap::new();
        for event in &all {
            let metadata: serde_json::Value = serde_json::from_slice(&event.metadata).unwrap();
            let entry = batches
                .entry(metadata["batch"].as_str().unwrap().to_owned())
                .or_insert((metadata["size"].as_u64().unwrap(), 0));
            entry.1 += 1;
        }
        for (batch, (size, seen)) in batches {
            assert_eq!(
                size as usize, seen,
                "round {round}: append {batch} is only partly visible"
            );
        }
        store.close().await;
    });
}
