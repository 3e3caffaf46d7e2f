//! Mapping files eventscope drafted for a store and the user applied in the window: kept in
//! eventscope's settings directory (`mappings/<store identity>.toml`), never beside the
//! store, and used again whenever the same file is opened.

use std::path::{Path, PathBuf};

/// Where the applied mapping of the store at `location` is kept.
#[must_use]
pub fn mapping_path(dir: &Path, location: &str) -> PathBuf {
    dir.join(format!("{}.toml", super::store_identity(location)))
}

/// The applied mapping of the store at `location`, when there is one.
#[must_use]
pub fn saved_mapping(dir: &Path, location: &str) -> Option<PathBuf> {
    let path = mapping_path(dir, location);
    path.is_file().then_some(path)
}

/// Saves a mapping for the store at `location` and returns where it went.
///
/// # Errors
/// When the directory or the file cannot be written.
pub fn save_mapping(dir: &Path, location: &str, text: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = mapping_path(dir, location);
    std::fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_per_store_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let stores = tempfile::tempdir().unwrap();
        let (a, b) = (stores.path().join("a.db"), stores.path().join("b.db"));
        std::fs::write(&a, "").unwrap();
        std::fs::write(&b, "").unwrap();
        let (a, b) = (a.display().to_string(), b.display().to_string());
        assert_eq!(saved_mapping(dir.path(), &a), None);
        let saved = save_mapping(&dir.path().join("mappings"), &a, "x = 1").unwrap();
        assert_eq!(std::fs::read_to_string(&saved).unwrap(), "x = 1");
        assert_eq!(saved_mapping(&dir.path().join("mappings"), &a), Some(saved));
        assert_eq!(saved_mapping(&dir.path().join("mappings"), &b), None);
        assert!(
            !Path::new(&a).with_extension("toml").exists(),
            "nothing beside the store"
        );
    }
}
