//! The sync thread: the second half of group commit.
//!
//! Groups arrive already written to the segment (in the page cache). The sync thread takes
//! every group waiting, makes them durable with one fdatasync per file, then applies their
//! changes to the index in log order, publishes the new head position, and answers. While it
//! syncs, the writer thread is already framing and writing the next groups, so the disk is
//! kept busy and appenders arriving during a sync ride on the next one.
//!
//! Between the sync and the answers it writes the [durable-end record](super::durable_end), so
//! no answered write can later vanish from the end of the log unnoticed.
//!
//! A failed fdatasync poisons the store: the kernel may have dropped the dirty pages, and a
//! second fdatasync would "succeed" without proving anything. Every group not yet answered —
//! and every later one — fails with `Poisoned` until the store is reopened and recovery runs.

use std::sync::mpsc::{
    sync_channel, Receiver, RecvError, RecvTimeoutError, SyncSender, TryRecvError,
};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::{oneshot, watch};

use eventfold_core::{Position, StoreError};

use super::durable_end::Recorder;
use super::group::{Staged, WrittenGroup};
use super::handoff;
use super::index::Index;
use super::io::SegmentFile;

/// Groups written but not yet handed to the sync thread; the writer waits beyond this.
const GROUPS_IN_FLIGHT_MAX: usize = 64;

enum Message {
    Group(WrittenGroup),
    Stop(Option<oneshot::Sender<()>>),
}

struct Progress {
    /// The last group applied to the index (and answered).
    durable: Mutex<u64>,
    /// Signalled whenever `durable` moves.
    moved: Condvar,
    /// Why the store stopped accepting writes, if it did.
    poisoned: Mutex<Option<String>>,
}

/// The writer's end of the pipeline to the sync thread.
pub struct Pipeline {
    messages: SyncSender<Message>,
    progress: Arc<Progress>,
    submitted: u64,
    thread: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts the sync thread, which applies durable groups to `index` and publishes the head.
    pub fn start(
        index: Arc<RwLock<Index>>,
        head_position: watch::Sender<Position>,
        recorder: Arc<Mutex<Recorder>>,
    ) -> Result<Self, StoreError> {
        let (messages, inbox) = sync_channel(GROUPS_IN_FLIGHT_MAX);
        let progress = Arc::new(Progress {
            durable: Mutex::new(0),
            moved: Condvar::new(),
            poisoned: Mutex::new(None),
        });
        let syncer = Syncer {
            index,
            head_position,
            progress: progress.clone(),
            recorder,
        };
        let thread = std::thread::Builder::new()
            .name("eventfold-sync".into())
            .spawn(move || syncer.run(inbox))
            .map_err(|e| StoreError::io("starting the sync thread", e))?;
        Ok(Self {
            messages,
            progress,
            submitted: 0,
            thread: Some(thread),
        })
    }

    /// The number the next group gets.
    pub fn next_group(&self) -> u64 {
        self.submitted + 1
    }

    /// Hands a written group to the sync thread.
    pub fn submit(&mut self, group: WrittenGroup) {
        assert_eq!(
            group.seq,
            self.submitted + 1,
            "groups are submitted in order"
        );
        self.submitted = group.seq;
        if let Err(unsent) = self.messages.send(Message::Group(group)) {
            if let Message::Group(group) = unsent.0 {
                group
                    .replies
                    .into_iter()
                    .for_each(|r| r.fail(|| StoreError::Closed));
            }
        }
    }

    /// The last group applied to the index.
    pub fn durable_group(&self) -> u64 {
        *self.progress.durable.lock()
    }

    /// Waits until every submitted group is durable (or failed).
    pub fn wait_until_idle(&self) {
        let mut durable = self.progress.durable.lock();
        while *durable < self.submitted {
            self.progress.moved.wait(&mut durable);
        }
    }

    /// Why the store stopped accepting writes, if it did.
    pub fn poisoned(&self) -> Option<String> {
        self.progress.poisoned.lock().clone()
    }

    /// Stops accepting writes because of `error`.
    pub fn poison(&self, error: &StoreError) {
        poison(&self.progress, error.to_string());
    }

    /// Lets the sync thread finish every group, answers `shutdown`, and waits for the thread.
    pub fn finish(mut self, shutdown: Option<oneshot::Sender<()>>) {
        let _ = self.messages.send(Message::Stop(shutdown));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn poison(progress: &Progress, reason: String) {
    let mut poisoned = progress.poisoned.lock();
    if poisoned.is_none() {
        tracing::error!(%reason, "write failed; the store accepts no more writes until reopened");
        *poisoned = Some(reason);
    }
}

struct Syncer {
    index: Arc<RwLock<Index>>,
    head_position: watch::Sender<Position>,
    progress: Arc<Progress>,
    recorder: Arc<Mutex<Recorder>>,
}

impl Syncer {
    fn run(self, inbox: Receiver<Message>) {
        let mut stop = None;
        let mut groups = Vec::new();
        let mut waiter = handoff::Waiter::default();
        while stop.is_none() {
            let Ok(mut message) = next_message(&mut waiter, &inbox, &self.recorder) else {
                break;
            };
            loop {
                match message {
                    Message::Group(group) => groups.push(group),
                    Message::Stop(reply) => {
                        stop = Some(reply);
                        break;
                    }
                }
                match inbox.try_recv() {
                    Ok(next) => message = next,
                    Err(_) => break,
                }
            }
            self.make_durable(&mut groups);
            if let Err(error) = self.recorder.lock().sync_if_due() {
                poison(&self.progress, error.to_string());
            }
        }
        if let Err(error) = self.recorder.lock().sync() {
            tracing::error!(%error, "could not sync the durable-end record at close");
        }
        // Dropping the head sender here ends every subscription cleanly.
        if let Some(Some(reply)) = stop {
            let _ = reply.send(());
        }
    }

    fn make_durable(&self, groups: &mut Vec<WrittenGroup>) {
        let Some(last_seq) = groups.last().map(|g| g.seq) else {
            return;
        };
        let outcome = match self.progress.poisoned.lock().clone() {
            Some(reason) => Err(reason),
            None => sync_files(groups).and_then(|()| self.record_end(groups)),
        };
        match &outcome {
            Ok(()) => self.apply(groups),
            Err(reason) => poison(&self.progress, reason.clone()),
        }
        *self.progress.durable.lock() = last_seq;
        self.progress.moved.notify_all();
        for group in groups.drain(..) {
            for reply in group.replies {
                match &outcome {
                    Ok(()) => reply.send(),
                    Err(reason) => reply.fail(|| StoreError::Poisoned(reason.clone())),
                }
            }
        }
    }

    /// Records where the log now ends, before anything is answered. The groups are durable
    /// already, so a failure here poisons the store (like a failed write) and fails the
    /// answers: the writes may stand, as with any poisoned group.
    fn record_end(&self, groups: &[WrittenGroup]) -> Result<(), String> {
        let Some(group) = groups.iter().rev().find(|group| group.wrote) else {
            return Ok(());
        };
        self.recorder
            .lock()
            .record(group.log_end)
            .map_err(|error| error.to_string())
    }

    fn apply(&self, groups: &mut [WrittenGroup]) {
        let mut index = self.index.write();
        for group in groups.iter_mut() {
            for staged in group.staged.drain(..) {
                match staged {
                    Staged::Append {
                        stream,
                        first_revision,
                        offsets,
                        type_runs,
                    } => index.add_append(
                        &stream,
                        first_revision,
                        &offsets,
                        type_runs
                            .iter()
                            .map(|(event_type, n)| (event_type.as_str(), *n)),
                        group.recorded_at_nanos,
                    ),
                    Staged::State { stream, state } => index.set_stream_state(&stream, state),
                }
            }
            if group.wrote {
                index.set_segment_end(group.log_end.end);
            }
        }
        let head = Position(index.next_position);
        drop(index);
        self.head_position.send_replace(head);
    }
}

/// The next message (an error once the writer is gone). While it waits, the durable-end
/// record is synced once it has been unsynced for a second, so an idle store's record is
/// durable too.
fn next_message(
    waiter: &mut handoff::Waiter,
    mut inbox: &Receiver<Message>,
    recorder: &Mutex<Recorder>,
) -> Result<Message, RecvError> {
    waiter.next(
        &mut inbox,
        |inbox| match inbox.try_recv() {
            Ok(message) => Some(Ok(message)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        },
        |inbox| loop {
            let Some(due_in) = recorder.lock().sync_due_in() else {
                return inbox.recv();
            };
            match inbox.recv_timeout(due_in) {
                Ok(message) => return Ok(message),
                Err(RecvTimeoutError::Disconnected) => return Err(RecvError),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(error) = recorder.lock().sync_if_due() {
                        tracing::error!(%error, "could not sync the durable-end record");
                    }
                }
            }
        },
    )
}

/// One fdatasync per segment file the groups wrote to, in order.
fn sync_files(groups: &[WrittenGroup]) -> Result<(), String> {
    let mut synced: Option<&Arc<dyn SegmentFile>> = None;
    for group in groups.iter().filter(|g| g.wrote) {
        if synced.is_some_and(|file| Arc::ptr_eq(file, &group.file)) {
            continue;
        }
        group
            .file
            .sync_data()
            .map_err(|e| StoreError::io(format!("syncing {}", group.file.name()), e).to_string())?;
        synced = Some(&group.file);
    }
    Ok(())
}
