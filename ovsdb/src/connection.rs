//! The task that owns the socket: it writes requests, splits what the server
//! sends into messages, hands replies to their waiting requests by id,
//! forwards update notifications to monitors and answers the server's
//! `echo` inactivity probes.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Value as Json, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::Error;
use crate::framing::{Framer, MAX_MESSAGE_BYTES};
use crate::traffic::Counters;

/// Where a reply (or the reason there will be none) goes.
pub(crate) type ReplySender = oneshot::Sender<Result<Json, Error>>;

/// State shared between the client handles and the connection task.
pub(crate) struct Shared {
    /// Set once the task has ended, with why: no reply or update will come
    /// any more, and every later request fails with that reason.
    pub(crate) closed: Option<Closed>,
    /// Requests waiting for their reply, by JSON-RPC id.
    pub(crate) pending: HashMap<u64, ReplySender>,
    /// Monitors by the monitor id we chose; they receive `<table-updates2>`.
    pub(crate) monitors: HashMap<String, mpsc::UnboundedSender<Json>>,
    /// The largest message accepted; the task reads it before each read.
    pub(crate) max_message_bytes: usize,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            closed: None,
            pending: HashMap::new(),
            monitors: HashMap::new(),
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }
}

impl Shared {
    /// `Ok` while the connection runs, else the reason it ended.
    pub(crate) fn check_open(&self) -> Result<(), Error> {
        match &self.closed {
            Some(closed) => Err(closed.error()),
            None => Ok(()),
        }
    }
}

/// Why the connection ended. Kept apart from [`Error`] (which holds
/// `io::Error`s and cannot be cloned) so every waiter, and every later
/// call, gets its own copy of the reason.
#[derive(Debug, Clone)]
pub(crate) enum Closed {
    /// The server closed the connection, or every handle was dropped.
    Cleanly,
    /// A message went over the limit: [`Error::MessageTooLarge`].
    TooLarge {
        /// The remote that sent it.
        remote: String,
        /// The limit it went over.
        limit: usize,
    },
    /// Reading, writing or framing failed: [`Error::ConnectionLost`].
    Lost {
        /// The remote of the connection.
        remote: String,
        /// The error, as text.
        reason: String,
    },
}

impl Closed {
    /// What the connection task ended with, as a reason to keep.
    fn from_outcome(outcome: Result<(), Error>, remote: &str) -> Closed {
        let reason = match outcome {
            Ok(()) => return Closed::Cleanly,
            Err(Error::MessageTooLarge { remote, limit }) => {
                return Closed::TooLarge { remote, limit };
            }
            // The inner text: ConnectionLost already says "OVSDB".
            Err(Error::Protocol(reason)) => reason,
            Err(Error::Io(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        Closed::Lost {
            remote: remote.to_string(),
            reason,
        }
    }

    /// The error a request or monitor gets for this reason.
    pub(crate) fn error(&self) -> Error {
        match self {
            Closed::Cleanly => Error::Disconnected,
            Closed::TooLarge { remote, limit } => Error::MessageTooLarge {
                remote: remote.clone(),
                limit: *limit,
            },
            Closed::Lost { remote, reason } => Error::ConnectionLost {
                remote: remote.clone(),
                reason: reason.clone(),
            },
        }
    }
}

/// Locks the shared state. A panic while holding the lock cannot leave it
/// half-updated (every critical section is a single map operation), so a
/// poisoned lock is still safe to use.
pub(crate) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the connection until the server closes it, a read or write fails,
/// a message is too large or every client handle is gone; then fails
/// whatever still waits with the reason. Every byte read or written is
/// added to `counters`.
pub(crate) async fn run<S>(
    mut stream: S,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    shared: Arc<Mutex<Shared>>,
    counters: Arc<Counters>,
    remote: String,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let outcome = serve(&mut stream, &mut outgoing, &shared, &counters, &remote).await;
    // Closed before the waiters learn why: a server flooding us is cut off
    // now, not after they have run.
    drop(stream);
    match &outcome {
        Ok(()) => tracing::debug!(%remote, "OVSDB connection closed"),
        Err(e) => tracing::warn!(%remote, error = %e, "OVSDB connection lost"),
    }
    let closed = Closed::from_outcome(outcome, &remote);
    // Requests get the reason; monitors see their channel end and ask the
    // client for it (closed is set first, under the same lock).
    let (pending, monitors) = {
        let mut state = lock(&shared);
        state.closed = Some(closed.clone());
        (
            std::mem::take(&mut state.pending),
            std::mem::take(&mut state.monitors),
        )
    };
    for (_, reply) in pending {
        let _ = reply.send(Err(closed.error()));
    }
    drop(monitors);
}

async fn serve<S>(
    stream: &mut S,
    outgoing: &mut mpsc::UnboundedReceiver<Vec<u8>>,
    shared: &Mutex<Shared>,
    counters: &Counters,
    remote: &str,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framer = Framer::new(remote, MAX_MESSAGE_BYTES);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                counters.read(n);
                framer.set_limit(lock(shared).max_message_bytes);
                framer.push(&buf[..n]);
                while let Some(message) = framer.next_message()? {
                    if let Some(answer) = dispatch(message, shared) {
                        write_counted(stream, answer.to_string().as_bytes(), counters).await?;
                    }
                }
            }
            message = outgoing.recv() => match message {
                Some(bytes) => write_counted(stream, &bytes, counters).await?,
                // Every Client and Monitor is gone: nobody can use the
                // connection any more, so close it.
                None => return Ok(()),
            },
        }
    }
}

/// `write_all`, counting what each write took, so the count is exact even
/// when a write fails halfway.
async fn write_counted<S>(stream: &mut S, mut bytes: &[u8], counters: &Counters) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    while !bytes.is_empty() {
        let n = stream.write(bytes).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        counters.written(n);
        bytes = bytes.get(n..).unwrap_or_default();
    }
    Ok(())
}

/// Handles one message from the server; returns what to send back, if
/// anything (only requests from the server get an answer).
pub(crate) fn dispatch(message: Json, shared: &Mutex<Shared>) -> Option<Json> {
    let id = message.get("id").cloned().unwrap_or(Json::Null);
    if let Some(method) = message.get("method").and_then(Json::as_str) {
        let params = message.get("params").cloned().unwrap_or(Json::Null);
        return match method {
            // ovsdb-server's inactivity probe: echo the params back or it
            // drops the connection.
            "echo" if !id.is_null() => Some(json!({"result": params, "error": null, "id": id})),
            "update2" => {
                forward_update(params, shared);
                None
            }
            _ if !id.is_null() => {
                Some(json!({"result": null, "error": format!("unknown method {method}"), "id": id}))
            }
            _ => {
                tracing::debug!(method, "ignoring OVSDB notification");
                None
            }
        };
    }
    let Some(id) = id.as_u64() else {
        tracing::debug!(%message, "ignoring OVSDB reply with a foreign id");
        return None;
    };
    // A missing entry is a reply nobody waits for any more (a cancelled
    // request, or our best-effort monitor_cancel): drop it.
    let reply = lock(shared).pending.remove(&id)?;
    let outcome = match message.get("error") {
        Some(Json::Null) | None => Ok(message.get("result").cloned().unwrap_or(Json::Null)),
        Some(Json::String(e)) => Err(Error::Rpc(e.clone())),
        Some(e) => Err(Error::Rpc(e.to_string())),
    };
    let _ = reply.send(outcome);
    None
}

fn forward_update(params: Json, shared: &Mutex<Shared>) {
    let Json::Array(mut params) = params else {
        return;
    };
    if params.len() != 2 {
        return;
    }
    let updates = params.pop().unwrap_or(Json::Null);
    let Some(monitor_id) = params.first().and_then(Json::as_str) else {
        return;
    };
    if let Some(monitor) = lock(shared).monitors.get(monitor_id) {
        // A send error means the Monitor was dropped; its cancel is on the way.
        let _ = monitor.send(updates);
    }
}
