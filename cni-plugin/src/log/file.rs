//! Opening and rotating the log file. The plugin runs as root, so the file is
//! never reached through a symlink and must be a regular file (a FIFO would
//! block the call, a device would receive the log). Many short-lived plugin
//! processes share it, so rotation is decided once per process, under an
//! exclusive `flock`, and only by a process whose file is still the one the
//! path names.

use std::ffi::OsString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

/// When the log file is rotated and how many rotated files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Size at or above which the file is rotated.
    pub max_bytes: u64,
    /// Rotated files kept (`<file>.1` newest ... `<file>.N` oldest), at least 1.
    pub max_files: u32,
}

/// Longest wait for another process's rotation. Rotating is a few renames;
/// a lock held longer is stuck, and the CNI call matters more than keeping
/// the file under its limit this once.
const LOCK_WAIT: Duration = Duration::from_secs(2);
/// Pause between attempts at the lock.
const LOCK_POLL: Duration = Duration::from_millis(5);
/// Opens of the path before settling for the file in hand. Each reopen
/// follows a rotation, so a second one is already rare.
const OPEN_ATTEMPTS: usize = 4;

/// Opens `path` for appending, creating it (0640) and its directory (0750)
/// when missing, after rotating it if it has reached `rotation.max_bytes`.
/// Refuses a symlink, a file with other hard links, and anything but a
/// regular file; fails rather than blocks.
pub fn open(path: &Path, rotation: Rotation) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        DirBuilder::new().recursive(true).mode(0o750).create(dir)?;
    }
    let mut file = open_regular(path)?;
    for _ in 1..OPEN_ATTEMPTS {
        if file.metadata()?.len() < rotation.max_bytes {
            break;
        }
        match rotate_if_current(file, path, rotation)? {
            Outcome::Keep(kept) => return Ok(kept),
            Outcome::Reopen => file = open_regular(path)?,
        }
    }
    Ok(file)
}

/// What to do after trying to rotate a full file.
enum Outcome {
    /// Append to this file (another process holds the lock too long).
    Keep(File),
    /// The path names a new file now: open it.
    Reopen,
}

/// Rotates the full `file` if, once locked, the path still names it and it
/// is still full. A process that waited while another rotated finds the
/// path moved on and just reopens, so concurrent callers rotate once.
fn rotate_if_current(file: File, path: &Path, rotation: Rotation) -> io::Result<Outcome> {
    let locked = match lock_exclusive(file)? {
        Lock::Held(locked) => locked,
        Lock::Busy(file) => return Ok(Outcome::Keep(file)),
    };
    let held = locked.metadata()?;
    let current = match std::fs::symlink_metadata(path) {
        Ok(named) => named.dev() == held.dev() && named.ino() == held.ino(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(err) => return Err(err),
    };
    if current && held.len() >= rotation.max_bytes {
        shift(path, rotation.max_files)?;
    }
    // The lock goes with the old file; the reopen finds the new one.
    drop(locked);
    Ok(Outcome::Reopen)
}

/// The outcome of waiting for the rotation lock.
enum Lock {
    Held(Flock<File>),
    Busy(File),
}

/// Takes `flock(LOCK_EX)` on `file`, polling with `LOCK_NB` so that a stuck
/// holder delays the call by [`LOCK_WAIT`] at most.
fn lock_exclusive(mut file: File) -> io::Result<Lock> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => return Ok(Lock::Held(locked)),
            Err((back, Errno::EWOULDBLOCK | Errno::EINTR)) => {
                if Instant::now() >= deadline {
                    return Ok(Lock::Busy(back));
                }
                file = back;
                std::thread::sleep(LOCK_POLL);
            }
            Err((_, errno)) => return Err(errno.into()),
        }
    }
}

/// `<path>.{N-1}` -> `<path>.N`, ..., `<path>` -> `<path>.1`. The rename onto
/// `<path>.N` drops the oldest file, so at most `keep` rotated files exist.
fn shift(path: &Path, keep: u32) -> io::Result<()> {
    for n in (1..keep.max(1)).rev() {
        match std::fs::rename(numbered(path, n), numbered(path, n + 1)) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    std::fs::rename(path, numbered(path, 1))
}

/// `<path>.n`.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Opens `path` for appending without following a final symlink or waiting
/// on a FIFO, then checks what was opened: `O_NONBLOCK` makes a FIFO without
/// a reader fail (ENXIO) and one with a reader open, so the type is checked
/// on the descriptor, not on the path.
fn open_regular(path: &Path) -> io::Result<File> {
    let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(code) if code == Errno::ELOOP as i32 => {
                io::Error::other("is a symbolic link, which is not followed")
            }
            // What O_NONBLOCK turns a FIFO without reader (or a device
            // without its device) into.
            Some(code) if code == Errno::ENXIO as i32 => {
                io::Error::other("is not a regular file (a FIFO or device)")
            }
            _ => err,
        })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::other("is not a regular file"));
    }
    // A second name for the file is how a link planted in the log
    // directory would point our appends at another file.
    if meta.nlink() > 1 {
        return Err(io::Error::other("has other hard links"));
    }
    Ok(file)
}
