//! Optimistic concurrency: a transaction whose `wait` no longer holds is
//! re-read and retried after a short randomised pause, so dozens of racing
//! ADDs on many nodes spread out instead of colliding again in lockstep.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often a conflicting transaction is retried before giving up.
pub const MAX_ATTEMPTS: u32 = 200;

/// Sleeps a random time that grows with `attempt`, capped at 50 ms.
pub async fn backoff(attempt: u32) {
    let cap_ms = (1u64 << attempt.min(6)).min(50);
    tokio::time::sleep(Duration::from_micros(jitter() % (cap_ms * 1000 + 1))).await;
}

/// A cheap random number: clock nanoseconds mixed with the pid (xorshift).
fn jitter() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut x = u64::from(nanos) ^ (u64::from(std::process::id()) << 32) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}
