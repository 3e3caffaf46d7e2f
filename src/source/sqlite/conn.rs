//! Opening the file read-only: the precheck of its header and the open mode its files call for.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::core::source::{SourceError, SourceResult};
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Checks that `path` looks like a complete SQLite file before SQLite sees it, so the
/// user gets a precise message.
pub(super) fn precheck(path: &Path) -> SourceResult<()> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::Open(format!("no such file: {shown}")),
        std::io::ErrorKind::PermissionDenied => {
            SourceError::Open(format!("permission denied: {shown}"))
        }
        _ => SourceError::Open(format!("cannot read ({e}): {shown}")),
    })?;
    if meta.is_dir() {
        return Err(SourceError::Open(format!(
            "this is a directory, not a SQLite file: {shown}"
        )));
    }
    if meta.len() == 0 {
        return Err(SourceError::Open(format!(
            "empty file (0 bytes), not a SQLite database: {shown}"
        )));
    }
    let mut header = [0u8; 100];
    let read = {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path)
            .map_err(|e| SourceError::Open(format!("cannot open ({e}): {shown}")))?;
        let mut total = 0;
        while total < header.len() {
            match file.read(&mut header[total..]) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) => return Err(SourceError::Open(format!("cannot read ({e}): {shown}"))),
            }
        }
        total
    };
    if read < 16 || &header[..16] != SQLITE_HEADER {
        return Err(SourceError::Open(format!(
            "not a SQLite database (the file does not start with the SQLite header): {shown}"
        )));
    }
    if read < 100 {
        return Err(SourceError::Open(format!(
            "truncated SQLite file ({read} bytes, shorter than its 100-byte header): {shown}"
        )));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let page_count = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let change_counter = &header[24..28];
    let valid_for = &header[92..96];
    if change_counter == valid_for && page_count > 0 && meta.len() < page_size * page_count {
        return Err(SourceError::Open(format!(
            "truncated SQLite file: its header says {page_count} pages of {page_size} bytes \
             ({} bytes) but the file has {} bytes: {shown}",
            page_size * page_count,
            meta.len()
        )));
    }
    Ok(())
}

/// How a connection opens the file, chosen from the state of the store's files so that a
/// reader never changes a byte of them nor creates a companion file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OpenMode {
    /// Rollback-journal database: plain read-only.
    Plain,
    /// WAL database with `-wal` and `-shm` present: the WAL index is opened read-only too
    /// (otherwise this reader's read marks would be written into `-shm`).
    ReadonlyShm,
    /// WAL database with no `-wal` file (no writer, everything checkpointed): read the
    /// database file alone, since a read-only open would otherwise create `-wal`/`-shm`.
    /// Reconsidered before every read, so a writer that appears later is seen.
    Immutable,
    /// WAL database whose `-wal` exists without `-shm` (a crashed writer): SQLite must
    /// rebuild the index in a new `-shm`; the only case where a companion file is created.
    RebuildShm,
}

fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub(super) fn choose_mode(path: &Path) -> OpenMode {
    use std::io::Read as _;
    let mut header = [0u8; 20];
    let wal_mode = std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2);
    if !wal_mode {
        return OpenMode::Plain;
    }
    match (
        companion(path, "-wal").exists(),
        companion(path, "-shm").exists(),
    ) {
        (true, true) => OpenMode::ReadonlyShm,
        (false, _) => OpenMode::Immutable,
        (true, false) => OpenMode::RebuildShm,
    }
}

/// A `file:` URI for the path with the parameters of the mode.
pub(super) fn read_only_uri(path: &Path, mode: OpenMode) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut uri = String::from("file:");
    for &byte in absolute.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str(match mode {
        OpenMode::Plain | OpenMode::RebuildShm => "?mode=ro",
        OpenMode::ReadonlyShm => "?mode=ro&readonly_shm=1",
        OpenMode::Immutable => "?mode=ro&immutable=1",
    });
    uri
}

pub(super) fn open_connection(path: &Path, mode: OpenMode) -> SourceResult<Connection> {
    if mode == OpenMode::RebuildShm {
        tracing::warn!(
            "the WAL of this store has no -shm index; SQLite will create one: {}",
            path.display()
        );
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(read_only_uri(path, mode), flags).map_err(|e| {
        SourceError::Open(format!("cannot open as SQLite ({e}): {}", path.display()))
    })?;
    // Connection-level settings only; none of these persists in the file.
    conn.pragma_update(None, "query_only", true)
        .and_then(|()| conn.busy_timeout(Duration::from_secs(2)))
        .and_then(|()| super::scan::register_prefilter(&conn))
        .map_err(|e| {
            SourceError::Open(format!(
                "cannot configure connection ({e}): {}",
                path.display()
            ))
        })?;
    Ok(conn)
}

pub(super) fn query_error(e: &rusqlite::Error) -> SourceError {
    SourceError::Query(explained(e, None))
}

/// The SQLite error, with what it means for a reader when SQLite's own words do not say:
/// a hot rollback journal (a write or migration interrupted by a crash) that a read-only
/// reader may not roll back, and a damaged file.
fn explained(e: &rusqlite::Error, path: Option<&Path>) -> String {
    let hot_journal = |err: &rusqlite::ffi::Error| {
        err.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK
            || (err.code == rusqlite::ErrorCode::ReadOnly
                && path.is_some_and(|path| companion(path, "-journal").exists()))
    };
    let unbuildable_index = |err: &rusqlite::ffi::Error| {
        err.code == rusqlite::ErrorCode::CannotOpen
            && path.is_some_and(|path| {
                companion(path, "-wal").exists() && !companion(path, "-shm").exists()
            })
    };
    match e.sqlite_error() {
        Some(err) if unbuildable_index(err) => format!(
            "{e}: the store's `-wal` has no `-shm` index (its writer crashed or was copied \
             without it) and SQLite cannot create one beside it: the directory or file \
             system is read-only. Copy the store with its `-wal` to a writable directory and \
             open the copy"
        ),
        Some(err) if hot_journal(err) => format!(
            "{e}: the store has a hot rollback journal (its `-journal` file): a write, or a \
             schema migration, was interrupted and must be rolled back first, which eventscope \
             never does (it only reads). Open the store once with the application or `sqlite3` \
             to roll it back, or copy the store with its `-journal` elsewhere and open the copy"
        ),
        Some(err)
            if matches!(
                err.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            format!("{e} (the file is damaged)")
        }
        _ => e.to_string(),
    }
}

/// An error reading the store at open (its schema, its first query), with the path.
pub(super) fn open_error(what: &str, e: &rusqlite::Error, path: &Path) -> SourceError {
    SourceError::Open(format!(
        "{what} ({}): {}",
        explained(e, Some(path)),
        path.display()
    ))
}
