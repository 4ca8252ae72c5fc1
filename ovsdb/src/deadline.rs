//! Deadlines from timeouts callers give, which may be absurd on purpose
//! (`Duration::MAX` for "wait as long as it takes"): adding such a timeout
//! to an `Instant` panics, and tokio's timer adds a little to every deadline
//! it is given, so a huge one is no deadline at all rather than a sum.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Timeouts longer than this (a century) mean "no deadline": far enough
/// that no caller means a real instant, near enough that a deadline plus
/// tokio's rounding cannot reach the end of `Instant`'s range.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// The instant `timeout` from now, `None` when it is too far to mean one.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    if timeout > FOREVER {
        return None;
    }
    Instant::now().checked_add(timeout)
}

/// Runs `future` until `deadline` (forever when `None`); `None` when the
/// deadline passed first.
pub(crate) async fn until<F: Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future).await.ok(),
        None => Some(future.await),
    }
}

/// Runs `future` for at most `timeout`; `None` when it took longer.
pub(crate) async fn within<F: Future>(timeout: Duration, future: F) -> Option<F::Output> {
    until(after(timeout), future).await
}

/// A timeout in whole milliseconds, as it is stored, saturating where an
/// `as` cast would truncate: `Duration::MAX` stays "forever".
pub(crate) fn millis(timeout: Duration) -> u64 {
    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeouts_are_no_deadline() {
        assert!(after(Duration::from_secs(1)).is_some());
        assert!(after(FOREVER).is_some());
        for huge in [
            FOREVER + Duration::from_nanos(1),
            Duration::from_secs(i64::MAX.unsigned_abs()),
            Duration::from_secs(u64::MAX),
            Duration::MAX,
        ] {
            assert_eq!(after(huge), None, "{huge:?}");
        }
        assert_eq!(millis(Duration::MAX), u64::MAX);
        assert_eq!(after(Duration::from_millis(millis(Duration::MAX))), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn within_waits_forever_or_times_out() {
        assert_eq!(within(Duration::MAX, async { 7 }).await, Some(7));
        assert_eq!(within(FOREVER, async { 7 }).await, Some(7));
        let never = std::future::pending::<()>();
        assert_eq!(within(Duration::from_millis(20), never).await, None);
    }
}
