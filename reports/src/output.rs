//! Writing output files without leaving partial ones behind: everything is written to a hidden
//! temporary name in the destination directory and renamed into place only once complete.

use std::path::{Path, PathBuf};

use crate::error::ReportError;

/// A file staged under a temporary name, renamed into place by [`commit_all`].
pub(crate) struct Staged {
    /// The temporary path.
    pub temp: PathBuf,
    /// The final path.
    pub target: PathBuf,
}

/// The temporary name used for `target`: same directory, hidden, keeping the extension (the
/// PNG encoder chooses its format by extension).
pub(crate) fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_owned(), format!(".{e}")),
        None => (name.clone(), String::new()),
    };
    target.with_file_name(format!(".{stem}.tmp-{}{ext}", std::process::id()))
}

/// Creates the parent directory of `target` if needed.
pub(crate) fn ensure_parent(target: &Path) -> Result<(), ReportError> {
    match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|e| ReportError::io(parent, e))
        }
        _ => Ok(()),
    }
}

/// Creates the parent directory of `target` if it is missing; returns it when this call created
/// it, so that a later failure can remove it again with [`remove_created_dirs`].
pub(crate) fn create_parent(target: &Path) -> Result<Option<PathBuf>, ReportError> {
    match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !parent.exists() => {
            std::fs::create_dir_all(parent).map_err(|e| ReportError::io(parent, e))?;
            Ok(Some(parent.to_path_buf()))
        }
        _ => Ok(None),
    }
}

/// Removes directories made by [`create_parent`] after an error; a directory that is no longer
/// empty (someone else wrote into it) is kept.
pub(crate) fn remove_created_dirs(dirs: &[PathBuf]) {
    for dir in dirs.iter().rev() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Writes `bytes` to a temporary name for `target`.
pub(crate) fn stage_bytes(target: &Path, bytes: &[u8]) -> Result<Staged, ReportError> {
    ensure_parent(target)?;
    let temp = temp_path(target);
    std::fs::write(&temp, bytes).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        ReportError::io(target, e)
    })?;
    Ok(Staged {
        temp,
        target: target.to_path_buf(),
    })
}

/// Renames every staged file into place; returns the final paths. On failure the remaining
/// temporary files are removed.
pub(crate) fn commit_all(staged: Vec<Staged>) -> Result<Vec<PathBuf>, ReportError> {
    let mut done = Vec::with_capacity(staged.len());
    let mut iter = staged.into_iter();
    while let Some(file) = iter.next() {
        if let Err(e) = std::fs::rename(&file.temp, &file.target) {
            let _ = std::fs::remove_file(&file.temp);
            discard(iter.collect());
            return Err(ReportError::io(&file.target, e));
        }
        done.push(file.target);
    }
    Ok(done)
}

/// Removes staged temporary files after an error.
pub(crate) fn discard(staged: Vec<Staged>) {
    for file in staged {
        let _ = std::fs::remove_file(&file.temp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_path_keeps_directory_and_extension() {
        let t = temp_path(Path::new("out/plots/throughput.png"));
        assert_eq!(t.parent(), Some(Path::new("out/plots")));
        let name = t
            .file_name()
            .expect("has a name")
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(".throughput.tmp-"), "{name}");
        assert!(name.ends_with(".png"), "{name}");
    }
}
