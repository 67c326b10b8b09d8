//! What the store's test files share.

use std::path::{Path, PathBuf};

use eventfold_store::embedded::LOG_DIR;

/// The files of the log directory of `dir`, in log order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join(LOG_DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}
