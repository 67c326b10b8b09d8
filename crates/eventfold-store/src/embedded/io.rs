//! All file I/O of the embedded engine goes through these two small traits, so tests can inject
//! failed writes, failed syncs and torn files at any step.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventfold_core::Position;

/// One log segment file.
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

/// The directory of segment files (and the derived index files beside them).
pub trait Storage: Send + Sync {
    /// The first positions of the segments present, in ascending order.
    fn list_segments(&self) -> io::Result<Vec<Position>>;
    /// Opens an existing segment.
    fn open_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>>;
    /// Creates a new, empty segment and makes its existence durable (directory sync).
    fn create_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>>;
    /// Removes a segment that holds nothing acknowledged (a half-created last segment).
    fn remove_segment(&self, first_position: Position) -> io::Result<()>;
}

/// The real thing: files in a directory.
pub struct DirectoryStorage {
    dir: PathBuf,
}

const SEGMENT_SUFFIX: &str = ".seg";

impl DirectoryStorage {
    /// Segment files live in `dir`, which is created if missing.
    pub fn new(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The file name of a segment: its first position, zero-padded so names sort.
    pub fn segment_file_name(first_position: Position) -> String {
        format!("{:020}{SEGMENT_SUFFIX}", first_position.0)
    }

    fn segment_path(&self, first_position: Position) -> PathBuf {
        self.dir.join(Self::segment_file_name(first_position))
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }
}

impl Storage for DirectoryStorage {
    fn list_segments(&self) -> io::Result<Vec<Position>> {
        let mut positions = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
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
        let path = self.segment_path(first_position);
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        Ok(Arc::new(OsSegmentFile {
            file,
            name: path.display().to_string(),
        }))
    }

    fn create_segment(&self, first_position: Position) -> io::Result<Arc<dyn SegmentFile>> {
        let path = self.segment_path(first_position);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        self.sync_dir()?;
        Ok(Arc::new(OsSegmentFile {
            file,
            name: path.display().to_string(),
        }))
    }

    fn remove_segment(&self, first_position: Position) -> io::Result<()> {
        std::fs::remove_file(self.segment_path(first_position))?;
        self.sync_dir()
    }
}

struct OsSegmentFile {
    file: File,
    name: String,
}

impl SegmentFile for OsSegmentFile {
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
