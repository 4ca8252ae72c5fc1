//! A cheap pseudo-random source for retry pauses (no rand crate).

use std::time::{SystemTime, UNIX_EPOCH};

/// Clock nanoseconds mixed with the pid, then xorshift. It only needs to
/// differ between the many processes that start at once (dozens of CNI
/// calls), so that their retries spread out instead of colliding again.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A source seeded from the clock and the pid.
    pub fn seeded() -> Jitter {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Never zero: xorshift would stay at zero.
        Jitter(u64::from(nanos) ^ (u64::from(std::process::id()) << 32) | 1)
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
