//! `eventfold repair`: cut the last segment at damage that valid frames follow — the case an
//! open refuses because it cannot tell a power loss from a failing disk — and, only when asked
//! with `--accept-loss`, open a log that lost acknowledged writes at its end.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use eventfold_store::embedded::internals::{
    lock_storage, recover, remove_snapshot, DirectoryStorage, Files, Loss, Mode, Recorder,
    RecoveryReport, DURABLE_END_FILE,
};
use eventfold_store::embedded::LOG_DIR;
use eventfold_store::StoreError;

#[derive(Args)]
pub struct RepairArgs {
    /// Cut the damaged tail. Without it, repair only says what it would do.
    #[arg(long)]
    yes: bool,
    /// Accept that acknowledged writes are missing from the end of the log (the open refuses
    /// such a log): cut what must be cut and open without them. Implies --yes.
    #[arg(long)]
    accept_loss: bool,
}

/// Exit status when repair is needed but was not done (or cannot be done by cutting).
const EXIT_NOT_REPAIRED: u8 = 2;

pub fn repair(data: &Path, args: RepairArgs) -> anyhow::Result<ExitCode> {
    let log = data.join(LOG_DIR);
    if !log.is_dir() {
        anyhow::bail!(
            "{} is not an Eventfold data directory (no {LOG_DIR}/ inside)",
            data.display()
        );
    }
    let storage = DirectoryStorage::new(data)?;
    let _lock = match lock_storage(&storage) {
        Err(StoreError::Locked(_)) => {
            anyhow::bail!(
                "{} is in use by another process; stop it first",
                data.display()
            )
        }
        lock => lock?,
    };
    let plan = match recover(&storage, Mode::PlanDamagedTail) {
        Ok((_, report)) => report,
        Err(error) => {
            eprintln!("cannot repair by cutting: {error}");
            eprintln!("Damage before the last segment, or in a segment header, is not what a power loss leaves. Copy the data directory and restore from a backup.");
            return Ok(ExitCode::from(EXIT_NOT_REPAIRED));
        }
    };
    if let Some(problem) = &plan.evidence_problem {
        println!("{problem}: how far the log was acknowledged is unknown.");
        if !args.accept_loss {
            println!("Nothing was changed. Restore a backup, or run `eventfold repair --accept-loss` to rebuild the record from the log as it is.");
            return Ok(ExitCode::from(EXIT_NOT_REPAIRED));
        }
        return accept_loss(&storage);
    }
    if let Some(loss) = &plan.loss {
        describe_loss(loss);
        if !args.accept_loss {
            println!("Nothing was changed. Run `eventfold repair --accept-loss` to open the store without them.");
            return Ok(ExitCode::from(EXIT_NOT_REPAIRED));
        }
        return accept_loss(&storage);
    }
    let Some(tail) = &plan.torn_tail else {
        println!(
            "nothing to repair: {} events, every frame's checksum matches",
            plan.events
        );
        return Ok(ExitCode::SUCCESS);
    };
    let Some((damage, valid_at)) = tail.damage_before_valid_frames else {
        println!(
            "only a torn tail ({} bytes at offset {} of {}): it is cut automatically at the next open",
            tail.bytes, tail.offset, tail.file
        );
        return Ok(ExitCode::SUCCESS);
    };
    describe(&plan, damage, valid_at);
    if !(args.yes || args.accept_loss) {
        println!("Nothing was changed. Run `eventfold repair --yes` to cut.");
        return Ok(ExitCode::from(EXIT_NOT_REPAIRED));
    }
    let (_, done) = recover(&storage, Mode::CutDamagedTail)?;
    remove_snapshot(&storage).context("removing the index snapshot")?;
    let cut = done.torn_tail.as_ref().map_or(tail.offset, |t| t.offset);
    println!(
        "cut {} at offset {cut}; {} events remain and the store opens again",
        tail.file, done.events
    );
    Ok(ExitCode::SUCCESS)
}

fn describe(plan: &RecoveryReport, damage: u64, valid_at: u64) {
    let tail = plan.torn_tail.as_ref().expect("a tail to describe");
    println!(
        "{}: damage at offset {damage}, followed by valid frames from offset {valid_at}.",
        tail.file
    );
    println!(
        "Cutting at offset {} (the end of the last complete write before the damage) removes {} bytes; \
         the {} events before it stay.",
        tail.offset, tail.bytes, plan.events
    );
    println!(
        "After a power loss or a crash this is expected: the bytes after the cut were written but their \
         fdatasync never completed, so no append among them was acknowledged. If the machine did not just \
         lose power, the disk may be failing: copy the data directory first."
    );
}

fn describe_loss(loss: &Loss) {
    let ack = &loss.acknowledged;
    println!(
        "Acknowledged writes are missing from the end of the log: {} shows it reached position {}, \
         but its complete part now ends at position {}.",
        ack.source,
        ack.end.next_position,
        loss.found.map_or(0, |end| end.next_position)
    );
    if let Some(damage) = &loss.damage {
        println!("Found where it now ends: {damage}.");
    }
    println!(
        "{} acknowledged events (and any stream-state records after them) are gone. If the data \
         directory was restored, copied or cut by hand, restore the missing files instead.",
        loss.events()
    );
}

/// Cuts what must be cut, then makes the log's new end its evidence.
fn accept_loss(storage: &DirectoryStorage) -> anyhow::Result<ExitCode> {
    let (index, done) = recover(storage, Mode::AcceptLoss)?;
    remove_snapshot(storage).context("removing the index snapshot")?;
    match index.log_end() {
        Some(end) => drop(Recorder::open(storage, end)?),
        None => storage
            .remove_file(DURABLE_END_FILE)
            .context("removing the durable-end record")?,
    }
    println!(
        "accepted the loss: {} events remain and the store opens again. New events take positions \
         from {} on, which readers may have seen before: reset consumers whose checkpoints are past it.",
        done.events,
        done.events
    );
    Ok(ExitCode::SUCCESS)
}
