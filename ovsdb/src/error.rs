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
    /// The connection closed before the answer arrived.
    #[error("OVSDB connection closed")]
    Disconnected,
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
