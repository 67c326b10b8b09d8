//! Small whole files (derived data, records, SDK snapshots) behind one trait, so fault
//! injection reaches them as it reaches the log.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Whole small files, named by a path relative to a directory (`a/b.snap`).
pub trait Files: Send + Sync {
    /// The file's bytes, or `None` when it does not exist.
    fn read_file(&self, name: &str) -> io::Result<Option<Vec<u8>>>;
    /// Replaces the file atomically: a temporary file is written, then renamed over the old
    /// one, so a reader sees the old bytes or the new, never a mix. With `sync`, the file and
    /// then the directory are synced too (derived data that is cheap to rebuild skips that).
    /// Missing directories are created.
    fn replace_file(&self, name: &str, bytes: &[u8], sync: bool) -> io::Result<()>;
    /// Removes the file (a missing one is fine) and makes that durable.
    fn remove_file(&self, name: &str) -> io::Result<()>;
    /// Where the file is, for messages.
    fn describe(&self, name: &str) -> String;
}

/// Small files under a directory of the file system.
#[derive(Clone, Debug)]
pub struct DirectoryFiles {
    dir: PathBuf,
}

impl DirectoryFiles {
    /// Files under `dir`, which is created if missing.
    pub fn new(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the file `name`.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Files for DirectoryFiles {
    fn read_file(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path_of(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn replace_file(&self, name: &str, bytes: &[u8], sync: bool) -> io::Result<()> {
        let path = self.path_of(name);
        let parent = path.parent().expect("a file inside the directory");
        std::fs::create_dir_all(parent)?;
        let mut file = tempfile::NamedTempFile::new_in(parent)?;
        file.write_all(bytes)?;
        if sync {
            file.as_file().sync_all()?;
        }
        file.persist(&path).map_err(|error| error.error)?;
        if sync {
            sync_dir(parent)?;
        }
        Ok(())
    }

    fn remove_file(&self, name: &str) -> io::Result<()> {
        let path = self.path_of(name);
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(path.parent().expect("a file inside the directory")),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn describe(&self, name: &str) -> String {
        self.path_of(name).display().to_string()
    }
}

/// Makes the directory's entries (created, renamed or removed files) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
