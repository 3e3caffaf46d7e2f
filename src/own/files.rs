//! File helpers for eventscope's own SQLite files: removing a file with its WAL side
//! files, and moving an unusable file aside so a fresh one can be created.

use std::path::{Path, PathBuf};

/// The side files SQLite may keep next to a database file.
const SIDE_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// An I/O failure on one of our own files: what was done, to which file.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct FileError {
    /// What was being done (`create directory`, `remove`, `move aside`).
    pub action: &'static str,
    /// The file concerned.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: std::io::Error,
}

/// Creates the directory a file of ours goes in, with its parents.
///
/// # Errors
/// When it cannot be created.
pub fn create_parent(path: &Path) -> Result<(), FileError> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    std::fs::create_dir_all(parent).map_err(|source| FileError {
        action: "create directory",
        path: parent.to_path_buf(),
        source,
    })
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes `path`, ignoring a file that is already gone.
fn remove_if_present(path: PathBuf) -> Result<(), FileError> {
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FileError {
            action: "remove",
            path,
            source,
        }),
    }
}

/// Removes the WAL, shared-memory and journal files of the database at `path`, which must
/// not be replayed into a new file of the same name.
///
/// # Errors
/// When a side file exists and cannot be removed.
pub fn remove_side_files(path: &Path) -> Result<(), FileError> {
    for suffix in SIDE_SUFFIXES {
        remove_if_present(with_suffix(path, suffix))?;
    }
    Ok(())
}

/// Removes the database at `path` and its side files (missing files are fine).
///
/// # Errors
/// When a file exists and cannot be removed.
pub fn remove_with_side_files(path: &Path) -> Result<(), FileError> {
    remove_if_present(path.to_path_buf())?;
    remove_side_files(path)
}

/// Moves an unusable file aside to `<file>.corrupt` (replacing an older one) and removes its
/// side files. When the rename fails the file is removed instead (with a warning).
///
/// # Errors
/// When the file can be neither renamed nor removed, or a side file cannot be removed.
pub fn move_aside(path: &Path) -> Result<(), FileError> {
    if let Err(error) = std::fs::rename(path, with_suffix(path, ".corrupt"))
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "cannot move the file aside; removing it");
        remove_if_present(path.to_path_buf())?;
    }
    remove_side_files(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_aside_keeps_the_file_and_drops_side_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"not a database").unwrap();
        std::fs::write(with_suffix(&db, "-wal"), b"wal").unwrap();
        move_aside(&db).unwrap();
        assert!(!db.exists());
        assert!(!with_suffix(&db, "-wal").exists());
        assert_eq!(
            std::fs::read(with_suffix(&db, ".corrupt")).unwrap(),
            b"not a database"
        );
        // Nothing left to move: still fine.
        move_aside(&db).unwrap();
    }

    #[test]
    fn remove_with_side_files_ignores_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("y.db");
        remove_with_side_files(&db).unwrap();
        std::fs::write(&db, b"x").unwrap();
        std::fs::write(with_suffix(&db, "-shm"), b"x").unwrap();
        remove_with_side_files(&db).unwrap();
        assert!(!db.exists() && !with_suffix(&db, "-shm").exists());
    }
}
