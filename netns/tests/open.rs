//! Root tests of `Netns::open` on paths that are not network namespaces, as
//! a hostile `CNI_NETNS` could name, and of `Netns::same_namespace`.

mod common;

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use common::{TempDir, TempNetns};
use netns::{Error, Netns};

/// Runs `Netns::open(path)` on a thread of its own and fails the test if it
/// has not returned within a few seconds, so that a regression that blocks
/// (e.g. on a FIFO) fails instead of hanging the suite.
fn open_in_time(path: &Path) -> Result<Netns, Error> {
    let (tx, rx) = mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        // The receiver is gone only when the test already failed.
        let _ = tx.send(Netns::open(&owned));
    });
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("Netns::open({}) did not return: {e}", path.display()))
}

/// Asserts that `path` is refused as [`Error::NotANetns`] naming it.
fn assert_not_a_netns(path: &Path) {
    common::require_root();
    let err = open_in_time(path).expect_err("not a network namespace");
    assert!(
        matches!(&err, Error::NotANetns(p) if p == path),
        "{}: {err:?}",
        path.display()
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn missing_path_is_not_found() {
    common::require_root();
    let path = Path::new("/run/netns/does-not-exist-netns-test");
    let err = open_in_time(path).expect_err("missing");
    assert!(
        matches!(&err, Error::NetnsNotFound(p) if p == path),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("does-not-exist-netns-test"),
        "{err}"
    );
    // A path through a regular file cannot exist either.
    let err = open_in_time(Path::new("/proc/self/status/net")).expect_err("missing");
    assert!(matches!(err, Error::NetnsNotFound(_)), "{err:?}");
}

#[test]
fn fifo_is_refused_without_blocking() {
    let dir = TempDir::new("fifo");
    let fifo = dir.path.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    assert_not_a_netns(&fifo);
    // Also when reached through a symlink, as a /run/netns entry could be.
    let link = dir.path.join("link");
    std::os::unix::fs::symlink(&fifo, &link).expect("symlink");
    assert_not_a_netns(&link);
}

#[test]
fn unix_socket_is_refused() {
    let dir = TempDir::new("sock");
    let path = dir.path.join("sock");
    let _listener = UnixListener::bind(&path).expect("bind");
    assert_not_a_netns(&path);
}

#[test]
fn regular_files_are_refused() {
    let dir = TempDir::new("file");
    let path = dir.path.join("file");
    std::fs::write(&path, "not a namespace").expect("write");
    assert_not_a_netns(&path);
    // A file on procfs, not on a normal filesystem.
    assert_not_a_netns(Path::new("/proc/self/status"));
}

#[test]
fn directories_are_refused() {
    let dir = TempDir::new("dir");
    assert_not_a_netns(&dir.path);
    assert_not_a_netns(Path::new("/proc/self/ns"));
}

#[test]
fn devices_are_refused() {
    assert_not_a_netns(Path::new("/dev/null"));
}

#[test]
fn namespaces_of_other_types_are_refused() {
    for kind in ["mnt", "uts", "ipc", "pid", "user", "cgroup"] {
        assert_not_a_netns(&PathBuf::from(format!("/proc/self/ns/{kind}")));
    }
    // Not every kernel has time namespaces.
    let time = Path::new("/proc/self/ns/time");
    if time.exists() {
        assert_not_a_netns(time);
    }
}

#[test]
fn network_namespaces_open() {
    common::require_root();
    for path in ["/proc/self/ns/net", "/proc/thread-self/ns/net"] {
        let ns = open_in_time(Path::new(path)).expect("a network namespace");
        assert_eq!(ns.path(), Path::new(path));
    }
    let temp = TempNetns::new("open");
    open_in_time(&temp.path()).expect("a bind-mounted network namespace");
}

#[test]
fn same_namespace_compares_the_namespace_not_the_path() {
    common::require_root();
    let process = Netns::open(Path::new("/proc/self/ns/net")).expect("open");
    let thread = Netns::open(Path::new("/proc/thread-self/ns/net")).expect("open");
    assert!(process.same_namespace(&thread));
    assert!(thread.same_namespace(&process));

    let temp = TempNetns::new("same");
    let other = Netns::open(&temp.path()).expect("open");
    assert!(!other.same_namespace(&process));
    assert!(!process.same_namespace(&other));

    // The bind mount under /run/netns and the /proc link of a thread inside
    // that namespace are one namespace.
    let inside = {
        let _guard = other.enter().expect("enter");
        Netns::current().expect("current")
    };
    assert!(inside.same_namespace(&other));
    assert!(!inside.same_namespace(&thread));
}
