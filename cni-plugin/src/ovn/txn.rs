//! The one optimistic-transaction engine every guarded NB write goes
//! through: read a snapshot, plan (a pure function of it), write with the
//! `wait` operations that make the write valid only for that snapshot, and
//! on a conflict read again after a short randomised pause, so dozens of
//! racing ADDs on many nodes spread out instead of colliding in lockstep.

use std::future::Future;
use std::time::Duration;

use ovsdb::{Client, Jitter, OpResult, Operation};

use crate::error::PluginError;
use crate::vocabulary::NB_DB;

/// How often a conflicting transaction is tried before giving up.
pub const MAX_ATTEMPTS: u32 = 200;

/// What one attempt decided from its snapshot.
#[derive(Debug)]
pub enum Step<T> {
    /// Nothing to write: the outcome as read.
    Done(T),
    /// Write these operations; the outcome holds once they commit.
    Write(Vec<Operation>, T),
}

/// What a committed (or needless) transaction gave.
#[derive(Debug)]
pub struct Committed<T> {
    /// The planner's outcome.
    pub outcome: T,
    /// The results of the written operations (empty after [`Step::Done`]).
    pub results: Vec<OpResult>,
}

/// Runs `attempt` (read, then plan) and writes its plan until one commits.
/// A `wait` that no longer holds ("timed out", the snapshot is stale) or a
/// constraint violation (a row the snapshot did not see, such as a port of
/// the same name) means: read again and re-plan; the next snapshot shows
/// what changed, and the planner decides anew. `attempt` gets the attempt
/// number (0 first) so it may spread its choices on retries. Every other
/// error ends the transaction; after [`MAX_ATTEMPTS`] the NB is too busy:
/// code 11, try again later.
pub async fn optimistic<T, F, Fut>(
    nb: &Client,
    what: &str,
    mut attempt: F,
) -> Result<Committed<T>, PluginError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Step<T>, PluginError>>,
{
    for n in 0..MAX_ATTEMPTS {
        let (ops, outcome) = match attempt(n).await? {
            Step::Done(outcome) => {
                return Ok(Committed {
                    outcome,
                    results: Vec::new(),
                });
            }
            Step::Write(ops, outcome) => (ops, outcome),
        };
        match nb.transact(NB_DB, &ops).await {
            Ok(results) => {
                if n > 0 {
                    tracing::info!(
                        step = "txn",
                        retries = n,
                        "{what}: committed after {n} retries"
                    );
                }
                return Ok(Committed { outcome, results });
            }
            Err(e) if e.is_conflict() || e.is_constraint_violation() => {
                tracing::debug!(
                    step = "txn",
                    attempt = n,
                    "{what}: NB changed since it was read, retrying: {e}"
                );
                backoff(n).await;
            }
            Err(e) => return Err(PluginError::ovsdb(what.to_owned(), e)),
        }
    }
    Err(PluginError::Busy(format!(
        "{what}: NB database busy, {MAX_ATTEMPTS} transactions lost a race"
    )))
}

/// Sleeps a random time that grows with `attempt`, capped at 50 ms.
async fn backoff(attempt: u32) {
    let cap_ms = (1u64 << attempt.min(6)).min(50);
    tokio::time::sleep(Duration::from_micros(jitter() % (cap_ms * 1000 + 1))).await;
}

/// A cheap random number, different in each of the processes racing.
pub fn jitter() -> u64 {
    Jitter::seeded().next_u64()
}
