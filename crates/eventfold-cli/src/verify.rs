//! `eventfold verify`: check every frame without changing anything.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use eventfold_store::embedded::io::DirectoryStorage;
use eventfold_store::embedded::recovery::{recover, Mode};
use eventfold_store::embedded::LOG_DIR;

#[derive(Args)]
pub struct VerifyArgs {
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Exit status when damage is found.
const EXIT_DAMAGED: u8 = 2;

pub fn verify(data: &Path, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let log = data.join(LOG_DIR);
    if !log.is_dir() {
        anyhow::bail!(
            "{} is not an Eventfold data directory (no {LOG_DIR}/ inside)",
            data.display()
        );
    }
    let storage = DirectoryStorage::new(&log)?;
    let (report, damage) = match recover(&storage, Mode::CheckOnly) {
        Ok((_, report)) => (Some(report), None),
        Err(error) => (None, Some(error)),
    };
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
            "damage": damage.as_ref().map(|e| e.to_string()),
        });
        writeln!(out, "{value}")?;
    } else if let Some(report) = &report {
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
