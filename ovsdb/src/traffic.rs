//! What a connection has carried, so the plugin can log the cost of each
//! CNI call in bytes and show it does not grow with the network's size.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`crate::Client`]'s connection has carried since it was opened,
/// from [`crate::Client::traffic`]; all clones share one count.
///
/// Bytes are those of the OVSDB protocol as the connection task reads and
/// writes them: replies, update notifications, the server's echo probes
/// and our answers to them all count. Under TLS they are the decrypted
/// bytes: the handshake and the records' overhead are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes read from the server.
    pub bytes_read: u64,
    /// Bytes written to the server.
    pub bytes_written: u64,
    /// JSON-RPC requests sent (including `monitor_cancel`); answers to the
    /// server's own requests are not counted.
    pub requests: u64,
}

/// The running counts behind [`Traffic`], shared by the client handles
/// (requests) and the connection task (bytes). Relaxed atomics: each is an
/// independent tally, read only to be reported.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    requests: AtomicU64,
}

impl Counters {
    /// `n` bytes were read from the socket.
    pub(crate) fn read(&self, n: usize) {
        self.bytes_read.fetch_add(as_u64(n), Ordering::Relaxed);
    }

    /// `n` bytes were written to the socket.
    pub(crate) fn written(&self, n: usize) {
        self.bytes_written.fetch_add(as_u64(n), Ordering::Relaxed);
    }

    /// A request was handed to the connection.
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> Traffic {
        Traffic {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

/// A byte count as a u64; usize is at most 64 bits on every target.
fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
