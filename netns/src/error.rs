//! The one error type of this crate.
//!
//! Every message names the interface, namespace or address it is about, so
//! the CNI error the plugin prints is actionable without the log file.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while working on network namespaces.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The namespace path does not exist (a deleted pod, a typo in CNI_NETNS).
    #[error("network namespace {0} not found")]
    NetnsNotFound(PathBuf),

    /// The path exists but is not a network namespace: a stale
    /// `/run/netns/<name>` file whose bind mount is gone, a FIFO, socket,
    /// directory or device, or a namespace of another type (`/proc/1/ns/mnt`).
    #[error("{0} is not a network namespace")]
    NotANetns(PathBuf),

    /// Opening or inspecting the namespace file failed for another reason.
    #[error("cannot open network namespace {path}: {source}")]
    OpenNetns {
        /// The namespace file.
        path: PathBuf,
        /// The underlying failure.
        source: io::Error,
    },

    /// `setns(2)` into the namespace failed.
    #[error("cannot enter network namespace {path}: {source}")]
    EnterNetns {
        /// The namespace the thread was to enter.
        path: PathBuf,
        /// The errno of setns.
        source: nix::Error,
    },

    /// A netlink handle was asked for outside a tokio runtime, where its
    /// connection task cannot be spawned.
    #[error("a netlink handle for {0} must be created inside a tokio runtime")]
    NoRuntime(PathBuf),

    /// The netlink socket could not be opened in the namespace.
    #[error("cannot open a netlink socket in {path}: {source}")]
    NetlinkSocket {
        /// The namespace the socket was to live in.
        path: PathBuf,
        /// The underlying failure.
        source: io::Error,
    },

    /// An interface of that name already exists where one was to be created
    /// (CNI ADD must fail when `CNI_IFNAME` is taken).
    #[error("interface {0} already exists")]
    LinkExists(String),

    /// An interface that should exist does not.
    #[error("interface {name} not found in {netns}")]
    LinkNotFound {
        /// The interface name.
        name: String,
        /// The namespace searched.
        netns: PathBuf,
    },

    /// A link that was to be deleted as a veth is some other kind of link:
    /// it was left in place. Teardown can log this and carry on, since that
    /// interface is not one the plugin made.
    #[error("interface {name} in {netns} is not a veth (link kind {kind}); left in place")]
    NotAVeth {
        /// The interface name.
        name: String,
        /// The namespace it is in.
        netns: PathBuf,
        /// Its link kind, e.g. `bridge`, or `none` for `lo` and physical NICs.
        kind: String,
    },

    /// A netlink request failed; `action` says which one, on what, where.
    #[error("{action}: {source}")]
    Netlink {
        /// What was being done, e.g. "add address 10.0.0.5/24 to eth0 in /run/netns/x".
        action: String,
        /// The error from rtnetlink; its errno is available through [`Error::errno`].
        source: rtnetlink::Error,
    },

    /// A route that cannot be expressed (e.g. an IPv4 destination via an IPv6
    /// gateway).
    #[error("invalid route {destination} via {gateway}: {reason}")]
    InvalidRoute {
        /// The destination prefix, as given.
        destination: String,
        /// The gateway, as given.
        gateway: String,
        /// Why it was refused.
        reason: String,
    },

    /// A kernel reply lacked something it always carries (e.g. a link
    /// without a MAC address).
    #[error("unexpected netlink reply for {0}")]
    UnexpectedReply(String),

    /// A sysctl does not exist in that namespace (IPv6 disabled, no such
    /// interface).
    #[error("sysctl {key} does not exist in {netns}")]
    SysctlMissing {
        /// The key under /proc/sys, e.g. `net/ipv6/conf/eth0/accept_dad`.
        key: String,
        /// The namespace it was looked up in.
        netns: PathBuf,
    },

    /// Reading or writing a sysctl failed.
    #[error("sysctl {key} in {netns}: {source}")]
    Sysctl {
        /// The key under /proc/sys.
        key: String,
        /// The namespace.
        netns: PathBuf,
        /// The underlying failure.
        source: io::Error,
    },

    /// Changing an offload setting through the ethtool ioctl failed.
    #[error("cannot change {feature} on {name} in {netns}: {source}")]
    Offload {
        /// The offload, e.g. "tx checksumming".
        feature: &'static str,
        /// The interface.
        name: String,
        /// The namespace.
        netns: PathBuf,
        /// The errno of the socket or ioctl.
        source: nix::Error,
    },

    /// Setup failed and undoing it failed too: both are reported so nothing
    /// left behind goes unnoticed.
    #[error("{error} (cleanup also failed: {cleanup})")]
    Cleanup {
        /// The failure that triggered the cleanup.
        error: Box<Error>,
        /// The failure of the cleanup itself.
        cleanup: Box<Error>,
    },
}

impl Error {
    /// The positive errno of a failed netlink request (e.g. `libc::EEXIST`),
    /// so callers match on codes, never on message text.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Netlink { source, .. } => netlink_errno(source),
            Error::Cleanup { error, .. } => error.errno(),
            _ => None,
        }
    }
}

/// The positive errno carried by an rtnetlink error, if it is a kernel NACK.
pub(crate) fn netlink_errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        // The kernel sends negative errno values in NLMSG_ERROR.
        rtnetlink::Error::NetlinkError(msg) => Some(-msg.raw_code()),
        _ => None,
    }
}
