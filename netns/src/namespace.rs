//! Opening network namespaces and entering them for a short, synchronous
//! moment.

use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::sched::{CloneFlags, setns};
use nix::sys::stat::fstat;
use nix::sys::statfs::{NSFS_MAGIC, fstatfs};

use crate::Error;

/// The calling thread's own network namespace. `thread-self` rather than
/// `self`: after a setns only this thread has moved, not the whole process.
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

// NS_GET_NSTYPE from <linux/nsfs.h>: `_IO(0xb7, 0x3)`, answers the
// CLONE_NEW* flag of the namespace an nsfs fd refers to (Linux 4.11+).
nix::ioctl_none!(
    /// `ioctl(fd, NS_GET_NSTYPE)`: the `CLONE_NEW*` type of an nsfs fd.
    ns_get_nstype,
    0xb7,
    0x3
);

/// An opened network namespace (its fd kept open).
///
/// Holding the fd keeps the namespace alive and lets later calls refer to it
/// even if its path is unmounted in the meantime.
#[derive(Debug)]
pub struct Netns {
    file: File,
    path: PathBuf,
    /// `(st_dev, st_ino)` of the namespace file: what identifies a namespace
    /// (namespaces(7)), recorded at open so comparing cannot fail later.
    id: (libc::dev_t, libc::ino_t),
}

impl Netns {
    /// Opens the namespace at `path` (e.g. `/run/netns/x`, `/proc/<pid>/ns/net`).
    ///
    /// `path` may come from a hostile pod spec, so opening it never blocks
    /// and never has the side effects of opening a device: anything but a
    /// network namespace gives [`Error::NotANetns`] (a FIFO, a socket, a
    /// directory, a device, a regular file, the leftover mount point of a
    /// deleted namespace, or a namespace of another type such as
    /// `/proc/1/ns/mnt`). A missing path gives [`Error::NetnsNotFound`].
    pub fn open(path: &Path) -> Result<Netns, Error> {
        let not_a_netns = || Error::NotANetns(path.to_path_buf());
        let failed = |source: io::Error| Error::OpenNetns {
            path: path.to_path_buf(),
            source,
        };
        // O_PATH resolves the path (following /proc/<pid>/ns/* magic links)
        // without opening the file itself: no FIFO open that waits for a
        // writer, no ENXIO from a socket, no driver open() of a device (a
        // watchdog starts ticking when opened). Everything below then works
        // on this one resolved inode, so swapping the path afterwards
        // changes nothing (no TOCTOU).
        let located = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(path)
            .map_err(|source| match source.raw_os_error() {
                // ENOTDIR: a component of the path is a file, so the path
                // does not exist either.
                Some(libc::ENOENT | libc::ENOTDIR) => Error::NetnsNotFound(path.to_path_buf()),
                _ => failed(source),
            })?;
        // Namespace files, whether a bind mount under /run/netns or a link
        // under /proc, resolve to an nsfs inode. Checked before the reopen
        // below, which must only ever open nsfs files.
        let fs = fstatfs(&located).map_err(|errno| failed(errno.into()))?;
        if fs.filesystem_type() != NSFS_MAGIC {
            return Err(not_a_netns());
        }
        // An O_PATH fd cannot be passed to setns or IFLA_NET_NS_FD, nor take
        // ioctls: reopen the same inode for reading through its /proc fd
        // link, which the kernel follows to that file, not to `path` again.
        // Opening an nsfs file has no side effects; O_NONBLOCK and O_NOCTTY
        // are there only so that this can never block or grab a terminal.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(format!("/proc/self/fd/{}", located.as_raw_fd()))
            .map_err(failed)?;
        // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd,
        // which `file` keeps open for the duration of the call.
        let nstype =
            unsafe { ns_get_nstype(file.as_raw_fd()) }.map_err(|errno| failed(errno.into()))?;
        if nstype != libc::CLONE_NEWNET {
            return Err(not_a_netns());
        }
        let stat = fstat(&file).map_err(|errno| failed(errno.into()))?;
        Ok(Netns {
            file,
            path: path.to_path_buf(),
            id: (stat.st_dev, stat.st_ino),
        })
    }

    /// Whether `self` and `other` are the same network namespace, however
    /// each was opened (e.g. `/proc/1/ns/net` and a bind mount of it), so
    /// the plugin can refuse a `CNI_NETNS` that is the node's namespace or
    /// its own.
    pub fn same_namespace(&self, other: &Netns) -> bool {
        self.id == other.id
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
