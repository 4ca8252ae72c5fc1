//! The client handle: sends JSON-RPC requests over the one connection
//! (opened by [`Client::connect`], in `connect.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value as Json, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use crate::connection::{self, Closed, Shared, lock};
use crate::monitor::{ColumnKinds, Monitor};
use crate::result::parse_transact_result;
use crate::traffic::Counters;
use crate::{Condition, Error, OpResult, Operation, Row, Traffic, deadline};

/// How long a request may wait for its reply. A server that accepted the
/// connection but stopped answering (stuck, or a cluster member that lost
/// quorum) must not hang the caller until its own caller gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A connection to one OVSDB server. Cloning is cheap and every clone uses
/// the same connection; it closes when the last clone (and the last
/// [`Monitor`]) is dropped.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    shared: Arc<Mutex<Shared>>,
    /// Bytes (counted by the connection task) and requests.
    counters: Arc<Counters>,
    next_id: AtomicU64,
    remote: String,
    /// [`REQUEST_TIMEOUT`] unless set otherwise, in milliseconds.
    request_timeout_ms: AtomicU64,
    /// Column kinds by (db, table), so each monitor does not fetch the
    /// (large) schema again; a schema changes only on a server upgrade,
    /// which drops the connection anyway.
    kinds: Mutex<HashMap<(String, String), ColumnKinds>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("remote", &self.inner.remote)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Wraps an already connected stream (any transport) and spawns its
    /// connection task; must be called inside a tokio runtime.
    pub fn from_stream<S>(stream: S, remote: impl Into<String>) -> Client
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (outgoing, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let counters = Arc::new(Counters::default());
        let remote = remote.into();
        let task = connection::run(stream, rx, shared.clone(), counters.clone(), remote.clone());
        tokio::spawn(task);
        Client {
            inner: Arc::new(Inner {
                outgoing,
                shared,
                counters,
                next_id: AtomicU64::new(1),
                remote,
                request_timeout_ms: AtomicU64::new(deadline::millis(REQUEST_TIMEOUT)),
                kinds: Mutex::default(),
            }),
        }
    }

    /// Sets how long each request waits for its reply (all clones share
    /// it); a timeout of a century or more, such as `Duration::MAX`, means
    /// no limit.
    pub fn set_request_timeout(&self, timeout: Duration) {
        self.inner
            .request_timeout_ms
            .store(deadline::millis(timeout), Ordering::Relaxed);
    }

    /// Sets the largest message accepted from the server, in bytes
    /// ([`crate::MAX_MESSAGE_BYTES`] unless set; all clones share it),
    /// from the next read on. A longer message closes the connection and
    /// fails what waits with [`Error::MessageTooLarge`].
    pub fn set_max_message_size(&self, bytes: usize) {
        lock(&self.inner.shared).max_message_bytes = bytes;
    }

    /// The remote this client is connected to, for logs and errors.
    pub fn remote(&self) -> &str {
        &self.inner.remote
    }

    /// What the connection has carried so far (bytes each way, requests
    /// sent), for all clones together; see [`Traffic`].
    pub fn traffic(&self) -> Traffic {
        self.inner.counters.snapshot()
    }

    /// False once the connection has closed; every later call fails with
    /// the reason: [`Error::Disconnected`] when the server closed it,
    /// [`Error::MessageTooLarge`] or [`Error::ConnectionLost`] otherwise.
    pub fn is_connected(&self) -> bool {
        lock(&self.inner.shared).closed.is_none()
    }

    /// Why the connection ended, for a caller that found it gone.
    pub(crate) fn closed_error(&self) -> Error {
        lock(&self.inner.shared)
            .closed
            .as_ref()
            .map_or(Error::Disconnected, Closed::error)
    }

    fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Hands a request to the connection task and counts it; false when
    /// the task has ended.
    fn send(&self, message: &Json) -> bool {
        let bytes = message.to_string().into_bytes();
        let sent = self.inner.outgoing.send(bytes).is_ok();
        if sent {
            self.inner.counters.request();
        }
        sent
    }

    /// Sends one JSON-RPC request and waits for its result.
    pub async fn request(&self, method: &str, params: Json) -> Result<Json, Error> {
        let id = self.next_id();
        let (tx, rx) = oneshot::channel();
        {
            let mut state = lock(&self.inner.shared);
            state.check_open()?;
            state.pending.insert(id, tx);
        }
        let message = json!({"method": method, "params": params, "id": id});
        if !self.send(&message) {
            // The task has ended (its receiver is gone), so closed is set.
            lock(&self.inner.shared).pending.remove(&id);
            return Err(self.closed_error());
        }
        let timeout = Duration::from_millis(self.inner.request_timeout_ms.load(Ordering::Relaxed));
        match deadline::within(timeout, rx).await {
            // The sender is dropped without a value only if the task ended.
            Some(reply) => reply.unwrap_or_else(|_| Err(self.closed_error())),
            None => {
                lock(&self.inner.shared).pending.remove(&id);
                Err(Error::Timeout(format!(
                    "no answer to {method} from {} within {timeout:?}",
                    self.inner.remote
                )))
            }
        }
    }

    /// Runs `ops` as one transaction on `db`. Any op-level error becomes
    /// [`Error::OperationFailed`] with that op's index (the index equals
    /// `ops.len()` when the commit itself failed).
    pub async fn transact(&self, db: &str, ops: &[Operation]) -> Result<Vec<OpResult>, Error> {
        let mut params = vec![json!(db)];
        params.extend(ops.iter().map(Operation::to_json));
        let result = self.request("transact", Json::Array(params)).await?;
        parse_transact_result(ops.len(), &result)
    }

    /// Selects rows of `table` matching all `conditions`.
    pub async fn select(
        &self,
        db: &str,
        table: &str,
        conditions: Vec<Condition>,
        columns: Option<Vec<String>>,
    ) -> Result<Vec<Row>, Error> {
        let op = Operation::select(table, conditions, columns);
        let mut results = self.transact(db, &[op]).await?;
        Ok(results.pop().map(|r| r.rows).unwrap_or_default())
    }

    /// Round trip to the server: proves the connection is alive.
    pub async fn echo(&self) -> Result<(), Error> {
        self.request("echo", json!([])).await.map(|_| ())
    }

    /// The names of the databases the server holds.
    pub async fn list_dbs(&self) -> Result<Vec<String>, Error> {
        let result = self.request("list_dbs", json!([])).await?;
        let names = result
            .as_array()
            .ok_or_else(|| Error::Protocol(format!("list_dbs result: {result}")))?;
        names
            .iter()
            .map(|n| {
                n.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::Protocol(format!("list_dbs name: {n}")))
            })
            .collect()
    }

    /// The schema of `db` as JSON (RFC 7047 `get_schema`).
    pub async fn get_schema(&self, db: &str) -> Result<Json, Error> {
        self.request("get_schema", json!([db])).await
    }

    /// `monitor_cond` on one table: `conditions` are alternatives (rows
    /// matching ANY clause are monitored, the server's rule for monitors;
    /// none means all rows), `columns` empty means all columns. The returned
    /// [`Monitor`] holds the current rows and applies updates.
    pub async fn monitor(
        &self,
        db: &str,
        table: &str,
        conditions: Vec<Condition>,
        columns: Vec<String>,
    ) -> Result<Monitor, Error> {
        let monitor_id = format!("monitor-{}", self.next_id());
        let (tx, rx) = mpsc::unbounded_channel();
        {
            // Registered before the request so no update after the reply is lost.
            let mut state = lock(&self.inner.shared);
            state.check_open()?;
            state.monitors.insert(monitor_id.clone(), tx);
        }
        let mut request = json!({
            "where": conditions.iter().map(Condition::to_json).collect::<Vec<_>>(),
        });
        if let (false, Some(obj)) = (columns.is_empty(), request.as_object_mut()) {
            obj.insert("columns".into(), json!(columns));
        }
        let params = json!([db, monitor_id, { table: [request] }]);
        // The schema is only needed for later "modify" diffs, so it is asked
        // for alongside the monitor: waiting on it first would add a round
        // trip to every caller that waits for a row to change.
        let (kinds, initial) = tokio::join!(
            self.column_kinds(db, table),
            self.request("monitor_cond", params)
        );
        let (kinds, initial) = match (kinds, initial) {
            (Ok(kinds), Ok(initial)) => (kinds, initial),
            (Err(e), _) | (_, Err(e)) => {
                self.cancel_monitor(&monitor_id);
                return Err(e);
            }
        };
        let mut monitor = Monitor::new(self.clone(), monitor_id, db, table, kinds, rx);
        monitor.apply(&initial)?;
        Ok(monitor)
    }

    /// update2 "modify" diffs can only be applied knowing each column's type.
    async fn column_kinds(&self, db: &str, table: &str) -> Result<ColumnKinds, Error> {
        let key = (db.to_string(), table.to_string());
        let cached = self
            .inner
            .kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(kinds) = cached {
            return Ok(kinds);
        }
        let kinds = ColumnKinds::from_schema(&self.get_schema(db).await?, table)?;
        self.inner
            .kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, kinds.clone());
        Ok(kinds)
    }

    /// Forgets a monitor and tells the server, without waiting for the reply
    /// (nobody waits for it, so the reader drops it).
    pub(crate) fn cancel_monitor(&self, monitor_id: &str) {
        let was_registered = lock(&self.inner.shared)
            .monitors
            .remove(monitor_id)
            .is_some();
        if was_registered {
            let message =
                json!({"method": "monitor_cancel", "params": [monitor_id], "id": self.next_id()});
            // Nobody waits for the reply: if the task has ended, so has the monitor.
            self.send(&message);
        }
    }
}
