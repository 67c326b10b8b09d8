//! `eventfold verify`: check every frame without changing anything.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use eventfold_store::embedded::internals::{
    lock_storage, recover, DirectoryStorage, Mode, RecoveryReport,
};
use eventfold_store::embedded::LOG_DIR;
use eventfold_store::StoreError;

#[derive(Args)]
pub struct VerifyArgs {
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Exit status when damage is found.
const EXIT_DAMAGED: u8 = 2;
/// How many times the log is checked when a writer is running, a little apart.
const LOOKS_BESIDE_A_WRITER: usize = 10;

/// Checks the log, up to `looks` times while damage in the last segment could be a write in
/// progress. Returns the report (when the log could be read) and the damage found, if any.
fn check(storage: &DirectoryStorage, looks: usize) -> (Option<RecoveryReport>, Option<String>) {
    for look in 1..=looks {
        let report = match recover(storage, Mode::CheckOnly) {
            Ok((_, report)) => report,
            Err(error) => return (None, Some(error.to_string())),
        };
        let Some(damage) = report.problem() else {
            return (Some(report), None);
        };
        if look == looks {
            return (Some(report), Some(damage.to_string()));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    unreachable!("the last look returns")
}

pub fn verify(data: &Path, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let log = data.join(LOG_DIR);
    if !log.is_dir() {
        anyhow::bail!(
            "{} is not an Eventfold data directory (no {LOG_DIR}/ inside)",
            data.display()
        );
    }
    let storage = DirectoryStorage::new(data)?;
    // Holding the lock keeps a writer from starting meanwhile. If one is running, damage seen
    // in the last segment may be a read racing its write: look again before calling it damage.
    let lock = match lock_storage(&storage) {
        Ok(lock) => Some(lock),
        Err(StoreError::Locked(_)) => None,
        Err(error) => return Err(error.into()),
    };
    let looks = if lock.is_some() {
        1
    } else {
        LOOKS_BESIDE_A_WRITER
    };
    let (report, damage) = check(&storage, looks);
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "ok": damage.is_none(),
            "segments": report.as_ref().map(|r| r.segments),
            "events": report.as_ref().map(|r| r.events),
            "stream_states": report.as_ref().map(|r| r.stream_states),
            "torn_tail": report.as_ref().and_then(|r| r.torn_tail.as_ref()).map(|t| serde_json::json!({
                "file": t.file, "offset": t.offset, "bytes": t.bytes, "reason": t.reason,
            })),
            "removed_segment": report.as_ref().and_then(|r| r.removed_segment.clone()),
            "evidence_problem": report.as_ref().and_then(|r| r.evidence_problem.clone()),
            "evidence": report.as_ref().and_then(|r| r.evidence.as_ref()).map(|e| serde_json::json!({
                "source": e.source, "next_position": e.end.next_position,
                "segment": e.end.segment.0, "offset": e.end.end,
            })),
            "damage": damage,
        });
        writeln!(out, "{value}")?;
    } else if let (Some(report), None) = (&report, &damage) {
        writeln!(
            out,
            "ok: {} segments, {} events, {} stream-state records; every frame's checksum matches",
            report.segments, report.events, report.stream_states
        )?;
        if let Some(tail) = &report.torn_tail {
            writeln!(
                out,
                "note: torn tail in {} at offset {} ({} bytes: {}); it was never acknowledged and is cut at the next open",
                tail.file, tail.offset, tail.bytes, tail.reason
            )?;
        }
        if let Some(segment) = &report.removed_segment {
            writeln!(
                out,
                "note: half-created last segment, removed at the next open: {segment}"
            )?;
        }
        // (A damaged record is a problem: it was reported above, not here.)
        match &report.evidence {
            Some(evidence) => writeln!(
                out,
                "the log reaches at least position {} as acknowledged ({} says so)",
                evidence.end.next_position, evidence.source
            )?,
            None if report.events > 0 => writeln!(out, "warning: no durable-end record (it is written from the next open on); damage at the end of the log cannot be told from a torn tail")?,
            None => {}
        }
    }
    match damage {
        None => Ok(ExitCode::SUCCESS),
        Some(error) => {
            if !args.json {
                eprintln!("damaged: {error}");
            }
            Ok(ExitCode::from(EXIT_DAMAGED))
        }
    }
}
