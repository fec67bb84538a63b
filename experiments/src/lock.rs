//! The lock that keeps two `linger` processes out of one results directory.
//!
//! `linger sweep` and `linger merge --out` hold an exclusive advisory lock on `DIR/linger.lock`
//! for as long as they write the directory. The lock belongs to the open file, so the operating
//! system drops it when the process ends in any way (exit, panic, kill -9): a stale lock never
//! blocks a later run. The holder writes its process id into the file, only so that a refused
//! process can name it; the pid is never used to decide anything.
//!
//! The file is left in place after the lock is released. Removing it on release would let a
//! third process lock a new file of the same name while a second one holds the old, unlinked
//! one, and two writers would each believe they are alone.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Result};

/// The lock file's name inside a results directory.
pub const LOCK_FILE: &str = "linger.lock";

/// An exclusive lock on a results directory, held until this value is dropped.
#[derive(Debug)]
pub struct DirLock {
    /// The open lock file; closing it releases the lock.
    file: fs::File,
    path: PathBuf,
}

impl DirLock {
    /// Creates `dir` if it is missing and takes its lock, or refuses (bad input, exit code 2)
    /// when another process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        if dir.exists() && !dir.is_dir() {
            return Err(InputError::new(format!(
                "--out {}: exists and is not a directory",
                dir.display()
            ))
            .into());
        }
        fs::create_dir_all(dir).map_err(|error| Error::io(dir, error))?;
        let path = dir.join(LOCK_FILE);
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|error| Error::io(&path, error))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(held_elsewhere(dir, &mut file).into());
            }
            Err(fs::TryLockError::Error(error)) => return Err(Error::io(&path, error)),
        }
        let mut lock = DirLock { file, path };
        lock.write_pid()
            .map_err(|error| Error::io(&lock.path, error))?;
        Ok(lock)
    }

    fn write_pid(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file
            .write_all(format!("{}\n", std::process::id()).as_bytes())?;
        self.file.flush()
    }
}

/// The refusal when another process holds the lock, naming it by the pid it wrote.
fn held_elsewhere(dir: &Path, file: &mut fs::File) -> InputError {
    let mut text = String::new();
    // The holder may be between truncating the file and writing its pid; then it is unnamed.
    let holder = match file.read_to_string(&mut text) {
        Ok(_) if !text.trim().is_empty() => format!("pid {}", text.trim()),
        _ => "pid unknown".to_string(),
    };
    InputError::new(format!(
        "--out {}: another linger process ({holder}) is writing this directory \
         (it holds {}); wait for it to finish or choose another directory",
        dir.display(),
        dir.join(LOCK_FILE).display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("linger-lock-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_and_freed_on_drop() {
        let dir = temp_dir("twice");
        let first = DirLock::acquire(&dir).expect("the first lock is free");
        let pid = std::process::id().to_string();
        assert_eq!(
            fs::read_to_string(dir.join(LOCK_FILE)).expect("lock file"),
            format!("{pid}\n")
        );
        let error = DirLock::acquire(&dir).expect_err("the directory is locked");
        assert_eq!(error.exit_code(), 2);
        let message = error.to_string();
        assert!(message.contains(&format!("(pid {pid})")), "{message}");
        assert!(message.contains(&dir.display().to_string()), "{message}");
        drop(first);
        let again = DirLock::acquire(&dir).expect("a released lock can be taken again");
        drop(again);
        fs::remove_dir_all(&dir).expect("cleans up");
    }

    #[test]
    fn a_file_in_place_of_the_directory_is_bad_input() {
        let dir = temp_dir("file");
        fs::write(&dir, "not a directory").expect("writes");
        let error = DirLock::acquire(&dir).expect_err("not a directory");
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("is not a directory"), "{error}");
        fs::remove_file(&dir).expect("cleans up");
    }
}
