//! `eventfold scavenge`: erase what deletes, truncation and expiry hide, on a data directory or
//! on a running server (`--server`), with progress on stderr and the result on stdout.

use std::process::ExitCode;

use anyhow::Context;

use eventfold_store::{ScavengeProgress, StoreError};

use crate::target::Target;

pub async fn scavenge(target: &Target) -> anyhow::Result<ExitCode> {
    let opened = match target.open_to_write() {
        Err(error)
            if error
                .downcast_ref::<StoreError>()
                .is_some_and(|e| matches!(e, StoreError::Locked(_))) =>
        {
            anyhow::bail!(
                "{error:#}: a server is running on this data directory; scavenge through it \
                 with `eventfold --server URL scavenge`"
            )
        }
        opened => opened?,
    };
    let report = opened
        .store()
        .scavenge(Box::new(|at: &ScavengeProgress| {
            eprintln!(
                "segments {}/{} ({} rewritten), {} events erased, {} bytes reclaimed",
                at.segments_done,
                at.segments_total,
                at.segments_rewritten,
                at.events_erased,
                at.bytes_reclaimed()
            );
        }))
        .await
        .context("scavenging")?;
    opened.close().await;
    let mut line = serde_json::to_value(&report).expect("serialises");
    line["bytes_reclaimed"] = report.bytes_reclaimed().into();
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}
