//! Writing an export (a trace, an audit report) to a file, on a job's thread: to the path
//! the user typed, or to one picked in the native save dialog.

use std::path::PathBuf;

/// Writes `text()` to `path` (`None`: ask with the save dialog titled `title`, proposing
/// `file_name`). `None` when the dialog was closed without a choice; else the path written
/// or why not. Blocking: call it from a job, never from the UI thread.
pub fn save_text(
    path: Option<&str>,
    title: &str,
    file_name: &str,
    text: impl FnOnce() -> String,
) -> Option<Result<String, String>> {
    let path = match path {
        Some(path) if !path.trim().is_empty() => PathBuf::from(path.trim()),
        Some(_) => return Some(Err("enter a file name to export to".to_owned())),
        None => rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(file_name)
            .save_file()?,
    };
    Some(
        std::fs::write(&path, text())
            .map(|()| path.display().to_string())
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
    )
}
