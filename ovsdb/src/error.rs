//! The one error type of the crate: every failure a caller may want to tell
//! apart (retry on conflict, duplicate key, lost connection) is its own variant.

/// Everything that can go wrong talking to an OVSDB server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The remote string is malformed (no method, no port, empty path...).
    #[error("invalid OVSDB remote {0:?}")]
    InvalidRemote(String),
    /// An `ssl:` remote (named) was given without TLS settings.
    #[error(
        "OVSDB remote {0} needs TLS settings (`tls` in the node config: privateKey, certificate, caCert)"
    )]
    TlsRequired(String),
    /// A TLS file (private key, certificate, CA certificate) cannot be read
    /// or used; `path` names it.
    #[error("TLS {what} {}: {reason}", path.display())]
    TlsFile {
        /// Which file: "private key", "certificate" or "CA certificate".
        what: &'static str,
        /// The file at fault.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS handshake with an `ssl:` remote failed, e.g. its certificate
    /// does not verify against the CA, or it refused ours.
    #[error("TLS handshake failed: {0}")]
    TlsHandshake(std::io::Error),
    /// No remote of the list answered; `remotes` names each one with its reason.
    #[error("cannot connect to any OVSDB remote: {remotes}: {reason}")]
    Connect {
        /// The remotes that were tried, comma-separated.
        remotes: String,
        /// Each remote with the reason it failed, `; `-separated.
        reason: String,
    },
    /// The server holds clustered database(s) (named) but is not connected to
    /// the cluster, so it cannot serve them.
    #[error("server is not connected to the cluster of database {0}")]
    ClusterDisconnected(String),
    /// Reading or writing the socket failed.
    #[error("OVSDB I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent something that is not valid JSON-RPC / RFC 7047.
    #[error("OVSDB protocol error: {0}")]
    Protocol(String),
    /// The server closed the connection (or it was closed on our side)
    /// before the answer arrived.
    #[error("OVSDB connection closed")]
    Disconnected,
    /// The server (named) sent a message larger than the client accepts
    /// ([`crate::MAX_MESSAGE_BYTES`] unless set otherwise): the connection
    /// was closed rather than buffer it. A retry would get the same answer.
    #[error("OVSDB message from {remote} exceeds the limit of {}", bytes_text(*limit))]
    MessageTooLarge {
        /// The remote that sent it.
        remote: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection to the remote (named) failed before the answer
    /// arrived: a read or write error, or bytes that are not JSON-RPC.
    #[error("OVSDB connection to {remote} lost: {reason}")]
    ConnectionLost {
        /// The remote the connection was to.
        remote: String,
        /// What went wrong, e.g. the I/O or protocol error.
        reason: String,
    },
    /// Operation `index` of a transaction failed (the index may equal the
    /// number of operations when the commit itself failed).
    #[error("OVSDB operation {index} failed: {error}: {details}")]
    OperationFailed {
        /// Position of the failed operation in the transaction.
        index: usize,
        /// RFC 7047 `error` string, e.g. `timed out`, `constraint violation`.
        error: String,
        /// RFC 7047 `details`, empty when the server gave none.
        details: String,
    },
    /// The JSON-RPC reply carried a top-level `error`.
    #[error("OVSDB request failed: {0}")]
    Rpc(String),
    /// Waiting for something took longer than allowed; the text says what.
    #[error("timed out waiting for {0}")]
    Timeout(String),
}

impl Error {
    /// True when a `wait` operation did not hold (RFC 7047 reports it as
    /// "timed out" because we send `timeout: 0`): the data changed since the
    /// caller read it, so the caller re-reads and retries.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::OperationFailed { error, .. } if error == "timed out")
    }

    /// True for "constraint violation", e.g. a duplicate key of a table index.
    pub fn is_constraint_violation(&self) -> bool {
        matches!(self, Error::OperationFailed { error, .. } if error == "constraint violation")
    }
}

/// A byte count as people write limits: `64 MiB`, `512 KiB`, `1000 bytes`.
fn bytes_text(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    match n {
        0 => "0 bytes".to_string(),
        n if n % MIB == 0 => format!("{} MiB", n / MIB),
        n if n % KIB == 0 => format!("{} KiB", n / KIB),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_names_the_remote_and_the_limit() {
        let err = Error::MessageTooLarge {
            remote: "unix:/tmp/x.sock".into(),
            limit: 64 * 1024 * 1024,
        };
        assert_eq!(
            err.to_string(),
            "OVSDB message from unix:/tmp/x.sock exceeds the limit of 64 MiB"
        );
        assert_eq!(bytes_text(512 * 1024), "512 KiB");
        // Not a whole number of KiB: exact bytes rather than a rounded figure.
        assert_eq!(bytes_text(1536), "1536 bytes");
        assert_eq!(bytes_text(0), "0 bytes");
    }
}
