//! What a broken or hostile server can send, thrown at the code that reads
//! it: property tests of the framer and the decoders, and a corpus of
//! hand-written bad inputs (`tests/corpus/`). Each must give an [`Error`],
//! or the right value when the input is valid, and never panic.
//!
//! Proptest keeps the seeds of failing cases in
//! `ovsdb/proptest-regressions/hostile_input/*.txt` (its default, spelled
//! out in [`config`]), replayed first on later runs; commit them with the fix.

#![allow(clippy::unwrap_used)]

mod corpus;
mod decoding;
mod framing;
mod strategies;

use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::Value as Json;

use crate::Error;
use crate::framing::Framer;

/// The remote the framer is told it reads from.
const REMOTE: &str = "unix:/tmp/hostile.sock";

/// Few cases per property: the suite runs on every `cargo test`, and the
/// inputs are small enough that a few dozen reach every branch.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// What a framer made of a stream: its messages, then the error that
/// stopped it (the connection would close there), if any.
#[derive(Debug)]
struct Framed {
    messages: Vec<Json>,
    error: Option<Error>,
}

/// Feeds `chunks` (the reads) to a framer with `limit`, taking messages
/// after each read as the connection task does, and checks after each read
/// that the framer holds no more than the limit plus that read.
fn frame<'a>(limit: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Framed {
    let mut framer = Framer::new(REMOTE, limit);
    let mut messages = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        let held = framer.buffered();
        assert!(
            held <= limit.saturating_add(chunk.len()),
            "{held} bytes held with a limit of {limit} and a read of {}",
            chunk.len()
        );
        loop {
            match framer.next_message() {
                Ok(Some(message)) => messages.push(message),
                Ok(None) => break,
                Err(e) => {
                    return Framed {
                        messages,
                        error: Some(e),
                    };
                }
            }
        }
    }
    Framed {
        messages,
        error: None,
    }
}

/// `bytes` cut at `cuts` (positions drawn anywhere, duplicates allowed),
/// as reads of a socket would cut it.
fn split<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut from = 0;
    for to in points.into_iter().chain([bytes.len()]) {
        chunks.push(&bytes[from..to]);
        from = to;
    }
    chunks
}

/// The errors the framer may give: anything else is a bug.
fn is_framing_error(e: &Error) -> bool {
    match e {
        Error::Protocol(_) => true,
        Error::MessageTooLarge { remote, .. } => remote == REMOTE,
        _ => false,
    }
}
