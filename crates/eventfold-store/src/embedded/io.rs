//! All file I/O of the embedded engine goes through these small traits, so tests can inject
//! failed writes, failed syncs and torn files at any step: the segments, the derived files
//! beside them (the index snapshot, the durable-end record, SDK snapshots) and the lock.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventfold_core::Position;

use crate::files::sync_dir;
pub use crate::files::{DirectoryFiles, Files};

/// One file written in place: a log segment, or the durable-end record.
pub trait SegmentFile: Send + Sync {
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `bytes` at `offset`.
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()>;
    /// Makes everything written so far durable (fdatasync).
    fn sync_data(&self) -> io::Result<()>;
    /// The file's length in bytes.
    fn size_bytes(&self) -> io::Result<u64>;
    /// Cuts the file to `len` bytes and makes that durable.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// A name for error messages.
    fn name(&self) -> &str;
}

/// The writer lock of a data directory, held until dropped.
pub type DirectoryLock = Box<dyn Send + Sync>;

/// A data directory: the log's segment files, the small files beside them, and its lock.
pub trait Storage: Files {
    /// The first positions of the segments present, in ascending order.
    fn list_segments(&self) -> io::Result<Vec<Position>>;
    /// Opens an existing segment.
    fn open_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>>;
    /// Creates a new, empty segment and makes its existence durable (directory sync).
    fn create_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>>;
    /// Removes a segment that holds nothing acknowledged (a half-created last segment).
    fn remove_segment(&self, first_position: Position) -> io::Result<()>;
    /// Creates the file that is to replace segment `first_position` (a scavenge's rewrite),
    /// empty, replacing any a crash left behind. It is not a segment until
    /// [`Storage::replace_segment`] puts it in place.
    fn create_rewrite(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>>;
    /// Puts the rewrite of segment `first_position` (synced by the caller) in its place,
    /// atomically and durably (rename, directory sync); returns the file now under its name.
    fn replace_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>>;
    /// Removes rewrites a crash left behind.
    fn discard_rewrites(&self) -> io::Result<()>;
    /// Opens a small file written in place (the durable-end record), creating it durably with
    /// `len` zero bytes when it does not exist.
    fn open_record_file(&self, name: &str, len: u64) -> io::Result<Arc<dyn SegmentFile>>;
    /// Takes the exclusive writer lock: `Ok(None)` when another process holds it.
    fn lock(&self) -> io::Result<Option<DirectoryLock>>;
}

/// The sub-directory of the data directory that holds the log segments.
pub const LOG_DIR: &str = "log";
/// The lock file that keeps a second process out of the data directory.
pub const LOCK_FILE: &str = "LOCK";
const SEGMENT_SUFFIX: &str = ".seg";
const REWRITE_SUFFIX: &str = ".seg.rewrite";

/// The real thing: a data directory, with the segments in its `log/` sub-directory.
pub struct DirectoryStorage {
    files: DirectoryFiles,
    log: PathBuf,
}

impl DirectoryStorage {
    /// The data directory `dir`; it and its `log/` sub-directory are created if missing.
    pub fn new(dir: &Path) -> io::Result<Self> {
        let log = dir.join(LOG_DIR);
        std::fs::create_dir_all(&log)?;
        Ok(Self {
            files: DirectoryFiles::new(dir)?,
            log,
        })
    }

    /// The file name of a segment: its first position, zero-padded so names sort.
    pub fn segment_file_name(first_position: Position) -> String {
        format!("{:020}{SEGMENT_SUFFIX}", first_position.0)
    }

    fn segment_path(&self, first_position: Position) -> PathBuf {
        self.log.join(Self::segment_file_name(first_position))
    }

    fn rewrite_path(&self, first_position: Position) -> PathBuf {
        self.log
            .join(format!("{:020}{REWRITE_SUFFIX}", first_position.0))
    }
}

impl Files for DirectoryStorage {
    fn read_file(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        self.files.read_file(name)
    }

    fn replace_file(&self, name: &str, bytes: &[u8], sync: bool) -> io::Result<()> {
        self.files.replace_file(name, bytes, sync)
    }

    fn remove_file(&self, name: &str) -> io::Result<()> {
        self.files.remove_file(name)
    }

    fn describe(&self, name: &str) -> String {
        self.files.describe(name)
    }
}

impl Storage for DirectoryStorage {
    fn list_segments(&self) -> io::Result<Vec<Position>> {
        let mut positions = Vec::new();
        for entry in std::fs::read_dir(&self.log)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(number) = name.strip_suffix(SEGMENT_SUFFIX) {
                let position = number.parse().map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("unexpected segment file name {name}"),
                    )
                })?;
                positions.push(Position(position));
            }
        }
        positions.sort();
        Ok(positions)
    }

    fn open_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>> {
        OsFile::open(self.segment_path(first_position))
    }

    fn create_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>> {
        let path = self.segment_path(first_position);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        sync_dir(&self.log)?;
        Ok(Arc::new(OsFile {
            file,
            name: path.display().to_string(),
        }))
    }

    fn remove_segment(&self, first_position: Position) -> io::Result<()> {
        std::fs::remove_file(self.segment_path(first_position))?;
        sync_dir(&self.log)
    }

    fn create_rewrite(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>> {
        let path = self.rewrite_path(first_position);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        Ok(Arc::new(OsFile {
            file,
            name: path.display().to_string(),
        }))
    }

    fn replace_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>> {
        let path = self.segment_path(first_position);
        std::fs::rename(self.rewrite_path(first_position), &path)?;
        sync_dir(&self.log)?;
        OsFile::open(path)
    }

    fn discard_rewrites(&self) -> io::Result<()> {
        for entry in std::fs::read_dir(&self.log)? {
            let entry = entry?;
            if entry
                .file_name()
                .to_string_lossy()
                .ends_with(REWRITE_SUFFIX)
            {
                std::fs::remove_file(entry.path())?;
            }
        }
        sync_dir(&self.log)
    }

    fn open_record_file(&self, name: &str, len: u64) -> io::Result<Arc<dyn SegmentFile>> {
        let path = self.files.path_of(name);
        if !path.exists() {
            self.files
                .replace_file(name, &vec![0; len as usize], true)?;
        }
        OsFile::open(path)
    }

    fn lock(&self) -> io::Result<Option<DirectoryLock>> {
        let path = self.files.path_of(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Box::new(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

struct OsFile {
    file: File,
    name: String,
}

impl OsFile {
    fn open(path: PathBuf) -> io::Result<Arc<dyn SegmentFile>> {
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        Ok(Arc::new(OsFile {
            file,
            name: path.display().to_string(),
        }))
    }
}

impl SegmentFile for OsFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(bytes, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn size_bytes(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()
    }

    fn name(&self) -> &str {
        &self.name
    }
}
