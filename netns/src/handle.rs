//! A netlink connection bound to one network namespace.

use std::path::{Path, PathBuf};

use crate::{Error, Netns};

/// A netlink handle whose socket lives in one namespace.
///
/// A netlink socket talks to the namespace it was created in for its whole
/// life, so one handle per namespace is enough and no request ever needs the
/// thread to switch namespaces.
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) inner: rtnetlink::Handle,
    netns: PathBuf,
}

impl Handle {
    /// Opens a netlink socket inside `ns` and spawns its connection task on
    /// the current tokio runtime; the thread is back in its own namespace when
    /// this returns.
    ///
    /// Must be called from within a tokio runtime ([`Error::NoRuntime`]
    /// otherwise). The connection task ends when the last clone of the handle
    /// is dropped.
    pub fn new(ns: &Netns) -> Result<Handle, Error> {
        // Checked first so a missing runtime is an error, not a panic in
        // tokio::spawn, and before the thread leaves its namespace.
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::NoRuntime(ns.path().to_path_buf()))?;
        let (connection, inner, _) = {
            let _guard = ns.enter()?;
            // Only the socket(2) call needs to happen inside: the socket
            // keeps its namespace after the guard restores the thread's.
            rtnetlink::new_connection().map_err(|source| Error::NetlinkSocket {
                path: ns.path().to_path_buf(),
                source,
            })?
        };
        runtime.spawn(connection);
        Ok(Handle {
            inner,
            netns: ns.path().to_path_buf(),
        })
    }

    /// The path of the namespace this handle works in, for messages.
    pub fn netns_path(&self) -> &Path {
        &self.netns
    }

    /// The underlying rtnetlink handle, for requests this crate does not wrap.
    pub fn rtnetlink(&self) -> &rtnetlink::Handle {
        &self.inner
    }

    /// Wraps an rtnetlink error with what was being done and where.
    pub(crate) fn failed(&self, action: impl std::fmt::Display, source: rtnetlink::Error) -> Error {
        Error::Netlink {
            action: format!("{action} in {}", self.netns.display()),
            source,
        }
    }
}
