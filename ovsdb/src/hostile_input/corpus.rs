//! The hand-written hostile inputs of `tests/corpus/`, one file each,
//! through the framer (whole and one byte per read) and the decoders. The
//! file name says what must come of it:
//!
//! - `frame-error-*`: the framer rejects it ([`Error::Protocol`]);
//! - `frame-too-large-*`: it is over [`SMALL_LIMIT`], which these files
//!   are read with ([`Error::MessageTooLarge`]);
//! - `frame-truncated-*`: no message yet, no error (the framer waits; at
//!   end of stream the client reports the close);
//! - `reply-ok-*`, `reply-error-*`: one reply to request 1, which decodes
//!   as the results of two operations, or fails with an [`Error`];
//! - `reply-ignored-*`: one message that reaches no request (a foreign id);
//! - `update-ok-*`, `update-error-*`: one `update2` for monitor `m`, which
//!   its monitor applies, or rejects with [`Error::Protocol`];
//! - `update-ignored-*`: one notification that reaches no monitor;
//! - `request-answered-*`: one request from the server, which is answered.

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, oneshot};

use super::{Framed, frame, is_framing_error};
use crate::connection::{Shared, dispatch, lock};
use crate::monitor::{ColumnKinds, Monitor};
use crate::result::parse_transact_result;
use crate::{Client, Error, MAX_MESSAGE_BYTES};

/// The limit `frame-too-large-*` files are read with, so they stay small.
const SMALL_LIMIT: usize = 1024;

/// Every corpus file, by name, with its bytes.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().is_some_and(|n| n != "README.md"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "corpus {} is missing files",
        dir.display()
    );
    files
}

/// Frames a file in one read and one byte per read; both must agree.
fn frame_both_ways(name: &str, bytes: &[u8]) -> Framed {
    let limit = if name.starts_with("frame-too-large-") {
        SMALL_LIMIT
    } else {
        MAX_MESSAGE_BYTES
    };
    let whole = frame(limit, [bytes]);
    let bytewise = frame(limit, bytes.chunks(1));
    assert_eq!(whole.messages, bytewise.messages, "{name}");
    assert_eq!(
        whole.error.as_ref().map(Error::to_string),
        bytewise.error.as_ref().map(Error::to_string),
        "{name}"
    );
    if let Some(e) = &whole.error {
        assert!(is_framing_error(e), "{name}: {e:?}");
    }
    whole
}

/// What the dispatcher did with one message while request 1 and monitor
/// `m` were waiting.
struct Dispatched {
    answer: Option<Json>,
    reply: Option<Result<Json, Error>>,
    update: Option<Json>,
}

fn dispatch_one(message: Json) -> Dispatched {
    let shared = Mutex::new(Shared::default());
    let (reply_tx, mut reply_rx) = oneshot::channel();
    let (update_tx, mut update_rx) = mpsc::unbounded_channel();
    {
        let mut state = lock(&shared);
        state.pending.insert(1, reply_tx);
        state.monitors.insert("m".into(), update_tx);
    }
    let answer = dispatch(message, &shared);
    Dispatched {
        answer,
        reply: reply_rx.try_recv().ok(),
        update: update_rx.try_recv().ok(),
    }
}

/// A monitor of table `T` (`s`: set of strings, `m`: string map, `n`:
/// integer) on a client whose server never answers: only `apply` is used.
fn monitor() -> Monitor {
    let (ours, _theirs) = tokio::io::duplex(64);
    let client = Client::from_stream(ours, "corpus");
    let schema = json!({"tables": {"T": {"columns": {
        "s": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
        "m": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
        "n": {"type": "integer"},
    }}}});
    let kinds = ColumnKinds::from_schema(&schema, "T").unwrap();
    let (_tx, rx) = mpsc::unbounded_channel();
    Monitor::new(client, "m".into(), "db", "T", kinds, rx)
}

/// Checks the framer's verdict on a `frame-*` file against its name.
fn check_framing_failure(name: &str, framed: Framed) {
    let kind = |prefix: &str| name.starts_with(prefix);
    match &framed.error {
        None if kind("frame-truncated-") => assert!(framed.messages.is_empty(), "{name}"),
        Some(Error::Protocol(_)) if kind("frame-error-") => {}
        Some(Error::MessageTooLarge { limit, .. }) if kind("frame-too-large-") => {
            assert_eq!(*limit, SMALL_LIMIT, "{name}");
        }
        other => panic!("{name}: {other:?}"),
    }
    // Messages before the bad bytes still go through the decoders.
    for message in framed.messages {
        dispatch_one(message);
    }
}

/// Checks what became of the single message of any other file.
fn check_decoded(name: &str, message: Json) {
    let kind = |prefix: &str| name.starts_with(prefix);
    let d = dispatch_one(message);
    if kind("reply-ok-") || kind("reply-error-") {
        assert!(d.update.is_none() && d.answer.is_none(), "{name}");
        let reply = d.reply.unwrap_or_else(|| panic!("{name}: no reply"));
        let results = reply.and_then(|r| parse_transact_result(2, &r));
        match (kind("reply-ok-"), results) {
            (true, Ok(results)) => assert_eq!(results.len(), 2, "{name}"),
            (false, Err(e)) => assert!(!e.to_string().is_empty(), "{name}"),
            (_, other) => panic!("{name}: {other:?}"),
        }
    } else if kind("reply-ignored-") || kind("update-ignored-") {
        assert!(d.reply.is_none() && d.update.is_none(), "{name}");
        assert!(d.answer.is_none(), "{name}");
    } else if kind("update-ok-") || kind("update-error-") {
        let update = d.update.unwrap_or_else(|| panic!("{name}: no update"));
        let mut monitor = monitor();
        match (kind("update-ok-"), monitor.apply(&update)) {
            (true, Ok(())) => assert!(!monitor.rows().is_empty(), "{name}"),
            (false, Err(Error::Protocol(_))) => {}
            (_, other) => panic!("{name}: {other:?}"),
        }
    } else if kind("request-answered-") {
        let answer = d.answer.unwrap_or_else(|| panic!("{name}: no answer"));
        assert!(answer.get("id").is_some_and(|id| !id.is_null()), "{name}");
    } else {
        panic!("{name}: no known prefix (see tests/corpus/README.md)");
    }
}

/// A runtime because the monitor of `update-*` files needs a client.
#[tokio::test(flavor = "current_thread")]
async fn every_corpus_file_gives_an_error_or_the_right_value() {
    for (name, bytes) in corpus() {
        let framed = frame_both_ways(&name, &bytes);
        if name.starts_with("frame-") {
            check_framing_failure(&name, framed);
            continue;
        }
        assert!(framed.error.is_none(), "{name}: {:?}", framed.error);
        let [message] = <[Json; 1]>::try_from(framed.messages)
            .unwrap_or_else(|m| panic!("{name}: {} messages, not one", m.len()));
        check_decoded(&name, message);
    }
}
