//! Opening network namespaces and entering them for a short, synchronous
//! moment.

use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sched::{CloneFlags, setns};
use nix::sys::statfs::{NSFS_MAGIC, fstatfs};

use crate::Error;

/// The calling thread's own network namespace. `thread-self` rather than
/// `self`: after a setns only this thread has moved, not the whole process.
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

/// An opened network namespace (its fd kept open).
///
/// Holding the fd keeps the namespace alive and lets later calls refer to it
/// even if its path is unmounted in the meantime.
#[derive(Debug)]
pub struct Netns {
    file: File,
    path: PathBuf,
}

impl Netns {
    /// Opens the namespace at `path` (e.g. `/run/netns/x`, `/proc/<pid>/ns/net`).
    ///
    /// Fails with [`Error::NetnsNotFound`] when the path does not exist and
    /// [`Error::NotANetns`] when it is some other file, such as the leftover
    /// mount point of a deleted namespace.
    pub fn open(path: &Path) -> Result<Netns, Error> {
        let file = File::open(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::NetnsNotFound(path.to_path_buf()),
            _ => Error::OpenNetns {
                path: path.to_path_buf(),
                source,
            },
        })?;
        // Namespace files, whether a bind mount under /run/netns or a link
        // under /proc, resolve to an nsfs inode once opened.
        let fs = fstatfs(&file).map_err(|errno| Error::OpenNetns {
            path: path.to_path_buf(),
            source: errno.into(),
        })?;
        if fs.filesystem_type() != NSFS_MAGIC {
            return Err(Error::NotANetns(path.to_path_buf()));
        }
        Ok(Netns {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Opens the network namespace the calling thread is in right now.
    pub fn current() -> Result<Netns, Error> {
        Netns::open(Path::new(THREAD_NETNS))
    }

    /// The path this namespace was opened from, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw fd, for netlink attributes such as `IFLA_NET_NS_FD`; valid as
    /// long as `self` lives.
    pub fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Moves the calling thread into this namespace until the returned guard
    /// is dropped, which moves it back.
    ///
    /// Keep the guard's scope small and synchronous: never hold it across an
    /// `.await`, since on a current-thread runtime every other task would run
    /// in the wrong namespace. The guard is `!Send` so it cannot follow a
    /// future to another thread either.
    pub fn enter(&self) -> Result<NetnsGuard, Error> {
        // Open the way back before leaving, so restoring cannot fail on open.
        let original = Netns::current()?;
        setns(self.file.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| Error::EnterNetns {
            path: self.path.clone(),
            source,
        })?;
        Ok(NetnsGuard {
            original,
            _not_send: PhantomData,
        })
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// Keeps the thread inside a namespace; dropping it restores the namespace
/// the thread was in before [`Netns::enter`], on every path out of the scope,
/// including `?` and panics.
#[derive(Debug)]
#[must_use = "the thread returns to its namespace as soon as the guard is dropped"]
pub struct NetnsGuard {
    original: Netns,
    // A raw pointer makes the guard !Send: setns is per thread, so the
    // guard must be dropped on the thread that entered.
    _not_send: PhantomData<*const ()>,
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        if let Err(errno) = setns(self.original.file.as_fd(), CloneFlags::CLONE_NEWNET) {
            // Going back into a namespace we were in, through an fd we hold,
            // as the same privileged thread, cannot fail short of a kernel
            // bug. If it does, carrying on would run everything that follows
            // (netlink, OVSDB, files) in the pod's namespace: stop the process
            // instead, which is the only safe outcome.
            tracing::error!(
                netns = %self.original.path.display(),
                %errno,
                "cannot restore the thread's network namespace; aborting"
            );
            eprintln!(
                "netns: cannot restore network namespace {}: {errno}; aborting",
                self.original.path.display()
            );
            std::process::abort();
        }
    }
}
