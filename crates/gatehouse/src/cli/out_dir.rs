//! Directories gatehouse writes (`render --out`, `render --gitops`): a marker file lists what it
//! wrote, so the next run replaces exactly those files (never leaving stale ones) and a directory
//! with anybody else's files is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::error::{CliError, io};

/// The marker file, listing the files of the last write (one relative path a line).
pub const MARKER: &str = ".gatehouse-files";

/// The files gatehouse wrote into `dir` last time, or `None` for a new or empty directory.
/// A non-empty directory without the marker is refused before anything is written.
fn previous_files(dir: &Path) -> Result<Option<BTreeSet<String>>, CliError> {
    if !dir.exists() {
        return Ok(None);
    }
    let mut entries = std::fs::read_dir(dir).map_err(io("read directory", dir))?;
    if entries.next().is_none() {
        return Ok(None);
    }
    let marker = dir.join(MARKER);
    match std::fs::read_to_string(&marker) {
        Ok(text) => Ok(Some(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                // Only plain relative paths inside the directory are ever deleted.
                .filter(|l| {
                    Path::new(l)
                        .components()
                        .all(|c| matches!(c, std::path::Component::Normal(_)))
                })
                .map(String::from)
                .collect(),
        )),
        Err(_) => Err(CliError::ForeignDirectory {
            dir: dir.to_path_buf(),
            marker: MARKER,
        }),
    }
}

/// Writes `relative path → content` under `dir`, replacing gatehouse's earlier files there and
/// removing those no longer produced. Returns how many files were written.
pub fn write_files(dir: &Path, files: &BTreeMap<String, String>) -> Result<usize, CliError> {
    let previous = previous_files(dir)?.unwrap_or_default();
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("create directory", parent))?;
        }
        std::fs::write(&path, text).map_err(io("write", &path))?;
    }
    let mut marker =
        String::from("# Files written by gatehouse; the next run replaces exactly these.\n");
    for name in files.keys() {
        marker.push_str(name);
        marker.push('\n');
    }
    let marker_path = dir.join(MARKER);
    std::fs::write(&marker_path, marker).map_err(io("write", &marker_path))?;
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    for stale in previous.iter().filter(|p| !files.contains_key(*p)) {
        let path = dir.join(stale);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &path)(e)),
        }
        if let Some(parent) = path.parent().filter(|p| *p != dir) {
            parents.insert(parent.to_path_buf());
        }
    }
    // Directories emptied by the removal go too (deepest first); non-empty ones stay.
    for parent in parents.iter().rev() {
        let _ = std::fs::remove_dir(parent);
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> BTreeMap<String, String> {
        names
            .iter()
            .map(|n| (n.to_string(), format!("{n}\n")))
            .collect()
    }

    #[test]
    fn rewrites_replace_own_files_and_leave_no_stale_ones() {
        let dir = tempfile_dir();
        write_files(&dir, &files(&["a/x.yaml", "a/y.yaml", "v.yaml"])).unwrap();
        write_files(&dir, &files(&["a/x.yaml", "w.yaml"])).unwrap();
        assert!(dir.join("a/x.yaml").exists() && dir.join("w.yaml").exists());
        assert!(!dir.join("a/y.yaml").exists() && !dir.join("v.yaml").exists());
        write_files(&dir, &files(&["w.yaml"])).unwrap();
        assert!(!dir.join("a").exists(), "an emptied directory is removed");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_foreign_non_empty_directory_is_refused_untouched() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("mine.txt"), "keep").unwrap();
        let err = write_files(&dir, &files(&["x.yaml"])).unwrap_err();
        assert!(matches!(err, CliError::ForeignDirectory { .. }), "{err}");
        assert!(!dir.join("x.yaml").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("mine.txt")).unwrap(),
            "keep"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-out-dir-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}
